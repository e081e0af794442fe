"""Specific (individually assessed) reserves: identified invoices leave the pools."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount
from ..schema import IdIndex
from .common import (activities_as_of, customer_values, ledger_customers_as_of,
                     open_items_positional, pct_of)
from .policy import ReservePolicy

__all__ = ["specific_reserves", "SPECIFIC_COLUMNS"]

SPECIFIC_COLUMNS = ["invoice_id", "customer_id", "currency", "days_past_due", "open_minor",
                    "base_minor", "reserve_pct", "reserve_minor", "rule", "kind", "evidence",
                    "other_rules"]


def _empty(notes) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        SPECIFIC_COLUMNS, ["str", "str", "str", "int64", "int64", "int64", "object", "int64",
                           "str", "str", "str", "str"])})
    out.attrs["notes"] = notes
    return out


def specific_reserves(ledger: Ledger, as_of, policy: ReservePolicy | None = None,
                      activities: pd.DataFrame | None = None, *,
                      items: pd.DataFrame | None = None,
                      customers: pd.DataFrame | None = None) -> pd.DataFrame:
    """Identified accounts reserved one by one, each taken out of the pools.

    Parameters
    ----------
    ledger : Ledger
    as_of : date
        Only disputes, write-offs and activities dated on or before it count; customer
        status from the master as of it.
    policy : ReservePolicy, optional
        The ``specific`` rules (default: the shipped policy).
    activities : DataFrame, optional
        The activity log (e.g. :func:`workbench.collections.default_activity_frame`);
        default ``ledger.activities``.
    items : DataFrame, optional
        Open items as of ``as_of`` (:func:`open_items_positional`), when already computed.
    customers : DataFrame, optional
        ``customer_id, status`` as of ``as_of`` (default: :func:`ledger_customers_as_of`).

    Returns
    -------
    DataFrame
        One row per identified invoice (:data:`SPECIFIC_COLUMNS`): ``base_minor`` is the
        part of the open balance taken out of the pools (the disputed amount for a dispute
        rule, else the whole balance), ``reserve_minor`` its reserve, ``rule`` the rule
        that set it (the largest reserve wins), ``other_rules`` the others that matched.
        ``attrs["notes"]``: what could not be assessed.

    Notes
    -----
    Rules (policy data):

    * open dispute of a listed reason code (or any) at least ``min_age_days`` old:
      ``reserve_pct`` x min(disputed amount, open balance);
    * customer whose status on the date is listed (e.g. closed):
      open balance x (100 % - expected recovery);
    * customer with a write-off of a listed reason (e.g. bankruptcy) on or before the date:
      open balance x (100 % - expected recovery);
    * a collector's flag: an activity of a listed kind whose note holds a keyword
      (case-insensitive), logged within ``lookback_days`` before the date:
      ``reserve_pct`` x open balance (every open invoice of the customer, or only the
      activity's invoice when the rule's scope is ``invoice`` and it names one).

    Individually assessed receivables are excluded from the collective pools so nothing is
    reserved twice (ASC 326-20-30-2: assets that do not share risk characteristics are
    evaluated individually; IFRS 9 B5.5.1 to B5.5.6, individual vs collective assessment).
    """
    from .policy import load_reserve_policy

    policy = policy or load_reserve_policy()
    D = to_date(as_of)
    notes: list[str] = []
    if items is None:
        items = open_items_positional(ledger, D)
    if customers is None:
        customers, cnotes = ledger_customers_as_of(ledger, D, policy.master_without_history)
        notes += cnotes
    if not len(items):
        return _empty(notes)
    n_inv = len(ledger.invoices)
    row_of = np.full(n_inv, -1, np.int64)
    row_of[items["_pos"].to_numpy()] = np.arange(len(items))
    cpos = items["_cpos"].to_numpy()
    open_minor = items["open_minor"].to_numpy(dtype=np.int64)
    cands: list[tuple] = []       # (rows, base, pct, rule, kind, evidence)

    def add(rows, base, pct, rule, kind, evidence):
        rows = np.asarray(rows, dtype=np.int64)
        if len(rows):
            cands.append((rows, np.minimum(np.asarray(base, np.int64), open_minor[rows]),
                          Decimal(pct), rule, kind, list(evidence)))

    def customer_rows(flagged_cpos: np.ndarray) -> np.ndarray:
        return np.flatnonzero(np.isin(cpos, flagged_cpos) & (cpos >= 0))

    # disputes open on the date
    disputes = ledger.open_disputes(D)
    if policy.dispute_rules and len(disputes):
        dpos = ledger.positions("disputes", "invoice_id", "invoices", "invoice_id")[
            ledger.disputes.index.get_indexer(disputes.index)]
        d = pd.DataFrame({"row": np.where(dpos >= 0, row_of[np.maximum(dpos, 0)], -1),
                          "age": (D - disputes["opened_date"]).dt.days.to_numpy(),
                          "code": disputes["reason_code"].to_numpy(dtype=object),
                          "id": disputes["dispute_id"].to_numpy(dtype=object),
                          "amount": disputes["amount_minor"].to_numpy(dtype=np.int64)})
        d = d[d["row"] >= 0]
        for r in policy.dispute_rules:
            m = d[(d["age"] >= r.min_age_days)
                  & (d["code"].isin(r.reason_codes) if r.reason_codes else True)]
            if not len(m):
                continue
            g = m.groupby("row", sort=True).agg(
                amount=("amount", "sum"), ids=("id", ", ".join),
                codes=("code", lambda s: ", ".join(sorted(set(s)))), age=("age", "max"))
            cur = items["currency"].to_numpy(dtype=object)[g.index.to_numpy()]
            ev = [f"dispute {i} ({c}) open {a} days, {format_amount(int(x), k)} {k} disputed"
                  for i, c, a, x, k in zip(g["ids"], g["codes"], g["age"], g["amount"], cur)]
            add(g.index.to_numpy(), g["amount"].to_numpy(), r.reserve_pct, r.name, "dispute", ev)
    elif policy.dispute_rules and not ledger.has("disputes"):
        notes.append("no disputes table: unrecoverable disputes cannot be identified")

    # customer status on the date
    if policy.status_recovery_pct:
        status = customer_values(ledger, customers, "status")
        if "status" not in ledger.customers:
            notes.append("the customers table has no status: closed customers cannot be identified")
        else:
            st = np.where(cpos >= 0, status[np.maximum(cpos, 0)], None)
            for s, rec in policy.status_recovery_pct.items():
                rows = np.flatnonzero(st == s)
                add(rows, open_minor[rows], Decimal(100) - rec, f"customer {s}", "customer_status",
                    [f"customer status {s} on {D.date()}; expected recovery {rec}%"] * len(rows))

    # customers with a write-off of a listed reason (e.g. bankruptcy) by the date
    wo = ledger.write_offs
    if policy.write_off_reason_recovery_pct and len(wo):
        wpos = ledger.positions("write_offs", "invoice_id", "invoices", "invoice_id")
        inv_cpos = ledger.positions("invoices", "customer_id", "customers", "customer_id")
        reason = wo["reason"].astype(str).str.lower().to_numpy(dtype=object)
        dated = (wo["date"] <= D).to_numpy() & (wo["amount_minor"].to_numpy() > 0) & (wpos >= 0)
        for rname, rec in policy.write_off_reason_recovery_pct.items():
            sel = np.flatnonzero(dated & (reason == rname.lower()))
            if not len(sel):
                continue
            hit = pd.DataFrame({"cpos": inv_cpos[wpos[sel]], "date": wo["date"].to_numpy()[sel],
                                "invoice_id": wo["invoice_id"].to_numpy(dtype=object)[sel]})
            first = hit.sort_values("date", kind="stable").groupby("cpos", sort=False).first()
            rows = customer_rows(first.index.to_numpy())
            f = first.loc[cpos[rows]]
            ev = [f"{rname} write-off on {i} dated {pd.Timestamp(dd).date()}; expected recovery "
                  f"{rec}%" for i, dd in zip(f["invoice_id"], f["date"])]
            add(rows, open_minor[rows], Decimal(100) - rec, f"{rname} write-off",
                "write_off_reason", ev)

    # accounts flagged by a collector in the activity log
    acts = ledger.activities if activities is None else activities
    if policy.activity_rules and len(acts):
        kinds = sorted({k for r in policy.activity_rules for k in r.kinds})
        acts = activities_as_of(acts[acts["kind"].isin(kinds).to_numpy()], D)
        note = acts["note"].fillna("").astype(str).str.lower() if "note" in acts else \
            pd.Series("", index=acts.index)
        cust_index = IdIndex(ledger.customers["customer_id"])
        for r in policy.activity_rules:
            m = acts["kind"].isin(r.kinds).to_numpy() & \
                (acts["_day"] >= D - pd.Timedelta(days=r.lookback_days)).to_numpy()
            words = np.zeros(len(acts), bool)
            for kw in r.keywords:
                words |= note.str.contains(kw, regex=False).to_numpy()
            hit = acts[m & words].sort_values("_day", kind="stable")
            if not len(hit):
                continue
            by_inv = (r.scope == "invoice") & hit["invoice_id"].notna().to_numpy() \
                if "invoice_id" in hit else np.zeros(len(hit), bool)
            cust_hits = hit[~by_inv].assign(cpos=cust_index.get_indexer(hit.loc[~by_inv, "customer_id"]))
            last = cust_hits.groupby("cpos", sort=False).last()
            rows = customer_rows(last.index.to_numpy())
            f = last.loc[cpos[rows]]
            inv_hits = hit[by_inv]
            if len(inv_hits):
                ipos = IdIndex(ledger.invoices["invoice_id"]).get_indexer(inv_hits["invoice_id"])
                inv_hits = inv_hits.assign(row=np.where(ipos >= 0, row_of[np.maximum(ipos, 0)], -1))
                li = inv_hits[inv_hits["row"] >= 0].groupby("row", sort=False).last()
                rows = np.r_[rows, li.index.to_numpy()]
                f = pd.concat([f, li])
            ev = [f"{k} {a} on {pd.Timestamp(dd).date()}: '{t}'" for k, a, dd, t in
                  zip(f["kind"], f["activity_id"], f["_day"], f["note"])]
            add(rows, open_minor[rows], r.reserve_pct, r.name, "activity_flag", ev)
    if not cands:
        return _empty(notes)
    rows = np.concatenate([c[0] for c in cands])
    allc = pd.DataFrame({
        "row": rows, "base_minor": np.concatenate([c[1] for c in cands]),
        "reserve_pct": np.concatenate([[c[2]] * len(c[0]) for c in cands]).astype(object),
        "rule": np.concatenate([[c[3]] * len(c[0]) for c in cands]).astype(object),
        "kind": np.concatenate([[c[4]] * len(c[0]) for c in cands]).astype(object),
        "evidence": np.concatenate([np.asarray(c[5], dtype=object) for c in cands]),
    })
    cur = items["currency"].to_numpy(dtype=object)
    allc["reserve_minor"] = [pct_of(b, p, c) for b, p, c in
                             zip(allc["base_minor"], allc["reserve_pct"], cur[allc["row"]])]
    allc["_order"] = np.arange(len(allc))
    allc = allc.sort_values(["row", "reserve_minor", "base_minor", "_order"],
                            ascending=[True, False, False, True], kind="stable")
    others = allc.groupby("row", sort=False)["rule"].agg(lambda s: "; ".join(s.iloc[1:]))
    best = allc.drop_duplicates("row", keep="first")
    it = items.iloc[best["row"].to_numpy()]
    out = pd.DataFrame({
        "invoice_id": it["invoice_id"].to_numpy(), "customer_id": it["customer_id"].to_numpy(),
        "currency": it["currency"].to_numpy(), "days_past_due": it["days_past_due"].to_numpy(),
        "open_minor": it["open_minor"].to_numpy(), "base_minor": best["base_minor"].to_numpy(),
        "reserve_pct": best["reserve_pct"].to_numpy(), "reserve_minor": best["reserve_minor"].to_numpy(),
        "rule": best["rule"].to_numpy(), "kind": best["kind"].to_numpy(),
        "evidence": best["evidence"].to_numpy(),
        "other_rules": best["row"].map(others).to_numpy(),
    })
    out = out.sort_values(["customer_id", "invoice_id"], kind="stable").reset_index(drop=True)
    for c in ("open_minor", "base_minor", "reserve_minor", "days_past_due"):
        out[c] = out[c].astype(np.int64)
    out.attrs["notes"] = notes
    return out
