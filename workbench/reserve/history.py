"""Month-end agings and loss history in one vectorised pass over the ledger.

The roll-rate and vintage methods (and their backtest) need the open balance of every
invoice at every month end. Instead of calling ``ledger.balances`` once per month, every
reduction (the ledger's one event stream, :meth:`~workbench.ledger.Ledger.reductions`) is sorted by date once and
added to a running per-invoice total month by month, so each event is touched once and
each month costs a few array operations over the invoices. What is kept is small: the
bucket-to-bucket flows per month, currency and bucket, and the net losses per currency,
invoice month and loss month. Everything is exact (int64 minor units).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..aging import AgingPolicy
from ..ledger import REDUCTION_KINDS, Ledger, to_date

__all__ = ["History", "build_history", "month_ends"]


def _days(values) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def _month(days: np.ndarray) -> np.ndarray:
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_ends(first, last) -> list[pd.Timestamp]:
    """Month ends from the one before ``first``'s month up to the last on or before ``last``."""
    start = (to_date(first) - pd.offsets.MonthBegin(1)) if to_date(first).day != 1 \
        else to_date(first)
    start = start - pd.Timedelta(days=1)
    return list(pd.date_range(start, to_date(last), freq="ME"))


@dataclass
class History:
    """Flows between aging buckets from month end to month end, and losses by vintage.

    Attributes
    ----------
    labels : tuple of str
        Aging buckets.
    currencies : list of str
    ends : DatetimeIndex
        Month ends ``t_0 < t_1 < ... < t_K``; transition ``k`` is from ``t_k`` to ``t_{k+1}``.
    base : int64 array (K, C, n)
        Open balance at ``t_k`` in each bucket.
    to : int64 array (K, C, n, n)
        Of that balance, what is still open at ``t_{k+1}``, by the bucket it is in then.
    written_off : int64 array (K, C, n)
        Write-offs in ``(t_k, t_{k+1}]`` of balances that were in the bucket at ``t_k``.
    recovered : int64 array (K, C, n)
        Recoveries in ``(t_k, t_{k+1}]``, attributed to the bucket the invoice was in at the
        month end before its latest write-off.
    first_month : int
        numpy month number of vintage 0 (the month of ``t_1``).
    sales : int64 array (C, V)
        Credit sales (invoice amounts) per invoice month.
    net_loss : int64 array (C, V, V)
        Write-offs net of recoveries per invoice month (vintage) and month of the write-off.
    """

    labels: tuple
    currencies: list
    ends: pd.DatetimeIndex
    base: np.ndarray
    to: np.ndarray
    written_off: np.ndarray
    recovered: np.ndarray
    first_month: int
    sales: np.ndarray
    net_loss: np.ndarray

    def transitions_until(self, as_of, months: int) -> np.ndarray:
        """Indices of the last ``months`` transitions ending on or before ``as_of``."""
        D = np.datetime64(to_date(as_of), "ns")
        k = np.flatnonzero(self.ends.to_numpy()[1:] <= D)
        return k[-months:]

    def month_index(self, as_of) -> int:
        """Vintage/loss-month index of the month holding ``as_of``."""
        return int(_month(np.array([np.datetime64(to_date(as_of), "D")]))[0]) - self.first_month


def build_history(ledger: Ledger, as_of, aging: AgingPolicy) -> History:
    """Month-end flows and vintage losses from the ledger, using only rows dated <= ``as_of``."""
    D = to_date(as_of)
    inv = ledger.invoices
    labels = tuple(aging.labels)
    n = len(labels)
    currencies = sorted(inv["currency"].dropna().unique().tolist())
    cur = pd.Categorical(inv["currency"], categories=currencies).codes.astype(np.int64)
    C = max(len(currencies), 1)
    first = ledger.first_date if ledger.first_date is not None else D
    ends = pd.DatetimeIndex(month_ends(first, D))
    end_days = _days(ends.to_numpy())
    K = max(len(ends) - 1, 0)
    inv_day = _days(inv["invoice_date"].to_numpy())
    due_day = _days(inv["due_date"].to_numpy())
    amount = inv["amount_minor"].to_numpy(dtype=np.int64)
    N = len(inv)
    Dd = int(_days(np.array([np.datetime64(D, "D")]))[0])

    # the ledger's one event stream (Ledger.reductions), dated on or before D, by date
    red = ledger.reductions(sort=False)          # sorted by date below
    e_pos = red["invoice"].to_numpy(dtype=np.int64)
    e_day = _days(red["date"].to_numpy())
    e_amt = red["amount_minor"].to_numpy(dtype=np.int64)
    e_kind = red["kind"].cat.codes.to_numpy()
    keep = e_day <= Dd
    order = np.flatnonzero(keep)[np.argsort(e_day[keep], kind="stable")]
    e_pos, e_day, e_amt, e_kind = e_pos[order], e_day[order], e_amt[order], e_kind[order]
    kind = {k: REDUCTION_KINDS.index(k) for k in REDUCTION_KINDS}
    cash = (e_kind == kind["application"]) | (e_kind == kind["credit_memo"])
    r_pos, r_day, r_amt = e_pos[cash], e_day[cash], e_amt[cash]
    w = (e_kind == kind["write_off"]) & (e_amt > 0)
    wo_pos, wo_day, wo_amt = e_pos[w], e_day[w], e_amt[w]
    rc = (e_kind == kind["recovery"]) | ((e_kind == kind["write_off"]) & (e_amt == 0))
    rc_pos, rc_day, rc_amt = e_pos[rc], e_day[rc], -e_amt[rc]
    w_all = (e_kind == kind["write_off"]) | (e_kind == kind["recovery"])
    w_pos, w_day, w_amt = e_pos[w_all], e_day[w_all], e_amt[w_all]

    base = np.zeros((K, C, n), np.int64)
    to = np.zeros((K, C, n, n), np.int64)
    written_off = np.zeros((K, C, n), np.int64)
    recovered = np.zeros((K, C, n), np.int64)
    cum = np.zeros(N, np.int64)
    last_wo_bucket = np.full(N, -1, np.int64)
    edges = np.array([lo for lo in aging.lower[1:]], dtype=np.int64)
    bal_prev = np.zeros(N, np.int64)
    b_prev = np.searchsorted(edges, (end_days[0] if len(end_days) else Dd) - due_day, side="right")
    cuts = [np.searchsorted(d, end_days, side="right") for d in (r_day, wo_day, rc_day)]
    lo = [0, 0, 0]
    for j in range(len(end_days)):
        hi = [c[j] for c in cuts]
        s = slice(lo[0], hi[0])
        np.add.at(cum, r_pos[s], r_amt[s])
        pw, aw = wo_pos[lo[1]:hi[1]], wo_amt[lo[1]:hi[1]]
        pr, ar = rc_pos[lo[2]:hi[2]], rc_amt[lo[2]:hi[2]]
        np.add.at(cum, pw, aw)
        np.subtract.at(cum, pr, ar)
        t = end_days[j]
        bal = np.where(inv_day <= t, amount - cum, 0)
        b = np.searchsorted(edges, t - due_day, side="right")
        if j >= 1:
            k = j - 1
            o = np.flatnonzero(bal_prev > 0)
            key = cur[o] * n + b_prev[o]
            np.add.at(base[k].reshape(-1), key, bal_prev[o])
            np.add.at(to[k].reshape(-1), key * n + b[o], bal[o])
            was_open = bal_prev[pw] > 0
            np.add.at(written_off[k].reshape(-1), cur[pw[was_open]] * n + b_prev[pw[was_open]],
                      aw[was_open])
        last_wo_bucket[pw] = b_prev[pw]
        if j >= 1:
            bb = last_wo_bucket[pr]
            ok = bb >= 0
            np.add.at(recovered[j - 1].reshape(-1), cur[pr[ok]] * n + bb[ok], ar[ok])
        bal_prev, b_prev, lo = bal, b, hi

    first_month = int(_month(end_days[:1])[0]) + 1 if len(end_days) else int(_month([Dd])[0])
    V = max(int(_month([Dd])[0]) - first_month + 1, 1)
    vint = np.clip(_month(inv_day) - first_month, 0, V - 1)
    dated = inv_day <= Dd
    sales = np.zeros((C, V), np.int64)
    np.add.at(sales, (cur[dated], vint[dated]), amount[dated])
    net_loss = np.zeros((C, V, V), np.int64)
    if len(w_pos):
        m = np.clip(_month(w_day) - first_month, 0, V - 1)
        np.add.at(net_loss, (cur[w_pos], vint[w_pos], m), w_amt)
    return History(labels, currencies, ends, base, to, written_off, recovered, first_month,
                   sales, net_loss)
