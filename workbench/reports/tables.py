"""The pack's machine tables: CSV and JSON with exact decimal amounts and code names, written
by the runner from the validated ledger (the notebooks show the same figures for people).

Tables are written deterministically (sorted rows, fixed formats), so the same ledger gives
the same files byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..aging import aging_records, aging_table, load_aging_policy
from ..io.writer import atomic_write_text
from ..ledger import Ledger
from ..money import format_amount_array, minor_units
from ..periods import Period
from .views import SUSPENSION_MONEY, WORKLIST_MONEY, WRITE_OFF_MONEY

__all__ = ["money_frame", "write_tables", "write_reserve", "goals_csv"]


def goals_csv(values: pd.DataFrame) -> str:
    """:func:`workbench.goals.goal_values` as CSV text: exact decimals as they are (money
    in the currency's decimals, no thousands separators), empty for n/a. The pack's
    ``kpi_targets.csv`` and ``tables/kpi_targets.csv`` are the same bytes."""
    return values.to_csv(index=False, lineterminator="\n", date_format="%Y-%m-%d")


def money_frame(table: pd.DataFrame, money_columns: list[str]) -> pd.DataFrame:
    """Money columns (minor units) to exact decimal text, by each row's currency."""
    out = table.copy()
    # one digits lookup per currency, through money (an unknown code is a clear error)
    digits_of = {c: minor_units(c) for c in pd.unique(out["currency"])}
    digits = out["currency"].map(digits_of).to_numpy(dtype="int64")
    for c in money_columns:
        out[c] = format_amount_array(out[c].to_numpy(), digits)
    return out


def write_tables(ledger: Ledger, period: Period, folder: Path) -> dict:
    """Aging, KPIs, worklist and proposals as of the period end; returns the policies used."""
    as_of = period.end
    policy = load_aging_policy()
    labels = list(policy.labels)
    by_currency = aging_table(ledger, as_of, policy=policy)
    by_customer = aging_table(ledger, as_of, by="customer", policy=policy)
    money = labels + ["total"]
    tables = {"aging_by_currency": money_frame(by_currency, money)}
    # a customer master without segments (DATA_MODEL: optional) has no segment aging
    if "segment" in ledger.customers.columns:
        tables["aging_by_segment"] = money_frame(
            aging_table(ledger, as_of, by="segment", policy=policy), money)
    tables["aging_by_customer"] = money_frame(by_customer, money)
    for name, df in tables.items():
        text = df.to_csv(index=False, lineterminator="\n", float_format="%.4f")
        atomic_write_text(folder / f"{name}.csv", text)
    atomic_write_text(folder / "aging.json",
                      json.dumps(aging_records(by_currency), indent=2) + "\n")
    policies = {"aging_policy": f"{policy.name} {policy.version}"}
    policies.update(_write_collections(ledger, period, folder))
    summary = ledger.summary()
    summary.update({"validation": {"problems": 0, "status": "valid"},
                    "load_report": {"files": ledger.load_report.files,
                                    "rows": ledger.load_report.rows,
                                    "filtered_out": ledger.load_report.filtered_out,
                                    "blank_lines": ledger.load_report.blank_lines},
                    "ar": {c: v for c, v in _ar_text(ledger, as_of).items()},
                    "unapplied_cash": _unapplied_text(ledger, as_of)})
    summary.pop("source", None)        # a machine path: the manifest names the inputs
    atomic_write_text(folder / "ledger_summary.json",
                      json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return policies


def _write_collections(ledger: Ledger, period: Period, folder: Path) -> dict:
    """KPIs for the quarter (per currency and per segment), the 12 month-end trend, the
    worklist and the proposals as of the quarter end."""
    from ..collections import (default_activity_frame, load_collections_policy, open_disputes,
                              suspension_proposals, worklist, write_off_proposals)
    from ..kpis import MONEY_FIELDS, KPIOptions, kpi_records, kpi_table, kpi_trend

    policy = load_collections_policy()
    acts = default_activity_frame(ledger)
    options = KPIOptions(promise_grace_days=policy.promise_grace_days,
                         promise_tolerance_pct=policy.promise_tolerance_pct)
    kpis = kpi_table(ledger, period, options=options, activities=acts)
    atomic_write_text(folder / "kpis.json", json.dumps(kpi_records(kpis), indent=2) + "\n")
    money = list(MONEY_FIELDS)

    def csv(name, df, cols):
        text = money_frame(df, [c for c in cols if c in df.columns]).to_csv(
            index=False, lineterminator="\n", float_format="%.4f")
        atomic_write_text(folder / f"{name}.csv", text)

    csv("kpis_by_currency", kpis, money)
    if "segment" in ledger.customers.columns:
        csv("kpis_by_segment", kpi_table(ledger, period, by="segment", options=options,
                                         activities=acts), money)
    csv("kpi_trend", kpi_trend(ledger, period.end, points=12, options=options, activities=acts),
        money)
    # the goals for the period (quarterly or monthly targets of the shipped goals file): the
    # company's, each segment's and each collector's KPIs, the collectors' activity targets;
    # actual, target, variance as machine values (workbench.goals.goal_values)
    from ..goals import goal_values, load_goals, pack_goals
    goals = load_goals()
    judged = pack_goals(ledger, period, goals, options=options, activities=acts, table=kpis)
    if judged.frequency is not None:                # a week has no targets
        for name, frame in (("kpi_targets", judged.kpis), ("activity_targets", judged.activity)):
            atomic_write_text(folder / f"{name}.csv", goals_csv(goal_values(frame)))
    wl = worklist(ledger, period.end, policy, acts,
                  disputes=open_disputes(ledger, period.end, acts))   # the workbench's too
    csv("worklist", wl, WORKLIST_MONEY)
    csv("suspension_proposals", suspension_proposals(ledger, period.end, policy, acts),
        SUSPENSION_MONEY)
    csv("write_off_proposals", write_off_proposals(ledger, period.end, policy), WRITE_OFF_MONEY)
    from_log = int((acts["source"] == "state").sum()) if "source" in acts else 0
    return {"collections_policy": policy.label, "kpi_formulas": options.formulas(),
            "activity_log_rows_used": from_log, "goals": goals.label}


def _ar_text(ledger: Ledger, as_of) -> dict[str, str]:
    from ..money import format_amount
    return {c: format_amount(v, c) for c, v in ledger.ar_balance(as_of).items()}


def _unapplied_text(ledger: Ledger, as_of) -> dict[str, str]:
    from ..money import format_amount
    un = ledger.unapplied_cash(as_of)
    if not len(un):
        return {}
    sums = un.groupby("currency")["unapplied_minor"].sum()
    return {c: format_amount(int(v), c) for c, v in sums.items()}




def write_reserve(ledger: Ledger, period: Period, folder: Path) -> dict:
    """``reserve.json``: the bad-debt reserve as of the quarter end, as ``workbench reserve
    --format json`` gives it (methods, required reserve, provision, journal entry,
    roll-forward, backtest)."""
    from ..collections import default_activity_frame
    from ..reserve import load_reserve_policy, reserve_analysis

    policy = load_reserve_policy()
    result = reserve_analysis(ledger, period.end, policy,
                              activities=default_activity_frame(ledger))
    atomic_write_text(folder / "reserve.json", json.dumps(result.to_dict(), indent=2) + "\n")
    return {"reserve_policy": f"{policy.name} {policy.version}"}
