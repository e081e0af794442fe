"""The credit policy: risk classes, limits, approval levels by amount (``policies/credit.yaml``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..ledger import Ledger
from ..policy import (
    Amounts,
    Items,
    Money,
    Number,
    PolicySpec,
    Section,
    Text,
    Whole,
    resolve_all,
)

DECISIONS = ("approve", "approve_other", "decline", "hold")
LEVELS = ("analyst", "manager", "director", "cfo")


# =========================================================================== policy

@dataclass(frozen=True)
class RiskClass:
    name: str
    min_points: float | None
    max_limit: Amounts          # the class's cap, per currency (workbench.policy.Amounts)
    review_months: int
    documents: tuple[str, ...]
    max_pd: float | None = None


@dataclass(frozen=True)
class CreditPolicy:
    name: str
    version: str
    financials_lag_days: int
    stale_financials_months: int
    stale_bureau_months: int
    classes: tuple[RiskClass, ...]
    tnw_pct: float | None
    wc_pct: float | None
    bureau_pct: float | None
    months_of_purchases: float | None
    levels: tuple[tuple[str, Amounts | None], ...]
    report_currency: str = "USD"
    classes_by: str = "points"            # "pd": by probability of default; "points"
    unscored_class: str | None = None     # the class of a customer no scorecard scored

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def risk_class(self, points: float | None = None, pd: float | None = None) -> RiskClass:
        """The class of a score: by probability of default (``classes_by: pd``, the first
        class whose ``max_pd`` it does not exceed) or by points (the first whose
        ``min_points`` it reaches); the last class takes the rest. Unscored (no ``pd``
        under ``classes_by: pd``): ``unscored_class``."""
        if self.classes_by == "pd":
            if pd is None or pd != pd:
                return self.neutral_class()
            for c in self.classes:
                if c.max_pd is None or pd <= c.max_pd:
                    return c
            return self.classes[-1]
        for c in self.classes:
            if c.min_points is None or points >= c.min_points:
                return c
        return self.classes[-1]

    def neutral_class(self) -> RiskClass:
        """The class of an unscored customer: ``unscored_class``, else the class of 580
        points (the scale's neutral score)."""
        if self.unscored_class is not None:
            return next(c for c in self.classes if c.name == self.unscored_class)
        return self.risk_class(points=580.0) if self.classes_by == "points" else self.classes[len(self.classes) // 2]

    def approver_for(self, limit_report_minor: int) -> str:
        """The least level that may approve a limit of this amount in the report currency
        (``approval_levels``: each ``up_to`` in the report currency; resolve a policy whose
        amounts are converted with :meth:`for_ledger` first)."""
        for level, up_to in self.levels:
            if up_to is None or limit_report_minor <= up_to.minor(self.report_currency):
                return level
        return self.levels[-1][0]

    def can_approve(self, level: str, limit_report_minor: int) -> bool:
        needed = self.approver_for(limit_report_minor)
        return LEVELS.index(level) >= LEVELS.index(needed)

    def for_ledger(self, ledger: Ledger, as_of, currencies=None) -> "CreditPolicy":
        """This policy with its class caps given in each of the ledger's currencies and its
        approval limits in the report currency, converted at ``as_of`` where the
        policy says ``currency_conversion: fx_rates`` (the default of credit policies);
        :class:`PolicyError` listing every amount a currency lacks. ``currencies``: the
        customers' currencies to give the caps in (default: every currency of the ledger's
        invoices and customers)."""
        customers = sorted({*ledger.currencies, *ledger.customers["currency"].dropna()}) \
            if currencies is None else sorted(set(currencies))
        classes, levels = resolve_all(
            (self.classes, ledger, as_of, customers),               # caps: customers' currencies
            (self.levels, ledger, as_of, [self.report_currency]))   # approvals: the report's
        return dataclasses.replace(self, classes=classes, levels=levels)


_DOCUMENTS = ("bureau", "financials", "trade_references")

#: The credit policy's keys (beside name, version, description, currency_conversion). Its
#: amounts are converted per customer with fx_rates unless the policy says
#: ``currency_conversion: none`` (then each currency needs its own amount).
CREDIT_SPEC = PolicySpec("credit", {
    "financials_lag_days": Whole(minimum=0, doc="a statement is known this long after its end"),
    "stale_financials_months": Whole(minimum=0),
    "stale_bureau_months": Whole(minimum=0),
    "classes_by": Text(choices=("pd", "points"), required=False, default="points"),
    "unscored_class": Text(required=False),
    "risk_classes": Items(item=Section(fields={
        "class": Text(),
        "min_points": Number(required=False),
        "max_pd": Number(minimum=0, maximum=1, low_open=True, high_open=True, required=False),
        "max_limit": Money(bare="report", minimum=0, doc="the class's cap"),
        "review_months": Whole(minimum=1),
        "documents": Items(item=Text(choices=_DOCUMENTS), required=False, default=())}),
        min_items=1, name_keys=("class",)),
    "limit_formulas": Section(required=False, fields={
        k: Number(minimum=0, required=False) for k in (
            "tangible_net_worth_pct", "working_capital_pct", "bureau_recommended_pct",
            "months_of_purchases")}),
    "approval_levels": Items(item=Section(fields={
        "level": Text(choices=LEVELS),
        "up_to": Money(bare="report", minimum=0, required=False)}),
        min_items=1, name_keys=("level",)),
}, conversion="fx_rates")


def load_credit_policy(path: str | Path = "credit", report_currency: str = "USD") -> CreditPolicy:
    """Read and check a credit policy (default: the shipped one); every problem reported
    together (:mod:`workbench.policy`).

    ``report_currency``: the currency approval limits are compared in (a limit is
    converted into it), and the currency of an amount written without one (older
    policies). Amounts are per currency (``"500000.00 USD"`` or ``{USD: ..., JPY: ...}``);
    :meth:`CreditPolicy.for_ledger` gives them in a ledger's currencies.
    """
    doc = CREDIT_SPEC.read(path, report_currency=report_currency)
    classes = [RiskClass(c["class"], c["min_points"], c["max_limit"], c["review_months"],
                         tuple(d for d in (c["documents"] or ()) if d), c["max_pd"])
               for c in (doc.get("risk_classes") or []) if c and c["class"]]
    classes_by = doc.get("classes_by") or "points"
    key = "max_pd" if classes_by == "pd" else "min_points"
    bounds = [getattr(c, key) for c in classes if getattr(c, key) is not None]
    if classes and len(classes) == len(doc.get("risk_classes") or []):
        if getattr(classes[-1], key) is not None:
            doc.add(f"risk_classes[{classes[-1].name}].{key}",
                    f"the last class must have no {key} (it takes the rest)")
        elif len(bounds) != len(classes) - 1:
            doc.add("risk_classes", f"every class but the last needs {key} (classes_by: "
                                    f"{classes_by})")
        if all(isinstance(b, (int, float)) for b in bounds):
            if classes_by == "points" and any(b >= a for a, b in zip(bounds, bounds[1:])):
                doc.add("risk_classes", f"min_points must decrease class by class; got {bounds}")
            if classes_by == "pd" and any(b <= a for a, b in zip(bounds, bounds[1:])):
                doc.add("risk_classes", f"max_pd must increase class by class; got {bounds}")
    unscored = doc.get("unscored_class")
    if unscored is not None and unscored not in [c.name for c in classes]:
        doc.add("unscored_class", f"{unscored!r} is not one of the risk classes")
    levels = doc.check_tiers("approval_levels", "level", "level")
    f = doc.get("limit_formulas") or {}
    doc.check()
    return CreditPolicy(doc.name, doc.version, doc["financials_lag_days"],
                        doc["stale_financials_months"], doc["stale_bureau_months"], tuple(classes),
                        f.get("tangible_net_worth_pct"), f.get("working_capital_pct"),
                        f.get("bureau_recommended_pct"), f.get("months_of_purchases"),
                        tuple(levels), report_currency, classes_by, unscored)


