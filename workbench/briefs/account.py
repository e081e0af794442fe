"""One page per account (HTML and Excel): where the account stands on a date."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..aging import load_aging_policy
from ..collections import (CONTACT_KINDS, activities_known_by, load_collections_policy,
                           worklist)
from ..disputes import DisputePolicy, dispute_states, load_dispute_policy
from ..io.writer import atomic_path, atomic_write_text
from ..kpis import promise_outcomes
from ..ledger import Ledger
from ..master import customers_as_of
from ..money import format_money, to_decimal
from .common import (
    _NO_OPEN_ITEMS,
    CONTACTS_SHOWN,
    ESCALATED,
    KIND_TEXT,
    OUTCOME_TEXT,
    PROMISES_SHOWN,
    _date,
    _day,
    _env,
    _excerpt,
    _overdue,
    _plain,
    _text,
    bucket_title,
    ledger_end_note,
)


def _worklist(ledger: Ledger, D, activities, states: pd.DataFrame) -> pd.DataFrame:
    """The worklist on ``D`` with every dispute open then (``states``: the ledger's and the
    workbench's), so the next action and escalation see the disputes the brief shows."""
    return worklist(ledger, D, activities=activities, disputes=states[states["is_open"]])


def account_brief(ledger: Ledger, customer_id: str, as_of, *,
                  activities: pd.DataFrame | None = None, events=None,
                  dispute_policy: DisputePolicy | None = None,
                  work: pd.DataFrame | None = None, without_history: str = "strict",
                  states: pd.DataFrame | None = None) -> dict:
    """Everything one account's brief shows, as of a date (amounts as exact integers and as
    text in their currency).

    Parameters
    ----------
    ledger : Ledger
    customer_id : str
    as_of : str or date
    activities : DataFrame, optional
        The activity frame (ledger and log; default the ledger's activities).
    events : StateDB, StateRows or list of dict, optional
        ``dispute_events`` rows (owners, due dates, statuses).
    work : DataFrame, optional
        The worklist as of ``as_of`` (computed when omitted).
    without_history : {"strict", "assume_unchanged"}
        The collector and status are the customer master's *on the as-of date*
        (:func:`workbench.master.customers_as_of`); without a change history for a past
        date, ``strict`` shows them as unknown. The sales representative has no change
        history: it is the current master's (``master_notes`` says so).

    Returns
    -------
    dict
        ``customer`` (name, number, collector, sales representative, status), ``as_of``,
        ``sections`` (one per currency: balance, past due, aging buckets), ``contacts``,
        ``promises``, ``disputes``, ``next_action``, ``stage``, ``escalation``.
    """
    D = ledger.require_data_by(as_of)
    cust = ledger.customers.set_index("customer_id")
    if customer_id not in cust.index:
        raise ValueError(f"unknown customer {customer_id!r}")
    c = cust.loc[customer_id]
    rep = _text(c.get("sales_rep")).strip() if "sales_rep" in cust.columns else ""
    master, master_notes = customers_as_of(ledger, D, ("collector", "status"), without_history)
    on_d = master.set_index("customer_id").loc[customer_id]
    unknown = f"unknown on {D.date()} (no customer master history)"

    def as_of_value(field: str, none: str) -> str:
        v = on_d.get(field)
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            today = c.get(field)
            return unknown if isinstance(today, str) and today.strip() else none
        return _text(v).strip() or none
    if rep:
        master_notes = [*master_notes, "sales representative: the current customer master's "
                        "(no change history is kept for it)"]
    # only what the workbench knew by the end of the as-of day
    activities = activities_known_by(activities, D)
    acts = ledger.activities if activities is None else activities
    policy = load_aging_policy()
    items = ledger.open_items(D, customer_columns=("name",))
    items = items[items["customer_id"] == customer_id]
    sections = []
    for cur in sorted(set(items["currency"]) or {c["currency"]}):
        mine = items[items["currency"] == cur]
        idx = policy.bucket_of(mine["days_past_due"].to_numpy())
        sums = [int(mine["open_minor"].to_numpy()[idx == i].sum()) for i in range(len(policy.labels))]
        balance = int(mine["open_minor"].sum())
        past_due = int(mine.loc[mine["days_past_due"] > 0, "open_minor"].sum())
        sections.append({
            "currency": cur, "balance_minor": balance, "balance": format_money(balance, cur),
            "past_due_minor": past_due, "past_due": format_money(past_due, cur),
            "invoices": len(mine),
            "oldest_days": int(mine["days_past_due"].max()) if len(mine) else 0,
            "buckets": [{"label": bucket_title(lab), "minor": v, "amount": format_money(v, cur)}
                        for lab, v in zip(policy.labels, sums)]})
    # last contacts, newest first, as known on the as-of date
    a = acts[(acts["customer_id"] == customer_id) & acts["kind"].isin(CONTACT_KINDS)]
    if len(a):
        a = a[a["timestamp"].dt.tz_convert(None).dt.normalize() <= D]
        a = a.sort_values("timestamp", ascending=False, kind="stable").head(CONTACTS_SHOWN)
    # the invoice and the start of the note tell apart contacts of the same day and kind
    contacts = [{"date": _day(r["timestamp"].tz_convert(None)), "day": _date(r["timestamp"]),
                 "kind": KIND_TEXT.get(r["kind"], r["kind"]),
                 "invoice_id": _text(r.get("invoice_id")), "by": _text(r.get("collector")),
                 "note": _text(r.get("note")), "note_excerpt": _excerpt(_text(r.get("note")))}
                for r in a.to_dict("records")]
    # promises and their outcome
    p = promise_outcomes(ledger, D, activities)
    p = p[p["customer_id"] == customer_id].sort_values("made", ascending=False, kind="stable")
    promises = [{"made": _day(r["made"]), "promise_date": _day(r["promise_date"]),
                 "made_day": _date(r["made"]), "promise_day": _date(r["promise_date"]),
                 "currency": r["currency"], "amount_minor": int(r["promise_amount_minor"]),
                 "received_minor": int(r["received_minor"]),
                 "amount": format_money(int(r["promise_amount_minor"]), r["currency"]),
                 "received": format_money(int(r["received_minor"]), r["currency"]),
                 "outcome": OUTCOME_TEXT.get(r["status"], r["status"])}
                for r in p.to_dict("records")]
    # the page shows the latest PROMISES_SHOWN with a twelve-month count (by the day each
    # promise was made); the workbook has all. The worklist counts broken promises over
    # another window (the collections policy's lookback, by promise date): both are labelled.
    year = p[p["made"] > D - pd.DateOffset(months=12)]
    kept, broken = int((year["status"] == "kept").sum()), int((year["status"] == "broken").sum())
    promise_summary = (f"Promises made in the last 12 months: {len(year)}; kept: {kept}; "
                       f"broken in the last 12 months: {broken}"
                       + (f" (kept rate {kept / (kept + broken):.0%} of those decided)"
                          if kept + broken else "") + ".")
    # open disputes with their owners
    dpol = dispute_policy or load_dispute_policy()
    if states is None:          # a caller writing many briefs passes them once
        states = dispute_states(ledger, D, events, activities, dpol)
    st = states[states["is_open"] & (states["customer_id"] == customer_id)]
    disputes = [{"dispute_id": r["dispute_id"], "invoice_id": _text(r["invoice_id"]),
                 "currency": r["currency"], "amount_known": bool(r.get("amount_known", True)),
                 "amount_minor": int(r["amount_minor"]),
                 "amount": format_money(int(r["amount_minor"]), r["currency"])
                 if r.get("amount_known", True) else "amount unknown (see the dispute's notes)",
                 "reason": r["reason"],
                 "owner": r["owner_label"] + (f" ({r['owner_name']})" if r["owner_name"] else "")
                 + ("" if r["assigned"] else " — by policy, not yet assigned"),
                 "due": _day(r["due_date"]), "due_day": _date(r["due_date"]),
                 "status": r["status_label"],
                 "overdue_days": _overdue(r["days_overdue"])[0],
                 "overdue": _overdue(r["days_overdue"])[1],
                 "opened": _day(r["opened_date"])}
                for r in st.to_dict("records")]
    # next action and escalation
    work = _worklist(ledger, D, activities, states) if work is None else work
    row = work[work["customer_id"] == customer_id]
    lookback = load_collections_policy().suspension_lookback_days
    if len(row):
        r0 = row.iloc[0]        # the most urgent of the account's currencies
        next_action, stage = _plain(r0["next_action"]), _text(r0.get("stage"))
        tiers = [(r["currency"], _plain(r["tier"])) for r in row.to_dict("records")
                 if _text(r.get("tier"))]
        tier = (tiers[0][1] if len(tiers) == 1 else
                ", ".join(f"{t} ({cur})" for cur, t in tiers))
        worklist_broken = int(r0.get("broken_promises", 0) or 0)
    else:
        next_action, stage, tier, worklist_broken = _NO_OPEN_ITEMS, "", "", 0
    rep_text = rep or "none on file"
    # escalation to sales follows the dunning stage alone; the worklist's tier (who works
    # the account, by its past-due amount) is another fact, shown beside it
    if stage in ESCALATED:
        escalation = f"Escalate to the sales representative: {rep_text}."
    else:
        escalation = (f"Not escalated to sales (that starts at the escalate-to-sales dunning "
                      f"stage). Sales representative: {rep_text}.")
    standing = (f"Dunning stage: {_plain(stage) if stage else 'none (nothing past due)'} · "
                f"worklist tier: {tier or 'none (nothing past due)'} (who works the account, "
                f"by its past-due amount).")
    return {
        "customer": {"customer_id": customer_id, "name": _text(c["name"]),
                     "collector": as_of_value("collector", "none on file"),
                     "sales_rep": rep_text,
                     "status": (lambda v: v if v == unknown else v.capitalize())(
                         as_of_value("status", "active"))},
        "master_notes": master_notes,
        "as_of": str(D.date()), "sections": sections, "contacts": contacts,
        "promises": promises, "promises_shown": promises[:PROMISES_SHOWN],
        "promise_summary": promise_summary, "worklist_broken": worklist_broken,
        "worklist_broken_text": (f"The worklist counts {worklist_broken} broken promise(s) in "
                                 f"the last {lookback} days (by promise date) for its priority "
                                 f"and the suspension test."),
        "broken_window_days": lookback, "disputes": disputes, "next_action": next_action,
        "stage": _plain(stage) if stage else "", "tier": tier, "escalation": escalation,
        "standing": standing, "ledger_note": ledger_end_note(ledger, D),
        "aging_policy": f"{policy.name} {policy.version}", "dispute_policy": dpol.label}


def brief_html(data: dict) -> str:
    return _env.get_template("brief.html.j2").render(**data)


DATE_FORMAT = "yyyy-mm-dd"


def _money_cell(minor: int | None, currency: str) -> Decimal | None:
    """An amount for a workbook cell: exact in the currency's decimals (a Decimal is
    written as its digits), None when unknown."""
    return None if minor is None else to_decimal(int(minor), currency)


def _sheet_brief(ws, data: dict) -> None:
    """The brief as one sheet: amounts as numbers in their currency's decimals with the
    currency in its own column, dates as Excel dates."""
    from openpyxl.styles import Font

    from ..reporting.excel import amount_format  # the currency's ISO 4217 decimals
    bold = Font(bold=True)

    def head(*cells):
        ws.append(list(cells))
        for cell in ws[ws.max_row]:
            cell.font = bold

    def append(values, money=(), dates=(), currency=None):
        """A row; ``money`` and ``dates`` are 1-based columns to format."""
        ws.append(list(values))
        for col in money:
            ws.cell(row=ws.max_row, column=col).number_format = amount_format(currency)
        for col in dates:
            ws.cell(row=ws.max_row, column=col).number_format = DATE_FORMAT

    ws.append([f"Account brief: {data['customer']['name']}"])
    ws["A1"].font = Font(bold=True, size=14)
    fields = [("As of", dt.date.fromisoformat(data["as_of"])),
              ("Account number", data["customer"]["customer_id"]),
              ("Collector", data["customer"]["collector"]),
              ("Sales representative", data["customer"]["sales_rep"]),
              ("Status", data["customer"]["status"]),
              ("Next action", data["next_action"]), ("Escalation", data["escalation"]),
              ("Dunning stage", data["stage"] or "none (nothing past due)"),
              ("Worklist tier", data["tier"] or "none (nothing past due)"),
              (f"Broken promises, last {data['broken_window_days']} days (worklist)",
               data["worklist_broken"])]
    if data.get("ledger_note"):
        fields.append(("Ledger", data["ledger_note"]))
    for k, v in fields:
        append([k, v], dates=(2,) if isinstance(v, dt.date) else ())
        ws.cell(row=ws.max_row, column=1).font = bold
    for s in data["sections"]:
        cur = s["currency"]
        ws.append([])
        head("Currency", "Balance", "Past due", *[b["label"] for b in s["buckets"]])
        append([cur, _money_cell(s["balance_minor"], cur), _money_cell(s["past_due_minor"], cur),
                *[_money_cell(b["minor"], cur) for b in s["buckets"]]],
               money=range(2, 4 + len(s["buckets"])), currency=cur)

    ws.append([])
    head("Last contacts")
    head("Date", "Contact", "Invoice", "By", "Note")
    for r in data["contacts"]:
        append([r["day"], r["kind"], r["invoice_id"] or None, r["by"] or None, r["note"] or None],
               dates=(1,))
    if not data["contacts"]:
        ws.append(["none"])

    ws.append([])
    head("Promises to pay")
    ws.append([data["promise_summary"]])
    head("Made", "Promised for", "Amount", "Received", "Currency", "Outcome")
    for r in data["promises"]:
        append([r["made_day"], r["promise_day"], _money_cell(r["amount_minor"], r["currency"]),
                _money_cell(r["received_minor"], r["currency"]), r["currency"], r["outcome"]],
               money=(3, 4), dates=(1, 2), currency=r["currency"])
    if not data["promises"]:
        ws.append(["none"])

    ws.append([])
    head("Open disputes")
    head("Dispute", "Invoice", "Amount", "Currency", "Reason", "Owner", "Due", "Days overdue",
         "Status")
    for r in data["disputes"]:
        # days overdue: a number once past the due date, "not due" / "due today" before
        overdue = r["overdue_days"] if r["overdue_days"] is not None else r["overdue"]
        append([r["dispute_id"], r["invoice_id"] or None,
                _money_cell(r["amount_minor"], r["currency"]) if r["amount_known"] else
                r["amount"], r["currency"], r["reason"], r["owner"], r["due_day"], overdue,
                r["status"]], money=(3,) if r["amount_known"] else (), dates=(7,),
               currency=r["currency"])
    if not data["disputes"]:
        ws.append(["none"])
    for col, width in zip("ABCDEFGHI", (26, 16, 16, 16, 28, 30, 14, 14, 16)):
        ws.column_dimensions[col].width = width


def _file_part(text: str) -> str:
    """A customer id or a collector's name safe in a file name (``Ana María`` ->
    ``Ana_Mar_a``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._") or "account"


def write_briefs(ledger: Ledger, customer_ids: list[str], as_of, out: str | Path, *,
                 activities: pd.DataFrame | None = None, events=None) -> list[Path]:
    """Write ``<out>/brief-<customer>.html`` and ``.xlsx`` for each account; returns the
    files written."""
    from openpyxl import Workbook

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    D = ledger.require_data_by(as_of)
    activities = activities_known_by(activities, D)
    dpol = load_dispute_policy()
    states = dispute_states(ledger, D, events, activities, dpol)     # once for every brief
    work = _worklist(ledger, D, activities, states)
    written = []
    for cid in customer_ids:
        data = account_brief(ledger, cid, D, activities=activities, events=events,
                             dispute_policy=dpol, work=work, states=states)
        html = out / f"brief-{_file_part(cid)}.html"
        atomic_write_text(html, brief_html(data))
        wb = Workbook()
        ws = wb.active
        ws.title = "Brief"
        _sheet_brief(ws, data)
        xlsx = out / f"brief-{_file_part(cid)}.xlsx"
        with atomic_path(xlsx) as tmp:
            wb.save(tmp)
        written += [html, xlsx]
    return written


