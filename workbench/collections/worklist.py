"""The prioritized worklist: accounts ranked by what a collector should do first, each
with why and what next."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..kpis import promise_outcomes
from ..ledger import Ledger
from ..money import format_amount
from .policy import (
    CONTACT_KINDS,
    CollectionsPolicy,
    DunningStage,
    load_collections_policy,
)
from .proposals import _master_on, suspension_proposals, write_off_proposals


def dunning_stage(policy: CollectionsPolicy, days_past_due: int) -> str | None:
    """The stage an account is in when its oldest open invoice is this many days past due."""
    s = policy.stage_for(days_past_due)
    return s.stage if s else None


def _history_risk(ledger: Ledger, D: pd.Timestamp, policy: CollectionsPolicy) -> pd.DataFrame:
    """Share of a customer's invoices, due in the last ``history_months`` before D, that
    were (or still are) paid more than ``late_days`` late, as known on D."""
    st = ledger.settlement(D)
    start = D - pd.DateOffset(months=policy.history_months)
    st = st[((st["due_date"] > start) & (st["due_date"] <= D)).to_numpy()]
    # settled: its days late (the ledger's one definition); still open: days past due on D
    late = np.where(st["settled"], st["days_late"], (D - st["due_date"]).dt.days) > policy.late_days
    frame = pd.DataFrame({"customer_id": st["customer_id"].to_numpy(), "late": late})
    g = frame.groupby("customer_id")["late"]
    return pd.DataFrame({"history_invoices": g.size(), "history_late_share": g.mean()})


def _lookup(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """``keys.map(values)`` that also works when ``values`` is empty (any dtype)."""
    if values.index.has_duplicates:
        values = values[~values.index.duplicated()]
    return values.reindex(keys.to_numpy()).to_numpy()


def _last_contact(acts: pd.DataFrame, D: pd.Timestamp) -> pd.Series:
    if not len(acts):
        return pd.Series(dtype="datetime64[ns]")
    day = acts["timestamp"].dt.tz_convert(None).dt.normalize()   # the day of the contact:
    sel = acts["kind"].isin(CONTACT_KINDS).to_numpy() & (day <= D).to_numpy()  # 0 days on D
    return day[sel].groupby(acts.loc[sel, "customer_id"].to_numpy()).max()


def worklist(ledger: Ledger, as_of, policy: CollectionsPolicy | None = None,
             activities: pd.DataFrame | None = None, risk_scores: pd.Series | None = None,
             collector: str | None = None, report_currency: str | None = None,
             without_history: str = "strict", disputes: pd.DataFrame | None = None
             ) -> pd.DataFrame:
    """Accounts ranked by what a collector should do first, each with why and what next.

    Parameters
    ----------
    ledger : Ledger
    as_of : str or date
    policy : CollectionsPolicy, optional
        Default: the shipped policy.
    activities : DataFrame, optional
        The activity log (default: the ledger's; see :func:`activity_frame`).
    risk_scores : Series, optional
        customer_id -> probability of paying late (a payment-risk model). Without it the
        risk is history-based: the share of the customer's invoices due in the last
        ``history_months`` paid more than ``late_days`` late.
    collector : str, optional
        Only this collector's accounts.
    report_currency : str, optional
        Currency the exposures are ranked in (default the ledger's reporting currency;
        an account without a rate is ranked on its own amount and says so).
    without_history : {"strict", "assume_unchanged"}
        The account's collector and status are those in force on ``as_of``
        (:mod:`workbench.master`); on a past date without a ``customer_changes`` table they
        are unknown (``strict``) or taken from today's master (``assume_unchanged``).
    disputes : DataFrame, optional
        The disputes open on ``as_of`` (``dispute_id, invoice_id, opened_date``): the rows
        of :func:`workbench.disputes.dispute_states` that are open, so disputes opened in
        the workbench count too; default the ledger's (:meth:`Ledger.open_disputes`).

    Returns
    -------
    DataFrame
        One row per (customer, currency) with open items, ranked: ``rank, customer_id,
        customer_name, collector, currency, open_ar, past_due_ar, oldest_days_past_due,
        stage, next_action, tier, risk, risk_source, broken_promises, promise_due_today,
        open_disputes, days_since_contact, priority, reasons``. Amounts in minor units.
        ``attrs["notes"]`` says what of the customer master could not be known on ``as_of``.

    Notes
    -----
    priority = past-due exposure (report currency) * (0.25 + 0.75 * risk)
               * 1.5 ** min(broken promises, 3) * 1.5 if a promise is due today
               * 1.25 if a dispute awaits action * 1.2 if no contact for
               ``contact_gap_days`` * 1.2 from the final stage on.
    Accounts with nothing past due are ranked after, by what falls due within 5 days
    (pre-due reminders).
    """
    policy = policy or load_collections_policy()
    D = ledger.require_data_by(as_of)
    policy = policy.for_ledger(ledger, D)
    acts = ledger.activities if activities is None else activities
    report_currency = report_currency or ledger.report_currency
    items = ledger.open_items(D, without_history=without_history)   # collector on D
    master, notes = _master_on(ledger, D, ("status", "collector"), without_history)
    if collector is not None:
        unknown = items["customer_id"].isin(master.index[master["_unknown_collector"]])
        if unknown.any():
            notes.append(f"{items.loc[unknown, 'customer_id'].nunique()} account(s) with open "
                         f"items have no known collector on {D.date()}: not in "
                         f"{collector}'s worklist")
        items = items[items["collector"] == collector] if "collector" in items else items.iloc[:0]
    if not len(items):
        out = pd.DataFrame(columns=["rank", "customer_id", "customer_name", "currency",
                                    "priority", "reasons", "next_action"])
        out.attrs["notes"] = notes
        return out
    items = items.assign(past_due=np.where(items["days_past_due"] > 0, items["open_minor"], 0),
                         due_soon=np.where((items["days_past_due"] <= 0)
                                           & (items["days_past_due"] >= -5), items["open_minor"], 0))
    g = items.groupby(["customer_id", "currency"], sort=True)
    acc = pd.DataFrame({
        "open_ar": g["open_minor"].sum(), "past_due_ar": g["past_due"].sum(),
        "due_soon": g["due_soon"].sum(), "open_invoices": g.size(),
        "oldest_days_past_due": g["days_past_due"].max(),
    }).reset_index()
    cust = ledger.customers.set_index("customer_id")
    acc["customer_name"] = acc["customer_id"].map(cust["name"])
    # collector and status as they stood on D, never today's (workbench.master)
    acc["collector"] = acc["customer_id"].map(master["collector"]) if "collector" in cust else None
    acc["status"] = acc["customer_id"].map(master["status"]) if "status" in cust else "active"
    # risk ----------------------------------------------------------------------------
    if risk_scores is not None:
        acc["risk"] = acc["customer_id"].map(risk_scores).astype(float)
        acc["risk_source"] = np.where(acc["risk"].notna(), "payment-risk model", "no score: 0.25")
        acc["history_invoices"] = np.nan
    else:
        hist = _history_risk(ledger, D, policy)
        acc["history_invoices"] = acc["customer_id"].map(hist["history_invoices"])
        acc["risk"] = acc["customer_id"].map(hist["history_late_share"]).astype(float)
        acc["risk_source"] = np.where(
            acc["risk"].notna(),
            [f"history: {r:.0%} of {int(n)} invoices > {policy.late_days} days late"
             for r, n in zip(acc["risk"].fillna(0), acc["history_invoices"].fillna(0))],
            "no history: 0.25")
    acc["risk"] = acc["risk"].fillna(0.25).clip(0, 1)
    # promises, disputes, contacts -------------------------------------------------------
    outcomes = promise_outcomes(ledger, D, acts, policy.kpi_options())
    lookback = D - pd.Timedelta(days=policy.suspension_lookback_days)
    broken = outcomes[(outcomes["status"] == "broken") & (outcomes["promise_date"] >= lookback)]
    acc["broken_promises"] = acc["customer_id"].map(broken.groupby("customer_id").size()
                                                    ).fillna(0).astype(int)
    last_broken = broken.groupby("customer_id")["promise_date"].max()
    today = outcomes[(outcomes["status"] == "pending") & (outcomes["promise_date"] == D)]
    acc["promise_due_today"] = acc["customer_id"].map(
        today.groupby("customer_id")["promise_amount_minor"].sum()).fillna(0).astype(np.int64)
    pending = outcomes[(outcomes["status"] == "pending") & (outcomes["promise_date"] > D)]
    acc["pending_promise"] = _lookup(acc["customer_id"],
                                     pending.groupby("customer_id")["promise_date"].min())
    last_contact = _last_contact(acts, D)
    acc["last_contact"] = pd.to_datetime(_lookup(acc["customer_id"], last_contact))
    acc["days_since_contact"] = (D - acc["last_contact"]).dt.days
    disputes = ledger.open_disputes(D) if disputes is None else disputes
    if len(disputes):
        d = disputes.loc[disputes["invoice_id"].notna(), ["dispute_id", "invoice_id",
                                                          "opened_date"]]
        d = d.merge(ledger.invoices[["invoice_id", "customer_id"]], on="invoice_id")
        d["age"] = (D - d["opened_date"]).dt.days
        d["contact_since"] = pd.Series(_lookup(d["customer_id"], last_contact),
                                       index=d.index) >= d["opened_date"]
        awaiting = d[(d["age"] >= policy.dispute_action_days) & ~d["contact_since"].fillna(False)]
        acc["open_disputes"] = acc["customer_id"].map(d.groupby("customer_id").size()).fillna(0).astype(int)
        acc["disputes_awaiting"] = acc["customer_id"].map(awaiting.groupby("customer_id").size()
                                                          ).fillna(0).astype(int)
        oldest = awaiting.sort_values("age").groupby("customer_id").last()
        acc["dispute_note"] = acc["customer_id"].map(
            oldest["dispute_id"] + " open " + oldest["age"].astype(str) + " days")
    else:
        acc["open_disputes"] = 0
        acc["disputes_awaiting"] = 0
        acc["dispute_note"] = None
    # stage and the action it calls for -----------------------------------------------
    stage_objs = [policy.stage_for(int(d)) for d in acc["oldest_days_past_due"]]
    acc["stage"] = [s.stage if s else None for s in stage_objs]
    done = _stage_done(acc, stage_objs, acts, D)
    acc["tier"] = [policy.tier_for(int(pd_), cur) for pd_, cur in zip(acc["past_due_ar"], acc["currency"])]
    # exposure in the report currency ---------------------------------------------------
    exposure, unconverted = [], []
    from ..money import convert, minor_units
    for amount, cur in zip(acc["past_due_ar"], acc["currency"]):
        try:
            rate = ledger.fx_rate(cur, D, report_currency)
            value = convert(int(amount), cur, rate, report_currency) / 10 ** minor_units(report_currency)
            unconverted.append(False)
        except ValueError:
            value = int(amount) / 10 ** minor_units(cur)
            unconverted.append(True)
        exposure.append(value)
    acc["exposure"] = exposure
    # priority and reasons --------------------------------------------------------------
    priorities, reasons, actions = [], [], []
    suspended = set(suspension_proposals(ledger, D, policy, acts, without_history,
                                         outcomes=outcomes)["customer_id"])
    small = write_off_proposals(ledger, D, policy)
    small = set(small["customer_id"]) if len(small) else set()
    for i, row in enumerate(acc.itertuples(index=False)):
        why, factor = [], 1.0
        cur = row.currency
        if row.past_due_ar > 0:
            base = row.exposure * (0.25 + 0.75 * row.risk)
            why.append(f"{format_amount(int(row.past_due_ar), cur, thousands=True)} {cur} past due "
                       f"(oldest {int(row.oldest_days_past_due)} days)"
                       + (" [no fx rate: unconverted]" if unconverted[i] else "")
                       + f" x risk weight {0.25 + 0.75 * row.risk:.2f} ({row.risk_source})")
        else:
            base = 0.0
            why.append(f"nothing past due; {format_amount(int(row.due_soon), cur, thousands=True)} "
                       f"{cur} falls due within 5 days" if row.due_soon else "nothing past due")
        if row.broken_promises:
            f = 1.5 ** min(int(row.broken_promises), 3)
            factor *= f
            why.append(f"{row.broken_promises} broken promise(s), last due "
                       f"{last_broken[row.customer_id].date()} x{f:.2f}")
        if row.promise_due_today:
            factor *= 1.5
            why.append(f"promise of {format_amount(int(row.promise_due_today), cur, thousands=True)} "
                       f"{cur} due today x1.5")
        if row.disputes_awaiting:
            factor *= 1.25
            why.append(f"dispute awaiting action ({row.dispute_note}) x1.25")
        gap = row.days_since_contact
        if row.past_due_ar > 0 and (pd.isna(gap) or gap >= policy.contact_gap_days):
            factor *= 1.2
            why.append(("never contacted" if pd.isna(gap) else f"no contact for {int(gap)} days")
                       + " x1.2")
        if row.stage in ("final", "escalate_to_sales", "suspension"):
            factor *= 1.2
            why.append(f"stage {row.stage} x1.2")
        if isinstance(row.pending_promise, pd.Timestamp) and not pd.isna(row.pending_promise):
            why.append(f"promise pending until {row.pending_promise.date()}")
        priority = base * factor if base else row.due_soon / 10 ** 6 * 1e-3
        priorities.append(priority)
        reasons.append("; ".join(why))
        actions.append(_next_action(row, stage_objs[i], done[i], policy,
                                    row.customer_id in suspended, row.customer_id in small))
    acc["priority"] = np.round(priorities, 4)
    acc["reasons"] = reasons
    acc["next_action"] = actions
    acc["_unconverted"] = unconverted
    missing = sorted(set(acc.loc[acc["_unconverted"], "currency"]))
    if missing:
        # amounts in different currencies are not comparable without a rate: rank within
        # each currency (the report currency first) and say so
        acc["_group"] = np.where(acc["currency"] == report_currency, "", acc["currency"])
        acc = acc.sort_values(["_group", "priority", "past_due_ar", "customer_id"],
                              ascending=[True, False, False, True], kind="stable")
    else:
        acc = acc.sort_values(["priority", "past_due_ar", "customer_id"],
                              ascending=[False, False, True], kind="stable")
    acc = acc.reset_index(drop=True)
    acc.insert(0, "rank", np.arange(1, len(acc) + 1))
    cols = ["rank", "customer_id", "customer_name", "collector", "currency", "open_ar",
            "past_due_ar", "oldest_days_past_due", "open_invoices", "stage", "next_action", "tier",
            "risk", "risk_source", "broken_promises", "promise_due_today", "open_disputes",
            "disputes_awaiting", "days_since_contact", "pending_promise", "status", "priority",
            "reasons"]
    out = acc[cols]
    out.attrs.update({"as_of": str(D.date()), "policy": policy.label,
                      "report_currency": report_currency, "notes": notes,
                      "ranking": (f"within each currency (no fx_rates to {report_currency} for "
                                  f"{', '.join(missing)})" if missing
                                  else f"across currencies in {report_currency}")})
    return out


def _stage_done(acc: pd.DataFrame, stages, acts: pd.DataFrame, D: pd.Timestamp) -> list[bool]:
    """Was the current stage's action logged since the account entered the stage?"""
    kind_of = {"email": ("email",), "call": ("call", "promise_to_pay"), "letter": ("letter",),
               "escalation": ("escalation",), "suspension": ("suspension",)}
    want = [(i, row.customer_id, kind,
             D - pd.Timedelta(days=int(row.oldest_days_past_due) - stage.from_days))
            for i, (row, stage) in enumerate(zip(acc.itertuples(index=False), stages))
            if stage is not None for kind in kind_of[stage.action]]
    done = np.zeros(len(acc), dtype=bool)
    if not want or not len(acts):
        return done.tolist()
    want = pd.DataFrame(want, columns=["row", "customer_id", "kind", "entered"])
    day = acts["timestamp"].dt.tz_convert(None).dt.normalize()
    logged = pd.DataFrame({"customer_id": acts["customer_id"].to_numpy(),
                           "kind": acts["kind"].to_numpy(), "day": day.to_numpy()})
    logged = logged[(logged["day"] <= D) & logged["kind"].isin(set(want["kind"]))]
    hit = want.merge(logged, on=["customer_id", "kind"])
    done[hit.loc[hit["day"] >= hit["entered"], "row"].unique()] = True
    return done.tolist()


def _next_action(row, stage: DunningStage | None, done: bool, policy: CollectionsPolicy,
                 suspend: bool, small_balance: bool = False) -> str:
    if suspend and row.status not in ("suspended", "closed"):
        return "recommend suspension (see suspension proposals)"
    if row.promise_due_today:
        return "check today's promised payment; call if it has not arrived"
    if row.broken_promises:
        return "call: promise broken; ask for a new date and amount, escalate if it breaks again"
    if row.disputes_awaiting:
        return f"work the dispute ({row.dispute_note}) with sales/billing"
    if stage is None:
        return "no action: not yet in a dunning stage"
    if isinstance(row.pending_promise, pd.Timestamp) and not pd.isna(row.pending_promise):
        return f"wait: promise to pay by {row.pending_promise.date()}"
    if stage.action == "suspension" and not suspend:
        # the suspension stage by age, but no suspension proposal: never advise suspending
        # an account the policy would not suspend; say which of its rules is not met
        if row.status in ("suspended", "closed"):
            return (f"account already {row.status}: escalate to sales for what is still owed "
                    f"(stage {stage.stage})")
        if small_balance:
            return ("propose the small-balance write-off (see write-off proposals); "
                    "below the suspension rule")
        least = format_amount(policy.suspension_min_amount.minor(row.currency), row.currency,
                              thousands=True)
        if row.oldest_days_past_due < policy.suspension_min_days:
            short = (f"oldest {int(row.oldest_days_past_due)} days past due, under "
                     f"{policy.suspension_min_days}")
        else:
            short = (f"past due {format_amount(int(row.past_due_ar), row.currency, thousands=True)}"
                     f" {row.currency}, under {least}")
        return (f"escalate to sales: stage {stage.stage} by age, but no suspension ({short}; "
                f"{int(row.broken_promises)} broken promise(s), under "
                f"{policy.suspension_broken_promises})")
    if not done:
        what = stage.template or stage.stage
        return {"email": f"send the {what} email",
                "call": f"call: {what} reminder",
                "letter": f"send the {what} letter",
                "escalation": "escalate to sales",
                "suspension": "suspend the account"}[stage.action] + f" (stage {stage.stage})"
    nxt = [s for s in policy.stages if s.from_days > stage.from_days]
    if nxt:
        days_left = nxt[0].from_days - int(row.oldest_days_past_due)
        return f"follow up; {stage.stage} done, next stage {nxt[0].stage} in {days_left} days"
    return f"follow up; {stage.stage} done"


