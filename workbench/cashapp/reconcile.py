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
              deductions: pd.DataFrame, as_of, policy: CashAppPolicy,
              unapplied: pd.DataFrame | None = None, skipped: pd.DataFrame | None = None) -> dict:
    """Tie the bank side to the application side, to the cent, from independent sources.

    Per receipt, statement, day and currency::

        credits (the bank's)  =  already applied (the ledger's applications)
                              +  auto-applied (this run's auto lines)
                              +  unapplied (this run's unapplied list: cash no auto line took,
                                 of which ``suggested`` awaits review)
                              +  difference

    Each term comes from its own table; nothing is computed as a remainder, so a dropped
    receipt, a line applied twice or an over-applied receipt shows as a difference, never
    absorbed. Per statement, the credits the file reported are also compared with the
    receipts taken from it plus the duplicates skipped (``import_difference``), and its
    balances are tied (opening + credits - debits = closing).

    Unapplied cash is aged in business days since receipt against the posting SLA.
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
    if unapplied is None:
        raise ValueError("reconcile needs the run's unapplied list (an independent source)")
    listed = unapplied.groupby("receipt_id")["unapplied_minor"].sum() if len(unapplied) \
        else pd.Series(dtype=np.int64)
    rec["listed_minor"] = rec["receipt_id"].map(listed).fillna(0).astype(np.int64)
    # of the listed unapplied cash, what a suggestion awaits review for
    rec["suggested_minor"] = np.minimum(rec["receipt_id"].map(sugg_by).fillna(0).astype(np.int64),
                                        rec["listed_minor"].clip(lower=0))
    rec["unapplied_minor"] = rec["listed_minor"] - rec["suggested_minor"]
    rec["difference_minor"] = (rec["amount_minor"] - rec["already_minor"] - rec["auto_minor"]
                               - rec["listed_minor"])
    ded_by = deductions.groupby("receipt_id")["amount_minor"].sum() if len(deductions) else pd.Series(dtype=np.int64)
    rec["deductions_minor"] = rec["receipt_id"].map(ded_by).fillna(0).astype(np.int64)
    parts = ["already_minor", "auto_minor", "suggested_minor", "unapplied_minor",
             "deductions_minor", "difference_minor"]

    def tie(frame, keys):
        g = frame.groupby(keys, sort=True)
        out = g[["amount_minor", *parts]].sum().reset_index()
        out["receipts"] = g.size().to_numpy()
        return out.rename(columns={"amount_minor": "credits_minor"})

    by_statement = tie(rec, ["statement_no", "currency"]) if len(rec) and "statement_no" in rec \
        else pd.DataFrame()
    skipped = skipped if skipped is not None else pd.DataFrame(columns=["statement_id", "currency",
                                                                        "amount_minor", "file"])
    meta = []
    # per statement, in the statement's currency (credits in another currency are listed)
    dup_by = skipped.groupby(["statement_no", "currency"])["amount_minor"].sum() \
        if len(skipped) and "statement_no" in skipped else pd.Series(dtype=np.int64)
    taken = rec.groupby(["statement_no", "currency"])["amount_minor"].sum() \
        if len(rec) and "statement_no" in rec else pd.Series(dtype=np.int64)
    for i, st in enumerate(statements):
        own = st.receipts[st.receipts["currency"] == st.currency]["amount_minor"].sum() \
            if len(st.receipts) else 0
        foreign = st.receipts[st.receipts["currency"] != st.currency].groupby("currency")[
            "amount_minor"].sum() if len(st.receipts) else pd.Series(dtype=np.int64)
        meta.append({"statement_id": st.statement_id, "file": Path(st.file).name,
                     "format": st.format, "bank_account": st.account, "currency": st.currency,
                     "entries": st.entries, "statement_credits_minor": int(own),
                     "other_currency_credits": "; ".join(f"{format_amount(int(v), c)} {c}"
                                                         for c, v in foreign.items()),
                     "duplicates_skipped_minor": int(dup_by.get((i, st.currency), 0)),
                     "taken_minor": int(taken.get((i, st.currency), 0)),
                     "other_credits_minor": st.other_credits_minor,
                     "debit_entries": st.debits_count, "debits_minor": st.debits_minor,
                     "opening_minor": st.opening_balance_minor,
                     "closing_minor": st.closing_balance_minor,
                     "balance_difference_minor": st.balance_difference(),
                     "encoding": st.encoding, "notes": "; ".join(st.notes)})
    meta = pd.DataFrame(meta)
    if len(meta):
        meta["import_difference_minor"] = (meta["statement_credits_minor"]
                                           - meta["duplicates_skipped_minor"] - meta["taken_minor"])
    if len(by_statement) and len(meta):
        meta.insert(0, "statement_no", range(len(meta)))
        by_statement = meta.merge(by_statement, on=["statement_no", "currency"], how="left")
    elif len(meta):
        by_statement = meta
    by_day = tie(rec.assign(day=rec["receipt_date"].dt.date.astype(str)), ["day", "currency"]) \
        if len(rec) else pd.DataFrame()
    aging = rec[rec["listed_minor"] > 0].copy()
    aging["waiting_minor"] = aging["listed_minor"]
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
        diff = int(g["difference_minor"].sum())
        dup = skipped[skipped["currency"] == cur]["amount_minor"].sum() if len(skipped) else 0
        imp = int(meta.loc[meta["currency"] == cur, "import_difference_minor"].sum()) if len(meta) else 0
        totals[cur] = {"credits": format_amount(credits, cur),
                       "already_applied": format_amount(al, cur),
                       "auto_applied": format_amount(a, cur),
                       "suggested": format_amount(su, cur), "unapplied": format_amount(un, cur),
                       "deductions_proposed": format_amount(int(g["deductions_minor"].sum()), cur),
                       "difference": format_amount(diff, cur),
                       "ties": diff == 0 and imp == 0 and not (g["difference_minor"] != 0).any(),
                       "duplicates_skipped": format_amount(int(dup), cur),
                       "import_difference": format_amount(imp, cur),
                       "receipts_not_tying": int((g["difference_minor"] != 0).sum())}
    return {"as_of": str(D.date()), "by_statement": by_statement, "by_day": by_day,
            "unapplied_aging": aging, "totals": totals,
            "receipts": rec[["receipt_id", "statement_id", "currency", "amount_minor", *parts]],
            "sla_business_days": policy.posting_sla_business_days,
            "sla_breaches": int(aging["sla_breach"].sum()) if len(aging) else 0}
