"""Backtest: the reserve each method would have set at past quarter ends, against the net
losses that followed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import convert
from .history import History, build_history
from .methods import run_methods, take_snapshot
from .policy import METHODS, ReservePolicy, load_reserve_policy

__all__ = ["backtest", "quarter_ends_before", "BACKTEST_COLUMNS"]

BACKTEST_COLUMNS = ["quarter_end", "method", "currency", "reserve_minor", "actual_net_loss_minor",
                    "error_minor", "abs_error_minor", "follow_up_days", "window_complete"]


def quarter_ends_before(as_of, quarters: int, first=None) -> list[pd.Timestamp]:
    """The last ``quarters`` calendar quarter ends strictly before ``as_of`` (oldest first),
    none before ``first``."""
    D = to_date(as_of)
    out = [D - pd.offsets.QuarterEnd(k) for k in range(1, quarters + 1)]
    if first is not None:
        out = [q for q in out if q >= to_date(first)]
    return sorted(out)


def _net_loss_after(ledger: Ledger, q: pd.Timestamp, D: pd.Timestamp, open_pos: np.ndarray
                    ) -> dict[str, int]:
    """Write-offs net of recoveries dated in (q, D] on the invoices at ``open_pos``, per currency."""
    wo = ledger.write_offs
    if not len(wo):
        return {}
    pos = ledger.positions("write_offs", "invoice_id", "invoices", "invoice_id")
    was_open = np.zeros(len(ledger.invoices), bool)
    was_open[open_pos] = True
    dates = wo["date"].to_numpy()
    sel = (dates > np.datetime64(q, "ns")) & (dates <= np.datetime64(D, "ns")) & (pos >= 0)
    sel[sel] = was_open[pos[sel]]
    s = pd.Series(wo["amount_minor"].to_numpy()[sel]).groupby(
        wo["currency"].to_numpy(dtype=object)[sel]).sum()
    return {c: int(v) for c, v in s.items()}


def backtest(ledger: Ledger, as_of, policy: ReservePolicy | None = None, quarters: int = 4,
             risk_model=None, activities: pd.DataFrame | None = None, *,
             history: History | None = None) -> pd.DataFrame:
    """The reserve each method would have required at each of the last ``quarters`` quarter
    ends before ``as_of``, against the net losses that followed.

    Parameters
    ----------
    ledger : Ledger
    as_of : date
        The end of the follow-up (the analysis date).
    policy : ReservePolicy, optional
    quarters : int
        How many quarter ends before ``as_of`` (at least 4 recommended).
    risk_model : RiskModel, optional
        Backtested only at quarter ends on or after its training date (else it would have
        seen the outcomes it is judged on).
    activities : DataFrame, optional
        The activity log (default ``ledger.activities``).
    history : History, optional
        A :func:`build_history` up to ``as_of`` (reused; built when omitted).

    Returns
    -------
    DataFrame
        :data:`BACKTEST_COLUMNS`, in the reporting currency at each quarter end's rate:
        ``reserve_minor`` = pooled + specific reserve the method would have set with only the
        data known at the quarter end (no qualitative factors: they are today's judgement);
        ``actual_net_loss_minor`` = write-offs net of recoveries dated after the quarter end
        up to ``as_of`` on invoices open at the quarter end; ``error_minor`` = reserve -
        actual (positive: over-reserved); ``window_complete`` false when the follow-up is
        shorter than the policy's ``emergence_days`` (losses still to come).
        ``attrs``: ``best_method`` (lowest mean absolute error over complete windows, else
        over all), ``basis``, ``mae`` (method -> minor units), ``notes``.

    Notes
    -----
    .. math:: e_{m,q} = \\text{reserve}_{m}(q) - \\sum_{w \\in (q, D]} (\\text{write-off}_w
              - \\text{recovery}_w),\\quad \\text{MAE}_m = \\frac{1}{|Q|}\\sum_q |e_{m,q}|

    A reserve covers the lifetime loss of what is open at the quarter end, so an incomplete
    window understates the actual loss (the error reads too high).
    """
    policy = policy or load_reserve_policy()
    D = to_date(as_of)
    rep = ledger.report_currency
    history = history or build_history(ledger, D, policy.aging)
    notes: list[str] = []
    rows = []
    qs = quarter_ends_before(D, quarters, ledger.first_date)
    if len(qs) < quarters:
        notes.append(f"only {len(qs)} quarter end(s) before {D.date()} have data (asked {quarters})")
    for q in qs:
        snap = take_snapshot(ledger, q, policy, activities)
        model = risk_model if risk_model is not None and \
            to_date(risk_model.trained_as_of) <= q else None
        if risk_model is not None and model is None:
            notes.append(f"{q.date()}: the model (trained {risk_model.trained_as_of}) is not "
                         f"backtested before its training date")
        outcomes = run_methods(ledger, snap, policy, history, model,
                               [m for m in METHODS if m != "model" or model is not None])
        missing = [c for c, r in snap.rates.items() if r is None and c in snap.currencies]
        if missing:
            notes.append(f"{q.date()}: no fx rate for {', '.join(missing)}: not in the backtest")
            continue
        spec = snap.specific.groupby("currency")["reserve_minor"].sum()
        actual = _net_loss_after(ledger, q, D, snap.items["_pos"].to_numpy())
        actual_rep = sum(convert(v, c, snap.rates[c], rep) for c, v in actual.items()
                         if snap.rates.get(c) is not None)
        for m, o in outcomes.items():
            if not o.available:
                notes.append(f"{q.date()}: {m} not available ({o.note})")
                continue
            total = {c: o.pooled.get(c, 0) + int(spec.get(c, 0)) for c in snap.currencies}
            reserve = sum(convert(v, c, snap.rates[c], rep) for c, v in total.items())
            days = int((D - q).days)
            rows.append((q, m, rep, reserve, actual_rep, reserve - actual_rep,
                         abs(reserve - actual_rep), days, days >= policy.emergence_days))
    out = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    for c in ("reserve_minor", "actual_net_loss_minor", "error_minor", "abs_error_minor",
              "follow_up_days"):
        out[c] = out[c].astype(np.int64)
    out["window_complete"] = out["window_complete"].astype(bool)
    best, basis, mae = _best_method(out)
    out.attrs.update({"best_method": best, "basis": basis, "mae": mae, "notes": notes,
                      "emergence_days": policy.emergence_days, "currency": rep})
    if len(out) and not out["window_complete"].any():
        notes.append(f"no quarter end has a full {policy.emergence_days}-day follow-up: actual "
                     f"losses are still emerging, the comparison favours low reserves")
    return out


def _best_method(table: pd.DataFrame) -> tuple[str | None, str, dict]:
    """The method with the lowest mean absolute error, compared on the same quarter ends:
    those where every backtested method has a figure, complete follow-up windows only when
    there are any."""
    if not len(table):
        return None, "no backtest rows", {}
    methods = sorted(set(table["method"]))
    per_q = table.groupby("quarter_end")["method"].nunique()
    common = per_q[per_q == len(methods)].index
    use = table[table["quarter_end"].isin(common)]
    basis = f"quarter ends where all of {', '.join(methods)} have a figure"
    if not len(use):
        use = table
        basis = "each method over its own quarter ends (no quarter end has every method)"
    complete = use[use["window_complete"]]
    if len(complete):
        use, basis = complete, basis + ", complete follow-up windows"
    else:
        basis += ", follow-up windows incomplete"
    mae = use.groupby("method")["abs_error_minor"].mean()
    return str(mae.idxmin()), basis, {m: float(v) for m, v in mae.items()}
