"""Reconciliation of a run: the bank side against the application side, to the cent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..ledger import to_date
from ..money import format_amount
from .policy import CashAppPolicy

__all__ = ["reconcile"]


def _business_days(start, end) -> np.ndarray:
    a = pd.to_datetime(pd.Series(start)).to_numpy().astype("datetime64[D]")
    b = np.datetime64(pd.Timestamp(end).date(), "D")
    return np.busday_count(a, b)


def reconcile(statements, bank_receipts: pd.DataFrame, applications: pd.DataFrame,
              deductions: pd.DataFrame, as_of, policy: CashAppPolicy) -> dict:
    """Tie the bank side to the application side, to the cent.

    * per statement and per day: bank credits = auto-applied + suggested (awaiting
      review) + unapplied; each part summed from its own table, the difference shown;
    * per statement: opening balance + credits - debits against the closing balance;
    * unapplied cash (after auto lines) aged in business days since receipt against the
      posting SLA, breaches listed.
    """
    D = to_date(as_of)
    auto = applications[applications["status"] == "auto"]
    sugg = applications[applications["status"] == "suggested"]
    auto_by = auto.groupby("receipt_id")["amount_minor"].sum()
    sugg_by = sugg.groupby("receipt_id")["amount_minor"].sum()
    rec = bank_receipts.copy()
    if "already_minor" not in rec:
        rec["already_minor"] = 0
    rec["auto_minor"] = rec["receipt_id"].map(auto_by).fillna(0).astype(np.int64)
    rec["suggested_minor"] = np.minimum(rec["receipt_id"].map(sugg_by).fillna(0).astype(np.int64),
                                        rec["amount_minor"] - rec["already_minor"] - rec["auto_minor"])
    rec["unapplied_minor"] = (rec["amount_minor"] - rec["already_minor"] - rec["auto_minor"]
                              - rec["suggested_minor"])
    ded_by = deductions.groupby("receipt_id")["amount_minor"].sum() if len(deductions) else pd.Series(dtype=np.int64)
    rec["deductions_minor"] = rec["receipt_id"].map(ded_by).fillna(0).astype(np.int64)
    parts = ["already_minor", "auto_minor", "suggested_minor", "unapplied_minor", "deductions_minor"]

    def tie(frame, keys):
        g = frame.groupby(keys, sort=True)
        out = g[["amount_minor", *parts]].sum().reset_index()
        out["receipts"] = g.size().to_numpy()
        out["difference_minor"] = out["amount_minor"] - out["already_minor"] - out["auto_minor"] \
            - out["suggested_minor"] - out["unapplied_minor"]
        return out.rename(columns={"amount_minor": "credits_minor"})

    by_statement = tie(rec, ["statement_id", "currency"]) if len(rec) else pd.DataFrame()
    meta = []
    for s in statements:
        meta.append({"statement_id": s.statement_id, "file": Path(s.file).name, "format": s.format,
                     "account": s.account, "currency": s.currency, "entries": s.entries,
                     "statement_credits_minor": s.credits_minor, "debit_entries": s.debits_count,
                     "debits_minor": s.debits_minor, "opening_minor": s.opening_balance_minor,
                     "closing_minor": s.closing_balance_minor,
                     "balance_difference_minor": s.balance_difference()})
    meta = pd.DataFrame(meta).drop_duplicates(["statement_id", "file"])
    if len(by_statement):
        by_statement = meta.merge(by_statement, on=["statement_id", "currency"], how="left")
    else:
        by_statement = meta
    by_day = tie(rec.assign(day=rec["receipt_date"].dt.date.astype(str)), ["day", "currency"]) \
        if len(rec) else pd.DataFrame()
    aging = rec[rec["unapplied_minor"] + rec["suggested_minor"] > 0].copy()
    aging["waiting_minor"] = aging["unapplied_minor"] + aging["suggested_minor"]
    aging["business_days"] = _business_days(aging["receipt_date"], D) if len(aging) else []
    aging["sla_breach"] = aging["business_days"] > policy.posting_sla_business_days
    aging = aging[["receipt_id", "statement_id", "receipt_date", "currency", "payer_name",
                   "amount_minor", "already_minor", "auto_minor", "suggested_minor", "unapplied_minor",
                   "waiting_minor", "business_days", "sla_breach"]].sort_values(
        ["business_days", "receipt_id"], ascending=[False, True]).reset_index(drop=True)
    totals = {}
    for cur, g in rec.groupby("currency"):
        credits = int(g["amount_minor"].sum())
        al = int(g["already_minor"].sum())
        a, su, un = int(g["auto_minor"].sum()), int(g["suggested_minor"].sum()), int(g["unapplied_minor"].sum())
        totals[cur] = {"credits": format_amount(credits, cur),
                       "already_applied": format_amount(al, cur),
                       "auto_applied": format_amount(a, cur),
                       "suggested": format_amount(su, cur), "unapplied": format_amount(un, cur),
                       "deductions_proposed": format_amount(int(g["deductions_minor"].sum()), cur),
                       "difference": format_amount(credits - al - a - su - un, cur),
                       "ties": credits == al + a + su + un}
    return {"as_of": str(D.date()), "by_statement": by_statement, "by_day": by_day,
            "unapplied_aging": aging, "totals": totals,
            "sla_business_days": policy.posting_sla_business_days,
            "sla_breaches": int(aging["sla_breach"].sum()) if len(aging) else 0}


