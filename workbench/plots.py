"""Plot helpers (seaborn/matplotlib). Each takes ``ax=None`` and returns the Axes; none
calls ``plt.show()``. Amounts are converted to major units for display only; amounts in
different currencies are never drawn on one axis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from .money import MINOR_UNITS

__all__ = ["aging_bars", "aging_share_bars", "money_axis", "kpi_trend_lines"]

_NON_GROUP = ("currency", "total", "aging_over_60_pct", "invoices", "customer_name")


def money_axis(ax, axis: str = "x") -> None:
    """Thousands separators on a money axis (values in major units)."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _bars(table: pd.DataFrame) -> tuple[pd.Series, str | None]:
    labels = table.attrs["buckets"]
    group = [c for c in table.columns if c not in (*labels, *_NON_GROUP)]
    key = group[0] if group else None
    if key is None:
        return table["currency"], None
    several = table["currency"].nunique() > 1
    names = table[key].astype(str)
    return (names + " (" + table["currency"] + ")") if several else names, key


def _stack(ax, names, values: pd.DataFrame, labels) -> None:
    palette = sns.color_palette("RdYlGn_r", n_colors=len(labels))
    left = np.zeros(len(names))
    for color, bucket in zip(palette, labels):
        v = values[bucket].to_numpy(dtype=float)
        ax.barh(names, v, left=left, color=color, label=bucket)
        left += v
    ax.invert_yaxis()
    ax.legend(title="Days past due", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    sns.despine(ax=ax)


def aging_bars(table: pd.DataFrame, currency: str | None = None, ax=None, title: str | None = None):
    """Stacked bars of open AR by aging bucket for one currency, one bar per group.

    ``table`` is :func:`workbench.aging.aging_table` output; ``currency`` picks the rows
    to draw (required when the table holds several currencies).
    """
    labels = table.attrs["buckets"]
    currencies = sorted(table["currency"].unique())
    if currency is None:
        if len(currencies) > 1:
            raise ValueError(f"the table holds {', '.join(currencies)}: pass currency= (amounts in "
                             f"different currencies are not drawn on one axis) or use "
                             f"aging_share_bars")
        currency = currencies[0] if currencies else ""
    rows = table[table["currency"] == currency]
    names, key = _bars(rows)
    scale = 10 ** MINOR_UNITS.get(currency, 2)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.45 * max(len(rows), 3) + 1.5))
    _stack(ax, names.to_numpy(), rows[labels] / scale, labels)
    ax.set_xlabel(f"Open AR ({currency})")
    ax.set_ylabel(key.replace("_", " ").title() if key else "Currency")
    ax.set_title(title or f"AR aging in {currency} as of {table.attrs.get('as_of', '')}")
    money_axis(ax, "x")
    return ax


def aging_share_bars(table: pd.DataFrame, ax=None, title: str | None = None):
    """100 % stacked bars: each bar's AR split by aging bucket (comparable across currencies)."""
    labels = table.attrs["buckets"]
    names, key = _bars(table)
    total = table["total"].where(table["total"] > 0, 1)
    shares = table[labels].div(total, axis=0) * 100.0
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.45 * max(len(table), 3) + 1.5))
    _stack(ax, names.to_numpy(), shares, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Share of open AR (%)")
    ax.set_ylabel(key.replace("_", " ").title() if key else "Currency")
    ax.set_title(title or f"AR aging mix as of {table.attrs.get('as_of', '')}")
    return ax


_TREND_LABELS = {
    "dso": "DSO", "countback_dso": "Countback DSO", "best_possible_dso": "Best possible DSO",
    "cei": "CEI", "aging_over_60_pct": "Aging over 60", "add": "ADD",
}


def kpi_trend_lines(trend: pd.DataFrame, metrics: list[str], ax=None, title: str | None = None,
                    ylabel: str = "days"):
    """Line plot of KPIs over the trend's periods, one line per metric and currency."""
    data = trend.melt(id_vars=["end", "currency"], value_vars=metrics, var_name="metric",
                      value_name="value").dropna(subset=["value"])
    data["metric"] = data["metric"].map(lambda m: _TREND_LABELS.get(m, m))
    data["end"] = pd.to_datetime(data["end"])
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    several = trend["currency"].nunique() > 1
    sns.lineplot(data=data, x="end", y="value", hue="metric", style="currency" if several else None,
                 marker="o", ax=ax)
    ax.set_xlabel("Period end")
    ax.set_ylabel(ylabel)
    ax.set_title(title or ", ".join(_TREND_LABELS.get(m, m) for m in metrics))
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    sns.despine(ax=ax)
    return ax
