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
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .aging import load_aging_policy
from .collections import CONTACT_KINDS, load_collections_policy, worklist
from .disputes import DisputePolicy, activities_known_by, dispute_states, load_dispute_policy
from .io.writer import atomic_path, atomic_write_text
from .kpis import promise_outcomes
from .ledger import Ledger
from .master import customers_as_of
from .money import format_amount, format_money, to_decimal

PROMISES_SHOWN = 10     # promises on the page (the workbook lists every one)

__all__ = ["account_brief", "team_summary", "summary_totals", "summary_name", "write_briefs",
           "write_summary", "brief_html", "summary_html", "bucket_title", "ledger_end_note",
           "KIND_TEXT"]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html", "j2"]))

KIND_TEXT = {"call": "Call", "email": "E-mail", "letter": "Letter",
             "promise_to_pay": "Promise to pay", "dispute": "Dispute raised",
             "escalation": "Escalation", "note": "Note", "suspension": "Suspension"}
OUTCOME_TEXT = {"kept": "Kept", "broken": "Broken", "pending": "Pending"}
#: dunning stages from which an account is escalated to its sales representative
ESCALATED = ("escalate_to_sales", "suspension")
CONTACTS_SHOWN = 5
_NO_OPEN_ITEMS = "No open items: nothing to chase."
NOTE_EXCERPT = 80       # characters of a contact's note on the page (the workbook has all)
WEEK = pd.Timedelta(days=7)


def bucket_title(label: str) -> str:
    """An aging bucket for people: ``current`` -> ``Current``, ``1-30`` -> ``1-30 days``,
    ``over_120`` -> ``Over 120 days``."""
    if label == "current":
        return "Current"
    if label.startswith("over_"):
        return f"Over {label[5:]} days"
    return f"{label} days" if label[:1].isdigit() else label.replace("_", " ").capitalize()


def _plain(text: str) -> str:
    """A worklist text without codes (``stage escalate_to_sales`` -> ``stage escalate to
    sales``), first letter capitalised."""
    text = str(text).replace("_", " ")
    return text[:1].upper() + text[1:]


def _day(ts) -> str:
    return "" if ts is None or pd.isna(ts) else str(pd.Timestamp(ts).date())


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def _date(ts) -> dt.date | None:
    """A day as a ``datetime.date`` (an Excel date in a workbook), None when missing."""
    if ts is None or pd.isna(ts):
        return None
    ts = pd.Timestamp(ts)
    return (ts.tz_convert(None) if ts.tzinfo is not None else ts).date()


def _excerpt(text: str, limit: int = NOTE_EXCERPT) -> str:
    """The start of a note, on one line, cut at a word with "…" when longer than ``limit``."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut).rstrip(" ,;:.") + "…"


def _overdue(days: int) -> tuple[int | None, str]:
    """A dispute's days past its due date: (the number, or None while not overdue; the text
    for people). Zero or less is not overdue: "due today" or "not due", never "0"."""
    days = int(days)
    if days > 0:
        return days, f"{days} days overdue" if days != 1 else "1 day overdue"
    return None, "due today" if days == 0 else "not due"


def ledger_end_note(ledger: Ledger, D: pd.Timestamp) -> str:
    """What a page says when its date is after the ledger's last date ("" otherwise)."""
    last = ledger.last_date
    if last is None or D <= last:
        return ""
    return (f"The ledger ends on {last.date()}; anything since is not in it (the figures are "
            f"the ledger's as it stands, not the position on {D.date()}).")


# =========================================================================== one account

def _worklist(ledger: Ledger, D, activities, events) -> pd.DataFrame:
    """The worklist on ``D`` with every dispute open then (the ledger's and the
    workbench's), so the next action and escalation see the disputes the brief shows."""
    st = dispute_states(ledger, D, events, activities)
    return worklist(ledger, D, activities=activities, disputes=st[st["is_open"]])


def account_brief(ledger: Ledger, customer_id: str, as_of, *,
                  activities: pd.DataFrame | None = None, events=None,
                  dispute_policy: DisputePolicy | None = None,
                  work: pd.DataFrame | None = None, without_history: str = "strict") -> dict:
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
    st = dispute_states(ledger, D, events, activities, dpol)
    st = st[st["is_open"] & (st["customer_id"] == customer_id)]
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
    work = _worklist(ledger, D, activities, events) if work is None else work
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

    from .reporting.excel import amount_format     # the currency's ISO 4217 decimals
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
    work = _worklist(ledger, D, activities, events)
    dpol = load_dispute_policy()
    written = []
    for cid in customer_ids:
        data = account_brief(ledger, cid, D, activities=activities, events=events,
                             dispute_policy=dpol, work=work)
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


# =========================================================================== the team

def team_summary(ledger: Ledger, customer_ids: list[str], as_of, *,
                 activities: pd.DataFrame | None = None, events=None) -> pd.DataFrame:
    """The team's accounts on one page: one row per (account, currency), most urgent first.

    Columns: ``worklist_rank`` (the account's rank in :func:`workbench.collections.worklist`
    on ``as_of``; None without open items), ``customer_id, customer_name, currency,
    balance_minor, past_due_minor, balance_change_minor, past_due_change_minor`` (against
    the same figures seven days before ``as_of``), ``promises_due, promises_due_minor``
    (pending promises whose date falls in the seven days after ``as_of``),
    ``disputes_past_due, disputes_past_due_minor`` (open disputes past their due date),
    ``next_action``. Rows are in the worklist's order (its priority, most urgent first);
    accounts without open items follow, by customer id.
    """
    D = ledger.require_data_by(as_of)
    activities = activities_known_by(activities, D)
    before = D - WEEK
    now_items = ledger.open_items(D, customer_columns=())
    then_items = ledger.open_items(before, customer_columns=())
    p = promise_outcomes(ledger, D, activities)
    p = p[(p["status"] == "pending") & (p["promise_date"] > D) & (p["promise_date"] <= D + WEEK)]
    st = dispute_states(ledger, D, events, activities)
    st = st[st["is_open"] & (st["days_overdue"] > 0)]
    work = _worklist(ledger, D, activities, events)
    names = ledger.customers.set_index("customer_id")["name"]
    cur_of = ledger.customers.set_index("customer_id")["currency"]
    rows = []
    for cid in customer_ids:
        curs = sorted(set(now_items.loc[now_items["customer_id"] == cid, "currency"])
                      | set(then_items.loc[then_items["customer_id"] == cid, "currency"])
                      or {cur_of[cid]})
        for cur in curs:
            def sums(items):
                m = items[(items["customer_id"] == cid) & (items["currency"] == cur)]
                return int(m["open_minor"].sum()), int(m.loc[m["days_past_due"] > 0, "open_minor"].sum())
            bal, pdue = sums(now_items)
            bal0, pdue0 = sums(then_items)
            pm = p[(p["customer_id"] == cid) & (p["currency"] == cur)]
            dm = st[(st["customer_id"] == cid) & (st["currency"] == cur)]
            w = work[(work["customer_id"] == cid) & (work["currency"] == cur)]
            rows.append({"worklist_rank": int(w["rank"].iloc[0]) if len(w) else None,
                         "customer_id": cid, "customer_name": names[cid], "currency": cur,
                         "balance_minor": bal, "past_due_minor": pdue,
                         "balance_change_minor": bal - bal0, "past_due_change_minor": pdue - pdue0,
                         "promises_due": len(pm),
                         "promises_due_minor": int(pm["promise_amount_minor"].sum()),
                         "disputes_past_due": len(dm),
                         "disputes_past_due_minor": int(dm["amount_minor"].sum()),
                         "next_action": _plain(w["next_action"].iloc[0]) if len(w) else
                         _NO_OPEN_ITEMS})
    columns = ["worklist_rank", "customer_id", "customer_name", "currency", "balance_minor",
               "past_due_minor", "balance_change_minor", "past_due_change_minor",
               "promises_due", "promises_due_minor", "disputes_past_due",
               "disputes_past_due_minor", "next_action"]
    out = pd.DataFrame(rows, columns=columns)
    # the worklist's order: its rank already holds the priority (and, without fx rates, the
    # ranking within each currency); accounts with nothing open come last, by id
    out["worklist_rank"] = out["worklist_rank"].astype("Int64")
    out = out.sort_values(["worklist_rank", "customer_id", "currency"], na_position="last",
                          kind="stable").reset_index(drop=True)
    out.attrs.update({"as_of": str(D.date()), "week_before": str(before.date()),
                      "ranking": work.attrs.get("ranking", ""),
                      "ledger_note": ledger_end_note(ledger, D)})
    return out


_SUM_COLUMNS = ("balance_minor", "past_due_minor", "balance_change_minor",
                "past_due_change_minor", "promises_due", "promises_due_minor",
                "disputes_past_due", "disputes_past_due_minor")


def summary_totals(table: pd.DataFrame) -> pd.DataFrame:
    """The summary's totals, one row per currency: every amount and count summed (integer
    minor units, exact; never added across currencies)."""
    if not len(table):
        return pd.DataFrame(columns=["currency", "accounts", *_SUM_COLUMNS])
    g = table.groupby("currency", sort=True)
    out = g[list(_SUM_COLUMNS)].sum().astype("int64")
    out.insert(0, "accounts", g["customer_id"].nunique().astype("int64"))
    return out.reset_index()


#: the summary's columns for people (HTML: short headers under spanners; Excel: full)
_SUMMARY_EXCEL = [("worklist_rank", "Worklist rank"), ("customer_id", "Account number"),
                  ("customer_name", "Account"), ("currency", "Currency"),
                  ("balance_minor", "Balance"), ("past_due_minor", "Past due"),
                  ("balance_change_minor", "Balance change (7 days)"),
                  ("past_due_change_minor", "Past due change (7 days)"),
                  ("promises_due", "Promises due (next 7 days)"),
                  ("promises_due_minor", "Promised amount (next 7 days)"),
                  ("disputes_past_due", "Disputes past due"),
                  ("disputes_past_due_minor", "Disputed amount past due"),
                  ("next_action", "Next action")]
_MONEY = {"balance_minor", "past_due_minor", "balance_change_minor", "past_due_change_minor",
          "promises_due_minor", "disputes_past_due_minor"}
_SIGNED = {"balance_change_minor", "past_due_change_minor"}


def _amount(minor: int, cur: str, signed: bool = False) -> str:
    """An amount in a table with a currency column: separators and the currency's
    decimals, no code (``+1,234.50``)."""
    text = format_amount(int(minor), cur, thousands=True)
    return ("+" + text) if signed and minor > 0 else text


def _goals_frame(ledger: Ledger, as_of, goals, collector: str | None = None,
                 activities: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The KPIs against the goals that apply (:func:`summary_goals`), as numbers."""
    from .goals import kpis_against_targets

    D = ledger.require_data_by(as_of)
    activities = activities_known_by(activities, D)
    month_end = D if D == D + pd.offsets.MonthEnd(0) else D - pd.offsets.MonthEnd(1)
    quarter_end = D if D == D + pd.offsets.QuarterEnd(0) else D - pd.offsets.QuarterEnd(1)
    who = f"{collector}'s" if collector else "the company's"
    frame, period, kind = pd.DataFrame(), "", "monthly"
    # the latest closed month's monthly targets, else the latest closed quarter's quarterly
    for period, kind in ((f"{month_end.year:04d}-{month_end.month:02d}", "monthly"),
                         (f"{quarter_end.year:04d}Q{quarter_end.quarter}", "quarterly")):
        frame = kpis_against_targets(ledger, period, goals, by="collector" if collector else None,
                                     activities=activities)
        if collector and len(frame):
            frame = frame[frame["name"] == collector]
        if len(frame):
            break
    return frame, f"Against {who} {kind} goals, {period} ({goals.label})"


def summary_goals(ledger: Ledger, as_of, goals, collector: str | None = None,
                  activities: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The team against its goals for the summary: the latest month that ended on or before
    ``as_of`` (monthly targets), else the latest such quarter (quarterly targets); the
    collector's own targets (``collector``) or the company's.
    Returns (the goals table for people, its heading); an empty table when no target applies."""
    from .goals import goals_display
    frame, title = _goals_frame(ledger, as_of, goals, collector, activities)
    return goals_display(frame), title


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (not isinstance(v, str) and pd.isna(v))


def _goal_cells(r: dict) -> tuple[list, list[str]]:
    """One goal row for the workbook: (values, number formats of Actual, Target, Variance,
    Variance %). Money exact in the currency's decimals; days and counts as numbers with
    their unit in the format; percentages as Excel percentages (variance in points)."""
    from .reporting.excel import amount_format
    unit, cur = r["unit"], r["currency"]
    vals = [r["actual"], r["target"], r["variance"]]
    if unit == "money":
        nums = [None if _missing(v) else to_decimal(int(v), cur) for v in vals]
        fmt = amount_format(cur)
        fmts = [fmt, fmt, "+" + fmt + ";-" + fmt + ";" + fmt]
        unit_text = cur
    elif unit == "percent":
        nums = [None if _missing(v) else round(float(v) / 100, 10) for v in vals[:2]]
        nums.append(None if _missing(vals[2]) else float(vals[2]))
        fmts = ["0.0%", "0.0%", '+0.0 "pp";-0.0 "pp";0.0 "pp"']
        unit_text = "%"
    elif unit == "count":
        nums = [None if _missing(v) else int(v) for v in vals]
        fmts = ["#,##0", "#,##0", "+#,##0;-#,##0;0"]
        unit_text = "count"
    else:
        nums = [None if _missing(v) else float(v) for v in vals]
        fmts = ['0.0 "days"', '0.0 "days"', '+0.0 "days";-0.0 "days";0.0 "days"']
        unit_text = "days"
    pct = r["variance_pct"]
    nums.append(None if _missing(pct) else round(float(pct) / 100, 10))
    fmts.append("+0.0%;-0.0%;0.0%")
    scope = (r["scope"].capitalize() if r["name"] == "company"
             else f"{r['scope'].capitalize()}: {r['name']}")
    return [scope, r["goal_name"], cur, unit_text, *nums, r["status"] or "no data"], fmts


def _brief_links(out: Path, ids, link_briefs: bool | None) -> dict[str, str]:
    """customer id -> the brief's file name, for the accounts whose brief is linked."""
    if link_briefs is False:
        return {}
    names = {cid: f"brief-{_file_part(cid)}.html" for cid in ids}
    return names if link_briefs else {c: n for c, n in names.items() if (out / n).exists()}


def summary_html(table: pd.DataFrame, title: str, goals_table: pd.DataFrame | None = None,
                 goals_title: str = "", links: dict[str, str] | None = None) -> str:
    """The summary page; ``links`` maps a customer id to its brief's (relative) file name."""
    links = links or {}
    rows = []
    for r in table.to_dict("records"):
        cur = r["currency"]
        rank = r.get("worklist_rank")
        rows.append({"rank": "" if _missing(rank) else int(rank),
                     "customer_id": r["customer_id"], "customer_name": r["customer_name"],
                     "link": links.get(r["customer_id"], ""), "currency": cur,
                     "next_action": r["next_action"],
                     "cells": [_amount(r[c], cur, c in _SIGNED) if c in _MONEY else r[c]
                               for c in _SUM_COLUMNS]})
    totals = [{"currency": t["currency"], "accounts": t["accounts"],
               "cells": [_amount(t[c], t["currency"], c in _SIGNED) if c in _MONEY else t[c]
                         for c in _SUM_COLUMNS]}
              for t in summary_totals(table).to_dict("records")]
    return _env.get_template("brief_summary.html.j2").render(
        title=title, as_of=table.attrs["as_of"], week_before=table.attrs["week_before"],
        ranking=table.attrs.get("ranking", ""), ledger_note=table.attrs.get("ledger_note", ""),
        rows=rows, totals=totals, goals_title=goals_title,
        goals_columns=[] if goals_table is None else list(goals_table.columns),
        goals_rows=[] if goals_table is None else goals_table.values.tolist())


def summary_name(as_of, collector: str | None = None) -> str:
    """The summary's file name without suffix: ``summary-<collector or accounts>-<date>``,
    so two collectors' summaries of one date do not overwrite each other."""
    return f"summary-{_file_part(collector) if collector else 'accounts'}-{pd.Timestamp(as_of).date()}"


def write_summary(ledger: Ledger, customer_ids: list[str], as_of, out: str | Path, *,
                  title: str = "Weekly account summary", activities=None, events=None,
                  goals=None, collector: str | None = None,
                  link_briefs: bool | None = None) -> list[Path]:
    """Write ``<out>/summary-<collector or accounts>-<as_of>.html`` and ``.xlsx``
    (:func:`summary_name`); returns the files. With ``goals``
    (:func:`workbench.goals.load_goals`), the team against them (:func:`summary_goals`).
    ``link_briefs``: link each account to ``brief-<customer>.html`` in the same folder
    (None: those whose brief is there when the summary is written)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .goals import goals_display
    from .reporting.excel import amount_format
    table = team_summary(ledger, customer_ids, as_of, activities=activities, events=events)
    gframe, gtitle = (_goals_frame(ledger, as_of, goals, collector, activities)
                      if goals is not None else (None, ""))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    links = _brief_links(out, table["customer_id"].unique(), link_briefs)
    name = summary_name(table.attrs["as_of"], collector)
    html = out / f"{name}.html"
    atomic_write_text(html, summary_html(table, title, None if gframe is None else
                                         goals_display(gframe), gtitle, links))
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append([f"{title} as of {table.attrs['as_of']} (changes since {table.attrs['week_before']})"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([table.attrs["ledger_note"] or None])
    ws.append([label for _, label in _SUMMARY_EXCEL])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    money_cols = [i + 1 for i, (c, _) in enumerate(_SUMMARY_EXCEL) if c in _MONEY]
    signed_cols = {i + 1 for i, (c, _) in enumerate(_SUMMARY_EXCEL) if c in _SIGNED}
    name_col = 1 + [c for c, _ in _SUMMARY_EXCEL].index("customer_name")

    def fmt_row(cur):
        fmt = amount_format(cur)
        for col in money_cols:
            ws.cell(row=ws.max_row, column=col).number_format = (
                f"+{fmt};-{fmt};{fmt}" if col in signed_cols else fmt)

    for r in table.to_dict("records"):
        cur = r["currency"]
        ws.append([None if _missing(r[c]) else
                   _money_cell(r[c], cur) if c in _MONEY else
                   int(r[c]) if c in ("worklist_rank", "promises_due", "disputes_past_due")
                   else r[c] for c, _ in _SUMMARY_EXCEL])
        fmt_row(cur)
        if r["customer_id"] in links:   # the brief's workbook beside the summary's
            cell = ws.cell(row=ws.max_row, column=name_col)
            cell.hyperlink = links[r["customer_id"]][:-len(".html")] + ".xlsx"
            cell.style = "Hyperlink"
    # totals per currency (exact sums of minor units; never across currencies)
    for t in summary_totals(table).to_dict("records"):
        cur = t["currency"]
        values = {"customer_name": f"Total ({t['accounts']} account(s))", "currency": cur,
                  **{c: _money_cell(t[c], cur) if c in _MONEY else int(t[c])
                     for c in _SUM_COLUMNS}}
        ws.append([values.get(c) for c, _ in _SUMMARY_EXCEL])
        fmt_row(cur)
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
    for col, width in zip("ABCDEFGHIJKLM", (10, 14, 30, 10, 16, 16, 18, 18, 14, 18, 12, 18, 60)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "D4"
    if gframe is not None:
        wg = wb.create_sheet("Goals")
        wg.append([gtitle])
        wg["A1"].font = Font(bold=True, size=14)
        wg.append([])
        wg.append(["Scope", "KPI", "Currency", "Unit", "Actual", "Target", "Variance",
                   "Variance %", "Status"])
        for cell in wg[wg.max_row]:
            cell.font = Font(bold=True)
        for r in gframe.to_dict("records"):
            values, fmts = _goal_cells(r)
            wg.append(values)
            for col, f in zip(range(5, 9), fmts):
                wg.cell(row=wg.max_row, column=col).number_format = f
        if not len(gframe):
            wg.append(["No goal in the goals file applies to this team for that period."])
        for col, width in zip("ABCDEFGHI", (24, 26, 10, 8, 16, 16, 16, 12, 12)):
            wg.column_dimensions[col].width = width
    xlsx = out / f"{name}.xlsx"
    with atomic_path(xlsx) as tmp:
        wb.save(tmp)
    return [html, xlsx]
