"""Credit evaluation: the analysis of a customer as of a date, the scorecard trained on
the ledger's own history, the credit policy, the limit recommendation, decisions with
approval authority, and the credit file.

Point in time: a financial statement counts from its period end plus the policy's
reporting lag; bureau reports and trade references from their report date; internal
history only up to the as-of date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .ledger import Ledger, to_date
from .money import convert, format_amount, minor_units, parse_amount
from .policy import (Amounts, Items, Money, Number, PolicyError, PolicySpec, Section, Text, Whole,
                     resolve_all)

__all__ = ["CreditPolicy", "load_credit_policy", "financial_ratios", "customer_analysis",
           "FEATURES", "feature_frame", "training_set", "train_scorecard", "recommend",
           "record_decision", "limit_history", "DECISIONS", "credit_file_html", "review_queue",
           "save_scorecard", "load_scorecard", "portfolio", "recommendations", "review_dates",
           "standard_scorecard", "CREDIT_SPEC", "RiskClass", "PolicyError"]

DECISIONS = ("approve", "approve_other", "decline", "hold")
LEVELS = ("analyst", "manager", "director", "cfo")


# =========================================================================== policy

@dataclass(frozen=True)
class RiskClass:
    name: str
    min_points: float | None
    max_limit: Amounts          # the class's cap, per currency (workbench.policy.Amounts)
    review_months: int
    documents: tuple[str, ...]
    max_pd: float | None = None


@dataclass(frozen=True)
class CreditPolicy:
    name: str
    version: str
    financials_lag_days: int
    stale_financials_months: int
    stale_bureau_months: int
    classes: tuple[RiskClass, ...]
    tnw_pct: float | None
    wc_pct: float | None
    bureau_pct: float | None
    months_of_purchases: float | None
    levels: tuple[tuple[str, Amounts | None], ...]
    report_currency: str = "USD"
    classes_by: str = "points"            # "pd": by probability of default; "points"
    unscored_class: str | None = None     # the class of a customer no scorecard scored

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def risk_class(self, points: float | None = None, pd: float | None = None) -> RiskClass:
        """The class of a score: by probability of default (``classes_by: pd``, the first
        class whose ``max_pd`` it does not exceed) or by points (the first whose
        ``min_points`` it reaches); the last class takes the rest. Unscored (no ``pd``
        under ``classes_by: pd``): ``unscored_class``."""
        if self.classes_by == "pd":
            if pd is None or pd != pd:
                return self.neutral_class()
            for c in self.classes:
                if c.max_pd is None or pd <= c.max_pd:
                    return c
            return self.classes[-1]
        for c in self.classes:
            if c.min_points is None or points >= c.min_points:
                return c
        return self.classes[-1]

    def neutral_class(self) -> RiskClass:
        """The class of an unscored customer: ``unscored_class``, else the class of 580
        points (the scale's neutral score)."""
        if self.unscored_class is not None:
            return next(c for c in self.classes if c.name == self.unscored_class)
        return self.risk_class(points=580.0) if self.classes_by == "points" else self.classes[len(self.classes) // 2]

    def approver_for(self, limit_report_minor: int) -> str:
        """The least level that may approve a limit of this amount in the report currency
        (``approval_levels``: each ``up_to`` in the report currency; resolve a policy whose
        amounts are converted with :meth:`for_ledger` first)."""
        for level, up_to in self.levels:
            if up_to is None or limit_report_minor <= up_to.minor(self.report_currency):
                return level
        return self.levels[-1][0]

    def can_approve(self, level: str, limit_report_minor: int) -> bool:
        needed = self.approver_for(limit_report_minor)
        return LEVELS.index(level) >= LEVELS.index(needed)

    def for_ledger(self, ledger: Ledger, as_of, currencies=None) -> "CreditPolicy":
        """This policy with its class caps given in each of the ledger's currencies and its
        approval limits in the report currency, converted at ``as_of`` where the
        policy says ``currency_conversion: fx_rates`` (the default of credit policies);
        :class:`PolicyError` listing every amount a currency lacks. ``currencies``: the
        customers' currencies to give the caps in (default: every currency of the ledger's
        invoices and customers)."""
        customers = sorted({*ledger.currencies, *ledger.customers["currency"].dropna()}) \
            if currencies is None else sorted(set(currencies))
        classes, levels = resolve_all(
            (self.classes, ledger, as_of, customers),               # caps: customers' currencies
            (self.levels, ledger, as_of, [self.report_currency]))   # approvals: the report's
        return dataclasses.replace(self, classes=classes, levels=levels)


_DOCUMENTS = ("bureau", "financials", "trade_references")

#: The credit policy's keys (beside name, version, description, currency_conversion). Its
#: amounts are converted per customer with fx_rates unless the policy says
#: ``currency_conversion: none`` (then each currency needs its own amount).
CREDIT_SPEC = PolicySpec("credit", {
    "financials_lag_days": Whole(minimum=0, doc="a statement is known this long after its end"),
    "stale_financials_months": Whole(minimum=0),
    "stale_bureau_months": Whole(minimum=0),
    "classes_by": Text(choices=("pd", "points"), required=False, default="points"),
    "unscored_class": Text(required=False),
    "risk_classes": Items(item=Section(fields={
        "class": Text(),
        "min_points": Number(required=False),
        "max_pd": Number(minimum=0, maximum=1, low_open=True, high_open=True, required=False),
        "max_limit": Money(bare="report", minimum=0, doc="the class's cap"),
        "review_months": Whole(minimum=1),
        "documents": Items(item=Text(choices=_DOCUMENTS), required=False, default=())}),
        min_items=1, name_keys=("class",)),
    "limit_formulas": Section(required=False, fields={
        k: Number(minimum=0, required=False) for k in (
            "tangible_net_worth_pct", "working_capital_pct", "bureau_recommended_pct",
            "months_of_purchases")}),
    "approval_levels": Items(item=Section(fields={
        "level": Text(choices=LEVELS),
        "up_to": Money(bare="report", minimum=0, required=False)}),
        min_items=1, name_keys=("level",)),
}, conversion="fx_rates")


def load_credit_policy(path: str | Path = "credit", report_currency: str = "USD") -> CreditPolicy:
    """Read and check a credit policy (default: the shipped one); every problem reported
    together (:mod:`workbench.policy`).

    ``report_currency``: the currency approval limits are compared in (a limit is
    converted into it), and the currency of an amount written without one (older
    policies). Amounts are per currency (``"500000.00 USD"`` or ``{USD: ..., JPY: ...}``);
    :meth:`CreditPolicy.for_ledger` gives them in a ledger's currencies.
    """
    doc = CREDIT_SPEC.read(path, report_currency=report_currency)
    classes = [RiskClass(c["class"], c["min_points"], c["max_limit"], c["review_months"],
                         tuple(d for d in (c["documents"] or ()) if d), c["max_pd"])
               for c in (doc.get("risk_classes") or []) if c and c["class"]]
    classes_by = doc.get("classes_by") or "points"
    key = "max_pd" if classes_by == "pd" else "min_points"
    bounds = [getattr(c, key) for c in classes if getattr(c, key) is not None]
    if classes and len(classes) == len(doc.get("risk_classes") or []):
        if getattr(classes[-1], key) is not None:
            doc.add(f"risk_classes[{classes[-1].name}].{key}",
                    f"the last class must have no {key} (it takes the rest)")
        elif len(bounds) != len(classes) - 1:
            doc.add("risk_classes", f"every class but the last needs {key} (classes_by: "
                                    f"{classes_by})")
        if all(isinstance(b, (int, float)) for b in bounds):
            if classes_by == "points" and any(b >= a for a, b in zip(bounds, bounds[1:])):
                doc.add("risk_classes", f"min_points must decrease class by class; got {bounds}")
            if classes_by == "pd" and any(b <= a for a, b in zip(bounds, bounds[1:])):
                doc.add("risk_classes", f"max_pd must increase class by class; got {bounds}")
    unscored = doc.get("unscored_class")
    if unscored is not None and unscored not in [c.name for c in classes]:
        doc.add("unscored_class", f"{unscored!r} is not one of the risk classes")
    levels = doc.check_tiers("approval_levels", "level", "level")
    f = doc.get("limit_formulas") or {}
    doc.check()
    return CreditPolicy(doc.name, doc.version, doc["financials_lag_days"],
                        doc["stale_financials_months"], doc["stale_bureau_months"], tuple(classes),
                        f.get("tangible_net_worth_pct"), f.get("working_capital_pct"),
                        f.get("bureau_recommended_pct"), f.get("months_of_purchases"),
                        tuple(levels), report_currency, classes_by, unscored)


# =========================================================================== analysis

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
    from .kpis import promise_outcomes
    prom = promise_outcomes(ledger, D)
    if len(prom):
        prom = prom[(prom["status"] == "broken") & (prom["promise_date"] > D - pd.DateOffset(months=12))]
        out["broken_promises_12m"] = prom.groupby("customer_id").size().reindex(out.index).fillna(0).astype(int)
    else:
        out["broken_promises_12m"] = 0
    # the limit in force on the date (customer_changes); unknown on past dates without history
    if "credit_limit_minor" in ledger.customers:
        from .master import customers_as_of
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


# =========================================================================== features

FEATURES = ("paydex", "failure_score", "delinquency_score", "current_ratio", "debt_ratio",
            "net_margin", "share_paid_late", "avg_days_past_due", "worst_days_past_due",
            "months_as_customer", "utilization", "disputes_12m", "broken_promises_12m",
            "trade_dbt")


def feature_frame(ledger: Ledger, customer_ids, as_of, policy: CreditPolicy | None = None
                  ) -> pd.DataFrame:
    """Scorecard features per customer as of a date (NaN where a source is missing):
    latest bureau report, latest known financial statement, payment history, trade
    references, all as known on the date."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = to_date(as_of)
    ids = list(customer_ids)
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    b = ledger.bureau
    if len(b):
        b = b[b["report_date"] <= D].sort_values("report_date").groupby("customer_id").last()
        for c in ("paydex", "failure_score", "delinquency_score"):
            out[c] = b[c].reindex(ids).astype(float) if c in b else np.nan
    else:
        out[["paydex", "failure_score", "delinquency_score"]] = np.nan
    f = ledger.financials
    if len(f):
        f = f[f["period_end"] + pd.Timedelta(days=policy.financials_lag_days) <= D]
        f = f.sort_values("period_end").groupby("customer_id").last().reindex(ids)

        def col(name):
            return f[name].astype(float) if name in f else pd.Series(np.nan, index=f.index)

        # financial_ratios, vectorised: a zero or missing denominator gives NaN
        def ratio(num, den):
            return (num / den.where(den != 0)).where(col("current_assets_minor").notna())

        out["current_ratio"] = ratio(col("current_assets_minor"), col("current_liabilities_minor")).to_numpy()
        out["debt_ratio"] = ratio(col("total_liabilities_minor"), col("total_assets_minor")).to_numpy()
        out["net_margin"] = ratio(col("net_income_minor"), col("revenue_minor")).to_numpy()
    else:
        out[["current_ratio", "debt_ratio", "net_margin"]] = np.nan
    h = history_frame(ledger, D).reindex(ids)
    for c in ("share_paid_late", "avg_days_past_due", "worst_days_past_due", "months_as_customer",
              "utilization", "disputes_12m", "broken_promises_12m"):
        out[c] = h[c].astype(float)
    t = ledger.trade_references
    if len(t):
        t = t[t["report_date"] <= D]
        w = t["high_credit_minor"].clip(lower=1).astype(float)
        dbt = (t["days_beyond_terms"] * w).groupby(t["customer_id"]).sum() / w.groupby(t["customer_id"]).sum()
        out["trade_dbt"] = dbt.reindex(ids).astype(float)
    else:
        out["trade_dbt"] = np.nan
    return out[list(FEATURES)].astype(float)


def _late_90(ledger: Ledger, D: pd.Timestamp, target: str) -> pd.Series:
    """Per customer, the open amount 90+ days past due on ``D`` (undisputed invoices only
    for ``target="material"``); cached per date on the ledger (monthly reviews share most
    of their month ends)."""
    def compute():
        st = ledger.settlement(D)
        late = st[((st["open_minor"] > 0) & ((D - st["due_date"]).dt.days >= 90)).to_numpy()]
        if target == "material" and len(ledger.disputes):
            late = late[~late["invoice_id"].isin(ledger.disputes["invoice_id"]).to_numpy()]
        return in_customer_currency(ledger, D, late, "open_minor")
    return ledger.cache.get("credit.late_90", (D, target), compute)


def _bad_within(ledger: Ledger, customer_ids, start: pd.Timestamp, months: int = 12,
                target: str = "material") -> pd.Series:
    """1 when, in (start, start + months], the customer had a write-off (not a small-balance
    one), or was 90+ days past due, seen at the window's month ends.

    ``target="material"`` (default) counts undisputed invoices 90+ days past due amounting
    to at least a month of the customer's purchases; ``"any"`` counts any invoice 90+ days
    past due (on the demo ledger that marks four customer-reviews in five as bad: every
    large account has some disputed or forgotten invoice that old)."""
    if target not in ("material", "any"):
        raise ValueError(f"target must be 'material' or 'any'; got {target!r}.")
    end = start + pd.DateOffset(months=months)
    ids = pd.Index(list(customer_ids))
    inv = ledger.invoices
    recent = ((inv["invoice_date"] <= start) & (inv["invoice_date"] > start - pd.DateOffset(months=12))).to_numpy()
    # a month of purchases: the last 12 months' / 12, compared exactly (12 * late >= 12 months)
    year = in_customer_currency(ledger, start, inv[recent], "amount_minor").reindex(ids) \
        .fillna(0).astype(np.int64)
    bad = np.zeros(len(ids), dtype=bool)
    for k in range(1, months + 1):
        amt = _late_90(ledger, start + pd.DateOffset(months=k), target).reindex(ids)
        hit = amt.notna() & (amt > 0) if target == "any" else \
            amt.notna() & (amt.fillna(0).astype(np.int64) * 12 >= year)
        bad |= hit.to_numpy()
    red = ledger.reductions()
    wo = red[(red["kind"] == "write_off").to_numpy()]
    if len(wo):
        reason = ledger.write_offs["reason"].fillna("").to_numpy(dtype=object)[wo["row"].to_numpy()]
        keep = ((wo["date"] > start) & (wo["date"] <= end) & (wo["amount_minor"] > 0)).to_numpy() \
            & ~pd.Series(reason).str.contains("small", case=False).to_numpy()
        written = set(inv["customer_id"].to_numpy(dtype=object)[wo["invoice"].to_numpy()[keep]])
        bad |= ids.isin(written)
    return pd.Series(bad.astype(int), index=list(customer_ids))


def training_set(ledger: Ledger, review_dates, policy: CreditPolicy | None = None,
                 target: str = "material", known_by=None) -> pd.DataFrame:
    """(customer, review date) rows: features as known on the review date, the target
    (90+ days past due or a write-off within 12 months after it), for dates whose 12
    months are known by ``known_by`` (default: the ledger's last date)."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    last = ledger.last_date if known_by is None else min(to_date(known_by), ledger.last_date)
    frames = []
    for d in review_dates:
        D = to_date(d)
        if D + pd.DateOffset(months=12) > last:
            continue
        active = ledger.invoices[(ledger.invoices["invoice_date"] <= D)
                                 & (ledger.invoices["invoice_date"] > D - pd.DateOffset(months=12))]
        ids = sorted(active["customer_id"].unique())
        if not ids:
            continue
        X = feature_frame(ledger, ids, D, policy)
        # already bad on the review date: not a new applicant for this target
        X["target"] = _bad_within(ledger, ids, D, target=target).to_numpy()
        X["review_date"] = D
        frames.append(X.reset_index())
    if not frames:
        raise ValueError("no review date leaves 12 months of outcome inside the ledger")
    return pd.concat(frames, ignore_index=True)


def train_scorecard(ledger: Ledger, review_dates, test_from, policy: CreditPolicy | None = None,
                    target: str = "material", known_by=None):
    """Fit the scorecard on reviews before ``test_from``, evaluate on the later ones,
    against a plain logistic regression on the same (median-imputed) features. Only
    outcomes known by ``known_by`` (default: the ledger's last date) are used."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .scorecard import Scorecard, discrimination

    data = training_set(ledger, review_dates, policy, target, known_by)
    T = to_date(test_from)
    train, test = data[data["review_date"] < T], data[data["review_date"] >= T]
    cols = list(FEATURES)
    sc = Scorecard(max_bins=6, min_bin_size=0.08).fit(train[cols], train["target"])
    lr = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                       LogisticRegression(max_iter=1000)).fit(train[cols], train["target"])
    report = {"target": target, "train_rows": int(len(train)), "test_rows": int(len(test)),
              "train_bad_rate": round(float(train["target"].mean()), 4),
              "test_bad_rate": round(float(test["target"].mean()), 4) if len(test) else None,
              "scorecard": discrimination(test["target"], sc.predict_proba(test[cols])[:, 1]),
              "logistic_regression": discrimination(test["target"], lr.predict_proba(test[cols])[:, 1])}
    return sc, report, data


def review_dates(ledger: Ledger, as_of, outcome_months: int = 12, history_months: int = 3
                 ) -> list[str]:
    """Monthly review dates for training: month ends from ``history_months`` after the
    ledger's first invoice (so a customer has some history) whose ``outcome_months`` of
    outcome are over by ``as_of``. Monthly, not quarterly: a two-year ledger leaves only
    a handful of quarter ends, too few reviews to bin a dozen features."""
    D = to_date(as_of)
    if ledger.first_date is None:
        return []
    start = ledger.first_date + pd.DateOffset(months=history_months)
    end = D - pd.DateOffset(months=outcome_months)
    return [str(d.date()) for d in pd.date_range(start, end, freq="ME")]


def standard_scorecard(ledger: Ledger, as_of, policy: CreditPolicy | None = None):
    """The scorecard every surface (CLI, notebook, credit file, Voila page) uses as of a
    date when no saved scorecard is given: fitted on the monthly reviews of
    :func:`review_dates` (the newest third held out to evaluate it), outcomes known by
    ``as_of`` only. Returns ``(scorecard, report, note)``: ``scorecard`` None and ``note``
    saying why when the ledger's history cannot support one. Cached on the ledger."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = to_date(as_of)
    return ledger.cache.get("credit.standard_scorecard", (D, policy.label),
                            lambda: _standard_scorecard(ledger, D, policy))


def _standard_scorecard(ledger: Ledger, D: pd.Timestamp, policy: "CreditPolicy"):
    reviews = review_dates(ledger, D)
    if len(reviews) < 3:
        got = (None, None, f"fewer than three monthly review dates with 12 months of outcome "
                           f"known by {D.date()} (history from "
                           f"{None if ledger.first_date is None else ledger.first_date.date()})")
    else:
        import warnings

        test_from = reviews[int(len(reviews) * 2 / 3)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                sc, report, _ = train_scorecard(ledger, reviews, test_from, policy, known_by=D)
            report.update({"reviews": reviews, "test_from": test_from})
            got = (sc, report, None)
        except ValueError as e:
            got = (None, None, f"the scorecard could not be trained: {e}")
    return got


# =========================================================================== recommendation

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


# =========================================================================== decisions

def record_decision(db, ledger: Ledger, recommendation: dict, decision: str, approver: str,
                    approver_level: str, reason: str, limit: str | None = None,
                    policy: CreditPolicy | None = None, idempotency_key: str | None = None) -> int:
    """Record a credit decision (append-only) with the policy version and ledger hash.

    ``approve`` takes the recommended limit; ``approve_other`` needs ``limit``; ``decline``
    sets no limit; ``hold`` keeps the current one. An approver below the level the limit
    needs is refused with a clear message. A second call with the same ``idempotency_key``
    (a double-click) returns the first decision's id and records nothing.
    """
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
    if approver_level not in LEVELS:
        raise ValueError(f"approver level must be one of {', '.join(LEVELS)}; got {approver_level!r}")
    if not reason or not reason.strip():
        raise ValueError("a decision needs a reason")
    if not approver or not approver.strip():
        raise ValueError("a decision needs the approver's name")
    cur = recommendation["currency"]
    if decision == "approve":
        limit_minor = recommendation["recommended_limit_minor"]
    elif decision == "approve_other":
        if not limit:
            raise ValueError("approve_other needs the limit approved")
        limit_minor = parse_amount(str(limit), cur)
        if limit_minor < 0:
            raise ValueError(f"limit must be >= 0; got {limit}")
    else:
        limit_minor = None
    if limit_minor is not None:
        policy = policy.for_ledger(ledger, recommendation["as_of"], [cur])
        report_minor = _to_report(ledger, limit_minor, cur, recommendation["as_of"], policy.report_currency)
        if not policy.can_approve(approver_level, report_minor):
            needed = policy.approver_for(report_minor)
            raise PermissionError(
                f"{approver} ({approver_level}) may not approve a limit of "
                f"{format_amount(limit_minor, cur, thousands=True)} {cur}: policy {policy.label} "
                f"requires {needed} or above")
    return db.append("credit_decisions", {
        "customer_id": recommendation["customer_id"], "decision": decision,
        "limit_minor": limit_minor, "currency": cur,
        "recommended_limit_minor": recommendation["recommended_limit_minor"],
        "reason": reason.strip(), "approver": approver, "approver_level": approver_level,
        "policy_version": policy.label, "ledger_hash": ledger.content_hash(),
        "idempotency_key": idempotency_key}, actor=approver)


def limit_history(db, customer_id: str) -> pd.DataFrame:
    """A customer's decisions, oldest first, with the limit in force after each."""
    rows = db.current("credit_decisions", customer_id=customer_id)
    df = pd.DataFrame(rows)
    if not len(df):
        return pd.DataFrame(columns=["recorded_at", "decision", "limit", "approver", "reason",
                                     "limit_in_force"])
    in_force, current = [], None
    for r in df.itertuples():
        if r.decision in ("approve", "approve_other"):
            current = format_amount(int(r.limit_minor), r.currency)
        elif r.decision == "decline":
            current = format_amount(0, r.currency)
        in_force.append(current)
    df["limit"] = [None if pd.isna(v) else format_amount(int(v), c) for v, c in zip(df["limit_minor"], df["currency"])]
    df["limit_in_force"] = in_force
    return df[["id", "recorded_at", "decision", "limit", "currency", "approver", "approver_level",
               "reason", "policy_version", "limit_in_force"]]


def review_queue(ledger: Ledger, as_of, db=None, policy: CreditPolicy | None = None,
                 top: int | None = None) -> pd.DataFrame:
    """Customers due for a credit review: never reviewed, review older than their class's
    frequency (neutral class when unscored), or exposure above the limit in force.

    The limit in force is the latest decision recorded in the state database (approved
    limit; a decline is 0), which the ERP has not necessarily posted yet, else the customer
    master's limit on the date; ``limit_source`` says which."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = to_date(as_of)
    items = ledger.open_items(D)
    exposure = in_customer_currency(ledger, D, items, "open_minor")
    cust = ledger.customers.set_index("customer_id")
    limits = history_frame(ledger, D)["credit_limit_minor"]        # in force on the date
    last_review, decided = {}, {}
    if db is not None:
        for r in sorted(db.current("credit_decisions"), key=lambda r: r["id"]):
            last_review[r["customer_id"]] = max(last_review.get(r["customer_id"], ""), r["recorded_at"])
            if r["decision"] in ("approve", "approve_other"):
                decided[r["customer_id"]] = int(r["limit_minor"])
            elif r["decision"] == "decline":
                decided[r["customer_id"]] = 0
    rows = []
    months = policy.neutral_class().review_months
    for cid, exp in exposure.items():
        limit = limits.get(cid)
        limit = None if limit is None or pd.isna(limit) else int(limit)
        source = "customer master"
        if cid in decided:
            limit, source = decided[cid], "decided here"
        why = []
        if limit and exp > limit:
            why.append(f"exposure {exp / max(limit, 1):.0%} of the limit")
        lr = last_review.get(cid)
        if lr is None:
            why.append("never reviewed")
        elif pd.Timestamp(lr).tz_convert(None) < D - pd.DateOffset(months=months):
            why.append(f"last review {lr[:10]}")
        if why:
            rows.append({"customer_id": cid, "name": cust.at[cid, "name"],
                         "currency": cust.at[cid, "currency"], "exposure_minor": int(exp),
                         "credit_limit_minor": limit, "limit_source": source,
                         "utilization": None if not limit else round(exp / limit, 4),
                         "why": "; ".join(why)})
    out = pd.DataFrame(rows, columns=["customer_id", "name", "currency", "exposure_minor",
                                      "credit_limit_minor", "limit_source", "utilization", "why"])
    out = out.sort_values(["utilization", "exposure_minor"], ascending=False, na_position="last")
    return out.head(top).reset_index(drop=True) if top else out.reset_index(drop=True)


# =========================================================================== credit file

def credit_file_html(ledger: Ledger, recommendation: dict, history: pd.DataFrame | None = None) -> str:
    """The audit-ready credit file: inputs, ratios and trend, bureau and references, score
    and reason codes, recommendation with exceptions, decisions and approvals."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
                      autoescape=select_autoescape(["html", "j2"]))
    a = recommendation["analysis"]
    cur = recommendation["currency"]

    def money(v):
        return "" if v is None else format_amount(int(v), cur, thousands=True)

    def num(v, digits=2):
        return "" if v is None else f"{v:,.{digits}f}"

    return env.get_template("credit_file.html.j2").render(
        r=recommendation, a=a, money=money, num=num,
        history=None if history is None or not len(history) else history.to_dict("records"),
        generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def save_scorecard(scorecard, path: str | Path, report: dict) -> Path:
    """Save a fitted scorecard with its evaluation (pickle; only load files you made)."""
    import pickle

    from .io.writer import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump({"kind": "workbench-scorecard", "version": 1, "scorecard": scorecard,
                         "report": report, "features": list(FEATURES)}, f)
    return path


def load_scorecard(path: str | Path):
    import pickle

    with open(path, "rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, dict) or obj.get("kind") != "workbench-scorecard":
        raise ValueError(f"{path} is not a scorecard saved by 'workbench credit train'")
    if obj.get("features") != list(FEATURES):
        raise ValueError(f"{path} was trained on features {obj.get('features')}, this workbench "
                         f"computes {list(FEATURES)}: retrain")
    return obj["scorecard"]


def portfolio(ledger: Ledger, as_of, scorecard=None, policy: CreditPolicy | None = None,
              db=None) -> pd.DataFrame:
    """Every customer with open exposure: score, risk class, recommended limit, current
    limit, exposure, utilization, exceptions, due for review (:func:`recommendations`)."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = ledger.require_data_by(as_of)
    ids = sorted(ledger.open_items(D)["customer_id"].unique())
    due = set(review_queue(ledger, D, db, policy)["customer_id"])
    r = recommendations(ledger, ids, D, scorecard, policy)
    out = r[["customer_id", "name", "currency", "score", "pd", "risk_class", "recommended_limit_minor",
             "credit_limit_minor", "exposure_minor", "utilization", "binding_rule",
             "approver_level"]].copy()
    out["exceptions"] = r["exceptions"].map(len)
    out["due_for_review"] = r["customer_id"].isin(due)
    return out


def html_to_pdf(html: str, path: str | Path, chromium: str = "/usr/bin/chromium") -> Path:
    """Render an HTML document to PDF with headless Chromium (Debian's package), atomically.
    Raises RuntimeError when Chromium is not installed or fails."""
    import shutil
    import subprocess
    import tempfile

    from .io.writer import atomic_path

    exe = chromium if Path(chromium).exists() else shutil.which("chromium")
    if not exe:
        raise RuntimeError("PDF needs Chromium (apt-get install chromium); write .html instead")
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="wb-pdf-") as tmp:
        src = Path(tmp) / "file.html"
        src.write_text(html, encoding="utf-8")
        with atomic_path(path) as out:
            r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update",
                                "--disable-sync", f"--user-data-dir={tmp}/profile",
                                f"--print-to-pdf={out}", "--no-pdf-header-footer", src.as_uri()],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0 or not Path(out).exists() or Path(out).stat().st_size < 1000:
                raise RuntimeError(f"Chromium could not print the PDF: {r.stderr[-300:]}")
    return path
