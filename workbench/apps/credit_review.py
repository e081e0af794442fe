"""The managers' credit-review page: a queue of customers due for review, the profile and
recommendation of the one picked, a decision form, and the decision history.

Voila hides tracebacks, so every failure is shown on the page in plain words. Decisions
go to the state database (append-only, with the approver, the policy version and the
ledger hash); an approver beyond their authority is refused with the policy's reason.
"""

from __future__ import annotations

import html
import os
import traceback

import ipywidgets as widgets
import pandas as pd
import traitlets

from ..money import format_money, parse_amount, to_major_float

__all__ = ["CreditReviewApp"]


def _box(text: str, kind: str = "info") -> str:
    colors = {"info": "#0b5394", "ok": "#1e7b34", "error": "#a40000"}
    return (f'<div class="wb-msg wb-{kind}" style="border-left:4px solid {colors[kind]};'
            f'padding:6px 10px;margin:6px 0;background:#f6f8fa">{html.escape(text)}</div>')


def _limit_text(row) -> str:
    """A decision's limit for people: the amount with its currency ("1,234.500 KWD"); the
    history gives it as exact decimal text, read back through :func:`parse_amount`."""
    if row.limit is None or pd.isna(row.limit) or row.limit == "":
        return ""
    return format_money(parse_amount(str(row.limit), row.currency), row.currency)


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
        try:
            from ..credit import load_credit_policy, load_scorecard, review_queue
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
            self.queue = review_queue(self.ledger, self.as_of, self.db, self.policy, top=200)
        except Exception as e:  # noqa: BLE001 - shown on the page: Voila hides tracebacks
            self.status.value = _box(f"The page could not start: {e}", "error")
            self.children = [widgets.HTML("<h2>Credit review</h2>"), self.status]
            self._trace = traceback.format_exc()
            return
        options = [(f"{r.customer_id}  {r.name}  ({r.why})", r.customer_id)
                   for r in self.queue.itertuples(index=False)]
        self.picker = widgets.Select(options=options, value=None,
                                     rows=min(12, max(len(options), 2)),
                                     layout=widgets.Layout(width="100%"))
        self.picker.add_class("wb-queue")
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
        # who decides, and with what authority, comes from the sign-in (workbench serve) and
        # the roles file, never from the page
        from ..serve import NoSignedInUser, current_user
        try:
            self.user, self.role, self.authority = current_user()
            signed = (f"Deciding as <strong>{html.escape(self.user)}</strong> (role "
                      f"{html.escape(self.role)}, approval authority "
                      f"{html.escape(self.authority)})")
        except NoSignedInUser:
            self.user = self.role = self.authority = None
            signed = ("Read only: no signed-in user. Open this page through "
                      "<code>workbench serve</code> to record decisions.")
        self.signed_in = widgets.HTML(f"<p>{signed}</p>")
        self.signed_in.add_class("wb-signed-in")
        self.reason = widgets.Textarea(description="Reason", placeholder="why (required)",
                                       layout=widgets.Layout(width="60%"))
        self.reason.add_class("wb-reason")
        self.submit = widgets.Button(description="Submit decision", button_style="primary")
        self.submit.add_class("wb-submit")
        self.submit.on_click(self._on_submit)
        self.picker.observe(self._on_pick, names="value")
        self.submit.disabled = self.user is None
        # the answer to Submit shows under the button, where the user is looking
        self.form_status = widgets.HTML()
        self.form_status.add_class("wb-form-status")
        form = widgets.VBox([self.signed_in, self.decision, self.limit, self.reason, self.submit,
                             self.form_status])
        head = widgets.HTML(f"<h2>Credit review</h2><p>{len(options)} customer(s) due for review "
                            f"as of {self.as_of} · policy {self.policy.label}</p>")
        self.children = [head, self.picker, self.status, self.profile, self.chart,
                         widgets.HTML("<h3>Decision</h3>"), form,
                         widgets.HTML("<h3>Decision history</h3>"), self.history]
        self.status.value = (_box("Pick a customer from the queue.", "info") if options
                             else _box("No customer is due for review.", "info"))

    # ------------------------------------------------------------------ events
    def _on_pick(self, change):
        cid = change["new"]
        self.customer_id = cid
        if cid is None:
            return
        try:
            from ..credit import recommend

            self.rec = recommend(self.ledger, cid, self.as_of, self.scorecard, self.policy)
            self.profile.value = self._profile_html(self.rec)
            self._draw(self.rec)
            self._show_history(cid)
            self.status.value = ""
        except Exception as e:  # noqa: BLE001
            self.status.value = _box(f"Could not evaluate {cid}: {e}", "error")

    def _on_submit(self, _button):
        from ..credit import record_decision

        if self.user is None:
            self.form_status.value = _box("No signed-in user: decisions are recorded only through "
                                     "workbench serve.", "error")
            return
        if self.customer_id is None:
            self.form_status.value = _box("Pick a customer from the queue first.", "error")
            return
        try:
            rid = record_decision(self.db, self.ledger, self.rec, self.decision.value,
                                  self.user, self.authority, self.reason.value,
                                  self.limit.value or None, self.policy)
        except PermissionError as e:
            self.form_status.value = _box(f"Refused: {e}", "error")
            return
        except Exception as e:  # noqa: BLE001
            self.form_status.value = _box(f"Not recorded: {e}", "error")
            return
        self.form_status.value = _box(f"Decision {rid} recorded: {self.decision.value} for "
                                 f"{self.customer_id} by {self.user}.", "ok")
        self.reason.value = ""
        self._show_history(self.customer_id)

    # ------------------------------------------------------------------ views
    def _profile_html(self, r: dict) -> str:
        h = r["analysis"]["history"]
        cur = r["currency"]
        # amounts from their integer minor units, in the customer's currency's decimals
        limit_now = h.get("credit_limit_minor")
        rows = [("Customer", f"{r['name']} ({r['customer_id']})"), ("Score", r["score"]),
                ("Risk class", r["risk_class"]),
                ("Recommended limit", format_money(r["recommended_limit_minor"], cur)),
                ("Binding rule", r["binding_rule"]),
                ("Current limit", "none" if limit_now is None else format_money(limit_now, cur)),
                ("Exposure", format_money(h["exposure_minor"], cur)),
                ("Utilization", "n/a" if h["utilization"] is None else f"{h['utilization']:.0%}"),
                ("Average / worst days past due", f"{h['avg_days_past_due']} / {h['worst_days_past_due']}"),
                ("Approval required", r["approver_level"]),
                ("Exceptions", "; ".join(r["exceptions"]) or "none")]
        body = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{html.escape(str(k))}</th>"
                       f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
        return f"<table class='wb-profile-table'>{body}</table>"

    def _draw(self, r: dict):
        import matplotlib.pyplot as plt

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
            axes[0].bar(["exposure", "current limit", "recommended"], values,
                        color=["#c44e52", "#4c72b0", "#55a868"])
            axes[0].set_title("Exposure and limits")
            axes[0].set_ylabel(f"Amount ({cur})")
            hist = pd.DataFrame(a["bureau_history"])
            if len(hist):
                axes[1].plot(pd.to_datetime(hist["report_date"]), hist["paydex"], marker="o")
                axes[1].set_ylim(0, 100)
            axes[1].set_title("PAYDEX by report")
            axes[1].set_ylabel("PAYDEX (0-100)")
            axes[1].set_xlabel("Report date")
            import matplotlib.dates as mdates
            locator = mdates.AutoDateLocator(maxticks=5)
            axes[1].xaxis.set_major_locator(locator)
            axes[1].xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            fig.tight_layout()
            plt.show()

    def _show_history(self, cid: str):
        from ..credit import limit_history

        hist = limit_history(self.db, cid)
        if not len(hist):
            self.history.value = "<p class='wb-no-history'>No decisions recorded yet.</p>"
            return
        rows = "".join(
            f"<tr><td>{html.escape(str(r.recorded_at)[:19])}</td><td>{html.escape(r.decision)}</td>"
            f"<td>{html.escape(_limit_text(r))}</td><td>{html.escape(r.approver)}</td>"
            f"<td>{html.escape(str(r.approver_level))}</td><td>{html.escape(r.reason)}</td></tr>"
            for r in hist.itertuples(index=False))
        self.history.value = ("<table class='wb-history-table'><tr><th>Recorded</th><th>Decision</th>"
                              "<th>Limit</th><th>Approver</th><th>Level</th><th>Reason</th></tr>"
                              f"{rows}</table>")
