"""The price catalogue: on-demand AWS unit prices as data, one JSON file per region.

The files live next to this module (``prices/aws-<region>.json``) so the policy pack, which runs with
``policies/`` as its root, and the offline planner read the very same numbers. Every entry names its
source (the AWS pricing page it was transcribed from) and the date it was taken; ``tools/refresh_prices.py``
checks them against the Price List API, rewrites a changed price with the refresh date and records the
confirmation in ``prices/confirmations.json`` (``agent_costing.confirmations``), not in the entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRICES_DIR = Path(__file__).resolve().parent / "prices"
HOURS_PER_MONTH = 730
CURRENCY = "USD"


@dataclass(frozen=True)
class Price:
    """One unit price: ``usd`` per ``unit`` (``...-hour`` units are multiplied by 730 for a month)."""

    key: str
    usd: float
    unit: str
    source: str
    date: str
    note: str = ""
    # The page actually read when ``source`` (AWS's own page) was confirmed through a copy of its data.
    via: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"usd": self.usd, "unit": self.unit, "source": self.source, "date": self.date}
        if self.note:
            out["note"] = self.note
        if self.via:
            out["via"] = self.via
        return out


class CatalogueError(ValueError):
    """A price file that is missing a field or holds a value that is not a price."""


@dataclass(frozen=True)
class Catalogue:
    """Unit prices per region. A missing price is ``None``: callers report it as unpriced, never as zero."""

    prices: Mapping[str, Mapping[str, Price]]

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted(self.prices))

    def price(self, region: str, key: str) -> Price | None:
        return self.prices.get(region, {}).get(key)

    def keys(self, region: str) -> list[str]:
        return sorted(self.prices.get(region, {}))

    def sources(self) -> dict[str, dict[str, Any]]:
        """Per region: the distinct sources and the date range of its prices (for reports and docs)."""
        out: dict[str, dict[str, Any]] = {}
        for region, entries in sorted(self.prices.items()):
            dates = sorted({p.date for p in entries.values()})
            out[region] = {
                "prices": len(entries),
                "dates": [dates[0], dates[-1]] if dates else [],
                "sources": sorted({p.source for p in entries.values()}),
            }
        return out


def parse_region(region: str, document: Mapping[str, Any]) -> dict[str, Price]:
    """Validate one region file; every entry needs a non-negative ``usd``, a ``unit``, a ``source`` and a ``date``."""
    if document.get("currency", CURRENCY) != CURRENCY:
        raise CatalogueError(f"{region}: prices must be in {CURRENCY}")
    entries = document.get("prices")
    if not isinstance(entries, Mapping):
        raise CatalogueError(f"{region}: 'prices' must be an object keyed by price key")
    out: dict[str, Price] = {}
    for key, entry in entries.items():
        missing = [f for f in ("usd", "unit", "source", "date") if not isinstance(entry, Mapping) or f not in entry]
        if missing:
            raise CatalogueError(f"{region} {key}: missing {', '.join(missing)}")
        usd = entry["usd"]
        if isinstance(usd, bool) or not isinstance(usd, int | float) or usd < 0:
            raise CatalogueError(f"{region} {key}: usd must be a non-negative number (got {usd!r})")
        out[key] = Price(key=key, usd=float(usd), unit=str(entry["unit"]), source=str(entry["source"]),
                         date=str(entry["date"]), note=str(entry.get("note", "")),
                         via=str(entry.get("via", "")))
    return out


def region_file(region: str, directory: Path = PRICES_DIR) -> Path:
    return directory / f"aws-{region}.json"


def load_catalogue(directory: Path = PRICES_DIR, regions: Iterable[str] | None = None) -> Catalogue:
    """Every ``aws-<region>.json`` in ``directory`` (or just ``regions``)."""
    files = ([region_file(r, directory) for r in regions] if regions is not None
             else sorted(directory.glob("aws-*.json")))
    prices: dict[str, dict[str, Price]] = {}
    for path in files:
        region = path.stem.removeprefix("aws-")
        document = json.loads(path.read_text())
        if document.get("region", region) != region:
            raise CatalogueError(f"{path.name}: declares region {document.get('region')!r}")
        prices[region] = parse_region(region, document)
    return Catalogue(prices)


@cache
def default_catalogue() -> Catalogue:
    """The committed catalogue (read once per process)."""
    return load_catalogue()
