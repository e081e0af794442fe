"""Using the model: scoring open items, the cash forecast and its backtest, the model card."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from .features import _days, _Streams, invoice_features
from .training import RiskModel, _open_with_outcome, train


def score_open_items(ledger: Ledger, model: RiskModel, as_of) -> pd.DataFrame:
    """Open invoices as of a date: probability of paying more than ``late_days`` late,
    expected pay date and an 80 % interval (never before the as-of date). An invoice
    already more than ``late_days`` past due is late by definition: probability 1."""
    D = ledger.require_data_by(as_of)
    d = int(np.datetime64(D.date(), "D").astype(np.int64))
    items = ledger.open_items(D, customer_columns=())
    pos = pd.Index(ledger.invoices["invoice_id"]).get_indexer(items["invoice_id"])
    X = invoice_features(ledger, pos, np.full(len(pos), d + 1), late_days=model.late_days)  # up to and on D
    decided = (d - _days(ledger.invoices["due_date"].to_numpy())[pos]) > model.late_days
    p = np.where(decided, 1.0, model.p_late(X))
    q = model.days_to_pay(X)
    inv_day = _days(ledger.invoices["invoice_date"].to_numpy())[pos]

    def date(v):
        return (np.maximum(inv_day + np.rint(v).astype(np.int64), d + 1)).astype("datetime64[D]")

    return pd.DataFrame({"invoice_id": items["invoice_id"].to_numpy(),
                         "customer_id": items["customer_id"].to_numpy(),
                         "currency": items["currency"].to_numpy(),
                         "open_minor": items["open_minor"].to_numpy(),
                         "p_late": np.round(p, 4),
                         "expected_pay_date": date(q[0.5]), "pay_date_low": date(q[0.1]),
                         "pay_date_high": date(q[0.9])})


def evaluate_open_items(ledger: Ledger, model: RiskModel, dates) -> pd.DataFrame:
    """Out-of-time evaluation as an analyst meets the model: at each date, the open invoices
    not yet due are scored (features as of that date), and their outcome read off the rest
    of the ledger: late when paid more than ``late_days`` after due, or still unpaid that
    long after due by the ledger's last date (invoices whose outcome is not known yet are
    left out). Beside the model, the customer-history baseline as of the same date: the
    share of its settled invoices paid late, shrunk to the model's training late rate by
    two pseudo-invoices, and the plain share (the average where there is none).

    Returns one row per date and a last row ``all`` pooling every scored invoice: rows,
    late share, and ROC AUC / Brier score of the model, the baseline and the plain share."""
    from ..risk_models import HistoryBaseline, scores

    s = _Streams(ledger, model.late_days)
    last = int(np.datetime64(ledger.last_date.date(), "D").astype(np.int64))
    prior = float(model.metrics.get("late_rate_train") or 0.2)
    rows, pooled = [], []
    for d in dates:
        D = to_date(d)
        day, pos, y, _, _ = _open_with_outcome(ledger, s, D, last, model.late_days, 0)  # not yet due
        if not len(pos):
            continue
        X = invoice_features(ledger, pos, np.full(len(pos), day + 1), s, model.late_days)
        share = X["hist_share_late_n"].to_numpy(dtype=float)
        frame = pd.DataFrame({"y": y, "model": model.p_late(X),
                              "history": HistoryBaseline.shrunk(share, X["hist_settled"], prior, 2.0),
                              "share": np.where(np.isnan(share), prior, share)})
        pooled.append(frame)
        rows.append(_evaluation_row(str(D.date()), frame, scores))
    if pooled:
        rows.append(_evaluation_row("all", pd.concat(pooled, ignore_index=True), scores))
    return pd.DataFrame(rows)


def _evaluation_row(label: str, f: pd.DataFrame, scores) -> dict:
    out = {"date": label, "invoices": int(len(f)), "late_share": round(float(f["y"].mean()), 4)}
    for k in ("model", "history", "share"):
        m = scores(f["y"], f[k])
        out[f"{k}_auc"], out[f"{k}_brier"] = m["auc"], m["brier"]
    return out


def cash_forecast(ledger: Ledger, model: RiskModel, as_of, weeks: int = 13) -> pd.DataFrame:
    """Expected collections per week (per currency) from the open items as of a date: each
    invoice's open balance spread over the weeks by its days-to-pay quantiles (a piecewise
    linear distribution through the 10th, 50th and 90th percentiles); ``low``/``high``: all
    invoices at their 90th / 10th percentile date.

    Money is summed in integers: each invoice's probability of a week is counted in
    billionths (rounded half to even), and ``expected_minor`` of a currency and week is
    sum(open_minor * billionths) / 10**9, exact, rounded once half to even."""
    D = ledger.require_data_by(as_of)
    sc = score_open_items(ledger, model, D)
    start = np.datetime64(D.date(), "D") + 1
    edges = start + 7 * np.arange(weeks + 1)
    lo = sc["pay_date_low"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    mid = sc["expected_pay_date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    hi = sc["pay_date_high"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    e = edges.astype(np.int64)

    def cdf(x):
        # 0.1 at lo, 0.5 at mid, 0.9 at hi; 0 a week before lo; 1 four weeks after hi
        xs = np.column_stack([lo - 7, lo, mid, hi, hi + 28]).astype(float)
        ys = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
        out = np.empty((len(lo), len(x)))
        for i in range(len(lo)):
            out[i] = np.interp(x, np.maximum.accumulate(xs[i] + np.arange(5) * 1e-6), ys)
        return out

    # each invoice's probability of being paid in each week, quantized to billionths (half
    # to even) so that the money is summed in integers: probabilities are model output,
    # amounts are exact
    q = np.rint(cdf(e.astype(float)) * _SHARE_SCALE).astype(np.int64)
    share = np.diff(q, axis=1)
    rows = []
    amount = sc["open_minor"].to_numpy(dtype=np.int64)
    for cur in sorted(sc["currency"].unique()):
        m = (sc["currency"] == cur).to_numpy()
        for w in range(weeks):
            in_w = lambda dd: (dd >= e[w]) & (dd < e[w + 1])  # noqa: E731
            rows.append({"currency": cur, "week": w + 1,
                         "week_start": str(edges[w]), "week_end": str(edges[w + 1] - 1),
                         "expected_minor": _expected_minor(amount[m], share[m, w]),
                         "low_minor": int(amount[m][in_w(hi[m])].sum(dtype=np.int64)),
                         "high_minor": int(amount[m][in_w(lo[m])].sum(dtype=np.int64))})
    return pd.DataFrame(rows)


#: Probabilities in the cash forecast are counted in billionths (exact integer weights).
_SHARE_SCALE = 10**9


def _expected_minor(amount: np.ndarray, share: np.ndarray) -> int:
    """sum(amount * share) / 10**9, exact, rounded once half to even to a minor unit.

    ``amount``: int64 minor units (>= 0); ``share``: int64 weights in [0, 10**9]. Split
    each amount into ``a = A * 10**9 + B`` so no product leaves int64 (``A * w <= a``,
    ``B * w < 10**18``); the remainders are carried exactly.
    """
    Q = _SHARE_SCALE
    a = np.asarray(amount, dtype=np.int64)
    w = np.asarray(share, dtype=np.int64)
    A, B = a // Q, a % Q
    bw = B * w
    whole = int((A * w).sum(dtype=np.int64)) + int((bw // Q).sum(dtype=np.int64))
    rest = int((bw % Q).sum(dtype=np.int64))
    whole += rest // Q
    rest %= Q
    if 2 * rest > Q or (2 * rest == Q and whole % 2 == 1):
        whole += 1
    return whole


BACKTEST_TRAIN_ROWS = 100_000


def backtest_forecast(ledger: Ledger, model: RiskModel | None, dates, weeks: int = 13,
                      late_days: int = 30, max_train_rows: int | None = BACKTEST_TRAIN_ROWS,
                      time_budget_s: float | None = None, progress=None,
                      first_estimate_s: float = 0.0) -> pd.DataFrame:
    """Forecasts made at past dates against the cash that actually arrived on the invoices
    open then (applications dated in each week): error per horizon week. With
    ``model=None`` (the honest backtest) a model is trained as of each date, so no forecast
    uses outcomes after its own date; those models train on at most ``max_train_rows`` of
    the newest rows (100,000: the backtest measures the forecast method, not the last
    fraction of a point of AUC).

    ``time_budget_s``: a date is started only when the slowest date so far fits in what is
    left of the budget (``first_estimate_s``: the time expected for the first, e.g. the
    seconds a training took); the dates left out are in ``attrs["skipped"]`` (and the
    seconds used in ``attrs["seconds"]``). ``progress``: a callable taking a message."""
    import time

    say = progress or (lambda m: None)
    apps = ledger.applications
    rows, skipped, slowest = [], [], float(first_estimate_s)
    started = time.perf_counter()
    dates = list(dates)
    for k, d in enumerate(dates):
        D = to_date(d)
        used = time.perf_counter() - started
        if time_budget_s is not None and (used + slowest > time_budget_s or used >= time_budget_s):
            skipped.append(str(D.date()))
            say(f"backtest: {D.date()} skipped ({used:.0f} s of the {time_budget_s:.0f} s budget used, "
                f"a date takes about {slowest:.0f} s)")
            continue
        t0 = time.perf_counter()
        say(f"backtest {k + 1}/{len(dates)}: forecast as of {D.date()}"
            + (" (training a model as of that date)" if model is None else ""))
        m = model if model is not None else train(ledger, D, late_days, max_train_rows=max_train_rows,
                                                  evaluate=False)[0]
        fc = cash_forecast(ledger, m, D, weeks)
        open_ids = set(ledger.open_items(D)["invoice_id"])
        a = apps[apps["invoice_id"].isin(open_ids) & (apps["applied_date"] > D)]
        for r in fc.itertuples(index=False):
            got = a[(a["currency"] == r.currency) & (a["applied_date"] >= pd.Timestamp(r.week_start))
                    & (a["applied_date"] <= pd.Timestamp(r.week_end))]["amount_minor"].sum()
            rows.append({"forecast_date": str(D.date()), "currency": r.currency, "week": r.week,
                         "expected_minor": r.expected_minor, "actual_minor": int(got),
                         "error_minor": int(r.expected_minor - got)})
        slowest = max(slowest, time.perf_counter() - t0)
    out = pd.DataFrame(rows, columns=["forecast_date", "currency", "week", "expected_minor",
                                      "actual_minor", "error_minor"])
    out.attrs.update({"skipped": skipped, "seconds": round(time.perf_counter() - started, 1)})
    return out


_CANDIDATE_NAMES = {"history": "customer-history baseline (late share, shrunk to the average)",
                    "logistic": "logistic regression (L2)",
                    "gradient_boosting": "gradient boosting (HistGradientBoosting)",
                    "blend": "blend of gradient boosting and logistic regression"}


def model_card(model: RiskModel, backtest: pd.DataFrame | None = None) -> str:
    """A Markdown model card: data window, target, features, metrics against the
    baselines, calibration, importance, known limits."""
    m = model.metrics
    sel = m.get("selection", {})
    lines = ["# Payment-risk model card", "",
             f"- Trained as of {model.trained_as_of}; data window {model.window[0]} to {model.window[1]}",
             f"- Target: paid more than {model.late_days} days after the due date (or still unpaid that long)",
             "- Rows: the open invoices of each month end whose lateness was not yet decided (not yet "
             f"due, or at most {model.late_days} days past due), features as of that month end",
             f"- Time split: test on the month ends from {m['test_from']} ({m['n_test']:,} rows; "
             f"{m['n_train']:,} to train)",
             f"- Model: {_CANDIDATE_NAMES.get(sel.get('selected'), sel.get('selected'))}; "
             f"calibration: {sel.get('calibration', 'not recorded')}. Days to pay: quantile "
             "gradient boosting (10th, 50th, 90th percentiles)",
             f"- SHA-256 {model.sha256 or '(not saved)'}; versions {json.dumps(model.versions)}", ""]
    if sel.get("validation"):
        v = sel["validation"]
        lines += ["## Model selection (validation window: the newest 20 % of the training rows)", "",
                  f"Each candidate fitted on the {v[0]['fitted_rows']:,} older training rows, scored "
                  f"on the {v[0]['validation_rows']:,} newest. {sel['reason'][0].upper()}{sel['reason'][1:]}.", "",
                  "| candidate | ROC AUC | Brier | PR AUC | chosen |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {_CANDIDATE_NAMES.get(r['candidate'], r['candidate'])} | {r['auc']} | {r['brier']} | "
                  f"{r['pr_auc']} | {'yes' if r['selected'] else ''} |" for r in v]
        lines.append("")
    elif sel.get("reason"):
        lines += ["## Model selection", "", f"{sel['reason'][0].upper()}{sel['reason'][1:]}.", ""]
    lines += ["## Metrics on the test set", "", "| model | ROC AUC | PR AUC | Brier | lift top decile |",
              "| --- | --- | --- | --- | --- |"]
    for name, key in ((f"the model ({sel.get('selected', 'chosen')})", "model"),
                      ("customer-history baseline", "baseline_history"),
                      ("logistic regression", "baseline_logistic")):
        r = m[key]
        lines.append(f"| {name} | {r['auc']} | {r['pr_auc']} | {r['brier']} | {r['lift_top_decile']} |")
    lines += ["", f"Days to pay: median MAE {m['days_to_pay']['mae_median']} days; 80 % interval coverage "
              f"{m['days_to_pay']['coverage_80']}", "", "## Calibration", "",
              "| predicted bin | n | mean predicted | observed |", "| --- | --- | --- | --- |"]
    lines += [f"| {c['bin']} | {c['n']} | {c['predicted']} | {c['observed']} |" for c in m["calibration"]]
    lines += ["", "## Features (permutation importance, drop in ROC AUC)", ""]
    lines += [f"- {r['feature']}: {r['auc_drop']}" for r in m["importance"]]
    if backtest is not None and len(backtest):
        err = backtest.assign(abs_err=backtest["error_minor"].abs()).groupby("week")["abs_err"].mean()
        lines += ["", "## 13-week forecast backtest (mean absolute error per horizon week, minor units)", ""]
        lines += [f"- week {w}: {int(v)}" for w, v in err.items()]
    lines += ["", "## Known limits", ""] + [f"- {n[0].upper()}{n[1:]}." for n in sel.get("notes", [])]
    lines += [
              "- Days to pay is fitted on settled invoices only (right-censoring of slow payers is not modelled).",
              "- Utilization divides by the credit limit in force the day before the invoice or "
              "scoring date (customer_changes); without that history it is left out.",
              "- The forecast spreads each invoice by three quantiles; correlated delays (a customer "
              "paying everything late at once) widen the true interval beyond low/high.", ""]
    return "\n".join(lines)


def customer_risk(scores: pd.DataFrame) -> pd.Series:
    """Per customer, the open-balance-weighted probability of paying late (for the
    collections worklist's ranking)."""
    w = scores["open_minor"].astype(float)
    num = (scores["p_late"] * w).groupby(scores["customer_id"]).sum()
    return (num / w.groupby(scores["customer_id"]).sum()).rename("p_late")
