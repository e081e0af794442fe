"""What the collections dashboard shows for one as-of date, computed once (:class:`DayView`:
worklist, KPIs, aging, per-customer groupings, the disputes as of the date), with the HTML
and chart helpers the page uses. The widget itself is
:mod:`workbench.apps.collections_dashboard`.

Disputes come from :func:`workbench.disputes.dispute_states` as of the date: the ledger's,
those opened in the workbench (``dispute_events`` recorded by the end of the day) and the
older ones logged as activities of kind ``dispute``. An invoice is "in dispute" and an
account's "Open disputes" counts from the same states, so the worklist, the open items and
the disputes table agree."""

from __future__ import annotations

import html
import io
from pathlib import Path

import pandas as pd

from ..money import format_money, to_major_float
from . import common

__all__ = ["DayView", "kpi_period", "combine_kpis", "aging_chart_png", "ALL", "KINDS"]


ALL = "All"
KINDS = [("Call", "call"), ("Promise to pay", "promise_to_pay"), ("Dispute", "dispute")]
HISTORY_ROWS = 20
_MONEY_KPIS = ("credit_sales", "beginning_ar", "ending_ar", "ending_current_ar",
               "ending_over_60_ar", "unapplied_cash")
CSS = """<style>
.wb-dash h2{margin:4px 0 2px 0}.wb-dash .wb-sub{color:#555;margin:0 0 6px 0}
.wb-kpi-row{display:flex;gap:10px;margin:4px 0;align-items:stretch}
.wb-kpi-cur{width:44px;font-weight:600;align-self:center;color:#333}
.wb-kpi{flex:1;background:#f6f8fa;border:1px solid #d9dee3;border-radius:6px;padding:6px 10px;min-width:0}
.wb-kpi-label{font-size:12px;color:#555}.wb-kpi-value{font-size:18px;font-weight:600;color:#0b2545}
.wb-kpi-sub{font-size:11px;color:#777}
table.wb-grid{border-collapse:collapse;font-size:13px;margin:4px 0 10px 0}
table.wb-grid th{background:#eef1f4;text-align:left;padding:3px 8px;border-bottom:1px solid #ccd}
table.wb-grid td{padding:2px 8px;border-bottom:1px solid #eee;vertical-align:top;white-space:nowrap}
table.wb-grid th,table.wb-grid td,.wb-account-head th,.wb-account-head td{line-height:1.35}
table.wb-grid td.num{text-align:right;font-variant-numeric:tabular-nums}
.wb-dash h3{margin:10px 0 4px 0}.wb-dash h4{margin:8px 0 2px 0}
.wb-account-head th{font-weight:600;color:#333;vertical-align:top;white-space:nowrap}.wb-more{color:#666;font-size:12px}
table.wb-disputes td:nth-child(4),table.wb-disputes td:nth-child(7),table.wb-disputes td:nth-child(9){white-space:normal}
.wb-history{overflow-x:auto}
</style>"""


def css_classes(widget, *names):
    """``widget`` with CSS classes (for the page's style and for tests)."""
    for n in names:
        widget.add_class(n)
    return widget


def _esc(v) -> str:
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else html.escape(str(v))


def grid_html(rows: list[list], header: list[str], css_class: str, numeric=(), empty="None.") -> str:
    """An escaped HTML table (``numeric``: column positions aligned right)."""
    if not rows:
        return f"<p class='{css_class} wb-empty'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{_esc(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table class='wb-grid {css_class}'><tr>{head}</tr>{body}</table>"


def day_text(v) -> str:
    return "" if v is None or pd.isna(v) else str(pd.Timestamp(v).date())


def num_text(v, unit: str) -> str:
    return "n/a" if v is None or pd.isna(v) else f"{v:.1f} {unit}"


def kpi_period(as_of) -> str:
    """The KPI period of the dashboard: the three months ending on the as-of date
    (``2026-07-01..2026-09-30`` for 2026-09-30: the quarter when it is a quarter end)."""
    D = pd.Timestamp(as_of)
    start = D - pd.DateOffset(months=3) + pd.Timedelta(days=1)
    if D == D + pd.offsets.MonthEnd(0):          # month end: whole months
        start = (D - pd.DateOffset(months=2)).replace(day=1)
    return f"{start.date()}..{D.date()}"


def combine_kpis(rows: pd.DataFrame) -> pd.DataFrame:
    """Per-customer KPI rows (``kpi_table(by="customer")``) summed per currency, the ratios
    recomputed with the metric functions (countback DSO is not additive: left out)."""
    from ..kpis import (aging_over_pct, best_possible_dso, collection_effectiveness_index,
                        standard_dso)

    out = []
    for cur, g in rows.groupby("currency", sort=True):
        s = {c: int(g[c].sum()) for c in _MONEY_KPIS}
        S, A, days = s["credit_sales"], s["ending_ar"], int(g["days"].iloc[0])
        ratios = {"dso": standard_dso(A, S, days),
                  "best_possible_dso": best_possible_dso(s["ending_current_ar"], S, days),
                  "cei": collection_effectiveness_index(s["beginning_ar"], S, A,
                                                        s["ending_current_ar"]),
                  "aging_over_60_pct": aging_over_pct(s["ending_over_60_ar"], A)}
        out.append({"currency": cur, **s, "countback_dso": None, **{
            k: None if v is None or pd.isna(v) else round(float(v), 4) for k, v in ratios.items()}})
    return pd.DataFrame(out, columns=["currency", *_MONEY_KPIS, "countback_dso", "dso",
                                      "best_possible_dso", "cei", "aging_over_60_pct"])


class DayView:
    """Everything the page shows for one as-of date, computed once."""

    def kpis_by_customer(self) -> pd.DataFrame:
        """``kpi_table(by="customer")``, computed the first time both collector and segment
        are chosen."""
        if "customer" not in self.kpis:
            from ..kpis import kpi_table
            led, period, opts, acts = self._kpi_args
            self.kpis["customer"] = kpi_table(led, period, by="customer", options=opts,
                                              activities=acts)
        return self.kpis["customer"]

    def __init__(self, app, D: pd.Timestamp):
        from ..aging import aging_table
        from ..collections import worklist
        from ..kpis import kpi_table, promise_outcomes
        from ..master import customers_as_of

        led, acts, policy = app.ledger, app.activities, app.policy
        self.D = D
        self.period = kpi_period(D)
        master, self.notes = customers_as_of(led, D, ("segment", "collector"))
        self.master = master.set_index("customer_id")
        self.display = None
        self.load_disputes(app)     # first: the worklist ranks on every open dispute
        wl = worklist(led, D, policy, activities=acts,
                      disputes=self.dispute_states[self.dispute_states["is_open"].astype(bool)])
        wl["segment"] = wl["customer_id"].map(self.master["segment"]) if len(wl) else None
        self.worklist = wl.reset_index(drop=True)
        self.display = _worklist_display(self.worklist)
        opts = policy.kpi_options()
        # the ledger's own activities: None lets the KPIs use the ledger's cached schedule
        kacts = acts if (acts["source"] == "state").any() else None
        self._kpi_args = (led, self.period, opts, kacts)
        self.kpis = {by: kpi_table(led, self.period, by=by, options=opts, activities=kacts)
                     for by in (None, "collector", "segment")}
        self.aging = aging_table(led, D, by="customer", policy=app.aging_policy)
        items = led.open_items(D)
        self.items = {c: g for c, g in items.groupby("customer_id", sort=False)}
        outcomes = promise_outcomes(led, D, kacts, opts)
        self.promises = {c: g for c, g in outcomes.groupby("customer_id", sort=False)}

    def load_disputes(self, app) -> None:
        """The disputes as of the date (:func:`workbench.disputes.dispute_states` over the
        ledger, ``app.db``'s ``dispute_events`` and ``app.activities``), per account; the
        invoices with an open one; the worklist's "Open disputes" counted from them. Called
        again when the state database is read or a dispute is recorded."""
        from ..disputes import dispute_states

        states = dispute_states(app.ledger, self.D, getattr(app, "db", None), app.activities,
                                app.dispute_policy)
        self.dispute_states = states
        self.disputes = {c: g for c, g in states.groupby("customer_id", sort=False)}
        open_ = states[states["is_open"].astype(bool)]
        self.disputed_invoices = set(open_["invoice_id"].dropna())
        if self.display is not None and len(self.display):
            counts = open_.groupby("customer_id").size()
            self.display["Open disputes"] = (self.worklist["customer_id"].map(counts)
                                             .fillna(0).astype(int).to_numpy())


def _text(frame: pd.DataFrame, col: str):
    """A text column with blanks for missing values (an unknown collector on a past date)."""
    if col not in frame:
        return ""
    s = frame[col].astype(object)
    return s.where(s.notna(), "")


def _worklist_display(wl: pd.DataFrame) -> pd.DataFrame:
    """The worklist for people: business names, amounts as text, currency in its column."""
    cols = {"Rank": wl["rank"], "Customer": wl["customer_id"], "Name": wl["customer_name"],
            "Collector": _text(wl, "collector"), "Segment": _text(wl, "segment")}
    if not len(wl):
        return pd.DataFrame(columns=[*cols, "Currency", "Open AR", "Past due",
                                     "Oldest (days)", "Stage", "Next action",
                                     "Broken promises", "Open disputes"])
    money = lambda c: [common.money_text(v, cur) for v, cur in zip(wl[c], wl["currency"])]  # noqa: E731
    cols.update({"Currency": wl["currency"], "Open AR": money("open_ar"),
                 "Past due": money("past_due_ar"),
                 "Oldest (days)": wl["oldest_days_past_due"].astype(int),
                 "Stage": wl["stage"].fillna("").str.replace("_", " "),
                 "Next action": wl["next_action"],
                 "Broken promises": wl["broken_promises"].astype(int),
                 "Open disputes": wl["open_disputes"].astype(int)})
    return pd.DataFrame(cols)



def aging_chart_png(table: pd.DataFrame, as_of) -> bytes:
    """Bars of open AR per aging bucket, one panel per currency (amounts in different
    currencies never share an axis), as PNG. A bare :class:`~matplotlib.figure.Figure` with a
    fixed layout: no pyplot state, and fast enough for an interaction."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..plots import money_axis

    n = len(table)
    fig = Figure(figsize=(min(4.4 * n, 13.2), 2.9), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n, squeeze=False)[0]
    colors = ["#4c9a55", "#a6c96a", "#f2c45a", "#f08a4b", "#d9534f", "#8b1e1e"]
    for ax, (cur, row) in zip(axes, table.iterrows()):
        values = to_major_float(row.astype("int64"), cur)
        ax.bar(range(len(row)), values.to_numpy(), color=(colors * 2)[:len(row)])
        ax.set_xticks(range(len(row)), list(row.index), fontsize=8)
        ax.set_title(f"Open AR by days past due ({cur})", fontsize=10)
        ax.set_xlabel("Days past due", fontsize=9)
        ax.set_ylabel(f"Open AR ({cur})", fontsize=9)
        money_axis(ax, "y", cur)
        ax.tick_params(axis="y", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"AR aging as of {pd.Timestamp(as_of).date()}", fontsize=11)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def promise_text(r: dict) -> str:
    amount = r.get("promise_amount_minor")
    if r.get("kind") != "promise_to_pay" or amount is None or pd.isna(amount):
        return ""
    cur = r.get("currency") or ""
    return f"{format_money(int(amount), cur)} by {day_text(r.get('promise_date'))}" if cur else ""


def missing_sqlite(url: str | None) -> bool:
    """True when the state database is a SQLite file that does not exist (yet)."""
    from ..config import db_url

    url = url or db_url()
    return url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists()
