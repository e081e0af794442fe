"""Collections: the policy, the activity log, the prioritized worklist, and the
suspension and small-balance write-off proposals.

Everything is a function of (ledger, as_of, policy, activities) and uses only what was
known on ``as_of``: open items and payments dated by then, promises judged on cash
applied by then, activities logged by then.

>>> from workbench import Ledger
>>> from workbench.collections import load_collections_policy, worklist
>>> wl = worklist(Ledger.load("data/demo"), "2026-09-30")      # doctest: +SKIP

The package: :mod:`.policy`, :mod:`.log` (the activity log), :mod:`.worklist` and
:mod:`.proposals` (suspension and small-balance write-offs).
"""

from __future__ import annotations

from ..policy import PolicyError
from .log import (
    ActivityLog,
    activities_known_by,
    activity_frame,
    default_activity_frame,
    default_state,
    merge_activities,
    open_disputes,
    state_rows_of,
)
from .policy import (
    COLLECTIONS_SPEC,
    CONTACT_KINDS,
    STAGES,
    CollectionsPolicy,
    CurrencyAmounts,
    DunningStage,
    load_collections_policy,
)
from .proposals import suspension_proposals, write_off_proposals
from .worklist import dunning_stage, worklist

__all__ = [
    "CollectionsPolicy",
    "DunningStage",
    "load_collections_policy",
    "ActivityLog",
    "activity_frame",
    "default_activity_frame",
    "dunning_stage",
    "worklist",
    "suspension_proposals",
    "write_off_proposals",
    "STAGES",
    "COLLECTIONS_SPEC",
    "CurrencyAmounts",
    "PolicyError",
    "CONTACT_KINDS",
    "merge_activities",
    "state_rows_of",
    "default_state",
    "open_disputes",
    "activities_known_by",
]
