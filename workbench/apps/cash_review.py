"""The cash-application review page: the matches a run proposes, approved, rejected or
re-pointed by the signed-in analyst, and the cash still unapplied against the posting SLA.

Everything recorded goes through :mod:`workbench.cashapp.posting` (the same one-transaction
checks as ``workbench cashapp post``); who acts comes from the sign-in, never from the page.
Voila hides tracebacks, so every failure is shown on the page in plain words.
"""

from __future__ import annotations

import hashlib
import html
import os
import uuid
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pandas as pd

from ..money import MoneyError, format_amount, format_money, parse_amount
from .cash_runs import (PENDING, POSTED, REJECTED, _base, _short, list_runs,
                        match_lines, read_run, unapplied_cash)
from .common import box, data_table, local_time, money_text, set_table, signed_in

__all__ = ["CashReviewApp", "list_runs", "match_lines", "unapplied_cash"]


class CashReviewApp(widgets.VBox):
    """Cash-application review for analysts.

    Parameters
    ----------
    ledger_dir : str
        The ledger folder (``WORKBENCH_APP_LEDGER`` overrides it).
    runs_dir : str
        The folder of cash application runs (``WORKBENCH_APP_CASHAPP_RUNS`` overrides it);
        the latest run is the one whose summary.json was written last.
    db_url : str, optional
        State database (default: ``WORKBENCH_DB_URL`` or ``data/workbench.db``).
    """

    def __init__(self, ledger_dir: str, runs_dir: str, db_url: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.status = widgets.HTML()
        self.status.add_class("wb-status")
        self.form_status = widgets.HTML()
        self.form_status.add_class("wb-form-status")
        self.user = None
        self.run = None
        self._cache: dict = {}          # the repeated run and ledger facts, for this page
        self._page = uuid.uuid4().hex
        head = widgets.HTML("")      # the notebook's title heads the page
        try:
            from ..ledger import Ledger
            from ..state import StateDB

            ledger_dir = os.environ.get("WORKBENCH_APP_LEDGER", ledger_dir)
            self.runs_dir = Path(os.environ.get("WORKBENCH_APP_CASHAPP_RUNS", runs_dir))
            self.ledger = Ledger.load(ledger_dir)
            self.db = StateDB(db_url)
            bal = self.ledger.balances(self.ledger.last_date)
            self.open_now = bal.set_index("invoice_id")["open_minor"]
            names = self.ledger.customers.set_index("customer_id")["name"]
            self.invoices = self.ledger.invoices.set_index("invoice_id")[["customer_id", "currency"]]
            self.invoices = self.invoices.assign(name=self.invoices["customer_id"].map(names).fillna(""))
            runs = list_runs(self.runs_dir)
            if runs:
                self.run = read_run(runs[0])
        except Exception as e:  # noqa: BLE001 - shown on the page: Voila hides tracebacks
            self.status.value = box(f"The page could not start: {e}", "error")
            self.children = [head, self.status]
            return
        if self.run is None:
            self.status.value = box(
                f"No cash application run in {self.runs_dir}. Make one with: workbench cashapp "
                f"--ledger {ledger_dir} --bank STATEMENTS --out {self.runs_dir}/<name> "
                f"(make serve makes the demo run).", "info")
            self.children = [head, self.status]
            return
        # who acts: from the sign-in, after the slow start-up (a preheated kernel waits here)
        self.who = signed_in("Approving")
        self.user = self.who.user
        self._build(head, runs)
        self._refresh()

    # ------------------------------------------------------------------ layout
    def _build(self, head, runs):
        W = widgets.Layout
        self.run_pick = widgets.Dropdown(options=[(p.name, str(p)) for p in runs],
                                         value=str(runs[0]), description="Run",
                                         layout=W(width="340px"))
        self.run_pick.add_class("wb-run")
        self.run_pick.observe(self._on_run, names="value")
        self.run_info = widgets.HTML()
        self.run_info.add_class("wb-run-info")
        self.table = data_table(self._empty(), "wb-matches", select="multi", order=[],
                                style="width:100%;font-size:12px")
        self.table.observe(self._on_select, names="selected_rows")
        self.details = widgets.HTML()
        self.details.add_class("wb-selected")
        self.reason = widgets.Text(description="Reason", placeholder="why (required to reject "
                                   "or re-point)", layout=W(width="520px"))
        self.reason.add_class("wb-reason")
        b = lambda text, style, cls, fn: self._button(text, style, cls, fn)  # noqa: E731
        self.approve_btn = b("Approve and post", "success", "wb-approve", self._on_approve)
        self.reject_btn = b("Reject", "danger", "wb-reject", self._on_reject)
        self.search = widgets.Text(description="Invoice", placeholder="number, or empty: the "
                                   "customer's open invoices", layout=W(width="420px"))
        self.search.add_class("wb-invoice-search")
        self.search.observe(lambda _c: self._fill_invoices(), names="value")
        self.invoice_pick = widgets.Dropdown(options=[], layout=W(width="520px"))
        self.invoice_pick.add_class("wb-invoice")
        self.amount = widgets.Text(description="Amount", placeholder="e.g. 120.50",
                                   layout=W(width="240px"))
        self.amount.add_class("wb-amount")
        self.add_btn = b("Add line", "", "wb-add-line", self._on_add)
        self.clear_btn = b("Clear lines", "", "wb-clear-lines", self._on_clear)
        self.repoint_btn = b("Post re-point", "primary", "wb-repoint", self._on_repoint)
        self.repoint_lines: list[dict] = []
        self.lines_view = widgets.HTML()
        self.lines_view.add_class("wb-repoint-lines")
        self.unapplied = data_table(self._empty(), "wb-unapplied", select=True,
                                    style="width:100%;font-size:12px")
        self.unapplied.observe(self._on_select_unapplied, names="selected_rows")
        self._repoint_from = "matches"
        self.unapplied_info = widgets.HTML()
        for w in (self.approve_btn, self.reject_btn, self.add_btn, self.clear_btn, self.repoint_btn):
            w.disabled = self.user is None
        card = W(border="1px solid #d0d7de", padding="8px 12px", margin="8px 0")
        actions = widgets.VBox([
            widgets.HTML("<h3 style='margin:4px 0'>Act on the selected lines</h3>"),
            self.who.widget, self.details, self.reason,
            widgets.HBox([self.approve_btn, self.reject_btn]),
            widgets.HTML("<h4 style='margin:10px 0 4px'>Re-point the selected receipt to other "
                         "invoices</h4>"),
            widgets.HBox([self.search, self.invoice_pick]),
            widgets.HBox([self.amount, self.add_btn, self.clear_btn]), self.lines_view,
            self.repoint_btn, self.form_status], layout=card)
        self.children = [head, widgets.HBox([self.run_pick, self.run_info]), self.status,
                         widgets.HTML("<h3>Matches</h3><p style='margin:0'>Select lines "
                                      "(Ctrl/Shift-click for several); search filters every "
                                      "column.</p>"),
                         self.table, actions, widgets.HTML("<h3>Unapplied cash</h3>"),
                         self.unapplied_info, self.unapplied]

    def _button(self, text, style, cls, fn):
        w = widgets.Button(description=text, button_style=style,
                           layout=widgets.Layout(width="auto", min_width="140px"))
        w.add_class(cls)
        w.on_click(lambda _b: self._guard(fn))
        return w

    @staticmethod
    def _empty():
        return pd.DataFrame({"Status": []})

    # ------------------------------------------------------------------ data
    def _refresh(self, keep: list[tuple[str, str]] | None = None):
        """Read what is posted/rejected now and redraw both tables (selection kept by line)."""
        run = self.run
        rows = [r for r in self.db.rows("cash_matches") if r["status"] in (POSTED, REJECTED)]
        lines = match_lines(run["apps"], rows)
        # pending suggestions first, then pending auto lines, posted, rejected (stable)
        rank = lines["state"].map({PENDING: 0, POSTED: 2, REJECTED: 3}) + \
            ((lines["state"] == PENDING) & (lines["status"] == "auto")).astype(int)
        self.lines = lines.iloc[np.argsort(rank.to_numpy(), kind="stable")].reset_index(drop=True)
        self.posted_by_invoice = pd.Series(
            [int(r["amount_minor"]) for r in rows if r["status"] == POSTED],
            index=[r["invoice_id"] for r in rows if r["status"] == POSTED],
            dtype="int64").groupby(level=0).sum()
        self.view = self._matches_view(self.lines)
        set_table(self.table, self.view)
        if keep:
            pairs = list(zip(self.lines["receipt_id"], self.lines["invoice_id"]))
            self.table.selected_rows = [pairs.index(p) for p in keep if p in pairs]
        un = unapplied_cash(run["receipts"], self.lines, run["as_of"], run["sla"])
        self.unapplied_frame = un
        set_table(self.unapplied, self._unapplied_view(un))
        s = run["summary"]
        counts = self.lines["state"].value_counts()
        self.run_info.value = (
            f"<span style='margin-left:12px'>as of <b>{html.escape(run['as_of'])}</b> · "
            f"{s.get('receipts', 0)} receipt(s) · {counts.get(PENDING, 0)} line(s) pending · "
            f"{counts.get(POSTED, 0)} posted · {counts.get(REJECTED, 0)} rejected · policy "
            f"{html.escape(run['policy'])}</span>")
        over = int(un["over_sla"].sum()) if len(un) else 0
        self.unapplied_info.value = (
            f"<p style='margin:0'>{len(un)} receipt(s) with cash unapplied; age in business days "
            f"from receipt to the run's date {html.escape(run['as_of'])}; posting SLA "
            f"{run['sla']} business day(s); <b style='color:#a40000'>{over} over the SLA</b>.</p>")
        self._on_select(None)

    def open_left(self, invoice_id: str) -> int:
        """What is still open on an invoice: the ledger's open balance less every posted line."""
        return int(self.open_now.get(invoice_id, 0)) - int(self.posted_by_invoice.get(invoice_id, 0))

    def receipt_left(self, receipt_id: str) -> int:
        """What is left of a receipt to apply: its run amount less every posted line."""
        rec = self.run["receipts"]
        amount = int(rec.loc[rec["receipt_id"] == receipt_id, "amount_minor"].sum())
        lines = self.lines
        done = lines[(lines["state"] == POSTED) & (lines["receipt_id"].map(_base) == _base(receipt_id))]
        return amount - int(done["amount_minor"].sum())

    def _matches_view(self, lines: pd.DataFrame) -> pd.DataFrame:
        rec = self.run["receipts"].set_index("receipt_id")
        inv = self.invoices
        state = {PENDING: "pending", POSTED: "posted", REJECTED: "rejected"}
        return pd.DataFrame({
            "Status": [f"{state[s]} ({st})" if s == PENDING else state[s]
                       for s, st in zip(lines["state"], lines["status"])],
            "Receipt": lines["receipt_id"],
            "Received": lines["receipt_id"].map(rec["receipt_date"]).fillna(""),
            "Payer": [_short(x, 24) for x in lines["receipt_id"].map(rec["payer_name"]).fillna("")],
            "Reference": [_short(x, 22) for x in lines["receipt_id"].map(rec["reference"]).fillna("")],
            "Receipt amount": [money_text(rec["amount_minor"].get(r), c)
                               for r, c in zip(lines["receipt_id"], lines["currency"])],
            "Invoice": lines["invoice_id"],
            "Customer": [_short(x, 24) for x in lines["invoice_id"].map(inv["name"]).fillna("")],
            "Open on invoice": [money_text(self.open_left(i), c)
                                for i, c in zip(lines["invoice_id"], lines["currency"])],
            "Apply": [money_text(a, c) for a, c in zip(lines["amount_minor"], lines["currency"])],
            "Currency": lines["currency"],
            "Rule": lines["rule"],
            "Conf.": [f"{float(c):.0%}" if c != "" else "" for c in lines["confidence"]],
            "By, when": [f"{b}, {local_time(t)}" if b else "" for b, t in zip(lines["by"], lines["at"])],
        })

    @staticmethod
    def _unapplied_view(un: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({
            "Receipt": un["receipt_id"], "Received": un["receipt_date"],
            "Payer": un["payer_name"], "Reference": un["reference"],
            "Receipt amount": [money_text(a, c) for a, c in zip(un["amount_minor"], un["currency"])],
            "Unapplied": [money_text(a, c) for a, c in zip(un["unapplied_minor"], un["currency"])],
            "Awaiting review": [money_text(a, c) for a, c in zip(un["waiting_minor"], un["currency"])],
            "Currency": un["currency"],
            "Age (business days)": un["age"].astype(int) if len(un) else [],
            "Over SLA": ["OVER SLA" if o else "" for o in un["over_sla"]]})

    def selected(self) -> pd.DataFrame:
        """The lines selected in the table (rows of :attr:`lines`)."""
        pos = [p for p in self.table.selected_rows if 0 <= p < len(self.lines)]
        return self.lines.iloc[pos]

    # ------------------------------------------------------------------ events
    def _guard(self, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - shown under the buttons: Voila hides tracebacks
            self.form_status.value = box(f"Not recorded: {e}", "error")

    def _key(self, action: str, *parts) -> str:
        """One idempotency key per action instance: the same action on the same lines from
        this page (a double-click) carries the same key and is recorded once."""
        text = "|".join(map(str, (self.run["dir"], action, *parts)))
        return f"cash-review:{self._page}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"

    def _can_act(self) -> bool:
        if self.user is None:
            self.form_status.value = box("Read only: no signed-in user. Open this page through "
                                         "workbench serve to approve, reject or re-point.", "error")
            return False
        return True

    def _on_run(self, change):
        try:
            self.run = read_run(Path(change["new"]))
            self._cache.clear()
            self.repoint_lines = []
            self._show_lines()
            self.form_status.value = ""
            self._refresh()
            self.status.value = ""
        except Exception as e:  # noqa: BLE001
            self.status.value = box(f"The run {change['new']} cannot be read: {e}", "error")

    def _on_select(self, change):
        if change is not None and change["new"]:
            self._repoint_from = "matches"
        sel = self.selected()
        if not len(sel):
            self.details.value = "<p class='wb-hint'>No line selected.</p>"
        else:
            parts = []
            for cur, g in sel.groupby("currency"):
                parts.append(f"{format_amount(int(g['amount_minor'].sum()), cur, thousands=True)} {cur}")
            reasons = "".join(f"<li><b>{html.escape(r.receipt_id)} → {html.escape(r.invoice_id)}"
                              f"</b>: {html.escape(r.reason or r.note)}</li>"
                              for r in sel.head(5).itertuples(index=False))
            self.details.value = (f"<p><b>{len(sel)}</b> line(s) selected, {', '.join(parts)}"
                                  f"</p><ul style='margin:0'>{reasons}</ul>")
        self._fill_invoices()

    def _on_select_unapplied(self, change):
        if not change["new"]:
            return
        self._repoint_from = "unapplied"
        rid = self._unapplied_receipt()
        if rid is not None:
            un = self.unapplied_frame.set_index("receipt_id")
            cur = un.at[rid, "currency"]
            self.details.value = (
                f"<p>Receipt <b>{html.escape(rid)}</b> from {html.escape(un.at[rid, 'payer_name'])}"
                f": {money_text(un.at[rid, 'unapplied_minor'], cur)} {cur} unapplied. Re-point it "
                f"to invoices below.</p>")
        self._fill_invoices()

    def _unapplied_receipt(self):
        pos = [p for p in self.unapplied.selected_rows if 0 <= p < len(self.unapplied_frame)]
        return self.unapplied_frame["receipt_id"].iloc[pos[0]] if pos else None

    def _fill_invoices(self):
        """The invoice choices: those whose number holds the search text, else the open
        invoices of the customer of the selected line (or of the receipt, when known),
        largest first."""
        sel = self.selected()
        text = self.search.value.strip().upper()
        inv = self.invoices
        cust = None
        if self._repoint_from == "unapplied":
            rid = self._unapplied_receipt()
            if rid is not None:
                rec = self.run["receipts"]
                cust = rec.loc[rec["receipt_id"] == rid, "customer_id"].iloc[0] or None
        elif len(sel):
            cust = inv["customer_id"].get(sel["invoice_id"].iloc[0])
        if text:
            ids = [i for i in inv.index if text in i.upper()][:50]
        elif cust is not None:
            ids = [i for i in inv.index[inv["customer_id"] == cust] if self.open_left(i) > 0]
            ids = sorted(ids, key=lambda i: -self.open_left(i))[:50]
        else:
            ids = []
        self.invoice_pick.options = [
            (f"{i} · {inv.at[i, 'name']} · open {money_text(self.open_left(i), inv.at[i, 'currency'])} "
             f"{inv.at[i, 'currency']}", i) for i in ids]
        self.invoice_pick.value = ids[0] if ids else None

    def _on_approve(self):
        from ..cashapp.posting import PostingError, post_matches

        if not self._can_act():
            return
        sel = self.selected()
        if not len(sel):
            self.form_status.value = box("Select the lines to approve first.", "error")
            return
        sel = sel[sel["state"] == PENDING]
        if not len(sel):
            self.form_status.value = box("The selected line(s) are posted or rejected already: "
                                         "nothing to approve.", "info")
            return
        pairs = [(r, i) for r, i, st in zip(sel["receipt_id"], sel["invoice_id"], sel["status"])
                 if st != "manual"]
        try:
            res = post_matches(self.run["dir"], self.ledger, self.user, self.db,
                               ("auto", "suggested"), lines=pairs,
                               idempotency_key=self._key("approve", sorted(pairs)),
                               cache=self._cache)
        except PostingError as e:
            self.form_status.value = self._problems(e)
            return
        msg = f"{res['posted']} line(s) posted, approved by {self.user}."
        if res["already_posted"] or res["rejected"]:
            msg += (f" {res['already_posted']} already posted, {res['rejected']} rejected "
                    f"earlier: nothing recorded again for them.")
        self._refresh()                   # done lines leave the selection
        self.form_status.value = box(msg, "ok")

    def _on_reject(self):
        from ..cashapp.posting import PostingError, reject_matches

        if not self._can_act():
            return
        sel = self.selected()
        if not len(sel):
            self.form_status.value = box("Select the lines to reject first.", "error")
            return
        if not self.reason.value.strip():
            self.form_status.value = box("Say why the lines are rejected (Reason).", "error")
            return
        posted = sel[sel["state"] == POSTED]
        if len(posted):
            self.form_status.value = box(
                f"{len(posted)} selected line(s) are posted already: a posted line is reversed "
                f"in the ERP, not rejected here. Select pending lines only.", "error")
            return
        sel = sel[sel["state"] == PENDING]
        if not len(sel):
            self.form_status.value = box("The selected line(s) are rejected already.", "info")
            return
        pairs = list(zip(sel["receipt_id"], sel["invoice_id"]))
        try:
            res = reject_matches(self.run["dir"], self.user, pairs, self.db, self.reason.value,
                                 self.ledger, self._key("reject", sorted(pairs), self.reason.value),
                                 cache=self._cache)
        except PostingError as e:
            self.form_status.value = self._problems(e, "Nothing rejected")
            return
        msg = f"{res['rejected']} line(s) rejected by {self.user}: the cash stays unapplied."
        if res["already_rejected"]:
            msg += f" {res['already_rejected']} rejected already."
        self._refresh()
        self.form_status.value = box(msg, "ok")

    def _repoint_receipt(self):
        if self._repoint_from == "unapplied":
            rid = self._unapplied_receipt()
            if rid is None:
                raise ValueError("select a receipt of the unapplied list, or a line, to re-point")
            return rid
        sel = self.selected()
        receipts = sel["receipt_id"].unique()
        if len(receipts) != 1:
            raise ValueError("select the line(s) of one receipt to re-point it"
                             if len(receipts) else "select a line of the receipt to re-point")
        return receipts[0]

    def _on_add(self):
        if not self._can_act():
            return
        try:
            rid = self._repoint_receipt()
        except ValueError as e:
            self.form_status.value = box(str(e), "error")
            return
        if self.repoint_lines and self.repoint_lines[0]["receipt_id"] != rid:
            self.repoint_lines = []
        iid = self.invoice_pick.value
        problem = self.check_line(rid, iid, self.amount.value)
        if problem:
            self.form_status.value = box(f"Line not added: {problem}", "error")
            return
        self.repoint_lines.append({"receipt_id": rid, "invoice_id": iid,
                                   "amount": self.amount.value.strip()})
        self.repoint_btn.disabled = False
        self.amount.value = ""
        self._show_lines()
        self.form_status.value = box(f"Line added: {rid} → {iid}. Post the re-point when the "
                                     f"lines are complete.", "info")

    def check_line(self, rid: str, iid, text: str) -> str | None:
        """Why a re-point line cannot be posted (None when it can), after the lines added
        before: amount exact in the receipt's currency, currencies agree, not above what is
        left of the receipt nor above what is open on the invoice."""
        rec = self.run["receipts"]
        cur = rec.loc[rec["receipt_id"] == rid, "currency"].iloc[0]
        if not iid:
            return "choose an invoice"
        inv_cur = self.invoices.at[iid, "currency"]
        if inv_cur != cur:
            return f"the receipt is in {cur}, invoice {iid} in {inv_cur}: currencies must agree"
        try:
            amount = parse_amount(text.strip(), cur)
        except MoneyError as e:
            return f"amount {text!r}: {e}"
        if amount <= 0:
            return "the amount must be more than zero"
        before = [parse_amount(x["amount"], cur) for x in self.repoint_lines]
        left = self.receipt_left(rid) - sum(before)
        if amount > left:
            return (f"{format_money(amount, cur)} is more than the "
                    f"{format_money(left, cur)} left of receipt {rid}")
        open_left = self.open_left(iid) - sum(b for b, x in zip(before, self.repoint_lines)
                                              if x["invoice_id"] == iid)
        if amount > open_left:
            return (f"{format_money(amount, cur)} is more than the "
                    f"{format_money(open_left, cur)} open on invoice {iid}")
        return None

    def _show_lines(self):
        if not self.repoint_lines:
            self.lines_view.value = "<p class='wb-hint' style='margin:2px 0'>No re-point line yet.</p>"
            return
        body = "".join(f"<tr><td>{html.escape(x['receipt_id'])}</td><td>{html.escape(x['invoice_id'])}"
                       f"</td><td style='text-align:right'>{html.escape(x['amount'])}</td></tr>"
                       for x in self.repoint_lines)
        self.lines_view.value = ("<table class='wb-repoint-table'><tr><th>Receipt</th><th>Invoice"
                                 f"</th><th>Amount</th></tr>{body}</table>")

    def _on_clear(self):
        self.repoint_lines = []
        self._show_lines()
        self.form_status.value = ""

    def _on_repoint(self):
        from ..cashapp.posting import PostingError, post_manual

        if not self._can_act() or self.repoint_btn.disabled:
            return                       # a second click of a re-point just posted
        if not self.repoint_lines:
            self.form_status.value = box("Add at least one invoice line to re-point to.", "error")
            return
        if not self.reason.value.strip():
            self.form_status.value = box("Say why the receipt is re-pointed (Reason).", "error")
            return
        rid = self.repoint_lines[0]["receipt_id"]
        lines = self.lines
        replaced = [(r, i) for r, i, s, st in zip(lines["receipt_id"], lines["invoice_id"],
                                                   lines["state"], lines["status"])
                    if r == rid and s == PENDING and st != "manual"]
        key = self._key("repoint", [sorted(x.items()) for x in self.repoint_lines], self.reason.value)
        try:
            res = post_manual(self.run["dir"], self.ledger, self.user, self.repoint_lines, self.db,
                              self.reason.value, key, rejects=replaced, cache=self._cache)
        except PostingError as e:
            self.form_status.value = self._problems(e)
            return
        if res["already_recorded"]:
            self.form_status.value = box("This re-point was recorded already: nothing recorded "
                                         "again.", "ok")
        else:
            self.form_status.value = box(
                f"Receipt {rid} re-pointed: {res['posted']} line(s) posted by {self.user}"
                + (f"; {res['rejected']} suggested line(s) it replaces marked rejected."
                   if res["rejected"] else "."), "ok")
        self.repoint_lines = []
        self.repoint_btn.disabled = True
        self._show_lines()
        self._refresh()

    @staticmethod
    def _problems(e, what: str = "Nothing posted") -> str:
        items = "".join(f"<li>{html.escape(p)}</li>" for p in e.problems)
        head = box(f"{what}: {len(e.problems)} line(s) cannot be recorded.", "error")
        return head + f"<ul class='wb-problems' style='margin:0;color:#a40000'>{items}</ul>"
