"""Promises to pay and their outcomes (kept, broken, pending) as of a date."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..schema import IdIndex
from .metrics import KPIOptions


@dataclass(frozen=True)
class PromiseSchedule:
    """Every promise to pay with the cash that can keep it (:func:`promise_schedule`).

    Attributes
    ----------
    promises : DataFrame
        One row per promise: ``activity_id, customer_id, invoice_id, made, promise_date,
        due`` (promise date + grace), ``promise_amount_minor, need_minor, currency,
        kept_on`` (the applied date of the application that made the cash cover the
        promise; NaT if it never did), ``inv`` (invoice row position, -1 for a promise on
        the account) and ``_k`` (the promise's number).
    cash : DataFrame
        The applications of cash received inside each promise's window: ``_k, applied,
        amount`` (minor units), sorted by promise and applied date.
    """

    promises: pd.DataFrame
    cash: pd.DataFrame

    def __len__(self) -> int:
        return len(self.promises)


_PROMISE_COLUMNS = ["activity_id", "customer_id", "invoice_id", "made", "promise_date", "due",
                    "promise_amount_minor", "need_minor", "currency", "kept_on", "inv", "_k"]


def _build_schedule(ledger: Ledger, activities: pd.DataFrame | None,
                    options: KPIOptions) -> PromiseSchedule:
    acts = ledger.activities if activities is None else activities
    if not len(acts) or "promise_date" not in acts:
        return PromiseSchedule(pd.DataFrame(columns=_PROMISE_COLUMNS),
                               pd.DataFrame(columns=["_k", "applied", "amount"]))
    p = acts[acts["kind"] == "promise_to_pay"].copy()
    ts = p["timestamp"]
    ts = ts.dt.tz_convert(None) if getattr(ts.dtype, "tz", None) is not None else pd.to_datetime(ts)
    p["made"] = ts.dt.normalize().astype("datetime64[ns]")
    p["due"] = (p["promise_date"] + pd.Timedelta(days=options.promise_grace_days))
    amount = p["promise_amount_minor"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    # paying (100 - tolerance)% keeps it; computed in integers (ceil of amount * (1 - t))
    t_bp = int(round(options.promise_tolerance_pct * 100))
    p["need_minor"] = -((-amount * (10000 - t_bp)) // 10000)
    if "invoice_id" not in p:
        p["invoice_id"] = None
    p = p.reset_index(drop=True)
    p["_k"] = np.arange(len(p))
    # integer keys: invoice position, customer code (hash lookups once, cached on the ledger)
    inv = ledger.invoices
    cust_codes, cust_uniques = pd.factorize(inv["customer_id"], sort=False)
    cust_index = IdIndex(pd.Series(cust_uniques, dtype="str"))
    app_inv = ledger.positions("applications", "invoice_id", "invoices", "invoice_id")
    app_rec = ledger.positions("applications", "receipt_id", "receipts", "receipt_id")
    apps = ledger.applications
    ok = (app_inv >= 0) & (app_rec >= 0)
    cash = pd.DataFrame({
        "inv": app_inv[ok],
        "cust": cust_codes[app_inv[ok]],
        "received": ledger.receipts["receipt_date"].to_numpy()[app_rec[ok]],
        "applied": apps["applied_date"].to_numpy()[ok],
        "amount": apps["amount_minor"].to_numpy(dtype=np.int64)[ok]})
    p["inv"] = IdIndex(inv["invoice_id"]).get_indexer(p["invoice_id"].fillna(""))
    p["cust"] = cust_index.get_indexer(p["customer_id"])
    named = (p["inv"] >= 0).to_numpy()
    joined = pd.concat([
        p.loc[named, ["_k", "inv", "made", "due"]].merge(cash.drop(columns="cust"), on="inv"),
        p.loc[~named, ["_k", "cust", "made", "due"]].merge(cash.drop(columns="inv"), on="cust"),
    ], ignore_index=True)
    joined = joined[(joined["received"] >= joined["made"]) & (joined["received"] <= joined["due"])]
    joined = joined.sort_values(["_k", "applied"], kind="stable")
    joined["cum"] = joined.groupby("_k")["amount"].cumsum()
    joined["need"] = p["need_minor"].to_numpy()[joined["_k"].to_numpy()]
    reached = joined[joined["cum"] >= joined["need"]].groupby("_k")["applied"].min()
    p["kept_on"] = reached.astype("datetime64[ns]").reindex(p["_k"].to_numpy()).to_numpy()
    return PromiseSchedule(p, joined[["_k", "applied", "amount"]].reset_index(drop=True))


def promise_schedule(ledger: Ledger, activities: pd.DataFrame | None = None,
                     options: KPIOptions = KPIOptions()) -> PromiseSchedule:
    """Every promise to pay with the cash that can keep it and the day it became kept
    (:class:`PromiseSchedule`): the basis of :func:`promise_outcomes`, the KPIs' promise
    kept rate and payment risk's broken promises.

    A promise's window runs from the day it was made to its promised date (+
    ``promise_grace_days``); the cash received in it and applied to the promise's invoice
    (else to any invoice of the customer) keeps it on the applied date it covers the
    promised amount less ``promise_tolerance_pct`` (rounded up to a minor unit).

    The schedule of the ledger's own activities (``activities=None``) is kept in the
    ledger's cache, per option values.
    """
    if activities is not None:
        return _build_schedule(ledger, activities, options)
    key = (options.promise_grace_days, options.promise_tolerance_pct)
    return ledger.cache.get("promise_schedule", key,
                            lambda: _build_schedule(ledger, None, options))


def promise_outcomes(ledger: Ledger, as_of, activities: pd.DataFrame | None = None,
                     options: KPIOptions = KPIOptions(),
                     schedule: PromiseSchedule | pd.DataFrame | None = None) -> pd.DataFrame:
    """Each promise to pay, decided as of a date: ``kept``, ``broken`` or ``pending``.

    A promise is kept when the cash received from the day it was made up to its
    promised date (+ ``promise_grace_days``), and applied by ``as_of``, covers the
    promised amount (less ``promise_tolerance_pct``): to its invoice when the promise
    names one, else to any invoice of the customer. Not kept and its date (+ grace)
    has passed: broken. Otherwise pending. Only what was known on ``as_of`` is used.

    Returns
    -------
    DataFrame
        One row per promise made on or before ``as_of``: ``activity_id, customer_id,
        invoice_id, made, promise_date, promise_amount_minor, currency, received_minor,
        status``.

    ``schedule``: a :class:`PromiseSchedule` already built (default: from ``activities``
    or the ledger's own); a bare promises frame gives ``received_minor`` 0.
    """
    D = to_date(as_of)
    if schedule is None:
        schedule = promise_schedule(ledger, activities, options)
    if isinstance(schedule, PromiseSchedule):
        p, cash = schedule.promises, schedule.cash
    else:
        p, cash = schedule, None
    cols = ["activity_id", "customer_id", "invoice_id", "made", "promise_date",
            "promise_amount_minor", "currency", "received_minor", "status"]
    if not len(p):
        return pd.DataFrame(columns=cols)
    p = p[p["made"] <= D].copy()
    if cash is not None and len(cash):
        got = cash[cash["applied"] <= D].groupby("_k")["amount"].sum()
        p["received_minor"] = p["_k"].map(got).fillna(0).astype(np.int64)
    else:
        p["received_minor"] = 0
    kept = (p["kept_on"] <= D).to_numpy()
    broken = ~kept & (p["due"] < D).to_numpy()
    p["status"] = np.where(kept, "kept", np.where(broken, "broken", "pending"))
    return p.reindex(columns=cols).reset_index(drop=True)


