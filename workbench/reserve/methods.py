"""The pooled methods run on one date's pool: a snapshot of the open items as of that date
(identified invoices taken out) and the method runners used by the analysis and the backtest."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import minor_units
from .common import customer_values, fx_or_none, ledger_customers_as_of, open_items_positional
from .expected import expected_loss_model
from .history import History
from .matrix import absorbing_loss_rates, provision_matrix, roll_rate_flows, roll_rate_reserve, \
    transition_matrix
from .policy import METHODS, ReservePolicy
from .specific import specific_reserves
from .vintage import lifetime_loss_curve, vintage_loss_rate, vintage_reserve, vintage_table

__all__ = ["Snapshot", "MethodOutcome", "take_snapshot", "run_methods"]


@dataclass
class Snapshot:
    """The pool as of one date: open items with bucket, segment and vintage, the specific
    reserves taken out, and the fx rates of that date."""

    as_of: pd.Timestamp
    items: pd.DataFrame
    specific: pd.DataFrame
    rates: dict
    notes: list = field(default_factory=list)

    @property
    def currencies(self) -> list[str]:
        if "_currencies" not in self.__dict__:
            self.__dict__["_currencies"] = sorted(pd.unique(self.items["currency"]).tolist())
        return self.__dict__["_currencies"]

    def weights(self, currencies) -> dict | None:
        """Currency -> reporting units per minor unit (floats, for pooling ratios only);
        None when a currency has no rate."""
        out = {}
        for c in currencies:
            r = self.rates.get(c)
            if r is None:
                return None
            out[c] = float(r) / 10 ** minor_units(c)
        return out


@dataclass
class MethodOutcome:
    method: str
    available: bool
    pooled: dict = field(default_factory=dict)          # currency -> minor units
    by_bucket: pd.DataFrame | None = None               # currency, bucket, reserve_minor, ...
    detail: dict = field(default_factory=dict)
    note: str | None = None


def take_snapshot(ledger: Ledger, as_of, policy: ReservePolicy, activities=None) -> Snapshot:
    """Open items as of ``as_of`` with ``bucket``, ``segment`` (master as of the date),
    ``vintage``, the specific reserves and ``pool_minor`` (open balance less the part
    identified specifically)."""
    D = to_date(as_of)
    items = open_items_positional(ledger, D)
    cust, notes = ledger_customers_as_of(ledger, D, policy.master_without_history)
    labels = np.array(policy.aging.labels, dtype=object)
    items["bucket"] = labels[policy.aging.bucket_of(items["days_past_due"].to_numpy())]
    seg = customer_values(ledger, cust, "segment")
    cpos = items["_cpos"].to_numpy()
    items["segment"] = np.where(cpos >= 0, seg[np.maximum(cpos, 0)], np.nan)
    month = items["invoice_date"].to_numpy().astype("datetime64[M]")
    uniq, inv = np.unique(month, return_inverse=True)
    items["vintage"] = np.array([str(u) for u in uniq], dtype=object)[inv] if len(uniq) else \
        np.array([], dtype=object)
    spec = specific_reserves(ledger, D, policy, activities, items=items, customers=cust)
    notes += spec.attrs.get("notes", [])
    rows = pd.Index(items["invoice_id"]).get_indexer(spec["invoice_id"]) if len(spec) else \
        np.zeros(0, np.int64)
    for col, src in (("specific_base_minor", "base_minor"), ("specific_reserve_minor", "reserve_minor")):
        v = np.zeros(len(items), np.int64)
        v[rows] = spec[src].to_numpy(dtype=np.int64)
        items[col] = v
    items["pool_minor"] = (items["open_minor"] - items["specific_base_minor"]).astype(np.int64)
    rates = {c: fx_or_none(ledger, c, D) for c in ledger.currencies}
    return Snapshot(D, items, spec, rates, notes)


def _bucket_sums(items: pd.DataFrame, labels, col: str = "pool_minor") -> pd.DataFrame:
    g = items.groupby(["currency", "bucket"], sort=False)[col].sum()
    idx = pd.MultiIndex.from_product([sorted(pd.unique(items["currency"]).tolist()), list(labels)],
                                     names=["currency", "bucket"])
    out = g.reindex(idx, fill_value=0).rename("balance_minor").reset_index()
    out["balance_minor"] = out["balance_minor"].astype(np.int64)
    return out


def _pooled(by_bucket: pd.DataFrame, currencies) -> dict:
    s = by_bucket.groupby("currency")["reserve_minor"].sum() if len(by_bucket) else pd.Series(dtype=int)
    return {c: int(s.get(c, 0)) for c in currencies}


def _run_provision_matrix(snap: Snapshot, policy: ReservePolicy) -> MethodOutcome:
    table = provision_matrix(snap.items, policy)
    by_bucket = (table.groupby(["currency", "bucket"], sort=False)[["balance_minor", "reserve_minor"]]
                 .sum().reset_index())
    return MethodOutcome("provision_matrix", True, _pooled(table, snap.currencies), by_bucket,
                         {"table": table})


def _run_roll_rate(ledger: Ledger, snap: Snapshot, policy: ReservePolicy, history: History
                   ) -> MethodOutcome:
    name = "roll_rate"
    if not ledger.has("write_offs"):
        return MethodOutcome(name, False, note="no write_offs table: roll-rate loss rates cannot "
                             "be estimated")
    if not ledger.has("applications") and not ledger.has("credit_memos"):
        return MethodOutcome(name, False, note="no applications or credit_memos table: what "
                             "was paid is unknown, roll rates cannot be estimated")
    labels = list(policy.aging.labels)
    balances = _bucket_sums(snap.items, labels)
    currencies = list(history.currencies)
    weights = snap.weights(currencies) if policy.pool == "portfolio" else None
    note = None
    if policy.pool == "portfolio" and weights is None and len(currencies) > 1:
        note = (f"no fx rate on {snap.as_of.date()} for every currency: roll rates estimated per "
                f"currency instead of on the whole portfolio")
    keys = ["portfolio"] if weights is not None or len(currencies) <= 1 else currencies
    matrices, rates = {}, {}
    for key in keys:
        if key == "portfolio" and weights is not None:
            flows = roll_rate_flows(history, snap.as_of, policy.roll_months, weights=weights)
        else:
            cur = currencies[0] if key == "portfolio" else key
            flows = roll_rate_flows(history, snap.as_of, policy.roll_months, currency=cur)
        if flows.attrs["with_balance"] < policy.roll_min_months:
            return MethodOutcome(name, False, note=(
                f"roll rates need at least {policy.roll_min_months} month-to-month transitions "
                f"with open balances before {snap.as_of.date()}; "
                f"{flows.attrs['with_balance']} available"))
        m = transition_matrix(flows, labels)
        m.attrs.update({"transitions": flows.attrs["transitions"], "window": flows.attrs["window"],
                        "pool": key})
        matrices[key] = m
        rates[key] = absorbing_loss_rates(m)
    per_cur = {c: rates["portfolio" if "portfolio" in rates else c]
               for c in pd.unique(balances["currency"])}
    table = roll_rate_reserve(balances, per_cur, fallback_pct=policy.rates_pct)
    notes = [note] if note else []
    for key, lr in rates.items():
        bad = lr[lr["status"] != "estimated"]
        for b, st in bad["status"].items():
            notes.append(f"roll rate ({key}), bucket {b}: {st}" + (
                " (provision-matrix rate used)" if st == "no data" else
                " (never paid nor written off in the window: treated as lost)"))
    return MethodOutcome(name, True, _pooled(table, snap.currencies), table,
                         {"matrices": matrices, "loss_rates": rates},
                         "; ".join(notes) if notes else None)


def _run_vintage(ledger: Ledger, snap: Snapshot, policy: ReservePolicy, history: History
                 ) -> MethodOutcome:
    name = "vintage"
    if not ledger.has("write_offs"):
        return MethodOutcome(name, False, note="no write_offs table: vintage loss rates cannot be "
                             "estimated")
    currencies = list(history.currencies)
    weights = snap.weights(currencies) if policy.pool == "portfolio" else None
    if len(currencies) == 1:
        weights = {currencies[0]: 1.0}
    keys = ["portfolio"] if weights is not None else currencies
    tables, curves, rate_of, used_of = {}, {}, {}, {}
    for key in keys:
        kw = {"weights": weights} if key == "portfolio" else {"currency": key}
        tables[key] = vintage_table(history, snap.as_of, **kw)
        curves[key] = lifetime_loss_curve(history, snap.as_of, **kw)
        rate_of[key], used_of[key] = vintage_loss_rate(tables[key], policy.vintage_min_age_months,
                                                       policy.vintage_count)
    if all(np.isnan(r) for r in rate_of.values()):
        return MethodOutcome(name, False, note=(
            f"no vintage at least {policy.vintage_min_age_months} months old on "
            f"{snap.as_of.date()}: no lifetime loss rate"))
    parts, without = [], []
    for cur, grp in snap.items.groupby("currency", sort=True):
        key = "portfolio" if "portfolio" in rate_of else cur
        r = rate_of.get(key, np.nan)
        if np.isnan(r):
            without.append(cur)
            continue
        parts.append(vintage_reserve(grp, history, snap.as_of, r))
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["currency", "vintage", "reserve_minor"])
    notes = [] if weights is not None or policy.pool == "currency" else \
        ["no fx rate for every currency: vintage loss rates estimated per currency"]
    if without:
        notes.append(f"no mature vintage in {', '.join(without)}: no vintage reserve for it")
    note = "; ".join(notes) or None
    return MethodOutcome(name, True, _pooled(table, snap.currencies), None,
                         {"vintages": tables, "curves": curves, "rates": rate_of, "used": used_of,
                          "table": table}, note)


def _run_model(ledger: Ledger, snap: Snapshot, policy: ReservePolicy, model) -> MethodOutcome:
    from ..risk import score_open_items

    name = "model"
    if model is None:
        return MethodOutcome(name, False, note="no payment-risk model file given")
    try:
        scores = score_open_items(ledger, model, snap.as_of)
    except ValueError as e:
        return MethodOutcome(name, False, note=f"the payment-risk model cannot score: {e}")
    table = expected_loss_model(scores, policy, snap.items[["invoice_id", "bucket", "pool_minor"]])
    note = (f"PD = p_late (paid more than {model.late_days} days late) x pd_per_late "
            f"{policy.pd_per_late} from the policy (a judgement, not a default estimate), LGD "
            f"{policy.lgd_pct}%")
    if to_date(model.trained_as_of) > snap.as_of:
        note += (f"; the model was trained as of {model.trained_as_of}, after "
                 f"{snap.as_of.date()}: it has seen outcomes not known on that date")
    return MethodOutcome(name, True, _pooled(table, snap.currencies), table,
                         {"scores": scores, "trained_as_of": model.trained_as_of,
                          "late_days": model.late_days}, note)


def run_methods(ledger: Ledger, snap: Snapshot, policy: ReservePolicy, history: History,
                model=None, methods=METHODS) -> dict[str, MethodOutcome]:
    """Every pooled method on the snapshot's pool (those that cannot run say why)."""
    out = {}
    for m in methods:
        if m == "provision_matrix":
            out[m] = _run_provision_matrix(snap, policy)
        elif m == "roll_rate":
            out[m] = _run_roll_rate(ledger, snap, policy, history)
        elif m == "vintage":
            out[m] = _run_vintage(ledger, snap, policy, history)
        elif m == "model":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[m] = _run_model(ledger, snap, policy, model)
    return out
