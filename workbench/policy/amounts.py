"""Amounts of money in policies, per currency (see :mod:`workbench.policy`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


from .fields import (INVALID, PolicyError, Spec, join_path, show_value)


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
        from ..money import MoneyError, convert, parse_amount

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
        from ..money import format_amount

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
        from ..money import MoneyError, is_currency, parse_amount

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
            sub = path if single else join_path(path, cur)
            if not isinstance(cur, str) or not is_currency(cur):
                ctx.problems.add(sub, f"not an ISO 4217 currency code: {show_value(cur)}")
                ok = False
                continue
            if isinstance(amount, bool) or not isinstance(amount, (str, int, float)) \
                    or not _is_decimal(str(amount).strip()):
                ctx.problems.add(sub, f"expected an amount, got {show_value(amount)}")
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
            sub = join_path(path, "default")
            if isinstance(default, bool) or not isinstance(default, (str, int, float)):
                ctx.problems.add(sub, f"expected an amount, got {show_value(default)}")
                ok = False
            else:
                text = str(default).strip()
                try:      # the most decimals any currency has (3): each currency checks again
                    d = Decimal(text)
                    if not d.is_finite() or d.as_tuple().exponent < -3:
                        raise InvalidOperation
                except InvalidOperation:
                    ctx.problems.add(sub, f"expected an amount, got {show_value(default)}")
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
    from ..money import MoneyError, parse_amount

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
