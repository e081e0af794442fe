"""Tables and summaries for people, built from the analyses' outputs (the notebooks of the
packs call these and show the result; no analysis logic lives here)."""

from __future__ import annotations

import pandas as pd

from ..money import format_money
from ..reporting import Table, label_for

__all__ = ["aging_view", "aging_comparison", "aging_tiles", "kpi_view", "kpi_tiles",
           "fmt_money", "fmt_pct", "fx_note", "worklist_view",
           "goals_views", "WORKLIST_MONEY", "SUSPENSION_MONEY",
           "WRITE_OFF_MONEY"]

#: The amounts (integer minor units) of :func:`workbench.collections.worklist`, of the
#: suspension and of the write-off proposals: one list for the pack's CSV files, the
#: workbook and the notebook (an amount left out would be written in minor units).
WORKLIST_MONEY = ["open_ar", "past_due_ar", "promise_due_today"]
SUSPENSION_MONEY = ["past_due_ar"]
WRITE_OFF_MONEY = ["open_balance"]


#: The reserve methods' names for people (the JSON and CSV keep the code names).
METHOD_NAMES = {"provision_matrix": "Provision matrix", "roll_rate": "Roll rate (migration)",
                "vintage": "Historical loss by vintage", "model": "Expected loss (payment-risk model)"}


def fmt_money(minor, currency: str) -> str:
    """An amount for people in its currency's decimals: ``"1,234.500 KWD"``."""
    return format_money(int(minor), currency)


def fx_note(ledger, as_of, report_currency: str, currencies=None) -> str:
    """How amounts were converted to the reporting currency, rates named:
    ``"converted to USD at the rates of 2026-09-30: 1 JPY = 0.0068 USD, 1 KWD = 3.25 USD"``.

    The rates are :meth:`workbench.ledger.Ledger.fx_rate` as of ``as_of`` (the latest
    ``fx_rates`` row on or before it), the ones the conversion used.
    """
    day = str(pd.Timestamp(as_of).date())
    others = sorted(c for c in (ledger.currencies if currencies is None else currencies)
                    if c != report_currency)
    if not others:
        return f"all amounts in {report_currency}"
    rates = ", ".join(f"1 {c} = {ledger.fx_rate(c, as_of, report_currency).normalize():f} "
                      f"{report_currency}" for c in others)
    return f"converted to {report_currency} at the rates of {day}: {rates}"


def _days(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.1f} days"


def fmt_pct(value, digits: int = 1) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f} %"


def aging_view(table: pd.DataFrame, labels: list[str], name: str, title: str,
               by: str | None = None, note: str = "") -> Table:
    """An aging table (from :func:`workbench.aging.aging_table`) for people."""
    cols = {}
    if by and by in table.columns:
        cols[by] = by.replace("_", " ").capitalize()
    for extra in ("customer_name",):
        if extra in table.columns:
            cols[extra] = "Customer name"
    cols["currency"] = "Currency"
    cols.update({b: b for b in labels})
    cols.update({"total": "Total", "aging_over_60_pct": "Over 60 days (% of AR)",
                 "invoices": "Open invoices"})
    cols = {k: (label_for(k) if k in labels else v) for k, v in cols.items()
            if k in table.columns}
    return Table(name, title, table[list(cols)], columns=cols, money=[*labels, "total"],
                 pct=["aging_over_60_pct"], integers=["invoices"], totals=bool(by),
                 note=note)


def aging_comparison(now: pd.DataFrame, prior: pd.DataFrame, as_of: str, prior_as_of: str
                     ) -> Table:
    """AR per currency at this period end beside the prior one."""
    cols = ["currency", "total", "aging_over_60_pct", "invoices"]
    merged = now[cols].merge(prior[cols], on="currency", how="outer", suffixes=("_now", "_prior"))
    for c in ("total_now", "total_prior", "invoices_now", "invoices_prior"):
        merged[c] = merged[c].fillna(0).astype("int64")
    merged["change"] = merged["total_now"] - merged["total_prior"]
    merged["over_60_change"] = merged["aging_over_60_pct_now"] - merged["aging_over_60_pct_prior"]
    return Table("aging_vs_prior", f"AR at {as_of} against {prior_as_of}", merged,
                 columns={"currency": "Currency", "total_now": f"AR {as_of}",
                          "total_prior": f"AR {prior_as_of}", "change": "Change",
                          "aging_over_60_pct_now": f"Over 60 days {as_of} (%)",
                          "aging_over_60_pct_prior": f"Over 60 days {prior_as_of} (%)",
                          "over_60_change": "Change (points)",
                          "invoices_now": f"Open invoices {as_of}",
                          "invoices_prior": f"Open invoices {prior_as_of}"},
                 money=["total_now", "total_prior", "change"],
                 pct=["aging_over_60_pct_now", "aging_over_60_pct_prior", "over_60_change"],
                 integers=["invoices_now", "invoices_prior"])


def aging_tiles(now: pd.DataFrame, prior: pd.DataFrame | None, prior_label: str = "",
                converted: str = "") -> list[tuple[str, str, str]]:
    """One tile per currency: AR, the share over 60 days; the prior period in the note.

    ``converted``: when the table was converted to a reporting currency, how (the
    :func:`fx_note` text); the tile is labelled as converted and the note names the rates.
    Without it, each currency's tile is in its own units and nothing is added across them.
    """
    items = []
    prior_by = {} if prior is None else prior.set_index("currency").to_dict("index")
    for r in now.itertuples(index=False):
        p = prior_by.get(r.currency)
        note = f"{r.invoices:,} open invoices"
        if p is not None:
            note += f"; {prior_label}: {fmt_money(p['total'], r.currency)}"
        label = f"AR in {r.currency}"
        if converted:
            label += " (converted)"
            note += f"; {converted}"
        items.append((label, fmt_money(r.total, r.currency), note))
        note60 = "" if p is None else f"{prior_label}: {fmt_pct(p['aging_over_60_pct'])}"
        items.append((f"Over 60 days past due ({r.currency})", fmt_pct(r.aging_over_60_pct),
                      note60))
    return items


_KPI_PARTS = {
    "ar": ("Receivables and days sales outstanding", {
        "currency": "Currency", "period": "Period", "ending_ar": "Ending AR",
        "credit_sales": "Credit sales", "dso": "DSO (days)", "countback_dso": "Countback DSO (days)",
        "best_possible_dso": "Best possible DSO (days)", "add": "Average days delinquent"},
        "DSO = ending AR / credit sales x days in the period; best possible DSO counts current "
        "AR only; average days delinquent = DSO - best possible DSO."),
    "collection": ("Collection", {
        "currency": "Currency", "period": "Period", "cei": "CEI (%)",
        "aging_over_60_pct": "Aging over 60 (% of AR)", "cash_collected": "Cash collected",
        "unapplied_cash": "Unapplied cash", "open_disputes": "Open disputes",
        "promise_kept_rate": "Promises kept (%)"},
        "CEI = (beginning AR + credit sales - ending AR) / (beginning AR + credit sales - ending "
        "current AR) x 100; the formulas run are listed in kpis.json."),
}


def kpi_view(kpis: pd.DataFrame, prior: pd.DataFrame | None = None, part: str = "ar",
             title: str = "") -> Table:
    """KPIs per currency (from :func:`workbench.kpis.kpi_table`), the prior period's rows
    beside each currency's; ``part`` "ar" (AR and DSO) or "collection" (CEI, cash, disputes,
    promises), two tables narrow enough to print."""
    frame = kpis if prior is None else pd.concat([kpis, prior], ignore_index=True)
    frame = frame.sort_values(["currency", "end"], ascending=[True, False], kind="stable")
    heading, cols, note = _KPI_PARTS[part]
    cols = {k: v for k, v in cols.items() if k in frame.columns}
    return Table(f"kpis_{part}", f"{heading}{': ' + title if title else ''}",
                 frame[list(cols)].reset_index(drop=True), columns=cols,
                 money=[c for c in ("ending_ar", "credit_sales", "unapplied_cash", "cash_collected")
                        if c in cols],
                 pct=[c for c in ("cei", "aging_over_60_pct", "promise_kept_rate") if c in cols],
                 decimals={c: 1 for c in ("dso", "countback_dso", "best_possible_dso", "add")
                           if c in cols},
                 integers=[c for c in ("open_disputes",) if c in cols], note=note)


def kpi_tiles(kpis: pd.DataFrame, prior: pd.DataFrame | None = None
              ) -> list[tuple[str, str, str]]:
    items = []
    p = {} if prior is None else prior.set_index("currency").to_dict("index")
    for r in kpis.itertuples(index=False):
        q = p.get(r.currency, {})

        def was(field, fmt):
            return f"{q.get('period', 'prior')}: {fmt(q[field])}" if field in q else ""

        items += [
            (f"DSO ({r.currency})", _days(r.dso), was("dso", _days)),
            (f"CEI ({r.currency})", fmt_pct(r.cei), was("cei", fmt_pct)),
            (f"Unapplied cash ({r.currency})", fmt_money(r.unapplied_cash, r.currency),
             was("unapplied_cash", lambda v: fmt_money(v, r.currency))),
        ]
    return items


def worklist_view(wl: pd.DataFrame, as_of: str, max_rows: int | None = 25) -> Table:
    """The worklist (:func:`workbench.collections.worklist`) for people: who to call first
    and why; every amount declared, so the workbook and ``tables/worklist.csv`` hold
    currency amounts, never minor units."""
    cols = {"rank": "Rank", "customer_id": "Customer", "customer_name": "Customer name",
            "collector": "Collector", "currency": "Currency", "past_due_ar": "Past due",
            "oldest_days_past_due": "Oldest (days past due)", "stage": "Stage",
            "next_action": "Next action", "reasons": "Why"}
    return Table("worklist", f"Worklist as of {as_of}", wl,
                 columns={k: v for k, v in cols.items() if k in wl.columns},
                 money=[c for c in WORKLIST_MONEY if c in wl.columns],
                 integers=["rank", "oldest_days_past_due"], max_rows=max_rows)


def goals_views(judged, period: str) -> tuple[list[Table], list[Table]]:
    """The goals of a period (:func:`workbench.goals.pack_goals`) as tables: for people
    (company, segments, collectors, activity; business names, formatted, no index) and
    for machines (``kpi_targets`` with every scope, ``activity_targets``: numbers with a
    unit, status codes). Returns ``(shown, kept)``."""
    from ..goals import goal_values, goal_values_table, goals_table

    label = f"{judged.kpis.attrs.get('goals', '')}, {judged.frequency} targets"
    shown, kept = [], []
    for scope, title in (("company", "the company"), ("segment", "each segment"),
                         ("collector", "each collector")):
        part = judged.scope(scope)
        if len(part):
            shown.append(goals_table(part, f"Goals against actuals, {title}, {period} "
                                           f"({label})", name=f"kpi_targets_{scope}"))
    if len(judged.activity):
        shown.append(goals_table(
            judged.activity, f"Activity against targets, each collector, {period} ({label})",
            note="Counts and rates over all of the collector's currencies (Currency: all); "
                 "cash collected and the past-due reduction per currency. On track: at "
                 "target or better (higher is better for every activity goal); at risk: "
                 "short by at most the file's band (% of target); missed: short by more. "
                 "A percentage's variance is in points (pp); its variance % is n/a.",
            name="activity_targets_people"))
    kept.append(goal_values_table(goal_values(judged.kpis), "kpi_targets",
                                  f"Goals against actuals, {period} ({label})"))
    kept.append(goal_values_table(goal_values(judged.activity), "activity_targets",
                                  f"Activity against targets, {period} ({label})"))
    return shown, kept
