"""Variance and status against a target, and the KPIs of a period judged against the goals."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from ..kpis import KPIOptions, kpi_table
from ..periods import Period, parse_period
from ..policy import (
    Amounts,
    PolicyError,
)
from .file import KPI_GOALS, PERCENT_UNITS, Goals, _object_frame


def _exact(value) -> Decimal:
    """A number as an exact Decimal: ints as they are, floats through their shortest text
    (the 4-place figure the KPI table shows)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return Decimal(repr(float(value)))


def variance_of(actual, target) -> tuple:
    """``(variance, variance %)``: actual - target (int for ints, else a float rounded to 4
    places) and that in percent of the target (None when the target is 0)."""
    if actual is None or target is None:
        return None, None
    diff = _exact(actual) - _exact(target)
    var = int(diff) if isinstance(actual, int) and isinstance(target, int) \
        else round(float(diff), 4)
    pct = None if _exact(target) == 0 else round(float(diff / _exact(target) * 100), 4)
    return var, pct


def goal_status(actual, target, direction: str, at_risk_pct) -> str | None:
    """``on track``, ``at risk`` or ``missed`` (None without an actual).

    Notes
    -----
    shortfall = actual - target when lower is better, target - actual when higher is;
    on track when shortfall <= 0, at risk when shortfall <= target * at_risk_pct / 100,
    missed otherwise. Exact (Decimal) comparisons.
    """
    if direction not in ("lower", "higher"):
        raise ValueError(f"direction must be 'lower' or 'higher'; got {direction!r}.")
    if actual is None or target is None or (isinstance(actual, float) and actual != actual):
        return None
    a, t = _exact(actual), _exact(target)
    short = a - t if direction == "lower" else t - a
    if short <= 0:
        return "on track"
    if short * 100 <= abs(t) * Decimal(str(at_risk_pct)):
        return "at risk"
    return "missed"


def period_frequency(period: str | Period) -> str:
    """``quarterly`` for a quarter (2026Q3), ``monthly`` for a month (2026-09); goals have
    no other frequency (ValueError naming the period)."""
    p = period if isinstance(period, Period) else parse_period(period)
    if len(p.label) == 6 and p.label[4] == "Q":
        return "quarterly"
    if len(p.label) == 7 and p.label[4] == "-":
        return "monthly"
    raise ValueError(f"period {p.label!r}: goals are set per quarter (2026Q3) or per month "
                     f"(2026-09), not for this period")


def _money_target(amounts: Amounts, currency: str, ledger, as_of):
    if amounts.get(currency) is not None:
        return amounts.get(currency)
    if amounts.default is None and not amounts.convert:
        return None
    try:
        return amounts.minor(currency, ledger, as_of)
    except PolicyError:
        return None


def judge(row: dict, targets: dict, goals_table: dict, bands, currency: str, ledger=None,
          as_of=None) -> tuple[list[dict], list[str]]:
    """The goal rows of one actuals row against its targets (shared with activity
    metrics): ``goal, goal_name, unit, direction, actual, target, variance,
    variance_pct, status``; notes for money targets with no amount in ``currency``."""
    out, notes = [], []
    for key, target in targets.items():
        g = goals_table.get(key)
        if g is None or g.column not in row:
            continue
        if g.unit == "money":
            t = _money_target(target, currency, ledger, as_of)
            if t is None:
                notes.append(f"{g.label}: no {currency} target ({target.where or key})")
                continue
        else:
            t = target
        actual = row[g.column]
        if actual is not None and not isinstance(actual, (int, float, Decimal)):
            actual = None if pd.isna(actual) else actual
        if hasattr(actual, "item"):
            actual = actual.item()
        if isinstance(actual, float) and actual != actual:
            actual = None
        var, pct = variance_of(actual, t if g.unit != "money" else int(t))
        if g.unit in PERCENT_UNITS:
            pct = None      # the variance is in points; a percent of a percentage misleads
        out.append({"goal": key, "goal_name": g.label, "unit": g.unit,
                    "direction": g.direction, "actual": actual,
                    "target": int(t) if g.unit in ("money", "count") else float(t),
                    "variance": var, "variance_pct": pct,
                    "status": goal_status(actual, t, g.direction, bands(key))})
    return out, notes


# =========================================================================== KPIs

_SCOPES = {None: ("company", None), "currency": ("company", None),
           "segment": ("segment", "segment"), "collector": ("collector", "collector")}


def kpis_against_targets(ledger, period: str | Period, goals: Goals, by: str | None = None,
                         options: KPIOptions = KPIOptions(), activities=None,
                         report_currency: str | None = None,
                         table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every KPI with a target, against it, for one period.

    Parameters
    ----------
    ledger : Ledger
    period : str or Period
        A quarter (quarterly targets) or a month (monthly targets).
    goals : Goals
        From :func:`load_goals`.
    by : {None, "currency", "segment", "collector"}
        None (or currency): the company's targets; segment or collector: each group's own
        (assignment as of the period end, as :func:`~workbench.kpis.kpi_table` groups).
    table : DataFrame, optional
        The :func:`~workbench.kpis.kpi_table` already computed for these arguments.

    Returns
    -------
    DataFrame
        One row per (group, currency, goal): ``scope, name, currency, period, goal,
        goal_name, unit, direction, actual, target, variance, variance_pct, status``.
        Money in integer minor units of ``currency``. ``attrs``: goals, frequency, notes.
    """
    if by not in _SCOPES:
        raise ValueError(f"targets are set for the company, segments and collectors; by "
                         f"must be None, 'currency', 'segment' or 'collector'; got {by!r}")
    p = period if isinstance(period, Period) else parse_period(period)
    freq = period_frequency(p)
    if table is None:
        table = kpi_table(ledger, p, by=by, options=options, activities=activities,
                          report_currency=report_currency)
    scope, column = _SCOPES[by]
    rows, notes = [], []
    for row in table.to_dict("records"):
        name = row.get(column) if column else None
        targets = goals.targets(scope, name, freq)
        if not targets:
            continue
        got, why = judge(row, targets, KPI_GOALS, goals.band, row["currency"], ledger, p.end)
        notes += [f"{scope}{' ' + str(name) if name else ''}: {w}" for w in why]
        for r in got:
            rows.append({"scope": scope, "name": name if name else "company",
                         "currency": row["currency"], "period": p.label, **r})
    cols = ["scope", "name", "currency", "period", "goal", "goal_name", "unit", "direction",
            "actual", "target", "variance", "variance_pct", "status"]
    out = _object_frame(rows, cols)
    notes += unknown_goal_names(ledger, goals, p.end)
    out.attrs.update({"goals": goals.label, "frequency": freq, "period": p.label,
                      "notes": list(dict.fromkeys(notes))})
    return out


def unknown_goal_names(ledger, goals: Goals, as_of) -> list[str]:
    """Notes on segment and collector names of the goals file that no customer has on the
    customer master as of ``as_of`` (the period end), each with the closest names ("did
    you mean ..."): their targets can never be judged."""
    from ..master import customers_as_of
    from ..suggest import close_matches, shown

    notes = []
    for field_, scope, named in (("segment", "segments", goals.segments),
                                 ("collector", "collectors", goals.collectors)):
        if not named:
            continue
        if field_ not in ledger.customers:
            notes.append(f"goals {scope} {', '.join(shown(n) for n in sorted(named))}: the "
                         f"ledger's customers have no {field_}; these targets are not judged")
            continue
        master, _ = customers_as_of(ledger, as_of, (field_,), "strict")
        known = sorted({v for v in master[field_] if isinstance(v, str) and v})
        on = f"on {pd.Timestamp(as_of).date()}"
        if not known:                # no master history for that date: the current master
            master, _ = customers_as_of(ledger, as_of, (field_,), "assume_unchanged")
            known = sorted({v for v in master[field_] if isinstance(v, str) and v})
            on = "on the current customer master (no history for the period end)"
        if not known:
            continue
        for name in sorted(named):
            if name in known:
                continue
            near = close_matches(str(name), known)
            hint = f"; did you mean {', '.join(shown(n) for n in near)}?" if near else \
                f"; the {field_}s on the master are {', '.join(shown(n) for n in known[:10])}"
            notes.append(f"goals {field_} {shown(name)}: no customer has this {field_} {on}: "
                         f"its targets are not judged{hint}")
    return notes


