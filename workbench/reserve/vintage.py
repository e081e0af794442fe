"""Historical loss rates by vintage (invoice month) and the lifetime loss curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import times_rate
from .history import History

__all__ = ["vintage_table", "lifetime_loss_curve", "vintage_loss_rate", "vintage_reserve"]


def _weights(history: History, weights: dict | None, currency: str | None) -> np.ndarray:
    if currency is not None:
        return (np.array(history.currencies) == currency).astype(np.int64)
    return np.array([float(weights.get(c, np.nan)) for c in history.currencies])


def _label(history: History, v: np.ndarray) -> list[str]:
    return [str(np.datetime64(int(history.first_month + i), "M")) for i in v]


def vintage_table(history: History, as_of, weights: dict | None = None,
                  currency: str | None = None) -> pd.DataFrame:
    """Credit sales and net losses to date per vintage (invoice month).

    Parameters
    ----------
    history : History
    as_of : date
        Losses dated on or before it; vintages up to its month.
    weights : dict, optional
        Currency -> reporting units per minor unit (every currency pooled, floats).
    currency : str, optional
        One currency's vintages (exact minor units).

    Returns
    -------
    DataFrame
        ``vintage`` (YYYY-MM), ``age_months`` (months from the vintage's month to the
        as-of month), ``sales``, ``net_loss``, ``loss_rate`` (net_loss / sales).

    Notes
    -----
    Net loss = write-offs minus recoveries on the vintage's invoices, dated on or before
    ``as_of``. Source: vintage (static pool) analysis, a loss-rate method (ASC 326-20-30-3;
    the vintage illustration among the ASC 326-20-55 examples).
    """
    w = _weights(history, weights, currency)
    mD = history.month_index(as_of)
    V = history.sales.shape[1]
    last = min(mD, V - 1)
    sales = np.tensordot(w, history.sales, axes=(0, 0))[: last + 1]
    loss = np.tensordot(w, history.net_loss[:, : last + 1, : last + 1].sum(axis=2), axes=(0, 0))
    v = np.arange(last + 1)
    out = pd.DataFrame({"vintage": _label(history, v), "age_months": mD - v, "sales": sales,
                        "net_loss": loss})
    out["loss_rate"] = np.where(out["sales"] > 0, out["net_loss"] / out["sales"].where(
        out["sales"] > 0, 1), np.nan)
    return out


def lifetime_loss_curve(history: History, as_of, weights: dict | None = None,
                        currency: str | None = None) -> pd.DataFrame:
    """Cumulative net loss share by months since invoice, over every vintage observed that long.

    Returns
    -------
    DataFrame
        ``months_since_invoice`` k = 0, 1, ...; ``cumulative_loss_rate``; ``vintages``
        (how many vintages are at least k months old); ``sales`` (their credit sales).

    Notes
    -----
    .. math:: \\text{curve}(k) = \\frac{\\sum_{v:\\,a_v \\ge k} L_v(k)}{\\sum_{v:\\,a_v \\ge k} S_v}

    with :math:`L_v(k)` the net losses of vintage :math:`v` dated up to its month
    :math:`v + k`, :math:`S_v` its credit sales and :math:`a_v` its age in months
    (sales-weighted average loss curve of a static-pool analysis).
    """
    w = _weights(history, weights, currency)
    mD = history.month_index(as_of)
    V = history.sales.shape[1]
    last = min(mD, V - 1)
    S = np.tensordot(w, history.sales, axes=(0, 0))[: last + 1]
    L = np.tensordot(w, history.net_loss, axes=(0, 0))[: last + 1, : last + 1]
    rows = []
    for k in range(last + 1):
        vs = np.arange(0, last + 1 - k)                  # vintages at least k months old
        cum = sum(L[v, : v + k + 1].sum() for v in vs)
        s = S[vs].sum()
        rows.append((k, (cum / s) if s > 0 else np.nan, int((S[vs] > 0).sum()), s))
    return pd.DataFrame(rows, columns=["months_since_invoice", "cumulative_loss_rate", "vintages",
                                       "sales"])


def vintage_loss_rate(vintages: pd.DataFrame, min_age_months: int, count: int
                      ) -> tuple[float, list[str]]:
    """Lifetime loss rate from mature vintages.

    Parameters
    ----------
    vintages : DataFrame
        :func:`vintage_table` output.
    min_age_months : int
        A vintage is mature at this age.
    count : int
        Use the most recent ``count`` mature vintages that had sales.

    Returns
    -------
    (float, list of str)
        The rate (NaN when no vintage is mature) and the vintages used.

    Notes
    -----
    .. math:: r = \\frac{\\sum_{v \\in M} L_v}{\\sum_{v \\in M} S_v}

    over the mature set :math:`M` (sales-weighted: a large vintage counts for more).
    """
    mature = vintages[(vintages["age_months"] >= min_age_months) & (vintages["sales"] > 0)]
    used = mature.tail(count)
    if not len(used):
        return float("nan"), []
    return float(used["net_loss"].sum() / used["sales"].sum()), used["vintage"].tolist()


def vintage_reserve(pool: pd.DataFrame, history: History, as_of, rate: float) -> pd.DataFrame:
    """Reserve per currency and vintage: the expected lifetime loss not yet taken.

    Parameters
    ----------
    pool : DataFrame
        Per open invoice of the pool: ``currency, vintage`` (YYYY-MM), ``pool_minor`` and
        ``specific_reserve_minor`` (reserved specifically; 0 for most).
    history : History
    as_of : date
    rate : float
        Lifetime loss rate (:func:`vintage_loss_rate`).

    Returns
    -------
    DataFrame
        ``currency, vintage, sales_minor, net_loss_minor, expected_loss_minor,
        specific_reserve_minor, pool_minor, reserve_minor``.

    Notes
    -----
    .. math:: \\text{reserve}_{c,v} = \\min\\bigl(\\text{pool}_{c,v},\\;
              \\max(0,\\; \\operatorname{round}(r \\cdot S_{c,v}) - L_{c,v} - \\text{specific}_{c,v})\\bigr)

    The vintage's expected lifetime loss (rate times its credit sales) less the net loss
    already taken and less what is reserved specifically on its invoices, never more than
    what of it is still open in the pool. This is the remaining-life form of the
    historical loss-rate (vintage) method: the lifetime rate is the *share of sales* lost,
    so it multiplies sales, not the open balance.
    """
    g = pool.groupby(["currency", "vintage"], sort=True)[["pool_minor", "specific_reserve_minor"]].sum()
    mD = history.month_index(as_of)
    labels = _label(history, np.arange(history.sales.shape[1]))
    index = {lab: i for i, lab in enumerate(labels)}
    rows = []
    for (cur, vint), r in g.iterrows():
        c = history.currencies.index(cur)
        v = index.get(vint)
        if v is None:
            continue
        sales = int(history.sales[c, v])
        loss = int(history.net_loss[c, v, : mD + 1].sum())
        expected = times_rate(sales, rate, cur)
        remaining = max(0, expected - loss - int(r["specific_reserve_minor"]))
        rows.append((cur, vint, sales, loss, expected, int(r["specific_reserve_minor"]),
                     int(r["pool_minor"]), min(int(r["pool_minor"]), remaining)))
    out = pd.DataFrame(rows, columns=["currency", "vintage", "sales_minor", "net_loss_minor",
                                      "expected_loss_minor", "specific_reserve_minor", "pool_minor",
                                      "reserve_minor"])
    for col in out.columns[2:]:
        out[col] = out[col].astype(np.int64)
    return out
