"""Collections goals: targets for the KPIs, their variance and a status.

The goals file (``workbench/policies/goals.yaml``; a versioned policy read through
:mod:`workbench.policy`, every problem collected) gives quarterly and monthly targets for
the company, each segment (the team that owns the accounts) and each collector, a status
band, and the collectors' activity targets (:mod:`workbench.activity_metrics`).

The actuals are :func:`workbench.kpis.kpi_table`'s, never recomputed here. For each KPI
with a target::

    variance    = actual - target                 (the KPI's units; money in minor units;
                                                   a percentage KPI's in percentage points)
    variance %  = variance / target * 100         (money, days and counts only: for a
                                                   percentage KPI it is None, n/a; the
                                                   variance in points says it, and a
                                                   percent of a percentage misleads)
    status      = on track   the actual is at target or better (direction: lower is better
                             for DSO, ages, aging over 60 and unapplied cash; higher for CEI
                             and cash collected)
                  at risk    worse than target by at most at_risk_pct % of the target
                  missed     worse than that

Comparisons are exact: money in integer minor units, ratios through their decimal text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .kpis import KPIOptions, kpi_table, kpi_trend
from .money import format_amount
from .periods import Period, parse_period
from .policy import (Amounts, MapOf, Money, Percent, PolicyError, PolicySpec, Section, Whole)

__all__ = ["Goals", "load_goals", "KPI_GOALS", "ACTIVITY_GOALS", "goal_status", "variance_of",
           "kpis_against_targets", "goal_records", "goals_display", "target_trend",
           "plot_target_trend", "period_frequency", "STATUSES", "goals_table",
           "STATUS_CODES", "PERCENT_UNITS", "goal_values", "goal_values_table", "pack_goals",
           "PackGoals"]

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


# =========================================================================== status

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
    from .master import customers_as_of
    from .suggest import close_matches, shown

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


def _object_frame(rows: list[dict], cols: list[str]) -> pd.DataFrame:
    """Rows as a frame of Python values (ints stay exact ints, None stays None)."""
    return pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in cols},
                        columns=cols)


def _json_value(v, unit, currency):
    if v is None or (isinstance(v, float) and v != v):
        return None
    if unit == "money":
        return format_amount(int(v), currency)
    return int(v) if unit == "count" else float(v)


def goal_records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready goal rows: money as exact decimal text in the row's currency."""
    out = []
    for r in frame.to_dict("records"):
        rec = dict(r)
        for k in ("actual", "target", "variance"):
            rec[k] = _json_value(r[k], r["unit"], r["currency"])
        rec["variance_pct"] = None if r["variance_pct"] is None else float(r["variance_pct"])
        out.append(rec)
    return out


def _shown(v, unit, currency) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    if unit == "money":
        return format_amount(int(v), currency, thousands=True)
    if unit == "count":
        return f"{int(v):,}"
    if unit in PERCENT_UNITS:
        return f"{float(v):.1f} %"
    return f"{float(v):.1f} days"


def _signed(v, unit, currency) -> str:
    """A variance: the KPI's units, a percentage KPI's variance in percentage points."""
    if unit in PERCENT_UNITS and v is not None and v == v:
        return f"{float(v):+.1f} pp"
    text = _shown(v, unit, currency)
    return f"+{text}" if v is not None and v == v and v > 0 else text


def goals_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The goals table for people: business names, units, currency, status; no index
    needed (``Styler.hide(axis="index")`` or ``to_string(index=False)``). Takes
    :func:`kpis_against_targets`'s frame or
    :func:`workbench.activity_metrics.activity_against_targets`'s (Scope: the collector)."""
    rows = []
    for r in frame.to_dict("records"):
        cur = r["currency"]
        pct = r["variance_pct"]
        if "scope" not in r:                 # activity targets: one collector's
            r = {**r, "scope": "collector", "name": r["collector"]}
        rows.append({"Scope": r["scope"].capitalize() if r["name"] == "company"
                     else f"{r['scope'].capitalize()}: {r['name']}",
                     "KPI": r["goal_name"],
                     "Currency": "all" if cur in (None, "", "all") else cur,
                     "Actual": _shown(r["actual"], r["unit"], cur),
                     "Target": _shown(r["target"], r["unit"], cur),
                     "Variance": _signed(r["variance"], r["unit"], cur),
                     "Variance %": "n/a" if pct is None else f"{pct:+.1f} %",
                     "Status": r["status"] or "no data"})
    return pd.DataFrame(rows, columns=["Scope", "KPI", "Currency", "Actual", "Target",
                                       "Variance", "Variance %", "Status"])


# =========================================================================== trend

def target_trend(ledger, end, goals: Goals, goal: str, points: int = 12,
                 options: KPIOptions = KPIOptions(), activities=None) -> pd.DataFrame:
    """The company's month-end trend of one KPI (:func:`workbench.kpis.kpi_trend`) beside
    its monthly target: ``period, end, currency, actual, target, status``."""
    if goal not in KPI_GOALS:
        raise ValueError(f"goal must be one of {', '.join(KPI_GOALS)}; got {goal!r}.")
    g = KPI_GOALS[goal]
    trend = kpi_trend(ledger, end, points=points, options=options, activities=activities)
    target = goals.targets("company", None, "monthly").get(goal)
    rows = []
    for r in trend.to_dict("records"):
        t = target
        if g.unit == "money" and target is not None:
            t = _money_target(target, r["currency"], ledger, r["end"])
        actual = r[g.column]
        actual = None if actual is None or (isinstance(actual, float) and actual != actual) \
            else actual
        rows.append({"period": r["period"], "end": r["end"], "currency": r["currency"],
                     "actual": actual, "target": None if t is None else
                     (int(t) if g.unit == "money" else float(t)),
                     "status": goal_status(actual, t, g.direction, goals.band(goal))})
    out = _object_frame(rows, ["period", "end", "currency", "actual", "target", "status"])
    out.attrs.update({"goal": goal, "label": g.label, "unit": g.unit, "goals": goals.label,
                      "target_frequency": "monthly"})
    return out


def plot_target_trend(trend: pd.DataFrame, currency: str | None = None, ax=None):
    """The actual month by month against the target line (dashed). Days and percent: one
    line per currency; money: one currency (``currency``, default the first). Takes
    ``ax=None``, returns the Axes."""
    import matplotlib.pyplot as plt
    from .money import minor_units

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    label, unit = trend.attrs.get("label", "KPI"), trend.attrs.get("unit", "")
    data = trend.copy()
    if unit == "money":
        currency = currency or (str(data["currency"].iloc[0]) if len(data) else "")
        data = data[data["currency"] == currency]
    scale = 10 ** minor_units(currency) if unit == "money" and currency else 1
    ends = pd.to_datetime(data["end"])
    for cur in sorted(data["currency"].unique()):
        sel = (data["currency"] == cur).to_numpy()
        ax.plot(ends[sel], [None if v is None else float(v) / scale
                            for v in data.loc[sel, "actual"]], marker="o", label=f"actual ({cur})")
    first = data.drop_duplicates("end")
    if first["target"].notna().any():
        freq = trend.attrs.get("target_frequency", "monthly")
        ax.plot(pd.to_datetime(first["end"]), [None if v is None else float(v) / scale
                                               for v in first["target"]],
                linestyle="--", color="tab:red", label=f"{freq} target ({trend.attrs.get('goals', 'goals file')})")
    # one tick per month end, labelled with its own month (not the next month's first day)
    ticks = sorted(pd.to_datetime(first["end"]).unique())
    ax.set_xticks(ticks)
    ax.set_xticklabels([pd.Timestamp(t).strftime("%b %Y") for t in ticks], rotation=45,
                       ha="right")
    units = {"days": "days", "percent": "percent", "money": currency or "", "count": "count"}
    title = f"{label} by month end against its monthly target"
    ax.set_title(title + (f" ({currency})" if unit == "money" else ""))
    ax.set_xlabel("Month end")
    ax.set_ylabel(f"{label} ({units.get(unit, unit)})")
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    return ax


def goals_table(frame: pd.DataFrame, title: str, note: str = "", name: str = "kpi_targets"):
    """The goals against actuals as a report table (:class:`workbench.reporting.Table`):
    business names, each amount in its currency, status; the status rule in the note."""
    from .reporting import Table

    shown = goals_display(frame)
    band = note or ("On track: at target or better; at risk: worse by at most the file's "
                    "band (% of target); missed: worse than that. Lower is better for DSO, "
                    "ages, aging over 60 and unapplied cash; higher for CEI and cash collected. "
                    "A percentage's variance is in points (pp); its variance % is n/a.")
    return Table(name, title, shown, columns={c: c for c in shown.columns}, note=band)


# =========================================================================== machines

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
    percentages and a zero target); ``status`` the code (``on_track``, ``at_risk``,
    ``missed``, ``no_data``) and ``status_label`` the words. An activity row over all of a
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
        rec["status"] = STATUS_CODES.get(r["status"], "no_data")
        rec["status_label"] = r["status"] or "no data"
        rows.append(rec)
    head = [c for c in frame.columns if c not in ("actual", "target", "variance",
                                                  "variance_pct", "status")]
    cols = head + ["actual", "target", "variance", "variance_unit", "variance_pct", "status",
                   "status_label"]
    out = _object_frame(rows, cols)
    out.attrs.update(frame.attrs)
    return out


_VALUE_LABELS = {"scope": "Scope", "name": "Name", "collector": "Collector",
                 "currency": "Currency", "period": "Period", "goal": "Goal",
                 "goal_name": "Goal name", "unit": "Unit", "direction": "Better when",
                 "actual": "Actual", "target": "Target", "variance": "Variance",
                 "variance_unit": "Variance unit", "variance_pct": "Variance %",
                 "status": "Status", "status_label": "Status (words)"}


def goal_values_table(values: pd.DataFrame, name: str, title: str, note: str = ""):
    """:func:`goal_values` as a report table for the workbook and ``tables/<name>.csv``:
    actual, target and variance as numbers (two decimals shown; the CSV keeps every
    digit), the unit beside them, the status code."""
    from .reporting import Table

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
            from .activity_metrics import activity_against_targets, activity_metrics

            metrics = activity_metrics(ledger, p, activities=activities, options=options)
            got = activity_against_targets(metrics, goals, ledger)
            notes += metrics.attrs.get("notes", []) + got.attrs.get("notes", [])
            if len(got):
                activity = got
    activity.attrs.update({"goals": goals.label, "frequency": freq, "period": p.label})
    return PackGoals(p.label, freq, kpis, activity, list(dict.fromkeys(notes)))
