"""Plot helpers (seaborn/matplotlib). Each takes ``ax=None`` and returns the Axes; none
calls ``plt.show()``. Amounts are converted to major units for display only."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import seaborn as sns

from .money import MINOR_UNITS

__all__ = ["aging_bars", "money_axis"]


def money_axis(ax, axis: str = "y", currency: str = "") -> None:
    """Thousands separators on a money axis (values in major units)."""
    fmt = mticker.FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def aging_bars(table: pd.DataFrame, ax=None, title: str | None = None):
    """Stacked bars of open AR by aging bucket, one bar per group (or per currency).

    ``table`` is :func:`workbench.aging.aging_table` output. With several currencies and
    no report currency, one bar per currency (amounts are not added across currencies).
    """
    labels = table.attrs["buckets"]
    group_cols = [c for c in table.columns if c not in (*labels, "currency", "total",
                                                        "aging_over_60_pct", "invoices",
                                                        "customer_name")]
    key = group_cols[0] if group_cols else None
    frame = table.copy()
    frame["bar"] = (frame[key].astype(str) + " (" + frame["currency"] + ")") if key else frame["currency"]
    scale = frame["currency"].map(lambda c: 10 ** MINOR_UNITS[c])
    long = frame.melt(id_vars=["bar"], value_vars=labels, var_name="bucket", value_name="minor")
    long["amount"] = long["minor"] / long["bar"].map(dict(zip(frame["bar"], scale)))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.5 * max(len(frame), 4) + 1.5))
    palette = sns.color_palette("RdYlGn_r", n_colors=len(labels))
    left = pd.Series(0.0, index=frame["bar"].to_numpy())
    for color, bucket in zip(palette, labels):
        vals = long[long["bucket"] == bucket].set_index("bar")["amount"].reindex(left.index)
        ax.barh(left.index, vals.to_numpy(), left=left.to_numpy(), color=color, label=bucket)
        left = left + vals.fillna(0)
    currencies = sorted(frame["currency"].unique())
    unit = currencies[0] if len(currencies) == 1 else "each bar in its own currency"
    ax.set_xlabel(f"Open AR ({unit})")
    ax.set_ylabel(key.replace("_", " ").title() if key else "Currency")
    ax.set_title(title or f"AR aging as of {table.attrs.get('as_of', '')}")
    money_axis(ax, "x")
    ax.invert_yaxis()
    ax.legend(title="Days past due", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    sns.despine(ax=ax)
    return ax
