"""The policy toolkit: typed fields declared once, every problem reported together with
file and key path, a required version; amounts per currency checked against a ledger's
currencies (KWD 3 decimals, JPY 0)."""

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from workbench import Ledger
from workbench.aging import load_aging_policy
from workbench.cashapp import load_cashapp_policy
from workbench.collections import load_collections_policy
from workbench.credit import load_credit_policy, recommendations
from workbench.policy import (Amounts, Money, PolicyError, PolicySpec, Section, Text, Whole,
                              check_currencies)
from workbench.reserve import load_reserve_policy
from workbench.risk import risk_policy

POLICIES = Path(__file__).resolve().parent.parent / "workbench" / "policies"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _credit_text(**replace):
    text = (POLICIES / "credit.yaml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_every_shipped_policy_loads_with_its_version():
    assert load_aging_policy().version == "2026.1"
    assert load_collections_policy().label == "default-collections 2026.2"
    assert load_credit_policy().label == "default-credit 2026.2"   # same caps, same bands
    assert load_cashapp_policy().label == "default-cashapp 2026.3"
    assert load_reserve_policy().label == "default-reserve 2026.1"
    assert risk_policy()["version"] == "2026.1" and risk_policy()["late_days"] == 30


def test_several_errors_in_one_file_are_all_reported(tmp_path):
    path = _write(tmp_path, "credit.yaml", _credit_text(**{
        'max_limit: "100000.00 USD"': "max_limit: abc",
        "review_months: 24": "review_months: often",
        "financials_lag_days: 90": "financials_lag_days: -1",
        "stale_bureau_months: 12": "stale_bureau_months: 12\nstale_bureau_monts: 6",
        "{level: manager,": "{level: boss,"}))
    with pytest.raises(PolicyError) as e:
        load_credit_policy(path)
    lines = str(e.value).splitlines()
    assert lines[0] == f"{path}: invalid credit policy (5 problems):"
    assert lines[1:] == [
        "  credit.yaml: financials_lag_days must be >= 0; got -1",
        "  credit.yaml: risk_classes[A].review_months: expected a whole number, got 'often'",
        "  credit.yaml: risk_classes[C].max_limit: expected an amount, got 'abc'",
        "  credit.yaml: approval_levels[boss].level must be one of analyst, manager, director, "
        "cfo; got 'boss'",
        "  credit.yaml: stale_bureau_monts: unknown key (did you mean 'stale_bureau_months'?)",
    ]


def test_missing_version_is_an_error_beside_the_others(tmp_path):
    path = _write(tmp_path, "risk.yaml", "name: r\nlate_days: 0\nmodel_max_age_days: 180\n")
    with pytest.raises(PolicyError) as e:
        risk_policy(path)
    msg = str(e.value)
    assert 'risk.yaml: version: missing (required: every policy states its version, e.g. ' \
           'version: "2026.1")' in msg
    assert "risk.yaml: late_days must be >= 1; got 0" in msg
    path = _write(tmp_path, "aging.yaml", (POLICIES / "aging.yaml").read_text()
                  .replace('version: "2026.1"', 'version: ""'))
    with pytest.raises(PolicyError, match="aging.yaml: version: missing"):
        load_aging_policy(path)


def test_unknown_keys_are_named_with_a_suggestion(tmp_path):
    text = (POLICIES / "cashapp.yaml").read_text()
    path = _write(tmp_path, "cashapp.yaml", text.replace("fuzzy_margin: 4", "fuzzy_margn: 4")
                  .replace("  percent: 0.5", "  percent: 0.5\n  percnt: 1"))
    with pytest.raises(PolicyError) as e:
        load_cashapp_policy(path)
    msg = str(e.value)
    assert "cashapp.yaml: fuzzy_margn: unknown key (did you mean 'fuzzy_margin'?)" in msg
    assert "cashapp.yaml: fuzzy_margin: missing (required)" in msg
    assert "cashapp.yaml: short_pay_tolerance.percnt: unknown key (did you mean 'percent'?)" in msg


def test_wrong_types_are_named(tmp_path):
    text = (POLICIES / "reserve.yaml").read_text()
    path = _write(tmp_path, "reserve.yaml", text
                  .replace("  months: 24\n", "  months: 30\n")
                  .replace('lgd_pct: "90"', 'lgd_pct: "ninety"')
                  .replace("emergence_days: 365", "emergence_days: true")
                  .replace("keywords: [doubtful, uncollectible, unlikely to pay]", "keywords: doubtful"))
    with pytest.raises(PolicyError) as e:
        load_reserve_policy(path)
    msg = str(e.value)
    assert "reserve.yaml: roll_rate.months must be in [12, 24]; got 30" in msg
    assert ("reserve.yaml: expected_loss.lgd_pct: expected a percentage (decimal text or a "
            "number), got 'ninety'") in msg
    assert "reserve.yaml: backtest.emergence_days: expected a whole number, got True" in msg
    assert "reserve.yaml: specific.activity_flags[doubtful].keywords: expected a list, got 'doubtful'" in msg


def test_a_spec_declares_fields_once(tmp_path):
    spec = PolicySpec("example", {"limit": Money(), "days": Whole(minimum=1),
                                  "mode": Text(choices=("a", "b"), required=False, default="a"),
                                  "inner": Section(fields={"x": Whole()})})
    path = _write(tmp_path, "ex.yaml", 'name: e\nversion: 7\nlimit: {USD: "10.00", KWD: "1.005", '
                                       'JPY: 1500}\ndays: 3\ninner: {x: 2}\n')
    doc = spec.read(path)
    doc.check()
    assert (doc.name, doc.version, doc["days"], doc["mode"], doc["inner"]) == ("e", "7", 3, "a", {"x": 2})
    limit = doc["limit"]
    assert limit.values == (("USD", 1000), ("KWD", 1005), ("JPY", 1500))
    assert limit.text() == "10.00 USD, 1.005 KWD, 1500 JPY"
    with pytest.raises(PolicyError, match=r"ex.yaml: limit: no amount for EUR \(the policy gives "
                                          r"USD, KWD, JPY\); add EUR: \.\.\., or set "
                                          r"currency_conversion: fx_rates"):
        limit.minor("EUR")


# ------------------------------------------------------------------ amounts per currency

def _kwd_jpy_ledger(report_currency="USD"):
    cust = [{"customer_id": c, "name": f"Customer {c}", "currency": cur, "payment_terms_days": 30}
            for c, cur in (("K1", "KWD"), ("J1", "JPY"), ("U1", "USD"))]
    inv = [{"invoice_id": i, "customer_id": c, "invoice_date": "2026-06-01",
            "due_date": "2026-07-01", "amount": a}
           for i, c, a in (("K-1", "K1", "1234.567"), ("J-1", "J1", "150000"), ("U-1", "U1", "999.99"))]
    fx = [{"date": "2026-01-01", "currency": "KWD", "rate_to_report": "3.25"},
          {"date": "2026-01-01", "currency": "JPY", "rate_to_report": "0.0067"}]
    return Ledger.from_frames({"customers": pd.DataFrame(cust), "invoices": pd.DataFrame(inv),
                               "fx_rates": pd.DataFrame(fx)}, report_currency=report_currency)


def test_credit_caps_in_kwd_and_jpy(tmp_path):
    ledger = _kwd_jpy_ledger()
    assert ledger.currencies == ["JPY", "KWD", "USD"]
    # the shipped policy: one USD cap per class, converted at the as-of fx_rates rate, half
    # to even: class C 100,000.00 USD = 30,769.230769... KWD -> 30,769.231; 14,925,373.13 JPY
    recs = recommendations(ledger, ["K1", "J1", "U1"], "2026-07-15").set_index("customer_id")
    caps = {c: recs.loc[c, "candidates"]["class C cap"] for c in ("K1", "J1", "U1")}
    assert caps == {"K1": 30769231, "J1": 14925373, "U1": 10000000}
    resolved = load_credit_policy().for_ledger(ledger, "2026-07-15")
    c = next(k for k in resolved.classes if k.name == "C")
    assert c.max_limit.values == (("USD", 10000000), ("JPY", 14925373), ("KWD", 30769231))
    # per currency without conversion: each currency's own amount, exactly as written
    path = _write(tmp_path, "credit.yaml", _credit_text(**{
        "currency_conversion: fx_rates": "currency_conversion: none",
        'max_limit: "100000.00 USD"': 'max_limit: {USD: "100000.00", JPY: 15000000, KWD: "30000.000"}'}))
    with pytest.raises(PolicyError) as e:          # the other classes give USD only
        recommendations(ledger, ["K1", "J1"], "2026-07-15", policy=load_credit_policy(path))
    msg = str(e.value)
    assert ("credit.yaml: risk_classes[A].max_limit: no amount for JPY (the policy gives USD); "
            "add JPY: ..., or set currency_conversion: fx_rates") in msg
    assert "credit.yaml: risk_classes[A].max_limit: no amount for KWD" in msg
    assert "credit.yaml: approval_levels[analyst].up_to: no amount for KWD" not in msg  # USD report
    # only the currencies of the customers reviewed are needed: a USD customer is fine
    assert len(recommendations(ledger, ["U1"], "2026-07-15", policy=load_credit_policy(path))) == 1
    text = _credit_text(**{"currency_conversion: fx_rates": "currency_conversion: none"})
    import re
    text = re.sub(r'max_limit: "([0-9]+)\.00 USD"',
                  lambda m: f'max_limit: {{USD: "{m[1]}.00", JPY: {int(m[1]) * 150}, '
                            f'KWD: "{int(m[1]) * 3 // 10}.000"}}', text)
    policy = load_credit_policy(_write(tmp_path, "credit2.yaml", text))
    recs = recommendations(ledger, ["K1", "J1"], "2026-07-15", policy=policy).set_index("customer_id")
    assert recs.loc["K1", "candidates"]["class C cap"] == 30000000       # 30,000.000 KWD
    assert recs.loc["J1", "candidates"]["class C cap"] == 15000000       # 15,000,000 JPY


def test_a_policy_amount_with_too_many_decimals_for_its_currency(tmp_path):
    path = _write(tmp_path, "credit.yaml", _credit_text(**{
        'max_limit: "25000.00 USD"': 'max_limit: {USD: "25000.00", JPY: "3750000.5", KWD: "7500.0001"}'}))
    with pytest.raises(PolicyError) as e:
        load_credit_policy(path)
    msg = str(e.value)
    assert "credit.yaml: risk_classes[D].max_limit.JPY: '3750000.5' has more decimals than JPY allows (0)" in msg
    assert "credit.yaml: risk_classes[D].max_limit.KWD: '7500.0001' has more decimals than KWD allows (3)" in msg


def test_cashapp_tolerances_per_currency():
    p = load_cashapp_policy()
    assert (p.tolerance(0, "USD"), p.tolerance(0, "JPY"), p.tolerance(0, "KWD")) == (5000, 7500, 15000)
    # 0.5 % of 12,345.678 KWD = 61.72839 -> 61.728 KWD (rounded down), above 15.000
    assert p.tolerance(12345678, "KWD") == 61728
    assert p.tolerances([0, 12345678], "KWD").tolist() == [15000, 61728]
    assert p.overpayment_tolerance(0, "JPY") == 75000
    ledger = _kwd_jpy_ledger()
    assert p.for_ledger(ledger, "2026-07-15").short_pay_amount.get("KWD") == 15000
    # a currency the policy does not list is converted from USD with the ledger's rates
    sek = Amounts((("USD", 5000),), convert=True, where="cashapp.yaml: x")
    with pytest.raises(PolicyError, match="no SEK amount; it is converted from USD"):
        sek.minor("SEK")
    assert sek.minor("KWD", ledger, "2026-07-15") == 15385      # 50.00 / 3.25 = 15.3846 KWD


def test_check_currencies_lists_every_gap():
    none = Amounts((("USD", 100),), where="x.yaml: a")
    other = Amounts((("USD", 100), ("JPY", 1)), where="x.yaml: b")
    with pytest.raises(PolicyError) as e:
        check_currencies({"a": none, "b": [other]}, ["USD", "JPY", "KWD"])
    lines = str(e.value).splitlines()[1:]
    assert [ln.strip().split(" (")[0] for ln in lines] == [
        "x.yaml: a: no amount for JPY", "x.yaml: a: no amount for KWD",
        "x.yaml: b: no amount for KWD"]
    check_currencies({"a": Amounts(default="25.50")}, ["USD", "KWD"])      # fits both
    with pytest.raises(PolicyError, match="no JPY amount, and the default '25.50' is not one"):
        check_currencies({"a": Amounts(default="25.50", where="x.yaml: d")}, ["JPY"])
    assert Decimal("1") == 1
