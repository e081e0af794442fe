"""Payment risk: point-in-time features, a calibrated model of paying late, days to pay,
scores for open items, the 13-week cash forecast with its backtest, and the model card.

Point in time, by construction: every customer-history feature of a row is read off
event streams (invoices issued, invoices settled, payments, disputes, promises, bureau
reports) at the row's as-of time, counting only events dated strictly before it. For
training the as-of time is the invoice's issue date; for scoring, the scoring date. The
test suite recomputes features on a ledger cut at the as-of date and finds them equal.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .ledger import Ledger, to_date

__all__ = ["FEATURES", "invoice_features", "settlement", "training_frame", "train",
           "RiskModel", "load_model", "score_open_items", "cash_forecast", "backtest_forecast",
           "model_card", "customer_risk", "evaluate_open_items"]

FEATURES = ("hist_invoices", "hist_settled", "hist_share_late", "hist_share_late_n",
            "hist_mean_days_late",
            "hist_max_days_late", "hist_last_days_late", "hist_mean_days_late_90d",
            "hist_share_late_90d", "hist_share_late_180d", "hist_share_late_n_90d",
            "days_since_last_payment", "open_balance", "open_past_due", "utilization",
            "disputes_before", "broken_promises_before", "paydex", "failure_score",
            "log_amount", "amount_vs_usual", "terms_days", "currency_code", "month",
            "quarter_end", "age_days")

_NEVER = np.iinfo(np.int64).max // 4


def _days(values) -> np.ndarray:
    arr = np.asarray(values).astype("datetime64[D]")
    out = arr.astype(np.int64)
    out[np.isnat(arr)] = _NEVER
    return out


def settlement(ledger: Ledger) -> pd.DataFrame:
    """Each invoice's settlement as recorded (the ledger's last state): the day its open
    balance last reached zero (:meth:`workbench.ledger.Ledger.settlement`, recoveries
    reopening it), or none when still open; and its days late. One row per invoice, in
    the order of ``invoices``: ``settle_day`` (day number, a very large value when open),
    ``days_late`` (float, NaN when open)."""
    inv = ledger.invoices
    per = ledger.settlement_periods()
    final = per["reopened_date"].isna().to_numpy()
    settle = np.full(len(inv), _NEVER, dtype=np.int64)
    late = np.full(len(inv), np.nan)
    p = per["invoice"].to_numpy()[final]
    settle[p] = _days(per["settled_date"].to_numpy()[final])
    late[p] = per["days_late"].to_numpy()[final]
    return pd.DataFrame({"settle_day": settle, "days_late": late})


class _Streams:
    """Per-customer cumulative event streams, queried at any (customer, day)."""

    def __init__(self, ledger: Ledger, late_days: int = 30):
        inv = ledger.invoices
        self.ledger = ledger
        self.cust_codes, self.customers = pd.factorize(inv["customer_id"], sort=True)
        self.cust_index = pd.Index(self.customers)
        self.inv_day = _days(inv["invoice_date"].to_numpy())
        self.due_day = _days(inv["due_date"].to_numpy())
        self.amount = inv["amount_minor"].to_numpy(dtype=np.int64)
        c = self.cust_codes
        # settlement periods (:meth:`Ledger.settlement_periods`): an invoice counts as settled
        # from the day its balance reached zero, with its days late, until a recovery
        # reopens it (a retraction row); so the history at any day is what was known then
        per = ledger.settlement_periods()
        self.periods = per
        p = per["invoice"].to_numpy()
        s_day = _days(per["settled_date"].to_numpy())
        r_day = _days(per["reopened_date"].to_numpy())
        dl = per["days_late"].to_numpy(dtype=np.int64)
        re = r_day < _NEVER
        codes = np.r_[c[p], c[p[re]]]
        days = np.r_[s_day, r_day[re]]
        sign = np.r_[np.ones(len(p), np.int64), -np.ones(int(re.sum()), np.int64)]
        late = np.r_[dl, dl[re]]
        episode = np.r_[np.arange(len(p)), np.flatnonzero(re)]
        self.settled = self._stream(codes, days,
                                    {"n": sign, "late": sign * (late > 0),
                                     "late_n": sign * (late > late_days), "days": sign * late},
                                    maxcol=late.astype(float), carry={"last": late.astype(float)},
                                    episode=episode, retract=sign < 0)
        # issued invoices (amounts and counts) for open balance and the usual amount
        self.issued = self._stream(c, self.inv_day, {"n": np.ones(len(c), np.int64),
                                                      "amt": self.amount})
        # every reduction of the customer's invoices (the ledger's one event stream), counted
        # from the later of its date and the invoice date
        red = ledger.reductions()
        self.red_pos = red["invoice"].to_numpy(dtype=np.int64)
        self.red_day = _days(red["date"].to_numpy())
        self.red_amount = red["amount_minor"].to_numpy(dtype=np.int64)
        rp = self.red_pos
        self.reductions = self._stream(c[rp], np.maximum(self.red_day, self.inv_day[rp]),
                                       {"amt": self.red_amount})
        cash = (red["kind"] == "application").to_numpy()
        self.payments = self._stream(c[rp[cash]], self.red_day[cash],
                                     {"n": np.ones(int(cash.sum()), np.int64)}, lastday=True)
        d = ledger.disputes
        if len(d):
            dp = ledger.invoice_positions("disputes")
            k = dp >= 0
            self.disputes = self._stream(c[dp[k]], _days(d["opened_date"].to_numpy())[k], {"n": np.ones(k.sum())})
        else:
            self.disputes = None
        self.broken = None
        acts = ledger.activities
        if len(acts) and "promise_date" in acts:
            from .kpis import KPIOptions, promise_schedule
            sched = promise_schedule(ledger, None, KPIOptions()).promises
            if len(sched):
                due = _days(sched["due"].to_numpy())
                kept = _days(sched["kept_on"].to_numpy())
                broken = kept > due           # not kept by its date: known the day after
                codes = self.cust_index.get_indexer(sched["customer_id"].astype(object))
                k = (codes >= 0) & broken
                self.broken = self._stream(codes[k], due[k] + 1, {"n": np.ones(k.sum())})
        b = ledger.bureau
        self.bureau = None
        if len(b):
            codes = self.cust_index.get_indexer(b["customer_id"].astype(object))
            k = codes >= 0
            self.bureau = self._stream(codes[k], _days(b["report_date"].to_numpy())[k],
                                       {}, carry={"paydex": b["paydex"].to_numpy(dtype=float)[k],
                                                  "failure_score": b["failure_score"].to_numpy(dtype=float)[k]})

    def settled_days_at(self, day: int) -> np.ndarray:
        """Per invoice, the day it was settled as known on ``day`` (its settlement period
        covering ``day``), ``_NEVER`` when open then."""
        cache = self.__dict__.setdefault("_settled_at", {})
        if day not in cache:
            per = self.periods
            s_day = _days(per["settled_date"].to_numpy())
            r_day = _days(per["reopened_date"].to_numpy())
            active = (s_day <= day) & (r_day > day)
            out = np.full(len(self.inv_day), _NEVER, dtype=np.int64)
            out[per["invoice"].to_numpy()[active]] = s_day[active]
            cache[day] = out
        return cache[day]

    @staticmethod
    def _stream(codes, days, cols: dict, maxcol=None, lastday=False, carry=None, episode=None,
                retract=None):
        """Events sorted by (customer, day) with cumulative columns within the customer
        (integer columns summed exactly in int64), the running max of ``maxcol`` and the
        ``carry`` values of the latest event. With ``retract`` (rows that withdraw the event
        of the same ``episode``), the max and the latest are taken over the events not
        withdrawn at each row."""
        codes = np.asarray(codes, dtype=np.int64)
        days = np.asarray(days, dtype=np.int64)
        order = np.lexsort((days, codes))
        key = codes[order] * (1 << 32) + days[order]
        start = np.r_[True, codes[order][1:] != codes[order][:-1]] if len(order) else np.zeros(0, bool)
        group_first = np.maximum.accumulate(np.where(start, np.arange(len(order)), 0)) if len(order) else np.zeros(0, np.int64)
        out = {"key": key, "codes": codes[order], "days": days[order], "first": group_first}
        for name, v in cols.items():
            v = np.asarray(v)
            v = v.astype(np.int64) if v.dtype.kind in "biu" else v.astype(float)
            vs = v[order]
            cs = np.cumsum(vs)
            out[name] = cs - (cs - vs)[group_first]         # cumulative within the customer
        if maxcol is not None:
            # running max within each customer (rows sorted by customer, then day)
            m = np.asarray(maxcol, dtype=float)[order]
            out["max"] = pd.Series(m).groupby(codes[order]).cummax().to_numpy()
        if carry:
            out["carry"] = {k: np.asarray(v)[order] for k, v in carry.items()}
        if retract is not None and np.asarray(retract).any():
            _withdraw(out, order, np.asarray(episode)[order], np.asarray(retract)[order],
                      np.asarray(maxcol, dtype=float)[order])
        return out

    @staticmethod
    def at(stream, codes, days, name=None):
        """Value of a cumulative column (or the row index) for events strictly before day."""
        if stream is None or not len(stream["key"]):
            return np.zeros(len(codes)) if name else np.full(len(codes), -1)
        q = np.asarray(codes, dtype=np.int64) * (1 << 32) + np.asarray(days, dtype=np.int64)
        idx = np.searchsorted(stream["key"], q, side="left") - 1
        ok = (idx >= 0) & (stream["codes"][np.maximum(idx, 0)] == codes)
        if name is None:
            return np.where(ok, idx, -1)
        return np.where(ok, stream[name][np.maximum(idx, 0)], 0.0)


def _take(values, idx) -> np.ndarray:
    """values[idx] where idx >= 0, NaN elsewhere (and everywhere when values is empty)."""
    idx = np.asarray(idx)
    if values is None or len(values) == 0:
        return np.full(len(idx), np.nan)
    return np.where(idx >= 0, np.asarray(values, dtype=float)[np.maximum(idx, 0)], np.nan)


def invoice_features(ledger: Ledger, positions: np.ndarray, as_of_days: np.ndarray,
                     streams: _Streams | None = None, late_days: int = 30) -> pd.DataFrame:
    """Features of invoices (row positions in ``ledger.invoices``) as of given days, using
    only events dated strictly before each as-of day."""
    s = streams or _Streams(ledger, late_days)
    pos = np.asarray(positions, dtype=np.int64)
    t = np.asarray(as_of_days, dtype=np.int64)
    c = s.cust_codes[pos]
    n_set = s.at(s.settled, c, t, "n")
    late = s.at(s.settled, c, t, "late")
    days = s.at(s.settled, c, t, "days")
    idx = s.at(s.settled, c, t)
    mx = _take(s.settled.get("max"), idx)
    last_late = _take(s.settled.get("carry", {}).get("last"), idx)
    n90 = n_set - s.at(s.settled, c, t - 90, "n")
    d90 = days - s.at(s.settled, c, t - 90, "days")

    def window(w, col="late"):
        n_w = n_set - s.at(s.settled, c, t - w, "n")
        l_w = s.at(s.settled, c, t, col) - s.at(s.settled, c, t - w, col)
        return np.where(n_w > 0, l_w / np.maximum(n_w, 1), np.nan)

    issued_n = s.at(s.issued, c, t, "n")
    issued_amt = s.at(s.issued, c, t, "amt")
    open_bal = issued_amt - s.at(s.reductions, c, t, "amt")
    # past-due part of the open balance: invoices due before t still open at t
    pidx = s.at(s.payments, c, t)
    last_pay = np.where(pidx >= 0, _take(s.payments["days"].astype(float), pidx), -1)
    # the credit limit in force the day before the as-of day (customer_changes); unknown on
    # past dates of a ledger without that history, so then the feature is left out
    if "credit_limit_minor" in ledger.customers:
        from .master import master_values
        v, known, _ = master_values(ledger, "credit_limit", np.asarray(s.customers, dtype=object)[c], t - 1)
        lim = np.where(known, v, np.nan).astype(float)
    else:
        lim = np.full(len(c), np.nan)
    bidx = s.at(s.bureau, c, t) if s.bureau is not None else np.full(len(c), -1)
    paydex = _take(s.bureau["carry"]["paydex"], bidx) if s.bureau else np.full(len(c), np.nan)
    fail = _take(s.bureau["carry"]["failure_score"], bidx) if s.bureau else np.full(len(c), np.nan)
    amount = s.amount[pos].astype(float)
    usual = np.where(issued_n > 0, issued_amt / np.maximum(issued_n, 1), np.nan)
    inv_day = s.inv_day[pos]
    dates = pd.to_datetime(inv_day.astype("datetime64[D]"))
    cur_codes = pd.Categorical(ledger.invoices["currency"].to_numpy(dtype=object)[pos],
                               categories=sorted(ledger.invoices["currency"].dropna().unique())).codes
    past_due_open = _past_due_open(ledger, s, c, t)
    return pd.DataFrame({
        "hist_invoices": issued_n, "hist_settled": n_set,
        "hist_share_late": np.where(n_set > 0, late / np.maximum(n_set, 1), np.nan),
        "hist_share_late_n": np.where(n_set > 0, s.at(s.settled, c, t, "late_n") / np.maximum(n_set, 1), np.nan),
        "hist_mean_days_late": np.where(n_set > 0, days / np.maximum(n_set, 1), np.nan),
        "hist_max_days_late": mx, "hist_last_days_late": last_late,
        "hist_mean_days_late_90d": np.where(n90 > 0, d90 / np.maximum(n90, 1), np.nan),
        "hist_share_late_90d": window(90), "hist_share_late_180d": window(180),
        "hist_share_late_n_90d": window(90, "late_n"),
        "days_since_last_payment": np.where(last_pay >= 0, t - last_pay, np.nan),
        "open_balance": open_bal, "open_past_due": past_due_open,
        "utilization": np.where(lim > 0, open_bal / np.where(lim > 0, lim, 1), np.nan),
        "disputes_before": s.at(s.disputes, c, t, "n") if s.disputes else np.zeros(len(c)),
        "broken_promises_before": s.at(s.broken, c, t, "n") if s.broken else np.zeros(len(c)),
        "paydex": paydex, "failure_score": fail,
        "log_amount": np.log1p(amount), "amount_vs_usual": amount / usual,
        "terms_days": (s.due_day[pos] - inv_day).astype(float),
        "currency_code": cur_codes.astype(float), "month": dates.month.to_numpy(dtype=float),
        "quarter_end": (dates.month.to_numpy() % 3 == 0).astype(float),
        "age_days": (t - inv_day).astype(float),
    })[list(FEATURES)]


def _withdraw(out: dict, order, episode, retract, value) -> None:
    """Recompute ``out["max"]`` and ``out["carry"]["last"]`` for the customers with
    withdrawn events: after each row, the max and the latest value over the events still
    standing (heaps with lazy deletion; few customers have recoveries)."""
    import heapq

    codes = out["codes"]
    mx = out["max"].copy()
    last = out["carry"]["last"].astype(float).copy()
    for code in np.unique(codes[retract]):
        rows = np.flatnonzero(codes == code)
        standing: dict = {}
        by_value: list = []
        by_rank: list = []
        for k in rows:
            e = int(episode[k])
            if retract[k]:
                standing.pop(e, None)
            else:
                standing[e] = value[k]
                heapq.heappush(by_value, (-value[k], e))
                heapq.heappush(by_rank, (-k, e))
            while by_value and by_value[0][1] not in standing:
                heapq.heappop(by_value)
            while by_rank and by_rank[0][1] not in standing:
                heapq.heappop(by_rank)
            mx[k] = -by_value[0][0] if by_value else np.nan
            last[k] = standing[by_rank[0][1]] if by_rank else np.nan
    out["max"] = mx
    out["carry"]["last"] = last


def _past_due_open(ledger, s: _Streams, c, t) -> np.ndarray:
    """Open amount, at t, of the customer's invoices due before t: issued-and-due events
    minus reductions of those invoices dated before t (both counted before t)."""
    if not hasattr(s, "_due_stream"):
        s._due_stream = s._stream(s.cust_codes, s.due_day + 1, {"amt": s.amount})
        rp = s.red_pos
        s._due_red = s._stream(s.cust_codes[rp], np.maximum(s.red_day, s.due_day[rp] + 1),
                               {"amt": s.red_amount})
    return s.at(s._due_stream, c, t, "amt") - s.at(s._due_red, c, t, "amt")


# =========================================================================== training

def training_frame(ledger: Ledger, as_of, late_days: int = 30,
                   streams: _Streams | None = None) -> pd.DataFrame:
    """Training rows as the model is used: at each month end before ``as_of`` (from the
    first full month of the ledger), every open invoice whose lateness is not yet decided
    (not yet due, or at most ``late_days`` past due) and whose outcome is known on
    ``as_of``; features as of that month end (events up to and including it), ``late``
    (paid more than ``late_days`` after due, or still unpaid that long after due),
    ``days_to_pay`` from the invoice date (settled ones), ``snapshot_day`` and
    ``invoice_day``.

    Why snapshots rather than one row per invoice at its issue date: the model scores open
    items at a date (the worklist, the forecast); trained at issue dates it never saw an
    invoice that has been open for weeks, nor the fast payers' absence from the open book,
    and out of time it lost to the customer's own late share (issue 11)."""
    D = to_date(as_of)
    d = int(np.datetime64(D.date(), "D").astype(np.int64))
    s = streams or _Streams(ledger, late_days)
    inv_day = s.inv_day
    inv_ids = ledger.invoices["invoice_id"].to_numpy(dtype=object)
    cust_ids = ledger.invoices["customer_id"].to_numpy(dtype=object)
    start = ledger.first_date + pd.offsets.MonthEnd(1) if ledger.first_date is not None else D
    frames = []
    for M in pd.date_range(start, D, freq="ME"):
        day, pos, late, settled_by, settle = _open_with_outcome(ledger, s, M, d, late_days,
                                                                late_days)
        if not len(pos):
            continue
        X = invoice_features(ledger, pos, np.full(len(pos), day + 1), s)
        X["late"] = late
        X["days_to_pay"] = np.where(settled_by, settle - inv_day[pos], np.nan)
        X["snapshot_day"] = day
        X["invoice_day"] = inv_day[pos]
        X["invoice_id"] = inv_ids[pos]
        X["customer_id"] = cust_ids[pos]
        frames.append(X)
    if not frames:
        return pd.DataFrame(columns=[*FEATURES, "late", "days_to_pay", "snapshot_day", "invoice_day",
                                     "invoice_id", "customer_id"])
    return pd.concat(frames, ignore_index=True)


def _open_with_outcome(ledger: Ledger, s: _Streams, at, known_by: int, late_days: int,
                       max_days_past_due: int):
    """The open invoices on ``at`` at most ``max_days_past_due`` days past due whose outcome
    is known on day ``known_by`` (settled by then, or more than ``late_days`` past due):
    ``(day of at, positions, late 0/1, settled, settlement day)``. Settled and days late
    are the ledger's settlement as known on ``known_by`` (:meth:`Ledger.settlement`: a
    recovery not yet re-settled leaves the invoice open). Shared by the training rows and
    the out-of-time evaluation, so both read one definition of late."""
    day = int(np.datetime64(to_date(at).date(), "D").astype(np.int64))
    items = ledger.open_items(at, customer_columns=())
    pos = pd.Index(ledger.invoices["invoice_id"]).get_indexer(items["invoice_id"])
    pos = pos[day - s.due_day[pos] <= max_days_past_due]
    settle = s.settled_days_at(known_by)[pos]
    settled = settle <= known_by
    known = settled | (known_by - s.due_day[pos] > late_days)
    pos, settled, settle = pos[known], settled[known], settle[known]
    days_late = np.where(settled, settle - s.due_day[pos], known_by - s.due_day[pos])
    return day, pos, (days_late > late_days).astype(int), settled, settle


def _metrics(y, p) -> dict:
    """:func:`workbench.risk_models.scores` and the lift of the top decile."""
    from .risk_models import scores

    y = np.asarray(y)
    p = np.clip(np.asarray(p, dtype=float), 0, 1)
    out = scores(y, p)
    if out["auc"] is None:
        return {**out, "lift_top_decile": None}
    top = np.argsort(-p)[: max(len(p) // 10, 1)]
    return {**out, "lift_top_decile": round(float(y[top].mean() / max(y.mean(), 1e-9)), 3)}


def _calibration(y, p, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                        "predicted": round(float(p[m].mean()), 4), "observed": round(float(np.mean(y[m])), 4)})
    return out


@dataclass
class RiskModel:
    """A trained payment-risk model with what it needs to be trusted and checked."""

    classifier: object
    quantile_models: dict
    features: list
    dtypes: dict
    late_days: int
    trained_as_of: str
    window: tuple
    metrics: dict
    versions: dict
    sha256: str = ""

    def check(self, X: pd.DataFrame) -> None:
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise ValueError(f"scoring data lacks feature(s) {missing}")
        wrong = [f"{f} ({X[f].dtype}, model {self.dtypes[f]})" for f in self.features
                 if str(X[f].dtype) != self.dtypes[f]]
        if wrong:
            raise ValueError(f"scoring data has differently typed feature(s): {', '.join(wrong)}")

    def p_late(self, X: pd.DataFrame) -> np.ndarray:
        self.check(X)
        return self.classifier.predict_proba(X[self.features])[:, 1]

    def days_to_pay(self, X: pd.DataFrame) -> dict:
        self.check(X)
        out = {q: m.predict(X[self.features]) for q, m in self.quantile_models.items()}
        lo, mid, hi = np.sort(np.column_stack([out[0.1], out[0.5], out[0.9]]), axis=1).T
        return {0.1: lo, 0.5: mid, 0.9: hi}


MAX_TRAIN_ROWS = 250_000


def train(ledger: Ledger, as_of, late_days: int = 30, test_share: float = 0.25,
          seed: int = 0, max_train_rows: int | None = MAX_TRAIN_ROWS,
          evaluate: bool = True, progress=None) -> tuple[RiskModel, dict]:
    """Train the late-payment model as of a date, chosen against the baselines.

    Rows: invoices issued before ``as_of`` whose outcome is known then, in issue order. The
    newest ``test_share`` are held out (the test set, reported only). On the rest,
    :class:`workbench.risk_models.LatePaymentClassifier` fits the customer-history baseline,
    a logistic regression, gradient boosting and their blend on the older 80 %, scores the
    newest 20 % (the validation window) and keeps the simplest candidate that beats the
    baseline there (AUC and Brier score); when none does, the baseline is the model. Days to
    pay: quantile gradient boosting (10th, 50th, 90th percentiles) on the settled invoices.

    ``max_train_rows``: train on at most this many of the newest training invoices (None:
    all). On the 1M-invoice demo (669 k training rows, one thread) 250 k rows train in
    32 s instead of 77 s for the same test AUC (0.8867 against 0.8866; benchmarks/README.md);
    the test set is never cut. ``evaluate=False`` fits only (the forecast backtest's retrains
    at past dates): no test metrics or importance. ``progress``: a callable taking a message.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    from .risk_models import HistoryBaseline, LatePaymentClassifier, logistic_model

    say = progress or (lambda m: None)
    D = to_date(as_of)
    say(f"training data as of {D.date()}")
    data = training_frame(ledger, D, late_days)
    if len(data) < 200 or data["late"].nunique() < 2:
        raise ValueError(f"too little history to train on before {D.date()}: {len(data)} invoices "
                         f"with a known outcome, {int(data['late'].sum())} late")
    data = data.sort_values(["snapshot_day", "invoice_day"], kind="stable")
    split = data["snapshot_day"].quantile(1 - test_share)
    tr, te = data[data["snapshot_day"] < split], data[data["snapshot_day"] >= split]
    if not len(tr) or not len(te):
        raise ValueError(f"too little history to train on before {D.date()}: {len(data)} open "
                         "invoices at month ends with a known outcome, all in one month")
    if max_train_rows is not None and len(tr) > max_train_rows:
        tr = tr.iloc[len(tr) - int(max_train_rows):]       # the newest, as sorted above
    if max_train_rows is not None and len(te) > max_train_rows // 2:
        # a sample of the test month ends (in order) is enough to measure the model
        te = te.sample(max_train_rows // 2, random_state=seed).sort_index()
    # a feature the ledger cannot provide (no bureau table, say) is left out of the model
    cols = [f for f in FEATURES if tr[f].notna().any()]
    notes = []
    if "utilization" not in cols and "credit_limit_minor" in ledger.customers:
        notes.append("utilization left out: the ledger has no customer_changes history, so the "
                     "credit limit in force on past invoice dates is unknown (today's limit "
                     "would look ahead)")
    for n in notes:
        say(n)
    clf = LatePaymentClassifier(random_state=seed).fit(tr[cols], tr["late"].to_numpy(), progress=say)
    say("days-to-pay quantiles")
    settled = tr[tr["days_to_pay"].notna()]
    if len(settled) > 100_000:          # three quantile models: the newest 100,000 are plenty
        settled = settled.iloc[len(settled) - 100_000:]
    qm = {}
    for q in (0.1, 0.5, 0.9):
        qm[q] = HistGradientBoostingRegressor(loss="quantile", quantile=q, max_iter=60, learning_rate=0.15,
                                              random_state=seed).fit(settled[cols], settled["days_to_pay"])
    import sklearn
    versions = {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                "pandas": pd.__version__, "numpy": np.__version__}
    window = (str(np.datetime64(int(data["snapshot_day"].min()), "D")), str(D.date()))
    selection = {"selected": clf.selected_, "reason": clf.reason_, "calibration": clf.calibration_,
                 "validation": clf.comparison_.to_dict("records")}
    selection["notes"] = notes
    if not evaluate:
        metrics = {"n_train": int(len(tr)), "n_test": int(len(te)), "late_days": late_days,
                   "test_from": str(np.datetime64(int(split), "D")), "evaluated": False,
                   "selection": selection}
        return RiskModel(clf, qm, cols, {c: str(tr[c].dtype) for c in cols}, late_days,
                         str(D.date()), window, metrics, versions), metrics
    say(f"evaluating on the {len(te):,} newest invoices")
    p_model = clf.predict_proba(te[cols])[:, 1]
    p_hist = HistoryBaseline(prior_weight=clf.prior_weight).fit(tr[cols], tr["late"]).predict_proba(te[cols])[:, 1]
    lr = clf.estimator_ if clf.selected_ == "logistic" else logistic_model(seed).fit(tr[cols], tr["late"])
    p_lr = lr.predict_proba(te[cols])[:, 1]
    te_s = te[te["days_to_pay"].notna()]
    preds = {q: m.predict(te_s[cols]) for q, m in qm.items()}
    lo, mid, hi = np.sort(np.column_stack([preds[0.1], preds[0.5], preds[0.9]]), axis=1).T
    y_days = te_s["days_to_pay"].to_numpy()
    metrics = {
        "n_train": int(len(tr)), "n_test": int(len(te)), "late_days": late_days,
        "late_rate_train": round(float(tr["late"].mean()), 4), "late_rate_test": round(float(te["late"].mean()), 4),
        "model": _metrics(te["late"], p_model), "baseline_history": _metrics(te["late"], p_hist),
        "baseline_logistic": _metrics(te["late"], p_lr),
        "calibration": _calibration(te["late"].to_numpy(), p_model),
        "days_to_pay": {"mae_median": round(float(np.mean(np.abs(mid - y_days))), 2) if len(y_days) else None,
                        "coverage_80": round(float(np.mean((y_days >= lo) & (y_days <= hi))), 4) if len(y_days) else None},
        "test_from": str(np.datetime64(int(split), "D")),
        "selection": selection,
    }
    metrics.update({"auc": metrics["model"]["auc"], "pr_auc": metrics["model"]["pr_auc"],
                    "brier": metrics["model"]["brier"], "baseline_auc": metrics["baseline_history"]["auc"],
                    "logistic_auc": metrics["baseline_logistic"]["auc"]})
    # importance: permutation on the test set (the model card shows it)
    from sklearn.inspection import permutation_importance
    sample = te.sample(min(len(te), 2500), random_state=seed)
    if sample["late"].nunique() == 2:
        say("permutation importance")
        imp = permutation_importance(clf, sample[cols], sample["late"], scoring="roc_auc",
                                     n_repeats=3, random_state=seed)
        metrics["importance"] = sorted(({"feature": f, "auc_drop": round(float(v), 4)}
                                        for f, v in zip(cols, imp.importances_mean)),
                                       key=lambda r: -r["auc_drop"])
    else:
        metrics["importance"] = []
    model = RiskModel(clf, qm, cols, {c: str(tr[c].dtype) for c in cols}, late_days, str(D.date()),
                      window, metrics, versions)
    model.evaluation = pd.DataFrame({"late": te["late"].to_numpy(), "model": p_model,
                                     "logistic": p_lr, "history": p_hist})
    return model, metrics


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Pickle the model with a SHA-256 of its content (checked on load)."""
    from .io.writer import atomic_path

    model.sha256 = ""
    body = pickle.dumps(model)
    model.sha256 = hashlib.sha256(body).hexdigest()
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(pickle.dumps({"kind": "workbench-risk-model", "body": body,
                                            "sha256": model.sha256}))
    return Path(path)


def _risk_spec():
    """The payment-risk policy's keys (beside name, version, description)."""
    from .policy import PolicySpec, Whole

    return PolicySpec("payment risk", {
        "late_days": Whole(minimum=1, doc="paid more than this many days after due = late"),
        "model_max_age_days": Whole(minimum=1, doc="a saved model older than this warns"),
    })


def risk_policy(path: str | Path = "risk") -> dict:
    """The payment-risk policy (``policies/risk.yaml``): ``late_days``,
    ``model_max_age_days`` (whole numbers >= 1), with ``name`` and ``version``; every
    problem reported together (:mod:`workbench.policy`)."""
    doc = _risk_spec().read(path)
    doc.check()
    return dict(doc.values)


def load_model(path: str | Path, as_of=None, max_age_days: int | None = None) -> RiskModel:
    """Load a saved model; refuse a corrupted file; warn when it is older than the policy's
    ``model_max_age_days`` at ``as_of``."""
    if max_age_days is None:
        max_age_days = risk_policy()["model_max_age_days"]
    with open(path, "rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, dict) or obj.get("kind") != "workbench-risk-model":
        raise ValueError(f"{path} is not a payment-risk model saved by 'workbench risk train'")
    if hashlib.sha256(obj["body"]).hexdigest() != obj["sha256"]:
        raise ValueError(f"{path}: content does not match its hash (corrupted or edited)")
    model = pickle.loads(obj["body"])
    model.sha256 = obj["sha256"]
    if as_of is not None:
        age = (to_date(as_of) - to_date(model.trained_as_of)).days
        if age > max_age_days:
            warnings.warn(f"the payment-risk model was trained as of {model.trained_as_of}, "
                          f"{age} days before {to_date(as_of).date()} (policy: {max_age_days}); retrain",
                          stacklevel=2)
    return model


# =========================================================================== use

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
    from .risk_models import HistoryBaseline, scores

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
