"""The dashboard's form: log a call or a promise to pay, or open a dispute (reason, owner,
due date from the dispute policy), validated, as the signed-in user, recorded once per
submission."""

from __future__ import annotations

import datetime as dt
import html
import uuid

import ipywidgets as widgets

from ..money import MoneyError, format_amount, format_money, parse_amount
from . import common
from .dashboard_view import KINDS, css_classes

# a promise to pay further out than this is not a promise (a payment plan is the tool)
PROMISE_HORIZON_DAYS = 180


class ActivityForm:
    """The logging form of :class:`workbench.apps.collections_dashboard.CollectionsDashboardApp` (a mixin: it uses the app's ledger, user, database and
    selection)."""

    def _build_form(self):
        self.kind = css_classes(widgets.Dropdown(options=KINDS, value="call", description="Log a"),
                         "wb-kind")
        self.invoice = css_classes(widgets.Dropdown(options=[("Whole account", "")], value="",
                                             description="Invoice",
                                             layout=widgets.Layout(width="95%")), "wb-invoice")
        self.promise_date = css_classes(widgets.Text(description="Promised on", placeholder="YYYY-MM-DD"),
                                 "wb-promise-date")
        self.amount = css_classes(widgets.Text(description="Amount", placeholder="e.g. 1250.00"),
                           "wb-amount")
        dpol = self.dispute_policy
        self.reason = css_classes(widgets.Dropdown(
            options=[(dpol.reason_label(code), code) for code in dpol.reasons],
            description="Reason", layout=widgets.Layout(width="95%")), "wb-reason")
        self.owner = css_classes(widgets.Dropdown(
            options=[(dpol.owner_label(o), o) for o in dpol.owners], description="Owner",
            layout=widgets.Layout(width="95%")), "wb-owner")
        self.due = css_classes(widgets.Text(description="Due by", placeholder="YYYY-MM-DD"),
                               "wb-due")
        self.dispute_hint = css_classes(widgets.HTML(), "wb-dispute-policy")
        self.reason.observe(self._on_reason, names="value")
        self.owner.observe(lambda _c: self._default_due(), names="value")
        self.note = css_classes(widgets.Textarea(description="Note", placeholder="what was said / agreed",
                                          layout=widgets.Layout(width="95%", height="70px")),
                         "wb-note")
        self.submit = css_classes(widgets.Button(description="Record", button_style="primary"),
                           "wb-submit")
        self.submit.on_click(self._on_submit)
        self.form_status = css_classes(widgets.HTML(), "wb-form-status")
        self.kind.observe(lambda _c: self._show_fields(), names="value")
        self._form_key = uuid.uuid4().hex
        self._last_ok = None            # (what was submitted, its key, its time, its id)
        fields = [self.kind, self.invoice, self.promise_date, self.amount, self.reason,
                  self.owner, self.due, self.note]
        for w in fields:
            w.style.description_width = "90px"
        read_only = self.user is None
        for w in (*fields, self.submit):
            w.disabled = read_only
        if read_only:
            self.form_status.value = common.box("Read only: no signed-in user, so nothing can be "
                                                "recorded here.", "info")
        self.form = css_classes(widgets.VBox(
            [widgets.HTML("<h3>Log an activity</h3>"), *fields[:-1], self.dispute_hint,
             fields[-1], self.submit, self.form_status],
            layout=widgets.Layout(flex="2 1 0", min_width="0", margin="0 0 0 16px")),
            "wb-log-form")
        self._on_reason(None)
        self._show_fields()

    def _show_fields(self):
        kind = self.kind.value
        self.promise_date.layout.display = None if kind == "promise_to_pay" else "none"
        self.amount.layout.display = None if kind in ("promise_to_pay", "dispute") else "none"
        self.amount.description = "Disputed" if kind == "dispute" else "Amount"
        for w in (self.reason, self.owner, self.due, self.dispute_hint):
            w.layout.display = None if kind == "dispute" else "none"

    # a dispute's owner and due date default from the dispute policy
    @staticmethod
    def _today_utc() -> dt.date:
        """Today as :class:`workbench.disputes.DisputeBook` counts it (UTC): a dispute opened
        now is opened on this day."""
        return dt.datetime.now(dt.timezone.utc).date()

    def policy_due(self, owner: str, reason: str) -> dt.date:
        """The policy's due date of a dispute opened today: today (UTC) + the reason's days,
        else the owner's."""
        return self._today_utc() + dt.timedelta(days=self.dispute_policy.due_days(owner, reason))

    def _on_reason(self, _change):
        """Another reason: its owner and the due date of the policy."""
        if self.reason.value is None:
            return
        owner = self.dispute_policy.owner_for(self.reason.value)
        if self.owner.value != owner:
            self.owner.value = owner            # its observer sets the due date
        else:
            self._default_due()

    def _default_due(self):
        reason, owner = self.reason.value, self.owner.value
        if reason is None or owner is None:
            return
        pol = self.dispute_policy
        days = pol.due_days(owner, reason)
        due = self.policy_due(owner, reason)
        self.due.value = str(due)
        default = pol.owner_for(reason)
        whose = ("the reason's owner" if owner == default
                 else f"changed from {pol.owner_label(default)}")
        self.dispute_hint.value = (
            f"<p class='wb-sub'>Owner {html.escape(pol.owner_label(owner))} ({whose}); due "
            f"{days} days after it is opened: {due} (policy {html.escape(pol.label)}).</p>")

    # ------------------------------------------------------------------ filters
    def _fingerprint(self) -> tuple:
        return (self.customer_id, self.kind.value, self.invoice.value,
                self.promise_date.value.strip(), self.amount.value.strip(), self.note.value.strip(),
                self.reason.value, self.owner.value, self.due.value.strip())

    def validate(self) -> dict:
        """The form's values checked; raises ValueError with the message for the page."""
        if self.user is None:
            raise ValueError("Read only: no signed-in user, so nothing can be recorded here.")
        cid = self.customer_id
        if cid is None:
            raise ValueError("Pick an account in the worklist first.")
        kind, inv, note = self.kind.value, self.invoice.value or None, self.note.value.strip()
        items = self.view.items.get(cid)
        if inv:
            sel = items[items["invoice_id"] == inv]
            cur, balance, what = sel["currency"].iloc[0], int(sel["open_minor"].sum()), f"invoice {inv}"
        else:
            cur = self.account_currency
            balance = 0 if items is None else int(items.loc[items["currency"] == cur, "open_minor"].sum())
            what = "the account"
        out = {"customer_id": cid, "kind": kind, "invoice_id": inv, "currency": cur}
        if kind == "dispute" and not inv:
            raise ValueError("Pick the disputed invoice.")
        if kind == "call" and not note:
            raise ValueError("Write a note: what was said on the call.")
        amount_text = self.amount.value.strip()
        if kind in ("promise_to_pay", "dispute") and not amount_text:
            what_amount = "promised" if kind == "promise_to_pay" else "disputed"
            raise ValueError(f"Amount: enter the {what_amount} amount in {cur}.")
        if kind in ("promise_to_pay", "dispute") and amount_text:
            try:
                minor = parse_amount(amount_text, cur)
            except MoneyError as e:
                raise ValueError(f"Amount: {e}.") from None
            if minor <= 0:
                raise ValueError("Amount: must be more than zero.")
            if minor > balance:
                raise ValueError(f"Amount {format_money(minor, cur)} is more than the open balance "
                                 f"of {what}: {format_money(balance, cur)}.")
            out["minor"] = minor
        if kind == "promise_to_pay":
            text = self.promise_date.value.strip()
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"Promise date: enter a date as YYYY-MM-DD; got '{text}'.") from None
            today = dt.datetime.now(common.local_zone()).date()
            if day < today:
                raise ValueError(f"Promise date {day} is in the past (today is {today}).")
            if (day - today).days > PROMISE_HORIZON_DAYS:
                raise ValueError(f"Promise date {day} is more than {PROMISE_HORIZON_DAYS} days "
                                 f"ahead: agree a payment plan instead of a promise to pay.")
            out.update(promise_date=str(day), promise_amount=amount_text)
        if kind == "dispute":
            out.update(self._dispute_fields(), amount=format_amount(out["minor"], cur))
        out["note"] = note or None
        return out

    def _dispute_fields(self) -> dict:
        """Reason, owner and due date of a dispute, checked against the dispute policy."""
        pol = self.dispute_policy
        reason, owner = self.reason.value, self.owner.value
        if reason not in pol.reasons:
            raise ValueError("Reason: pick the reason of the dispute.")
        if owner not in pol.owners:
            raise ValueError("Owner: pick who owns the dispute.")
        text = self.due.value.strip()
        try:
            due = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"Due date: enter a date as YYYY-MM-DD; got '{text}'.") from None
        today = self._today_utc()
        if due < today:
            raise ValueError(f"Due date {due} is in the past (today is {today}).")
        return {"reason_code": reason, "owner": owner, "due_date": str(due)}

    def _on_submit(self, _button):
        try:
            v = self.validate()
        except ValueError as e:
            self.form_status.value = common.box(str(e), "error")
            return
        fp = self._fingerprint()
        again = self._last_ok is not None and self._last_ok[0] == fp
        key, at = ((self._last_ok[1], self._last_ok[2]) if again else
                   (self._form_key, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
        if v["kind"] == "dispute":
            self._open_dispute(v, fp, key, at, again)
            return
        try:
            rid = self.activity_log.add(
                v["customer_id"], v["kind"], self.user, at=at, invoice_id=v["invoice_id"],
                note=v["note"], promise_date=v.get("promise_date"),
                promise_amount=v.get("promise_amount"), actor=self.user, idempotency_key=key)
        except Exception as e:  # noqa: BLE001
            self.form_status.value = common.box(f"Not recorded: {e}", "error")
            return
        if self._sent_twice(again, "activity", rid, fp, key, at):
            return
        what = {k: label.lower() for label, k in KINDS}[v["kind"]]
        if v["kind"] == "promise_to_pay":
            what += f" of {format_money(v['minor'], v['currency'])} by {v['promise_date']}"
        self.form_status.value = common.box(f"Recorded {what} for {v['customer_id']} "
                                            f"(activity {rid}), by {self.user}.", "ok")
        self._reload_activities()
        self._show_history()

    def _sent_twice(self, again: bool, what: str, rid, fp: tuple, key: str, at: str) -> bool:
        """After a record call: the same submission sent again says so (True); a new one
        is remembered and the next entry gets a new key (False)."""
        if again:
            self.form_status.value = common.box(f"Already recorded as {what} {rid}: the same "
                                                f"submission was sent twice.", "ok")
            return True
        self._last_ok = (fp, key, at, rid)
        self._form_key = uuid.uuid4().hex           # the next entry is a new submission
        return False

    def _open_dispute(self, v: dict, fp: tuple, key: str, at: str, again: bool):
        """Open the dispute through :meth:`workbench.disputes.DisputeBook.open` (the signed-in
        user as actor); the same key sent again returns the dispute it opened, recording
        nothing."""
        from ..disputes import DisputeBook

        # a book per submission: its "today" (opened day, due dates) is the day of the click
        book = DisputeBook(self.db, self.ledger, self.dispute_policy, activities=self.activities)
        try:
            did = book.open(v["invoice_id"], v["amount"], v["reason_code"], actor=self.user,
                            owner=v["owner"], due_date=v["due_date"], note=v["note"],
                            idempotency_key=key)
        except Exception as e:  # noqa: BLE001
            self.form_status.value = common.box(f"Not recorded: {e}", "error")
            return
        if self._sent_twice(again, "dispute", did, fp, key, at):
            return
        pol = self.dispute_policy
        self.form_status.value = common.box(
            f"Opened dispute {did} on invoice {v['invoice_id']} for "
            f"{format_money(v['minor'], v['currency'])} ({pol.reason_label(v['reason_code'])}), "
            f"owner {pol.owner_label(v['owner'])}, due {v['due_date']}, by {self.user}.", "ok")
        self._now_states = None
        self.view.load_disputes(self)
        self._views = {self.view.D: self.view}     # other dates are recomputed with it
        self._show_account()
        self._show_history()

