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

The weekly summary lists the team's accounts with balance, past due, the change since the
same day a week earlier, promises falling due in the next seven days and disputes past
their due date.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .aging import load_aging_policy
from .collections import CONTACT_KINDS, worklist
from .disputes import DisputePolicy, activities_known_by, dispute_states, load_dispute_policy
from .io.writer import atomic_path, atomic_write_text
from .kpis import promise_outcomes

PROMISES_SHOWN = 10     # promises on the page (the workbook lists every one)
from .ledger import Ledger
from .master import customers_as_of
from .money import format_money, to_major_float

__all__ = ["account_brief", "team_summary", "write_briefs", "write_summary", "brief_html",
           "summary_html", "bucket_title", "KIND_TEXT"]

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
    contacts = [{"date": _day(r["timestamp"].tz_convert(None)), "kind": KIND_TEXT.get(r["kind"], r["kind"]),
                 "by": _text(r.get("collector")), "note": _text(r.get("note"))}
                for r in a.to_dict("records")]
    # promises and their outcome
    p = promise_outcomes(ledger, D, activities)
    p = p[p["customer_id"] == customer_id].sort_values("made", ascending=False, kind="stable")
    promises = [{"made": _day(r["made"]), "promise_date": _day(r["promise_date"]),
                 "amount_minor": int(r["promise_amount_minor"]),
                 "amount": format_money(int(r["promise_amount_minor"]), r["currency"]),
                 "received": format_money(int(r["received_minor"]), r["currency"]),
                 "outcome": OUTCOME_TEXT.get(r["status"], r["status"])}
                for r in p.to_dict("records")]
    # the page shows the latest PROMISES_SHOWN with a twelve-month count; the workbook has all
    year = p[p["made"] > D - pd.DateOffset(months=12)]
    kept, broken = int((year["status"] == "kept").sum()), int((year["status"] == "broken").sum())
    promise_summary = (f"Last 12 months: {len(year)} promise(s), {kept} kept, {broken} broken"
                       + (f" (kept rate {kept / (kept + broken):.0%} of those decided)"
                          if kept + broken else "") + ".")
    # open disputes with their owners
    dpol = dispute_policy or load_dispute_policy()
    st = dispute_states(ledger, D, events, activities, dpol)
    st = st[st["is_open"] & (st["customer_id"] == customer_id)]
    disputes = [{"dispute_id": r["dispute_id"], "invoice_id": _text(r["invoice_id"]),
                 "amount_minor": int(r["amount_minor"]),
                 "amount": format_money(int(r["amount_minor"]), r["currency"])
                 if r.get("amount_known", True) else "amount unknown (see the dispute's notes)",
                 "reason": r["reason"],
                 "owner": r["owner_label"] + (f" ({r['owner_name']})" if r["owner_name"] else "")
                 + ("" if r["assigned"] else " — by policy, not yet assigned"),
                 "due": _day(r["due_date"]), "status": r["status_label"],
                 "overdue_days": max(int(r["days_overdue"]), 0), "opened": _day(r["opened_date"])}
                for r in st.to_dict("records")]
    # next action and escalation
    work = _worklist(ledger, D, activities, events) if work is None else work
    row = work[work["customer_id"] == customer_id]
    if len(row):
        r0 = row.iloc[0]
        next_action, stage = _plain(r0["next_action"]), _text(r0.get("stage"))
    else:
        next_action, stage = "No open items: nothing to chase.", ""
    rep_text = rep or "none on file"
    if stage in ESCALATED:
        escalation = f"Escalate to the sales representative: {rep_text}."
    else:
        escalation = f"Not escalated. Sales representative: {rep_text}."
    return {
        "customer": {"customer_id": customer_id, "name": _text(c["name"]),
                     "collector": as_of_value("collector", "none on file"),
                     "sales_rep": rep_text,
                     "status": (lambda v: v if v == unknown else v.capitalize())(
                         as_of_value("status", "active"))},
        "master_notes": master_notes,
        "as_of": str(D.date()), "sections": sections, "contacts": contacts,
        "promises": promises, "promises_shown": promises[:PROMISES_SHOWN],
        "promise_summary": promise_summary, "disputes": disputes, "next_action": next_action,
        "stage": _plain(stage) if stage else "", "escalation": escalation,
        "aging_policy": f"{policy.name} {policy.version}", "dispute_policy": dpol.label}


def brief_html(data: dict) -> str:
    return _env.get_template("brief.html.j2").render(**data)


def _sheet_brief(ws, data: dict) -> None:
    from openpyxl.styles import Font

    from .reporting.excel import amount_format
    bold = Font(bold=True)

    def head(*cells):
        ws.append(list(cells))
        for cell in ws[ws.max_row]:
            cell.font = bold

    ws.append([f"Account brief: {data['customer']['name']}"])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in (("As of", data["as_of"]), ("Account number", data["customer"]["customer_id"]),
                 ("Collector", data["customer"]["collector"]),
                 ("Sales representative", data["customer"]["sales_rep"]),
                 ("Next action", data["next_action"]), ("Escalation", data["escalation"])):
        ws.append([k, v])
        ws.cell(row=ws.max_row, column=1).font = bold
    for s in data["sections"]:
        cur = s["currency"]
        ws.append([])
        head(f"Balance ({cur})", "Past due", *[b["label"] for b in s["buckets"]])
        ws.append([to_major_float(s["balance_minor"], cur), to_major_float(s["past_due_minor"], cur),
                   *[to_major_float(b["minor"], cur) for b in s["buckets"]]])
        for cell in ws[ws.max_row]:
            cell.number_format = amount_format(cur)
    for title, cols, rows in (
            ("Last contacts", ("Date", "Kind", "By", "Note"),
             [[r["date"], r["kind"], r["by"], r["note"]] for r in data["contacts"]]),
            ("Promises to pay", ("Made", "Promised for", "Amount", "Received", "Outcome"),
             [[r["made"], r["promise_date"], r["amount"], r["received"], r["outcome"]]
              for r in data["promises"]]),
            ("Open disputes", ("Dispute", "Invoice", "Amount", "Reason", "Owner", "Due",
                               "Status", "Days overdue"),
             [[r["dispute_id"], r["invoice_id"], r["amount"], r["reason"], r["owner"], r["due"],
               r["status"], r["overdue_days"]] for r in data["disputes"]])):
        ws.append([])
        head(title)
        head(*cols)
        for r in rows or [["none"]]:
            ws.append(r)
    for col, width in zip("ABCDEFGHI", (24, 16, 16, 16, 28, 14, 22, 14, 14)):
        ws.column_dimensions[col].width = width


def _file_part(text: str) -> str:
    """A customer id safe in a file name."""
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
    """The team's accounts on one page: one row per (account, currency).

    Columns: ``customer_id, customer_name, currency, balance_minor, past_due_minor,
    balance_change_minor, past_due_change_minor`` (against the same figures seven days
    before ``as_of``), ``promises_due, promises_due_minor`` (pending promises whose date
    falls in the seven days after ``as_of``), ``disputes_past_due,
    disputes_past_due_minor`` (open disputes past their due date), ``next_action``.
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
            def sums(items, day):
                m = items[(items["customer_id"] == cid) & (items["currency"] == cur)]
                return int(m["open_minor"].sum()), int(m.loc[m["days_past_due"] > 0, "open_minor"].sum())
            bal, pdue = sums(now_items, D)
            bal0, pdue0 = sums(then_items, before)
            pm = p[(p["customer_id"] == cid) & (p["currency"] == cur)]
            dm = st[(st["customer_id"] == cid) & (st["currency"] == cur)]
            w = work[(work["customer_id"] == cid) & (work["currency"] == cur)]
            rows.append({"customer_id": cid, "customer_name": names[cid], "currency": cur,
                         "balance_minor": bal, "past_due_minor": pdue,
                         "balance_change_minor": bal - bal0, "past_due_change_minor": pdue - pdue0,
                         "promises_due": len(pm),
                         "promises_due_minor": int(pm["promise_amount_minor"].sum()),
                         "disputes_past_due": len(dm),
                         "disputes_past_due_minor": int(dm["amount_minor"].sum()),
                         "next_action": _plain(w["next_action"].iloc[0]) if len(w) else
                         "No open items: nothing to chase."})
    out = pd.DataFrame(rows)
    out.attrs.update({"as_of": str(D.date()), "week_before": str(before.date())})
    return out


_SUMMARY_COLUMNS = {"customer_name": "Account", "currency": "Currency", "balance": "Balance",
                    "past_due": "Past due", "balance_change": "Balance change (7 days)",
                    "past_due_change": "Past due change (7 days)",
                    "promises_due": "Promises due (next 7 days)",
                    "promises_due_amount": "Promised amount",
                    "disputes_past_due": "Disputes past due",
                    "disputes_past_due_amount": "Disputed amount past due",
                    "next_action": "Next action"}


def _signed(minor: int, cur: str) -> str:
    return ("+" if minor > 0 else "") + format_money(minor, cur)


def summary_goals(ledger: Ledger, as_of, goals, collector: str | None = None,
                  activities: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The team against its goals for the summary: the latest month that ended on or before
    ``as_of`` (monthly targets), else the latest such quarter (quarterly targets); the
    collector's own targets (``collector``) or the company's.
    Returns (the goals table for people, its heading); an empty table when no target applies."""
    from .goals import goals_display, kpis_against_targets

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
    return goals_display(frame), f"Against {who} {kind} goals, {period} ({goals.label})"


def summary_html(table: pd.DataFrame, title: str, goals_table: pd.DataFrame | None = None,
                 goals_title: str = "") -> str:
    rows = [{"customer_name": r["customer_name"], "currency": r["currency"],
             "balance": format_money(r["balance_minor"], r["currency"]),
             "past_due": format_money(r["past_due_minor"], r["currency"]),
             "balance_change": _signed(r["balance_change_minor"], r["currency"]),
             "past_due_change": _signed(r["past_due_change_minor"], r["currency"]),
             "promises_due": r["promises_due"],
             "promises_due_amount": format_money(r["promises_due_minor"], r["currency"]),
             "disputes_past_due": r["disputes_past_due"],
             "disputes_past_due_amount": format_money(r["disputes_past_due_minor"], r["currency"]),
             "next_action": r["next_action"]} for r in table.to_dict("records")]
    totals = []
    for cur, g in (table.groupby("currency", sort=True) if len(table) else []):
        totals.append({"currency": cur, "balance": format_money(int(g["balance_minor"].sum()), cur),
                       "past_due": format_money(int(g["past_due_minor"].sum()), cur),
                       "balance_change": _signed(int(g["balance_change_minor"].sum()), cur)})
    return _env.get_template("brief_summary.html.j2").render(
        title=title, as_of=table.attrs["as_of"], week_before=table.attrs["week_before"],
        columns=_SUMMARY_COLUMNS, rows=rows, totals=totals, goals_title=goals_title,
        goals_columns=[] if goals_table is None else list(goals_table.columns),
        goals_rows=[] if goals_table is None else goals_table.values.tolist())


def write_summary(ledger: Ledger, customer_ids: list[str], as_of, out: str | Path, *,
                  title: str = "Weekly account summary", activities=None, events=None,
                  goals=None, collector: str | None = None) -> list[Path]:
    """Write ``<out>/summary-<as_of>.html`` and ``.xlsx``; returns the files. With ``goals``
    (:func:`workbench.goals.load_goals`), the team against them (:func:`summary_goals`)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .reporting.excel import amount_format
    table = team_summary(ledger, customer_ids, as_of, activities=activities, events=events)
    gtable, gtitle = (summary_goals(ledger, as_of, goals, collector, activities)
                      if goals is not None else (None, ""))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"summary-{table.attrs['as_of']}.html"
    atomic_write_text(html, summary_html(table, title, gtable, gtitle))
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append([f"{title} as of {table.attrs['as_of']} (changes since {table.attrs['week_before']})"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([])
    ws.append(list(_SUMMARY_COLUMNS.values()))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    money = ("balance_minor", "past_due_minor", "balance_change_minor", "past_due_change_minor")
    for r in table.to_dict("records"):
        cur = r["currency"]
        ws.append([r["customer_name"], cur, *[to_major_float(r[m], cur) for m in money],
                   r["promises_due"], to_major_float(r["promises_due_minor"], cur),
                   r["disputes_past_due"], to_major_float(r["disputes_past_due_minor"], cur),
                   r["next_action"]])
        for col in (3, 4, 5, 6, 8, 10):
            ws.cell(row=ws.max_row, column=col).number_format = amount_format(cur)
    for col, width in zip("ABCDEFGHIJK", (28, 10, 16, 16, 18, 18, 14, 16, 14, 18, 60)):
        ws.column_dimensions[col].width = width
    if gtable is not None:
        wg = wb.create_sheet("Goals")
        wg.append([gtitle])
        wg["A1"].font = Font(bold=True, size=14)
        wg.append([])
        wg.append(list(gtable.columns))
        for cell in wg[wg.max_row]:
            cell.font = Font(bold=True)
        for row in gtable.values.tolist():
            wg.append(row)
        for col, width in zip("ABCDEFGH", (24, 26, 10, 16, 16, 16, 12, 12)):
            wg.column_dimensions[col].width = width
    xlsx = out / f"summary-{table.attrs['as_of']}.xlsx"
    with atomic_path(xlsx) as tmp:
        wb.save(tmp)
    return [html, xlsx]
