"""Layer 0: what every component uses: stack context, tags, KMS, IAM, IRSA, log groups, launch templates,
namespaces, the alert topic."""
