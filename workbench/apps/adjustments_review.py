"""The managers' adjustments review page: the credit memos and write-offs proposed (with their
evidence and the approval level each amount needs against the signed-in user's authority),
approved, refused or withdrawn here, and what was decided before, with who and when.

Everything recorded goes through :mod:`workbench.adjustments` (the same checks as
``workbench adjustments approve|refuse|withdraw``: authority limits, segregation of duties,
the amount still open on the invoice, one decision per adjustment). Who acts, and with what
authority, comes from the sign-in (``workbench serve``) and the roles file, never from the
page. Voila hides tracebacks, so every failure is shown on the page in plain words.
"""

from __future__ import annotations

import html
import json
import os

import ipywidgets as widgets
import pandas as pd
import traitlets

from ..money import format_money
from .common import (
    box,
    data_table,
    kv_table,
    local_time,
    money_text,
    set_table,
    signed_in,
)

__all__ = ["KIND_WORDS", "SOURCE_WORDS", "STATUS_WORDS", "AdjustmentsReviewApp"]

KIND_WORDS = {"credit_memo": "Credit memo", "write_off": "Write-off"}
SOURCE_WORDS = {"dispute": "Dispute resolved", "pricing_error": "Pricing error",
                "short_pay": "Short pay", "small_balance": "Small balance"}
STATUS_WORDS = {"proposed": "Proposed", "approved": "Approved", "refused": "Refused",
                "exported": "Exported", "withdrawn": "Withdrawn"}
#: what each action records, in words for the messages
EVENT_WORDS = {"approved": "approve", "refused": "refuse", "withdrawn": "withdraw"}
DECIDED = ("approved", "refused", "exported", "withdrawn")
PROPOSED_COLUMNS = ["Adjustment", "Kind", "Customer", "Invoice", "Amount", "Currency",
                    "Source, reason", "Proposed by", "Proposed on", "Evidence",
                    "Approval needed", "For you"]
DECIDED_COLUMNS = ["Adjustment", "Status", "Kind", "Customer", "Invoice", "Amount", "Currency",
                   "Source, reason", "Proposed by", "By", "Authority", "When", "Note"]
#: ids stay on one line (DataTables' dt-nowrap class); given again on each update, which
#: would otherwise drop them
_NOWRAP = {"proposed": [{"targets": [0, 3], "className": "dt-nowrap"}],
           "decided": [{"targets": [0, 4], "className": "dt-nowrap"}]}


def _words(code) -> str:
    """A code for people: ``dispute_resolved`` -> ``dispute resolved``."""
    return "" if code is None or (not isinstance(code, str) and pd.isna(code)) else \
        str(code).replace("_", " ")


def _plain(value) -> str:
    """A text cell for people: a missing value (None, NaN) is blank."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _source_reason(source, reason) -> str:
    """``Short pay`` (the reason says the same), ``Dispute resolved; reason pricing``."""
    src = SOURCE_WORDS.get(source, _words(source).capitalize())
    why = _words(reason)
    return src if not why or why.lower() in (src.lower(), _words(source).lower()) else \
        f"{src}; reason {why}"


def _evidence(text) -> dict:
    """The proposal's evidence JSON (what, where, figures); {} when missing or unreadable."""
    try:
        ev = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
    return ev if isinstance(ev, dict) else {}


class AdjustmentsReviewApp(widgets.VBox):
    """Adjustments review for managers and above.

    Parameters
    ----------
    ledger_dir : str
        The ledger folder (``WORKBENCH_APP_LEDGER`` overrides it): customer names, and the
        open balances an approval is checked against (on the ledger's last date).
    db_url : str, optional
        State database (default: ``WORKBENCH_DB_URL`` or ``data/workbench.db``).
    policy : str, optional
        Adjustments policy YAML (``WORKBENCH_APP_ADJUSTMENTS_POLICY`` overrides it; default:
        the shipped policy).
    """

    #: the adjustment the actions apply to (picked in either table); kept across refreshes
    selected_id = traitlets.Unicode(allow_none=True, default_value=None)

    def __init__(self, ledger_dir: str, db_url: str | None = None, policy: str | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.status = widgets.HTML()
        self.status.add_class("wb-status")
        self.form_status = widgets.HTML()
        self.form_status.add_class("wb-form-status")
        self._done: dict[tuple[str, str], int] = {}     # (adjustment, event) -> row id, this page
        head = widgets.HTML("")      # the notebook's title heads the page
        try:
            from ..adjustments import load_adjustments_policy
            from ..ledger import Ledger
            from ..state import StateDB

            ledger_dir = os.environ.get("WORKBENCH_APP_LEDGER", ledger_dir)
            policy = os.environ.get("WORKBENCH_APP_ADJUSTMENTS_POLICY") or policy
            self.ledger = Ledger.load(ledger_dir)
            self.as_of = self.ledger.last_date
            self.db = StateDB(db_url)
            self.policy = load_adjustments_policy(policy) if policy else load_adjustments_policy()
            self.names = self.ledger.customers.set_index("customer_id")["name"]
            # the slow part is done: in a preheated kernel this waits for the page's user
            self.who = signed_in("Deciding")
            self._load()              # reads the state database: after the user arrives
        except Exception as e:  # noqa: BLE001 - shown on the page: Voila hides tracebacks
            self.status.value = box(f"The page could not start: {e}", "error")
            self.children = [head, self.status]
            return
        self._build(head)
        self._show()

    # ------------------------------------------------------------------ layout
    def _build(self, head):
        W = widgets.Layout
        self.heading = widgets.HTML()
        self.heading.add_class("wb-heading")
        self.authority = widgets.HTML(f"<p class='wb-authority' style='margin:2px 0'>"
                                      f"{html.escape(self._authority_text())}</p>")
        self.table = data_table(pd.DataFrame(columns=PROPOSED_COLUMNS), "wb-proposed",
                                order=[], style="width:100%;font-size:12px",
                                columnDefs=_NOWRAP["proposed"])
        self.table.observe(self._on_select, names="selected_rows")
        self.details = widgets.HTML()
        self.details.add_class("wb-selected")
        self.note = widgets.Textarea(description="Note", placeholder="why (required to refuse or "
                                     "withdraw; optional to approve)", layout=W(width="640px"))
        self.note.add_class("wb-note")
        self.approve_btn = self._button("Approve", "success", "wb-approve", "approved")
        self.refuse_btn = self._button("Refuse", "danger", "wb-refuse", "refused")
        self.withdraw_btn = self._button("Withdraw", "warning", "wb-withdraw", "withdrawn")
        for b in (self.approve_btn, self.refuse_btn, self.withdraw_btn):
            b.disabled = not self.who.may_record
        self.show = widgets.Dropdown(
            options=[("All decided", "")] + [(STATUS_WORDS[s], s) for s in DECIDED], value="",
            description="Show")
        self.show.add_class("wb-filter-status")
        self.show.observe(lambda _c: self._show_decided(), names="value")
        self.decided = data_table(pd.DataFrame(columns=DECIDED_COLUMNS), "wb-decided",
                                  order=[], style="width:100%;font-size:12px",
                                  columnDefs=_NOWRAP["decided"])
        self.decided.observe(self._on_select_decided, names="selected_rows")
        self.decided_note = widgets.HTML()
        card = W(border="1px solid #d0d7de", padding="8px 12px", margin="8px 0")
        actions = widgets.VBox([
            widgets.HTML("<h3 style='margin:4px 0'>Decide on the selected adjustment</h3>"),
            self.who.widget, self.authority, self.details, self.note,
            widgets.HBox([self.approve_btn, self.refuse_btn, self.withdraw_btn]),
            self.form_status], layout=card)
        self.children = [head, self.heading, self.status,
                         widgets.HTML("<h3>Awaiting a decision</h3><p style='margin:0'>Select "
                                      "an adjustment to see its evidence and decide; search "
                                      "filters every column.</p>"),
                         self.table, actions,
                         widgets.HTML("<h3>Decided</h3><p style='margin:0'>Approved, refused, "
                                      "exported to the ERP or withdrawn; select an approved one "
                                      "to withdraw it before it is exported.</p>"),
                         self.show, self.decided_note, self.decided]

    def _button(self, text, style, cls, event):
        w = widgets.Button(description=text, button_style=style,
                           layout=widgets.Layout(width="auto", min_width="120px"))
        w.add_class(cls)
        w.on_click(lambda _b: self._guard(event))
        return w

    def _authority_text(self) -> str:
        """The signed-in user's approval limits in the ledger's currencies, and the rule that
        nobody approves their own proposal."""
        if not self.who.may_record:
            return ""
        level = self.who.authority
        try:
            currencies = sorted(set(self.ledger.invoices["currency"]))
            limits = [self.policy.limit_minor(level, c, self.ledger, self.as_of) for c in currencies]
            if all(x is None for x in limits):
                text = f"Your authority ({level}): adjustments of any amount."
            else:
                text = (f"Your authority ({level}): adjustments up to "
                        + ", ".join(format_money(x, c) for x, c in zip(limits, currencies)) + ".")
        except Exception as e:  # noqa: BLE001 - shown, not raised: the page still works
            text = f"Your authority: {level} (amounts unavailable: {e})."
        if not self.policy.self_approval:
            text += " You may not approve an adjustment you proposed."
        return text

    # ------------------------------------------------------------------ data
    def _load(self):
        """Read the adjustments as they stand now: one row each (status, who, when) joined
        with its proposal (amount in minor units, proposer, evidence)."""
        from ..adjustments import adjustment_status

        st = adjustment_status(self.db)
        proposed = {}
        for r in self.db.rows("adjustments", where={"event": "proposed"}, include_superseded=False):
            proposed[r["adjustment_id"]] = r            # the latest stands (oldest first)
        get = lambda col: [proposed.get(a, {}).get(col) for a in st["adjustment_id"]]
        st = st.assign(amount_minor=get("amount_minor"), proposed_by=get("recorded_by"),
                       evidence=[_evidence(e) for e in get("evidence")])
        st["name"] = st["customer_id"].map(self.names).fillna("")
        self.frame = st.reset_index(drop=True)

    def _approval(self, amount_minor, currency) -> tuple[str, int | None]:
        """The least level that may approve the amount (its index in the policy's levels)."""
        try:
            level = self.policy.level_for(int(amount_minor), currency, self.ledger, self.as_of)
        except Exception:  # noqa: BLE001 - e.g. no exchange rate: the approval says why
            return "unknown", None
        return level, [n for n, _ in self.policy.levels].index(level)

    def _for_you(self, needed: tuple[str, int | None], proposer) -> str:
        if not self.who.may_record:
            return ""
        if proposer == self.who.user and not self.policy.self_approval:
            return "your own proposal: someone else approves it"
        names = [n for n, _ in self.policy.levels]
        if needed[1] is None:
            return "amount not comparable (no exchange rate)"
        if self.who.authority not in names:
            return f"your authority {self.who.authority} is not a level of the policy"
        if names.index(self.who.authority) >= needed[1]:
            return "within your authority"
        return f"needs {needed[0]}"

    def _common(self, f: pd.DataFrame) -> dict:
        return {
            "Adjustment": f["adjustment_id"].tolist(),
            "Kind": [KIND_WORDS.get(k, _words(k)) for k in f["kind"]],
            "Customer": [f"{n} ({c})" if n else str(c) for n, c in zip(f["name"], f["customer_id"])],
            "Invoice": f["invoice_id"].fillna("").tolist(),
            "Amount": [money_text(a, c) for a, c in zip(f["amount_minor"], f["currency"])],
            "Currency": f["currency"].tolist(),
            "Source, reason": [_source_reason(s, r) for s, r in zip(f["source"], f["reason_code"])],
            "Proposed by": f["proposed_by"].fillna("").tolist(),
        }

    def proposed_view(self) -> pd.DataFrame:
        """The adjustments awaiting a decision, for people (one row each, oldest id first)."""
        f = self.open
        needed = [self._approval(a, c) for a, c in zip(f["amount_minor"], f["currency"])]
        return pd.DataFrame({
            **self._common(f),
            "Proposed on": [local_time(t) for t in f["proposed_at"]],
            "Evidence": [e.get("what", "") for e in f["evidence"]],
            "Approval needed": [n[0] for n in needed],
            "For you": [self._for_you(n, p) for n, p in zip(needed, f["proposed_by"])],
        }, columns=PROPOSED_COLUMNS)

    def decided_view(self, status: str = "") -> pd.DataFrame:
        """The adjustments decided (or only those with ``status``), latest action first."""
        f = self.frame[self.frame["status"].isin([status] if status else DECIDED)]
        f = f.sort_values(["last_at", "adjustment_id"], ascending=[False, True])
        self.decided_frame = f.reset_index(drop=True)
        f = self.decided_frame
        return pd.DataFrame({
            **self._common(f),
            "Status": [STATUS_WORDS.get(s, s) + (f" (batch {b})" if s == "exported" and b else "")
                       for s, b in zip(f["status"], f["export_batch"])],
            "By": f["last_by"].fillna("").tolist(),
            "Authority": f["authority"].fillna("").tolist(),
            "When": [local_time(t) for t in f["last_at"]],
            "Note": f["note"].fillna("").tolist(),
        }, columns=DECIDED_COLUMNS)

    def _show(self):
        """Redraw the heading and both tables from :attr:`frame`."""
        f = self.frame
        self.open = f[f["status"] == "proposed"].reset_index(drop=True)
        self.view = self.proposed_view()
        set_table(self.table, self.view, columnDefs=_NOWRAP["proposed"])
        self._show_decided()
        counts = f["status"].value_counts()
        parts = [f"{counts.get(s, 0)} {STATUS_WORDS[s].lower()}" for s in DECIDED]
        self.heading.value = (
            f"<p style='margin:4px 0'><b>{len(self.open)}</b> adjustment(s) awaiting a decision · "
            f"{' · '.join(parts)} · open balances as of "
            f"<b>{self.as_of.date()}</b> (the ledger's last date) · policy "
            f"{html.escape(self.policy.label)}</p>")
        if not len(f):
            self.status.value = box("No adjustment has been proposed yet. Propose them with: "
                                    "workbench adjustments propose --ledger DIR", "info")
        elif not len(self.open):
            self.status.value = box("Nothing is awaiting a decision.", "info")
        else:
            self.status.value = ""
        self._show_details()

    def _show_decided(self):
        self.decided_rows = self.decided_view(self.show.value)
        set_table(self.decided, self.decided_rows, columnDefs=_NOWRAP["decided"])
        total = int(self.frame["status"].isin(DECIDED).sum())
        self.decided_note.value = ("" if len(self.decided_rows) == total else
                                   f"<p style='margin:0'>{len(self.decided_rows)} of {total} "
                                   f"shown</p>")

    def _row(self, adjustment_id: str | None):
        if adjustment_id is None:
            return None
        m = self.frame[self.frame["adjustment_id"] == adjustment_id]
        return None if not len(m) else m.iloc[0]

    def _show_details(self):
        r = self._row(self.selected_id)
        if r is None:
            self.details.value = "<p class='wb-hint'>No adjustment selected.</p>"
            return
        ev = r["evidence"]
        needed = self._approval(r["amount_minor"], r["currency"])
        rows = [("Adjustment", f"{r['adjustment_id']} ({STATUS_WORDS.get(r['status'], r['status'])})"),
                ("Customer", f"{r['name']} ({r['customer_id']})"),
                ("Invoice", _plain(r["invoice_id"])),
                ("Amount", f"{money_text(r['amount_minor'], r['currency'])} {r['currency']}"),
                ("Kind", KIND_WORDS.get(r["kind"], _words(r["kind"]))),
                ("Source, reason", _source_reason(r["source"], r["reason_code"])),
                ("Proposed by", f"{_plain(r['proposed_by'])}, {local_time(r['proposed_at'])}"),
                ("Evidence", ev.get("what", "")),
                ("Approval needed", f"{needed[0]}"
                 + (f" ({self._for_you(needed, r['proposed_by'])})" if self.who.may_record else ""))]
        where = [w for w in ev.get("where") or [] if isinstance(w, dict)]
        if where:                 # the ledger rows it rests on: "applications (invoice I2, ...)"
            rows.append(("From", "; ".join(
                f"{_words(w.get('table', ''))} ("
                + ", ".join(f"{_words(k).removesuffix(' id')} {v}"
                            for k, v in (w.get("key") or {}).items()) + ")" for w in where)))
        if r["status"] != "proposed":
            rows.append(("Latest", f"{STATUS_WORDS.get(r['status'], r['status'])} by "
                         f"{r['last_by']}, {local_time(r['last_at'])}"
                         + (f": {_plain(r['note'])}" if _plain(r["note"]) else "")))
        self.details.value = kv_table(rows, "wb-details-table")

    # ------------------------------------------------------------------ events
    def _on_select(self, change):
        pos = [p for p in change["new"] if 0 <= p < len(self.open)]
        if pos:                                     # a refresh clears the table: keep the pick
            self.selected_id = str(self.open["adjustment_id"].iloc[pos[0]])
            self.decided.selected_rows = []
            self.form_status.value = ""
            self._show_details()

    def _on_select_decided(self, change):
        pos = [p for p in change["new"] if 0 <= p < len(self.decided_frame)]
        if pos:
            self.selected_id = str(self.decided_frame["adjustment_id"].iloc[pos[0]])
            self.table.selected_rows = []
            self.form_status.value = ""
            self._show_details()

    def select(self, adjustment_id: str) -> None:
        """Select an adjustment by id (as a click on its row does)."""
        if self._row(adjustment_id) is None:
            raise KeyError(f"no adjustment {adjustment_id!r}")
        self.selected_id = adjustment_id
        self.form_status.value = ""
        self._show_details()

    def _guard(self, event: str):
        try:
            self.act(event)
        except Exception as e:  # noqa: BLE001 - shown under the buttons: Voila hides tracebacks
            self.form_status.value = box(f"Not recorded: {e}", "error")

    def _already(self, a: str, r) -> str:
        note = _plain(r["note"]) if r["status"] != "exported" else ""
        return (f"{a} was already {r['status']} by {r['last_by']} ({local_time(r['last_at'])})"
                + (f": {note}" if note else "")
                + ". Nothing recorded; the tables show it as it stands now.")

    def act(self, event: str) -> None:
        """Record ``event`` (approved, refused, withdrawn) for the selected adjustment as the
        signed-in user with their authority; the answer shows under the buttons."""
        from ..adjustments import AdjustmentError, approve, refuse, withdraw

        if not self.who.may_record:
            self.form_status.value = box("Read only: no signed-in user. Open this page through "
                                         "workbench serve to approve, refuse or withdraw.", "error")
            return
        a, verb = self.selected_id, EVENT_WORDS[event]
        if a is None:
            self.form_status.value = box(f"Select an adjustment to {verb} first.", "error")
            return
        if (a, event) in self._done:                # a double-click: recorded on the first
            self.form_status.value = box(f"{a} is {event} already (recorded from this page): "
                                         f"nothing recorded again.", "ok")
            return
        note = self.note.value.strip()
        if event != "approved" and not note:
            self.form_status.value = box(f"Say why you {verb} {a} (Note): a note is required "
                                         f"to {verb}.", "error")
            return
        self._load()                                # as it stands now, not as the page last saw
        before = self._row(a)
        allowed = ("proposed", "approved") if event == "withdrawn" else ("proposed",)
        if before is None or before["status"] not in allowed:
            self._show()
            if before is not None and before["status"] in DECIDED:
                self.form_status.value = box(self._already(a, before), "error")
            else:
                self.form_status.value = box(f"{a} cannot be {event}: no such adjustment.", "error")
            return
        user, authority = self.who.user, self.who.authority
        try:
            if event == "approved":
                rid = approve(self.db, a, user, authority, self.ledger, note or None,
                              policy=self.policy, as_of=self.as_of)
            elif event == "refused":
                rid = refuse(self.db, a, user, authority, note)
            else:
                rid = withdraw(self.db, a, user, note, authority)
        except AdjustmentError as e:
            self._load()
            now = self._row(a)
            self._show()
            if now is not None and now["status"] != before["status"]:
                self.form_status.value = box(self._already(a, now), "error")   # someone else
            else:
                self.form_status.value = box(f"Not recorded: {e}", "error")
            return
        self._done[(a, event)] = rid
        self.note.value = ""
        self._load()
        self._show()
        self.form_status.value = box(f"{a} {event} by {user} ({authority} authority).", "ok")
