"""The policy toolkit: versioned YAML policies read, typed and checked in one place.

A policy is data (``workbench/policies/*.yaml`` ships the defaults); every report names
the policy name and version it ran with. Each policy declares its keys once, as a tree of
typed fields (:class:`Whole`, :class:`Number`, :class:`Percent`, :class:`Text`,
:class:`Flag`, :class:`Money`, :class:`Section`, :class:`Items`, :class:`MapOf`), in a
:class:`PolicySpec`; :meth:`PolicySpec.read` types the whole file and collects **every**
problem (wrong type, out of range, missing, unknown key), each named by file and key
path, and the loader adds its cross-field checks to the same list before one
:class:`PolicyError` reports them together::

    credit.yaml: risk_classes[C].max_limit: expected an amount with its currency, got 'abc'
    credit.yaml: version: missing (required: every policy states its version, ...)

Every policy needs ``name`` and ``version``; ``description`` is optional.

Amounts of money
----------------
An amount in a policy is given per currency, each read through :mod:`workbench.money`
with that currency's ISO 4217 decimals (:class:`Amounts`)::

    max_balance: {USD: "25.00", EUR: "25.00", JPY: "3000", KWD: "8.000"}
    max_limit: "500000.00 USD"                  # one amount in one currency
    max_limit: {amount: "500000.00", currency: USD}

A ledger currency an amount does not list is an error (:meth:`Amounts.minor`,
:func:`check_currencies`), unless the policy says ``currency_conversion: fx_rates``: then
the amount of its first listed currency is converted at the ledger's ``fx_rates`` rate on
the as-of date (:meth:`workbench.ledger.Ledger.fx_rate`, one rounding half to even). A
``default`` entry (older policies) is the amount for any unlisted currency read in that
currency's own units (``"25.00"`` is 25.000 KWD, and no amount in JPY at all).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable

import yaml

from .config import POLICIES_DIR

__all__ = ["PolicyError", "read_policy", "PolicySpec", "PolicyDoc", "Problems", "Spec", "Whole",
           "Number", "Percent", "Text", "Flag", "Money", "Section", "Items", "MapOf", "Custom",
           "Amounts", "check_currencies", "resolve_amounts", "resolve_all", "CONVERSIONS",
           "INVALID"]

#: ``currency_conversion`` values: ``none`` (every ledger currency needs its own amount) or
#: ``fx_rates`` (unlisted currencies converted from the first listed one).
CONVERSIONS = ("none", "fx_rates")


class PolicyError(ValueError):
    """A policy file that is missing, unreadable or fails its checks (every problem listed)."""


# =========================================================================== reading

def _locate(name_or_path: str | Path) -> Path:
    path = Path(name_or_path)
    if not path.suffix:
        path = POLICIES_DIR / f"{name_or_path}.yaml"
    return path


def _read_yaml(name_or_path: str | Path, kind: str) -> tuple[dict, Path]:
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
    doc, path = _read_yaml(name_or_path, kind)
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
class _Context:
    problems: Problems
    conversion: str = "none"
    report_currency: str = "USD"


def _join(path: str, key) -> str:
    return f"{path}.{key}" if path else str(key)


def _show(value) -> str:
    return repr(value)


# =========================================================================== field types

@dataclass(frozen=True)
class Spec:
    """A typed policy field. ``required``: a missing key is a problem; else ``default``."""

    required: bool = True
    default: Any = None
    doc: str = ""

    expected = "a value"

    def parse(self, value, path: str, ctx: _Context):
        return value

    def missing(self, path: str, ctx: _Context):
        if self.required:
            ctx.problems.add(path, "missing (required)")
            return INVALID
        return self.default

    def wrong(self, value, path: str, ctx: _Context):
        ctx.problems.add(path, f"expected {self.expected}, got {_show(value)}")
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
                ctx.problems.add(path, f"must be one of {', '.join(self.choices)}; got {_show(value)}")
                return INVALID
            return self.wrong(value, path, ctx)
        if self.choices is not None and value not in self.choices:
            ctx.problems.add(path, f"must be one of {', '.join(self.choices)}; got {_show(value)}")
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
            got = _parse(self.item, v, f"{path}[{name if name is not None else i}]", ctx)
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
            sub = _join(path, key)
            out[key] = (spec.missing(sub, ctx) if key not in value
                        else _parse(spec, value[key], sub, ctx))
        if not self.open:
            for key in value:
                if key not in self.fields:
                    near = difflib.get_close_matches(str(key), list(map(str, self.fields)), 1)
                    hint = f" (did you mean '{near[0]}'?)" if near else \
                        f" (known: {', '.join(map(str, self.fields))})"
                    ctx.problems.add(_join(path, key), f"unknown key{hint}")
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
        return {str(k): _parse(self.value, v, _join(path, k), ctx) for k, v in value.items()}


def _parse(spec: Spec, value, path: str, ctx: _Context):
    if value is None:
        return spec.missing(path, ctx) if not isinstance(spec, (Items, Section, MapOf)) or \
            spec.required else spec.parse(None, path, ctx)
    return spec.parse(value, path, ctx)


# =========================================================================== money

@dataclass(frozen=True)
class Amounts:
    """An amount of money given per currency in a policy, exact (minor units).

    Attributes
    ----------
    values : tuple of (currency, minor units)
        As listed in the policy, in its order.
    default : str, optional
        Decimal text for any currency not listed, read in that currency's own units
        (older policies; refused where it has more decimals than the currency allows).
    convert : bool
        The policy says ``currency_conversion: fx_rates``: a currency not listed takes the
        first listed amount converted at the ledger's ``fx_rates`` rate on the as-of date.
    where : str
        ``"<file>: <key path>"``, for messages.
    """

    values: tuple[tuple[str, int], ...] = ()
    default: str | None = None
    convert: bool = False
    where: str = ""

    @property
    def currencies(self) -> list[str]:
        return [c for c, _ in self.values]

    def get(self, currency: str) -> int | None:
        for c, v in self.values:
            if c == currency:
                return v
        return None

    def minor(self, currency: str, ledger=None, as_of=None) -> int:
        """The amount in ``currency``, minor units. A currency the policy does not list:
        its ``default``, else (``currency_conversion: fx_rates``) the first listed amount
        converted at the ``fx_rates`` rate on ``as_of`` (needs ``ledger`` and ``as_of``),
        else :class:`PolicyError` naming the amount and the currency."""
        from .money import MoneyError, convert, parse_amount

        got = self.get(currency)
        if got is not None:
            return got
        if self.default is not None:
            try:
                return parse_amount(self.default, currency)
            except MoneyError as e:
                raise PolicyError(f"{self.where}: no {currency} amount, and the default "
                                  f"{self.default!r} is not one: {e}") from None
        if self.convert and self.values:
            if ledger is None or as_of is None:
                raise PolicyError(f"{self.where}: no {currency} amount; it is converted from "
                                  f"{self.values[0][0]} with the ledger's fx_rates, so resolve "
                                  f"the policy for a ledger and date first (for_ledger)")
            base, amount = self.values[0]
            try:
                rate = ledger.fx_rate(base, as_of, currency)
            except ValueError as e:
                raise PolicyError(f"{self.where}: no {currency} amount, and it cannot be "
                                  f"converted from {base}: {e}") from None
            return convert(int(amount), base, rate, currency)
        raise PolicyError(f"{self.where}: no amount for {currency} (the policy gives "
                          f"{', '.join(self.currencies) or 'none'}); add {currency}: ..., "
                          f"or set currency_conversion: fx_rates")

    def resolved(self, currencies, ledger=None, as_of=None) -> "Amounts":
        """Every currency of ``currencies`` listed (converted or read once); raises
        :class:`PolicyError` for the first it cannot give (see :func:`check_currencies`)."""
        have = dict(self.values)
        for c in currencies:
            if c not in have:
                have[c] = self.minor(c, ledger, as_of)
        return dataclasses.replace(self, values=tuple(have.items()))

    def text(self) -> str:
        """``"500000.00 USD"`` or ``"25.00 USD, 3000 JPY"`` (and how others are found)."""
        from .money import format_amount

        parts = [f"{format_amount(v, c)} {c}" for c, v in self.values]
        if self.default is not None:
            parts.append(f"{self.default} in any other currency")
        elif self.convert:
            parts.append("others converted with fx_rates")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.text()


@dataclass(frozen=True)
class Money(Spec):
    """An amount per currency (:class:`Amounts`). Accepted forms: ``{USD: "25.00", JPY:
    3000}``, ``"25.00 USD"``, ``{amount: "25.00", currency: USD}``; a ``default`` entry in
    the mapping; ``bare``: what a number without a currency means (``"default"``: the
    default of every currency, as older collections policies wrote; ``"report"``: an
    amount in the loader's report currency, as older credit policies wrote; None: refused).
    ``minimum``: the least amount allowed (minor units, e.g. 0)."""

    bare: str | None = None
    minimum: int | None = 0
    expected = "an amount with its currency ('25.00 USD') or one per currency ({USD: '25.00', JPY: 3000})"

    def parse(self, value, path, ctx):
        from .money import MoneyError, is_currency, parse_amount

        where = f"{ctx.problems.source.name}: {path}"
        entries: list[tuple[str, object]] = []
        default = None
        if isinstance(value, bool):
            return self.wrong(value, path, ctx)
        if isinstance(value, str) and len(value.split()) == 2:
            a, c = value.split()
            if is_currency(a) and not is_currency(c):
                a, c = c, a
            entries = [(c, a)]
        elif isinstance(value, dict) and set(value) == {"amount", "currency"}:
            entries = [(value["currency"], value["amount"])]
        elif isinstance(value, dict):
            for c, a in value.items():
                if c == "default":
                    default = a
                else:
                    entries.append((c, a))
        elif isinstance(value, (str, int, float)) and self.bare == "default":
            default = value
        elif isinstance(value, (str, int, float)) and self.bare == "report":
            entries = [(ctx.report_currency, value)]
        else:
            return self.wrong(value, path, ctx)
        ok = True
        out = []
        single = not isinstance(value, dict) or set(value) == {"amount", "currency"}
        for cur, amount in entries:
            sub = path if single else _join(path, cur)
            if not isinstance(cur, str) or not is_currency(cur):
                ctx.problems.add(sub, f"not an ISO 4217 currency code: {_show(cur)}")
                ok = False
                continue
            if isinstance(amount, bool) or not isinstance(amount, (str, int, float)) \
                    or not _is_decimal(str(amount).strip()):
                ctx.problems.add(sub, f"expected an amount, got {_show(amount)}")
                ok = False
                continue
            try:
                minor = parse_amount(str(amount).strip(), cur)
            except MoneyError as e:
                ctx.problems.add(sub, str(e))
                ok = False
                continue
            if self.minimum is not None and minor < self.minimum:
                ctx.problems.add(sub, f"must be >= {self.minimum}; got {amount}")
                ok = False
            out.append((cur, minor))
        if default is not None:
            sub = _join(path, "default")
            if isinstance(default, bool) or not isinstance(default, (str, int, float)):
                ctx.problems.add(sub, f"expected an amount, got {_show(default)}")
                ok = False
            else:
                text = str(default).strip()
                try:      # the most decimals any currency has (3): each currency checks again
                    d = Decimal(text)
                    if not d.is_finite() or d.as_tuple().exponent < -3:
                        raise InvalidOperation
                except InvalidOperation:
                    ctx.problems.add(sub, f"expected an amount, got {_show(default)}")
                    ok = False
                else:
                    if self.minimum is not None and d < self.minimum:
                        ctx.problems.add(sub, f"must be >= {self.minimum}; got {text}")
                        ok = False
                    default = text
        if not entries and default is None:
            return self.wrong(value, path, ctx)
        if not ok:
            return INVALID
        return Amounts(tuple(out), None if default is None else str(default),
                       ctx.conversion == "fx_rates", where)


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _walk_amounts(obj, fn):
    """``obj`` with ``fn`` applied to every :class:`Amounts` inside it (dataclasses,
    tuples, lists, dicts), rebuilt only where something changed."""
    if isinstance(obj, Amounts):
        return fn(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in dataclasses.fields(obj):
            if not f.init or f.name == "doc":
                continue
            v = getattr(obj, f.name)
            new = _walk_amounts(v, fn)
            if new is not v:
                changes[f.name] = new
        return dataclasses.replace(obj, **changes) if changes else obj
    if isinstance(obj, (tuple, list)):
        items = [_walk_amounts(v, fn) for v in obj]
        if any(a is not b for a, b in zip(items, obj)):
            return type(obj)(items)
        return obj
    if isinstance(obj, dict):
        items = {k: _walk_amounts(v, fn) for k, v in obj.items()}
        if any(items[k] is not obj[k] for k in obj):
            return items
        return obj
    return obj


def check_currencies(policy, currencies, ledger=None, as_of=None) -> None:
    """Check that every amount of ``policy`` (a policy object) can be given in each of
    ``currencies`` (e.g. ``ledger.currencies``); raise one :class:`PolicyError` listing
    every amount and currency it cannot (with ``ledger`` and ``as_of``, conversions
    through ``fx_rates`` are tried too)."""
    problems: list[str] = []

    def check(a: Amounts):
        for c in currencies:
            if a.get(c) is not None or a.default is not None and _default_fits(a.default, c):
                continue
            if a.convert and (ledger is None or as_of is None):
                continue
            try:
                a.minor(c, ledger, as_of)
            except PolicyError as e:
                problems.append(str(e))
        return a

    _walk_amounts(policy, check)
    if problems:
        raise PolicyError("the policy has no amount for some of the ledger's currencies:\n  "
                          + "\n  ".join(dict.fromkeys(problems)))


def _default_fits(text: str, currency: str) -> bool:
    from .money import MoneyError, parse_amount

    try:
        parse_amount(text, currency)
        return True
    except MoneyError:
        return False


def resolve_amounts(policy, ledger, as_of, currencies=None):
    """A copy of ``policy`` (a policy object, or any tuple, list or dict holding
    :class:`Amounts`) whose every amount lists each currency of ``currencies`` (default:
    ``ledger.currencies``) exactly, conversions done once at ``as_of``. Raises
    :class:`PolicyError` listing every amount it cannot give (:func:`check_currencies`)."""
    wanted = list(dict.fromkeys(ledger.currencies if currencies is None else currencies))
    check_currencies(policy, wanted, ledger, as_of)
    return _walk_amounts(policy, lambda a: a.resolved(wanted, ledger, as_of))


def resolve_all(*parts) -> list:
    """Resolve several ``(obj, ledger, as_of, currencies)`` parts of one policy
    (:func:`resolve_amounts`), reporting the problems of all of them in one
    :class:`PolicyError`."""
    out, problems = [], []
    for obj, ledger, as_of, currencies in parts:
        try:
            out.append(resolve_amounts(obj, ledger, as_of, currencies))
        except PolicyError as e:
            problems += str(e).splitlines()[1:]
            out.append(obj)
    if problems:
        raise PolicyError("the policy has no amount for some of the ledger's currencies:\n"
                          + "\n".join(dict.fromkeys(problems)))
    return out


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
    context: _Context | None = field(default=None, repr=False)

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
        return _parse(spec, value, path, self.context or _Context(self.problems))

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
        add(path, f"expected a version (text such as \"2026.1\"), got {_show(value)}")
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
        raw, path = _read_yaml(name_or_path, self.kind)
        problems = Problems(path, self.kind)
        conv = raw.get("currency_conversion", self.conversion)
        if conv not in CONVERSIONS:
            problems.add("currency_conversion", f"must be one of {', '.join(CONVERSIONS)}; got "
                                                f"{_show(conv)}")
            conv = self.conversion
        ctx = _Context(problems, conv, report_currency)
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
