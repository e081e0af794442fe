"""Limit recommendations from the scorecard, the policy and the customer's exposure."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import convert, format_amount, minor_units
from .analysis import (
    _customer_master,
    customer_analysis,
    financial_ratios,
    history_frame,
)
from .features import feature_frame
from .policy import (
    CreditPolicy,
    load_credit_policy,
)


def _share(minor: int, percent) -> int:
    """``percent`` % of an amount in minor units, exactly (Decimal), rounded down."""
    return int((Decimal(int(minor)) * Decimal(str(percent)) / 100).to_integral_value(rounding="ROUND_FLOOR"))


def _to_report(ledger: Ledger, minor: int, currency: str, D, report: str) -> int:
    if currency == report:
        return int(minor)
    return convert(int(minor), currency, ledger.fx_rate(currency, D, report), report)


def _latest(frame: pd.DataFrame, date_col: str, ids) -> pd.DataFrame:
    """Each customer's latest row by ``date_col`` (whole rows, never columns of different
    rows), indexed by customer, reindexed to ``ids``."""
    if not len(frame):
        return frame.iloc[:0].set_index("customer_id").reindex(ids)
    last = frame.sort_values(date_col, kind="stable").drop_duplicates("customer_id", keep="last")
    return last.set_index("customer_id").reindex(ids)


def recommendations(ledger: Ledger, customer_ids, as_of, scorecard=None,
                    policy: CreditPolicy | None = None) -> pd.DataFrame:
    """The limit recommendation of many customers at once, one row each: points, risk
    class, every candidate limit (minor units of the customer's currency), the binding
    rule, the recommended limit rounded down to a whole 1,000, the approver level, the
    exceptions and the scorecard's reason codes.

    The only implementation of the credit policy's arithmetic: :func:`recommend` (the CLI,
    the credit file, the Voila page) takes its row from here, and :func:`portfolio` takes
    all rows, so every surface gives the same answer.

    Candidates: tangible net worth × ``tangible_net_worth_pct`` %, working capital ×
    ``working_capital_pct`` %, the bureau's recommended limit × ``bureau_recommended_pct``
    % (each floored, negative worth floored at 0), ``months_of_purchases`` × purchases per
    month of the last 12 months, and the risk class's cap converted into the customer's
    currency at the as-of rate; the lowest binds.
    """
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = to_date(as_of)
    ids = list(customer_ids)
    report = policy.report_currency
    master = _customer_master(ledger)
    unknown = [c for c in ids if c not in master.index]
    if unknown:
        raise ValueError(f"unknown customer '{unknown[0]}'")
    cust = master.reindex(ids)
    policy = policy.for_ledger(ledger, D, cust["currency"].dropna().unique())
    if scorecard is not None and ids:
        X = feature_frame(ledger, ids, D, policy)
        points = np.asarray(scorecard.score_points(X), dtype=float)
        pds = np.asarray(scorecard.predict_proba(X)[:, 1], dtype=float)
        reasons = scorecard.reason_codes(X)
    else:
        points, pds, reasons = np.full(len(ids), 580.0), np.full(len(ids), np.nan), [[] for _ in ids]
    fin = ledger.financials
    if len(fin):
        fin = fin[fin["period_end"] + pd.Timedelta(days=policy.financials_lag_days) <= D]
    fin = _latest(fin, "period_end", ids)
    bur = ledger.bureau
    bur = _latest(bur[bur["report_date"] <= D] if len(bur) else bur, "report_date", ids)
    tr = ledger.trade_references
    refs = (tr[tr["report_date"] <= D].groupby("customer_id").size() if len(tr)
            else pd.Series(dtype=int)).reindex(ids).fillna(0)
    hist = history_frame(ledger, D).reindex(ids)

    def col(frame, name):
        return frame[name] if name in frame else pd.Series(np.nan, index=frame.index)

    rows = []
    for i, cid in enumerate(ids):
        cur = cust.at[cid, "currency"]
        rc = (policy.risk_class(points=points[i], pd=pds[i]) if scorecard is not None
              else policy.neutral_class())
        exceptions = [] if scorecard is not None else [
            f"no scorecard fitted: the neutral class {rc.name} is used"]
        candidates = {}
        has_fin = not pd.isna(fin.at[cid, "period_end"]) if len(fin.columns) else False
        if not has_fin:
            exceptions.append("no financial statements known on the review date")
        else:
            period_end = fin.at[cid, "period_end"]
            age_months = (D - period_end).days / 30.4375
            if age_months > policy.stale_financials_months:
                exceptions.append(f"stale financials: latest period end {period_end.date()} is "
                                  f"{age_months:.0f} months old (policy {policy.stale_financials_months})")
            r = financial_ratios(fin.loc[cid])
            if policy.tnw_pct is not None and r["tangible_net_worth_minor"] is not None:
                candidates["tangible_net_worth"] = max(_share(r["tangible_net_worth_minor"], policy.tnw_pct), 0)
            if policy.wc_pct is not None and r["working_capital_minor"] is not None:
                candidates["working_capital"] = max(_share(r["working_capital_minor"], policy.wc_pct), 0)
        has_bureau = len(bur.columns) > 0 and not pd.isna(bur.at[cid, "report_date"])
        if not has_bureau:
            exceptions.append("missing bureau report")
        else:
            rd = bur.at[cid, "report_date"]
            if (D - rd).days / 30.4375 > policy.stale_bureau_months:
                exceptions.append(f"stale bureau report from {rd.date()} "
                                  f"(policy {policy.stale_bureau_months} months)")
            rec = col(bur, "recommended_limit_minor").at[cid]
            if policy.bureau_pct is not None and not pd.isna(rec):
                candidates["bureau_recommended"] = _share(int(rec), policy.bureau_pct)
        invoices = 0 if pd.isna(hist.at[cid, "invoices"]) else int(hist.at[cid, "invoices"])
        if policy.months_of_purchases is not None and invoices:
            candidates["months_of_purchases"] = _share(
                int(hist.at[cid, "purchases_per_month_minor"]),
                Decimal(str(policy.months_of_purchases)) * 100)
        util = hist.at[cid, "utilization"]
        if not pd.isna(util) and util > 1:
            exceptions.append(f"utilization above 100% ({util:.0%} of the current limit)")
        candidates[f"class {rc.name} cap"] = rc.max_limit.minor(cur, ledger, D)
        binding = min(candidates, key=lambda k: candidates[k])
        step = 1000 * 10 ** minor_units(cur)    # a limit is not set to the cent
        limit = (int(candidates[binding]) // step) * step
        limit_report = _to_report(ledger, limit, cur, D, report)
        for d in rc.documents:
            if ((d == "bureau" and not has_bureau) or (d == "financials" and not has_fin)
                    or (d == "trade_references" and not refs.at[cid])):
                exceptions.append(f"class {rc.name} requires {d}: missing")
        limit_now = hist.at[cid, "credit_limit_minor"]        # in force on the date
        exposure = 0 if pd.isna(hist.at[cid, "exposure_minor"]) else int(hist.at[cid, "exposure_minor"])
        rows.append({"customer_id": cid, "name": cust.at[cid, "name"], "currency": cur,
                     "score": round(float(points[i]), 1),
                     "pd": None if np.isnan(pds[i]) else round(float(pds[i]), 4),
                     "risk_class": rc.name,
                     "recommended_limit_minor": limit, "recommended_limit_report_minor": limit_report,
                     "credit_limit_minor": None if pd.isna(limit_now) else int(limit_now),
                     "exposure_minor": exposure,
                     "utilization": None if pd.isna(util) else float(util),
                     "binding_rule": binding, "candidates": {k: int(v) for k, v in candidates.items()},
                     "approver_level": policy.approver_for(limit_report),
                     "review_months": rc.review_months,
                     "exceptions": exceptions, "reasons": list(reasons[i])})
    return pd.DataFrame(rows, columns=[
        "customer_id", "name", "currency", "score", "pd", "risk_class", "recommended_limit_minor",
        "recommended_limit_report_minor", "credit_limit_minor", "exposure_minor", "utilization",
        "binding_rule", "candidates", "approver_level", "review_months", "exceptions", "reasons"])


def recommend(ledger: Ledger, customer_id: str, as_of, scorecard=None,
              policy: CreditPolicy | None = None) -> dict:
    """The limit recommendation under the credit policy, with the binding formula, every
    exception, and who must approve (the row of :func:`recommendations`), and the credit
    file's analysis. Without a fitted scorecard, points come from a neutral 580 (class C)
    and that is listed as an exception."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    a = customer_analysis(ledger, customer_id, as_of, policy)
    r = recommendations(ledger, [customer_id], a["as_of"], scorecard, policy).iloc[0]
    cur = r["currency"]
    h = a["history"]
    return {"customer_id": customer_id, "name": a["name"], "as_of": a["as_of"], "currency": cur,
            "score": r["score"], "pd": r["pd"], "risk_class": r["risk_class"],
            "recommended_limit": format_amount(int(r["recommended_limit_minor"]), cur),
            "recommended_limit_minor": int(r["recommended_limit_minor"]),
            "binding_rule": r["binding_rule"],
            "candidates": {k: format_amount(v, cur) for k, v in r["candidates"].items()},
            "exceptions": list(r["exceptions"]), "approver_level": r["approver_level"],
            "review_months": int(r["review_months"]), "reasons": list(r["reasons"]),
            "current_limit": (None if h["credit_limit_minor"] is None
                              else format_amount(h["credit_limit_minor"], cur)),
            "exposure": format_amount(h["exposure_minor"], cur), "policy": policy.label,
            "analysis": a}


