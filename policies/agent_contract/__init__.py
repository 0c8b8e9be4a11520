"""Facts the Pulumi program and the policy pack must agree on, kept in one place both import.

Standard library only: the program (``components/``, ``config/``), the offline planner and the pack (which the
Pulumi CLI runs with ``policies/`` as its root, in its own virtualenv) all import these modules by name, so a
value the program sets and the value a policy checks for cannot drift apart.

- :mod:`agent_contract.tags`: tag and annotation keys and their values.
- :mod:`agent_contract.aws`: AWS names both sides judge (ALB TLS policies, WAF rules that may count).
- :mod:`agent_contract.kubernetes`: cluster-scoped kinds, credential name and value patterns.
- :mod:`agent_contract.types`: the program's component type tokens the pack refers to.
- :mod:`agent_contract.alerts`: alert names the pack reads thresholds from (the LLM daily budget rule).
- :mod:`agent_contract.eks`: the Amazon EKS release calendar (config validates against it; the pack derives the
  versions in standard support).
"""
