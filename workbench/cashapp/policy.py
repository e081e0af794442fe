"""The cash application policy (auto-post threshold, short-pay tolerance, posting SLA)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..money import parse_amount
from ..policy import PolicyError, read_policy

__all__ = ["CashAppPolicy", "load_cashapp_policy"]


@dataclass(frozen=True)
class CashAppPolicy:
    name: str
    version: str
    auto_post_threshold: float
    short_pay_amount: dict
    short_pay_percent: float
    posting_sla_business_days: int
    fuzzy_min_score: float
    fuzzy_margin: float
    subset_max_items: int
    subset_max_size: int
    overpayment_amount: dict | None = None
    overpayment_percent: float = 0.0
    source: str = ""                   # the policy file it was read from

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def tolerance(self, open_minor: int, currency: str) -> int:
        """The largest short pay (bank fee, small deduction) applied as a short pay."""
        return _larger_of(self.short_pay_amount, self.short_pay_percent, open_minor, currency)

    def overpayment_tolerance(self, quoted_minor: int, currency: str) -> int:
        """The largest excess over the quoted invoices auto-applied as an overpayment (the
        invoices in full, the excess left on account); a larger excess more likely pays
        unquoted invoices, and is suggested."""
        return _larger_of(self.overpayment_amount or {"default": "0"}, self.overpayment_percent,
                          quoted_minor, currency)


@lru_cache(maxsize=256)
def _absolute(text: str, currency: str) -> int:
    return parse_amount(text, currency)


def _larger_of(amounts: dict, percent: float, base_minor: int, currency: str) -> int:
    """max(the policy amount for the currency, percent of the base), exact (Decimal, floor)."""
    from decimal import ROUND_FLOOR, Decimal

    absolute = _absolute(amounts.get(currency, amounts.get("default", "0")), currency)
    share = (Decimal(int(base_minor)) * Decimal(str(percent)) / 100).to_integral_value(ROUND_FLOOR)
    return max(absolute, int(share))


def load_cashapp_policy(path: str | Path = "cashapp", auto_post_threshold: float | None = None
                        ) -> CashAppPolicy:
    doc, src = read_policy(path, "cash application")
    errors = []
    thr = doc.get("auto_post_threshold") if auto_post_threshold is None else auto_post_threshold
    if not isinstance(thr, (int, float)) or not 0 < thr <= 1:
        errors.append(f"auto_post_threshold must be in (0, 1]; got {thr!r}")
    amounts, pct = _tolerance(doc, "short_pay_tolerance", 10, errors, required=True)
    over_amounts, over_pct = _tolerance(doc, "overpayment_tolerance", 100, errors, required=False)
    ints = {}
    for key, lo, hi in (("posting_sla_business_days", 0, 60), ("subset_max_items", 1, 24),
                        ("subset_max_size", 1, 12), ("fuzzy_min_score", 50, 100),
                        ("fuzzy_margin", 0, 50)):
        v = doc.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
            errors.append(f"{key} must be in [{lo}, {hi}]; got {v!r}")
        ints[key] = v
    if errors:
        raise PolicyError(f"{src}: invalid cash application policy:\n  " + "\n  ".join(errors))
    return CashAppPolicy(doc["name"], doc["version"], float(thr), amounts, pct, int(ints["posting_sla_business_days"]),
                         float(ints["fuzzy_min_score"]), float(ints["fuzzy_margin"]),
                         int(ints["subset_max_items"]), int(ints["subset_max_size"]),
                         over_amounts, over_pct, str(Path(src).resolve()))


def _tolerance(doc: dict, key: str, max_percent: float, errors: list, required: bool):
    tol = doc.get(key) or {}
    if not tol and not required:
        return {"default": "0"}, 0.0
    amounts = tol.get("amount") or {}
    if "default" not in amounts:
        errors.append(f"{key}.amount needs a 'default'")
    for cur, text in amounts.items():
        try:
            if parse_amount(str(text), "USD" if cur == "default" else cur) < 0:
                errors.append(f"{key}.amount.{cur} must be >= 0; got {text}")
        except ValueError as e:
            errors.append(f"{key}.amount.{cur}: {e}")
    pct = tol.get("percent", 0)
    if not isinstance(pct, (int, float)) or isinstance(pct, bool) or not 0 <= pct <= max_percent:
        errors.append(f"{key}.percent must be in [0, {max_percent:g}]; got {pct!r}")
    return {str(k): str(v) for k, v in amounts.items()}, float(pct) if isinstance(pct, (int, float)) else 0.0


