"""Status of designated accounts: one page per account and a weekly manager summary.

A brief tells the collections manager where an account stands on a date: its balance and
aging (:mod:`workbench.aging` buckets, one block per currency, never added across
currencies), the last contacts, each promise to pay and its outcome
(:func:`workbench.kpis.promise_outcomes`), the open disputes with their owners
(:mod:`workbench.disputes`), the next action (:func:`workbench.collections.worklist`) and
the escalation path with the sales representative named (the customer master's
``sales_rep``; "none on file" without one). Pages are HTML (Jinja templates
``brief.html.j2`` and ``brief_summary.html.j2``) and Excel, with business names and
amounts in their currency's decimals (:func:`workbench.money.format_money`).

The weekly summary lists the team's accounts, most urgent first (the worklist's rank),
with balance, past due, the change since the same day a week earlier, promises falling due
in the next seven days and disputes past their due date, and totals per currency (exact
sums of minor units, never added across currencies).

In the workbooks amounts are numbers (the currency's ISO 4217 decimals as the number format,
the currency in its own column) and dates are Excel dates, so a manager can sort and sum.

The package: :mod:`.common`, :mod:`.account` (one page per account) and :mod:`.summary`
(the weekly manager summary).
"""

from __future__ import annotations

from .account import account_brief, brief_html, write_briefs
from .common import KIND_TEXT, bucket_title, ledger_end_note
from .summary import (
           summary_html,
           summary_name,
           summary_totals,
           team_summary,
           write_summary,
)

__all__ = ["account_brief", "team_summary", "summary_totals", "summary_name", "write_briefs",
           "write_summary", "brief_html", "summary_html", "bucket_title", "ledger_end_note",
           "KIND_TEXT"]

