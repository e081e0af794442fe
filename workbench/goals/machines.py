"""The goals for machines (exact values in their unit) and every goal of the quarter-end
pack."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from ..kpis import KPIOptions
from ..money import format_amount
from ..periods import Period, parse_period
from .file import PERCENT_UNITS, STATUS_CODES, Goals, _object_frame
from .judge import _exact, kpis_against_targets, period_frequency


def _decimal(v) -> Decimal:
    """A days or percent figure as an exact Decimal of its shortest text, never in
    exponent form."""
    d = _exact(v)
    return Decimal(format(d, "f"))


def _machine_value(v, unit: str, currency):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if unit == "money":
        return Decimal(format_amount(int(v), currency))
    if unit == "count":
        return int(v)
    return _decimal(v)


def goal_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Goals against actuals for machines (the pack's ``kpi_targets.csv`` and
    ``activity_targets.csv``, the workbook's sheets).

    Returns the frame's columns with ``actual``, ``target`` and ``variance`` as exact
    values in the goal's ``unit``: money as a Decimal in the currency's decimals (the CSV
    text ``2615463.28``, no thousands separators), days and percent as Decimals of the
    figure (``64.792``), counts as ints; ``variance_unit`` (``pp`` for a percentage's
    variance, in points; else the unit); ``variance_pct`` a float or None (None for
    percentages and a zero target); ``status`` the words (``on track``, ``at risk``,
    ``missed``, ``no data``), as the file always had them, and ``status_code`` the code
    (``on_track``, ``at_risk``, ``missed``, ``no_data``). An activity row over all of a
    collector's currencies (``currency`` ``all``) has no currency (None).
    """
    rows = []
    for r in frame.to_dict("records"):
        cur = None if r.get("currency") in (None, "", "all") else r["currency"]
        unit = r["unit"]
        rec = dict(r)
        rec["currency"] = cur
        for k in ("actual", "target", "variance"):
            rec[k] = _machine_value(r[k], unit, cur)
        rec["variance_unit"] = "pp" if unit in PERCENT_UNITS else unit
        pct = r["variance_pct"]
        rec["variance_pct"] = None if pct is None or pct != pct or unit in PERCENT_UNITS \
            else float(pct)
        rec["status_code"] = STATUS_CODES.get(r["status"], "no_data")
        rec["status"] = r["status"] or "no data"
        rows.append(rec)
    head = [c for c in frame.columns if c not in ("actual", "target", "variance",
                                                  "variance_pct", "status")]
    cols = head + ["actual", "target", "variance", "variance_unit", "variance_pct", "status",
                   "status_code"]
    out = _object_frame(rows, cols)
    out.attrs.update(frame.attrs)
    return out


_VALUE_LABELS = {"scope": "Scope", "name": "Name", "collector": "Collector",
                 "currency": "Currency", "period": "Period", "goal": "Goal",
                 "goal_name": "Goal name", "unit": "Unit", "direction": "Better when",
                 "actual": "Actual", "target": "Target", "variance": "Variance",
                 "variance_unit": "Variance unit", "variance_pct": "Variance %",
                 "status": "Status", "status_code": "Status code"}


def goal_values_table(values: pd.DataFrame, name: str, title: str, note: str = ""):
    """:func:`goal_values` as a report table for the workbook and ``tables/<name>.csv``:
    actual, target and variance as numbers (two decimals shown; the CSV keeps every
    digit), the unit beside them, the status code."""
    from ..reporting import Table

    cols = {c: _VALUE_LABELS.get(c, c) for c in values.columns}
    unit_note = ("Actual, target and variance are in the row's unit: money in the row's "
                 "currency, days, percent (a percentage's variance in points, pp) or a count; "
                 "variance % is n/a for percentages.")
    return Table(name, title, values, columns=cols,
                 decimals={"actual": 2, "target": 2, "variance": 2, "variance_pct": 2},
                 note=f"{note} {unit_note}".strip())


@dataclass
class PackGoals:
    """Every goal of a period against its actual, as the packs show them
    (:func:`pack_goals`).

    ``kpis``: :func:`kpis_against_targets` rows of the company, then each segment, then
    each collector (``scope`` says which); ``activity``:
    :func:`workbench.activity_metrics.activity_against_targets` rows; ``notes``: what
    could not be judged; ``gap``: why nothing was (a week or a year has no targets)."""

    period: str
    frequency: str | None
    kpis: pd.DataFrame
    activity: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    gap: str = ""

    def scope(self, scope: str) -> pd.DataFrame:
        """The KPI rows of one scope (company, segment, collector)."""
        out = self.kpis[self.kpis["scope"] == scope].reset_index(drop=True)
        out.attrs.update(self.kpis.attrs)
        return out


_KPI_COLS = ["scope", "name", "currency", "period", "goal", "goal_name", "unit", "direction",
             "actual", "target", "variance", "variance_pct", "status"]
_ACTIVITY_COLS = ["collector", "currency", "period", "goal", "goal_name", "unit", "direction",
                  "actual", "target", "variance", "variance_pct", "status"]


def pack_goals(ledger, period: str | Period, goals: Goals, options: KPIOptions = KPIOptions(),
               activities=None, table: pd.DataFrame | None = None,
               segment_table: pd.DataFrame | None = None) -> PackGoals:
    """The company's, each segment's and each collector's KPI targets (as of the period
    end) and the collectors' activity targets for a period, judged.

    Parameters
    ----------
    ledger : Ledger
    period : str or Period
        A quarter or a month (a week or a year: ``gap`` says there are no targets).
    goals : Goals
    options : KPIOptions
    activities : DataFrame, optional
        The activity frame (:func:`workbench.collections.default_activity_frame`).
    table, segment_table : DataFrame, optional
        :func:`~workbench.kpis.kpi_table` of the period (per currency, per segment) when
        already computed.
    """
    p = period if isinstance(period, Period) else parse_period(period)
    empty_kpis, empty_act = _object_frame([], _KPI_COLS), _object_frame([], _ACTIVITY_COLS)
    try:
        freq = period_frequency(p)
    except ValueError as e:
        return PackGoals(p.label, None, empty_kpis, empty_act, [],
                         gap=f"No goals for this period: {e}.")
    frames, notes = [], []
    frames.append(kpis_against_targets(ledger, p, goals, options=options,
                                       activities=activities, table=table))
    for by, named in (("segment", goals.segments), ("collector", goals.collectors)):
        if not named:
            continue
        if by not in ledger.customers.columns:
            notes.append(f"the customer master has no {by}: the goals file's {by} targets "
                         f"are not judged")
            continue
        frames.append(kpis_against_targets(
            ledger, p, goals, by=by, options=options, activities=activities,
            table=segment_table if by == "segment" else None))
    for f in frames:
        notes += f.attrs.get("notes", [])
    kpis = pd.concat([f for f in frames if len(f)], ignore_index=True) \
        if any(len(f) for f in frames) else empty_kpis
    kpis.attrs.update({"goals": goals.label, "frequency": freq, "period": p.label})

    activity = empty_act
    if goals.activity_default or goals.activity_collectors:
        if "collector" not in ledger.customers.columns:
            notes.append("the customer master has no collector: the activity targets are "
                         "not judged")
        else:
            from ..activity_metrics import activity_against_targets, activity_metrics

            metrics = activity_metrics(ledger, p, activities=activities, options=options)
            got = activity_against_targets(metrics, goals, ledger)
            notes += metrics.attrs.get("notes", []) + got.attrs.get("notes", [])
            if len(got):
                activity = got
    activity.attrs.update({"goals": goals.label, "frequency": freq, "period": p.label})
    return PackGoals(p.label, freq, kpis, activity, list(dict.fromkeys(notes)))
