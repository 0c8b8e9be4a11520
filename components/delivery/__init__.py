"""Delivery: what CI needs inside the stack (the in-VPC runner, the preview identity's cluster access)."""
