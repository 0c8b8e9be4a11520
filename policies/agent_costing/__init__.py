"""Monthly cost estimates from a stack's resources: price catalogue, usage assumptions and estimator.

Pure Python with no dependency outside the standard library, so the policy pack (which runs with
``policies/`` as its root) and the offline planner share one implementation and one catalogue.
"""

from .catalogue import HOURS_PER_MONTH, Catalogue, Price, default_catalogue, load_catalogue
from .estimate import estimate, is_cloud_resource
from .llm import LlmCatalogue, LlmReport, ServiceLlmUsage, default_llm_catalogue, estimate_llm, load_llm_catalogue
from .model import UNKNOWN, CostReport, Line, Resource, Unpriced, render_text
from .usage import DEFAULT_USAGE, USAGE_FIELDS, Usage

__all__ = [
    "DEFAULT_USAGE",
    "HOURS_PER_MONTH",
    "UNKNOWN",
    "USAGE_FIELDS",
    "Catalogue",
    "CostReport",
    "Line",
    "LlmCatalogue",
    "LlmReport",
    "Price",
    "Resource",
    "ServiceLlmUsage",
    "Unpriced",
    "Usage",
    "default_catalogue",
    "default_llm_catalogue",
    "estimate",
    "estimate_llm",
    "is_cloud_resource",
    "load_catalogue",
    "load_llm_catalogue",
    "render_text",
]
