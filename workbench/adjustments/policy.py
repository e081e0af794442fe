"""The adjustments policy: approval levels with their limits, and the sources that propose
(``workbench/policies/adjustments.yaml`` ships the default)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..policy import (
    Amounts,
    Flag,
    Items,
    Money,
    Percent,
    PolicySpec,
    Section,
    Text,
)


KINDS = ("credit_memo", "write_off")
SOURCES = ("dispute", "pricing_error", "short_pay", "small_balance")   # priority order
EVENTS = ("proposed", "approved", "refused", "exported", "withdrawn")
LEVELS = ("analyst", "manager", "director", "cfo")


class AdjustmentError(ValueError):
    """An adjustment request refused (unknown, wrong state, above authority, not open)."""


@dataclass(frozen=True)
class AdjustmentsPolicy:
    name: str
    version: str
    levels: tuple[tuple[str, Amounts | None], ...]
    sources: dict
    source: str = ""
    self_approval: bool = False      # may the proposer approve? (segregation of duties: no)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def limit_minor(self, level: str, currency: str, ledger=None, as_of=None) -> int | None:
        """The most ``level`` may approve in ``currency`` (minor units); None: no limit."""
        names = [n for n, _ in self.levels]
        if level not in names:
            raise AdjustmentError(f"unknown authority {level!r}: the policy {self.label} has "
                                  f"levels {', '.join(names)}")
        up_to = dict(self.levels)[level]
        return None if up_to is None else up_to.minor(currency, ledger, as_of)

    def level_for(self, amount_minor: int, currency: str, ledger=None, as_of=None) -> str:
        """The least level that may approve this amount."""
        for name, up_to in self.levels:
            if up_to is None or amount_minor <= up_to.minor(currency, ledger, as_of):
                return name
        return self.levels[-1][0]


def _source_spec(extra=None):
    return Section(fields={"enabled": Flag(required=False, default=True),
                           "kind": Text(choices=KINDS), "reason_code": Text(), **(extra or {})})


ADJUSTMENTS_SPEC = PolicySpec("adjustments", {
    "self_approval": Flag(required=False, default=False),
    "approval_levels": Items(item=Section(fields={
        "level": Text(choices=LEVELS), "up_to": Money(minimum=0, required=False)}),
        min_items=1, name_keys=("level",)),
    "sources": Section(fields={
        "dispute": _source_spec(),
        "short_pay": _source_spec({"tolerance": Money(minimum=0),
                                   "tolerance_pct": Percent(required=False, default=None)}),
        "small_balance": _source_spec(),
        "pricing_error": _source_spec({"marker": Text(required=False, default="PRICING ERROR")}),
    }),
}, conversion="fx_rates")


def load_adjustments_policy(path: str | Path = "adjustments") -> AdjustmentsPolicy:
    """Read and check an adjustments policy YAML (default: the shipped one); every problem
    is collected and reported together in one :class:`PolicyError`, each naming file and key."""
    doc = ADJUSTMENTS_SPEC.read(path)
    levels = doc.check_tiers("approval_levels", "level", "level")
    names = [n for n, _ in levels]
    if len(set(names)) != len(names):
        doc.add("approval_levels", f"a level appears twice: {names}")
    order = [n for n in LEVELS if n in names]
    if names != order:
        doc.add("approval_levels", f"levels must go from least to most authority "
                                   f"({', '.join(LEVELS)}); got {', '.join(names)}")
    sources = doc.get("sources") or {}
    doc.check()
    return AdjustmentsPolicy(doc.name, doc.version, tuple(levels), dict(sources), str(doc.source),
                             bool(doc.get("self_approval") or False))
