"""Exact money: ISO 4217 minor units, parsing, formatting and the one rounding rule.

Amounts inside the workbench are integers in the currency's minor unit (cents for
USD, yen for JPY). Text is parsed exactly: a value with more significant decimals
than the currency allows is an error, never a rounding. Trailing zeros beyond the
minor unit (``"12.340"`` for USD) denote the same exact value and are accepted.

The only place a rounding happens is :func:`convert` / :func:`round_to_minor`
(currency conversion, percentages of an amount): ROUND_HALF_EVEN ("banker's
rounding"), the IEEE 754 / IFRS-neutral default that does not bias sums upward.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "MINOR_UNITS",
    "ROUNDING",
    "MoneyError",
    "minor_units", "minor_units_array",
    "is_currency",
    "parse_amount",
    "format_amount",
    "format_money",
    "to_decimal",
    "to_major_float",
    "percent_of",
    "within_percent_of",
    "percent_of_array",
    "mean_minor",
    "round_to_minor",
    "convert",
    "parse_amount_array",
    "format_amount_array",
]

#: Rounding used for every conversion in the workbench (one rule, one place).
ROUNDING = ROUND_HALF_EVEN

#: ISO 4217 active currency codes and their minor-unit digits (ISO 4217 amendment 176).
MINOR_UNITS: dict[str, int] = {
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # zero decimals
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # four decimals (funds codes)
    "CLF": 4, "UYW": 4,
    # two decimals
    **{c: 2 for c in (
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD "
        "BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP "
        "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR "
        "JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU "
        "MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR "
        "RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS "
        "TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD YER ZAR ZMW ZWG"
    ).split()},
}


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


_AMOUNT_RE = re.compile(r"^\s*([+-]?)(\d+)(?:\.(\d*))?\s*$|^\s*([+-]?)\.(\d+)\s*$")


def is_currency(code: object) -> bool:
    """True when ``code`` is an active ISO 4217 alphabetic code (upper case)."""
    return isinstance(code, str) and code in MINOR_UNITS


def minor_units(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency (USD 2, JPY 0, KWD 3)."""
    try:
        return MINOR_UNITS[currency]
    except (KeyError, TypeError):
        raise MoneyError(f"unknown ISO 4217 currency code {currency!r}") from None


def minor_units_array(currencies) -> np.ndarray:
    """:func:`minor_units` of every code in an array (int64), each distinct code looked up
    once; an unknown code raises :class:`MoneyError` naming it."""
    codes, inverse = np.unique(np.asarray(currencies, dtype=object).astype(str),
                               return_inverse=True)
    return np.array([minor_units(c) for c in codes], dtype=np.int64)[inverse].reshape(-1) \
        if len(codes) else np.zeros(0, np.int64)


def parse_amount(text: str | Decimal | int, currency: str) -> int:
    """Parse a decimal amount to integer minor units, exactly.

    Parameters
    ----------
    text : str, Decimal or int
        ``"1234.50"``, ``"-12"``, ``Decimal("3.10")``. No thousands separators, no
        exponent: ERP exports with other conventions go through a column map.
    currency : str
        ISO 4217 code; decides how many decimals are allowed.

    Returns
    -------
    int
        The amount in minor units (``"1234.50"`` USD -> ``123450``).

    Raises
    ------
    MoneyError
        Not a plain decimal number, or more non-zero decimals than the currency has.
    """
    digits = minor_units(currency)
    if isinstance(text, bool):
        raise MoneyError(f"not an amount: {text!r}")
    if isinstance(text, int):
        _check_range(text * 10**digits, text)
        return text * 10**digits
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise MoneyError(f"not a finite amount: {text!r}")
        scaled = text.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise MoneyError(
                f"{text} has more decimals than {currency} allows ({digits})"
            )
        _check_range(int(scaled), text)
        return int(scaled)
    if not isinstance(text, str):
        raise MoneyError(f"not an amount: {text!r} ({type(text).__name__})")
    m = _AMOUNT_RE.match(text)
    if not m:
        raise MoneyError(f"not a decimal amount: {text!r}")
    if m.group(2) is not None:
        sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    else:
        sign, whole, frac = m.group(4), "0", m.group(5)
    stripped = frac.rstrip("0")
    if len(stripped) > digits:
        raise MoneyError(
            f"{text.strip()!r} has more decimals than {currency} allows ({digits})"
        )
    value = int(whole) * 10**digits + (int(stripped.ljust(digits, "0")) if digits else 0)
    _check_range(value, text)
    return -value if sign == "-" else value


#: Amounts are held in int64 minor units; 18 digits leave room for sums.
MAX_MINOR = 10**18 - 1


def _check_range(value: int, text) -> None:
    if abs(value) > MAX_MINOR:
        raise MoneyError(f"{str(text).strip()!r} is too large (more than 18 digits in minor units)")


def to_decimal(minor: int, currency: str) -> Decimal:
    """Integer minor units to an exact Decimal in major units (``123450`` USD -> ``1234.50``)."""
    digits = minor_units(currency)
    return Decimal(int(minor)).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_amount(minor: int, currency: str, *, thousands: bool = False,
                  symbol: bool = False) -> str:
    """Format minor units as a plain decimal string (``"1234.50"``, JPY ``"1234"``).

    ``thousands=True`` adds ``,`` separators and ``symbol=True`` appends the code
    (``"1,234.50 USD"``), for display only; the plain form round-trips through
    :func:`parse_amount`.
    """
    value = to_decimal(int(minor), currency)
    text = f"{value:,}" if thousands else f"{value}"
    return f"{text} {currency}" if symbol else text


def format_money(minor: int, currency: str) -> str:
    """An amount for people: thousands separators, the currency's ISO 4217 decimals and its
    code (``"1,234.50 USD"``, ``"125,000 JPY"``, ``"1.234 KWD"``)."""
    return format_amount(minor, currency, thousands=True, symbol=True)


def to_major_float(minor, currency: str):
    """Minor units as a float in major units, **for display only** (plot axes, Excel cells).

    ``minor`` is an int, a sequence, an array or a Series (missing values stay NaN); the
    result is the same shape. Never use it in a sum that must tie: sum the integers, then
    convert the total.
    """
    scale = 10 ** minor_units(currency)
    if isinstance(minor, pd.Series):
        return pd.to_numeric(minor, errors="coerce").astype("float64") / scale
    if isinstance(minor, (int, np.integer)) and not isinstance(minor, (bool, np.bool_)):
        return int(minor) / scale     # exact int, one correctly rounded division
    arr = np.asarray(minor)
    if arr.ndim == 0:
        return float("nan") if pd.isna(minor) else float(minor) / scale
    return pd.to_numeric(pd.Series(arr), errors="coerce").to_numpy(dtype="float64") / scale


def _fraction(percent) -> Fraction:
    """A percentage as an exact fraction, from its decimal text (``0.5`` -> 1/2)."""
    if isinstance(percent, bool):
        raise MoneyError(f"not a percentage: {percent!r}")
    try:
        # str() of a float is its shortest repr, the number the policy file wrote
        return Fraction(Decimal(str(percent)))
    except (ArithmeticError, ValueError, TypeError):
        raise MoneyError(f"not a finite percentage: {percent!r}") from None


def percent_of(minor: int, percent, rounding: str = ROUND_FLOOR) -> int:
    """``percent`` % of an amount in minor units, exactly, rounded once to a minor unit.

    The product is exact (decimal arithmetic on the percentage's decimal text); the one
    rounding is ``rounding`` (default ``ROUND_FLOOR``: a tolerance never grows by rounding;
    pass :data:`ROUNDING` for a share that is booked). ``percent_of(12345678, 0.5)`` (0.5 %
    of 12,345.678 KWD) is ``61728`` (61.728 KWD; exactly 61.72839).
    """
    frac = _fraction(percent)
    with localcontext() as ctx:           # exact: enough digits for any int64 product
        ctx.prec = 80
        exact = Decimal(int(minor)) * frac.numerator / frac.denominator / 100
        if Fraction(exact) != Fraction(int(minor)) * frac / 100:
            raise MoneyError(f"{percent!r} % of {minor} is not a finite decimal")
        return int(exact.to_integral_value(rounding=rounding))


def percent_of_array(minor, percent) -> np.ndarray:
    """:func:`percent_of` (rounded down) for an array of amounts in minor units: exact
    integers, ``floor(minor * p / q)`` with ``percent / 100 = p / q``, in int64 when the
    products fit and in Python integers otherwise."""
    frac = _fraction(percent) / 100
    p, q = frac.numerator, frac.denominator
    base = np.asarray(minor, dtype=np.int64)
    if int(np.abs(base).max(initial=0)) * abs(p) < 2**62:
        return (base * p) // q
    return np.array([int(b) * p // q for b in base.ravel()], dtype=np.int64).reshape(base.shape)


def within_percent_of(part, base, percent) -> np.ndarray:
    """``part <= base * percent / 100``, element-wise and exact (integer minor units):
    ``part <= percent_of_array(base, percent)``."""
    return np.asarray(part, dtype=np.int64) <= percent_of_array(base, percent)


def mean_minor(values) -> int:
    """The mean of amounts in minor units, exact, rounded once half to even
    (:data:`ROUNDING`): ``[1, 2]`` -> ``2``, ``[2, 3]`` -> ``2``, ``[1, 2, 2, 2]`` -> ``2``."""
    ints = [int(v) for v in values]
    if not ints:
        raise MoneyError("the mean of no amounts is undefined")
    return round(Fraction(sum(ints), len(ints)))      # Fraction rounds half to even


def round_to_minor(value: Decimal, currency: str) -> int:
    """Round an exact Decimal in major units to minor units with :data:`ROUNDING`."""
    digits = minor_units(currency)
    return int(Decimal(value).scaleb(digits).to_integral_value(rounding=ROUNDING))


def convert(minor: int, from_currency: str, rate: Decimal | str, to_currency: str) -> int:
    """Convert minor units with ``rate`` (units of ``to_currency`` per unit of ``from_currency``).

    The product is computed exactly in Decimal and rounded once, half to even, to
    the target currency's minor unit.
    """
    if from_currency == to_currency:
        return int(minor)
    rate = Decimal(str(rate))
    if not rate.is_finite() or rate <= 0:
        raise MoneyError(f"conversion rate must be a positive number; got {rate}")
    major = to_decimal(int(minor), from_currency) * rate
    return round_to_minor(major, to_currency)


def parse_amount_array(values: pa.Array | pa.ChunkedArray, digits: np.ndarray | int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised exact parse of decimal text to minor units.

    Parameters
    ----------
    values : pyarrow string array
        Decimal text, one amount a row (already trimmed or not).
    digits : int or int array
        Minor-unit digits per row (from each row's currency).

    Returns
    -------
    (minor, bad_format, too_many_decimals)
        ``minor`` int64 (0 where a row is bad), and two boolean masks for the rows
        that are not plain decimals and that carry more decimals than allowed.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = pc.utf8_trim_whitespace(values.cast(pa.string()))
    n = len(values)
    digits = np.broadcast_to(np.asarray(digits, dtype=np.int64), (n,))
    ok = pc.fill_null(pc.match_substring_regex(values, r"^[+-]?(\d+(\.\d*)?|\.\d+)$"), False)
    ok_np = ok.to_numpy(zero_copy_only=False)
    bad_format = ~ok_np
    # digits after the point, ignoring trailing zeros (exact value, not representation)
    clean = pc.if_else(ok, values, pa.scalar("0"))
    has_point = pc.find_substring(clean, ".").to_numpy(zero_copy_only=False)
    # strip trailing zeros only from the fractional part
    frac_trim = pc.if_else(
        pc.greater_equal(pa.array(has_point), 0),
        pc.utf8_rtrim(clean, characters="0"),
        clean,
    )
    frac_trim = pc.utf8_rtrim(frac_trim, characters=".")
    point = pc.find_substring(frac_trim, ".").to_numpy(zero_copy_only=False)
    length = pc.utf8_length(frac_trim).to_numpy(zero_copy_only=False)
    frac_len = np.where(point >= 0, length - point - 1, 0)
    too_many = (frac_len > digits) & ok_np
    intish = pc.replace_substring(frac_trim, ".", "")
    intish = pc.if_else(pc.equal(intish, ""), pa.scalar("0"), intish)
    intish = pc.if_else(pc.equal(intish, "-"), pa.scalar("0"), intish)
    intish = pc.if_else(pc.equal(intish, "+"), pa.scalar("0"), intish)
    # more than 18 significant digits does not fit int64 minor units
    magnitude = pc.utf8_ltrim(pc.utf8_ltrim(intish, characters="+-"), characters="0")
    mag_len = pc.utf8_length(magnitude).to_numpy(zero_copy_only=False)
    overflow = (mag_len + np.maximum(digits - frac_len, 0)) > 18
    bad_format = bad_format | overflow
    safe = pc.if_else(pa.array(bad_format | too_many), pa.scalar("0"), intish)
    safe = pc.replace_substring_regex(safe, r"^\+", "")     # Arrow's integer cast refuses "+"
    raw = pc.cast(safe, pa.int64()).to_numpy(zero_copy_only=False)
    scale = np.where(too_many | bad_format, 0, digits - frac_len)
    minor = raw * (10 ** scale)
    minor = np.where(bad_format | too_many, 0, minor).astype(np.int64)
    return minor, bad_format, too_many


def format_amount_array(minor: np.ndarray, digits: np.ndarray | int) -> np.ndarray:
    """Vectorised :func:`format_amount`: int64 minor units -> plain decimal text (object array)."""
    minor = np.asarray(minor, dtype=np.int64)
    n = len(minor)
    digits = np.broadcast_to(np.asarray(digits, dtype=np.int64), (n,))
    out = np.empty(n, dtype=object)
    sign = np.where(minor < 0, "-", "")
    absval = np.abs(minor)
    for d in np.unique(digits):
        sel = digits == d
        scale = 10 ** int(d)
        whole = pd.Series(absval[sel] // scale).astype(str).to_numpy(dtype=object)
        if d == 0:
            out[sel] = sign[sel].astype(object) + whole
        else:
            frac = pd.Series(absval[sel] % scale).astype(str).str.zfill(int(d)).to_numpy(dtype=object)
            out[sel] = sign[sel].astype(object) + whole + "." + frac
    return out
