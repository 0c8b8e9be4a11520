"""Layer 1: the EKS cluster, its node groups and add-ons, and the node autoscaler."""
