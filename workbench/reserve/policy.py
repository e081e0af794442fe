"""The reserve policy (``policies/reserve.yaml``): read, checked, every problem listed."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..aging import AgingPolicy, load_aging_policy
from ..policy import PolicyError, read_policy

__all__ = ["ReservePolicy", "DisputeRule", "ActivityRule", "QualitativeFactor",
           "load_reserve_policy", "METHODS", "POOLED_METHODS"]

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
        Listing every problem, each naming its field and value.
    """
    doc, src = read_policy(path, "reserve")
    errors: list[str] = []
    if aging is None:
        aging_ref = doc.get("aging_policy", "aging")
        aging_path = Path(aging_ref)
        if aging_path.suffix and not aging_path.is_absolute():
            aging_path = Path(src).parent / aging_path
        aging = load_aging_policy(aging_path if aging_path.suffix else aging_ref)
    labels = list(aging.labels)

    def section(name, required=True) -> dict:
        v = doc.get(name)
        if v is None and not required:
            return {}
        if not isinstance(v, dict):
            errors.append(f"{name}: missing (a mapping is required)")
            return {}
        return v

    def pct(value, where, lo=Decimal(0), hi=Decimal(100), allow_negative=False) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            errors.append(f"{where} must be a percentage (decimal text); got {value!r}")
            return Decimal(0)
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            errors.append(f"{where} must be a percentage (decimal text); got {value!r}")
            return Decimal(0)
        if not d.is_finite():
            errors.append(f"{where} must be a finite number; got {value!r}")
            return Decimal(0)
        low = -hi if allow_negative else lo
        if not low <= d <= hi:
            errors.append(f"{where} must be in [{low}, {hi}]; got {value!r}")
        return d

    def whole(sec, where, key, default=None, minimum=0) -> int:
        v = sec.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int):
            errors.append(f"{where}.{key} must be a whole number; got {v!r}")
            return minimum
        if v < minimum:
            errors.append(f"{where}.{key} must be >= {minimum}; got {v}")
        return v

    def rate_table(value, where) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            errors.append(f"{where}: a rate per aging bucket is required ({', '.join(labels)})")
            return {b: Decimal(0) for b in labels}
        missing = [b for b in labels if b not in value]
        unknown = [str(b) for b in value if b not in labels]
        if missing:
            errors.append(f"{where}: missing bucket(s) {', '.join(missing)} (aging policy "
                          f"{aging.name} {aging.version} has {', '.join(labels)})")
        if unknown:
            errors.append(f"{where}: unknown bucket(s) {', '.join(unknown)}")
        return {b: pct(value.get(b, 0), f"{where}.{b}") for b in labels}

    method = doc.get("default_method", "roll_rate")
    if method not in METHODS[:3]:
        errors.append(f"default_method must be one of {', '.join(METHODS[:3])}; got {method!r} "
                      f"('model' needs a model file and is chosen per run)")
    acc = section("accounts")
    for key in ("expense", "allowance"):
        if not isinstance(acc.get(key), str) or not acc.get(key):
            errors.append(f"accounts.{key}: an account name is required")

    pm = section("provision_matrix")
    rates_doc = pm.get("rates_pct") if isinstance(pm.get("rates_pct"), dict) else {}
    if not rates_doc:
        errors.append("provision_matrix.rates_pct: missing (default rates per bucket)")
    rates = rate_table(rates_doc.get("default"), "provision_matrix.rates_pct.default")
    seg_doc = rates_doc.get("segments") or {}
    if not isinstance(seg_doc, dict):
        errors.append("provision_matrix.rates_pct.segments must map a segment to its rates")
        seg_doc = {}
    seg_rates = {str(s): rate_table(v, f"provision_matrix.rates_pct.segments.{s}")
                 for s, v in seg_doc.items()}

    rr = section("roll_rate")
    months = whole(rr, "roll_rate", "months", 24, 1)
    if not 12 <= months <= 24:
        errors.append(f"roll_rate.months must be in [12, 24]; got {months}")
    min_months = whole(rr, "roll_rate", "min_months", 12, 1)
    if min_months > months:
        errors.append(f"roll_rate.min_months ({min_months}) must not exceed roll_rate.months "
                      f"({months})")
    if "pool" in rr:
        errors.append("roll_rate.pool: moved to the top-level 'pool' (it applies to the roll-rate "
                      "and vintage estimates)")
    pool = doc.get("pool", "portfolio")
    if pool not in ("portfolio", "currency"):
        errors.append(f"pool must be portfolio or currency; got {pool!r}")

    vt = section("vintage")
    el = section("expected_loss")
    pd_per_late = pct(el.get("pd_per_late", "1"), "expected_loss.pd_per_late", hi=Decimal(1))
    lgd = pct(el.get("lgd_pct", "100"), "expected_loss.lgd_pct")

    sp = section("specific", required=False)
    d_rules = []
    for i, r in enumerate(sp.get("disputes") or []):
        where = f"specific.disputes[{i}]"
        if not isinstance(r, dict):
            errors.append(f"{where}: a mapping with reason_codes, min_age_days, reserve_pct")
            continue
        codes = r.get("reason_codes", "any")
        if codes != "any" and (not isinstance(codes, list) or not codes):
            errors.append(f"{where}.reason_codes must be a list of codes or 'any'; got {codes!r}")
            codes = []
        d_rules.append(DisputeRule(str(r.get("name") or f"dispute rule {i + 1}"),
                                   None if codes == "any" else tuple(map(str, codes)),
                                   whole(r, where, "min_age_days", 0),
                                   pct(r.get("reserve_pct"), f"{where}.reserve_pct")))

    def recoveries(key) -> dict[str, Decimal]:
        v = sp.get(key) or {}
        if not isinstance(v, dict):
            errors.append(f"specific.{key} must map a value to {{expected_recovery_pct: ...}}")
            return {}
        out = {}
        for k, spec in v.items():
            rec = spec.get("expected_recovery_pct") if isinstance(spec, dict) else None
            out[str(k)] = pct(rec, f"specific.{key}.{k}.expected_recovery_pct")
        return out

    status_rec = recoveries("customer_status")
    wo_rec = recoveries("write_off_reasons")
    a_rules = []
    for i, r in enumerate(sp.get("activity_flags") or []):
        where = f"specific.activity_flags[{i}]"
        if not isinstance(r, dict):
            errors.append(f"{where}: a mapping with kinds, keywords, reserve_pct")
            continue
        kinds, words = r.get("kinds"), r.get("keywords")
        if not isinstance(kinds, list) or not kinds:
            errors.append(f"{where}.kinds must be a list of activity kinds; got {kinds!r}")
            kinds = []
        if not isinstance(words, list) or not words:
            errors.append(f"{where}.keywords must be a list of words; got {words!r}")
            words = []
        scope = r.get("scope", "customer")
        if scope not in ("customer", "invoice"):
            errors.append(f"{where}.scope must be customer or invoice; got {scope!r}")
        a_rules.append(ActivityRule(str(r.get("name") or f"activity flag {i + 1}"),
                                    tuple(map(str, kinds)), tuple(str(w).lower() for w in words),
                                    pct(r.get("reserve_pct"), f"{where}.reserve_pct"),
                                    whole(r, where, "lookback_days", 365, 1), scope))

    factors = []
    q_doc = doc.get("qualitative") or []
    if not isinstance(q_doc, list):
        errors.append("qualitative must be a list of factors (name, adjustment_pct, rationale)")
        q_doc = []
    for i, f in enumerate(q_doc):
        where = f"qualitative[{i}]"
        if not isinstance(f, dict) or not f.get("name"):
            errors.append(f"{where}: needs name, adjustment_pct and rationale")
            continue
        if not str(f.get("rationale") or "").strip():
            errors.append(f"{where} ({f['name']}): a rationale is required")
        factors.append(QualitativeFactor(str(f["name"]),
                                         pct(f.get("adjustment_pct"), f"{where}.adjustment_pct",
                                             allow_negative=True),
                                         str(f.get("rationale") or "").strip()))
    names = [f.name for f in factors]
    if len(set(names)) != len(names):
        errors.append("qualitative: factor names must be unique")
    bt = section("backtest", required=False)
    cm = section("customer_master", required=False)
    without = cm.get("without_history", "strict")
    if without not in ("strict", "assume_unchanged"):
        errors.append(f"customer_master.without_history must be strict or assume_unchanged; "
                      f"got {without!r}")
    policy = ReservePolicy(
        name=doc["name"], version=doc["version"], aging=aging, default_method=str(method),
        expense_account=str(acc.get("expense") or ""), allowance_account=str(acc.get("allowance") or ""),
        rates_pct=rates, segment_rates_pct=seg_rates, roll_months=months, roll_min_months=min_months,
        pool=str(pool),
        vintage_min_age_months=whole(vt, "vintage", "min_age_months", 12, 1),
        vintage_count=whole(vt, "vintage", "vintages", 12, 1),
        pd_per_late=pd_per_late, lgd_pct=lgd, dispute_rules=tuple(d_rules),
        status_recovery_pct=status_rec, write_off_reason_recovery_pct=wo_rec,
        activity_rules=tuple(a_rules), qualitative=tuple(factors),
        emergence_days=whole(bt, "backtest", "emergence_days", 365, 1),
        master_without_history=str(without), source=str(src), doc=doc)
    if errors:
        raise PolicyError(f"{src}: invalid reserve policy:\n  " + "\n  ".join(errors))
    return policy
