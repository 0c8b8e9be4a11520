"""Monthly cost of a planned stack: the policy pack's estimator applied to the offline plan.

    from planning.cost import stack_report, render_text
    print(render_text(stack_report(plan)))

The catalogue, the usage model and the pricing rules live in the policy pack
(``policies/agent_policies/costing``) so that the ``monthly-cost-budget`` policy and this report are one
implementation; this package only adapts the recorded plan and the stack's config to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The pack runs with policies/ as its root; resolve ``agent_policies`` the same way (as planning.review does).
_POLICY_DIR = str(Path(__file__).resolve().parents[2] / "policies")
if _POLICY_DIR not in sys.path:
    sys.path.insert(0, _POLICY_DIR)

from agent_policies.costing import (  # noqa: E402
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
from planning.cost.estimator import estimate, resources_of, stack_report  # noqa: E402
from planning.cost.usage import StackCost, stack_cost, usage_of  # noqa: E402

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
