"""Cost reporting over a planned stack: the estimator (agent_costing) applied to the offline plan.

    from planning.cost_report import stack_report, render_text
    print(render_text(stack_report(plan)))

The catalogue, the usage model and the pricing rules are the estimator package ``agent_costing``
(``policies/agent_costing``, installed with the pack) so that the ``monthly-cost-budget`` policy and this report
are one implementation; this package only adapts the recorded plan and the stack's config to it.
"""

from __future__ import annotations

from agent_costing import (
    DEFAULT_USAGE,
    USAGE_FIELDS,
    Catalogue,
    CostReport,
    Line,
    Unpriced,
    Usage,
    default_catalogue,
    load_catalogue,
    render_text,
)

from planning.cost_report.estimator import estimate, resources_of, stack_report
from planning.cost_report.usage import StackCost, stack_cost, usage_of

__all__ = [
    "DEFAULT_USAGE",
    "USAGE_FIELDS",
    "Catalogue",
    "CostReport",
    "Line",
    "StackCost",
    "Unpriced",
    "Usage",
    "default_catalogue",
    "estimate",
    "load_catalogue",
    "render_text",
    "resources_of",
    "stack_cost",
    "stack_report",
    "usage_of",
]
