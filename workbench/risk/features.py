"""Point-in-time invoice features: each invoice's settlement and what was known of its
customer on a date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ledger import Ledger

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
            from ..kpis import KPIOptions, promise_schedule
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
        from ..master import master_values
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


