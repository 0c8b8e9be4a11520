"""Layer 1: the VPC, its subnets across the chosen zones, NAT, endpoints and flow logs."""
