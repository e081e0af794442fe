"""The policy toolkit's reading, problem list and field types (see :mod:`workbench.policy`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

import yaml

from ..config import POLICIES_DIR

CONVERSIONS = ("none", "fx_rates")


class PolicyError(ValueError):
    """A policy file that is missing, unreadable or fails its checks (every problem listed)."""


# =========================================================================== reading

def _locate(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if not path.suffix:
        path = POLICIES_DIR / f"{name_or_path}.yaml"
    return path


def read_yaml(name_or_path: str | Path, kind: str) -> tuple[dict, Path]:
    path = _locate(name_or_path)
    if not path.exists():
        raise PolicyError(f"{kind} policy file {path} does not exist")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as e:
        raise PolicyError(f"{path}: not valid YAML: {e}") from e
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"{path}: cannot be read: {e}") from e
    if not isinstance(doc, dict):
        raise PolicyError(f"{path}: a {kind} policy must be a mapping of keys to values")
    return doc, path


def read_policy(name_or_path: str | Path, kind: str) -> tuple[dict, Path]:
    """Read a policy YAML untyped: a path, or the name of a shipped default (``"aging"``).

    Returns the document and the file it came from; ``name`` and ``version`` are required
    (``version`` as text). Loaders use :meth:`PolicySpec.read`, which types every key.
    """
    doc, path = read_yaml(name_or_path, kind)
    missing = [k for k in ("name", "version") if doc.get(k) in (None, "")]
    if missing:
        raise PolicyError(f"{path}: missing {', '.join(missing)}")
    doc["version"] = str(doc["version"])
    return doc, path


# =========================================================================== problems

@dataclass
class Problems:
    """Every problem found in one policy file: ``(key path, message)`` pairs."""

    source: Path
    kind: str
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        if (path, message) not in self.items:
            self.items.append((path, message))

    def at(self, prefix: str) -> bool:
        """True when a problem was found at ``prefix`` or under it."""
        return any(p == prefix or p.startswith(prefix + ".") or p.startswith(prefix + "[")
                   for p, _ in self.items)

    def lines(self) -> list[str]:
        out = []
        for path, msg in self.items:
            where = f"{path} " if msg.startswith("must") else (f"{path}: " if path else "")
            out.append(f"{self.source.name}: {where}{msg}")
        return out

    def raise_if_any(self) -> None:
        if self.items:
            n = len(self.items)
            raise PolicyError(f"{self.source}: invalid {self.kind} policy ({n} problem"
                              f"{'s' if n > 1 else ''}):\n  " + "\n  ".join(self.lines()))


class _Invalid:
    def __repr__(self):
        return "INVALID"

    def __bool__(self):
        return False


#: What a field that failed its check holds (falsy); the problem is already recorded.
INVALID = _Invalid()
_MISSING = object()


@dataclass
class Context:
    problems: Problems
    conversion: str = "none"
    report_currency: str = "USD"


def join_path(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def show_value(value) -> str:
    return repr(value)


# =========================================================================== field types

@dataclass(frozen=True)
class Spec:
    """A typed policy field. ``required``: a missing key is a problem; else ``default``."""

    required: bool = True
    default: Any = None
    doc: str = ""

    expected = "a value"

    def parse(self, value, path: str, ctx: Context):
        return value

    def missing(self, path: str, ctx: Context):
        if self.required:
            ctx.problems.add(path, "missing (required)")
            return INVALID
        return self.default

    def wrong(self, value, path: str, ctx: Context):
        ctx.problems.add(path, f"expected {self.expected}, got {show_value(value)}")
        return INVALID


def _bounds(spec, v, path, ctx):
    lo, hi = spec.minimum, spec.maximum
    lo_open, hi_open = getattr(spec, "low_open", False), getattr(spec, "high_open", False)
    below = lo is not None and (v <= lo if lo_open else v < lo)
    above = hi is not None and (v >= hi if hi_open else v > hi)
    if below or above:
        if lo is not None and hi is not None:
            rng = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
            ctx.problems.add(path, f"must be in {rng}; got {v}")
        elif lo is not None:
            ctx.problems.add(path, f"must be {'>' if lo_open else '>='} {lo}; got {v}")
        else:
            ctx.problems.add(path, f"must be {'<' if hi_open else '<='} {hi}; got {v}")
        return INVALID
    return v


@dataclass(frozen=True)
class Whole(Spec):
    """A whole number (``True``/``False`` refused), within ``[minimum, maximum]``."""

    minimum: int | None = None
    maximum: int | None = None
    expected = "a whole number"

    def parse(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, int):
            return self.wrong(value, path, ctx)
        return _bounds(self, value, path, ctx)


@dataclass(frozen=True)
class Number(Spec):
    """A number (int or float; not a boolean), within its bounds (open or closed)."""

    minimum: float | None = None
    maximum: float | None = None
    low_open: bool = False
    high_open: bool = False
    expected = "a number"

    def parse(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return self.wrong(value, path, ctx)
        return _bounds(self, value, path, ctx)


@dataclass(frozen=True)
class Percent(Spec):
    """An exact percentage or ratio: decimal text or a number, read as a Decimal (a float
    through its shortest text, the number the file wrote)."""

    minimum: Decimal | None = Decimal(0)
    maximum: Decimal | None = Decimal(100)
    expected = "a percentage (decimal text or a number)"

    def parse(self, value, path, ctx):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return self.wrong(value, path, ctx)
        try:
            d = Decimal(str(value).strip())
        except InvalidOperation:
            return self.wrong(value, path, ctx)
        if not d.is_finite():
            return self.wrong(value, path, ctx)
        return _bounds(self, d, path, ctx)


@dataclass(frozen=True)
class Text(Spec):
    """Non-empty text, optionally one of ``choices``."""

    choices: tuple[str, ...] | None = None
    expected = "text"

    def parse(self, value, path, ctx):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and self.choices is None:
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            if self.choices:
                ctx.problems.add(path, f"must be one of {', '.join(self.choices)}; got {show_value(value)}")
                return INVALID
            return self.wrong(value, path, ctx)
        if self.choices is not None and value not in self.choices:
            ctx.problems.add(path, f"must be one of {', '.join(self.choices)}; got {show_value(value)}")
            return INVALID
        return value


@dataclass(frozen=True)
class Flag(Spec):
    """``true`` or ``false``."""

    expected = "true or false"

    def parse(self, value, path, ctx):
        return value if isinstance(value, bool) else self.wrong(value, path, ctx)


@dataclass(frozen=True)
class Custom(Spec):
    """A field checked by a function ``fn(value, path, add) -> parsed`` (``add(path, msg)``
    records a problem; return :data:`INVALID` when the value cannot be used)."""

    fn: Callable | None = None

    def parse(self, value, path, ctx):
        return self.fn(value, path, ctx.problems.add)


def _name_of(item, keys) -> str | None:
    if isinstance(item, dict):
        for k in keys:
            v = item.get(k)
            if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v).strip():
                return str(v)
    return None


@dataclass(frozen=True)
class Items(Spec):
    """A list of ``item`` fields. An item with a name (``name_keys``) is addressed by it
    (``risk_classes[C].max_limit``), else by its position (``dunning_stages[2]``)."""

    item: Spec | None = None
    min_items: int = 0
    name_keys: tuple[str, ...] = ()
    expected = "a list"

    def parse(self, value, path, ctx):
        if value is None and not self.required:
            return list(self.default or [])
        if not isinstance(value, list):
            return self.wrong(value, path, ctx)
        if len(value) < self.min_items:
            ctx.problems.add(path, f"needs at least {self.min_items} item"
                                   f"{'s' if self.min_items > 1 else ''}; got {len(value)}")
        out = []
        for i, v in enumerate(value):
            name = _name_of(v, self.name_keys)
            got = parse_value(self.item, v, f"{path}[{name if name is not None else i}]", ctx)
            out.append(got)
        return out


@dataclass(frozen=True)
class Section(Spec):
    """A mapping with declared keys (``fields``); an undeclared key is a problem unless
    ``open``. Parses to a dict of every declared key (defaults filled in)."""

    fields: dict = field(default_factory=dict)
    open: bool = False
    expected = "a mapping"

    def parse(self, value, path, ctx):
        if value is None and not self.required:
            if any(f.required for f in self.fields.values()):
                return self.default           # an optional section that is absent
            value = {}                        # every key has a default
        if not isinstance(value, dict):
            return self.wrong(value, path, ctx)
        out = {}
        for key, spec in self.fields.items():
            sub = join_path(path, key)
            out[key] = (spec.missing(sub, ctx) if key not in value
                        else parse_value(spec, value[key], sub, ctx))
        if not self.open:
            for key in value:
                if key not in self.fields:
                    near = difflib.get_close_matches(str(key), list(map(str, self.fields)), 1)
                    hint = f" (did you mean '{near[0]}'?)" if near else \
                        f" (known: {', '.join(map(str, self.fields))})"
                    ctx.problems.add(join_path(path, key), f"unknown key{hint}")
        if self.open:
            out.update({k: v for k, v in value.items() if k not in self.fields})
        return out


@dataclass(frozen=True)
class MapOf(Spec):
    """A mapping of free keys (text) to ``value`` fields."""

    value: Spec | None = None
    expected = "a mapping"

    def parse(self, value, path, ctx):
        if value is None and not self.required:
            return dict(self.default or {})
        if not isinstance(value, dict):
            return self.wrong(value, path, ctx)
        return {str(k): parse_value(self.value, v, join_path(path, k), ctx) for k, v in value.items()}


def parse_value(spec: Spec, value, path: str, ctx: Context):
    if value is None:
        return spec.missing(path, ctx) if not isinstance(spec, (Items, Section, MapOf)) or \
            spec.required else spec.parse(None, path, ctx)
    return spec.parse(value, path, ctx)
