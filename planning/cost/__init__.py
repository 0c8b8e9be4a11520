"""Cost tools built on the estimate: the PR cost diff and the per-line before/after comparison.

    python -m planning.cost.diff BASE.json HEAD.json        # markdown: monthly difference per stack and component
    python -m planning.cost.compare dev --set runtime=eks   # dev's estimate per line, before and after a change

Why a package of its own, next to ``planning.cost_report``: ``cost_report`` adapts the estimator
(``agent_costing``) to one planned stack and is imported by the planner, the policy-config generator and the
HTML report, so it stays small and free of subprocesses and git. The tools here compare two estimates (two
saved files, two trees, or a stack with and without overrides); they depend on ``cost_report``, never the
other way round.
"""
