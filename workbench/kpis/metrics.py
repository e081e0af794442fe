"""The KPI formulas (DSO, countback DSO, best possible DSO, ADD, CEI, aging over 60) and
the options that choose their variants."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GROUPINGS = ("customer", "segment", "collector", "currency")
_GROUP_COLUMN = {"customer": "customer_id", "segment": "segment", "collector": "collector"}
_DAY = np.timedelta64(1, "D")


# =========================================================================== metrics

def standard_dso(ending_ar: int, credit_sales: int, days: int) -> float | None:
    """Days sales outstanding, the standard (period) method.

    Notes
    -----
    DSO = ending AR / credit sales of the period * days in the period.
    Source: DATA_MODEL.md; CFO / Credit Research Foundation "DSO" (the most common
    definition). Undefined (None) when the period had no credit sales.
    """
    if credit_sales <= 0:
        return None
    return ending_ar / credit_sales * days


def countback_dso(ending_ar: int, months: list[tuple[int, int]]) -> tuple[float | None, bool]:
    """Countback (exhaustion) DSO.

    Parameters
    ----------
    ending_ar : int
        AR at the period end (minor units).
    months : list of (credit_sales, days)
        Month by month walking back from the period end (most recent first).

    Returns
    -------
    (dso, complete)
        ``complete`` is False when the months given did not use up the AR; the DSO is
        then the days of all months given (a lower bound).

    Notes
    -----
    Walk back month by month, consuming each month's credit sales until the ending AR
    is used up: a month fully consumed adds its days, the month where the AR runs out
    adds days * (AR left / that month's sales) (the last month prorated).
    Source: DATA_MODEL.md; Credit Research Foundation, "countback" method.
    """
    if ending_ar <= 0:
        return 0.0, True
    left, total = ending_ar, 0.0
    for sales, days in months:
        if sales >= left and sales > 0:
            return total + days * (left / sales), True
        left -= max(sales, 0)
        total += days
    return (total if months else None), False


def best_possible_dso(current_ar: int, credit_sales: int, days: int) -> float | None:
    """Best possible DSO: the DSO if every customer paid on terms.

    Notes
    -----
    BPDSO = current (not past due) AR / credit sales * days in the period.
    Source: DATA_MODEL.md; Credit Research Foundation.
    """
    if credit_sales <= 0:
        return None
    return current_ar / credit_sales * days


def average_days_delinquent(dso: float | None, best: float | None) -> float | None:
    """Average days delinquent: ADD = DSO - best possible DSO (DATA_MODEL.md)."""
    if dso is None or best is None:
        return None
    return dso - best


def collection_effectiveness_index(beginning_ar: int, credit_sales: int, ending_ar: int,
                                   ending_current_ar: int) -> float | None:
    """Collection effectiveness index, in percent.

    Notes
    -----
    CEI = (beginning AR + credit sales - ending AR)
          / (beginning AR + credit sales - ending current AR) * 100
    with the period's total credit sales (for one month the classic monthly CEI).
    Source: DATA_MODEL.md; Credit Research Foundation. Undefined when the denominator
    is not positive (nothing was collectible).
    """
    denominator = beginning_ar + credit_sales - ending_current_ar
    if denominator <= 0:
        return None
    return (beginning_ar + credit_sales - ending_ar) / denominator * 100.0


def aging_over_pct(over_ar: int, ar: int) -> float | None:
    """Share of AR more than N days past due, in percent (Aging over 60: N = 60)."""
    if ar <= 0:
        return 0.0 if ar == 0 else None
    return over_ar / ar * 100.0


# =========================================================================== options

@dataclass(frozen=True)
class KPIOptions:
    """Named variants of the formulas (sources differ); the default is DATA_MODEL.md's.

    Parameters
    ----------
    cei_sales : {"period_total", "monthly_average"}
        CEI with the period's total credit sales (default) or, as some sources do for
        a quarter, the sales divided by the number of months.
    cei_current_days : int
        "Current" AR in CEI: not past due (0, default) or up to N days past due (30).
    countback_max_months : int
        How far countback DSO walks back before it stops (and says it is incomplete).
    promise_grace_days : int
        Cash received up to this many days after the promised date still keeps it.
    promise_tolerance_pct : float
        Paying at least (100 - this) % of the promised amount keeps the promise.
    """

    cei_sales: str = "period_total"
    cei_current_days: int = 0
    countback_max_months: int = 36
    promise_grace_days: int = 0
    promise_tolerance_pct: float = 0.0

    def __post_init__(self):
        if self.cei_sales not in ("period_total", "monthly_average"):
            raise ValueError(f"cei_sales must be 'period_total' or 'monthly_average'; got "
                             f"{self.cei_sales!r}.")
        if self.cei_current_days < 0:
            raise ValueError(f"cei_current_days must be >= 0; got {self.cei_current_days}.")
        if not 1 <= self.countback_max_months <= 120:
            raise ValueError(f"countback_max_months must be in [1, 120]; got "
                             f"{self.countback_max_months}.")
        if self.promise_grace_days < 0:
            raise ValueError(f"promise_grace_days must be >= 0; got {self.promise_grace_days}.")
        if not 0 <= self.promise_tolerance_pct < 100:
            raise ValueError(f"promise_tolerance_pct must be in [0, 100); got "
                             f"{self.promise_tolerance_pct}.")

    def formulas(self) -> dict[str, str]:
        cur = ("not past due" if self.cei_current_days == 0
               else f"up to {self.cei_current_days} days past due")
        sales = ("the period's total credit sales" if self.cei_sales == "period_total"
                 else "credit sales / months in the period")
        return {
            "dso": "ending AR / credit sales * days",
            "countback_dso": "months walked back from the period end until their credit sales "
                             "use up ending AR; the last month prorated",
            "best_possible_dso": "current (not past due) AR / credit sales * days",
            "add": "DSO - best possible DSO",
            "cei": f"(beginning AR + S - ending AR) / (beginning AR + S - ending current AR) * 100; "
                   f"S = {sales}; current = {cur}",
            "aging_over_60_pct": "AR more than 60 days past due / AR * 100",
            "promise_kept_rate": f"kept / (kept + broken) for promises due in the period; kept = "
                                 f"cash received between the promise and its date"
                                 f"{f' + {self.promise_grace_days} days' if self.promise_grace_days else ''}"
                                 f" covers the promised amount"
                                 f"{f' less {self.promise_tolerance_pct}%' if self.promise_tolerance_pct else ''}",
        }


