"""Collections KPIs: DSO (standard, countback, best possible), ADD, CEI, Aging over 60,
unapplied cash, open disputes, promise-to-pay kept rate, cash collected.

Two layers, in the style of empyrical:

* **metric functions** (:func:`standard_dso`, :func:`countback_dso`, ...): small, pure,
  on plain numbers (integer minor units), each with its formula and source;
* **ledger functions** (:func:`kpi_table`, :func:`kpi_trend`): the inputs of those
  metrics read off a :class:`~workbench.ledger.Ledger` for a period, point in time,
  for any grouping (customer, segment, collector, currency), and for many dates at once.

Every balance "as of D" is a cumulative sum of dated events, so the engine computes
all the dates a report needs in one pass over the ledger (integer ``np.add.at`` into
(group, date) cells, then a cumulative sum), exactly, never with floats:

* AR(D): +invoice amount at its invoice date; -each application, credit memo and
  write-off at max(its date, the invoice date).
* past-due AR(D) (more than k days past due): the same amounts at max(date, due + k + 1).
* credit sales in (a, b]: AR's invoice events alone, S(b) - S(a).
* unapplied cash(D): +receipt at its date; -each application at max(applied, receipt date).
* open disputes(D): +1 / +amount at opened, -1 / -amount at closed.

The package: :mod:`.metrics`, :mod:`.engine`, :mod:`.promises`, :mod:`.tables`.
"""

from __future__ import annotations

from .metrics import (  # noqa: F401
    GROUPINGS,
    KPIOptions,
    aging_over_pct,
    average_days_delinquent,
    best_possible_dso,
    collection_effectiveness_index,
    countback_dso,
    standard_dso,
)
from .promises import PromiseSchedule, promise_outcomes, promise_schedule  # noqa: F401
from .tables import (  # noqa: F401
    KPI_FIELDS,
    MONEY_FIELDS,
    _monthly_average,
    _months_in,
    kpi_records,
    kpi_table,
    kpi_trend,
)

__all__ = [
    "KPIOptions", "standard_dso", "countback_dso", "best_possible_dso",
    "average_days_delinquent", "collection_effectiveness_index", "aging_over_pct",
    "kpi_table", "kpi_records", "kpi_trend", "promise_outcomes", "KPI_FIELDS", "GROUPINGS",
    "MONEY_FIELDS", "PromiseSchedule", "promise_schedule",
]
