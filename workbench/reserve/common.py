"""Shared pieces of the reserve analysis: the customer master as of a date (from
:mod:`workbench.master`), exact percentages of amounts, conversion to the reporting
currency."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..master import customers_as_of
from ..money import convert, round_to_minor, to_decimal

__all__ = ["customers_as_of", "ledger_customers_as_of", "pct_of", "times_rate", "fx_or_none",
           "report_amount", "activities_as_of", "open_items_positional"]

_HISTORY_FIELDS = ("status", "segment")


def ledger_customers_as_of(ledger: Ledger, as_of, without_history: str = "strict"
                           ) -> tuple[pd.DataFrame, list[str]]:
    """The status and segment of every customer as of a date (:func:`workbench.master.
    customers_as_of`, which reads ``customer_changes`` when the ledger has it)."""
    return customers_as_of(ledger, as_of, _HISTORY_FIELDS, without_history)


def open_items_positional(ledger: Ledger, as_of) -> pd.DataFrame:
    """Open invoices as of a date (open balance > 0) in invoice order, with ``_pos`` (row of
    ``ledger.invoices``) and ``_cpos`` (row of ``ledger.customers``; -1 if unknown): integer
    keys for fast lookups on large ledgers."""
    bal = ledger.balances(as_of)
    open_ = bal[(bal["open_minor"] > 0).to_numpy()]
    index = ledger.invoices.index
    pos = open_.index.to_numpy() if isinstance(index, pd.RangeIndex) and index.start == 0 \
        and index.step == 1 else index.get_indexer(open_.index)
    items = open_[["invoice_id", "customer_id", "currency", "invoice_date", "due_date",
                   "amount_minor", "open_minor", "days_past_due"]].reset_index(drop=True)
    items["_pos"] = pos.astype(np.int64)
    items["_cpos"] = ledger.positions("invoices", "customer_id", "customers", "customer_id")[pos]
    return items


def customer_values(ledger: Ledger, customers: pd.DataFrame, column: str) -> np.ndarray:
    """``customers[column]`` aligned with ``ledger.customers`` rows (object array, NaN where
    the customer or the value is unknown)."""
    if column not in customers:
        return np.full(len(ledger.customers), np.nan, dtype=object)
    ids = ledger.customers["customer_id"]
    vals = customers[column].to_numpy(dtype=object)
    if len(customers) == len(ids) and (customers["customer_id"].to_numpy(dtype=object)
                                       == ids.to_numpy(dtype=object)).all():
        return vals
    from ..schema import IdIndex
    idx = IdIndex(customers["customer_id"]).get_indexer(ids)
    out = np.full(len(ids), np.nan, dtype=object)
    out[idx >= 0] = vals[idx[idx >= 0]]
    return out


def activities_as_of(activities: pd.DataFrame, as_of) -> pd.DataFrame:
    """Activities logged on or before ``as_of`` (timestamps compared as UTC dates)."""
    if activities is None or not len(activities):       # the same columns, "_day" too
        cols = list(activities.columns) if activities is not None else [
            "activity_id", "customer_id", "timestamp", "kind", "note", "invoice_id"]
        return pd.DataFrame({**{c: pd.Series(dtype=object) for c in cols},
                             "_day": pd.Series(dtype="datetime64[ns]")})
    ts = activities["timestamp"]
    ts = ts.dt.tz_convert(None) if getattr(ts.dtype, "tz", None) is not None else pd.to_datetime(ts)
    day = ts.dt.normalize()
    out = activities[(day <= to_date(as_of)).to_numpy()].copy()
    out["_day"] = day[(day <= to_date(as_of)).to_numpy()].to_numpy()
    return out


def pct_of(minor: int, pct: Decimal, currency: str) -> int:
    """``pct`` percent of an amount in minor units, rounded once (half to even)."""
    return round_to_minor(to_decimal(int(minor), currency) * Decimal(pct) / 100, currency)


def times_rate(minor: int, rate: float | Decimal, currency: str) -> int:
    """An amount times a (float) rate, rounded once to minor units through Decimal.

    The float is taken at its shortest repr (``0.1`` -> ``Decimal("0.1")``), so equal
    rates give equal figures whichever way they were computed.
    """
    r = rate if isinstance(rate, Decimal) else Decimal(repr(float(rate)))
    return round_to_minor(to_decimal(int(minor), currency) * r, currency)


def fx_or_none(ledger: Ledger, currency: str, as_of) -> Decimal | None:
    """Units of the reporting currency per unit of ``currency`` on ``as_of``; None if unknown."""
    try:
        return ledger.fx_rate(currency, as_of)
    except ValueError:
        return None


def report_amount(ledger: Ledger, amounts: dict[str, int], as_of) -> tuple[int | None, list[str]]:
    """Sum of per-currency amounts in the reporting currency (each converted once at the
    as-of rate); None and the currencies lacking a rate when one cannot be converted."""
    total, missing = 0, []
    for cur, minor in sorted(amounts.items()):
        rate = fx_or_none(ledger, cur, as_of)
        if rate is None:
            missing.append(cur)
            continue
        total += convert(int(minor), cur, rate, ledger.report_currency)
    return (None if missing else total), missing
