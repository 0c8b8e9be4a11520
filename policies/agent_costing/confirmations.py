"""Which catalogue prices were confirmed against AWS's own price data, and when.

Kept in ``prices/confirmations.json``, apart from the region files, so a refresh records its evidence without
rewriting the entries (and their sources) that people edit by hand. ``tools/refresh_prices.py`` writes it; the
cost table and reports read it to say honestly how many prices are confirmed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalogue import PRICES_DIR, Catalogue

CONFIRMATIONS = PRICES_DIR / "confirmations.json"
METHODS = ("price-list-api", "offer-file")


@dataclass(frozen=True)
class Confirmation:
    method: str
    date: str
    usd: float
    sku: str = ""
    offer: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "date": self.date, "usd": self.usd, "sku": self.sku, "offer": self.offer}


def load_confirmations(path: Path = CONFIRMATIONS) -> dict[str, dict[str, Confirmation]]:
    if not path.exists():
        return {}
    document = json.loads(path.read_text())
    out: dict[str, dict[str, Confirmation]] = {}
    for region, entries in (document.get("regions") or {}).items():
        out[region] = {}
        for key, entry in entries.items():
            if entry.get("method") not in METHODS:
                raise ValueError(f"confirmations.json {region} {key}: method must be one of {METHODS}")
            out[region][key] = Confirmation(method=entry["method"], date=str(entry["date"]), usd=float(entry["usd"]),
                                            sku=str(entry.get("sku", "")), offer=str(entry.get("offer", "")))
    return out


def confirmation_summary(catalogue: Catalogue, confirmations: Mapping[str, Mapping[str, Confirmation]]) -> str:
    """One sentence for tables: how many entries are confirmed (still at the confirmed price), and when."""
    total = sum(len(catalogue.keys(r)) for r in catalogue.regions)
    current = [c for r in catalogue.regions for k, c in confirmations.get(r, {}).items()
               if (p := catalogue.price(r, k)) is not None and p.usd == c.usd]
    if not current:
        return (f"none of the {total} AWS entries is confirmed against the Price List API yet "
                "(run tools/refresh_prices.py with AWS credentials)")
    dates = sorted({c.date for c in current})
    when = dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}"
    return f"{len(current)} of the {total} AWS entries confirmed against AWS price data on {when}"
