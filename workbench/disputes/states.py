"""A dispute as of a date: the ledger's row, disputes logged in the app and the events
recorded by the end of that day (corrections known by then)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from ..collections.log import activities_known_by
from ..ledger import Ledger, to_date
from ..money import MoneyError, parse_amount
from .policy import DisputePolicy, load_dispute_policy, status_label


def _event_rows(events) -> list[dict]:
    """Every ``dispute_events`` row, superseded ones included (an as-of view decides which
    corrections it knows of: :func:`_events_as_of`)."""
    if events is None:
        return []
    if hasattr(events, "rows"):
        return [dict(r) for r in events.rows("dispute_events", include_superseded=True)]
    if hasattr(events, "current"):
        return events.current("dispute_events")
    return [dict(r) for r in events]


def _recorded_day(r: dict) -> pd.Timestamp:
    """The (UTC) day an event was recorded."""
    return to_date(pd.Timestamp(str(r["recorded_at"])))


def _row_id(r: dict) -> int:
    return int(r.get("id") or 0)


def _events_as_of(rows: list[dict], D) -> list[dict]:
    """The events known by the end of day ``D`` (UTC; ``None``: all): the rows recorded by
    then, less those superseded by a row also recorded by then; in recorded order. The
    same whether the rows come from a StateDB or a plain list."""
    rows = sorted(rows, key=_row_id)
    if D is not None:
        rows = [r for r in rows if _recorded_day(r) <= D]
    gone = set()
    for r in rows:
        sup = r.get("supersedes")
        if sup is not None and not (isinstance(sup, float) and np.isnan(sup)):
            gone.add(int(sup))
    return [r for r in rows if _row_id(r) not in gone]


_LOGGED = re.compile(r"^disputed ([0-9][0-9,]*(?:\.[0-9]+)?) ([A-Z]{3}): ?(.*)$", re.S)


def _logged_disputes(ledger: Ledger, activities: pd.DataFrame | None, D) -> list[dict]:
    """Disputes raised in the app (activities of kind dispute recorded in the state
    database): ``disputed 1,234.50 USD: reason`` in the note gives the amount."""
    if activities is None or not len(activities) or "source" not in activities:
        return []
    acts = activities[(activities["kind"] == "dispute") & (activities["source"] == "state")]
    acts = activities_known_by(acts, D)
    inv = ledger.invoices.set_index("invoice_id")
    out = []
    for r in acts.to_dict("records"):
        day = to_date(r["timestamp"])
        if D is not None and day > D:
            continue
        note = r.get("note") if isinstance(r.get("note"), str) else ""
        m = _LOGGED.match(note or "")
        iid = r.get("invoice_id") if r.get("invoice_id") in inv.index else None
        cur = inv.at[iid, "currency"] if iid else r.get("currency")
        cur = cur if isinstance(cur, str) else None
        aid = r["activity_id"]
        amount, problem = None, None
        if not m:
            problem = "no 'disputed <amount> <currency>' in its note"
        elif not cur:
            problem = "no invoice or currency to read the amount in"
        elif m.group(2) != cur:
            problem = f"the note's currency {m.group(2)} is not the invoice's {cur}"
        else:
            try:
                amount = parse_amount(m.group(1).replace(",", ""), cur)
            except MoneyError as e:
                problem = f"amount {m.group(1)} {m.group(2)}: {e}"
        notes = [m.group(3)] if m and m.group(3) else ([note] if note and not m else [])
        if problem:
            notes.append(f"amount unknown: activity {aid}: {problem}")
        out.append({"dispute_id": f"LOG-{aid}", "customer_id": r["customer_id"],
                    "invoice_id": iid, "currency": cur, "amount_minor": int(amount or 0),
                    "amount_known": amount is not None,
                    "reason_code": "logged", "opened_date": day, "closed_date": pd.NaT,
                    "status": "open", "source": "activity log", "notes": notes})
    return out


AS_OF = "as_of"      # known_by's default: the events recorded by the end of the as-of day


def dispute_states(ledger: Ledger, as_of=None, events=None, activities: pd.DataFrame | None = None,
                   policy: DisputePolicy | None = None, today=None, known_by=AS_OF
                   ) -> pd.DataFrame:
    """Every dispute as of a date: the ledger's row plus the events recorded by then.

    Parameters
    ----------
    ledger : Ledger
    as_of : str or date, optional
        Only ledger disputes opened on or before it and events recorded by the end of it
        count. ``None``: everything known now (ages counted to ``today``).
    events : StateDB, StateRows or list of dict, optional
        The ``dispute_events`` rows (each with ``recorded_at``).
    activities : DataFrame, optional
        The activity frame (:func:`workbench.collections.activity_frame`): disputes logged
        in the app join as ``LOG-<activity>``.
    policy : DisputePolicy, optional
    known_by : date or None, optional
        Whose end the events count by (default: the as-of day). ``None``: every event
        recorded so far, for a ledger read as of its last date while the workbench's
        records run to today (adjustments proposed from today's resolutions).

    Returns
    -------
    DataFrame
        One row per dispute: ``dispute_id, customer_id, customer_name, invoice_id, currency,
        amount_minor, amount_known (False: a dispute logged in the app whose note gives no
        amount in the invoice's currency; amount_minor 0, a note names the activity),
        reason_code, reason, opened_date, owner, owner_label, owner_name,
        assigned, due_date, status, status_label, is_open, closed_date, age_days,
        days_overdue, source, notes, history, missed_due_dates`` (due dates that had passed,
        the dispute still open, when a later event set another: a reassignment does not hide
        a missed date); sorted by customer, opened date, id.
    """
    policy = policy or load_dispute_policy()
    D = None if as_of is None else to_date(as_of)
    ref = D if D is not None else to_date(today or dt.datetime.now(dt.timezone.utc).date())
    inv = ledger.invoices.set_index("invoice_id")
    base: dict[str, dict] = {}
    d = ledger.disputes
    for r in d.to_dict("records"):
        if D is not None and r["opened_date"] > D:
            continue
        closed = r.get("closed_date", pd.NaT)
        closed = closed if not pd.isna(closed) and (D is None or closed <= D) else pd.NaT
        res = r.get("resolution")
        base[r["dispute_id"]] = {
            "dispute_id": r["dispute_id"], "customer_id": inv.at[r["invoice_id"], "customer_id"],
            "invoice_id": r["invoice_id"], "currency": r["currency"],
            "amount_minor": int(r["amount_minor"]), "reason_code": r["reason_code"],
            "opened_date": r["opened_date"], "closed_date": closed,
            "status": "open" if pd.isna(closed) else (res if isinstance(res, str) else "resolved"),
            "source": "ledger", "amount_known": True, "notes": []}
    for r in _logged_disputes(ledger, activities, D):
        base.setdefault(r["dispute_id"], r)
    K = D if isinstance(known_by, str) and known_by == AS_OF else \
        (None if known_by is None else to_date(known_by))
    rows = _events_as_of(_event_rows(events), K)
    for r in rows:                       # disputes opened in the workbench
        if r["event"] == "opened" and r["dispute_id"] not in base:
            base[r["dispute_id"]] = {
                "dispute_id": r["dispute_id"], "customer_id": r["customer_id"],
                "invoice_id": r.get("invoice_id"), "currency": r.get("currency"),
                "amount_minor": int(r.get("amount_minor") or 0), "amount_known": True,
                "reason_code": r.get("reason_code"), "opened_date": _recorded_day(r),
                "closed_date": pd.NaT, "status": "open", "source": "workbench", "notes": []}
    for b in base.values():
        b.update(owner=None, owner_name=None, due_date=pd.NaT, history=[], missed_due_dates=[])

    def due_now(b: dict) -> pd.Timestamp:
        """The due date in force: the last one set, else the policy's for its owner."""
        if not pd.isna(b["due_date"]):
            return b["due_date"]
        owner = b["owner"] or policy.owner_for(b["reason_code"])
        return b["opened_date"] + pd.Timedelta(days=policy.due_days(owner, b["reason_code"]))

    for r in rows:
        b = base.get(r["dispute_id"])
        if b is None:
            continue
        when, ev = str(r["recorded_at"]), r["event"]
        if r.get("due_date") and pd.isna(b["closed_date"]):
            # a due date moved after it had passed stays on record as missed
            was = due_now(b)
            if _recorded_day(r) > was and to_date(r["due_date"]) != was:
                b["missed_due_dates"].append(str(was.date()))
        if r.get("owner"):
            b["owner"], b["owner_name"] = r["owner"], r.get("owner_name")
        if r.get("due_date"):
            b["due_date"] = to_date(r["due_date"])
        if ev == "status" and r.get("status"):
            b["status"] = r["status"]
        if ev == "resolved":
            b["status"] = r.get("status") or "resolved"
            b["closed_date"] = _recorded_day(r)
        if r.get("note"):
            b["notes"].append(r["note"])
        b["history"].append({"at": when, "by": r.get("recorded_by"), "event": ev,
                             "owner": r.get("owner"), "due_date": r.get("due_date"),
                             "status": r.get("status"), "note": r.get("note")})
    names = ledger.customers.set_index("customer_id")["name"]
    out = []
    for b in base.values():
        b["assigned"] = b["owner"] is not None
        b["owner_name"] = b["owner_name"] if isinstance(b["owner_name"], str) else ""
        if b["owner"] is None:
            b["owner"] = policy.owner_for(b["reason_code"])
        b["due_date"] = due_now(b)
        b["is_open"] = pd.isna(b["closed_date"])
        b["age_days"] = int((ref - b["opened_date"]).days)
        b["days_overdue"] = int((ref - b["due_date"]).days) if b["is_open"] else 0
        b["owner_label"] = policy.owner_label(b["owner"])
        b["reason"] = policy.reason_label(b["reason_code"]) if b["reason_code"] != "logged" \
            else "Logged in the app (not coded)"
        b["status_label"] = status_label(b["status"])
        b["customer_name"] = names.get(b["customer_id"], b["customer_id"])
        out.append(b)
    cols = ["dispute_id", "customer_id", "customer_name", "invoice_id", "currency",
            "amount_minor", "amount_known", "reason_code", "reason", "opened_date", "owner",
            "owner_label", "owner_name", "assigned", "due_date", "status", "status_label",
            "is_open", "closed_date", "age_days", "days_overdue", "source", "notes", "history",
            "missed_due_dates"]
    frame = pd.DataFrame(out, columns=cols)
    # the same dtypes with no dispute at all (a boolean mask of an empty object column
    # would select columns, not rows)
    frame = frame.astype({"amount_minor": np.int64, "amount_known": bool, "assigned": bool,
                          "is_open": bool, "age_days": np.int64, "days_overdue": np.int64,
                          "opened_date": "datetime64[ns]", "due_date": "datetime64[ns]",
                          "closed_date": "datetime64[ns]"})
    if len(frame):
        frame = frame.sort_values(["customer_id", "opened_date", "dispute_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update({"as_of": str(ref.date()), "policy": policy.label})
    return frame

