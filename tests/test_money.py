from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.money import (MINOR_UNITS, MoneyError, convert, format_amount, format_amount_array,
                             format_money, mean_minor, minor_units, parse_amount,
                             parse_amount_array, percent_of, round_to_minor, to_decimal,
                             to_major_float, within_percent_of)


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


def test_format_money_for_people_in_each_currencys_decimals():
    assert format_money(1234, "KWD") == "1.234 KWD"
    assert format_money(250500, "KWD") == "250.500 KWD"
    assert format_money(125000, "JPY") == "125,000 JPY"
    assert format_money(-123456, "USD") == "-1,234.56 USD"
    assert format_money(5, "CLF") == "0.0005 CLF"


def test_to_major_float_is_for_display_and_keeps_missing_values():
    import pandas as pd
    assert to_major_float(1234, "KWD") == 1.234
    assert to_major_float(125000, "JPY") == 125000.0
    assert to_major_float(1, "USD") == 0.01
    got = to_major_float(pd.Series([1234, None], dtype="Int64"), "KWD")
    assert got.iloc[0] == 1.234 and np.isnan(got.iloc[1])
    assert list(to_major_float(np.array([250500, 1]), "KWD")) == [250.5, 0.001]
    with pytest.raises(MoneyError):
        to_major_float(1, "XYZ")


@pytest.mark.parametrize("minor,percent,rounding,expected", [
    (10000000, 0.5, "ROUND_FLOOR", 50000),      # 0.5 % of 100,000.00: 500.00 exactly
    (12345678, 0.5, "ROUND_FLOOR", 61728),      # 0.5 % of 12,345.678 KWD = 61.72839
    (2000001, 0.5, "ROUND_FLOOR", 10000),       # 0.5 % of 2,000,001 JPY = 10,000.005
    (2000001, 0.5, "ROUND_HALF_EVEN", 10000),   # .005 of a yen: not a half, rounds down
    (2000100, 0.5, "ROUND_HALF_EVEN", 10000),   # 10,000.5 -> even
    (2000300, 0.5, "ROUND_HALF_EVEN", 10002),   # 10,001.5 -> even
    (333, Decimal("33.3"), "ROUND_FLOOR", 110),  # 110.889
    (0, 10, "ROUND_FLOOR", 0),
    (999999999999999999, 10, "ROUND_FLOOR", 99999999999999999),   # beyond float precision
])
def test_percent_of_is_exact_with_one_stated_rounding(minor, percent, rounding, expected):
    assert percent_of(minor, percent, rounding) == expected


def test_within_percent_of_compares_exactly_at_the_boundary():
    # 0.5 % of 12,345.678 KWD is 61.72839: 61.728 is within, 61.729 is not
    assert within_percent_of([61728, 61729], [12345678, 12345678], 0.5).tolist() == [True, False]
    # 0.1 is 1/10 exactly here (a float 0.1 times 300 is 30.000000000000004)
    assert within_percent_of([30, 31], [30000, 30000], 0.1).tolist() == [True, False]
    # products beyond int64 are compared in Python integers
    big = 9 * 10**17
    assert within_percent_of([big // 10, big // 10 + 1], [big, big], 10).tolist() == [True, False]
    with pytest.raises(MoneyError):
        within_percent_of([1], [1], float("nan"))


def test_mean_minor_rounds_half_to_even_once():
    assert mean_minor([1, 2]) == 2          # 1.5
    assert mean_minor([2, 3]) == 2          # 2.5
    assert mean_minor([1, 2, 2, 2]) == 2    # 1.75
    assert mean_minor([-1, -2]) == -2       # -1.5
    assert mean_minor(np.array([10**18, 10**18 - 1], dtype=np.int64)) == 10**18   # exact
    with pytest.raises(MoneyError):
        mean_minor([])
