"""Open balances and aging on the hand-computed ledger (tests/fixtures/hand).

As of 2026-03-31 (every figure worked out by hand):

USD (Acme, C1)
- I1 1000.00, due 2026-02-04: paid 600.00 (R1, applied 02-02), credit memo CM1 100.00
  (03-10) -> open 300.00; 55 days past due -> 31-60.
- I2 500.00, due 03-12: 200.00 applied 03-16 (R2); R3's 300.00 applied 04-03 is after the
  as-of date and does not count -> open 300.00; 19 days -> 1-30.
- I3 250.00, due 04-19: not yet due -> current.
- I4 300.00, due 2025-10-31: written off 04-05, after the as-of -> open 300.00; 151 days
  -> over_120.
- I8 200.00, due 2025-12-20: 150.00 written off 03-25 -> open 50.00; 101 days -> 91-120.
  Total 1200.00; over 60 days: 50.00 + 300.00 = 350.00 -> 29.1667 %.
- CM3 40.00 has no invoice: an unapplied credit, not netted into AR.
EUR (Beta, C2)
- I5 800.00, due 01-14: 500.00 applied 02-21; CM2 50.00 is dated 04-01 (after) -> open
  300.00; 76 days -> 61-90. I6 is dated 04-02: not in AR yet. Over 60: 100 %.
JPY (Gamma, C3)
- I7 120000, due 03-01: 50000 applied 03-31 (on the as-of date: counts) -> open 70000;
  30 days -> 1-30.
Unapplied cash: R2 300.00 - 200.00 = 100.00 USD (R3 is received after the as-of date).
Report currency USD (EUR 1.0850 on 03-31; JPY 0.006700 on 03-30, the 04-01 rate is later):
  EUR 300.00 -> 325.50; JPY 70000 -> 469.00. Buckets: current 250.00, 1-30 769.00,
  31-60 300.00, 61-90 325.50, 91-120 50.00, over_120 300.00; total 1994.50;
  over 60: 675.50 / 1994.50 = 33.8681 %.
"""

import pandas as pd
import pytest

from workbench import Ledger
from workbench.aging import aging_records, aging_table, load_aging_policy
from workbench.policy import PolicyError

AS_OF = "2026-03-31"


#: The hand ledger's master history: every customer's segment and collector since it was
#: onboarded (so the as-of views of 2026-03-31, before the ledger's last date, know them).
HISTORY = """customer_id,effective_date,field,value
C1,2025-01-02,segment,Enterprise
C1,2025-01-02,collector,Ann Lee
C2,2025-01-02,segment,Small Business
C2,2025-01-02,collector,Bob Stone
C3,2025-01-02,segment,Small Business
C3,2025-01-02,collector,Ann Lee
"""


@pytest.fixture
def ledger(hand_dir):
    (hand_dir / "customer_changes.csv").write_text(HISTORY)
    return Ledger.load(hand_dir)


def test_money_is_int64_minor_units(ledger):
    inv = ledger.invoices.set_index("invoice_id")
    assert str(inv["amount_minor"].dtype) == "int64"
    assert inv.loc["I1", "amount_minor"] == 100000
    assert inv.loc["I7", "amount_minor"] == 120000      # JPY: no minor digits


def test_open_items_hand_computed(ledger):
    items = ledger.open_items(AS_OF).set_index("invoice_id")
    assert sorted(items.index) == ["I1", "I2", "I3", "I4", "I5", "I7", "I8"]
    expected = {"I1": (30000, 55, 60000, 10000, 0), "I2": (30000, 19, 20000, 0, 0),
                "I3": (25000, -19, 0, 0, 0), "I4": (30000, 151, 0, 0, 0),
                "I5": (30000, 76, 50000, 0, 0), "I7": (70000, 30, 50000, 0, 0),
                "I8": (5000, 101, 0, 0, 15000)}
    for inv, (open_, dpd, applied, credited, written) in expected.items():
        row = items.loc[inv]
        assert (row["open_minor"], row["days_past_due"], row["applied_minor"],
                row["credited_minor"], row["written_off_minor"]) == (open_, dpd, applied,
                                                                      credited, written), inv
    assert items.loc["I1", "customer_name"] == "Acme Corp"
    assert items.loc["I1", "segment"] == "Enterprise"


def test_ar_balance_and_unapplied_cash(ledger):
    assert ledger.ar_balance(AS_OF) == {"EUR": 30000, "JPY": 70000, "USD": 120000}
    un = ledger.unapplied_cash(AS_OF)
    assert un[["receipt_id", "unapplied_minor", "days_unapplied"]].values.tolist() == [["R2", 10000, 16]]


def test_as_of_is_point_in_time(ledger):
    # the day before R5 was applied, I7 is fully open; after the write-off I4 disappears
    items = ledger.open_items("2026-03-30").set_index("invoice_id")
    assert items.loc["I7", "open_minor"] == 120000
    later = ledger.open_items("2026-04-05").set_index("invoice_id")
    assert "I4" not in later.index
    assert "I2" not in later.index                      # R3 300.00 applied 04-03 settles it
    assert later.loc["I5", "open_minor"] == 25000       # CM2 50.00 counted from 04-01
    assert later.loc["I6", "open_minor"] == 10000       # invoiced 04-02
    assert ledger.ar_balance("2025-09-30") == {}        # before any invoice


def test_aging_by_currency_hand_computed(ledger):
    t = aging_table(ledger, AS_OF).set_index("currency")
    assert t.loc["USD", ["current", "1-30", "31-60", "61-90", "91-120", "over_120", "total"]
                 ].tolist() == [25000, 30000, 30000, 0, 5000, 30000, 120000]
    assert t.loc["USD", "aging_over_60_pct"] == pytest.approx(29.1667)
    assert t.loc["EUR", "61-90"] == 30000 and t.loc["EUR", "aging_over_60_pct"] == 100.0
    assert t.loc["JPY", "1-30"] == 70000 and t.loc["JPY", "aging_over_60_pct"] == 0.0
    assert t.loc["USD", "invoices"] == 5


def test_aging_records_are_decimal_strings(ledger):
    usd = [r for r in aging_records(aging_table(ledger, AS_OF)) if r["currency"] == "USD"][0]
    assert usd["buckets"] == {"current": "250.00", "1-30": "300.00", "31-60": "300.00",
                              "61-90": "0.00", "91-120": "50.00", "over_120": "300.00"}
    assert usd["total"] == "1200.00" and usd["aging_over_60_pct"] == 29.1667
    jpy = [r for r in aging_records(aging_table(ledger, AS_OF)) if r["currency"] == "JPY"][0]
    assert jpy["total"] == "70000"


def test_aging_in_report_currency(ledger):
    t = aging_table(ledger, AS_OF, report_currency="USD")
    assert len(t) == 1
    row = t.iloc[0]
    assert [row[c] for c in ("current", "1-30", "31-60", "61-90", "91-120", "over_120", "total")
            ] == [25000, 76900, 30000, 32550, 5000, 30000, 199450]
    assert row["aging_over_60_pct"] == pytest.approx(33.8681)


def test_aging_report_currency_needs_a_rate(ledger):
    with pytest.raises(ValueError, match="no fx_rates row for EUR on or before 2026-03-01"):
        aging_table(ledger, "2026-03-01", report_currency="USD")


def test_aging_by_group(ledger):
    by_collector = aging_table(ledger, AS_OF, by="collector").set_index(["collector", "currency"])
    assert by_collector.loc[("Ann Lee", "USD"), "total"] == 120000
    assert by_collector.loc[("Ann Lee", "JPY"), "total"] == 70000
    assert by_collector.loc[("Bob Stone", "EUR"), "total"] == 30000
    by_customer = aging_table(ledger, AS_OF, by="customer")
    assert by_customer.set_index("customer_id").loc["C1", "customer_name"] == "Acme Corp"
    with pytest.raises(ValueError, match="by must be one of"):
        aging_table(ledger, AS_OF, by="region")


@pytest.mark.parametrize("dpd,bucket", [(-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"),
                                        (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
                                        (91, "91-120"), (120, "91-120"), (121, "over_120"),
                                        (999, "over_120")])
def test_bucket_boundaries(dpd, bucket):
    policy = load_aging_policy()
    assert policy.labels[int(policy.bucket_of([dpd])[0])] == bucket


def test_aging_policy_errors(tmp_path):
    bad = tmp_path / "aging.yaml"
    bad.write_text("name: x\nversion: 1\nbuckets:\n  - {label: current, max_days: 0}\n"
                   "  - {label: '1-30', min_days: 2, max_days: 30}\n  - {label: later, min_days: 31}\n")
    with pytest.raises(PolicyError, match=r"'1-30' must start the day after 'current' ends \(min_days = 1\); got 2"):
        load_aging_policy(bad)
    bad.write_text("name: x\nbuckets: []\n")
    with pytest.raises(PolicyError, match=r"version: missing \(required") as e:
        load_aging_policy(bad)
    assert "aging.yaml: buckets: needs at least 2 items; got 0" in str(e.value)   # together
    with pytest.raises(PolicyError, match="does not exist"):
        load_aging_policy(tmp_path / "nope.yaml")


def test_summary_and_hash_are_stable(ledger, hand_dir):
    s = ledger.summary()
    assert s["tables"]["invoices"]["rows"] == 8
    assert s["tables"]["invoices"]["amount"] == {"EUR": "900.00", "JPY": "120000", "USD": "2250.00"}
    assert s["last_date"] == "2026-04-05"
    assert Ledger.load(hand_dir).content_hash() == ledger.content_hash()


def test_parquet_round_trip(ledger, tmp_path):
    out = ledger.to_parquet(tmp_path / "pq")
    again = Ledger.load(out)
    for name in ledger.present:
        a, b = ledger[name], again[name]
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b[a.columns].reset_index(drop=True),
                                      check_dtype=False, obj=name)
    assert aging_records(aging_table(again, AS_OF)) == aging_records(aging_table(ledger, AS_OF))


def test_cross_rates_through_the_reporting_currency(hand_dir):
    from decimal import Decimal
    with open(hand_dir / "fx_rates.csv", "a") as f:
        f.write("2026-03-31,GBP,1.2500\n")
    ledger = Ledger.load(hand_dir)
    assert ledger.fx_rate("EUR", AS_OF, "GBP") == Decimal("0.868")    # 1.0850 / 1.2500
    assert ledger.fx_rate("USD", AS_OF, "GBP") == Decimal("0.8")
    assert ledger.fx_rate("GBP", AS_OF) == Decimal("1.2500")
    t = aging_table(ledger, AS_OF, report_currency="GBP").iloc[0]
    assert t["61-90"] == 26040                                         # 300.00 EUR -> 260.40 GBP
