"""Aging of open receivables into days-past-due buckets, exactly, per currency.

>>> from workbench import Ledger, aging
>>> table = aging.aging_table(Ledger.load("data/demo"), "2026-09-30", by="segment")  # doctest: +SKIP

Amounts stay integer minor units; a ledger in several currencies is aged per currency
unless a report currency is asked for, in which case each currency's bucket totals are
converted at the latest ``fx_rates`` rate on or before the as-of date (one rounding,
half to even, per group, currency and bucket) and then summed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .ledger import Ledger
from .money import convert, format_amount
from .policy import INVALID, Items, PolicyError, PolicySpec, Section, Text, Whole

__all__ = ["AgingPolicy", "load_aging_policy", "bucket_labels", "aging_table", "aging_records",
           "GROUPINGS", "AGING_SPEC", "PolicyError"]

#: Aging over 60: the share of open AR more than this many days past due (DATA_MODEL.md).
OVER_DAYS = 60
GROUPINGS = ("customer", "segment", "collector", "currency")
_GROUP_COLUMN = {"customer": "customer_id", "segment": "segment", "collector": "collector",
                 "currency": "currency"}


@dataclass(frozen=True)
class AgingPolicy:
    """Bucket edges in days past due. ``lower[i]`` is the first day of bucket ``i``."""

    name: str
    version: str
    labels: tuple[str, ...]
    lower: tuple[int | None, ...]   # None for the first (open-ended) bucket
    upper: tuple[int | None, ...]   # None for the last (open-ended) bucket
    source: str = ""

    def bucket_of(self, days_past_due: np.ndarray) -> np.ndarray:
        """Index of the bucket for each days-past-due value."""
        edges = np.array([lo for lo in self.lower[1:]], dtype=np.int64)
        return np.searchsorted(edges, np.asarray(days_past_due, dtype=np.int64), side="right")


#: The aging policy's keys (beside name, version, description): its buckets in order.
AGING_SPEC = PolicySpec("aging", {
    "buckets": Items(item=Section(fields={
        "label": Text(doc="the bucket's name in reports"),
        "min_days": Whole(required=False, doc="first day past due in the bucket"),
        "max_days": Whole(required=False, doc="last day past due in the bucket"),
    }), min_items=2, name_keys=("label",), doc="contiguous buckets covering every day"),
})


def load_aging_policy(path: str | Path = "aging") -> AgingPolicy:
    """Read and check an aging policy (default: the shipped ``policies/aging.yaml``).

    Buckets must be contiguous and cover every day: the first has no ``min_days``, the
    last no ``max_days``, each next bucket starts the day after the previous one ends.
    Every problem is reported together (:mod:`workbench.policy`).
    """
    doc = AGING_SPEC.read(path)
    buckets = [b for b in (doc.get("buckets") or []) if b]
    labels = [b["label"] for b in buckets]
    lower = [b["min_days"] for b in buckets]
    upper = [b["max_days"] for b in buckets]
    if len(buckets) >= 2 and all(labels):
        def at(i):
            return f"buckets[{labels[i]}]"

        def known(*v):   # a value that failed its own check is not judged again
            return all(x is not INVALID for x in v)
        if lower[0] is not None and known(lower[0]):
            doc.add(f"{at(0)}.min_days", f"the first bucket '{labels[0]}' must have no min_days "
                                         f"(it takes everything not yet due)")
        if upper[-1] is not None and known(upper[-1]):
            doc.add(f"{at(-1)}.max_days", f"the last bucket '{labels[-1]}' must have no max_days")
        for i in range(1, len(labels)):
            if known(lower[i], upper[i - 1]) and (
                    lower[i] is None or upper[i - 1] is None or lower[i] != upper[i - 1] + 1):
                doc.add(f"{at(i)}.min_days",
                        f"bucket '{labels[i]}' must start the day after '{labels[i - 1]}' ends "
                        f"(min_days = {None if upper[i - 1] is None else upper[i - 1] + 1}); "
                        f"got {lower[i]}")
            if known(lower[i], upper[i]) and upper[i] is not None and lower[i] is not None \
                    and upper[i] < lower[i]:
                doc.add(f"{at(i)}.max_days",
                        f"bucket '{labels[i]}': max_days {upper[i]} is below min_days {lower[i]}")
        if len(set(labels)) != len(labels):
            doc.add("buckets", "bucket labels must be unique")
    doc.check()
    return AgingPolicy(doc.name, doc.version, tuple(labels), tuple(lower), tuple(upper),
                       str(doc.source))


def bucket_labels(policy: AgingPolicy | None = None) -> list[str]:
    return list((policy or load_aging_policy()).labels)


def aging_table(ledger: Ledger, as_of, by: str | None = None, policy: AgingPolicy | None = None,
                report_currency: str | None = None, without_history: str = "strict"
                ) -> pd.DataFrame:
    """Open AR as of a date in days-past-due buckets.

    Parameters
    ----------
    ledger : Ledger
    as_of : str or date
        Only invoices, applications, credit memos and write-offs dated on or before it count.
    by : {None, "customer", "segment", "collector", "currency"}
        One row per group and currency (customers also get their name).
    policy : AgingPolicy, optional
        Bucket edges; the shipped default when omitted.
    report_currency : str, optional
        Convert every currency into this one with ``fx_rates`` (latest rate on or before
        ``as_of``); the result then has one currency.
    without_history : {"strict", "assume_unchanged"}
        ``segment`` and ``collector`` are those in force on ``as_of`` (from
        ``customer_changes``, :mod:`workbench.master`). On a past date without that table they
        are unknown (``strict``: grouped as ``(unknown)``) or taken from today's master
        (``assume_unchanged``); ``attrs["notes"]`` says which. A customer with no value at
        all is grouped as ``(none)``.

    Returns
    -------
    DataFrame
        One row per (group, currency): a column per bucket and ``total`` in integer minor
        units, ``aging_over_60_pct`` (share of ``total`` more than 60 days past due, in
        percent, rounded to 4 places), ``invoices`` (count of open invoices).
    """
    policy = policy or load_aging_policy()
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}; got {by!r}")
    D = ledger.require_data_by(as_of)
    group_col = _GROUP_COLUMN.get(by) if by else None
    timed = group_col in ("segment", "collector")
    items = ledger.open_items(D, customer_columns=("name", group_col) if timed else ("name",),
                              without_history=without_history)
    notes = list(items.attrs.get("notes", [])) if timed else []
    if group_col and group_col not in items.columns:
        raise ValueError(f"cannot age by {by}: the customers table has no '{group_col}' column")
    keys = [k for k in (group_col,) if k and k != "currency"] + ["currency"]
    items = items.assign(_bucket=policy.bucket_of(items["days_past_due"].to_numpy()),
                         _over=(items["days_past_due"] > OVER_DAYS).to_numpy())
    if timed:
        # the group in force on D; unknown (no history) is not the same as no value at all
        from .master import master_values
        from .schema import IdIndex
        cust = ledger.customers
        _, known, _ = master_values(ledger, group_col, np.arange(len(cust)), D, without_history)
        cpos = IdIndex(cust["customer_id"]).get_indexer(items["customer_id"])
        unknown = (cpos >= 0) & ~known[np.maximum(cpos, 0)] & items[group_col].isna().to_numpy() \
            & cust[group_col].notna().to_numpy()[np.maximum(cpos, 0)]
        if unknown.any():
            notes.append(f"{int(unknown.sum())} open invoice(s) of "
                         f"{items.loc[unknown, 'customer_id'].nunique()} customer(s) are aged "
                         f"under '(unknown)': their {by} on {D.date()} is not known")
        items[group_col] = items[group_col].astype(object).where(~unknown, "(unknown)")
    if group_col and group_col != "currency":
        items[group_col] = items[group_col].fillna("(none)")
    sums = (items.groupby(keys + ["_bucket"], sort=True)["open_minor"].sum()
            .unstack("_bucket", fill_value=0)
            .reindex(columns=range(len(policy.labels)), fill_value=0))
    sums.columns = list(policy.labels)
    sums = sums.astype(np.int64)
    over = items[items["_over"]].groupby(keys, sort=True)["open_minor"].sum()
    counts = items.groupby(keys, sort=True)["invoice_id"].count()
    table = sums.copy()
    table["_over_minor"] = over.reindex(table.index, fill_value=0).astype(np.int64)
    table["invoices"] = counts.reindex(table.index, fill_value=0).astype(np.int64)
    table = table.reset_index()
    if report_currency:
        table = _to_report_currency(ledger, table, keys, policy, D, report_currency)
    table["total"] = table[list(policy.labels)].sum(axis=1).astype(np.int64)
    table["aging_over_60_pct"] = np.where(
        table["total"] > 0, (table["_over_minor"] / table["total"].where(table["total"] > 0, 1))
        * 100.0, 0.0).round(4)
    table = table.drop(columns="_over_minor")
    table = table[[c for c in table.columns if c not in (*policy.labels, "total",
                                                          "aging_over_60_pct", "invoices")]
                  + list(policy.labels) + ["total", "aging_over_60_pct", "invoices"]]
    if by == "customer":
        names = ledger.customers.set_index("customer_id")["name"]
        table.insert(1, "customer_name", table["customer_id"].map(names))
    table.attrs.update({"as_of": str(D.date()), "policy": f"{policy.name} {policy.version}",
                        "by": by, "buckets": list(policy.labels), "notes": notes})
    return table


def _to_report_currency(ledger, table, keys, policy, D, report_currency) -> pd.DataFrame:
    money_cols = list(policy.labels) + ["_over_minor"]
    out = table.copy()
    for cur in out["currency"].unique():
        rate = ledger.fx_rate(cur, D, report_currency)
        sel = out["currency"] == cur
        for c in money_cols:
            out.loc[sel, c] = [convert(int(v), cur, rate, report_currency)
                               for v in out.loc[sel, c]]
    out["currency"] = report_currency
    group = [k for k in keys if k != "currency"] + ["currency"]
    agg = out.groupby(group, sort=True)[money_cols + ["invoices"]].sum().reset_index()
    for c in money_cols:
        agg[c] = agg[c].astype(np.int64)
    return agg


def aging_records(table: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: amounts as exact decimal strings, the share as a number.

    Each record: ``{"as_of", "currency", "buckets": {label: "..."}, "total",
    "aging_over_60_pct"}`` plus the group key when grouped (the key's name: ``segment``,
    ``collector``, ``customer_id``).
    """
    labels = table.attrs["buckets"]
    group_cols = [c for c in table.columns if c not in (*labels, "currency", "total",
                                                        "aging_over_60_pct", "invoices")]
    records = []
    for row in table.to_dict("records"):
        cur = row["currency"]
        rec = {c: row[c] for c in group_cols}
        rec.update({
            "as_of": table.attrs["as_of"], "currency": cur,
            "buckets": {b: format_amount(int(row[b]), cur) for b in labels},
            "total": format_amount(int(row["total"]), cur),
            "aging_over_60_pct": float(row["aging_over_60_pct"]),
            "open_invoices": int(row["invoices"]),
        })
        records.append(rec)
    return records
