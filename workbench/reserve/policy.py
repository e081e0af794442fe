"""The reserve policy (``policies/reserve.yaml``): read, checked, every problem listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..aging import AgingPolicy, load_aging_policy
from ..policy import (INVALID, Custom, Items, MapOf, Percent, PolicyError, PolicySpec, Section,
                      Text, Whole)

__all__ = ["ReservePolicy", "DisputeRule", "ActivityRule", "QualitativeFactor",
           "load_reserve_policy", "METHODS", "POOLED_METHODS", "RESERVE_SPEC", "PolicyError"]

#: Pooled methods, in the order the comparison table shows them.
METHODS = ("provision_matrix", "roll_rate", "vintage", "model")
POOLED_METHODS = METHODS


@dataclass(frozen=True)
class DisputeRule:
    name: str
    reason_codes: tuple[str, ...] | None     # None: any reason
    min_age_days: int
    reserve_pct: Decimal


@dataclass(frozen=True)
class ActivityRule:
    name: str
    kinds: tuple[str, ...]
    keywords: tuple[str, ...]
    reserve_pct: Decimal
    lookback_days: int
    scope: str                                # "customer" or "invoice"


@dataclass(frozen=True)
class QualitativeFactor:
    name: str
    adjustment_pct: Decimal
    rationale: str


@dataclass(frozen=True)
class ReservePolicy:
    """A checked reserve policy. Percentages are exact Decimals (``Decimal("2.5")`` = 2.5 %)."""

    name: str
    version: str
    aging: AgingPolicy
    default_method: str
    expense_account: str
    allowance_account: str
    rates_pct: dict[str, Decimal]
    segment_rates_pct: dict[str, dict[str, Decimal]]
    roll_months: int
    roll_min_months: int
    pool: str
    vintage_min_age_months: int
    vintage_count: int
    pd_per_late: Decimal
    lgd_pct: Decimal
    dispute_rules: tuple[DisputeRule, ...]
    status_recovery_pct: dict[str, Decimal]
    write_off_reason_recovery_pct: dict[str, Decimal]
    activity_rules: tuple[ActivityRule, ...]
    qualitative: tuple[QualitativeFactor, ...]
    emergence_days: int
    master_without_history: str
    source: str = ""
    doc: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def rates_for(self, segment) -> dict[str, Decimal]:
        """The provision-matrix rates (percent per bucket) of a segment, else the default."""
        return self.segment_rates_pct.get(segment, self.rates_pct) if isinstance(segment, str) \
            else self.rates_pct


def _reason_codes(value, path, add):
    if value == "any":
        return None
    if not isinstance(value, list) or not value or not all(
            isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).strip() for v in value):
        add(path, f"expected a list of reason codes or 'any', got {value!r}")
        return INVALID
    return tuple(str(v) for v in value)


_RECOVERY = Section(fields={"expected_recovery_pct": Percent()})

#: The reserve policy's keys (beside name, version, description, currency_conversion).
RESERVE_SPEC = PolicySpec("reserve", {
    "aging_policy": Text(required=False, default="aging", doc="aging buckets: a name or a path"),
    "default_method": Text(required=False, default="roll_rate", choices=METHODS[:3]),
    "accounts": Section(fields={"expense": Text(), "allowance": Text()}),
    "provision_matrix": Section(fields={"rates_pct": Section(fields={
        "default": MapOf(value=Percent(), doc="percent per aging bucket"),
        "segments": MapOf(value=MapOf(value=Percent()), required=False)})}),
    "pool": Text(required=False, default="portfolio", choices=("portfolio", "currency")),
    "roll_rate": Section(fields={
        "months": Whole(minimum=12, maximum=24, required=False, default=24),
        "min_months": Whole(minimum=1, required=False, default=12),
        "pool": Custom(required=False, fn=lambda v, path, add: add(
            path, "moved to the top-level 'pool' (it applies to the roll-rate and vintage "
                  "estimates)"))}),
    "vintage": Section(fields={
        "min_age_months": Whole(minimum=1, required=False, default=12),
        "vintages": Whole(minimum=1, required=False, default=12)}),
    "expected_loss": Section(fields={
        "pd_per_late": Percent(maximum=Decimal(1), required=False, default=Decimal(1)),
        "lgd_pct": Percent(required=False, default=Decimal(100))}),
    "specific": Section(required=False, fields={
        "disputes": Items(required=False, default=(), name_keys=("name",), item=Section(fields={
            "name": Text(required=False),
            "reason_codes": Custom(required=False, default=None, fn=_reason_codes),
            "min_age_days": Whole(minimum=0, required=False, default=0),
            "reserve_pct": Percent()})),
        "customer_status": MapOf(value=_RECOVERY, required=False),
        "write_off_reasons": MapOf(value=_RECOVERY, required=False),
        "activity_flags": Items(required=False, default=(), name_keys=("name",),
                                item=Section(fields={
            "name": Text(required=False),
            "kinds": Items(item=Text(), min_items=1),
            "keywords": Items(item=Text(), min_items=1),
            "reserve_pct": Percent(),
            "lookback_days": Whole(minimum=1, required=False, default=365),
            "scope": Text(required=False, default="customer", choices=("customer", "invoice"))})),
    }),
    "qualitative": Items(required=False, default=(), name_keys=("name",), item=Section(fields={
        "name": Text(), "adjustment_pct": Percent(minimum=Decimal(-100)),
        "rationale": Text()})),
    "backtest": Section(required=False, fields={
        "emergence_days": Whole(minimum=1, required=False, default=365)}),
    "customer_master": Section(required=False, fields={
        "without_history": Text(required=False, default="strict",
                                choices=("strict", "assume_unchanged"))}),
})


def load_reserve_policy(path: str | Path = "reserve", aging: AgingPolicy | None = None
                        ) -> ReservePolicy:
    """Read and check a reserve policy YAML (default: the shipped ``policies/reserve.yaml``).

    Parameters
    ----------
    path : str or Path
        A policy name (``"reserve"``) or a YAML file.
    aging : AgingPolicy, optional
        Bucket definitions; default: the policy's ``aging_policy`` (the shipped buckets).

    Raises
    ------
    PolicyError
        Listing every problem, each naming its file, key and value (:mod:`workbench.policy`).
    """
    doc = RESERVE_SPEC.read(path)
    if aging is None:
        aging_ref = doc.get("aging_policy") or "aging"
        aging_path = Path(aging_ref)
        if aging_path.suffix and not aging_path.is_absolute():
            aging_path = Path(doc.source).parent / aging_path
        aging = load_aging_policy(aging_path if aging_path.suffix else aging_ref)
    labels = list(aging.labels)

    def rate_table(value, where) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            return {b: Decimal(0) for b in labels}
        missing = [b for b in labels if b not in value]
        unknown = [str(b) for b in value if b not in labels]
        if missing:
            doc.add(where, f"missing bucket(s) {', '.join(missing)} (aging policy "
                           f"{aging.name} {aging.version} has {', '.join(labels)})")
        if unknown:
            doc.add(where, f"unknown bucket(s) {', '.join(unknown)}")
        return {b: (value.get(b) or Decimal(0)) for b in labels}

    pm = (doc.get("provision_matrix") or {}).get("rates_pct") or {}
    rates = rate_table(pm.get("default"), "provision_matrix.rates_pct.default")
    seg_rates = {s: rate_table(v, f"provision_matrix.rates_pct.segments.{s}")
                 for s, v in (pm.get("segments") or {}).items()}
    if doc.raw.get("default_method") == "model":
        doc.add("default_method", "'model' needs a model file and is chosen per run")
    rr = doc.get("roll_rate") or {}
    months, min_months = rr.get("months") or 24, rr.get("min_months") or 12
    if isinstance(months, int) and isinstance(min_months, int) and min_months > months:
        doc.add("roll_rate.min_months", f"({min_months}) must not exceed roll_rate.months "
                                        f"({months})")
    sp = doc.get("specific") or {}
    d_rules = tuple(DisputeRule(str(r["name"] or f"dispute rule {i + 1}"), r["reason_codes"],
                                r["min_age_days"], r["reserve_pct"])
                    for i, r in enumerate(sp.get("disputes") or ()) if r)
    a_rules = tuple(ActivityRule(str(r["name"] or f"activity flag {i + 1}"),
                                 tuple(map(str, r["kinds"] or ())),
                                 tuple(str(w).lower() for w in (r["keywords"] or ())),
                                 r["reserve_pct"], r["lookback_days"], r["scope"])
                    for i, r in enumerate(sp.get("activity_flags") or ()) if r)

    def recoveries(key) -> dict[str, Decimal]:
        return {k: v["expected_recovery_pct"] for k, v in (sp.get(key) or {}).items() if v}

    factors = tuple(QualitativeFactor(f["name"], f["adjustment_pct"], str(f["rationale"]).strip())
                    for f in (doc.get("qualitative") or ()) if f)
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        doc.add("qualitative", "factor names must be unique")
    el = doc.get("expected_loss") or {}
    acc = doc.get("accounts") or {}
    vt = doc.get("vintage") or {}
    bt = doc.get("backtest") or {}
    cm = doc.get("customer_master") or {}
    doc.check()
    raw = dict(doc.raw, version=doc.version)
    return ReservePolicy(
        name=doc.name, version=doc.version, aging=aging, default_method=doc["default_method"],
        expense_account=acc["expense"], allowance_account=acc["allowance"],
        rates_pct=rates, segment_rates_pct=seg_rates, roll_months=months,
        roll_min_months=min_months, pool=doc["pool"],
        vintage_min_age_months=vt["min_age_months"], vintage_count=vt["vintages"],
        pd_per_late=el["pd_per_late"], lgd_pct=el["lgd_pct"], dispute_rules=d_rules,
        status_recovery_pct=recoveries("customer_status"),
        write_off_reason_recovery_pct=recoveries("write_off_reasons"),
        activity_rules=a_rules, qualitative=factors,
        emergence_days=bt["emergence_days"],
        master_without_history=cm["without_history"], source=str(doc.source), doc=raw)
