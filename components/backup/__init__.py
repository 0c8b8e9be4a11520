"""Layer 1: the AWS Backup vault(s), plan, selections, restore testing and their alerts."""
