"""Suspension and small-balance write-off proposals, each with its evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..kpis import promise_outcomes
from ..ledger import Ledger
from ..master import customers_as_of
from ..money import format_amount
from .policy import CollectionsPolicy, load_collections_policy


def _master_on(ledger: Ledger, D: pd.Timestamp, fields: tuple[str, ...], without_history: str
               ) -> tuple[pd.DataFrame, list[str]]:
    """The customer master's ``fields`` in force on D, indexed by customer, with
    ``_unknown_<field>`` (True where the value on D cannot be known), and the notes."""
    from ..master import master_values

    cust = ledger.customers
    master, notes = customers_as_of(ledger, D, fields, without_history)
    master = master.set_index("customer_id")
    for f in fields:
        _, known, _ = master_values(ledger, f, np.arange(len(cust)), D, without_history)
        master[f"_unknown_{f}"] = ~known & master[f].isna().to_numpy() & \
            (cust[f].notna().to_numpy() if f in cust else np.zeros(len(cust), bool))
    return master, notes


def suspension_proposals(ledger: Ledger, as_of, policy: CollectionsPolicy | None = None,
                         activities: pd.DataFrame | None = None,
                         without_history: str = "strict",
                         outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accounts the policy says to suspend, with the evidence.

    A recommendation when (oldest past-due invoice >= ``min_days_past_due`` and past-due
    amount >= ``min_amount_past_due``) or when the account broke at least
    ``broken_promises`` promises due within ``broken_promise_lookback_days``. Accounts
    already suspended or closed **on** ``as_of`` are not proposed again: the status is the
    one in force that day (:mod:`workbench.master`), so an account suspended later is
    proposed at an earlier date. Where the status on ``as_of`` cannot be known (a past date
    without a ``customer_changes`` table and ``without_history="strict"``) the account is
    judged on its evidence and ``attrs["notes"]`` says so. ``outcomes``: the promise outcomes
    of this date and log when the caller has them (:func:`worklist` does).
    """
    policy = policy or load_collections_policy()
    D = ledger.require_data_by(as_of)
    policy = policy.for_ledger(ledger, D)
    acts = ledger.activities if activities is None else activities
    items = ledger.open_items(D, customer_columns=("name",))
    cols = ["customer_id", "customer_name", "currency", "past_due_ar", "oldest_days_past_due",
            "broken_promises", "rules", "evidence", "status", "policy"]
    master, notes = _master_on(ledger, D, ("status",), without_history)
    if not len(items):
        out = pd.DataFrame(columns=cols)
        out.attrs["notes"] = notes
        return out
    past = items[items["days_past_due"] > 0]
    g = past.groupby(["customer_id", "currency"])
    acc = pd.DataFrame({"past_due_ar": g["open_minor"].sum(),
                        "oldest_days_past_due": g["days_past_due"].max(),
                        "past_due_invoices": g.size()}).reset_index()
    if outcomes is None:
        outcomes = promise_outcomes(ledger, D, acts, policy.kpi_options())
    lookback = D - pd.Timedelta(days=policy.suspension_lookback_days)
    broken = outcomes[(outcomes["status"] == "broken") & (outcomes["promise_date"] >= lookback)]
    # accounts with broken promises but nothing past due are still considered
    extra = set(broken["customer_id"]) - set(acc["customer_id"])
    if extra:
        cust_cur = ledger.customers.set_index("customer_id")["currency"]
        acc = pd.concat([acc, pd.DataFrame({"customer_id": sorted(extra),
                                            "currency": [cust_cur[c] for c in sorted(extra)],
                                            "past_due_ar": 0, "oldest_days_past_due": 0,
                                            "past_due_invoices": 0})], ignore_index=True)
    cust = ledger.customers.set_index("customer_id")
    # the status in force on D (an account suspended later is still open to a proposal then)
    status = master["status"] if "status" in cust else pd.Series("active", index=cust.index)
    unknown_status = set(master.index[master["_unknown_status"]]) if "status" in cust else set()
    broken_of: dict[str, list] = {}        # customer -> [(activity, promise date)], in order
    for c, a, d in zip(broken["customer_id"], broken["activity_id"], broken["promise_date"]):
        broken_of.setdefault(c, []).append((a, d))
    rows = []
    for r in acc.itertuples(index=False):
        if status.get(r.customer_id) in ("suspended", "closed"):
            continue
        threshold = policy.suspension_min_amount.minor(r.currency)
        rules, evidence = [], []
        if r.oldest_days_past_due >= policy.suspension_min_days and r.past_due_ar >= threshold:
            rules.append("days and amount past due")
            evidence.append(f"oldest invoice {int(r.oldest_days_past_due)} days past due (policy "
                            f">= {policy.suspension_min_days}); "
                            f"{format_amount(int(r.past_due_ar), r.currency, thousands=True)} "
                            f"{r.currency} past due in {int(r.past_due_invoices)} invoice(s) (policy >= "
                            f"{format_amount(threshold, r.currency, thousands=True)})")
        b = broken_of.get(r.customer_id, [])
        if len(b) >= policy.suspension_broken_promises:
            rules.append("broken promises")
            evidence.append(f"{len(b)} broken promises in {policy.suspension_lookback_days} days "
                            f"(policy >= {policy.suspension_broken_promises}): " + ", ".join(
                                f"{a} due {d.date()}" for a, d in b))
        if rules:
            rows.append({"customer_id": r.customer_id, "customer_name": cust["name"].get(r.customer_id),
                         "currency": r.currency, "past_due_ar": int(r.past_due_ar),
                         "oldest_days_past_due": int(r.oldest_days_past_due),
                         "broken_promises": len(b), "rules": " + ".join(rules),
                         "evidence": "; ".join(evidence), "status": "recommended",
                         "policy": policy.label})
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["past_due_ar", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    unsure = sorted(set(out["customer_id"]) & unknown_status)
    if unsure:
        notes.append(f"{len(unsure)} proposed account(s) have no known status on {D.date()} "
                     f"(no history of the customer master): proposed on the evidence; check "
                     f"they were not already suspended or closed then")
    out.attrs["notes"] = notes
    return out


def write_off_proposals(ledger: Ledger, as_of, policy: CollectionsPolicy | None = None
                        ) -> pd.DataFrame:
    """Small remaining balances the policy proposes to write off, each awaiting approval.

    An open invoice qualifies when its open balance is at or under ``max_balance`` (in
    its currency), it is at least ``min_days_past_due`` past due, and (by default) no
    dispute on it is open. Nothing is written off here: each row is a proposal for the
    ``approval`` role.
    """
    policy = policy or load_collections_policy()
    D = ledger.require_data_by(as_of)
    policy = policy.for_ledger(ledger, D)
    items = ledger.open_items(D, customer_columns=("name",))    # no master data that changes
    cols = ["invoice_id", "customer_id", "customer_name", "currency", "open_balance",
            "days_past_due", "last_payment", "evidence", "approval", "status", "policy"]
    if not len(items):
        return pd.DataFrame(columns=cols)
    limit = items["currency"].map(lambda c: policy.write_off_max_balance.minor(c))
    sel = (items["open_minor"] <= limit) & (items["days_past_due"] >= policy.write_off_min_days)
    if policy.write_off_no_open_dispute:
        sel &= ~items["in_dispute"]
    cand = items[sel]
    apps = ledger.applications
    last_pay = apps[apps["applied_date"] <= D].groupby("invoice_id")["applied_date"].max()
    rows = []
    for r in cand.itertuples(index=False):
        lp = last_pay.get(r.invoice_id)
        amount = format_amount(int(r.open_minor), r.currency)
        rows.append({
            "invoice_id": r.invoice_id, "customer_id": r.customer_id,
            "customer_name": getattr(r, "customer_name", None), "currency": r.currency,
            "open_balance": int(r.open_minor), "days_past_due": int(r.days_past_due),
            "last_payment": None if lp is None else str(lp.date()),
            "evidence": (f"open {amount} {r.currency} of {format_amount(int(r.amount_minor), r.currency)} "
                         f"(policy <= {format_amount(policy.write_off_max_balance.minor(r.currency), r.currency)}); "
                         f"{int(r.days_past_due)} days past due (policy >= {policy.write_off_min_days}); "
                         f"no open dispute; last payment "
                         f"{'none' if lp is None else lp.date()}"),
            "approval": policy.write_off_approval, "status": "awaiting approval",
            "policy": policy.label})
    return pd.DataFrame(rows, columns=cols)
