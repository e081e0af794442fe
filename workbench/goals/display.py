"""The goals for people: the display table, the trend against the monthly target and its
plot, the report table."""

from __future__ import annotations

import pandas as pd

from ..kpis import KPIOptions, kpi_trend
from ..money import format_amount
from .file import KPI_GOALS, PERCENT_UNITS, Goals, _object_frame
from .judge import _money_target, goal_status


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

    from ..money import minor_units

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
    from ..reporting import Table

    shown = goals_display(frame)
    band = note or ("On track: at target or better; at risk: worse by at most the file's "
                    "band (% of target); missed: worse than that. Lower is better for DSO, "
                    "ages, aging over 60 and unapplied cash; higher for CEI and cash collected. "
                    "A percentage's variance is in points (pp); its variance % is n/a.")
    return Table(name, title, shown, columns={c: c for c in shown.columns}, note=band)


