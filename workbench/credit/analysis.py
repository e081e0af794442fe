"""A customer's credit analysis as of a date: financial ratios, payment history, the customer
master in force then."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import convert
from .policy import (
    CreditPolicy,
    load_credit_policy,
)


def _div(a, b):
    if a is None or b is None or pd.isna(a) or pd.isna(b) or b == 0:
        return None
    return float(a) / float(b)


def financial_ratios(row) -> dict:
    """Ratios of one financial statement (money in minor units; ratios plain floats).

    current = CA / CL; quick = (CA - inventory) / CL; working capital = CA - CL;
    debt to equity = TL / (TA - TL); debt ratio = TL / TA; tangible net worth =
    TA - TL - intangibles; net margin = NI / revenue; interest coverage = EBIT / interest;
    OCF to CL = operating cash flow / CL; DSO = receivables / revenue * 365.
    """
    g = lambda k: None if k not in row or pd.isna(row[k]) else int(row[k])  # noqa: E731
    ca, cl, ta, tl = g("current_assets_minor"), g("current_liabilities_minor"), \
        g("total_assets_minor"), g("total_liabilities_minor")
    inv, intang = g("inventory_minor"), g("intangibles_minor")
    equity = None if ta is None or tl is None else ta - tl
    return {
        "current_ratio": _div(ca, cl),
        "quick_ratio": _div(None if ca is None else ca - (inv or 0), cl),
        "working_capital_minor": None if ca is None or cl is None else ca - cl,
        "debt_to_equity": _div(tl, equity) if equity and equity > 0 else None,
        "debt_ratio": _div(tl, ta),
        "tangible_net_worth_minor": None if equity is None else equity - (intang or 0),
        "net_margin": _div(g("net_income_minor"), g("revenue_minor")),
        "interest_coverage": _div(g("ebit_minor"), g("interest_expense_minor")),
        "ocf_to_current_liabilities": _div(g("operating_cash_flow_minor"), cl),
        "customer_dso": (None if _div(g("receivables_minor"), g("revenue_minor")) is None
                         else _div(g("receivables_minor"), g("revenue_minor")) * 365),
    }


def _rows_of(ledger: Ledger, table: str, customer_id: str) -> pd.DataFrame:
    """One customer's rows of a table, through positions grouped once per ledger (a
    portfolio of thousands of customers must not filter the whole table for each)."""
    t = ledger[table]
    if not len(t):
        return t
    rows = ledger.cache.get("credit.customer_rows", table,
                            lambda: t.groupby("customer_id", sort=False).indices)
    pos = rows.get(customer_id)
    return t.iloc[pos] if pos is not None else t.iloc[:0]


def _customer_master(ledger: Ledger) -> pd.DataFrame:
    return ledger.cache.get("credit.customer_master", (),
                            lambda: ledger.customers.set_index("customer_id"))


def _known_financials(ledger: Ledger, customer_id: str, D: pd.Timestamp, policy: CreditPolicy):
    f = _rows_of(ledger, "financials", customer_id)
    if not len(f):
        return f
    f = f[f["period_end"] + pd.Timedelta(days=policy.financials_lag_days) <= D]
    return f.sort_values("period_end")


def history_frame(ledger: Ledger, as_of) -> pd.DataFrame:
    """Internal payment history of every customer as of a date (one pass over the ledger;
    kept in the ledger's cache per date).

    Days late: settled invoices, the settlement's days late
    (:meth:`workbench.ledger.Ledger.settlement`: settlement date - due date, recoveries
    reopening an invoice until it is settled again); open ones, days past due. Share paid
    late: invoices more than 0 days late.

    ``months_as_customer``: days since the first invoice / 30.4375 (the average month),
    rounded half to even to a tenth. ``purchases_per_month_minor``: invoices of the last 12
    months / ``months_as_customer`` clipped to [1, 12], exact integer division rounded down
    to a minor unit (the binding limit of ``months_of_purchases`` never rounds up).
    """
    D = to_date(as_of)
    return ledger.cache.get("credit.history", D, lambda: _history_frame(ledger, D))


def in_customer_currency(ledger: Ledger, D: pd.Timestamp, frame: pd.DataFrame,
                         column: str) -> pd.Series:
    """Per customer, the sum of ``frame[column]`` (minor units of each row's ``currency``)
    in the customer's own currency (``customers.currency``, the currency of its credit
    limit): a customer's invoices in another currency are summed in that currency, then
    converted once at the rate in force on ``D`` (:meth:`Ledger.fx_rate`, exact Decimal,
    rounded half to even), never added as if they were the same unit."""
    if not len(frame):
        return pd.Series(dtype=np.int64)
    sums = frame.groupby(["customer_id", "currency"], sort=True)[column].sum().reset_index()
    own = sums["customer_id"].map(ledger.customers.set_index("customer_id")["currency"])
    other = (sums["currency"] != own).to_numpy()
    if other.any():
        vals = sums[column].to_numpy(dtype=object).copy()
        for i in np.flatnonzero(other):
            cur, to = sums["currency"].iat[i], own.iat[i]
            vals[i] = convert(int(vals[i]), cur, ledger.fx_rate(cur, D, to), to)
        sums[column] = vals.astype(np.int64)
    return sums.groupby("customer_id", sort=True)[column].sum().astype(np.int64)


def _months_tenths(days: np.ndarray) -> np.ndarray:
    """Tenths of months in ``days`` days (days / 30.4375, 30.4375 = 487 / 16), rounded half
    to even, exactly: days * 160 / 487 in integers."""
    num = np.asarray(days, dtype=np.int64) * 160
    q, r = np.divmod(num, 487)
    up = (2 * r > 487) | ((2 * r == 487) & (q % 2 == 1))
    return q + up


def _history_frame(ledger: Ledger, D: pd.Timestamp) -> pd.DataFrame:
    st = ledger.settlement(D).set_index("invoice_id")
    late = np.where(st["settled"], st["days_late"], (D - st["due_date"]).dt.days).astype(float)
    st = st.assign(late=late, late_pos=np.clip(late, 0, None), was_late=(late > 0).astype(float))
    g = st.groupby("customer_id")
    first = st.groupby("customer_id")["invoice_date"].min()
    tenths = pd.Series(_months_tenths(np.maximum((D - first).dt.days.to_numpy(), 0)),
                       index=first.index)
    recent = st[(st["invoice_date"] > D - pd.DateOffset(months=12)).to_numpy()]
    purchases = in_customer_currency(ledger, D, recent, "amount_minor")
    out = pd.DataFrame({
        "months_as_customer": tenths / 10,
        "invoices": g.size(),
        "avg_days_past_due": g["late_pos"].mean().round(2),
        "worst_days_past_due": g["late"].max(),
        "share_paid_late": g["was_late"].mean().round(4),
        "exposure_minor": in_customer_currency(ledger, D, st[(st["open_minor"] > 0).to_numpy()],
                                               "open_minor"),
    })
    # purchases per month: exact, in integers (12 months of invoices * 10 // tenths)
    bought = purchases.reindex(out.index).fillna(0).astype(np.int64).to_numpy()
    per = np.clip(tenths.reindex(out.index).to_numpy(dtype=np.int64), 10, 120)
    out["purchases_per_month_minor"] = (bought * 10) // per
    out["exposure_minor"] = out["exposure_minor"].fillna(0).astype(np.int64)
    d = ledger.disputes
    if len(d):
        d = d[(d["opened_date"] <= D) & (d["opened_date"] > D - pd.DateOffset(months=12))]
        d = d.assign(customer_id=d["invoice_id"].map(ledger.invoices.set_index("invoice_id")["customer_id"]))
        out["disputes_12m"] = d.groupby("customer_id").size().reindex(out.index).fillna(0).astype(int)
    else:
        out["disputes_12m"] = 0
    from ..kpis import promise_outcomes
    prom = promise_outcomes(ledger, D)
    if len(prom):
        prom = prom[(prom["status"] == "broken") & (prom["promise_date"] > D - pd.DateOffset(months=12))]
        out["broken_promises_12m"] = prom.groupby("customer_id").size().reindex(out.index).fillna(0).astype(int)
    else:
        out["broken_promises_12m"] = 0
    # the limit in force on the date (customer_changes); unknown on past dates without history
    if "credit_limit_minor" in ledger.customers:
        from ..master import customers_as_of
        m, _ = customers_as_of(ledger, D, ("credit_limit",))
        out["credit_limit_minor"] = m.set_index("customer_id")["credit_limit_minor"].reindex(out.index)
    else:
        out["credit_limit_minor"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    lim = out["credit_limit_minor"].astype("float")
    out["utilization"] = (out["exposure_minor"] / lim.where(lim > 0)).round(4)
    return out


def _history(ledger: Ledger, customer_id: str, D: pd.Timestamp) -> dict:
    h = history_frame(ledger, D)
    if customer_id not in h.index:
        return {"months_as_customer": 0, "purchases_per_month_minor": 0, "invoices": 0,
                "avg_days_past_due": None, "worst_days_past_due": None, "share_paid_late": None,
                "disputes_12m": 0, "broken_promises_12m": 0, "exposure_minor": 0,
                "credit_limit_minor": None, "utilization": None}
    r = h.loc[customer_id]

    def clean(v, kind=float):
        return None if v is None or pd.isna(v) else kind(v)

    return {"months_as_customer": clean(r["months_as_customer"]),
            "purchases_per_month_minor": int(r["purchases_per_month_minor"]),
            "invoices": int(r["invoices"]), "avg_days_past_due": clean(r["avg_days_past_due"]),
            "worst_days_past_due": clean(r["worst_days_past_due"], int),
            "share_paid_late": clean(r["share_paid_late"]), "disputes_12m": int(r["disputes_12m"]),
            "broken_promises_12m": int(r["broken_promises_12m"]),
            "exposure_minor": int(r["exposure_minor"]),
            "credit_limit_minor": clean(r["credit_limit_minor"], int),
            "utilization": clean(r["utilization"])}


def customer_analysis(ledger: Ledger, customer_id: str, as_of, policy: CreditPolicy | None = None
                      ) -> dict:
    """Everything the credit file shows about a customer as of a date (known then)."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = ledger.require_data_by(as_of)
    cust = _customer_master(ledger)
    if customer_id not in cust.index:
        raise ValueError(f"unknown customer '{customer_id}'")
    c = cust.loc[customer_id]
    fin = _known_financials(ledger, customer_id, D, policy)
    periods = [{"period_end": str(r["period_end"].date()), **financial_ratios(r)}
               for r in fin.to_dict("records")]
    b = _rows_of(ledger, "bureau", customer_id)
    if len(b):
        b = b[b["report_date"] <= D].sort_values("report_date", kind="stable")
    latest_b = b.iloc[-1].to_dict() if len(b) else None
    t = _rows_of(ledger, "trade_references", customer_id)
    if len(t):
        t = t[t["report_date"] <= D]
    refs = None
    if len(t):
        w = t["high_credit_minor"].clip(lower=1)
        refs = {"count": int(len(t)),
                "weighted_days_beyond_terms": round(float((t["days_beyond_terms"] * w).sum() / w.sum()), 2),
                "high_credit_minor": int(t["high_credit_minor"].max())}
    return {"customer_id": customer_id, "name": c["name"], "currency": c["currency"],
            "as_of": str(D.date()), "financials": periods,
            "bureau": None if latest_b is None else {
                k: (None if pd.isna(v) else (str(v.date()) if isinstance(v, pd.Timestamp) else
                                              (int(v) if isinstance(v, (np.integer,)) else v)))
                for k, v in latest_b.items() if k not in ("customer_id",)},
            "bureau_history": [] if not len(b) else b[["report_date", "paydex"]].assign(
                report_date=b["report_date"].dt.date.astype(str)).to_dict("records"),
            "trade_references": refs, "history": _history(ledger, customer_id, D)}


