"""The weekly manager summary of the team's accounts, against the goals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..collections import activities_known_by
from ..disputes import dispute_states
from ..io.writer import atomic_path, atomic_write_text
from ..kpis import promise_outcomes
from ..ledger import Ledger
from ..money import format_amount, to_decimal
from .account import _file_part, _money_cell, _worklist
from .common import _NO_OPEN_ITEMS, WEEK, _env, _plain, ledger_end_note


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
    states = dispute_states(ledger, D, events, activities)
    st = states[states["is_open"] & (states["days_overdue"] > 0)]
    work = _worklist(ledger, D, activities, states)
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
    from ..goals import kpis_against_targets

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
    from ..goals import goals_display
    frame, title = _goals_frame(ledger, as_of, goals, collector, activities)
    return goals_display(frame), title


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (not isinstance(v, str) and pd.isna(v))


def _goal_cells(r: dict) -> tuple[list, list[str]]:
    """One goal row for the workbook: (values, number formats of Actual, Target, Variance,
    Variance %). Money exact in the currency's decimals; days and counts as numbers with
    their unit in the format; percentages as Excel percentages (variance in points)."""
    from ..reporting.excel import amount_format
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

    from ..goals import goals_display
    from ..reporting.excel import amount_format
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
