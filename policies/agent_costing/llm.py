"""LLM token spend: a price catalogue per provider and model, and the monthly estimate from usage assumptions.

The largest cost of an agent system is usually not on the AWS bill: it is the tokens its services send to
LLM providers. No resource in a plan shows it, so it is estimated from stated assumptions (requests a day per
service, tokens in and out per request, the model mix) and priced from ``prices/llm.json``, kept apart from
the AWS estimate with a budget of its own (``cost.llm.monthlyBudgetUsd``), so a stack can be held to each
separately. Stdlib only, like the rest of ``agent_costing``: the budget policy and the planner share it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from .catalogue import HOURS_PER_MONTH, CatalogueError

LLM_PRICES = Path(__file__).resolve().parent / "prices" / "llm.json"
# Days in the estimate's month: the AWS estimate's 730 hours, so both halves price the same month.
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
PROVIDERS = ("anthropic", "openai", "google", "openrouter")
TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True)
class LlmPrice:
    """USD per million input and output tokens of one model at one provider, with where it was read."""

    key: str
    input: float
    output: float
    source: str
    date: str
    via: str = ""
    note: str = ""
    retires: str = ""  # the day the provider stops serving the model, when its page announces one

    @property
    def provider(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def model(self) -> str:
        return self.key.split("/", 1)[1]


@dataclass(frozen=True)
class LlmCatalogue:
    prices: Mapping[str, LlmPrice]

    def resolve(self, model: str) -> LlmPrice | str:
        """The price of ``model``: ``provider/model`` exactly, or a bare model id sold by one direct provider.

        A bare id never resolves to OpenRouter (a service names OpenRouter models as ``openrouter/...``); an id
        no entry has, or one several direct providers sell, returns the reason as a string.
        """
        if model in self.prices:
            return self.prices[model]
        direct = [p for p in self.prices.values() if p.provider != "openrouter" and p.model == model]
        if len(direct) == 1:
            return direct[0]
        if direct:
            return f"model '{model}' is sold by {', '.join(p.provider for p in direct)}: name it as provider/model"
        return f"no LLM price for model '{model}' in agent_costing/prices/llm.json"

    def dates(self) -> list[str]:
        return sorted({p.date for p in self.prices.values()})


def parse_llm_catalogue(document: Mapping[str, Any]) -> LlmCatalogue:
    """Validate the LLM price file: every entry needs non-negative ``input``/``output``, a ``source`` and a date."""
    entries = document.get("models")
    if not isinstance(entries, Mapping):
        raise CatalogueError("llm.json: 'models' must be an object keyed by provider/model")
    out: dict[str, LlmPrice] = {}
    for key, entry in entries.items():
        provider, sep, _ = key.partition("/")
        if not sep or provider not in PROVIDERS:
            raise CatalogueError(f"llm.json {key}: key must be <provider>/<model> with provider in {PROVIDERS}")
        missing = [f for f in ("input", "output", "source", "date") if not isinstance(entry, Mapping) or f not in entry]
        if missing:
            raise CatalogueError(f"llm.json {key}: missing {', '.join(missing)}")
        for side in ("input", "output"):
            value = entry[side]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise CatalogueError(f"llm.json {key}: {side} must be a non-negative number (got {value!r})")
        out[key] = LlmPrice(key=key, input=float(entry["input"]), output=float(entry["output"]),
                            source=str(entry["source"]), date=str(entry["date"]), via=str(entry.get("via", "")),
                            note=str(entry.get("note", "")), retires=str(entry.get("retires", "")))
    return LlmCatalogue(out)


def load_llm_catalogue(path: Path = LLM_PRICES) -> LlmCatalogue:
    return parse_llm_catalogue(json.loads(path.read_text()))


@cache
def default_llm_catalogue() -> LlmCatalogue:
    return load_llm_catalogue()


@dataclass(frozen=True)
class ServiceLlmUsage:
    """One service's LLM traffic: requests a day, tokens per request, and the share of requests per model."""

    service: str
    requests_per_day: float
    input_tokens: float
    output_tokens: float
    models: Mapping[str, float]

    @classmethod
    def from_mapping(cls, service: str, values: Mapping[str, Any]) -> ServiceLlmUsage:
        """From the camelCase form the policy config carries (``requestsPerDay``, ``inputTokensPerRequest``...)."""
        return cls(service=service, requests_per_day=float(values["requestsPerDay"]),
                   input_tokens=float(values["inputTokensPerRequest"]),
                   output_tokens=float(values["outputTokensPerRequest"]),
                   models={str(k): float(v) for k, v in (values.get("models") or {}).items()})

    def to_json(self) -> dict[str, Any]:
        return {"requestsPerDay": self.requests_per_day, "inputTokensPerRequest": self.input_tokens,
                "outputTokensPerRequest": self.output_tokens, "models": dict(self.models)}


@dataclass(frozen=True)
class LlmLine:
    """One service's spend on one model in a month."""

    service: str
    model: str
    share: float
    requests: float
    input_tokens: float
    output_tokens: float
    input_usd_per_mtok: float
    output_usd_per_mtok: float
    monthly_usd: float

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "model": self.model, "share": self.share,
                "requestsPerMonth": round(self.requests, 2), "inputTokens": round(self.input_tokens),
                "outputTokens": round(self.output_tokens), "inputUsdPerMTok": self.input_usd_per_mtok,
                "outputUsdPerMTok": self.output_usd_per_mtok, "monthlyUsd": round(self.monthly_usd, 2)}


@dataclass(frozen=True)
class LlmReport:
    """The estimated LLM month: lines per service and model, what could not be priced, the budget."""

    lines: tuple[LlmLine, ...]
    unpriced: tuple[tuple[str, str, str], ...]  # (service, model, reason)
    usage: tuple[ServiceLlmUsage, ...]
    budget_usd: float | None = None
    dates: tuple[str, ...] = field(default_factory=tuple)
    retiring: tuple[tuple[str, str], ...] = ()  # (provider/model, retirement day) of models the usage names

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for line in self.lines:
            out[line.service] = out.get(line.service, 0.0) + line.monthly_usd
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_json(self) -> dict[str, Any]:
        return {
            "totalMonthlyUsd": round(self.total, 2),
            "budgetUsd": self.budget_usd,
            "withinBudget": None if self.budget_usd is None else self.total <= self.budget_usd,
            "daysPerMonth": round(DAYS_PER_MONTH, 4),
            "services": {k: round(v, 2) for k, v in self.by_service().items()},
            "lines": [line.to_json() for line in self.lines],
            "unpriced": [{"service": s, "model": m, "reason": r} for s, m, r in self.unpriced],
            "usage": {u.service: u.to_json() for u in self.usage},
            "priceDates": list(self.dates),
            "retiring": {model: day for model, day in self.retiring},
        }


def estimate_llm(usage: tuple[ServiceLlmUsage, ...] | list[ServiceLlmUsage], *, budget_usd: float | None = None,
                 catalogue: LlmCatalogue | None = None) -> LlmReport:
    """Monthly token spend: per service and model, requests x (in x input price + out x output price)."""
    catalogue = catalogue or default_llm_catalogue()
    lines: list[LlmLine] = []
    unpriced: list[tuple[str, str, str]] = []
    retiring: dict[str, str] = {}
    for svc in usage:
        requests = svc.requests_per_day * DAYS_PER_MONTH
        for model, share in svc.models.items():
            price = catalogue.resolve(model)
            if isinstance(price, str):
                unpriced.append((svc.service, model, price))
                continue
            if price.retires:
                retiring[price.key] = price.retires
            n = requests * share
            tokens_in, tokens_out = n * svc.input_tokens, n * svc.output_tokens
            monthly = (tokens_in * price.input + tokens_out * price.output) / TOKENS_PER_PRICE_UNIT
            lines.append(LlmLine(svc.service, price.key, share, n, tokens_in, tokens_out, price.input, price.output,
                                 monthly))
    return LlmReport(lines=tuple(lines), unpriced=tuple(unpriced), usage=tuple(usage), budget_usd=budget_usd,
                     dates=tuple(catalogue.dates()), retiring=tuple(sorted(retiring.items())))


def render_llm_text(report: LlmReport) -> str:
    """The LLM section of the terminal report."""
    out = [f"  LLM tokens (provider bills, not AWS): ${report.total:,.2f}/month"
           + (f", LLM budget ${report.budget_usd:,.2f}: "
              + ("within budget" if report.total <= report.budget_usd else "OVER BUDGET")
              if report.budget_usd is not None else "")]
    for line in sorted(report.lines, key=lambda ln: (-ln.monthly_usd, ln.service)):
        out.append(f"    ${line.monthly_usd:>10,.2f}  {line.service}: {line.model} [{line.requests:,.0f} requests x "
                   f"({line.input_tokens / max(line.requests, 1):,.0f} in at ${line.input_usd_per_mtok:g} + "
                   f"{line.output_tokens / max(line.requests, 1):,.0f} out at ${line.output_usd_per_mtok:g} per MTok)]")
    for service, _model, reason in report.unpriced:
        out.append(f"    not priced, NOT in the total: {service}: {reason}")
    for model, day in report.retiring:
        out.append(f"    note: {model} retires on {day} per its provider's model page (see llm.json); "
                   "choose its replacement in defaultModel")
    if not report.usage:
        out.append("    no service names a model (services.<name>.defaultModel or cost.llm.services.<name>.models)")
    if report.dates:
        out.append(f"    LLM prices recorded {report.dates[0]}"
                   + (f" to {report.dates[-1]}" if report.dates[-1] != report.dates[0] else "")
                   + " (sources per entry in agent_costing/prices/llm.json)")
    return "\n".join(out) + "\n"
