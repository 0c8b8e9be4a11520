"""The agent-platform CrossGuard policies: imported by name by the pack's entry point (the Pulumi CLI runs
``policies/__main__.py`` with ``policies/`` as its root) and by the offline review (installed from
``policies/pyproject.toml``)."""
