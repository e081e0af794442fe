"""Scorecard features as of review dates, the training set with outcomes, the standard
scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from .analysis import history_frame, in_customer_currency
from .policy import (
    CreditPolicy,
    load_credit_policy,
)

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

    from ..scorecard import Scorecard, discrimination

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


