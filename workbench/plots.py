"""Plot helpers (seaborn/matplotlib). Each takes ``ax=None`` and returns the Axes; none
calls ``plt.show()``. Amounts are converted to major units for display only
(:func:`workbench.money.to_major_float`, the currency's ISO 4217 decimals); every money
axis names its currency, and amounts in different currencies are never drawn on one axis."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from .money import minor_units, to_major_float


def _sns():
    """seaborn, imported when a plot needs it (with scipy it costs about a second; the apps
    use :func:`money_axis` without it)."""
    import seaborn

    return seaborn

__all__ = ["aging_bars", "aging_share_bars", "money_axis", "kpi_trend_lines", "roc_curves",
           "calibration_plot", "lift_chart", "forecast_chart"]

_NON_GROUP = ("currency", "total", "aging_over_60_pct", "invoices", "customer_name")


def money_axis(ax, axis: str = "x", currency: str | None = None) -> None:
    """Thousands separators on a money axis (values in major units). With ``currency``,
    ticks that are not whole units show the currency's decimals (0.125 KWD, never 0)."""
    digits = minor_units(currency) if currency else 0

    def tick(v, _):
        if digits and v != round(v):
            return f"{v:,.{digits}f}"
        return f"{v:,.0f}"

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(mticker.FuncFormatter(tick))


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
    palette = _sns().color_palette("RdYlGn_r", n_colors=len(labels))
    left = np.zeros(len(names))
    for color, bucket in zip(palette, labels):
        v = values[bucket].to_numpy(dtype=float)
        ax.barh(names, v, left=left, color=color, label=bucket)
        left += v
    ax.invert_yaxis()
    ax.legend(title="Days past due", bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    _sns().despine(ax=ax)


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
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.45 * max(len(rows), 3) + 1.5))
    major = (pd.DataFrame({b: to_major_float(rows[b], currency) for b in labels})
             if len(rows) else rows[labels].astype(float))
    _stack(ax, names.to_numpy(), major, labels)
    ax.set_xlabel(f"Open AR ({currency})")
    ax.set_ylabel(key.replace("_", " ").title() if key else "Currency")
    ax.set_title(title or f"AR aging in {currency} as of {table.attrs.get('as_of', '')}")
    money_axis(ax, "x", currency or None)
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
    _sns().lineplot(data=data, x="end", y="value", hue="metric", style="currency" if several else None,
                 marker="o", ax=ax)
    ax.set_xlabel("Period end")
    ax.set_ylabel(ylabel)
    ax.set_title(title or ", ".join(_TREND_LABELS.get(m, m) for m in metrics))
    ax.legend(bbox_to_anchor=(1.01, 1), loc="upper left", frameon=False)
    _sns().despine(ax=ax)
    return ax



def roc_curves(evaluation: pd.DataFrame, ax=None, title: str = "ROC on the test set"):
    """ROC curves of the model and its baselines (columns of ``evaluation``)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    for col, label in (("model", "gradient boosting"), ("logistic", "logistic regression"),
                       ("history", "customer history")):
        fpr, tpr, _ = roc_curve(evaluation["late"], evaluation[col])
        ax.plot(fpr, tpr, label=f"{label} (AUC {roc_auc_score(evaluation['late'], evaluation[col]):.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey")
    ax.set_xlabel("False positive rate")
    ax.set_ylabel("True positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    return ax


def calibration_plot(calibration: list[dict], ax=None, title: str = "Calibration (test set)"):
    """Observed share late against the mean predicted probability, per bin."""
    df = pd.DataFrame(calibration)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect")
    ax.plot(df["predicted"], df["observed"], marker="o", label="model")
    ax.set_xlabel("Mean predicted probability of paying late")
    ax.set_ylabel("Observed share paid late")
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def lift_chart(evaluation: pd.DataFrame, ax=None, title: str = "Lift by decile (test set)"):
    """Share late in each decile of predicted risk, against the overall share."""
    e = evaluation.sort_values("model", ascending=False).reset_index(drop=True)
    e["decile"] = np.arange(len(e)) * 10 // max(len(e), 1) + 1
    rate = e.groupby("decile")["late"].mean() / max(e["late"].mean(), 1e-9)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.bar(rate.index, rate.to_numpy(), color="#4c72b0")
    ax.axhline(1, ls="--", color="grey")
    ax.set_xlabel("Decile of predicted risk (1 = riskiest)")
    ax.set_ylabel("Lift (share late / overall share)")
    ax.set_title(title)
    return ax


def forecast_chart(forecast: pd.DataFrame, currency: str, ax=None):
    """Expected collections per week with the low-high range, for one currency."""
    f = forecast[forecast["currency"] == currency]
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    x = f["week"].to_numpy()
    low = np.minimum(f["low_minor"].to_numpy(), f["high_minor"].to_numpy())
    high = np.maximum(f["low_minor"].to_numpy(), f["high_minor"].to_numpy())
    ax.fill_between(x, to_major_float(low, currency), to_major_float(high, currency),
                    alpha=0.25, label="all at 90th / 10th percentile dates")
    ax.plot(x, to_major_float(f["expected_minor"], currency).to_numpy(), marker="o",
            label="expected")
    ax.set_xlabel("Week ahead")
    ax.set_ylabel(f"Collections ({currency})")
    ax.set_title(f"{f['week'].nunique()}-week cash forecast, {currency}")
    money_axis(ax, "y", currency)
    ax.legend(frameon=False)
    return ax
