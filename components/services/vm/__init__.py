"""Agent services on EC2 Auto Scaling groups: launch template, user data, the per-instance nginx."""
