"""Business names for the column names used across the workbench, and the one description
of a table (:class:`Table`) every rendering starts from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

#: Business names of the column names used across the workbench (aging, KPIs, collections,
#: ledger tables). A name ending in ``_minor`` takes its stem's label (see :func:`label_for`).
LABELS: dict[str, str] = {
    # keys and groupings
    "currency": "Currency",
    "customer_id": "Customer",
    "customer_name": "Customer name",
    "name": "Name",
    "invoice_id": "Invoice",
    "receipt_id": "Receipt",
    "credit_memo_id": "Credit memo",
    "dispute_id": "Dispute",
    "activity_id": "Activity",
    "parent_id": "Parent customer",
    "segment": "Segment",
    "collector": "Collector",
    "sales_rep": "Sales rep",
    "country": "Country",
    "language": "Language",
    "rank": "Rank",
    "period": "Period",
    "start": "Start",
    "end": "End",
    "days": "Days",
    "date": "Date",
    "as_of": "As of",
    # aging (bucket labels of the default policy; other "a-b" / "over_n" labels are derived)
    "current": "Current",
    "1-30": "1–30 days",
    "31-60": "31–60 days",
    "61-90": "61–90 days",
    "91-120": "91–120 days",
    "over_120": "Over 120 days",
    "total": "Total",
    "aging_over_60_pct": "Aging over 60 (% of AR)",
    "invoices": "Open invoices",
    # KPIs (workbench.kpis)
    "credit_sales": "Credit sales",
    "beginning_ar": "Beginning AR",
    "ending_ar": "Ending AR",
    "ending_current_ar": "Ending current AR",
    "ending_past_due_ar": "Ending past due AR",
    "ending_over_60_ar": "Ending AR over 60 days",
    "dso": "DSO (days)",
    "countback_dso": "Countback DSO (days)",
    "countback_complete": "Countback complete",
    "best_possible_dso": "Best possible DSO (days)",
    "add": "Average days delinquent",
    "cei": "CEI (%)",
    "cei_credit_sales": "CEI credit sales",
    "unapplied_cash": "Unapplied cash",
    "unapplied_cash_avg_age_days": "Unapplied cash, average age (days)",
    "cash_collected": "Cash collected",
    "open_disputes": "Open disputes",
    "open_dispute_amount": "Open dispute amount",
    "open_dispute_avg_age_days": "Open disputes, average age (days)",
    "promises_kept": "Promises kept",
    "promises_broken": "Promises broken",
    "promise_kept_rate": "Promises kept (%)",
    # collections (worklist, suspension and write-off proposals)
    "open_ar": "Open AR",
    "past_due_ar": "Past due AR",
    "oldest_days_past_due": "Oldest days past due",
    "open_invoices": "Open invoices",
    "past_due_invoices": "Past due invoices",
    "due_soon": "Due soon",
    "stage": "Dunning stage",
    "next_action": "Next action",
    "tier": "Tier",
    "risk": "Payment risk",
    "risk_source": "Risk source",
    "broken_promises": "Broken promises",
    "promise_due_today": "Promise due today",
    "disputes_awaiting": "Disputes awaiting action",
    "days_since_contact": "Days since last contact",
    "pending_promise": "Pending promise date",
    "status": "Status",
    "priority": "Priority",
    "reasons": "Reasons",
    "rules": "Rules met",
    "evidence": "Evidence",
    "approval": "Approval by",
    "policy": "Policy",
    "open_balance": "Open balance",
    "last_payment": "Last payment",
    "history_invoices": "Invoices in history",
    "history_late_share": "Paid late (share of invoices)",
    # open items and unapplied cash (workbench.ledger)
    "invoice_date": "Invoice date",
    "due_date": "Due date",
    "days_past_due": "Days past due",
    "in_dispute": "In dispute",
    "receipt_date": "Receipt date",
    "value_date": "Value date",
    "payer_name": "Payer",
    "reference": "Reference",
    "days_unapplied": "Days unapplied",
    "bank_account": "Bank account",
    # ledger tables (DATA_MODEL.md)
    "payment_terms_days": "Payment terms (days)",
    "credit_limit": "Credit limit",
    "po_number": "PO number",
    "description": "Description",
    "reason": "Reason",
    "reason_code": "Reason code",
    "opened_date": "Opened",
    "closed_date": "Closed",
    "resolution": "Resolution",
    "applied_date": "Applied on",
    "approved_by": "Approved by",
    "timestamp": "Time",
    "kind": "Activity",
    "note": "Note",
    "promise_date": "Promised for",
    "rate_to_report": "Rate to report currency",
}

# stems of the ``*_minor`` money columns (open_minor -> "Open balance")
_MINOR_STEMS = {"amount": "Amount", "open": "Open balance", "applied": "Applied",
                "credited": "Credited", "written_off": "Written off", "unapplied": "Unapplied cash",
                "promise_amount": "Promised amount"}
for _stem, _label in _MINOR_STEMS.items():
    LABELS.setdefault(_stem, _label)
    LABELS[f"{_stem}_minor"] = _label

_BUCKET_RE = re.compile(r"^(\d+)-(\d+)$")
_OVER_RE = re.compile(r"^over_(\d+)$")


def label_for(name: str) -> str:
    """The business label of a column name: :data:`LABELS`, then the ``_minor`` stem, then
    aging buckets (``"1-15"`` -> ``"1–15 days"``, ``"over_90"`` -> ``"Over 90 days"``), then
    the name with ``_`` as spaces and a capital first letter."""
    name = str(name)
    if name in LABELS:
        return LABELS[name]
    if name.endswith("_minor") and len(name) > len("_minor"):
        return label_for(name[: -len("_minor")])
    if m := _BUCKET_RE.match(name):
        return f"{m.group(1)}–{m.group(2)} days"
    if m := _OVER_RE.match(name):
        return f"Over {m.group(1)} days"
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass
class Table:
    """One table of a report, described once for HTML and Excel.

    Parameters
    ----------
    name : str
        Slug: the Excel sheet name (first 31 characters) and file stem.
    title : str
        Human title (``"Aging by currency as of 30 Sep 2026"``).
    frame : DataFrame
        The data: money columns as integer minor units, with a per-row ``currency`` column
        or a fixed ``currency``.
    columns : dict, optional
        Code name -> business label, in display order; ``None``: every column of the frame
        with labels from :func:`label_for`.
    money : list of str
        Columns of integer minor units.
    currency : str, optional
        The currency of every money column when the frame has no ``currency`` column.
    pct : list of str
        Columns in percent units (``12.3456`` -> ``"12.3 %"``).
    ratio_pct : list of str
        Columns as fractions (``0.123`` -> ``"12.3 %"``).
    integers : list of str
        Counts, with thousands separators; summed in the totals.
    decimals : dict
        Other numbers and their decimals (``{"days_unapplied": 1}``).
    dates : list of str
        Dates and timestamps, shown ``2026-09-30``.
    totals : bool
        Add a total row (one per currency when there are several): money and ``integers``
        summed exactly.
    note : str
        Footnote under the table (source, formula).
    max_rows : int, optional
        HTML shows only the first ``max_rows`` rows (and the totals); the workbook has all.
    """

    name: str
    title: str
    frame: pd.DataFrame
    columns: dict[str, str] | None = None
    money: list[str] = ()
    currency: str | None = None
    pct: list[str] = ()
    ratio_pct: list[str] = ()
    integers: list[str] = ()
    decimals: dict[str, int] = field(default_factory=dict)
    dates: list[str] = ()
    totals: bool = False
    note: str = ""
    max_rows: int | None = None


