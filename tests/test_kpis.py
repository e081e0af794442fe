"""KPIs on a hand-computed ledger (tests/fixtures/kpi), period 2026Q3 (92 days).

USD, customer K1 (terms 30):
  invoice  dated       due         amount   what happens                         open 06-30 / 09-30
  A        2026-04-15  2026-05-15  1000.00  600 paid 06-20 (R1)                  400 / 400  (138 days: over 60)
  B        2026-06-10  2026-07-10  2000.00  paid 07-25 (R2)                      2000 / 0
  G        2026-06-25  2026-07-25   800.00  credit memo 300 07-10, w/o 500 09-15  800 / 0
  C        2026-07-05  2026-08-04  3000.00  1000 applied 08-21 from R3 (1200)     - / 2000 (57 days)
  D        2026-08-15  2026-09-14  1500.00  open, disputed 09-20                  - / 1500 (16 days)
  E        2026-09-10  2026-10-10  2500.00  open, not due                         - / 2500
  F        2026-09-25  2026-10-25   500.00  paid 10-05 (R5): AFTER the period     - / 500  (must stay open)

  credit sales Q3 = C + D + E + F = 3000 + 1500 + 2500 + 500 = 7500.00
  beginning AR (06-30) = A 400 + B 2000 + G 800 = 3200.00
  ending AR (09-30) = 400 + 2000 + 1500 + 2500 + 500 = 6900.00
  ending current AR (not past due) = E 2500 + F 500 = 3000.00
  DSO = 6900 / 7500 * 92 = 84.64
  countback: Sep sales 3000 (30 d) -> 3900 left; Aug 1500 (31 d) -> 2400 left;
             Jul 3000 (31 d): 31 * 2400 / 3000 = 24.8  => 30 + 31 + 24.8 = 85.8
  best possible DSO = 3000 / 7500 * 92 = 36.8;  ADD = 84.64 - 36.8 = 47.84
  CEI = (3200 + 7500 - 6900) / (3200 + 7500 - 3000) * 100 = 3800 / 7700 * 100 = 49.3506
  Aging over 60 = 400 / 6900 * 100 = 5.7971
  unapplied cash 09-30: R3 1200 - 1000 = 200 (41 days) + R4 700 unknown payer (2 days)
     = 900.00, amount-weighted age (200*41 + 700*2) / 900 = 10.6667 days
  cash collected in Q3: R2 2000 + R3 1200 + R4 700 = 3900.00 (R1 is June, R5 October)
  open disputes 09-30: DS2 on D, 1500.00, opened 09-20 -> 1 open, age 10 days
     (DS1 on C closed 09-10)
  promises due in Q3: P1 (B, 2000 by 07-24; paid 07-25: broken), P2 (C, 1000 by 08-21;
     R3 received 08-20: kept), P4 (A, 400 by 09-15: nothing: broken); P3 is due 10-05
     => kept rate 1 / 3 = 33.3333 %
EUR, customer K2: H 100.00 dated 07-01, due 07-31, open: sales 100, beginning 0, ending
  100, current 0 => DSO 92, countback: Sep 0 (30) + Aug 0 (31) + Jul 100 (31 * 100/100)
  = 92, BPDSO 0, ADD 92, CEI (0 + 100 - 100) / (0 + 100 - 0) = 0, Aging over 60 = 100
  (61 days past due).
September alone (USD): beginning AR (08-31) = A 400 + C 2000 + D 1500 + G 500 = 4400,
  sales 3000, ending 6900, current 3000: DSO 6900/3000*30 = 69, CEI 500/4400 = 11.3636 %.
"""

import json

import pytest

from workbench import Ledger
from workbench.cli import main
from workbench.kpis import (KPIOptions, average_days_delinquent, best_possible_dso,
                            collection_effectiveness_index, countback_dso, kpi_records,
                            kpi_table, kpi_trend, promise_outcomes, standard_dso)

from .conftest import FIXTURES

KPI = FIXTURES / "kpi"


@pytest.fixture(scope="module")
def ledger():
    return Ledger.load(KPI)


def test_metric_functions_against_hand_answers():
    assert standard_dso(690000, 750000, 92) == pytest.approx(84.64)
    assert countback_dso(690000, [(300000, 30), (150000, 31), (300000, 31)]) == (pytest.approx(85.8), True)
    assert countback_dso(100, [(0, 30), (50, 31)]) == (61.0, False)       # AR not used up
    assert countback_dso(0, [(10, 30)]) == (0.0, True)
    assert best_possible_dso(300000, 750000, 92) == pytest.approx(36.8)
    assert average_days_delinquent(84.64, 36.8) == pytest.approx(47.84)
    assert collection_effectiveness_index(320000, 750000, 690000, 300000) == pytest.approx(49.350649, abs=1e-6)
    assert standard_dso(5, 0, 30) is None
    assert collection_effectiveness_index(0, 100, 100, 100) is None


EXPECTED_USD = {
    "period": "2026Q3", "start": "2026-07-01", "end": "2026-09-30", "days": 92,
    "credit_sales": "7500.00", "beginning_ar": "3200.00", "ending_ar": "6900.00",
    "ending_current_ar": "3000.00", "dso": 84.64, "countback_dso": 85.8, "best_possible_dso": 36.8,
    "add": 47.84, "cei": 49.3506, "aging_over_60_pct": 5.7971, "unapplied_cash": "900.00",
    "unapplied_cash_avg_age_days": 10.6667, "cash_collected": "3900.00", "open_disputes": 1,
    "open_dispute_amount": "1500.00", "open_dispute_avg_age_days": 10.0, "promises_kept": 1,
    "promises_broken": 2, "promise_kept_rate": 33.3333, "currency": "USD",
}
EXPECTED_EUR = {
    "credit_sales": "100.00", "beginning_ar": "0.00", "ending_ar": "100.00",
    "ending_current_ar": "0.00", "dso": 92.0, "countback_dso": 92.0, "best_possible_dso": 0.0,
    "add": 92.0, "cei": 0.0, "aging_over_60_pct": 100.0, "unapplied_cash": "0.00",
    "currency": "EUR",
}


def test_quarter_kpis_hand_computed(ledger):
    records = {r["currency"]: r for r in kpi_records(kpi_table(ledger, "2026Q3"))}
    for key, value in EXPECTED_USD.items():
        assert records["USD"][key] == value, key
    for key, value in EXPECTED_EUR.items():
        assert records["EUR"][key] == value, key
    assert records["USD"]["countback_complete"] is True
    assert "ending AR / credit sales * days" in records["USD"]["formulas"]["dso"]


def test_cli_json_equals_the_hand_computation(capsys):
    assert main(["kpis", "--ledger", str(KPI), "--period", "2026Q3", "--format", "json"]) == 0
    objs = json.loads(capsys.readouterr().out)
    assert [o["currency"] for o in objs] == ["EUR", "USD"]       # one object per currency
    usd = objs[1]
    for key, value in EXPECTED_USD.items():
        assert usd[key] == value, key
    required = {"period", "start", "end", "days", "credit_sales", "beginning_ar", "ending_ar",
                "ending_current_ar", "dso", "countback_dso", "best_possible_dso", "add", "cei",
                "aging_over_60_pct", "unapplied_cash"}
    assert required <= set(usd)
    assert isinstance(usd["dso"], float) and isinstance(usd["ending_ar"], str)


def test_month_and_explicit_dates_and_trend(ledger):
    sep = {r["currency"]: r for r in kpi_records(kpi_table(ledger, "2026-09"))}["USD"]
    assert (sep["beginning_ar"], sep["credit_sales"], sep["ending_ar"], sep["dso"], sep["cei"]) == (
        "4400.00", "3000.00", "6900.00", 69.0, 11.3636)
    same = {r["currency"]: r for r in kpi_records(kpi_table(ledger, "2026-09-01..2026-09-30"))}["USD"]
    assert same["cei"] == sep["cei"] and same["dso"] == sep["dso"]
    trend = kpi_trend(ledger, "2026-09-30", points=3)
    usd = trend[trend["currency"] == "USD"]
    assert usd["period"].tolist() == ["2026-07", "2026-08", "2026-09"]
    assert usd["ending_ar"].tolist() == [390000, 440000, 690000]
    assert usd.iloc[-1]["cei"] == 11.3636
    weekly = kpi_trend(ledger, "2026-09-30", points=2, freq="W")
    assert weekly["end"].unique().tolist() == ["2026-09-20", "2026-09-27"]


def test_year_period(ledger):
    usd = {r["currency"]: r for r in kpi_records(kpi_table(ledger, "2026"))}["USD"]
    assert usd["days"] == 365 and usd["credit_sales"] == "11300.00"   # every USD invoice
    assert usd["beginning_ar"] == "0.00"


def test_cei_variants_are_named_options(ledger):
    monthly = kpi_table(ledger, "2026Q3", options=KPIOptions(cei_sales="monthly_average"))
    usd = monthly[monthly["currency"] == "USD"].iloc[0]
    # S = 7500 / 3 = 2500: (3200 + 2500 - 6900) / (3200 + 2500 - 3000) < 0 numerator
    assert usd["cei"] == round((3200 + 2500 - 6900) / (3200 + 2500 - 3000) * 100, 4)
    assert (usd["credit_sales"], usd["cei_credit_sales"]) == (750000, 250000)
    # EUR: 100.00 over 3 months = 33.333... -> 33.33 exactly (integer Fraction, half to
    # even): CEI (0 + 33.33 - 100) / (0 + 33.33 - 0) * 100 = -6667 / 3333 * 100
    eur = monthly[monthly["currency"] == "EUR"].iloc[0]
    assert eur["cei_credit_sales"] == 3333
    assert eur["cei"] == round(-6667 / 3333 * 100, 4) == -200.03
    assert kpi_table(ledger, "2026Q3").set_index("currency").loc["EUR", "cei_credit_sales"] == 10000
    thirty = kpi_table(ledger, "2026Q3", options=KPIOptions(cei_current_days=30))
    usd = thirty[thirty["currency"] == "USD"].iloc[0]
    # current = up to 30 days past due: + D 1500 (16 days) -> 4500
    assert usd["cei"] == round(3800 / (3200 + 7500 - 4500) * 100, 4)
    assert "up to 30 days past due" in thirty.attrs["formulas"]["cei"]
    with pytest.raises(ValueError, match="cei_sales must be"):
        KPIOptions(cei_sales="weird")


def test_monthly_average_sales_are_exact_integers():
    """The monthly average of CEI divides integers (Fraction), rounded half to even, never a
    float: a float loses units past 2**53 minor units."""
    from workbench.kpis import _monthly_average, _months_in
    assert [_months_in(d) for d in (28, 31, 61, 90, 92, 181, 365, 366, 7)] == \
        [1, 1, 2, 3, 3, 6, 12, 12, 1]
    assert _monthly_average(750000, 3) == 250000
    assert _monthly_average(10000, 3) == 3333              # 3333.33
    assert _monthly_average(20000, 3) == 6667              # 6666.67
    assert _monthly_average(5, 2) == 2 and _monthly_average(7, 2) == 4     # 2.5, 3.5: to even
    big = 2**60 + 1                                        # 11,529,215,046,068,469.77 USD
    assert _monthly_average(big, 3) == 384307168202282326  # exact: ...325.67
    assert int(round(big / 3)) != 384307168202282326       # what a float gave


def test_by_customer_and_report_currency(ledger):
    by = kpi_table(ledger, "2026Q3", by="customer").set_index(["customer_id", "currency"])
    assert by.loc[("K1", "USD"), "ending_ar"] == 690000
    assert by.loc[("K2", "EUR"), "ending_ar"] == 10000
    # R4 has no customer: its cash stays visible, as "(unidentified)"
    assert by.loc[("(unidentified)", "USD"), "unapplied_cash"] == 70000


def test_promises_point_in_time(ledger):
    early = promise_outcomes(ledger, "2026-08-20").set_index("activity_id")["status"].to_dict()
    # on 08-20 R3 is received but applied only on 08-21: P2 is not yet known to be kept
    assert early == {"P1": "broken", "P2": "pending"}
    late = promise_outcomes(ledger, "2026-09-30").set_index("activity_id")["status"].to_dict()
    assert late == {"P1": "broken", "P2": "kept", "P3": "pending", "P4": "broken"}
    grace = promise_outcomes(ledger, "2026-09-30", options=KPIOptions(promise_grace_days=1))
    assert grace.set_index("activity_id").loc["P1", "status"] == "kept"     # paid a day late


@pytest.mark.parametrize("period,message", [
    ("2026Q5", "unknown period '2026Q5'"),
    ("Q3 2026", "unknown period 'Q3 2026'"),
    ("2025-01", "before any data in the ledger"),
])
def test_bad_periods_are_clear_errors(capsys, period, message):
    assert main(["kpis", "--ledger", str(KPI), "--period", period]) == 2
    assert message in capsys.readouterr().err


def test_kpis_on_the_demo_are_consistent_with_aging(demo_dir):
    from workbench.aging import aging_table
    ledger = Ledger.load(demo_dir)
    kp = kpi_table(ledger, "2026Q3").set_index("currency")
    ag = aging_table(ledger, "2026-09-30").set_index("currency")
    for cur in kp.index:
        assert kp.loc[cur, "ending_ar"] == ag.loc[cur, "total"]
        assert kp.loc[cur, "ending_current_ar"] == ag.loc[cur, "current"]
        assert kp.loc[cur, "aging_over_60_pct"] == ag.loc[cur, "aging_over_60_pct"]
        assert kp.loc[cur, "unapplied_cash"] == ledger.unapplied_cash("2026-09-30").groupby(
            "currency")["unapplied_minor"].sum()[cur]


def test_kpis_by_segment_use_the_segment_of_the_period(hand_dir):
    """C1 (USD) moves from Enterprise to Small Business on 2026-02-15 (customer_changes):
    the KPIs of 2026-01 put it under Enterprise, those of 2026-03 under Small Business.
    Without the history, a past period's segments are unknown, not today's."""
    import pandas as pd
    from .test_ledger import HISTORY
    (hand_dir / "customer_changes.csv").write_text(HISTORY + "C1,2026-02-15,segment,Small Business\n")
    (hand_dir / "customers.csv").write_text((hand_dir / "customers.csv").read_text().replace(
        "C1,Acme Corp,USD,30,Enterprise", "C1,Acme Corp,USD,30,Small Business"))
    led = Ledger.load(hand_dir)
    jan = kpi_table(led, "2026-01", by="segment")
    mar = kpi_table(led, "2026-03", by="segment")
    assert set(zip(jan["segment"], jan["currency"])) >= {("Enterprise", "USD")}
    assert ("Enterprise", "USD") not in set(zip(mar["segment"], mar["currency"]))
    assert ("Small Business", "USD") in set(zip(mar["segment"], mar["currency"]))
    (hand_dir / "customer_changes.csv").unlink()
    past = kpi_table(Ledger.load(hand_dir), "2026-01", by="segment")
    assert set(past["segment"]) - {"(unidentified)"} == {"(unknown)"}     # cash of no known customer
    assert isinstance(past, pd.DataFrame)
