"""The cash application policy (auto-post threshold, short-pay tolerance, posting SLA)."""

from __future__ import annotations

from dataclasses import dataclass
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

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def tolerance(self, open_minor: int, currency: str) -> int:
        text = self.short_pay_amount.get(currency, self.short_pay_amount.get("default", "0"))
        absolute = parse_amount(text, currency)
        return max(absolute, int(open_minor * self.short_pay_percent / 100))


def load_cashapp_policy(path: str | Path = "cashapp", auto_post_threshold: float | None = None
                        ) -> CashAppPolicy:
    doc, src = read_policy(path, "cash application")
    errors = []
    thr = doc.get("auto_post_threshold") if auto_post_threshold is None else auto_post_threshold
    if not isinstance(thr, (int, float)) or not 0 < thr <= 1:
        errors.append(f"auto_post_threshold must be in (0, 1]; got {thr!r}")
    tol = doc.get("short_pay_tolerance") or {}
    amounts = tol.get("amount") or {}
    if "default" not in amounts:
        errors.append("short_pay_tolerance.amount needs a 'default'")
    for cur, text in amounts.items():
        try:
            if parse_amount(str(text), "USD" if cur == "default" else cur) < 0:
                errors.append(f"short_pay_tolerance.amount.{cur} must be >= 0; got {text}")
        except ValueError as e:
            errors.append(f"short_pay_tolerance.amount.{cur}: {e}")
    pct = tol.get("percent", 0)
    if not isinstance(pct, (int, float)) or pct < 0 or pct > 10:
        errors.append(f"short_pay_tolerance.percent must be in [0, 10]; got {pct!r}")
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
    return CashAppPolicy(doc["name"], doc["version"], float(thr), {str(k): str(v) for k, v in amounts.items()},
                         float(pct), int(ints["posting_sla_business_days"]),
                         float(ints["fuzzy_min_score"]), float(ints["fuzzy_margin"]),
                         int(ints["subset_max_items"]), int(ints["subset_max_size"]))


