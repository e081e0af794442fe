from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.money import (MINOR_UNITS, MoneyError, convert, format_amount, format_amount_array,
                             minor_units, parse_amount, parse_amount_array, round_to_minor,
                             to_decimal)


@pytest.mark.parametrize("code,digits", [("USD", 2), ("EUR", 2), ("CAD", 2), ("GBP", 2),
                                         ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3),
                                         ("CLF", 4)])
def test_minor_units_follow_iso_4217(code, digits):
    assert minor_units(code) == digits


def test_unknown_currency_is_an_error():
    with pytest.raises(MoneyError, match="unknown ISO 4217 currency code 'XYZ'"):
        minor_units("XYZ")
    with pytest.raises(MoneyError):
        minor_units("usd")


@pytest.mark.parametrize("text,currency,minor", [
    ("1234.50", "USD", 123450), ("1234.5", "USD", 123450), ("-0.01", "USD", -1),
    ("0", "USD", 0), (".5", "EUR", 50), ("7.", "USD", 700), (" 12.30 ", "USD", 1230),
    ("1500", "JPY", 1500), ("1500.00", "JPY", 1500), ("12.340", "USD", 1234),
    ("1.234", "KWD", 1234), ("+3.10", "USD", 310),
])
def test_parse_amount_exact(text, currency, minor):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize("text,currency", [
    ("12.345", "USD"), ("0.001", "EUR"), ("1500.5", "JPY"), ("1.2345", "KWD"),
])
def test_extra_decimals_are_rejected_never_rounded(text, currency):
    with pytest.raises(MoneyError, match="more decimals than"):
        parse_amount(text, currency)


@pytest.mark.parametrize("text", ["", "abc", "1e3", "1,234.50", "12.3.4", "--1", "NaN", "inf"])
def test_non_decimal_text_is_rejected(text):
    with pytest.raises(MoneyError):
        parse_amount(text, "USD")


def test_parse_decimal_and_int_inputs():
    assert parse_amount(Decimal("3.10"), "USD") == 310
    assert parse_amount(5, "USD") == 500
    with pytest.raises(MoneyError):
        parse_amount(Decimal("3.105"), "USD")
    with pytest.raises(MoneyError):
        parse_amount(1.5, "USD")   # binary floats are not amounts


def test_format_amount():
    assert format_amount(123450, "USD") == "1234.50"
    assert format_amount(-5, "USD") == "-0.05"
    assert format_amount(1500, "JPY") == "1500"
    assert format_amount(123456789, "USD", thousands=True, symbol=True) == "1,234,567.89 USD"
    assert to_decimal(1234, "KWD") == Decimal("1.234")


def test_conversion_rounds_half_to_even_once():
    # 0.125 -> 0.12 (half to even), 0.135 -> 0.14
    assert convert(25, "USD", "0.5", "EUR") == 12
    assert convert(27, "USD", "0.5", "EUR") == 14
    assert round_to_minor(Decimal("2.5"), "JPY") == 2
    assert round_to_minor(Decimal("3.5"), "JPY") == 4
    assert convert(100000, "JPY", "0.0067", "USD") == 67000   # 100000 yen -> 670.00 USD
    assert convert(30000, "EUR", "1.0850", "USD") == 32550
    assert convert(123, "USD", "7", "USD") == 123              # same currency: no conversion
    with pytest.raises(MoneyError):
        convert(1, "USD", "0", "EUR")


def test_vectorised_parse_matches_scalar():
    texts = ["12.30", "5", "-1.5", "1e3", "12.345", "12.340", ".5", "", "abc", " 7.25 ",
             "99999999999999999999", "9999999999999999.99", "99999999999999999.9", "1500.5", "1500"]
    digits = np.array([2] * 13 + [0, 0])
    minor, bad, too_many = parse_amount_array(pa.array(texts), digits)
    for t, d, m, b, tm in zip(texts, digits, minor, bad, too_many):
        code = "USD" if d == 2 else "JPY"
        try:
            expected = parse_amount(t, code)
        except MoneyError:
            assert b or tm, t
            continue
        assert not b and not tm and m == expected, t


amounts = st.integers(min_value=-(10**15), max_value=10**15)
currencies = st.sampled_from(sorted(MINOR_UNITS))


@given(amounts, currencies)
@settings(max_examples=300)
def test_parse_of_format_round_trips(minor, currency):
    assert parse_amount(format_amount(minor, currency), currency) == minor
    assert parse_amount(format_amount(minor, currency, thousands=False), currency) == minor


@given(st.lists(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2,
                            allow_nan=False, allow_infinity=False), max_size=200))
@settings(max_examples=200)
def test_sums_of_parsed_amounts_equal_decimal_sums(values):
    texts = [f"{v:.2f}" for v in values]
    total_minor = sum(parse_amount(t, "USD") for t in texts)
    assert to_decimal(total_minor, "USD") == sum((Decimal(t) for t in texts), Decimal("0"))
    vec, bad, too_many = parse_amount_array(pa.array(texts, type=pa.string()), 2)
    assert not bad.any() and not too_many.any()
    assert int(vec.sum()) == total_minor


@given(st.lists(amounts, max_size=50), st.lists(st.sampled_from([0, 2, 3]), min_size=50, max_size=50))
def test_vectorised_format_matches_scalar(values, digits):
    d = np.array(digits[: len(values)], dtype=np.int64)
    got = format_amount_array(np.array(values, dtype=np.int64), d)
    code = {0: "JPY", 2: "USD", 3: "KWD"}
    assert list(got) == [format_amount(v, code[int(k)]) for v, k in zip(values, d)]
