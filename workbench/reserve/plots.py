"""Reserve plots. Each takes ``ax=None`` and returns the Axes; none calls ``plt.show()``.
Amounts are shown in major units of one currency per axis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from ..money import minor_units

__all__ = ["transition_heatmap", "reserve_by_bucket", "backtest_plot", "loss_curve_plot"]


def _money_axis(ax, axis: str = "y") -> None:
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _one_currency(df: pd.DataFrame, currency: str | None, what: str) -> str:
    currencies = sorted(set(df["currency"]))
    if currency is None:
        if len(currencies) > 1:
            raise ValueError(f"{what} holds {', '.join(currencies)}: pass currency= (amounts in "
                             f"different currencies are not drawn on one axis)")
        currency = currencies[0] if currencies else ""
    return currency


def transition_heatmap(matrix: pd.DataFrame, ax=None, title: str | None = None):
    """Heatmap of a roll-rate transition matrix (rows: bucket at a month end; columns:
    state at the next month end), each cell the share of the row's balance, in percent."""
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * matrix.shape[1] + 2, 0.6 * matrix.shape[0] + 1.5))
    sns.heatmap(matrix * 100, annot=True, fmt=".1f", cmap="Reds", vmin=0, vmax=100, ax=ax,
                cbar_kws={"label": "Share of the bucket's balance (%)"}, linewidths=0.5)
    window = matrix.attrs.get("window")
    ax.set_title(title or "Roll rates: where a month-end balance is one month later"
                 + (f" ({window[0]} to {window[1]})" if window else ""))
    ax.set_xlabel("State at the next month end")
    ax.set_ylabel("Aging bucket at month end (days past due)")
    return ax


def reserve_by_bucket(by_bucket: pd.DataFrame, currency: str | None = None,
                      methods=("provision_matrix", "roll_rate", "model"), ax=None,
                      title: str | None = None):
    """Grouped bars: the pool's open balance and each method's reserve per aging bucket, for
    one currency (``result.by_bucket``; the ``currency`` level rows, or the ``reporting``
    rows when ``currency`` is the reporting currency and no currency rows match)."""
    df = by_bucket
    if "level" in df:
        rows = df[(df["level"] == "currency")]
        if currency is not None and currency not in set(rows["currency"]):
            rows = df[(df["level"] == "reporting") & (df["currency"] == currency)]
        df = rows
    currency = _one_currency(df, currency, "by_bucket")
    df = df[df["currency"] == currency]
    cols = [c for c in (f"{m}_minor" for m in methods) if c in df]
    scale = 10 ** minor_units(currency) if currency else 1
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    x = np.arange(len(df))
    width = 0.8 / (len(cols) + 1)
    ax.bar(x, df["pool_minor"] / scale, width, label="Pool (open balance)", color="#d0d0d0")
    for i, c in enumerate(cols, start=1):
        ax.bar(x + i * width, df[c] / scale, width, label=c[:-6].replace("_", " "))
    ax.set_xticks(x + width * len(cols) / 2, df["bucket"])
    ax.set_xlabel("Aging bucket (days past due)")
    ax.set_ylabel(f"Amount ({currency})")
    ax.set_title(title or f"Open balance and reserve by aging bucket ({currency})")
    ax.legend(frameon=False)
    _money_axis(ax, "y")
    return ax


def backtest_plot(table: pd.DataFrame, ax=None, title: str | None = None):
    """Each method's reserve at past quarter ends against the net losses that followed
    (``result.backtest``, one currency: the reporting currency). Hollow markers: follow-up
    window shorter than the emergence window."""
    currency = _one_currency(table, None, "the backtest") if len(table) else ""
    scale = 10 ** minor_units(currency) if currency else 1
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    if len(table):
        actual = table.drop_duplicates("quarter_end").set_index("quarter_end")["actual_net_loss_minor"]
        ax.plot(actual.index, actual / scale, color="black", lw=2, marker="s",
                label="Actual net loss after the quarter end")
        for m, g in table.groupby("method", sort=True):
            line, = ax.plot(g["quarter_end"], g["reserve_minor"] / scale, marker="o", label=m)
            inc = g[~g["window_complete"]]
            ax.scatter(inc["quarter_end"], inc["reserve_minor"] / scale, s=80,
                       facecolors="white", edgecolors=line.get_color(), zorder=3)
    ax.set_xlabel("Quarter end")
    ax.set_ylabel(f"Amount ({currency})")
    best = table.attrs.get("best_method")
    ax.set_title(title or "Backtest: reserve set vs net losses that followed"
                 + (f" (closest: {best})" if best else ""))
    ax.legend(frameon=False)
    _money_axis(ax, "y")
    return ax


def loss_curve_plot(curve: pd.DataFrame, ax=None, title: str | None = None):
    """The lifetime loss curve: cumulative net loss as a percent of credit sales by months
    since invoice (``result.vintage_curve``)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    ax.plot(curve["months_since_invoice"], curve["cumulative_loss_rate"] * 100, marker="o")
    ax.set_xlabel("Months since invoice")
    ax.set_ylabel("Cumulative net loss (% of credit sales)")
    ax.set_title(title or "Lifetime loss curve (all vintages observed that long)")
    return ax
