"""Activity metrics per collector and period, against the goals file's activity targets.

For each collector and currency (the currency of the accounts: every customer has one):

* **calls, e-mails, letters, promises obtained**: the collector's activities of that kind
  dated in the period (the activity's own ``collector``: who did the work), on accounts in
  that currency. Activities are the ledger's ``activities`` plus the state database's log
  (:func:`workbench.collections.activity_frame`); a timestamp's date is taken in UTC.
* **promise-kept rate**: kept / (kept + broken) of the collector's promises due in the
  period (promised date + grace), judged as of the period end by
  :func:`workbench.kpis.promise_outcomes` (the KPI's own rule).
* **accounts assigned**: customers whose collector, as of the period end, is this one
  (the point-in-time customer master, :func:`workbench.master.customers_as_of`; without
  ``customer_changes`` a past date's assignment is unknown and the notes say so);
  **accounts touched**: those with at least one activity of the collector in the period.
* **cash collected** on the collector's accounts: receipts dated in the period, in the
  receipt's currency, credited to the customer's collector **on the receipt date**
  (:func:`workbench.master.master_values`): an account that moved mid-period credits the
  cash before the move to the collector who had it then. Receipts of no known customer
  (unidentified cash) are nobody's.
* **past-due reduction**: past-due AR (more than 0 days past due) of the collector's
  accounts at the period start (the close of the day before) less at the period end;
  positive means it went down; in percent of the start. An account that changed collector
  during the period is split at each change: each collector is answerable for the change
  over the days they held it (the start of their stretch is the close of the day before the
  change), so the stretches add up to the account's change over the period.

Money is in integer minor units of the row's currency.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .collections import activities_known_by
from .goals import (
    ACTIVITY_GOALS,
    Goals,
    _object_frame,
    goal_status,
    judge,
    period_frequency,
)
from .kpis import KPIOptions, promise_outcomes
from .ledger import Ledger
from .master import customers_as_of, master_values
from .money import format_amount
from .periods import Period, parse_period

__all__ = ["activity_metrics", "activity_against_targets", "metrics_records",
           "METRIC_COLUMNS", "COUNT_KINDS"]

#: Activity kinds counted, by metric.
COUNT_KINDS = {"calls": "call", "emails": "email", "letters": "letter",
               "promises": "promise_to_pay"}

METRIC_COLUMNS = ["collector", "currency", "period", "calls", "emails", "letters", "promises",
                  "promises_kept", "promises_broken", "promise_kept_rate", "accounts_assigned",
                  "accounts_touched", "accounts_touched_pct", "cash_collected",
                  "past_due_start", "past_due_end", "past_due_reduction",
                  "past_due_reduction_pct"]
MONEY_COLUMNS = ("cash_collected", "past_due_start", "past_due_end", "past_due_reduction")
_COUNTS = ("calls", "emails", "letters", "promises", "promises_kept", "promises_broken",
           "accounts_assigned", "accounts_touched")


def _pct(num: int, den: int):
    return None if not den else round(num / den * 100.0, 4)


def _past_due(ledger: Ledger, as_of) -> pd.Series:
    """Past-due open balance per customer as of a date (minor units)."""
    items = ledger.open_items(as_of)
    if not len(items):
        return pd.Series(dtype="int64")
    due = items[items["days_past_due"].to_numpy() > 0]
    return due.groupby("customer_id")["open_minor"].sum().astype("int64")


def activity_metrics(ledger: Ledger, period: str | Period, activities: pd.DataFrame | None = None,
                     collector: str | None = None, options: KPIOptions = KPIOptions()
                     ) -> pd.DataFrame:
    """Each collector's activity metrics for a period, one row per (collector, currency).

    Parameters
    ----------
    ledger : Ledger
    period : str or Period
        ``2026Q3``, ``2026-09``, ... (:func:`workbench.periods.parse_period`).
    activities : DataFrame, optional
        The activity log (default: the ledger's; pass
        :func:`workbench.collections.activity_frame` to include the state database's).
    collector : str, optional
        Only this collector's rows.

    Returns
    -------
    DataFrame
        :data:`METRIC_COLUMNS`; ``attrs["notes"]`` says what could not be known.
    """
    p = period if isinstance(period, Period) else parse_period(period)
    acts = ledger.activities if activities is None else activities
    # only what the workbench knew by the end of the period (log rows by recorded_at)
    acts = activities_known_by(acts, p.end)
    cust = ledger.customers
    currency_of = pd.Series(cust["currency"].to_numpy(), index=cust["customer_id"].to_numpy())
    master, notes = customers_as_of(ledger, p.end, ("collector",))
    assigned = pd.Series(master["collector"].to_numpy(), index=master["customer_id"].to_numpy())
    assigned = assigned[assigned.notna()].astype(str)

    rows: dict[tuple, dict] = {}

    def row(who, cur) -> dict:
        key = (str(who), str(cur))
        if key not in rows:
            rows[key] = {"collector": key[0], "currency": key[1], "period": p.label,
                         **{c: 0 for c in _COUNTS}, "cash_collected": 0,
                         "past_due_start": 0, "past_due_end": 0}
        return rows[key]

    # accounts assigned at the period end; past due at the start and end of each stretch
    # an account was held by one collector (one stretch unless it moved in the period)
    for cid, who in assigned.items():
        row(who, currency_of.get(cid))["accounts_assigned"] += 1
    stretches = _stretches(ledger, p, assigned)
    snap = {d: _past_due(ledger, d) for d in sorted({d for s in stretches for d in s[2:]})}
    for cid, who, begin, end in stretches:
        r = row(who, currency_of.get(cid))
        r["past_due_start"] += int(snap[begin].get(cid, 0))
        r["past_due_end"] += int(snap[end].get(cid, 0))

    # activities of the period, by who did them
    if len(acts):
        ts = pd.to_datetime(acts["timestamp"], utc=True)
        day = ts.dt.tz_localize(None).dt.normalize()
        inside = acts[((day >= p.start) & (day <= p.end)).to_numpy()
                      & acts["collector"].notna().to_numpy()]
        inside = inside[inside["customer_id"].isin(currency_of.index)]
        for metric, kind in COUNT_KINDS.items():
            hits = inside[inside["kind"] == kind]
            for (who, cid), n in hits.groupby(["collector", "customer_id"]).size().items():
                row(who, currency_of[cid])[metric] += int(n)
        touched = inside[["collector", "customer_id"]].drop_duplicates()
        for who, cid in touched.itertuples(index=False, name=None):
            if assigned.get(cid) == who:
                row(who, currency_of[cid])["accounts_touched"] += 1

        # promises due in the period, kept or broken as of its end (the KPI's rule)
        outcomes = promise_outcomes(ledger, p.end, acts, options)
        if len(outcomes):
            by_id = pd.Series(acts["collector"].to_numpy(), index=acts["activity_id"].to_numpy())
            by_id = by_id[~by_id.index.duplicated()]
            due = pd.to_datetime(outcomes["promise_date"]) + \
                pd.Timedelta(days=options.promise_grace_days)
            sel = outcomes[((due >= p.start) & (due <= p.end)).to_numpy()]
            for rec in sel.to_dict("records"):
                who = by_id.get(rec["activity_id"])
                if who is None or pd.isna(who) or rec["customer_id"] not in currency_of.index:
                    continue
                r = row(who, currency_of[rec["customer_id"]])
                if rec["status"] == "kept":
                    r["promises_kept"] += 1
                elif rec["status"] == "broken":
                    r["promises_broken"] += 1

    # cash collected on the collector's accounts: by the collector on the receipt date
    cash, why = _cash_by_collector(ledger, p)
    notes += why
    for (who, cur), amount in cash.items():
        row(who, cur)["cash_collected"] += amount

    notes += moved_accounts_notes(ledger, p)
    out = []
    for key in sorted(rows):
        r = rows[key]
        if collector is not None and r["collector"] != collector:
            continue
        r["promise_kept_rate"] = _pct(r["promises_kept"], r["promises_kept"] + r["promises_broken"])
        r["accounts_touched_pct"] = _pct(r["accounts_touched"], r["accounts_assigned"])
        r["past_due_reduction"] = r["past_due_start"] - r["past_due_end"]
        r["past_due_reduction_pct"] = _pct(r["past_due_reduction"], r["past_due_start"])
        out.append(r)
    frame = _object_frame(out, METRIC_COLUMNS)
    frame.attrs.update({"period": p.label, "notes": list(dict.fromkeys(notes))})
    return frame


def _stretches(ledger: Ledger, p: Period, assigned: pd.Series) -> list[tuple]:
    """``(customer_id, collector, begin, end)``: who held each account over which part of
    the period, as closes of business (``begin`` the close before the stretch's first day).
    An account that did not move is one stretch with its period-end collector; a moved one
    is cut at each change (:func:`moved_accounts`), each stretch with the collector then."""
    before, last = p.start - pd.Timedelta(days=1), p.end
    moves: dict[str, list[dict]] = {}
    for m in moved_accounts(ledger, p):
        moves.setdefault(m["customer_id"], []).append(m)
    out = [(cid, who, before, last) for cid, who in assigned.items() if cid not in moves]
    for cid, ms in moves.items():
        cuts = [pd.Timestamp(m["date"]) - pd.Timedelta(days=1) for m in ms]
        holders = [ms[0]["from"]] + [m["to"] for m in ms]
        for who, begin, end in zip(holders, [before] + cuts, cuts + [last]):
            if who not in ("(unknown)", "(none)") and begin < end:
                out.append((cid, who, begin, end))
    return sorted(out, key=lambda s: (s[0], s[2]))


def _cash_by_collector(ledger: Ledger, p: Period) -> tuple[dict[tuple, int], list[str]]:
    """Receipts dated in the period per (collector on the receipt date, receipt currency),
    minor units; notes for cash whose collector is not known."""
    rec = ledger.receipts
    if not len(rec):
        return {}, []
    day = pd.to_datetime(rec["receipt_date"]).dt.normalize()
    sel = rec[((day >= p.start) & (day <= p.end)).to_numpy()
              & rec["customer_id"].isin(ledger.customers["customer_id"]).to_numpy()]
    if not len(sel):
        return {}, []
    who, known, notes = master_values(ledger, "collector", sel["customer_id"].to_numpy(),
                                      sel["receipt_date"].to_numpy())
    ok = known & pd.notna(who) & (pd.Series(who, dtype=object).astype(str) != "").to_numpy()
    frame = pd.DataFrame({"who": who[ok], "cur": sel["currency"].to_numpy()[ok],
                          "amt": sel["amount_minor"].to_numpy(dtype="int64")[ok]})
    if (~ok).any():
        notes.append(f"{int((~ok).sum())} receipt(s) in {p.label} on accounts with no "
                     f"collector known on the receipt date: not credited to anyone")
    sums = frame.groupby(["who", "cur"], sort=True)["amt"].sum()
    return {(str(w), str(c)): int(v) for (w, c), v in sums.items()}, notes


def moved_accounts(ledger: Ledger, p: Period) -> list[dict]:
    """Accounts whose collector changed during the period (a ``customer_changes`` row
    effective after its first day and by its last): ``customer_id, from, to, date``, by
    date then customer."""
    ch = ledger.tables.get("customer_changes")
    if ch is None or not len(ch) or "field" not in ch:
        return []
    every = ch[ch["field"] == "collector"]
    every = every.assign(_eff=pd.to_datetime(every["effective_date"]).dt.normalize())
    every = every.sort_values(["_eff", "customer_id"], kind="stable")
    inside = every[((every["_eff"] > p.start) & (every["_eff"] <= p.end)).to_numpy()]
    out = []
    for r in inside.to_dict("records"):
        day = pd.Timestamp(r["_eff"])
        prior = every[(every["customer_id"] == r["customer_id"]) & (every["_eff"] < day)]
        if len(prior):                   # the collector the change replaces
            old = prior["value"].iloc[-1]
        else:
            before, _ = customers_as_of(ledger, day - pd.Timedelta(days=1), ("collector",))
            old = before.set_index("customer_id")["collector"].get(r["customer_id"])
        old = old if isinstance(old, str) and old else "(unknown)"
        new = r["value"] if isinstance(r["value"], str) and r["value"] else "(none)"
        if old != new:
            out.append({"customer_id": r["customer_id"], "from": old, "to": new,
                        "date": str(day.date())})
    return out


def moved_accounts_notes(ledger: Ledger, p: Period) -> list[str]:
    moved = moved_accounts(ledger, p)
    if not moved:
        return []
    listed = "; ".join(f"{m['customer_id']} {m['from']} -> {m['to']} on {m['date']}"
                       for m in moved)
    return [f"{len(moved)} account(s) changed collector during {p.label}: {listed}. Each "
            f"collector is credited with the cash received and the past-due change while "
            f"they held the account; it counts as assigned to the collector at the period "
            f"end (activities stay with whoever did them)"]


def _collector_total(rows: list[dict]) -> dict:
    """A collector's counts over its currencies, rates recomputed (no money)."""
    tot = {c: sum(int(r[c]) for r in rows) for c in _COUNTS}
    tot["promise_kept_rate"] = _pct(tot["promises_kept"], tot["promises_kept"] + tot["promises_broken"])
    tot["accounts_touched_pct"] = _pct(tot["accounts_touched"], tot["accounts_assigned"])
    return tot


_PER_CURRENCY = ("cash_collected", "past_due_reduction_pct")


def activity_against_targets(metrics: pd.DataFrame, goals: Goals, ledger: Ledger | None = None
                             ) -> pd.DataFrame:
    """Each collector's activity metrics against the goals file's activity targets.

    Counts and the kept and touched rates are judged on the collector's total over its
    currencies (``currency`` ``"all"``); cash collected and the past-due reduction, per
    currency. Returns ``collector, currency, period, goal, goal_name, unit, direction,
    actual, target, variance, variance_pct, status``.
    """
    label = metrics.attrs.get("period") or (metrics["period"].iloc[0] if len(metrics) else None)
    if label is None:
        return _object_frame([], ["collector", "currency", "period", "goal"])
    p = parse_period(label)
    freq = period_frequency(p)
    out, notes = [], []
    for who, grp in metrics.groupby("collector", sort=True):
        targets = goals.activity_targets(who, freq)
        if not targets:
            continue
        rows = grp.to_dict("records")
        whole = {k: v for k, v in targets.items() if k not in _PER_CURRENCY}
        got, _ = judge(_collector_total(rows), whole, ACTIVITY_GOALS, goals.band, "")
        out += [{"collector": who, "currency": "all", "period": label, **g} for g in got]
        per = {k: v for k, v in targets.items() if k in _PER_CURRENCY}
        for r in rows:
            got, why = judge(r, per, ACTIVITY_GOALS, goals.band, r["currency"], ledger, p.end)
            notes += [f"{who}: {w}" for w in why]
            out += [{"collector": who, "currency": r["currency"], "period": label, **g}
                    for g in got]
    cols = ["collector", "currency", "period", "goal", "goal_name", "unit", "direction",
            "actual", "target", "variance", "variance_pct", "status"]
    frame = _object_frame(out, cols)
    frame.attrs.update({"goals": goals.label, "frequency": freq, "notes": notes})
    return frame


def metrics_records(metrics: pd.DataFrame) -> list[dict]:
    """JSON-ready metric rows: money as exact decimal text."""
    out = []
    for r in metrics.to_dict("records"):
        rec = {}
        for k, v in r.items():
            if k in MONEY_COLUMNS:
                rec[k] = format_amount(int(v), r["currency"])
            elif isinstance(v, np.integer):
                rec[k] = int(v)
            elif isinstance(v, float) and v != v:
                rec[k] = None
            else:
                rec[k] = v
        out.append(rec)
    return out


def metrics_display(metrics: pd.DataFrame) -> pd.DataFrame:
    """The metrics for people: business names, amounts with separators, no index needed."""
    names = {"collector": "Collector", "currency": "Currency", "calls": "Calls",
             "emails": "E-mails", "letters": "Letters", "promises": "Promises",
             "promise_kept_rate": "Kept rate %", "accounts_touched": "Touched",
             "accounts_assigned": "Assigned", "cash_collected": "Cash collected",
             "past_due_start": "Past due at start", "past_due_end": "Past due at end",
             "past_due_reduction_pct": "Past-due reduction %"}
    shown = metrics.copy()
    for c in ("cash_collected", "past_due_start", "past_due_end"):
        shown[c] = [format_amount(int(v), cur, thousands=True)
                    for v, cur in zip(shown[c], shown["currency"])]
    for c in ("promise_kept_rate", "past_due_reduction_pct"):
        shown[c] = ["n/a" if v is None else f"{float(v):.1f}" for v in shown[c]]
    return shown[list(names)].rename(columns=names)


# the status function is part of this module's vocabulary too
__all__ += ["goal_status", "metrics_display"]
