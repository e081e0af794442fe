"""Expected loss from the payment-risk model, and the qualitative (forward-looking) factors."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from .common import pct_of
from .policy import ReservePolicy

__all__ = ["expected_loss_model", "qualitative_adjustments"]


def expected_loss_model(scores: pd.DataFrame, policy: ReservePolicy,
                        pool: pd.DataFrame | None = None) -> pd.DataFrame:
    """Expected loss = PD x exposure x LGD, per currency and aging bucket.

    Parameters
    ----------
    scores : DataFrame
        :func:`workbench.risk.score_open_items` output: ``invoice_id, currency,
        open_minor, p_late``.
    policy : ReservePolicy
        ``pd_per_late`` and ``lgd_pct``.
    pool : DataFrame, optional
        ``invoice_id, bucket, pool_minor``: the exposure after specific reserves (default:
        each scored invoice's whole open balance, bucket ``"(all)"``).

    Returns
    -------
    DataFrame
        ``currency, bucket, balance_minor, mean_pd, reserve_minor``.

    Notes
    -----
    .. math:: \\text{EL}_c = \\sum_b \\operatorname{round}\\Bigl(\\sum_{i \\in b}
              \\text{EAD}_i \\cdot \\text{PD}_i \\cdot \\text{LGD}\\Bigr),\\quad
              \\text{PD}_i = \\min(1,\\; p^{\\text{late}}_i \\cdot f)

    The payment-risk model does not estimate default: ``p_late`` is the probability that
    the invoice is paid more than the model's ``late_days`` after its due date. The policy
    factor :math:`f` (``pd_per_late``) is the share of such late payers that end in a
    loss; it is a judgement to calibrate against the ledger's write-offs, and the figure is
    only as good as it. EAD is the open balance left in the pool; LGD the policy's
    ``lgd_pct``. (Basel expected loss EL = PD x LGD x EAD; IFRS 9 5.5.17 asks for
    an unbiased, probability-weighted amount.) Each (currency, bucket) figure is a float sum
    rounded once to minor units.
    """
    f = float(policy.pd_per_late)
    lgd = float(policy.lgd_pct) / 100
    df = scores[["invoice_id", "currency", "open_minor", "p_late"]].copy()
    if pool is not None:
        df = df.merge(pool[["invoice_id", "bucket", "pool_minor"]], on="invoice_id", how="inner")
    else:
        df["bucket"], df["pool_minor"] = "(all)", df["open_minor"]
    df["pd"] = np.minimum(1.0, df["p_late"].to_numpy(dtype=float) * f)
    df["el"] = df["pool_minor"].to_numpy(dtype=float) * df["pd"] * lgd
    df["w"] = df["pool_minor"].to_numpy(dtype=float) * df["pd"]
    g = df.groupby(["currency", "bucket"], sort=True).agg(
        balance_minor=("pool_minor", "sum"), el=("el", "sum"), w=("w", "sum"))
    rows = []
    for (cur, b), r in g.iterrows():
        bal = int(r["balance_minor"])
        # round once: the float sum is in minor units; scale to major through Decimal
        reserve = _round_minor_float(float(r["el"]))
        rows.append((cur, b, bal, (r["w"] / bal) if bal else np.nan, reserve))
    out = pd.DataFrame(rows, columns=["currency", "bucket", "balance_minor", "mean_pd",
                                      "reserve_minor"])
    for c in ("balance_minor", "reserve_minor"):
        out[c] = out[c].astype(np.int64)
    return out


def _round_minor_float(minor: float) -> int:
    """A float amount already in minor units, rounded once half to even through Decimal."""
    from decimal import ROUND_HALF_EVEN
    return int(Decimal(repr(minor)).to_integral_value(rounding=ROUND_HALF_EVEN))


def qualitative_adjustments(pooled: dict[str, int], policy: ReservePolicy) -> pd.DataFrame:
    """Forward-looking qualitative adjustments, each a percent of the pooled reserve.

    Parameters
    ----------
    pooled : dict
        Currency -> the pooled historical reserve (minor units) the factors apply to.
    policy : ReservePolicy
        ``qualitative``: factors with ``name``, ``adjustment_pct`` (may be negative) and
        ``rationale``.

    Returns
    -------
    DataFrame
        One row per factor and currency: ``factor, adjustment_pct, rationale, currency,
        base_minor, amount_minor``.

    Notes
    -----
    .. math:: \\text{adj}_{f,c} = \\operatorname{round}(\\text{pooled}_c \\times a_f / 100)

    Historical loss information adjusted for current conditions and reasonable and
    supportable forecasts (ASC 326-20-30-9; IFRS 9 5.5.17(c), B5.5.52). Shown apart from
    the historical figure so the judgement is visible.
    """
    rows = []
    for fac in policy.qualitative:
        for cur, base in sorted(pooled.items()):
            rows.append((fac.name, float(fac.adjustment_pct), fac.rationale, cur, int(base),
                         pct_of(int(base), fac.adjustment_pct, cur)))
    out = pd.DataFrame(rows, columns=["factor", "adjustment_pct", "rationale", "currency",
                                      "base_minor", "amount_minor"])
    for c in ("base_minor", "amount_minor"):
        out[c] = out[c].astype(np.int64)
    return out
