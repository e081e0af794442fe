"""A policy file read through its spec (see :mod:`workbench.policy`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


from .fields import (CONVERSIONS, INVALID, Context, Custom, Problems, Section, Spec, Text,
                     parse_value, read_yaml, show_value)


# =========================================================================== the spec

@dataclass
class PolicyDoc:
    """A policy file read through its :class:`PolicySpec`: typed ``values`` (every
    declared key; :data:`INVALID` where a check failed), the ``problems`` found, the
    ``source`` file, ``name`` and ``version``."""

    values: dict
    problems: Problems
    source: Path
    raw: dict
    context: Context | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.values.get("name") or ""

    @property
    def version(self) -> str:
        return self.values.get("version") or ""

    def __getitem__(self, key):
        return self.values[key]

    def get(self, key, default=None):
        v = self.values.get(key, default)
        return default if v is INVALID else v

    def add(self, path: str, message: str) -> None:
        self.problems.add(path, message)

    def parse(self, spec: Spec, value, path: str):
        """Type one more value (an argument overriding the file, say) as this policy's
        key ``path``; a problem joins the others. Returns :data:`INVALID` when it fails."""
        self.problems.items = [i for i in self.problems.items if i[0] != path]
        return parse_value(spec, value, path, self.context or Context(self.problems))

    def check(self) -> None:
        """Raise one :class:`PolicyError` with every problem found (if any)."""
        self.problems.raise_if_any()

    def check_tiers(self, key: str, name_key: str, noun: str) -> list[tuple]:
        """The ``(name, up_to)`` of a list of tiers whose last takes the rest (approval
        levels, escalation tiers): the last has no ``up_to``, every other one has one."""
        tiers = [(t[name_key], t["up_to"] or None) for t in (self.get(key) or [])
                 if t and t[name_key]]
        if tiers and tiers[-1][1] is not None:
            self.add(f"{key}[{tiers[-1][0]}].up_to",
                     f"the last {noun} must have no up_to (it takes the rest)")
        if any(t[1] is None for t in tiers[:-1]):
            self.add(key, f"every {noun} but the last needs up_to")
        return tiers


def _version(value, path, add):
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        add(path, f"expected a version (text such as \"2026.1\"), got {show_value(value)}")
        return INVALID
    return str(value).strip()


@dataclass(frozen=True)
class PolicySpec:
    """The declared keys of one kind of policy (beside ``name``, ``version``,
    ``description`` and ``currency_conversion``, which every policy has).

    ``conversion``: the ``currency_conversion`` a policy of this kind gets when its file
    does not say (``"none"``; credit policies ``"fx_rates"``, as they always converted)."""

    kind: str
    fields: dict
    conversion: str = "none"

    def read(self, name_or_path: str | Path, report_currency: str = "USD") -> PolicyDoc:
        raw, path = read_yaml(name_or_path, self.kind)
        problems = Problems(path, self.kind)
        conv = raw.get("currency_conversion", self.conversion)
        if conv not in CONVERSIONS:
            problems.add("currency_conversion", f"must be one of {', '.join(CONVERSIONS)}; got "
                                                f"{show_value(conv)}")
            conv = self.conversion
        ctx = Context(problems, conv, report_currency)
        head = {"name": Text(doc="the policy's name"),
                "version": Custom(fn=_version, doc="the policy's version"),
                "description": Text(required=False),
                "currency_conversion": Text(required=False, default=self.conversion,
                                            choices=CONVERSIONS)}
        if "version" not in raw or raw.get("version") in (None, ""):
            problems.add("version", "missing (required: every policy states its version, e.g. "
                                    "version: \"2026.1\")")
            raw = {k: v for k, v in raw.items() if k != "version"}
            head["version"] = Custom(required=False, default=INVALID, fn=_version)
        spec = Section(fields={**head, **self.fields})
        values = spec.parse(raw, "", ctx)
        if values is INVALID:
            values = {}
        return PolicyDoc(values, problems, path, raw, ctx)
