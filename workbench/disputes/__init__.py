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

The package: :mod:`.policy` (owners, reasons, statuses, the policy file),
:mod:`.states` (a dispute as of a date), :mod:`.book` (recording the work),
:mod:`.reports` (aging, overdue, the customer's view reconciled with ours).
"""

from __future__ import annotations

from ..policy import PolicyError
from .book import DisputeBook
from .policy import (
                     EVENTS,
                     OPEN_STATUSES,
                     OWNERS,
                     RESOLUTIONS,
                     DisputePolicy,
                     app_actor,
                     load_dispute_policy,
                     status_label,
)
from .reports import (
                     CustomerViewError,
                     dispute_aging,
                     overdue_disputes,
                     read_customer_view,
                     reconcile_customer,
)
from .states import activities_known_by, dispute_states

__all__ = ["activities_known_by", "OWNERS", "OPEN_STATUSES", "RESOLUTIONS", "EVENTS", "DisputePolicy",
           "load_dispute_policy", "dispute_states", "DisputeBook", "dispute_aging",
           "overdue_disputes", "read_customer_view", "reconcile_customer", "CustomerViewError",
           "app_actor", "status_label", "PolicyError"]
