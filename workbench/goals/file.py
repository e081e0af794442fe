"""The goals file: versioned targets (quarterly and monthly) for the company, segments,
collectors and the collectors' activity, validated with every problem collected."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..policy import (
    MapOf,
    Money,
    Percent,
    PolicySpec,
    Section,
    Whole,
)

STATUSES = ("on track", "at risk", "missed")
#: The status codes machines read (CSV, workbook): ``on_track``, ``at_risk``, ``missed``.
STATUS_CODES = {s: s.replace(" ", "_") for s in STATUSES}
#: Goal units that are percentages: their variance is in points, their variance % is None.
PERCENT_UNITS = ("percent", "pp")


@dataclass(frozen=True)
class Goal:
    """One goal key: the column of the actuals it is judged on, its business name, its
    unit (``days``, ``percent``, ``money``, ``count``) and which way is better."""

    column: str
    label: str
    unit: str
    direction: str          # "lower" or "higher" is better


#: The KPI goals, each judged on a column of :func:`workbench.kpis.kpi_table`.
KPI_GOALS: dict[str, Goal] = {
    "dso": Goal("dso", "DSO", "days", "lower"),
    "countback_dso": Goal("countback_dso", "Countback DSO", "days", "lower"),
    "cash_collected": Goal("cash_collected", "Cash collected", "money", "higher"),
    "aging_over_60_pct": Goal("aging_over_60_pct", "Aging over 60 (% of AR)", "percent", "lower"),
    "aging_over_60_amount": Goal("ending_over_60_ar", "Aging over 60 (amount)", "money", "lower"),
    "unapplied_cash": Goal("unapplied_cash", "Unapplied cash", "money", "lower"),
    "unapplied_cash_age_days": Goal("unapplied_cash_avg_age_days", "Unapplied cash age",
                                    "days", "lower"),
    "cei": Goal("cei", "CEI", "percent", "higher"),
    "dispute_age_days": Goal("open_dispute_avg_age_days", "Open dispute age", "days", "lower"),
}

#: The activity goals, judged on :func:`workbench.activity_metrics.activity_metrics`.
ACTIVITY_GOALS: dict[str, Goal] = {
    "calls": Goal("calls", "Calls", "count", "higher"),
    "emails": Goal("emails", "E-mails", "count", "higher"),
    "letters": Goal("letters", "Letters", "count", "higher"),
    "promises": Goal("promises", "Promises obtained", "count", "higher"),
    "promise_kept_rate": Goal("promise_kept_rate", "Promise-kept rate", "percent", "higher"),
    "accounts_touched_pct": Goal("accounts_touched_pct", "Accounts touched (% of assigned)",
                                 "percent", "higher"),
    "past_due_reduction_pct": Goal("past_due_reduction_pct", "Past-due reduction", "percent",
                                   "higher"),
    "cash_collected": Goal("cash_collected", "Cash collected", "money", "higher"),
}

FREQUENCIES = ("quarterly", "monthly")


# =========================================================================== the file

def _days(max_=None):
    return Percent(required=False, minimum=Decimal(0), maximum=max_)


def _kpi_targets():
    fields = {}
    for key, g in KPI_GOALS.items():
        if g.unit == "money":
            fields[key] = Money(required=False, minimum=0)
        elif g.unit == "percent":
            fields[key] = _days(Decimal(100) if key != "cei" else None)
        else:
            fields[key] = _days()
    return Section(required=False, fields=fields)


def _activity_targets():
    fields = {}
    for key, g in ACTIVITY_GOALS.items():
        if g.unit == "money":
            fields[key] = Money(required=False, minimum=0)
        elif g.unit == "count":
            fields[key] = Whole(required=False, minimum=0)
        else:
            fields[key] = _days(Decimal(100))
    return Section(required=False, fields=fields)


def _scope(targets):
    return Section(required=False, fields={f: targets() for f in FREQUENCIES})


#: The goals file's keys (beside name, version, description, currency_conversion).
GOALS_SPEC = PolicySpec("goals", {
    "status": Section(fields={
        "at_risk_pct": Percent(minimum=Decimal(0), maximum=Decimal(100),
                               doc="worse than target by at most this % of it: at risk"),
        "per_kpi": MapOf(required=False, value=Percent(minimum=Decimal(0),
                                                       maximum=Decimal(100)))}),
    "company": _scope(_kpi_targets),
    "segments": MapOf(required=False, value=_scope(_kpi_targets)),
    "collectors": MapOf(required=False, value=_scope(_kpi_targets)),
    "activity": Section(required=False, fields={
        "default": _scope(_activity_targets),
        "collectors": MapOf(required=False, value=_scope(_activity_targets))}),
})


@dataclass(frozen=True)
class Goals:
    """A goals file, read and checked (:func:`load_goals`).

    ``company``: ``{frequency: {goal: target}}``; ``segments`` and ``collectors``:
    ``{name: {frequency: {goal: target}}}``; ``activity_default`` and
    ``activity_collectors`` the same for activity goals. A target is a ``Decimal``
    (days, percent), an ``int`` (counts) or :class:`~workbench.policy.Amounts` (money)."""

    name: str
    version: str
    at_risk_pct: Decimal
    per_kpi: dict = field(default_factory=dict)
    company: dict = field(default_factory=dict)
    segments: dict = field(default_factory=dict)
    collectors: dict = field(default_factory=dict)
    activity_default: dict = field(default_factory=dict)
    activity_collectors: dict = field(default_factory=dict)
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def band(self, goal: str) -> Decimal:
        """The at-risk band of a goal, in percent of its target."""
        return self.per_kpi.get(goal, self.at_risk_pct)

    def targets(self, scope: str, name: str | None, frequency: str) -> dict:
        """The KPI targets of ``scope`` (company, segment, collector) for a frequency."""
        if scope == "company":
            got = self.company
        else:
            got = (self.segments if scope == "segment" else self.collectors).get(name) or {}
        return {k: v for k, v in (got.get(frequency) or {}).items() if v is not None}

    def activity_targets(self, collector: str, frequency: str) -> dict:
        """A collector's activity targets: the collector's own, else the default's."""
        own = (self.activity_collectors.get(collector) or {}).get(frequency)
        base = (self.activity_default or {}).get(frequency) or {}
        out = {k: v for k, v in base.items() if v is not None}
        out.update({k: v for k, v in (own or {}).items() if v is not None})
        return out


def _clean(mapping) -> dict:
    return {k: v for k, v in (mapping or {}).items() if v}


def load_goals(path: str | Path = "goals") -> Goals:
    """Read and check a goals file (default: the shipped ``goals.yaml``).

    Every problem is collected and reported together in one
    :class:`~workbench.policy.PolicyError`, each as ``file: key.path: message``.
    """
    doc = GOALS_SPEC.read(path)
    status = doc.get("status") or {}
    per_kpi = status.get("per_kpi") or {}
    for key in per_kpi:
        if key not in KPI_GOALS and key not in ACTIVITY_GOALS:
            doc.add(f"status.per_kpi.{key}", f"unknown goal (known: "
                                            f"{', '.join(dict.fromkeys([*KPI_GOALS, *ACTIVITY_GOALS]))})")
    activity = doc.get("activity") or {}
    has_any = any(_clean(doc.get("company"))) or doc.get("segments") or doc.get("collectors") \
        or _clean(activity.get("default")) or activity.get("collectors")
    if not has_any and not doc.problems.items:
        doc.add("company", "the file sets no target (give company, segments, collectors or "
                           "activity targets)")
    doc.check()
    return Goals(name=doc.name, version=doc.version, at_risk_pct=status["at_risk_pct"],
                 per_kpi=dict(per_kpi), company=_clean(doc.get("company")),
                 segments={k: _clean(v) for k, v in (doc.get("segments") or {}).items()},
                 collectors={k: _clean(v) for k, v in (doc.get("collectors") or {}).items()},
                 activity_default=_clean(activity.get("default")),
                 activity_collectors={k: _clean(v) for k, v in
                                      (activity.get("collectors") or {}).items()},
                 source=str(doc.source))


def _object_frame(rows: list[dict], cols: list[str]) -> pd.DataFrame:
    """Rows as a frame of Python values (ints stay exact ints, None stays None)."""
    return pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in cols},
                        columns=cols)
