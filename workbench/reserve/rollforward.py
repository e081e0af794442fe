"""Reconciliation of the allowance account (``reserve_gl``) with the subledger."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..ledger import Ledger
from ..money import convert, format_amount

__all__ = ["rollforward", "reconcile_rollforward", "subledger_write_offs", "rates_on",
           "ROLLFORWARD_COLUMNS"]

ROLLFORWARD_COLUMNS = [
    "period_end", "currency", "beginning_minor", "provision_minor", "write_offs_minor",
    "recoveries_minor", "ending_minor", "computed_ending_minor", "difference_minor",
    "previous_ending_minor", "beginning_difference_minor", "subledger_write_offs_minor",
    "write_offs_difference_minor", "subledger_recoveries_minor", "recoveries_difference_minor",
    "ties", "issues"]


def rates_on(ledger: Ledger, currency: str, dates: np.ndarray) -> np.ndarray:
    """Rates into the reporting currency on each date (latest on or before it), as Decimals;
    None where no rate is known."""
    dates = np.asarray(dates, dtype="datetime64[ns]")
    if currency == ledger.report_currency:
        return np.full(len(dates), Decimal(1), dtype=object)
    fx = ledger.fx_rates
    fx = fx[fx["currency"] == currency].sort_values("date", kind="stable") if len(fx) else fx
    out = np.full(len(dates), None, dtype=object)
    if not len(fx):
        return out
    i = np.searchsorted(fx["date"].to_numpy(), dates, side="right") - 1
    ok = i >= 0
    out[ok] = fx["rate_to_report"].to_numpy(dtype=object)[i[ok]]
    return out


def subledger_write_offs(ledger: Ledger, period_ends) -> pd.DataFrame:
    """The subledger's write-offs and recoveries per GL period, in the reporting currency.

    Each ``write_offs`` row dated after the previous period end and on or before the
    period end (the first period takes everything up to its end) is converted at the rate
    of its own date and rounded once (half to even): positive rows are write-offs, negative
    rows (reason ``recovery``) recoveries. Returns ``period_end, write_offs_minor,
    recoveries_minor, unconverted`` (text naming rows that had no rate).
    """
    ends = pd.DatetimeIndex(sorted(pd.to_datetime(pd.Series(period_ends)).unique()))
    out = pd.DataFrame({"period_end": ends, "write_offs_minor": np.zeros(len(ends), np.int64),
                        "recoveries_minor": np.zeros(len(ends), np.int64), "unconverted": ""})
    wo = ledger.write_offs
    if not len(wo) or not len(ends):
        return out
    period = np.searchsorted(ends.to_numpy(), wo["date"].to_numpy(), side="left")
    in_gl = period < len(ends)
    rep = ledger.report_currency
    wo_sum = np.zeros(len(ends), np.int64)
    rec_sum = np.zeros(len(ends), np.int64)
    missing: dict[int, list[str]] = {}
    curs = wo["currency"].to_numpy(dtype=object)
    for cur in sorted(set(curs[in_gl])):
        idx = np.flatnonzero(in_gl & (curs == cur))
        rates = rates_on(ledger, cur, wo["date"].to_numpy()[idx])
        amounts = wo["amount_minor"].to_numpy()[idx]
        for i, a, r in zip(idx, amounts, rates):
            p = int(period[i])
            if r is None:
                missing.setdefault(p, []).append(f"{wo['invoice_id'].iat[i]} ({cur})")
                continue
            v = convert(abs(int(a)), cur, r, rep)
            if a > 0:
                wo_sum[p] += v
            else:
                rec_sum[p] += v
    out["write_offs_minor"] = wo_sum
    out["recoveries_minor"] = rec_sum
    out["unconverted"] = [", ".join(missing.get(p, [])) for p in range(len(ends))]
    return out


def _amt(minor: int, cur: str) -> str:
    return f"{format_amount(abs(int(minor)), cur, thousands=True)} {cur}"


def reconcile_rollforward(gl: pd.DataFrame, subledger: pd.DataFrame | None = None,
                          currency: str = "USD") -> pd.DataFrame:
    """Roll the allowance account forward period by period and name every difference.

    Parameters
    ----------
    gl : DataFrame
        ``reserve_gl`` rows: ``period_end, beginning_balance_minor, provision_minor,
        write_offs_minor, recoveries_minor, ending_balance_minor`` (a pure frame: it need
        not roll forward, unlike a validated ledger's).
    subledger : DataFrame, optional
        :func:`subledger_write_offs` output for the same period ends; without it the GL's
        write-offs and recoveries are not tied.
    currency : str
        The GL's currency (the reporting currency).

    Returns
    -------
    DataFrame
        :data:`ROLLFORWARD_COLUMNS`, one row per period in date order. ``difference_minor``
        = ending - (beginning + provision - write-offs + recoveries);
        ``beginning_difference_minor`` = beginning - previous ending; the
        ``*_difference_minor`` of write-offs and recoveries = GL - subledger. ``ties`` is
        true when every difference is zero; ``issues`` names each one in words.

    Notes
    -----
    The allowance roll-forward (ASC 326-20-50-13: beginning balance, current-period
    provision, write-offs charged against the allowance, recoveries collected, ending
    balance).
    """
    g = gl.sort_values("period_end", kind="stable").reset_index(drop=True)
    cur = currency
    out = pd.DataFrame({"period_end": pd.to_datetime(g["period_end"]).to_numpy(),
                        "currency": g["currency"].to_numpy() if "currency" in g else cur})
    for src, dst in (("beginning_balance_minor", "beginning_minor"), ("provision_minor", "provision_minor"),
                     ("write_offs_minor", "write_offs_minor"), ("recoveries_minor", "recoveries_minor"),
                     ("ending_balance_minor", "ending_minor")):
        out[dst] = g[src].to_numpy(dtype=np.int64)
    out["computed_ending_minor"] = (out["beginning_minor"] + out["provision_minor"]
                                    - out["write_offs_minor"] + out["recoveries_minor"])
    out["difference_minor"] = out["ending_minor"] - out["computed_ending_minor"]
    out["previous_ending_minor"] = pd.array(out["ending_minor"].shift(1), dtype="Int64")
    out["beginning_difference_minor"] = pd.array(
        out["beginning_minor"] - out["previous_ending_minor"], dtype="Int64").fillna(0)
    if subledger is not None:
        s = subledger.set_index(pd.to_datetime(subledger["period_end"]))
        sw = s["write_offs_minor"].reindex(out["period_end"]).to_numpy()
        sr = s["recoveries_minor"].reindex(out["period_end"]).to_numpy()
        unconv = s["unconverted"].reindex(out["period_end"]).fillna("").to_numpy() \
            if "unconverted" in s else np.full(len(out), "")
        out["subledger_write_offs_minor"] = pd.array(sw, dtype="Int64")
        out["subledger_recoveries_minor"] = pd.array(sr, dtype="Int64")
    else:
        unconv = np.full(len(out), "")
        out["subledger_write_offs_minor"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["subledger_recoveries_minor"] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["write_offs_difference_minor"] = out["write_offs_minor"] - out["subledger_write_offs_minor"]
    out["recoveries_difference_minor"] = out["recoveries_minor"] - out["subledger_recoveries_minor"]
    issues = []
    for r, un in zip(out.itertuples(index=False), unconv):
        c = r.currency
        msg = []
        if r.difference_minor:
            msg.append(f"the ending balance {'exceeds' if r.difference_minor > 0 else 'falls short of'} "
                       f"beginning + provision - write-offs + recoveries by "
                       f"{_amt(r.difference_minor, c)}")
        if r.beginning_difference_minor:
            msg.append(f"the beginning balance {'exceeds' if r.beginning_difference_minor > 0 else 'is below'} "
                       f"the previous period's ending balance by {_amt(r.beginning_difference_minor, c)}")
        for what, d in (("write-offs", r.write_offs_difference_minor),
                        ("recoveries", r.recoveries_difference_minor)):
            if d is pd.NA or d == 0:
                continue
            msg.append(f"GL {what} exceed the subledger by {_amt(d, c)}" if d > 0 else
                       f"subledger {what} exceed the GL by {_amt(d, c)}")
        if un:
            msg.append(f"subledger rows without an fx rate (not converted): {un}")
        issues.append("; ".join(msg))
    out["issues"] = issues
    out["ties"] = out["issues"] == ""
    return out[ROLLFORWARD_COLUMNS]


def rollforward(ledger: Ledger) -> pd.DataFrame:
    """The allowance account's roll-forward for every period in ``reserve_gl``, tied to the
    subledger's write-offs and recoveries (see :func:`reconcile_rollforward`).

    Returns an empty frame (``attrs["note"]`` says why) when the ledger has no ``reserve_gl``.
    """
    gl = ledger.reserve_gl
    if not ledger.has("reserve_gl") or not len(gl):
        out = pd.DataFrame(columns=ROLLFORWARD_COLUMNS)
        out.attrs["note"] = "no reserve_gl table: the allowance account cannot be rolled forward"
        return out
    sub = subledger_write_offs(ledger, gl["period_end"])
    cur = gl["currency"].iloc[0] if "currency" in gl else ledger.report_currency
    return reconcile_rollforward(gl, sub, cur)
