"""The dispute policy: owners with their days to resolve, reasons with their default owner,
age buckets (``policies/disputes.yaml``); statuses and their names for people."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..policy import INVALID, Items, MapOf, PolicySpec, Section, Text, Whole
from ..schema import DISPUTE_RESOLUTIONS

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
    from ..serve import current_user

    return current_user()[0]


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

