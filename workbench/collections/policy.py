"""The collections policy: dunning stages, tiers, suspension and small-balance write-off
thresholds, promise rules (``policies/collections.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..kpis import KPIOptions
from ..ledger import Ledger
from ..policy import (
    Amounts,
    Flag,
    Items,
    Money,
    Number,
    PolicySpec,
    Section,
    Text,
    Whole,
    resolve_amounts,
)

#: The dunning stages a policy must define, in order.
STAGES = ("pre_due_reminder", "friendly", "firm", "final", "escalate_to_sales", "suspension")
_ACTIONS = ("email", "call", "letter", "escalation", "suspension")
CONTACT_KINDS = ("call", "email", "letter", "promise_to_pay", "escalation", "note", "dispute")



@dataclass(frozen=True)
class DunningStage:
    stage: str
    from_days: int
    action: str
    template: str | None = None


#: A threshold per currency (:class:`workbench.policy.Amounts`; the old name).
CurrencyAmounts = Amounts


@dataclass(frozen=True)
class CollectionsPolicy:
    name: str
    version: str
    stages: tuple[DunningStage, ...]
    suspension_min_days: int
    suspension_min_amount: CurrencyAmounts
    suspension_broken_promises: int
    suspension_lookback_days: int
    write_off_max_balance: CurrencyAmounts
    write_off_min_days: int
    write_off_no_open_dispute: bool
    write_off_approval: str
    escalation_tiers: tuple[tuple[str, CurrencyAmounts | None], ...]
    promise_grace_days: int
    promise_tolerance_pct: float
    contact_gap_days: int
    dispute_action_days: int
    history_months: int
    late_days: int
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def kpi_options(self) -> KPIOptions:
        return KPIOptions(promise_grace_days=self.promise_grace_days,
                          promise_tolerance_pct=self.promise_tolerance_pct)

    def stage_for(self, days_past_due: int) -> DunningStage | None:
        current = None
        for s in self.stages:
            if days_past_due >= s.from_days:
                current = s
        return current

    def tier_for(self, past_due_minor: int, currency: str) -> str:
        for tier, limit in self.escalation_tiers:
            if limit is None or past_due_minor <= limit.minor(currency):
                return tier
        return self.escalation_tiers[-1][0]

    def for_ledger(self, ledger: Ledger, as_of) -> "CollectionsPolicy":
        """This policy with every amount given in each of the ledger's currencies
        (converted at ``as_of`` where the policy says ``currency_conversion: fx_rates``);
        :class:`PolicyError` listing every amount a ledger currency lacks."""
        return resolve_amounts(self, ledger, as_of)


def _stage_spec():
    return Section(fields={"stage": Text(), "from_days": Whole(),
                           "action": Text(choices=_ACTIONS),
                           "template": Text(required=False)})


#: The collections policy's keys (beside name, version, description, currency_conversion).
COLLECTIONS_SPEC = PolicySpec("collections", {
    "dunning_stages": Items(item=_stage_spec(), min_items=1, name_keys=("stage",),
                            doc="every stage of STAGES, in order, from_days increasing"),
    "suspension": Section(fields={
        "min_days_past_due": Whole(minimum=0),
        "min_amount_past_due": Money(bare="default", minimum=0),
        "broken_promises": Whole(minimum=1),
        "broken_promise_lookback_days": Whole(minimum=1)}),
    "small_balance_write_off": Section(fields={
        "max_balance": Money(bare="default", minimum=0),
        "min_days_past_due": Whole(minimum=0),
        "require_no_open_dispute": Flag(required=False, default=True),
        "approval": Text(doc="who approves a write-off")}),
    "escalation_tiers": Items(item=Section(fields={
        "tier": Text(), "up_to": Money(bare="default", minimum=0, required=False)}),
        min_items=1, name_keys=("tier",)),
    "promises": Section(required=False, fields={
        "grace_days": Whole(minimum=0, required=False, default=0),
        "tolerance_pct": Number(minimum=0, maximum=100, high_open=True, required=False,
                                default=0)}),
    "worklist": Section(required=False, fields={
        "contact_gap_days": Whole(minimum=0, required=False, default=14),
        "dispute_action_days": Whole(minimum=0, required=False, default=10),
        "history_months": Whole(minimum=1, required=False, default=12),
        "late_days": Whole(minimum=0, required=False, default=30)}),
})


def load_collections_policy(path: str | Path = "collections") -> CollectionsPolicy:
    """Read and check a collections policy YAML (default: the shipped one).

    Every problem is collected and reported together, each naming its file and key
    (:mod:`workbench.policy`). Amounts are per currency; :meth:`CollectionsPolicy.for_ledger`
    checks them against a ledger's currencies.
    """
    doc = COLLECTIONS_SPEC.read(path)
    stages = [DunningStage(s["stage"], s["from_days"], s["action"], s["template"])
              for s in (doc.get("dunning_stages") or []) if s and s["stage"]]
    names = [s.stage for s in stages]
    missing = [s for s in STAGES if s not in names]
    if missing:
        doc.add("dunning_stages", f"missing stage(s) {', '.join(missing)} (required: "
                                  f"{', '.join(STAGES)})")
    unknown = [s for s in names if s not in STAGES]
    if unknown:
        doc.add("dunning_stages", f"unknown stage(s) {', '.join(unknown)}")
    if not missing and not unknown and names != list(STAGES):
        doc.add("dunning_stages", f"must be in the order {', '.join(STAGES)}")
    days = [s.from_days for s in stages]
    if all(isinstance(d, int) for d in days) and any(b <= a for a, b in zip(days, days[1:])):
        doc.add("dunning_stages", f"from_days must increase stage by stage; got {days}")
    tiers = doc.check_tiers("escalation_tiers", "tier", "tier")
    sus = doc.get("suspension") or {}
    wo = doc.get("small_balance_write_off") or {}
    prom = doc.get("promises") or {}
    wl = doc.get("worklist") or {}
    doc.check()
    return CollectionsPolicy(
        name=doc.name, version=doc.version, stages=tuple(stages),
        suspension_min_days=sus["min_days_past_due"],
        suspension_min_amount=sus["min_amount_past_due"],
        suspension_broken_promises=sus["broken_promises"],
        suspension_lookback_days=sus["broken_promise_lookback_days"],
        write_off_max_balance=wo["max_balance"],
        write_off_min_days=wo["min_days_past_due"],
        write_off_no_open_dispute=bool(wo["require_no_open_dispute"]),
        write_off_approval=str(wo["approval"]),
        escalation_tiers=tuple(tiers),
        promise_grace_days=prom["grace_days"],
        promise_tolerance_pct=float(prom["tolerance_pct"]),
        contact_gap_days=wl["contact_gap_days"],
        dispute_action_days=wl["dispute_action_days"],
        history_months=wl["history_months"],
        late_days=wl["late_days"],
        source=str(doc.source),
    )


