"""Layer 6 (composition): the runtime seam. EKS or VMs is chosen once, here; no component below asks which."""
