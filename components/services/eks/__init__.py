"""Agent services on EKS: the Deployment and its scaling, the shared add-ons (ESO, KEDA)."""
