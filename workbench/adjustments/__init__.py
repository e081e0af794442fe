"""Account adjustments and credit memos: proposed from their sources, approved by authority,
exported to the ERP (which stays the book of record).

An adjustment lives in the state database's append-only ``adjustments`` table as a chain of
events sharing its ``adjustment_id``: ``proposed`` -> ``approved`` | ``refused`` |
``withdrawn``; ``approved`` -> ``exported`` | ``withdrawn``. The latest event is its status;
a correction (``StateDB.correct``, a row whose ``supersedes`` names another) replaces the row
it corrects in place, it is not a new event.

Sources (each proposal carries its evidence, JSON: what, where, the figures):

* ``dispute`` -- a dispute closed by ``as_of`` with resolution ``credit_memo`` (in the
  customer's favour): a ``disputes`` row of the ledger, or a dispute resolved in the workbench
  (a ``dispute_events`` "resolved" row recorded by the end of ``as_of``, read through
  :func:`workbench.disputes.dispute_states`): a credit memo of the disputed amount, less credit
  memos already booked on the invoice since the dispute opened, at most the open balance.
* ``short_pay`` -- an invoice past due, with no open dispute, cash applied and a remainder
  within the policy's tolerance (amount and percentage of the invoice); or a cash-application deduction
  (``CashAppRun.deductions``) passed in.
* ``small_balance`` -- :func:`workbench.collections.write_off_proposals` (the collections
  policy's ``small_balance_write_off``), reused as it is.
* ``pricing_error`` -- **convention**: an activity of kind ``note`` on an invoice whose note
  starts with the policy's marker (default ``PRICING ERROR``) and the amount to credit in the
  invoice's currency: ``PRICING ERROR 120.00: billed 13.20/unit, contract 12.00``.

The id comes from the source record, deterministic: ``ADJ-DISPUTE-<dispute_id>``,
``ADJ-PRICINGERROR-<activity_id>``, ``ADJ-SHORTPAY-<invoice_id>``,
``ADJ-SMALLBALANCE-<invoice_id>``; the same proposal is recorded once however often it is
proposed. A withdrawn adjustment may be proposed again: the re-proposal's id takes the suffix
``-R<n>``, ``n`` the number of earlier withdrawn ones from that source record. Several
adjustments may be live on one invoice, their total at most its open balance; sources are
taken in the order dispute, pricing_error, short_pay, small_balance, and whatever is left
out is reported (``attrs["skipped"]`` of the proposals; :func:`record_proposals`'s
``skipped``) with why.

Export writes ``credit_memos.csv`` and ``write_offs.csv`` in the ledger loader's own columns
(a credit memo's id is the adjustment id; a write-off's reason ends with ``(<adjustment id>)``
so a posted row is recognised), plus a NetSuite-style CSV through a column map. The
"exported" events are appended in the transaction that checks none was exported before;
:func:`rebuild_export` writes a recorded batch's files again, from its recorded events only.

The modules: :mod:`.policy` (the policy: levels, limits, sources), :mod:`.propose` (proposals
from the sources, their recording), :mod:`.decisions` (approve, refuse, withdraw),
:mod:`.events` (an adjustment's chain of events and status, what the ledger has posted and
still holds open) and :mod:`.export` (the ERP files).
"""

from __future__ import annotations

from .decisions import approve, refuse, withdraw
from .events import adjustment_status
from .export import (
    DEFAULT_MAP,
    EXPORT_FIELDS,
    LEDGER_COLUMNS,
    ExportMap,
    ExportResult,
    export_adjustments,
    load_export_map,
    rebuild_export,
)
from .policy import (
    ADJUSTMENTS_SPEC,
    EVENTS,
    KINDS,
    LEVELS,
    SOURCES,
    AdjustmentError,
    AdjustmentsPolicy,
    load_adjustments_policy,
)
from .propose import PROPOSAL_COLUMNS, Recorded, propose_adjustments, record_proposals

__all__ = [
    "ADJUSTMENTS_SPEC",
    "DEFAULT_MAP",
    "EVENTS",
    "EXPORT_FIELDS",
    "KINDS",
    "LEDGER_COLUMNS",
    "LEVELS",
    "PROPOSAL_COLUMNS",
    "SOURCES",
    "AdjustmentError",
    "AdjustmentsPolicy",
    "ExportMap",
    "ExportResult",
    "Recorded",
    "adjustment_status",
    "approve",
    "export_adjustments",
    "load_adjustments_policy",
    "load_export_map",
    "propose_adjustments",
    "rebuild_export",
    "record_proposals",
    "refuse",
    "withdraw",
]
