"""The collectors' dashboard: filters, KPI tiles, the aging chart, the prioritized worklist;
for the account picked its open items, promises, disputes and history, and a form to log a
call, a promise to pay or open a dispute.

Start-up computes everything for the as-of date once (:class:`DayView`: worklist, KPIs, aging,
per-customer groupings); a filter or a pick only looks it up. The signed-in user is asked for
after that work (a preheated kernel waits there) and the state database is read after it.
What is logged carries the signed-in user as collector and actor, never a typed name; without
a user the form is read only. Voila hides tracebacks: every failure is shown in plain words.

Calls and promises are activities (:class:`workbench.collections.ActivityLog`). A dispute is
opened through :meth:`workbench.disputes.DisputeBook.open`: an ``opened`` row of the state
database's ``dispute_events`` with a reason code of the dispute policy
(``policies/disputes.yaml``), its owner (the reason's owner by default, another owner if
picked) and due date (today, UTC, plus the policy's days by default, shown before it is
recorded). A double-click sends the same idempotency key twice and records once.

The account's disputes table is :func:`workbench.disputes.dispute_states` as of the page's
date: the ledger's disputes, those opened in the workbench and recorded by the end of that
day, and the older ones logged as activities of kind ``dispute``; disputes the workbench
recorded after the as-of date are listed too, marked so (as promises logged after it are).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import traceback

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

from ..money import format_money
from . import common
from .dashboard_form import PROMISE_HORIZON_DAYS, ActivityForm
from .dashboard_view import (ALL, CSS, HISTORY_ROWS, DayView, aging_chart_png, combine_kpis,
                             css_classes, day_text, grid_html, missing_sqlite, num_text,
                             promise_text)

__all__ = ["CollectionsDashboardApp", "PROMISE_HORIZON_DAYS"]

DISPUTE_HEADER = ["Dispute", "Invoice", "Opened", "Reason", "Amount", "Currency", "Owner", "Due",
                  "Status", "Overdue"]

class CollectionsDashboardApp(ActivityForm, widgets.VBox):
    """The collections dashboard for analysts.

    Parameters
    ----------
    ledger_dir : str
        The ledger folder (``WORKBENCH_APP_LEDGER`` overrides it).
    as_of : str, optional
        As-of date (default: the ledger's last date).
    db_url : str, optional
        State database (default: ``WORKBENCH_DB_URL`` or ``data/workbench.db``).
    """

    customer_id = traitlets.Unicode(allow_none=True, default_value=None)

    def __init__(self, ledger_dir: str, as_of: str | None = None, db_url: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.add_class("wb-dash")
        self.status = css_classes(widgets.HTML(), "wb-status")
        self.ledger = None
        self.timings: dict[str, float] = {}
        try:
            self._start(ledger_dir, as_of, db_url)
        except Exception as e:  # noqa: BLE001 - shown on the page: Voila hides tracebacks
            self.status.value = common.box(f"The page could not start: {e}", "error")
            self.children = [widgets.HTML(CSS + "<h2>Collections dashboard</h2>"), self.status]
            self._trace = traceback.format_exc()
            return
        self._build()

    # ------------------------------------------------------------------ start-up
    def _start(self, ledger_dir, as_of, db_url):
        import time

        from ..aging import load_aging_policy
        from ..collections import ActivityLog, load_collections_policy
        from ..disputes import load_dispute_policy
        from ..ledger import Ledger
        from ..state import StateDB

        t0 = time.perf_counter()
        self.ledger = Ledger.load(os.environ.get("WORKBENCH_APP_LEDGER", ledger_dir))
        self.policy = load_collections_policy()
        self.aging_policy = load_aging_policy()
        self.dispute_policy = load_dispute_policy()
        self.db = None
        self._now_states = None         # disputes as known now (those recorded after the as-of)
        self.activities = self._activity_frame(None)
        D = self.ledger.require_data_by(as_of or self.ledger.last_date)
        self._views = {D: DayView(self, D)}
        self.view = self._views[D]
        self.timings["compute"] = time.perf_counter() - t0
        # who is acting: after the heavy work (a preheated kernel waits here for the page)
        self.who = common.signed_in("Logging")
        self.user, self.role = self.who.user, self.who.role
        # the state database, read after the sign-in; without a user, never created
        url = db_url or os.environ.get("WORKBENCH_DB_URL") or None
        if self.user is None and missing_sqlite(url):
            self.db = self.activity_log = None
        else:
            self.db = StateDB(url)
            self.activity_log = ActivityLog(self.db, self.ledger)
            logged = self.activity_log.frame()
            if len(logged):
                self.activities = self._activity_frame(logged)
                self._views = {D: DayView(self, D)}
                self.view = self._views[D]
            else:                       # the disputes opened in the workbench
                self.view.load_disputes(self)
        self.timings["start"] = time.perf_counter() - t0

    def _build(self):
        led, v = self.ledger, self.view
        cust = led.customers
        master_values = lambda col: sorted(  # noqa: E731
            {str(x) for x in cust.get(col, pd.Series(dtype=str)).dropna()}
            | {str(x) for x in (led.customer_changes.loc[led.customer_changes["field"] == col,
                                                         "value"] if len(led.customer_changes)
                                else [])})
        self.as_of_input = css_classes(widgets.Text(
            value=str(v.D.date()), description="As of", placeholder="YYYY-MM-DD",
            continuous_update=False, layout=widgets.Layout(width="210px")), "wb-as-of")
        self.collector = css_classes(widgets.Dropdown(options=[ALL, *master_values("collector")],
                                               value=ALL, description="Collector"), "wb-collector")
        self.segment = css_classes(widgets.Dropdown(options=[ALL, *master_values("segment")], value=ALL,
                                             description="Segment"), "wb-segment")
        self.currency = css_classes(widgets.Dropdown(options=[ALL, *led.currencies], value=ALL,
                                              description="Currency",
                                              layout=widgets.Layout(width="190px")), "wb-currency")
        for w in (self.collector, self.segment, self.currency):
            w.observe(self._on_filter, names="value")
        self.as_of_input.observe(self._on_as_of, names="value")
        self.head = widgets.HTML()
        self.tiles = css_classes(widgets.HTML(), "wb-kpi-tiles")
        self.chart = css_classes(widgets.Output(), "wb-aging-chart")
        self._charts: dict = {}         # (date, filters) -> PNG
        self.worklist_table = common.data_table(v.display, "wb-worklist", pageLength=10,
                                                classes="display compact")
        self.worklist_table.observe(self._on_select, names="selected_rows")
        self.account = css_classes(widgets.HTML(layout=widgets.Layout(flex="3 1 0", min_width="0")),
                            "wb-account")
        self.history = css_classes(widgets.HTML(), "wb-history")
        self._build_form()
        filters = css_classes(widgets.HBox([self.as_of_input, self.collector, self.segment, self.currency],
                                    layout=widgets.Layout(flex_flow="row wrap")), "wb-filters")
        self.children = [widgets.HTML(CSS), self.head, self.who.widget, filters, self.status,
                         self.tiles, self.chart, widgets.HTML("<h3>Worklist</h3>"),
                         self.worklist_table, widgets.HBox([self.account, self.form]),
                         self.history]
        self._refresh()

    def _on_as_of(self, change):
        text = (change["new"] or "").strip()
        try:
            D = pd.Timestamp(dt.date.fromisoformat(text))
        except ValueError:
            self.status.value = common.box(f"As of: enter a date as YYYY-MM-DD; got '{text}'.",
                                           "error")
            return
        try:
            import warnings
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                D = self.ledger.require_data_by(D)
            if D not in self._views:
                self._views[D] = DayView(self, D)
            self.view = self._views[D]
            self.status.value = "".join(common.box(str(w.message), "warn") for w in caught)
            self._refresh()
        except Exception as e:  # noqa: BLE001
            self.status.value = common.box(f"Could not show {text}: {e}", "error")

    def _on_filter(self, _change):
        try:
            self.status.value = ""
            self._refresh()
        except Exception as e:  # noqa: BLE001
            self.status.value = common.box(f"Could not apply the filter: {e}", "error")

    def _mask(self, frame: pd.DataFrame, customer_col: str = "customer_id") -> np.ndarray:
        """Rows of ``frame`` in the chosen collector, segment and currency (as on the date)."""
        m = np.ones(len(frame), dtype=bool)
        for w, field in ((self.collector, "collector"), (self.segment, "segment")):
            if w.value != ALL:
                m &= (frame[customer_col].map(self.view.master[field]) == w.value).to_numpy()
        if self.currency.value != ALL:
            m &= (frame["currency"] == self.currency.value).to_numpy()
        return m

    def _refresh(self):
        v = self.view
        self.visible = v.worklist[self._mask(v.worklist)].reset_index(drop=True)
        common.set_table(self.worklist_table, v.display[self._mask(v.worklist)])
        self.kpi_values = self._kpis()
        self.tiles.value = self._tiles_html(self.kpi_values)
        self.aging_values = self._aging()
        self._draw(self.aging_values)
        picked = [f"{w.description.lower()} {w.value}" for w in
                  (self.collector, self.segment, self.currency) if w.value != ALL]
        self.head.value = (f"<p class='wb-sub'>As of "
                           f"{v.D.date()} · {len(self.visible)} account(s) with open items"
                           f"{' · ' + ', '.join(map(html.escape, picked)) if picked else ''}"
                           f" · KPIs for {v.period} · policy {html.escape(self.policy.label)}</p>")
        self._select(None)

    def _kpis(self) -> pd.DataFrame:
        """The KPI rows shown: the project's :func:`workbench.kpis.kpi_table` for the period,
        grouped as the filters ask (per currency, never summed across currencies)."""
        k, col, seg = self.view.kpis, self.collector.value, self.segment.value
        if col != ALL and seg != ALL:
            rows = self.view.kpis_by_customer()
            rows = combine_kpis(rows[self._mask(rows)])
        elif col != ALL:
            rows = k["collector"][k["collector"]["collector"] == col]
        elif seg != ALL:
            rows = k["segment"][k["segment"]["segment"] == seg]
        else:
            rows = k[None]
        if self.currency.value != ALL:
            rows = rows[rows["currency"] == self.currency.value]
        return rows.reset_index(drop=True)

    def _tiles_html(self, rows: pd.DataFrame) -> str:
        if not len(rows):
            return "<p class='wb-empty'>No receivables for this selection.</p>"
        has_receipts = self.ledger.has("receipts")
        out = []
        for r in rows.to_dict("records"):
            cur = r["currency"]
            cb = r.get("countback_dso")
            tiles = [("open_ar", "Open AR", format_money(int(r["ending_ar"]), cur),
                      f"as of {self.view.D.date()}"),
                     ("dso", "DSO", num_text(r["dso"], "days"), "standard" if cb is None or pd.isna(cb)
                      else "countback " + num_text(cb, "days")),
                     ("cei", "CEI", num_text(r["cei"], "%"), "collection effectiveness"),
                     ("over_60", "Over 60 days past due", num_text(r["aging_over_60_pct"], "%"),
                      format_money(int(r["ending_over_60_ar"]), cur)),
                     ("unapplied", "Unapplied cash",
                      format_money(int(r["unapplied_cash"]), cur) if has_receipts else "n/a",
                      "beside AR, not netted" if has_receipts else "no receipts in the ledger")]
            cells = "".join(f"<div class='wb-kpi' data-kpi='{key}' data-currency='{cur}'>"
                            f"<div class='wb-kpi-label'>{html.escape(label)}</div>"
                            f"<div class='wb-kpi-value'>{html.escape(val)}</div>"
                            f"<div class='wb-kpi-sub'>{html.escape(sub)}</div></div>"
                            for key, label, val, sub in tiles)
            out.append(f"<div class='wb-kpi-row'><div class='wb-kpi-cur'>{cur}</div>{cells}</div>")
        return "".join(out)

    def _aging(self) -> pd.DataFrame:
        """Open AR per currency and aging bucket of the chosen accounts (minor units)."""
        a = self.view.aging
        labels = list(self.aging_policy.labels)
        return a[self._mask(a)].groupby("currency", sort=True)[labels].sum()

    def _draw(self, table: pd.DataFrame):
        from IPython.display import Image, display

        key = (self.view.D, self.collector.value, self.segment.value, self.currency.value)
        png = self._charts.get(key)
        if png is None and len(table):
            png = self._charts[key] = aging_chart_png(table, self.view.D)
        self.chart.clear_output(wait=True)
        with self.chart:
            if png is None:
                display(widgets.HTML("<p>No open receivables to age for this selection.</p>"))
            else:
                display(Image(png))

    # ------------------------------------------------------------------ the account
    def _on_select(self, change):
        rows = change["new"] or []
        try:
            self._select(rows[0] if rows else None)
        except Exception as e:  # noqa: BLE001
            self.status.value = common.box(f"Could not show the account: {e}", "error")

    def _select(self, pos):
        # another account (or none): the form starts empty, with no answer about the last one
        if self.user is not None:
            self.form_status.value = ""
            for w in (self.note, self.amount, self.promise_date):
                w.value = ""
            self._on_reason(None)               # the policy's owner and a fresh due date
        if pos is None or pos >= len(self.visible):
            self.customer_id = self.account_currency = None
            self.account.value = ("<p class='wb-no-account'>Pick an account in the worklist to "
                                  "see its open items, history, promises and disputes.</p>")
            self.history.value = ""
            self.invoice.options = [("Whole account", "")]
            return
        row = self.visible.iloc[pos]
        cid = row["customer_id"]
        self.customer_id = cid
        self.account_currency = self.ledger.customers.set_index("customer_id").loc[cid, "currency"]
        items = self.open_items(cid)
        self.invoice.options = [("Whole account", "")] + [
            (f"{r['Invoice']} · due {r['Due']} · {r['Open amount']} {r['Currency']}", r["Invoice"])
            for r in items.to_dict("records")]
        self.invoice.value = ""
        self._row = row
        self._show_account(items)
        self._show_history()

    def _show_account(self, items: pd.DataFrame | None = None):
        """The picked account's head and open items."""
        row, cid = self._row, self.customer_id
        items = self.open_items(cid) if items is None else items
        head = common.kv_table([
            ("Account", f"{row['customer_name']} ({cid})"),
            ("Collector / segment", f"{row.get('collector') or '-'} / {row.get('segment') or '-'}"),
            ("Open AR", format_money(int(row["open_ar"]), row["currency"])),
            ("Past due", f"{format_money(int(row['past_due_ar']), row['currency'])} (oldest "
                         f"{int(row['oldest_days_past_due'])} days)"),
            ("Stage / next action", f"{row['stage'] or '-'}: {row['next_action']}"),
            ("Why this rank", row["reasons"])], "wb-account-head")
        grid = grid_html(items.values.tolist(), list(items.columns), "wb-open-items",
                     numeric=(3, 4, 5), empty="No open items.")
        self.account.value = (f"<h3>{html.escape(str(row['customer_name']))}</h3>{head}"
                              f"<h4>Open items as of {self.view.D.date()}</h4>{grid}")

    def open_items(self, cid: str) -> pd.DataFrame:
        """The account's open items as shown: invoice, dates, days past due, open amount."""
        g = self.view.items.get(cid)
        cols = ["Invoice", "Invoice date", "Due", "Days past due", "Amount", "Open amount",
                "Currency", "In dispute"]
        if g is None or not len(g):
            return pd.DataFrame(columns=cols)
        return pd.DataFrame({
            "Invoice": g["invoice_id"].to_numpy(),
            "Invoice date": [day_text(d) for d in g["invoice_date"]],
            "Due": [day_text(d) for d in g["due_date"]],
            "Days past due": g["days_past_due"].astype(int).to_numpy(),
            "Amount": [common.money_text(a, c) for a, c in zip(g["amount_minor"], g["currency"])],
            "Open amount": [common.money_text(a, c) for a, c in zip(g["open_minor"], g["currency"])],
            "Currency": g["currency"].to_numpy(),
            "In dispute": np.where(g["invoice_id"].isin(self.view.disputed_invoices), "yes",
                                   "").tolist()}, columns=cols)

    def _show_history(self):
        cid = self.customer_id
        if cid is None:
            return
        mine = self._acts(cid).sort_values(["timestamp", "activity_id"], ascending=False,
                                           kind="stable")
        shown = mine.head(HISTORY_ROWS)
        hist = [[common.local_time(r["timestamp"]), str(r["kind"]).replace("_", " "),
                 r.get("invoice_id") or "", r.get("collector") or "", r.get("note") or "",
                 promise_text(r), "logged here" if r.get("source") == "state" else "ledger"]
                for r in shown.to_dict("records")]
        more = (f"<p class='wb-more'>Latest {HISTORY_ROWS} of {len(mine)} activities.</p>"
                if len(mine) > HISTORY_ROWS else "")
        self.history.value = (
            "<h4>Promises to pay</h4>" + grid_html(
                self.promises(cid).values.tolist(),
                ["Made", "Promised for", "Amount", "Currency", "Received", "Status"],
                "wb-promises", numeric=(2, 4), empty="No promises to pay.")
            + "<h4>Disputes</h4>" + grid_html(
                self.disputes(cid).values.tolist(), DISPUTE_HEADER,
                "wb-disputes", numeric=(4,), empty="No disputes.")
            + "<h4>Activity history</h4>" + grid_html(
                hist, ["When", "Kind", "Invoice", "Collector", "Note", "Promise", "Source"],
                "wb-history-table", empty="No activities yet.") + more)

    def promises(self, cid: str) -> pd.DataFrame:
        """The account's promises to pay with their outcome on the as-of date (kept, broken,
        open); a promise logged after the as-of date is open."""
        rows = []
        p = self.view.promises.get(cid)
        seen = set()
        if p is not None:
            for r in p.sort_values("promise_date", ascending=False).to_dict("records"):
                seen.add(r["activity_id"])
                cur = r["currency"]
                rows.append([day_text(r["made"]), day_text(r["promise_date"]),
                             common.money_text(r["promise_amount_minor"], cur), cur,
                             common.money_text(r["received_minor"], cur),
                             {"pending": "open"}.get(r["status"], r["status"])])
        acts = self._acts(cid)
        later = acts[(acts["kind"] == "promise_to_pay") & ~acts["activity_id"].isin(seen)]
        for r in later.sort_values("timestamp", ascending=False).to_dict("records"):
            cur = r.get("currency") or self.account_currency
            rows.insert(0, [day_text(r["timestamp"].tz_convert(None)), day_text(r["promise_date"]),
                            common.money_text(r["promise_amount_minor"], cur), cur, "", "open"])
        return pd.DataFrame(rows, columns=["made", "promise_date", "amount", "currency",
                                           "received", "status"])

    def disputes(self, cid: str) -> pd.DataFrame:
        """The account's disputes as of the page's date (:func:`workbench.disputes.dispute_states`:
        the ledger's, those opened in the workbench, those logged as activities), newest
        first: id, invoice, opened, reason, amount, currency, owner, due date, status and
        whether it is overdue on the as-of date. Disputes the workbench recorded after the
        as-of date come first, as known now, their status saying so."""
        D = self.view.D
        mine = self.view.disputes.get(cid)
        known = set() if mine is None else set(mine["dispute_id"])
        later = self._states_now()
        later = later[(later["customer_id"] == cid) & (later["source"] != "ledger")
                      & ~later["dispute_id"].isin(known)]
        rows = []
        for frame, after in ((later, True), (mine, False)):
            if frame is None or not len(frame):
                continue
            for r in frame.sort_values(["opened_date", "dispute_id"], ascending=False,
                                       kind="stable").to_dict("records"):
                rows.append(self._dispute_row(r, f"recorded after {D.date()}" if after else ""))
        return pd.DataFrame(rows, columns=["dispute", "invoice", "opened", "reason", "amount",
                                           "currency", "owner", "due", "status", "overdue"])

    @staticmethod
    def _dispute_row(r: dict, remark: str) -> list:
        cur = r["currency"] if isinstance(r["currency"], str) else ""
        amount = (common.money_text(r["amount_minor"], cur) if r["amount_known"] and cur
                  else "unknown")
        owner = r["owner_label"] + (f" · {r['owner_name']}" if r["owner_name"] else "")
        if not r["assigned"]:
            owner += " (policy default)"
        if not r["is_open"]:
            overdue = ""
        elif r["days_overdue"] > 0:
            overdue = f"yes, {int(r['days_overdue'])} days"
        else:
            overdue = "no"
        status = r["status_label"] + (f" ({remark})" if remark else "")
        return [r["dispute_id"], r["invoice_id"] or "", day_text(r["opened_date"]), r["reason"],
                amount, cur, owner, day_text(r["due_date"]), status, overdue]

    def _states_now(self) -> pd.DataFrame:
        """Every dispute as known now (ages to today), for those recorded after the as-of
        date; computed once until something is recorded."""
        from ..disputes import dispute_states

        if self._now_states is None:
            self._now_states = dispute_states(self.ledger, None, self.db, self.activities,
                                              self.dispute_policy)
        return self._now_states

    # ------------------------------------------------------------------ the form
    def _activity_frame(self, logged: pd.DataFrame | None) -> pd.DataFrame:
        """The ledger's activities and those logged in the state database
        (:func:`workbench.collections.merge_activities`), grouped by account once."""
        from ..collections import merge_activities

        both = merge_activities(self.ledger, logged)
        self._acts_at = both.groupby("customer_id", sort=False).indices   # once, not per pick
        return both

    def _acts(self, cid: str) -> pd.DataFrame:
        """The account's activities (ledger and logged here)."""
        return self.activities.iloc[self._acts_at.get(cid, [])]

    def _reload_activities(self):
        self.activities = self._activity_frame(self.activity_log.frame())
        self._now_states = None
        self._views = {self.view.D: self.view}     # other dates are recomputed with it
