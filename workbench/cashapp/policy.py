"""The cash application policy (auto-post threshold, short-pay tolerance, posting SLA)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..money import percent_of, percent_of_array
from ..policy import (Amounts, Money, Number, PolicyError, PolicySpec, Section, Whole,
                      resolve_amounts)

__all__ = ["CashAppPolicy", "load_cashapp_policy", "CASHAPP_SPEC"]


@dataclass(frozen=True)
class CashAppPolicy:
    """A checked cash application policy.

    ``short_pay_amount`` / ``overpayment_amount`` are :class:`workbench.policy.Amounts`
    (per currency, exact); the percentages are the numbers the policy wrote (applied
    exactly, through their decimal text).
    """

    name: str
    version: str
    auto_post_threshold: float
    short_pay_amount: Amounts
    short_pay_percent: float
    posting_sla_business_days: int
    fuzzy_min_score: float
    fuzzy_margin: float
    subset_max_items: int
    subset_max_size: int
    overpayment_amount: Amounts | None = None
    overpayment_percent: float = 0.0
    source: str = ""                   # the policy file it was read from

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def tolerance(self, open_minor: int, currency: str) -> int:
        """The largest short pay (bank fee, small deduction) applied as a short pay:
        max(the policy amount in ``currency``, ``short_pay_percent`` % of ``open_minor``
        rounded down), exact."""
        return _larger_of(self.short_pay_amount, self.short_pay_percent, open_minor, currency)

    def tolerances(self, open_minor, currency: str) -> np.ndarray:
        """:meth:`tolerance` for an array of open balances (int64, exact)."""
        return _larger_of_array(self.short_pay_amount, self.short_pay_percent, open_minor,
                                currency)

    def overpayment_tolerance(self, quoted_minor: int, currency: str) -> int:
        """The largest excess over the quoted invoices auto-applied as an overpayment (the
        invoices in full, the excess left on account); a larger excess more likely pays
        unquoted invoices, and is suggested."""
        return _larger_of(self.overpayment_amount or Amounts(default="0"),
                          self.overpayment_percent, quoted_minor, currency)

    def for_ledger(self, ledger, as_of) -> "CashAppPolicy":
        """This policy with its amounts given in each of the ledger's currencies (converted
        at ``as_of`` where the policy says ``currency_conversion: fx_rates``); a
        :class:`PolicyError` lists every amount a ledger currency lacks."""
        return resolve_amounts(self, ledger, as_of)


def _larger_of(amounts: Amounts, percent, base_minor: int, currency: str) -> int:
    """max(the policy amount for the currency, percent of the base rounded down), exact."""
    return max(amounts.minor(currency), percent_of(int(base_minor), percent))


def _larger_of_array(amounts: Amounts, percent, base_minor, currency: str) -> np.ndarray:
    """:func:`_larger_of` for many bases."""
    return np.maximum(percent_of_array(base_minor, percent), amounts.minor(currency))


def _tolerance_spec(max_percent: float, required: bool) -> Section:
    return Section(required=required, fields={
        "amount": Money(minimum=0, doc="per currency"),
        "percent": Number(minimum=0, maximum=max_percent, required=False, default=0)})


#: The cash application policy's keys (beside name, version, description,
#: currency_conversion).
CASHAPP_SPEC = PolicySpec("cash application", {
    "auto_post_threshold": Number(minimum=0, maximum=1, low_open=True),
    "short_pay_tolerance": _tolerance_spec(10, True),
    "overpayment_tolerance": _tolerance_spec(100, False),
    "posting_sla_business_days": Whole(minimum=0, maximum=60),
    "fuzzy_min_score": Number(minimum=50, maximum=100),
    "fuzzy_margin": Number(minimum=0, maximum=50),
    "subset_max_items": Whole(minimum=1, maximum=24),
    "subset_max_size": Whole(minimum=1, maximum=12),
})


def load_cashapp_policy(path: str | Path = "cashapp", auto_post_threshold: float | None = None
                        ) -> CashAppPolicy:
    """Read and check a cash application policy (default: the shipped one); every problem
    reported together (:mod:`workbench.policy`). ``auto_post_threshold`` overrides the
    policy's (it must be in (0, 1])."""
    doc = CASHAPP_SPEC.read(path)
    thr = doc.get("auto_post_threshold")
    if auto_post_threshold is not None:
        thr = doc.parse(CASHAPP_SPEC.fields["auto_post_threshold"], auto_post_threshold,
                        "auto_post_threshold")
    short = doc.get("short_pay_tolerance") or {}
    over = doc.get("overpayment_tolerance") or {}
    doc.check()
    over_amount = over.get("amount")
    return CashAppPolicy(doc.name, doc.version, float(thr), short["amount"],
                         float(short["percent"]), int(doc["posting_sla_business_days"]),
                         float(doc["fuzzy_min_score"]), float(doc["fuzzy_margin"]),
                         int(doc["subset_max_items"]), int(doc["subset_max_size"]),
                         over_amount or Amounts(default="0"),
                         float(over.get("percent") or 0) if over_amount else 0.0,
                         str(Path(doc.source).resolve()))


__all__ += ["PolicyError"]
