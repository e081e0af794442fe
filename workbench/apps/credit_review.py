"""The managers' credit-review page: the queue of customers due for review (search, filters,
exposure and utilisation), the profile and recommendation of the one picked, a decision form,
and the decision history in words and local times.

Who decides, and with what authority, comes from the sign-in (``workbench serve``) and the
roles file, never from the page. Voila hides tracebacks, so every failure is shown on the page
in plain words. Decisions go to the state database (append-only, with the approver, the policy
version and the ledger hash; a double-click records once); an approver beyond their authority
is refused with the policy's reason.
"""

from __future__ import annotations

import html
import os
import traceback
import uuid

import ipywidgets as widgets
import pandas as pd
import traitlets

from ..money import format_money, parse_amount, to_major_float
from .common import box, data_table, kv_table, local_time, money_text, set_table, signed_in

__all__ = ["CreditReviewApp", "DECISION_WORDS"]

DECISION_WORDS = {"approve": "Approved as recommended", "approve_other": "Approved a different limit",
                  "decline": "Declined", "hold": "Placed on hold"}
REASONS = [("All reasons", ""), ("Over the limit", "of the limit"),
           ("Never reviewed", "never reviewed"), ("Review due", "last review")]
QUEUE_COLUMNS = ["Customer", "Name", "Currency", "Exposure", "Credit limit", "Limit from",
                 "Utilisation", "Why due"]


def _limit_text(row) -> str:
    """A decision's limit for people: the amount with its currency ("1,234.500 KWD"); the
    history gives it as exact decimal text, read back through :func:`parse_amount`."""
    if row.limit is None or pd.isna(row.limit) or row.limit == "":
        return ""
    return format_money(parse_amount(str(row.limit), row.currency), row.currency)


def _words(code) -> str:
    """A policy code for people: ``bureau_recommended`` -> ``bureau recommended``."""
    return str(code).replace("_", " ")


def queue_view(queue: pd.DataFrame, reason: str = "", currency: str = "") -> pd.DataFrame:
    """The queue for the table: business names, amounts as text in their currency's decimals
    (the currency in its own column), utilisation in percent; filtered by reason and currency."""
    q = queue
    if reason:
        q = q[q["why"].str.contains(reason, regex=False)]
    if currency:
        q = q[q["currency"] == currency]
    util = q["utilization"].astype("Float64")
    return pd.DataFrame({
        "Customer": q["customer_id"].astype(str).to_numpy(),
        "Name": q["name"].astype(str).to_numpy(),
        "Currency": q["currency"].astype(str).to_numpy(),
        "Exposure": [money_text(v, c) for v, c in zip(q["exposure_minor"], q["currency"])],
        "Credit limit": [money_text(v, c) if v is not None and not pd.isna(v) else "none"
                         for v, c in zip(q["credit_limit_minor"], q["currency"])],
        "Limit from": q["limit_source"].astype(str).to_numpy(),
        "Utilisation": ["" if pd.isna(u) else f"{u:.0%}" for u in util],
        "Why due": q["why"].astype(str).to_numpy(),
    }, columns=QUEUE_COLUMNS)


class CreditReviewApp(widgets.VBox):
    """Credit review for managers.

    Parameters
    ----------
    ledger_dir : str
        The ledger folder (``WORKBENCH_APP_LEDGER`` overrides it).
    as_of : str, optional
        Review date (default: the ledger's last date).
    db_url : str, optional
        State database (default: ``WORKBENCH_DB_URL`` or ``data/workbench.db``).
    """

    customer_id = traitlets.Unicode(allow_none=True, default_value=None)

    def __init__(self, ledger_dir: str, as_of: str | None = None, db_url: str | None = None,
                 scorecard_path: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.status = widgets.HTML()
        self.status.add_class("wb-status")
        self.ledger = None
        self.rec = None
        try:
            from ..credit import load_credit_policy, load_scorecard
            from ..ledger import Ledger
            from ..state import StateDB

            ledger_dir = os.environ.get("WORKBENCH_APP_LEDGER", ledger_dir)
            self.ledger = Ledger.load(ledger_dir)
            self.as_of = as_of or str(self.ledger.last_date.date())
            self.db = StateDB(db_url)
            self.policy = load_credit_policy(report_currency=self.ledger.report_currency)
            path = scorecard_path or os.environ.get("WORKBENCH_APP_SCORECARD")
            if path:
                self.scorecard = load_scorecard(path)
            else:       # the scorecard the CLI, the notebook and the credit file use
                from ..credit import standard_scorecard
                self.scorecard, _, self.scorecard_note = standard_scorecard(
                    self.ledger, self.as_of, self.policy)
            # the slow part is done: in a preheated kernel this waits for the page's user
            self.who = signed_in("Deciding")
            self._load_queue()        # reads the state database: after the user arrives
        except Exception as e:  # noqa: BLE001 - shown on the page: Voila hides tracebacks
            self.status.value = box(f"The page could not start: {e}", "error")
            self.children = [widgets.HTML("<h2>Credit review</h2>"), self.status]
            self._trace = traceback.format_exc()
            return
        self._build()

    # ------------------------------------------------------------------ layout
    def _build(self):
        currencies = sorted(self.queue["currency"].unique())
        self.reason_filter = widgets.Dropdown(options=REASONS, value="", description="Due because",
                                              style={"description_width": "initial"})
        self.reason_filter.add_class("wb-filter-reason")
        self.currency_filter = widgets.Dropdown(options=[("All currencies", "")] + [(c, c) for c in currencies],
                                                value="", description="Currency")
        self.currency_filter.add_class("wb-filter-currency")
        for w in (self.reason_filter, self.currency_filter):
            w.observe(self._on_filter, names="value")
        self.view = queue_view(self.queue)
        self.table = data_table(self.view, "wb-queue", order=[[6, "desc"]])
        self.table.observe(self._on_select, names="selected_rows")
        self.queue_note = widgets.HTML()
        self.queue_note.add_class("wb-queue-note")
        self.profile = widgets.HTML()
        self.profile.add_class("wb-profile")
        self.chart = widgets.Output()
        self.history = widgets.HTML()
        self.history.add_class("wb-history")
        self.decision = widgets.Dropdown(options=[("Approve as recommended", "approve"),
                                                  ("Approve a different limit", "approve_other"),
                                                  ("Decline", "decline"), ("Place on hold", "hold")],
                                         description="Decision")
        self.decision.add_class("wb-decision")
        self.limit = widgets.Text(description="Limit", placeholder="only for a different limit")
        self.limit.add_class("wb-limit")
        self.reason = widgets.Textarea(description="Reason", placeholder="why (required)",
                                       layout=widgets.Layout(width="60%"))
        self.reason.add_class("wb-reason")
        self.submit = widgets.Button(description="Submit decision", button_style="primary")
        self.submit.add_class("wb-submit")
        self.submit.on_click(self._on_submit)
        self.submit.disabled = not self.who.may_record
        # one filled-in form, one decision: the key changes with the form, so a second click
        # on the same form (a double-click) returns the first decision and records nothing
        self._key, self._last_id = uuid.uuid4().hex, None
        for w in (self.decision, self.limit, self.reason):
            w.observe(self._new_key, names="value")
        # the answer to Submit shows under the button, where the user is looking
        self.form_status = widgets.HTML()
        self.form_status.add_class("wb-form-status")
        self.deciding_for = widgets.HTML("<p>Pick a customer in the queue.</p>")
        self.deciding_for.add_class("wb-deciding-for")
        authority = widgets.HTML(f"<p class='wb-authority'>{html.escape(self._authority_text())}</p>")
        form = widgets.VBox([self.who.widget, authority, self.deciding_for, self.decision,
                             self.limit, self.reason, self.submit, self.form_status])
        self.heading = widgets.HTML()
        self._heading()
        self.children = [self.heading, widgets.HBox([self.reason_filter, self.currency_filter]),
                         self.table, self.queue_note, self.status, self.profile, self.chart,
                         widgets.HTML("<h3>Decision</h3>"), form,
                         widgets.HTML("<h3>Decision history</h3>"), self.history]
        self.status.value = (box("Pick a customer in the queue (search, sort by any column).", "info")
                             if len(self.queue) else box("No customer is due for review.", "info"))

    def _authority_text(self) -> str:
        """The signed-in user's approval authority in amounts (the policy's approval levels,
        in the report currency; a limit in another currency is converted at the review date)."""
        if not self.who.may_record:
            return ""
        try:
            pol = self.policy.for_ledger(self.ledger, self.as_of)
            for level, up_to in pol.levels:
                if level == self.who.authority:
                    if up_to is None:
                        return f"Your authority ({level}): any limit."
                    cur = pol.report_currency
                    return (f"Your authority ({level}): limits up to "
                            f"{format_money(up_to.minor(cur), cur)} or the equivalent in the "
                            f"customer's currency.")
        except Exception as e:  # noqa: BLE001 - shown, not raised: the page still works
            return f"Your authority: {self.who.authority} (amounts unavailable: {e})"
        return f"Your authority: {self.who.authority}"

    def _heading(self):
        self.heading.value = (f"<p>{len(self.queue)} customer(s) due for "
                              f"review as of {html.escape(self.as_of)} · policy "
                              f"{html.escape(self.policy.label)}</p>")

    def _load_queue(self):
        from ..credit import review_queue

        self.queue = review_queue(self.ledger, self.as_of, self.db, self.policy)

    # ------------------------------------------------------------------ events
    def _new_key(self, _change=None):
        self._key = uuid.uuid4().hex

    def _on_filter(self, _change=None):
        self.view = queue_view(self.queue, self.reason_filter.value, self.currency_filter.value)
        set_table(self.table, self.view, order=[[6, "desc"]])
        self.queue_note.value = (f"<p>{len(self.view)} of {len(self.queue)} shown</p>"
                                 if len(self.view) != len(self.queue) else "")

    def _on_select(self, change):
        rows = change["new"]
        if not rows:
            return
        cid = str(self.view.iloc[int(rows[0])]["Customer"])
        self.pick(cid)

    def pick(self, cid: str) -> None:
        """Show customer ``cid``: profile, recommendation, chart and history."""
        self.customer_id = cid
        try:
            from ..credit import recommend

            self.rec = recommend(self.ledger, cid, self.as_of, self.scorecard, self.policy)
            self.deciding_for.value = (f"<p>Deciding for <strong>{html.escape(self.rec['name'])}"
                                       f"</strong> ({html.escape(cid)}): recommended "
                                       f"{format_money(self.rec['recommended_limit_minor'], self.rec['currency'])}"
                                       f"</p>")
            self._show_profile()
            self._draw(self.rec)
            self.status.value = ""
            self.form_status.value = ""
            self._new_key()
        except Exception as e:  # noqa: BLE001
            self.rec = None
            self.status.value = box(f"Could not evaluate {cid}: {e}", "error")

    def _on_submit(self, _button):
        from ..credit import record_decision

        if not self.who.may_record:
            self.form_status.value = box("No signed-in user: decisions are recorded only through "
                                         "workbench serve.", "error")
            return
        if self.rec is None:
            self.form_status.value = box("Pick a customer in the queue first.", "error")
            return
        try:
            rid = record_decision(self.db, self.ledger, self.rec, self.decision.value,
                                  self.who.user, self.who.authority, self.reason.value,
                                  self.limit.value or None, self.policy,
                                  idempotency_key=self._key)
        except PermissionError as e:
            self.form_status.value = box(f"Refused: {e}", "error")
            return
        except Exception as e:  # noqa: BLE001
            self.form_status.value = box(f"Not recorded: {e}", "error")
            return
        if rid == self._last_id:
            self.form_status.value = box(f"Decision {rid} is already recorded (the same form "
                                         f"submitted again records nothing).", "ok")
            return
        self._last_id = rid
        words = DECISION_WORDS[self.decision.value].lower()
        self.form_status.value = box(f"Decision {rid} recorded: {words} for {self.customer_id} "
                                     f"by {self.who.user}.", "ok")
        self._show_profile()           # the limit decided, at once
        self._load_queue()             # a reviewed customer leaves the queue
        self._heading()
        self._on_filter()

    # ------------------------------------------------------------------ views
    def _latest(self, cid: str):
        from ..credit import limit_history

        hist = limit_history(self.db, cid)
        return hist, (hist.iloc[-1] if len(hist) else None)

    def _show_profile(self):
        r = self.rec
        hist, latest = self._latest(r["customer_id"])
        self.profile.value = self._profile_html(r, latest)
        self._show_history(hist)

    def _profile_html(self, r: dict, latest=None) -> str:
        h = r["analysis"]["history"]
        cur = r["currency"]
        # amounts from their integer minor units, in the customer's currency's decimals
        limit_now = h.get("credit_limit_minor")
        score = r["score"]
        rows = [("Customer", f"{r['name']} ({r['customer_id']})"),
                ("Score", "none" if score is None or pd.isna(score) else f"{score:,.0f}"),
                ("Risk class", r["risk_class"]),
                ("Recommended limit", format_money(r["recommended_limit_minor"], cur)),
                ("Binding rule", _words(r["binding_rule"])),
                ("Limit in the customer master",
                 "none" if limit_now is None else format_money(limit_now, cur)),
                ("Exposure", format_money(h["exposure_minor"], cur)),
                ("Utilisation of the master limit",
                 "n/a" if h["utilization"] is None else f"{h['utilization']:.0%}")]
        if latest is not None:
            when = local_time(latest["recorded_at"])
            if latest["limit_in_force"] is not None and not pd.isna(latest["limit_in_force"]):
                decided = parse_amount(str(latest["limit_in_force"]), latest["currency"])
                util = "n/a" if decided == 0 else f"{h['exposure_minor'] / decided:.0%}"
                rows += [("Limit decided here", f"{format_money(decided, latest['currency'])} "
                          f"({DECISION_WORDS[latest['decision']].lower()} by {latest['approver']}, "
                          f"{when})"),
                         ("Utilisation of the decided limit", util)]
            else:
                rows.append(("Latest decision", f"{DECISION_WORDS[latest['decision']]} by "
                             f"{latest['approver']}, {when}"))
        rows += [("Average / worst days past due",
                  f"{h['avg_days_past_due']} / {h['worst_days_past_due']}"),
                 ("Approval needed for the recommended limit", r["approver_level"]),
                 ("Exceptions (against the customer master)",
                  "; ".join(_words(e) for e in r["exceptions"]) or "none")]
        return kv_table(rows, "wb-profile-table")

    def _draw(self, r: dict):
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt

        from ..plots import money_axis

        self.chart.clear_output(wait=True)
        with self.chart:
            a = r["analysis"]
            fig, axes = plt.subplots(1, 2, figsize=(9, 2.8))
            cur = r["currency"]
            h = a["history"]
            # major units for the axis only (display); ISO 4217 decimals from workbench.money
            values = [to_major_float(int(v), cur) for v in
                      (h["exposure_minor"], h["credit_limit_minor"] or 0,
                       r["recommended_limit_minor"])]
            axes[0].bar(["exposure", "master limit", "recommended"], values,
                        color=["#c44e52", "#4c72b0", "#55a868"])
            axes[0].set_title("Exposure and limits")
            axes[0].set_ylabel(f"Amount ({cur})")
            money_axis(axes[0], "y", cur)
            hist = pd.DataFrame(a["bureau_history"])
            if len(hist):
                axes[1].plot(pd.to_datetime(hist["report_date"]), hist["paydex"], marker="o")
                axes[1].set_ylim(0, 100)
            axes[1].set_title("PAYDEX by report")
            axes[1].set_ylabel("PAYDEX (0-100)")
            axes[1].set_xlabel("Report date")
            locator = mdates.AutoDateLocator(maxticks=5)
            axes[1].xaxis.set_major_locator(locator)
            axes[1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            fig.tight_layout()
            plt.show()

    def _show_history(self, hist: pd.DataFrame):
        if not len(hist):
            self.history.value = "<p class='wb-no-history'>No decisions recorded yet.</p>"
            return
        cell = "style='text-align:left;padding:3px 12px 3px 0;border-bottom:1px solid #e3e6ea'"
        rows = "".join(
            "<tr>" + "".join(f"<td {cell}>{html.escape(str(v))}</td>" for v in (
                local_time(r.recorded_at), DECISION_WORDS.get(r.decision, r.decision),
                _limit_text(r), r.approver, r.approver_level, r.reason)) + "</tr>"
            for r in hist.iloc[::-1].itertuples(index=False))
        head = "".join(f"<th {cell}>{h}</th>" for h in
                       ("When", "Decision", "Limit", "Approver", "Authority", "Reason"))
        self.history.value = ("<table class='wb-history-table' style='border-collapse:collapse'>"
                              f"<tr>{head}</tr>{rows}</table>")
