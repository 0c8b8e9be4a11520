"""The agent-platform CrossGuard policies, importable both by the pack (``policies/`` as program root)
and by the offline review (``policies/`` added to ``sys.path``)."""
