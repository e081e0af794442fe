"""Decisions on a proposed adjustment: approve (within authority, never the proposer's own,
still open on the invoice), refuse, withdraw."""

from __future__ import annotations

import json

from ..ledger import Ledger, to_date
from ..money import format_amount, format_money
from ..policy import PolicyError
from .events import _CARRY, _append_checked, _Book, _open_check, _states
from .policy import LEVELS, AdjustmentError, AdjustmentsPolicy, load_adjustments_policy


def _decide_event(db, adjustment_id: str, event: str, user: str, authority: str | None,
                  note: str | None, check=None, ledger_hash=None,
                  allowed: tuple[str, ...] = ("proposed",)) -> int:
    def decide(rows):
        states = _states(rows)
        s = states.get(adjustment_id)
        if s is None:
            raise AdjustmentError(f"no adjustment {adjustment_id!r} was proposed")
        if s["status"] not in allowed:
            last = s["last"]
            raise AdjustmentError(f"{adjustment_id} is {last['event']} (by {last['recorded_by']} "
                                  f"at {last['recorded_at']}): only a "
                                  f"{' or '.join(allowed)} adjustment can be {event}")
        evidence = check(states, s["proposed"]) if check is not None else None
        row = {**{k: s["proposed"][k] for k in _CARRY}, "event": event, "note": note,
               "authority": authority, "ledger_hash": ledger_hash, "evidence": evidence,
               "idempotency_key": f"{adjustment_id}:{event}"}
        return [row], None
    return _append_checked(db, decide, user)[0][0]


def approve(db, adjustment_id: str, user: str, authority: str, ledger: Ledger,
            note: str | None = None, *, policy: AdjustmentsPolicy | None = None,
            as_of=None) -> int:
    """Approve a proposed adjustment as ``user`` with ``authority`` (from the roles file via
    :func:`workbench.serve.current_user` or :func:`workbench.cli.command_line_authority`,
    never a typed field). Refused (:class:`AdjustmentError`, nothing recorded) when the amount
    is above the authority's limit, the adjustment is not proposed (unknown, already approved,
    refused, exported), or the amount is no longer open on the invoice. Returns the event's id.

    ``as_of`` (default: the ledger's last date) dates the open-balance check and any
    currency conversion of the limits.
    """
    policy = policy or load_adjustments_policy()
    D = to_date(as_of) if as_of is not None else ledger.last_date
    book, ledger_hash = _Book.of(ledger, D), ledger.content_hash()

    def check(states, p):
        if p["recorded_by"] == user and not policy.self_approval:
            raise AdjustmentError(
                f"{adjustment_id} was proposed by {user}: someone else approves it (segregation "
                f"of duties; policy {policy.label}, self_approval: false)")
        cur, amount = p["currency"], int(p["amount_minor"])
        try:
            limit = policy.limit_minor(authority, cur, ledger, D)
            needed = policy.level_for(amount, cur, ledger, D)
        except PolicyError as e:
            raise AdjustmentError(str(e)) from None
        if limit is not None and amount > limit:
            raise AdjustmentError(
                f"{adjustment_id}: {format_money(amount, cur)} is above the {authority} limit of "
                f"{format_money(limit, cur)} (policy {policy.label}, approval_levels); it needs "
                f"{needed} authority")
        why = _open_check(book, states, adjustment_id)
        if why:
            raise AdjustmentError(why)
        # the approval's own evidence: the policy and the limit it was judged against
        return json.dumps({"what": f"approved by {user} ({authority}) under policy "
                                   f"{policy.label}: limit "
                                   + ("none" if limit is None else format_money(limit, cur))
                                   + f", {format_money(amount, cur)} needs {needed}",
                           "policy": policy.label, "authority": authority,
                           "limit": None if limit is None else format_amount(limit, cur),
                           "currency": cur, "needed": needed, "as_of": str(D.date())},
                          sort_keys=True)
    return _decide_event(db, adjustment_id, "approved", user, authority, note, check, ledger_hash)


def refuse(db, adjustment_id: str, user: str, authority: str, note: str) -> int:
    """Refuse a proposed adjustment (a reason is required); returns the event's id."""
    if not note or not str(note).strip():
        raise AdjustmentError("refusing an adjustment needs a note saying why")
    if authority not in LEVELS:
        raise AdjustmentError(f"unknown authority {authority!r}; one of {', '.join(LEVELS)}")
    return _decide_event(db, adjustment_id, "refused", user, authority, note)


def withdraw(db, adjustment_id: str, user: str, note: str, authority: str | None = None) -> int:
    """Withdraw a proposed or approved (not exported) adjustment (the source changed, the
    approval is stale); returns the event's id. The source may then propose it again."""
    if not note or not str(note).strip():
        raise AdjustmentError("withdrawing an adjustment needs a note saying why")
    return _decide_event(db, adjustment_id, "withdrawn", user, authority, note,
                         allowed=("proposed", "approved"))
