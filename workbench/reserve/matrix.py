"""Aging-based methods: the provision matrix and roll rates (migration analysis)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import pct_of, times_rate
from .history import History
from .policy import ReservePolicy

__all__ = ["provision_matrix", "roll_rate_flows", "transition_matrix", "absorbing_loss_rates",
           "fundamental_matrix", "roll_rate_reserve", "PAID", "WRITTEN_OFF"]

PAID, WRITTEN_OFF = "paid", "written_off"


def _with_bucket(items: pd.DataFrame, policy: ReservePolicy) -> pd.DataFrame:
    if "bucket" in items:
        return items
    if "days_past_due" in items:
        labels = np.array(policy.aging.labels, dtype=object)
        return items.assign(bucket=labels[policy.aging.bucket_of(items["days_past_due"].to_numpy())])
    raise ValueError("items need a 'bucket' (aging label) or 'days_past_due' column")


def provision_matrix(items: pd.DataFrame, policy: ReservePolicy) -> pd.DataFrame:
    """Provision matrix: the policy's loss rate per aging bucket times the open balance.

    Parameters
    ----------
    items : DataFrame
        Open items of the pool: ``currency``, ``bucket`` (aging label; else computed from
        ``days_past_due``), ``segment``
        (as of the reserve date; NaN when unknown) and the balance to reserve in
        ``pool_minor`` (else ``open_minor``).
    policy : ReservePolicy
        ``rates_pct`` (default) and ``segment_rates_pct`` (segments with their own rates).

    Returns
    -------
    DataFrame
        One row per (currency, rate segment, bucket): ``currency, segment, bucket,
        balance_minor, rate_pct, reserve_minor``. ``segment`` is ``"(default)"`` for
        every customer whose segment has no rates of its own or is unknown.

    Notes
    -----
    .. math:: \\text{reserve}_{c,s,b} = \\operatorname{round}(\\text{balance}_{c,s,b}
              \\times r_{s,b} / 100)

    rounded once per (currency, segment, bucket), half to even; totals are sums of the
    rounded figures. Sources: ASC 326-20-55-37 to 55-40 (Example 5: trade receivables,
    loss rates applied to an aging schedule; ASC 326-20-30-3 lists aging-schedule methods)
    and IFRS 9 B5.5.35 (the provision matrix: fixed rates by days past due as a practical
    expedient for trade receivables, adjusted for forward-looking information).
    """
    labels = list(policy.aging.labels)
    items = _with_bucket(items, policy)
    bal_col = "pool_minor" if "pool_minor" in items else "open_minor"
    seg = items["segment"] if "segment" in items else pd.Series(np.nan, index=items.index)
    rate_seg = seg.where(seg.isin(list(policy.segment_rates_pct)), "(default)").astype(object)
    df = pd.DataFrame({"currency": items["currency"].to_numpy(), "segment": rate_seg.to_numpy(),
                       "bucket": items["bucket"].to_numpy(),
                       "balance_minor": items[bal_col].to_numpy(dtype=np.int64)})
    g = df.groupby(["currency", "segment", "bucket"], sort=False)["balance_minor"].sum()
    rows = []
    for (cur, s, b), bal in g.items():
        rate = policy.rates_for(None if s == "(default)" else s)[b]
        rows.append((cur, s, b, int(bal), float(rate), pct_of(int(bal), rate, cur)))
    out = pd.DataFrame(rows, columns=["currency", "segment", "bucket", "balance_minor", "rate_pct",
                                      "reserve_minor"])
    order = {b: i for i, b in enumerate(labels)}
    out = out.sort_values(["currency", "segment", "bucket"], key=lambda s: s.map(order)
                          if s.name == "bucket" else s, kind="stable").reset_index(drop=True)
    for c in ("balance_minor", "reserve_minor"):
        out[c] = out[c].astype(np.int64)
    return out


def roll_rate_flows(history: History, as_of, months: int, weights: dict | None = None,
                    currency: str | None = None) -> pd.DataFrame:
    """Where each bucket's month-end balance went by the next month end, summed over the
    last ``months`` transitions ending on or before ``as_of``.

    Parameters
    ----------
    history : History
    as_of : date
    months : int
        Number of month-to-month transitions.
    weights : dict, optional
        Currency -> reporting-currency units per minor unit: pools every currency (floats).
    currency : str, optional
        Only this currency's flows (exact integers). One of ``weights``/``currency``.

    Returns
    -------
    DataFrame
        Tidy flows ``from_bucket, to_state, amount`` (to_state: a bucket, ``paid`` or
        ``written_off``) with ``attrs["transitions"]`` (how many month pairs were used) and
        ``attrs["window"]`` (first and last month end).

    Notes
    -----
    For the balance :math:`x` in bucket :math:`b` at month end :math:`t`: what is still open
    at :math:`t+1` goes to its bucket then; *written off* is the month's write-offs of those
    balances net of the month's recoveries (each recovery attributed to the bucket its invoice
    was in at the month end before its latest write-off), floored at zero; *paid* (cash and
    credit memos) is the rest, so each row sums to the bucket's balance.
    """
    k = history.transitions_until(as_of, months)
    labels = list(history.labels)
    if currency is not None:
        if currency not in history.currencies:
            w = np.zeros(len(history.currencies))
        else:
            w = (np.array(history.currencies) == currency).astype(np.int64)
    else:
        w = np.array([float(weights.get(c, np.nan)) for c in history.currencies])
    base = np.tensordot(w, history.base[k].sum(axis=0), axes=(0, 0))
    to = np.tensordot(w, history.to[k].sum(axis=0), axes=(0, 0))
    wo = np.tensordot(w, history.written_off[k].sum(axis=0), axes=(0, 0))
    rec = np.tensordot(w, history.recovered[k].sum(axis=0), axes=(0, 0))
    stay = to.sum(axis=1)
    loss = np.clip(wo - rec, 0, None)
    loss = np.minimum(loss, np.clip(base - stay, 0, None))
    paid = np.clip(base - stay - loss, 0, None)
    rows = []
    for i, b in enumerate(labels):
        for j, b2 in enumerate(labels):
            rows.append((b, b2, to[i, j]))
        rows.append((b, PAID, paid[i]))
        rows.append((b, WRITTEN_OFF, loss[i]))
    out = pd.DataFrame(rows, columns=["from_bucket", "to_state", "amount"])
    out.attrs["transitions"] = int(len(k))
    out.attrs["with_balance"] = int((history.base[k].sum(axis=(1, 2)) > 0).sum())
    ends = history.ends
    out.attrs["window"] = (str(ends[k[0]].date()), str(ends[k[-1] + 1].date())) if len(k) else None
    return out


def transition_matrix(flows: pd.DataFrame, labels=None) -> pd.DataFrame:
    """The bucket-to-bucket transition (roll-rate) matrix from month-end flows.

    Parameters
    ----------
    flows : DataFrame
        ``from_bucket, to_state, amount`` (see :func:`roll_rate_flows`).
    labels : list of str, optional
        Bucket order (default: the order of ``from_bucket`` in ``flows``).

    Returns
    -------
    DataFrame
        Rows: from-bucket; columns: the buckets, ``paid``, ``written_off``. Each row is the
        share of the bucket's balance at a month end found in each state at the next month
        end (rows sum to 1; NaN for a bucket that never held a balance).

    Notes
    -----
    .. math:: P_{b,s} = \\frac{\\sum_t \\text{flow}_t(b \\to s)}{\\sum_t \\text{balance}_t(b)}

    Balance-weighted roll rates (migration analysis) pooled over the window, as in the
    roll-rate method of loss estimation (ASC 326-20-30-3 lists roll-rate methods among the
    acceptable approaches).
    """
    labels = list(labels) if labels is not None else list(dict.fromkeys(flows["from_bucket"]))
    cols = labels + [PAID, WRITTEN_OFF]
    m = (flows.pivot_table(index="from_bucket", columns="to_state", values="amount",
                           aggfunc="sum", fill_value=0)
         .reindex(index=labels, columns=cols, fill_value=0).astype(float))
    total = m.sum(axis=1)
    out = m.div(total.where(total > 0), axis=0)
    out.index.name, out.columns.name = "from_bucket", "to_state"
    return out


def absorbing_loss_rates(matrix: pd.DataFrame) -> pd.DataFrame:
    """Each bucket's implied lifetime loss rate: an absorbing Markov chain.

    Parameters
    ----------
    matrix : DataFrame
        :func:`transition_matrix` output (transient buckets; absorbing ``paid`` and
        ``written_off``).

    Returns
    -------
    DataFrame
        Index: bucket; ``loss_rate`` (probability a balance in the bucket is eventually
        written off), ``paid_rate``, ``expected_months`` (months until absorbed),
        ``status`` (``estimated``; ``no data`` when the bucket, or one it rolls into, never
        held a balance: NaN; ``never resolved`` when balances in it were never paid nor
        written off in the window: treated as lost, ``loss_rate`` 1).

    Notes
    -----
    With :math:`Q` the transient-to-transient block and :math:`R` the transient-to-absorbing
    block of the transition matrix, the fundamental matrix is
    :math:`N = (I - Q)^{-1}` (expected visits) and the absorption probabilities are
    :math:`B = N R` (Kemeny & Snell, *Finite Markov Chains*, 1960, ch. III; Grinstead &
    Snell, *Introduction to Probability*, ch. 11.2). ``loss_rate`` is the ``written_off``
    column of :math:`B`; ``expected_months`` the row sums of :math:`N`.
    """
    labels, status, R, idx, Nk = _absorbing(matrix)
    n = len(labels)
    loss = np.full(n, np.nan)
    paid = np.full(n, np.nan)
    months = np.full(n, np.nan)
    if len(idx):
        Bk = Nk @ R[idx]
        loss[idx], paid[idx] = Bk[:, 1], Bk[:, 0]
        months[idx] = Nk.sum(axis=1)
    return pd.DataFrame({"loss_rate": np.clip(loss, 0, 1), "paid_rate": np.clip(paid, 0, 1),
                         "expected_months": months, "status": status},
                        index=pd.Index(labels, name="bucket"))


def fundamental_matrix(matrix: pd.DataFrame) -> pd.DataFrame | None:
    """The fundamental matrix N = (I - Q)^-1 of :func:`absorbing_loss_rates`' chain
    (expected months a balance in the row bucket spends in the column bucket), over the
    buckets with data; None when none has."""
    labels, _, _, idx, Nk = _absorbing(matrix)
    if Nk is None:
        return None
    return pd.DataFrame(Nk, index=[labels[i] for i in idx], columns=[labels[i] for i in idx])


def _absorbing(matrix: pd.DataFrame):
    """The chain of :func:`absorbing_loss_rates`: labels, status per bucket, R, the known
    buckets' positions and their fundamental matrix N = (I - Q)^-1 (None when none)."""
    labels = list(matrix.index)
    n = len(labels)
    P = matrix.to_numpy(dtype=float)
    Q, R = P[:, :n].copy(), P[:, n:n + 2].copy()
    status = np.array(["estimated"] * n, dtype=object)
    unknown = np.isnan(P).any(axis=1)
    # a bucket that rolls (with positive probability) into an unknown one is unknown too
    changed = True
    while changed:
        reach = (np.nan_to_num(Q) > 0) & unknown[None, :]
        new = unknown | reach.any(axis=1)
        changed = bool((new != unknown).any())
        unknown = new
    status[unknown] = "no data"
    known = ~unknown
    # buckets from which no path leads to paid or written off: never resolved, counted lost
    exits = np.zeros(n, bool)
    exits[known] = R[known].sum(axis=1) > 1e-15
    reach_exit = exits.copy()
    changed = True
    while changed:
        new = reach_exit | ((np.nan_to_num(Q) > 0) & reach_exit[None, :]).any(axis=1)
        new &= known
        changed = bool((new != reach_exit).any())
        reach_exit = new
    stuck = known & ~reach_exit
    status[stuck] = "never resolved"
    Q[stuck] = 0.0
    R[stuck] = [0.0, 1.0]
    idx = np.flatnonzero(known)
    Nk = None
    if len(idx):
        Nk = np.linalg.inv(np.eye(len(idx)) - Q[np.ix_(idx, idx)])
    return labels, status, R, idx, Nk


def roll_rate_reserve(balances: pd.DataFrame, loss_rates: pd.DataFrame,
                      fallback_pct: dict | None = None) -> pd.DataFrame:
    """Required reserve from roll rates: each bucket's balance times its implied loss rate.

    Parameters
    ----------
    balances : DataFrame
        ``currency, bucket, balance_minor`` (the pool, per currency and bucket).
    loss_rates : DataFrame
        :func:`absorbing_loss_rates` output, or a dict currency -> such a frame.
    fallback_pct : dict, optional
        Bucket -> percent used where a loss rate could not be estimated (the provision
        matrix's default rates); without it such buckets get no reserve.

    Returns
    -------
    DataFrame
        ``currency, bucket, balance_minor, loss_rate, rate_source, reserve_minor``.

    Notes
    -----
    .. math:: \\text{reserve}_c = \\sum_b \\operatorname{round}(\\text{balance}_{c,b}
              \\times B_{b,\\text{written off}})

    each term rounded once (half to even) through Decimal.
    """
    rows = []
    for r in balances.itertuples(index=False):
        lr = loss_rates[r.currency] if isinstance(loss_rates, dict) else loss_rates
        rate = lr["loss_rate"].get(r.bucket, np.nan) if lr is not None else np.nan
        source = "roll rate"
        if rate is None or np.isnan(rate):
            if fallback_pct is not None and r.bucket in fallback_pct:
                reserve = pct_of(int(r.balance_minor), fallback_pct[r.bucket], r.currency)
                rate, source = float(fallback_pct[r.bucket]) / 100, "provision matrix (fallback)"
            else:
                reserve, source = 0, "not estimable"
        else:
            reserve = times_rate(int(r.balance_minor), rate, r.currency)
        rows.append((r.currency, r.bucket, int(r.balance_minor), float(rate), source, reserve))
    out = pd.DataFrame(rows, columns=["currency", "bucket", "balance_minor", "loss_rate",
                                      "rate_source", "reserve_minor"])
    for c in ("balance_minor", "reserve_minor"):
        out[c] = out[c].astype(np.int64)
    return out
