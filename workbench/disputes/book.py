"""Recording the work on disputes: append-only events, each checked and written in one
transaction."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import MoneyError, format_money, parse_amount
from .policy import (
    OPEN_STATUSES,
    OWNERS,
    RESOLUTIONS,
    DisputePolicy,
    load_dispute_policy,
    status_label,
)
from .states import dispute_states


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
            from ..suggest import close_matches
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
        base = f"WB-{invoice_id}-{reason_code}"

        def new_id(states: pd.DataFrame) -> str:
            """The given id (refused when taken), else ``WB-<invoice>-<reason>`` with a
            ``-2``, ``-3``... once earlier ones are closed; refused while one is open."""
            known = dict(zip(states["dispute_id"], states["is_open"]))
            if dispute_id and dispute_id in known:
                raise ValueError(f"dispute {dispute_id} already exists")
            same = states[(states["invoice_id"] == invoice_id)
                          & (states["reason_code"] == reason_code) & states["is_open"]]
            if len(same):       # the ERP's or the workbench's: one open dispute per reason
                raise ValueError(f"dispute {same['dispute_id'].iloc[0]} on {invoice_id} for this "
                                 f"reason is still open: work it (assign, status, note) or "
                                 f"resolve it first")
            if dispute_id:
                return dispute_id
            ids = [base] + [f"{base}-{k}" for k in range(2, len(known) + 3)]
            return next(i for i in ids if i not in known)

        def decide(current):
            if idempotency_key:
                prior = [r for r in current if r.get("idempotency_key") == idempotency_key]
                if prior:                   # a double submit: the dispute it opened
                    return [], prior[0]["dispute_id"]
            did = new_id(self._states_of(current))
            return [{"dispute_id": did, "customer_id": inv.at[invoice_id, "customer_id"],
                     "invoice_id": invoice_id, "event": "opened",
                     "idempotency_key": idempotency_key, "owner": owner,
                     "owner_name": owner_name, "due_date": due, "status": "open",
                     "reason_code": reason_code, "amount_minor": minor, "currency": cur,
                     "note": note}], did

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

