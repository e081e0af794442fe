"""Disputes as work: an owner, a due date, a status history and notes for every dispute.

The ledger's ``disputes`` table (from the ERP) says what is disputed, how much, why; the
work on them is the state database's append-only ``dispute_events`` (:mod:`workbench.state`):
one row per event (opened, assigned, status, note, resolved) with who and when. A dispute
raised in the collections app (an activity of kind ``dispute``) is one too.

The state of a dispute **as of a date** is its ledger row (opened on or before the date,
closed if its ``closed_date`` is on or before it) plus the events *recorded* by the end of
that date (UTC), less those superseded by a correction also recorded by then, applied in
the order they were recorded; nothing recorded later is used (a correction made later
does not hide the event it corrects). Disputes logged in the app count once the
workbench recorded them (``recorded_at``) by then. Events are written with
:meth:`workbench.state.StateDB.append_checked`: the check and the write are one
transaction.
A dispute nobody assigned yet has the owner and due date of the dispute policy
(``policies/disputes.yaml``): the owner of its reason, due its reason's days (else its
owner's days) after it was opened.

Who records an event is never typed in: pages pass :func:`app_actor` (the signed-in
user), the command line :func:`workbench.cli.command_line_actor`.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .ledger import Ledger, to_date
from .money import MoneyError, format_money, parse_amount
from .policy import INVALID, Items, MapOf, PolicyError, PolicySpec, Section, Text, Whole
from .schema import DISPUTE_RESOLUTIONS

__all__ = ["activities_known_by", "OWNERS", "OPEN_STATUSES", "RESOLUTIONS", "EVENTS", "DisputePolicy",
           "load_dispute_policy", "dispute_states", "DisputeBook", "dispute_aging",
           "overdue_disputes", "read_customer_view", "reconcile_customer", "CustomerViewError",
           "app_actor", "status_label", "PolicyError"]

OWNERS = ("order_management", "billing", "sales", "collector")
#: statuses of a dispute still being worked; a resolved one takes its resolution as status
OPEN_STATUSES = ("open", "investigating", "awaiting_customer", "awaiting_internal",
                 "credit_memo_requested")
RESOLUTIONS = DISPUTE_RESOLUTIONS
EVENTS = ("opened", "assigned", "status", "note", "resolved")
_STATUS_TEXT = {"open": "Open", "investigating": "Investigating", "awaiting_customer":
                "Awaiting the customer", "awaiting_internal": "Awaiting another team",
                "credit_memo_requested": "Credit memo requested",
                "credit_memo": "Resolved: credit memo", "paid": "Resolved: paid",
                "withdrawn": "Resolved: withdrawn by the customer",
                "written_off": "Resolved: written off", "resolved": "Resolved"}


def status_label(status: str) -> str:
    """A status for people (``"Awaiting the customer"``)."""
    return _STATUS_TEXT.get(status, str(status).replace("_", " ").capitalize())


def app_actor() -> str:
    """Who records an event from a page: the signed-in user (never a field of the form)."""
    from .serve import current_user

    return current_user()[0]


# =========================================================================== the policy

@dataclass(frozen=True)
class DisputePolicy:
    """Owners with their days to resolve, reasons with their default owner, age buckets."""

    name: str
    version: str
    owners: dict            # owner -> {"label", "due_days"}
    reasons: dict           # reason code -> {"label", "owner", "due_days" or None}
    default_owner: str
    age_bucket_days: tuple[int, ...]
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def owner_label(self, owner) -> str:
        return self.owners.get(owner, {}).get("label") or str(owner)

    def reason_label(self, reason) -> str:
        r = self.reasons.get(reason)
        return (r or {}).get("label") or str(reason).replace("_", " ").capitalize()

    def owner_for(self, reason) -> str:
        return (self.reasons.get(reason) or {}).get("owner") or self.default_owner

    def due_days(self, owner: str, reason) -> int:
        """The reason's days when it lists them, else the owner's."""
        days = (self.reasons.get(reason) or {}).get("due_days")
        return int(days) if days else int(self.owners[owner]["due_days"])

    @property
    def bucket_labels(self) -> list[str]:
        edges, out, lo = self.age_bucket_days, [], 0
        for hi in edges:
            out.append(f"{lo}-{hi} days")
            lo = hi + 1
        return out + [f"over {edges[-1]} days"]

    def bucket_of(self, age_days) -> np.ndarray:
        return np.searchsorted(np.array(self.age_bucket_days), np.asarray(age_days), side="left")


DISPUTES_SPEC = PolicySpec("disputes", {
    "owners": MapOf(value=Section(fields={
        "label": Text(doc="the owner's name in reports"),
        "due_days": Whole(minimum=1, doc="days an owner has to resolve a dispute")})),
    "reasons": MapOf(required=False, value=Section(fields={
        "label": Text(required=False),
        "owner": Text(choices=OWNERS, doc="who a new dispute with this reason goes to"),
        "due_days": Whole(required=False, minimum=1)})),
    "default_owner": Text(choices=OWNERS, doc="the owner of a dispute with an unlisted reason"),
    "age_bucket_days": Items(item=Whole(minimum=1), min_items=1,
                             doc="last day of each age bucket but the last, increasing"),
})


def load_dispute_policy(path: str | Path = "disputes") -> DisputePolicy:
    """Read and check a dispute policy (default: the shipped ``policies/disputes.yaml``);
    every problem reported together (:class:`workbench.policy.PolicyError`)."""
    doc = DISPUTES_SPEC.read(path)
    owners = doc.get("owners") or {}
    for o in owners:
        if o not in OWNERS:
            doc.add(f"owners.{o}", f"unknown owner; owners are {', '.join(OWNERS)}")
    for o in OWNERS:
        if owners and o not in owners:
            doc.add(f"owners.{o}", "missing: every owner needs its due_days")
    edges = [e for e in (doc.get("age_bucket_days") or []) if e is not INVALID]
    if any(b <= a for a, b in zip(edges, edges[1:])):
        doc.add("age_bucket_days", f"must increase; got {edges}")
    doc.check()
    return DisputePolicy(doc.name, doc.version, dict(owners), dict(doc.get("reasons") or {}),
                         doc["default_owner"], tuple(edges), str(doc.source))


# =========================================================================== the state

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


def activities_known_by(frame: pd.DataFrame | None, D) -> pd.DataFrame | None:
    """The activities the workbench knew of by the end of day ``D`` (UTC): rows of the
    state database (``source`` "state") recorded (``recorded_at``, when the workbench
    learned of them) by then; ledger rows have no ``recorded_at`` and are kept (callers
    filter every row by its own timestamp as well). ``D`` None or no ``recorded_at``
    column: the frame unchanged."""
    if frame is None or D is None or not len(frame) or "recorded_at" not in frame:
        return frame
    at = pd.to_datetime(frame["recorded_at"].where(frame["recorded_at"].notna(), None),
                        utc=True, errors="coerce", format="ISO8601")
    day = at.dt.tz_convert(None).dt.normalize()
    state = frame["source"].eq("state") if "source" in frame else at.notna()
    late = state & at.notna() & (day > to_date(D))
    return frame[~late.to_numpy()]


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


def dispute_states(ledger: Ledger, as_of=None, events=None, activities: pd.DataFrame | None = None,
                   policy: DisputePolicy | None = None, today=None) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        One row per dispute: ``dispute_id, customer_id, customer_name, invoice_id, currency,
        amount_minor, amount_known (False: a dispute logged in the app whose note gives no
        amount in the invoice's currency; amount_minor 0, a note names the activity),
        reason_code, reason, opened_date, owner, owner_label, owner_name,
        assigned, due_date, status, status_label, is_open, closed_date, age_days,
        days_overdue, source, notes, history``; sorted by customer, opened date, id.
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
    rows = _events_as_of(_event_rows(events), D)
    for r in rows:                       # disputes opened in the workbench
        if r["event"] == "opened" and r["dispute_id"] not in base:
            base[r["dispute_id"]] = {
                "dispute_id": r["dispute_id"], "customer_id": r["customer_id"],
                "invoice_id": r.get("invoice_id"), "currency": r.get("currency"),
                "amount_minor": int(r.get("amount_minor") or 0), "amount_known": True,
                "reason_code": r.get("reason_code"), "opened_date": _recorded_day(r),
                "closed_date": pd.NaT, "status": "open", "source": "workbench", "notes": []}
    for b in base.values():
        b.update(owner=None, owner_name=None, due_date=pd.NaT, history=[])
    for r in rows:
        b = base.get(r["dispute_id"])
        if b is None:
            continue
        when, ev = str(r["recorded_at"]), r["event"]
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
        if pd.isna(b["due_date"]):
            b["due_date"] = b["opened_date"] + pd.Timedelta(
                days=policy.due_days(b["owner"], b["reason_code"]))
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
            "is_open", "closed_date", "age_days", "days_overdue", "source", "notes", "history"]
    frame = pd.DataFrame(out, columns=cols)
    if len(frame):
        frame["amount_minor"] = frame["amount_minor"].astype(np.int64)
        frame = frame.sort_values(["customer_id", "opened_date", "dispute_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update({"as_of": str(ref.date()), "policy": policy.label})
    return frame


# =========================================================================== recording

class DisputeBook:
    """Record the work on disputes (append-only events in the state database ``db``),
    checked against the ``ledger``; ``activities`` (the activity frame) lets disputes logged
    in the app be worked too; a due date before ``today`` (default today, UTC) is refused."""

    def __init__(self, db, ledger: Ledger, policy: DisputePolicy | None = None, *,
                 activities: pd.DataFrame | None = None, today=None):
        self.db, self.ledger = db, ledger
        self.policy = policy or load_dispute_policy()
        self.activities = activities
        self.today = to_date(today or dt.datetime.now(dt.timezone.utc).date())

    def states(self, as_of=None) -> pd.DataFrame:
        """Every dispute as of a date (``None``: as known now), :func:`dispute_states`."""
        return dispute_states(self.ledger, as_of, self.db, self.activities, self.policy,
                              today=self.today)

    def _states_of(self, rows: list[dict]) -> pd.DataFrame:
        return dispute_states(self.ledger, None, rows, self.activities, self.policy,
                              today=self.today)

    @staticmethod
    def _find(states: pd.DataFrame, dispute_id: str) -> dict:
        hit = states[states["dispute_id"] == dispute_id]
        if not len(hit):
            from .suggest import close_matches
            near = close_matches(str(dispute_id), states["dispute_id"].tolist())
            hint = f"; did you mean {', '.join(near[:3])}?" if near else ""
            raise ValueError(f"unknown dispute {dispute_id!r}{hint}")
        return hit.iloc[0].to_dict()

    def state(self, dispute_id: str) -> dict:
        """The dispute as known now; an unknown id is refused naming close ones."""
        return self._find(self.states(), dispute_id)

    # ---------------------------------------------------------------- checks
    @staticmethod
    def _actor(actor) -> str:
        if not actor or not str(actor).strip():
            raise ValueError("who records this is required (the signed-in user or the OS "
                             "login), never typed in")
        return str(actor)

    def _due(self, due_date) -> str | None:
        if due_date is None or due_date == "":
            return None
        day = to_date(due_date)
        if day < self.today:
            raise ValueError(f"due date {day.date()} is in the past (today is "
                             f"{self.today.date()})")
        return str(day.date())

    @staticmethod
    def _owner(owner) -> str:
        if owner not in OWNERS:
            raise ValueError(f"owner must be one of {', '.join(OWNERS)}; got {owner!r}")
        return owner

    @staticmethod
    def _check_open(s: dict) -> dict:
        if not s["is_open"]:
            raise ValueError(f"dispute {s['dispute_id']} is already "
                             f"{status_label(s['status']).lower()} (closed "
                             f"{s['closed_date'].date()}): nothing more to do on it")
        return s

    def _open(self, dispute_id: str) -> dict:
        return self._check_open(self.state(dispute_id))

    def _record(self, dispute_id: str, event: str, actor, key, fields, *,
                must_be_open: bool = True) -> int:
        """Check the dispute and append its event in ONE transaction
        (:meth:`workbench.state.StateDB.append_checked`): ``fields(state)`` gives the
        event's fields from the dispute as the transaction sees it. A resent idempotency
        key returns the event it recorded."""
        actor = self._actor(actor)

        def decide(current):
            if key:
                prior = [r for r in current if r.get("idempotency_key") == key]
                if prior:
                    return [], int(prior[0]["id"])
            s = self._find(self._states_of(current), dispute_id)
            if must_be_open:
                self._check_open(s)
            row = {"dispute_id": s["dispute_id"], "customer_id": s["customer_id"],
                   "invoice_id": s.get("invoice_id"), "event": event, "idempotency_key": key,
                   **fields(s)}
            return [row], None

        ids, prior = self.db.append_checked("dispute_events", decide, actor=actor)
        return ids[0] if ids else prior

    # ---------------------------------------------------------------- events
    def open(self, invoice_id: str, amount: str, reason_code: str, *, actor: str,
             owner: str | None = None, owner_name: str | None = None, due_date=None,
             note: str | None = None, dispute_id: str | None = None,
             idempotency_key: str | None = None) -> str:
        """Open a dispute on an invoice (amount: decimal text in the invoice's currency, at
        most the invoice amount); owner and due date default from the policy. Returns its id.
        The check that the id is new and the write are one transaction."""
        actor = self._actor(actor)
        inv = self.ledger.invoices.set_index("invoice_id")
        if invoice_id not in inv.index:
            raise ValueError(f"unknown invoice {invoice_id!r}")
        cur = inv.at[invoice_id, "currency"]
        try:
            minor = parse_amount(str(amount), cur)
        except MoneyError as e:
            raise ValueError(f"amount: {e}") from None
        if minor <= 0 or minor > int(inv.at[invoice_id, "amount_minor"]):
            raise ValueError(f"amount {format_money(minor, cur)} must be more than zero and at "
                             f"most the invoice amount "
                             f"{format_money(int(inv.at[invoice_id, 'amount_minor']), cur)}")
        if not reason_code or not str(reason_code).strip():
            raise ValueError("reason_code is required")
        owner = self._owner(owner or self.policy.owner_for(reason_code))
        due = self._due(due_date) or str((self.today + pd.Timedelta(
            days=self.policy.due_days(owner, reason_code))).date())
        dispute_id = dispute_id or f"WB-{invoice_id}-{reason_code}"

        def decide(current):
            if idempotency_key:
                prior = [r for r in current if r.get("idempotency_key") == idempotency_key]
                if prior:                   # a double submit: the dispute it opened
                    return [], prior[0]["dispute_id"]
            if dispute_id in set(self._states_of(current)["dispute_id"]):
                raise ValueError(f"dispute {dispute_id} already exists")
            return [{"dispute_id": dispute_id, "customer_id": inv.at[invoice_id, "customer_id"],
                     "invoice_id": invoice_id, "event": "opened",
                     "idempotency_key": idempotency_key, "owner": owner,
                     "owner_name": owner_name, "due_date": due, "status": "open",
                     "reason_code": reason_code, "amount_minor": minor, "currency": cur,
                     "note": note}], dispute_id

        _, result = self.db.append_checked("dispute_events", decide, actor=actor)
        return result

    def assign(self, dispute_id: str, owner: str, *, actor: str, owner_name: str | None = None,
               due_date=None, note: str | None = None, idempotency_key: str | None = None) -> int:
        """Give a dispute to an owner (a team, and a person in it) with a due date
        (default: today + the policy's days for the owner and reason)."""
        owner = self._owner(owner)
        due = self._due(due_date)

        def fields(s):
            return {"owner": owner, "owner_name": owner_name, "note": note,
                    "due_date": due or str((self.today + pd.Timedelta(
                        days=self.policy.due_days(owner, s["reason_code"]))).date())}
        return self._record(dispute_id, "assigned", actor, idempotency_key, fields)

    def set_status(self, dispute_id: str, status: str, *, actor: str, note: str | None = None,
                   due_date=None, idempotency_key: str | None = None) -> int:
        """Move an open dispute to another working status (resolving is :meth:`resolve`)."""
        if status not in OPEN_STATUSES:
            extra = " (to close a dispute, resolve it)" if status in RESOLUTIONS else ""
            raise ValueError(f"status must be one of {', '.join(OPEN_STATUSES)}; got "
                             f"{status!r}{extra}")
        due = self._due(due_date)
        return self._record(dispute_id, "status", actor, idempotency_key,
                            lambda s: {"status": status, "note": note, "due_date": due})

    def add_note(self, dispute_id: str, note: str, *, actor: str,
                 idempotency_key: str | None = None) -> int:
        if not note or not str(note).strip():
            raise ValueError("a note needs text")
        return self._record(dispute_id, "note", actor, idempotency_key,
                            lambda s: {"note": note}, must_be_open=False)

    def resolve(self, dispute_id: str, resolution: str, *, actor: str, note: str | None = None,
                idempotency_key: str | None = None) -> int:
        """Close a dispute with its resolution (credit_memo, paid, withdrawn, written_off)."""
        if resolution not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}; got "
                             f"{resolution!r}")
        return self._record(dispute_id, "resolved", actor, idempotency_key,
                            lambda s: {"status": resolution, "note": note})


# =========================================================================== analyses

def dispute_aging(states: pd.DataFrame, by: str = "owner",
                  policy: DisputePolicy | None = None) -> pd.DataFrame:
    """Open disputes by owner or reason and currency: how many, how much, how old.

    Age = as-of date - opened date, in the policy's age buckets. Returns one row per
    (group, currency): ``<by>, label, currency, disputes, amount_minor, overdue,
    overdue_minor, amount_unknown`` (disputes whose amount is unknown, counted in
    ``disputes`` but not in any amount) and per bucket ``<bucket>`` (amount, minor units) and
    ``<bucket> count``. Amounts are sums of integers, never added across currencies.
    """
    if by not in ("owner", "reason"):
        raise ValueError(f"by must be owner or reason; got {by!r}")
    policy = policy or load_dispute_policy()
    key = "owner" if by == "owner" else "reason_code"
    labels = policy.bucket_labels
    o = states[states["is_open"]] if len(states) else states
    rows = []
    for (k, cur), g in o.groupby([key, "currency"], sort=True):
        b = policy.bucket_of(g["age_days"].to_numpy())
        amt = g["amount_minor"].to_numpy()
        over = (g["days_overdue"] > 0).to_numpy()
        row = {by: k, "label": g[f"{by}_label" if by == "owner" else "reason"].iloc[0],
               "currency": cur, "disputes": len(g), "amount_minor": int(amt.sum()),
               "overdue": int(over.sum()), "overdue_minor": int(amt[over].sum()),
               "amount_unknown": int((~g["amount_known"].astype(bool)).sum())
               if "amount_known" in g else 0}
        for i, lab in enumerate(labels):
            row[lab] = int(amt[b == i].sum())
            row[f"{lab} count"] = int((b == i).sum())
        rows.append(row)
    out = pd.DataFrame(rows, columns=[by, "label", "currency", "disputes", "amount_minor",
                                      "overdue", "overdue_minor", "amount_unknown", *labels,
                                      *[f"{lab} count" for lab in labels]])
    if by == "owner" and len(out):
        out = out.sort_values(["owner", "currency"], key=lambda s: s.map(
            {o: i for i, o in enumerate(OWNERS)}) if s.name == "owner" else s, kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update({**states.attrs, "by": by, "buckets": labels})
    return out


def overdue_disputes(states: pd.DataFrame) -> pd.DataFrame:
    """Open disputes past their due date, the most overdue first."""
    o = states[states["is_open"] & (states["days_overdue"] > 0)] if len(states) else states
    return o.sort_values(["days_overdue", "dispute_id"], ascending=[False, True],
                         kind="stable").reset_index(drop=True)


# =========================================================================== the customer's view

class CustomerViewError(ValueError):
    """A customer's dispute file with problems (every one listed: file, line, column)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def read_customer_view(path: str | Path, ledger: Ledger, customer_id: str) -> pd.DataFrame:
    """The customer's disputes from a CSV of ``invoice_id, amount, reason``.

    Amounts are decimal text in the invoice's currency (the customer's for an invoice we
    do not know). Every problem is collected and raised together, each as
    ``FILE: line N, column C: what (got 'value')``.
    """
    path = Path(path)
    if not path.exists():
        raise CustomerViewError([f"{path}: file does not exist"])
    cust = ledger.customers.set_index("customer_id")
    if customer_id not in cust.index:
        raise ValueError(f"unknown customer {customer_id!r}")
    inv = ledger.invoices.set_index("invoice_id")
    problems, rows, seen = [], [], {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("invoice_id", "amount", "reason") if c not in header]
        if missing:
            raise CustomerViewError([f"{path}: line 1: missing column(s) {', '.join(missing)} "
                                     f"(the header must name invoice_id, amount, reason; got "
                                     f"{', '.join(header) or 'nothing'})"])
        for n, raw in enumerate(reader, start=2):
            r = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            iid, text = r["invoice_id"], r["amount"]
            if not iid:
                problems.append(f"{path}: line {n}, column invoice_id: empty (got {iid!r})")
                continue
            if iid in seen:
                problems.append(f"{path}: line {n}, column invoice_id: invoice listed again "
                                f"(first on line {seen[iid]}) (got {iid!r})")
                continue
            seen[iid] = n
            cur = inv.at[iid, "currency"] if iid in inv.index else cust.at[customer_id, "currency"]
            try:
                minor = parse_amount(text, cur)
                if minor <= 0:
                    raise MoneyError("must be more than zero")
            except MoneyError as e:
                problems.append(f"{path}: line {n}, column amount: not an amount in {cur} ({e}) "
                                f"(got {text!r})")
                continue
            rows.append({"invoice_id": iid, "their_amount_minor": minor, "currency": cur,
                         "their_reason": r["reason"], "line": n})
    if problems:
        raise CustomerViewError(problems)
    if not rows:
        raise CustomerViewError([f"{path}: no disputes listed (only a header)"])
    return pd.DataFrame(rows)


def reconcile_customer(ledger: Ledger, customer_id: str, theirs: pd.DataFrame, as_of,
                       states: pd.DataFrame) -> pd.DataFrame:
    """The customer's disputes against ours, their open items and credit memos, as of a date.

    Categories, one per invoice: ``matched`` (both, same amount); ``amount differs``
    (both; ``difference`` = theirs - ours); ``already credited`` (only theirs, and credit
    memos dated by ``as_of`` on the invoice cover it); ``only theirs`` (the note says what
    the invoice shows: open, paid, another customer's, unknown); ``only ours``.
    """
    D = to_date(as_of)
    inv = ledger.invoices.set_index("invoice_id")
    bal = ledger.balances(D).set_index("invoice_id")["open_minor"]
    cm = ledger.credit_memos
    if len(cm) and "invoice_id" in cm:
        cm = cm[(cm["date"] <= D) & (cm["customer_id"] == customer_id)]
        credited = cm.groupby("invoice_id")["amount_minor"].sum()
        memo_ids = cm.groupby("invoice_id")["credit_memo_id"].agg(lambda s: ", ".join(sorted(s)))
    else:
        credited, memo_ids = pd.Series(dtype="int64"), pd.Series(dtype=object)
    ours = states[states["is_open"] & (states["customer_id"] == customer_id)]
    ours_by_inv = ours.groupby("invoice_id")
    out = []
    for t in theirs.to_dict("records"):
        iid, amt, cur = t["invoice_id"], int(t["their_amount_minor"]), t["currency"]
        row = {"invoice_id": iid, "currency": cur, "their_amount_minor": amt,
               "our_amount_minor": 0, "difference_minor": amt, "their_reason": t["their_reason"],
               "our_reason": "", "dispute_id": "", "owner": "",
               "open_minor": int(bal.get(iid, 0)), "credited_minor": int(credited.get(iid, 0))}
        if iid in ours_by_inv.groups:
            g = ours_by_inv.get_group(iid)
            mine = int(g["amount_minor"].sum())
            row.update(our_amount_minor=mine, difference_minor=amt - mine,
                       our_reason=", ".join(g["reason"]), dispute_id=", ".join(g["dispute_id"]),
                       owner=", ".join(g["owner_label"]))
            row["category"] = "matched" if mine == amt else "amount differs"
            row["note"] = "" if mine == amt else (
                f"they dispute {format_money(amt, cur)}, we record {format_money(mine, cur)}")
        elif iid not in inv.index:
            row.update(category="only theirs", note="not an invoice in our ledger")
        elif inv.at[iid, "customer_id"] != customer_id:
            row.update(category="only theirs", note=f"our invoice of another customer "
                                                    f"({inv.at[iid, 'customer_id']})")
        elif row["credited_minor"] >= amt:
            row.update(category="already credited", note=f"credit memo(s) {memo_ids.get(iid)} "
                       f"for {format_money(row['credited_minor'], cur)} issued")
        else:
            row["category"] = "only theirs"
            row["note"] = ("paid in full: nothing open" if row["open_minor"] == 0 else
                           f"open {format_money(row['open_minor'], cur)}, no dispute on our side")
        out.append(row)
    listed = set(theirs["invoice_id"])
    for r in ours[~ours["invoice_id"].isin(listed)].to_dict("records"):
        out.append({"invoice_id": r["invoice_id"], "currency": r["currency"],
                    "their_amount_minor": 0, "our_amount_minor": int(r["amount_minor"]),
                    "difference_minor": -int(r["amount_minor"]), "their_reason": "",
                    "our_reason": r["reason"], "dispute_id": r["dispute_id"],
                    "owner": r["owner_label"], "open_minor": int(bal.get(r["invoice_id"], 0)),
                    "credited_minor": int(credited.get(r["invoice_id"], 0)),
                    "category": "only ours", "note": "not in the customer's list"})
    cols = ["invoice_id", "category", "currency", "their_amount_minor", "our_amount_minor",
            "difference_minor", "their_reason", "our_reason", "dispute_id", "owner",
            "open_minor", "credited_minor", "note"]
    frame = pd.DataFrame(out, columns=cols).sort_values("invoice_id", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update({"as_of": str(D.date()), "customer_id": customer_id})
    return frame
