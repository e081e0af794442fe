"""Bad-debt reserve (workbench.reserve) against hand-computed answers.

Every ledger here is small enough to work out on paper; the working is in each test's
docstring or comments. The shipped aging buckets apply: current (not yet due), 1-30, 31-60,
61-90, 91-120, over_120 days past due. The test policy (tests/fixtures/reserve/policy.yaml)
has round provision-matrix rates:

    bucket          current  1-30  31-60  61-90  91-120  over_120
    default (%)         1      3     10     25     50       80
    Small Business (%)  2      6     15     35     60       90
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.aging import load_aging_policy
from workbench.policy import PolicyError
from workbench.master import master_as_of
from workbench.reserve import (History, absorbing_loss_rates, backtest, build_history,
                               expected_loss_model, lifetime_loss_curve,
                               load_reserve_policy, qualitative_adjustments, reconcile_rollforward,
                               reserve_analysis, roll_rate_flows, roll_rate_reserve, rollforward,
                               specific_reserves, transition_matrix, vintage_loss_rate,
                               vintage_reserve, vintage_table)
from workbench.reserve.policy import QualitativeFactor

from .conftest import FIXTURES

POLICY = FIXTURES / "reserve" / "policy.yaml"
LABELS = ["current", "1-30", "31-60", "61-90", "91-120", "over_120"]


@pytest.fixture(scope="module")
def policy():
    return load_reserve_policy(POLICY)


def frames(**tables) -> Ledger:
    return Ledger.from_frames({k: pd.DataFrame(v) for k, v in tables.items()})


def cust(cid, currency="USD", segment="Enterprise", **extra):
    return {"customer_id": cid, "name": f"Customer {cid}", "currency": currency,
            "payment_terms_days": 30, "segment": segment, **extra}


def inv(iid, cid, date, due, amount, currency="USD"):
    return {"invoice_id": iid, "customer_id": cid, "invoice_date": date, "due_date": due,
            "amount": amount, "currency": currency}


def gl(period_end, beginning, provision, write_offs, recoveries, ending):
    return {"period_end": period_end, "beginning_balance": beginning, "provision": provision,
            "write_offs": write_offs, "recoveries": recoveries, "ending_balance": ending}


# ----------------------------------------------------------------------------- provision matrix

def pm_ledger(ending="600.00", beginning="500.00"):
    # as of 2026-09-30:
    #   A  K1 (Enterprise)     1000.50 USD  due 10-01  dpd  -1  current   1 %  10.005 -> 10.00 (half even)
    #   B  K1 (Enterprise)     2000.00 USD  due 07-31  dpd  61  61-90    25 %  (2000 - 500 paid) 1500 -> 375.00
    #   C  K2 (Small Business)  500.00 USD  due 09-14  dpd  16  1-30      6 %   30.00
    #   D  K2 (Small Business)  300.00 USD  due 05-01  dpd 152  over_120 90 %  270.00
    #   E  K3 (Enterprise)      800.00 EUR  due 08-31  dpd  30  1-30      3 %   24.00 EUR
    # USD pooled = 10.00 + 375.00 + 30.00 + 270.00 = 685.00;  EUR 24.00 x 1.10 = 26.40 USD
    # reporting = 711.40 USD; allowance booked 600.00 -> provision 111.40
    provision = str(Decimal(ending) - Decimal(beginning))
    return frames(
        customers=[cust("K1"), cust("K2", segment="Small Business"), cust("K3", "EUR")],
        invoices=[inv("A", "K1", "2026-09-01", "2026-10-01", "1000.50"),
                  inv("B", "K1", "2026-07-01", "2026-07-31", "2000.00"),
                  inv("C", "K2", "2026-08-15", "2026-09-14", "500.00"),
                  inv("D", "K2", "2026-04-01", "2026-05-01", "300.00"),
                  inv("E", "K3", "2026-08-01", "2026-08-31", "800.00", "EUR")],
        receipts=[{"receipt_id": "R1", "receipt_date": "2026-09-10", "amount": "500.00",
                   "payer_name": "K1", "reference": "B", "customer_id": "K1"}],
        applications=[{"receipt_id": "R1", "invoice_id": "B", "amount": "500.00",
                       "applied_date": "2026-09-10"}],
        fx_rates=[{"date": "2026-09-30", "currency": "EUR", "rate_to_report": "1.10"}],
        reserve_gl=[gl("2026-09-30", beginning, provision, "0.00", "0.00", ending)],
    )


def test_provision_matrix_by_segment_and_journal_entry(policy):
    r = reserve_analysis(pm_ledger(), "2026-09-30", policy, backtest_quarters=0)
    # the policy's default (roll_rate) cannot run without write-offs: the matrix is used
    assert r.method == "provision_matrix"
    assert any("no write_offs table" in n for n in r.notes)
    table = r.outcomes["provision_matrix"].detail["table"]
    got = {(t.currency, t.segment, t.bucket): (t.balance_minor, t.rate_pct, t.reserve_minor)
           for t in table.itertuples()}
    assert got == {("USD", "(default)", "current"): (100050, 1.0, 1000),
                   ("USD", "(default)", "61-90"): (150000, 25.0, 37500),
                   ("USD", "Small Business", "1-30"): (50000, 6.0, 3000),
                   ("USD", "Small Business", "over_120"): (30000, 90.0, 27000),
                   ("EUR", "(default)", "1-30"): (80000, 3.0, 2400)}
    assert r.required == {"EUR": {"pooled": 2400, "specific": 0, "qualitative": 0, "required": 2400},
                          "USD": {"pooled": 68500, "specific": 0, "qualitative": 0, "required": 68500}}
    assert r.required_report == {"pooled": 71140, "specific": 0, "qualitative": 0, "required": 71140}
    assert r.current_balance_minor == 60000
    assert r.provision_minor == 11140
    je = r.journal_entry
    assert je["kind"] == "provision" and je["currency"] == "USD"
    assert je["lines"] == [
        {"account": "6100 Bad-debt expense", "debit_minor": 11140, "credit_minor": 0},
        {"account": "1290 Allowance for doubtful accounts", "debit_minor": 0, "credit_minor": 11140}]
    # by bucket, per currency and in the reporting currency
    bb = r.by_bucket.set_index(["level", "currency", "bucket"])
    assert bb.loc[("currency", "USD", "61-90"), "open_minor"] == 150000
    assert bb.loc[("currency", "USD", "61-90"), "provision_matrix_minor"] == 37500
    assert bb.loc[("reporting", "USD", "1-30"), "provision_matrix_minor"] == 3000 + 2640
    d = r.to_dict()
    assert d["required_reserve"]["amount"] == "711.40"
    assert d["provision"] == {"amount": "111.40", "currency": "USD", "kind": "provision"}
    assert d["methods"]["provision_matrix"] == "711.40" and d["methods"]["roll_rate"] is None
    json.dumps(d)


def test_release_when_the_allowance_exceeds_the_required_reserve(policy):
    # booked 800.00 against a required 711.40: release 88.60
    r = reserve_analysis(pm_ledger(ending="800.00", beginning="700.00"), "2026-09-30", policy,
                         backtest_quarters=0)
    assert r.provision_minor == -8860
    assert r.journal_entry["kind"] == "release"
    assert r.journal_entry["lines"][0] == {"account": "1290 Allowance for doubtful accounts",
                                           "debit_minor": 8860, "credit_minor": 0}


def test_explicit_method_that_cannot_run_is_an_error(policy):
    with pytest.raises(ValueError, match="roll_rate cannot run.*write_offs"):
        reserve_analysis(pm_ledger(), "2026-09-30", policy, method="roll_rate", backtest_quarters=0)
    with pytest.raises(ValueError, match="method must be one of"):
        reserve_analysis(pm_ledger(), "2026-09-30", policy, method="magic")
    with pytest.raises(ValueError, match="needs a payment-risk model"):
        reserve_analysis(pm_ledger(), "2026-09-30", policy, method="model")


# ----------------------------------------------------------------------------- roll rates

def test_absorbing_markov_chain_by_hand():
    """Three buckets (B1, B2, B3) and two absorbing states, from month-end flows:

        from  balance   B1    B2    B3    paid   written_off
        B1     1000      0   300     0     700        0        -> 0, .3, 0 | .7, 0
        B2      500      0     0   100     350       50        -> 0, 0, .2 | .7, .1
        B3      200      0     0   100      40       60        -> 0, 0, .5 | .2, .3

    Q = [[0, .3, 0], [0, 0, .2], [0, 0, .5]],  R = [[.7, 0], [.7, .1], [.2, .3]]
    N = (I - Q)^-1 = [[1, .3, .12], [0, 1, .4], [0, 0, 2]]
        (upper triangular: N33 = 1/.5 = 2, N23 = .2 x 2 = .4, N12 = .3, N13 = .3 x .4 = .12)
    B = N R:  B3 = 2 x [.2, .3] = [.4, .6]
              B2 = [.7, .1] + .4 x [.2, .3] = [.78, .22]
              B1 = [.7, 0] + .3 x [.7, .1] + .12 x [.2, .3] = [.934, .066]
    expected months (row sums of N): 1.42, 1.4, 2.
    Reserve on balances 10000.00 / 2000.00 / 1000.00 USD:
        10000 x .066 + 2000 x .22 + 1000 x .6 = 660.00 + 440.00 + 600.00 = 1700.00
    """
    flows = pd.DataFrame([
        ("B1", "B2", 300), ("B1", "paid", 700),
        ("B2", "B3", 100), ("B2", "paid", 350), ("B2", "written_off", 50),
        ("B3", "B3", 100), ("B3", "paid", 40), ("B3", "written_off", 60),
    ], columns=["from_bucket", "to_state", "amount"])
    m = transition_matrix(flows, ["B1", "B2", "B3"])
    assert list(m.columns) == ["B1", "B2", "B3", "paid", "written_off"]
    np.testing.assert_allclose(m.to_numpy(), [[0, .3, 0, .7, 0], [0, 0, .2, .7, .1],
                                              [0, 0, .5, .2, .3]], atol=1e-12)
    lr = absorbing_loss_rates(m)
    np.testing.assert_allclose(lr["loss_rate"], [.066, .22, .6], atol=1e-12)
    np.testing.assert_allclose(lr["paid_rate"], [.934, .78, .4], atol=1e-12)
    np.testing.assert_allclose(lr["expected_months"], [1.42, 1.4, 2.0], atol=1e-12)
    from workbench.reserve.matrix import fundamental_matrix
    np.testing.assert_allclose(fundamental_matrix(m).to_numpy(),
                               [[1, .3, .12], [0, 1, .4], [0, 0, 2]], atol=1e-12)
    assert "fundamental_matrix" not in lr.attrs                  # data is returned, not attached
    balances = pd.DataFrame({"currency": "USD", "bucket": ["B1", "B2", "B3"],
                             "balance_minor": [1000000, 200000, 100000]})
    res = roll_rate_reserve(balances, lr)
    assert res["reserve_minor"].tolist() == [66000, 44000, 60000]
    assert res["reserve_minor"].sum() == 170000


def test_roll_rate_flows_from_a_ledger_with_a_recovery():
    """One invoice I1 (1000.00, dated 06-10, due 07-10), month ends 05-31 ... 09-30:

      06-30: open 1000.00, dpd -10: current
      07-20: 400.00 paid        -> 07-31: open 600.00, dpd 21: 1-30
      08-15: 600.00 written off -> 08-31: open 0
      09-10: 100.00 recovered (negative write-off) and the cash applied the same day

    Flows over the window: current 1000 -> 1-30 600, paid 400;
    1-30 600 -> written off 600 - 100 (the recovery goes to the bucket the invoice was in at
    the month end before its write-off: 1-30) = 500, paid 100.
    Matrix: current -> 1-30 .6, paid .4; 1-30 -> paid 1/6, written off 5/6.
    Loss rates: 1-30 = 5/6; current = .6 x 5/6 = .5; 31-60 ... over_120: no data.
    """
    ledger = frames(
        customers=[cust("K1")],
        invoices=[inv("I1", "K1", "2026-06-10", "2026-07-10", "1000.00")],
        receipts=[{"receipt_id": "R1", "receipt_date": "2026-07-20", "amount": "400.00",
                   "payer_name": "K1", "reference": "I1", "customer_id": "K1"},
                  {"receipt_id": "R2", "receipt_date": "2026-09-10", "amount": "100.00",
                   "payer_name": "K1", "reference": "I1", "customer_id": "K1"}],
        applications=[{"receipt_id": "R1", "invoice_id": "I1", "amount": "400.00",
                       "applied_date": "2026-07-20"},
                      {"receipt_id": "R2", "invoice_id": "I1", "amount": "100.00",
                       "applied_date": "2026-09-10"}],
        write_offs=[{"invoice_id": "I1", "date": "2026-08-15", "amount": "600.00",
                     "reason": "uncollectible"},
                    {"invoice_id": "I1", "date": "2026-09-10", "amount": "-100.00",
                     "reason": "recovery"}],
    )
    h = build_history(ledger, "2026-09-30", load_aging_policy())
    assert [str(e.date()) for e in h.ends] == ["2026-05-31", "2026-06-30", "2026-07-31",
                                               "2026-08-31", "2026-09-30"]
    flows = roll_rate_flows(h, "2026-09-30", 24, currency="USD")
    f = flows[flows["amount"] != 0].set_index(["from_bucket", "to_state"])["amount"].to_dict()
    assert f == {("current", "1-30"): 60000, ("current", "paid"): 40000,
                 ("1-30", "paid"): 10000, ("1-30", "written_off"): 50000}
    assert flows.attrs["transitions"] == 4 and flows.attrs["with_balance"] == 2
    m = transition_matrix(flows, LABELS)
    assert m.loc["current", "1-30"] == pytest.approx(0.6)
    assert m.loc["1-30", "written_off"] == pytest.approx(5 / 6)
    assert m.loc["31-60"].isna().all()
    lr = absorbing_loss_rates(m)
    assert lr.loc["1-30", "loss_rate"] == pytest.approx(5 / 6)
    assert lr.loc["current", "loss_rate"] == pytest.approx(0.5)
    assert lr.loc["over_120", "status"] == "no data" and np.isnan(lr.loc["over_120", "loss_rate"])
    # vintage 2026-06: sales 1000.00, net loss 600.00 - 100.00 = 500.00
    vt = vintage_table(h, "2026-09-30", currency="USD")
    assert vt.set_index("vintage").loc["2026-06", ["sales", "net_loss"]].tolist() == [100000, 50000]


def test_bucket_never_resolved_is_treated_as_lost():
    # over_120 balances that neither get paid nor written off in the window: loss rate 1
    flows = pd.DataFrame([("a", "b", 50), ("a", "paid", 50), ("b", "b", 100)],
                         columns=["from_bucket", "to_state", "amount"])
    lr = absorbing_loss_rates(transition_matrix(flows, ["a", "b"]))
    assert lr["status"].tolist() == ["estimated", "never resolved"]
    np.testing.assert_allclose(lr["loss_rate"], [0.5, 1.0])


# ----------------------------------------------------------------------------- vintages

def test_vintage_loss_rate_curve_and_reserve_by_hand():
    """One currency, vintages 2026-01/02/03 (sales 1000.00, 2000.00, 4000.00), as of 03-31.
    Net losses: 2026-01 loses 10.00 in Feb and 20.00 in Mar; 2026-02 loses 10.00 in Mar.

      to date: 01 -> 30.00 (3 %), 02 -> 10.00 (0.5 %), 03 -> 0
      curve: k=0: 0 / 7000 = 0; k=1: (10 + 10) / (1000 + 2000) = 0.6667 %; k=2: 30 / 1000 = 3 %
      rate from vintages at least 1 month old: (30 + 10) / (1000 + 2000) = 1.3333 %
    Reserve at a 2 % lifetime rate (expected = round(2 % x sales) - loss taken - specific,
    floored at 0, capped at the open pool):
      01: 20.00 - 30.00 < 0 -> 0;  02: 40.00 - 10.00 - 5.00 = 25.00;  03: 80.00 -> 80.00
      total 105.00
    """
    m0 = int(np.datetime64("2026-01", "M").astype(np.int64))
    net = np.zeros((1, 3, 3), np.int64)
    net[0, 0, 1], net[0, 0, 2], net[0, 1, 2] = 1000, 2000, 1000
    h = History(tuple(LABELS), ["USD"], pd.DatetimeIndex([]), np.zeros((0, 1, 6), np.int64),
                np.zeros((0, 1, 6, 6), np.int64), np.zeros((0, 1, 6), np.int64),
                np.zeros((0, 1, 6), np.int64), m0, np.array([[100000, 200000, 400000]]), net)
    vt = vintage_table(h, "2026-03-31", currency="USD")
    assert vt["vintage"].tolist() == ["2026-01", "2026-02", "2026-03"]
    assert vt["age_months"].tolist() == [2, 1, 0]
    assert vt["net_loss"].tolist() == [3000, 1000, 0]
    curve = lifetime_loss_curve(h, "2026-03-31", currency="USD")
    np.testing.assert_allclose(curve["cumulative_loss_rate"], [0, 2000 / 300000, 0.03])
    assert curve["vintages"].tolist() == [3, 2, 1]
    rate, used = vintage_loss_rate(vt, min_age_months=1, count=12)
    assert rate == pytest.approx(4000 / 300000) and used == ["2026-01", "2026-02"]
    pool = pd.DataFrame({"currency": "USD", "vintage": ["2026-01", "2026-02", "2026-03"],
                         "pool_minor": [50000, 150000, 400000],
                         "specific_reserve_minor": [0, 500, 0]})
    res = vintage_reserve(pool, h, "2026-03-31", 0.02)
    assert res["expected_loss_minor"].tolist() == [2000, 4000, 8000]
    assert res["reserve_minor"].tolist() == [0, 2500, 8000]


# ----------------------------------------------------------------------------- roll-forward

GL = pd.DataFrame({
    "period_end": pd.to_datetime(["2026-06-30", "2026-09-30"]),
    "beginning_balance_minor": [0, 80000], "provision_minor": [100000, 30000],
    "write_offs_minor": [20000, 45000], "recoveries_minor": [0, 5000],
    "ending_balance_minor": [80000, 70000],     # 0 + 1000 - 200 = 800; 800 + 300 - 450 + 50 = 700
    "currency": "USD"})
SUB = pd.DataFrame({"period_end": pd.to_datetime(["2026-06-30", "2026-09-30"]),
                    "write_offs_minor": [20000, 45000], "recoveries_minor": [0, 5000],
                    "unconverted": ""})


def test_rollforward_that_ties():
    rf = reconcile_rollforward(GL, SUB, "USD")
    assert rf["ties"].tolist() == [True, True]
    assert rf["computed_ending_minor"].tolist() == [80000, 70000]
    assert rf["difference_minor"].tolist() == [0, 0]
    assert rf["issues"].tolist() == ["", ""]


def test_rollforward_that_does_not_tie_names_each_difference():
    bad = GL.copy()
    bad.loc[1, "beginning_balance_minor"] = 79000       # 10.00 below June's ending
    bad.loc[1, "ending_balance_minor"] = 71000          # computed 790 + 300 - 450 + 50 = 690
    sub = SUB.copy()
    sub.loc[1, "write_offs_minor"] = 33000              # the subledger wrote off 330.00, GL 450.00
    sub.loc[0, "recoveries_minor"] = 1234               # a June recovery the GL missed
    rf = reconcile_rollforward(bad, sub, "USD").set_index("period_end")
    june, sept = rf.loc["2026-06-30"], rf.loc["2026-09-30"]
    assert not june["ties"] and not sept["ties"]
    assert june["issues"] == "subledger recoveries exceed the GL by 12.34 USD"
    assert sept["difference_minor"] == 2000 and sept["beginning_difference_minor"] == -1000
    assert sept["write_offs_difference_minor"] == 12000
    assert sept["issues"] == (
        "the ending balance exceeds beginning + provision - write-offs + recoveries by 20.00 USD; "
        "the beginning balance is below the previous period's ending balance by 10.00 USD; "
        "GL write-offs exceed the subledger by 120.00 USD")


def test_demo_reserve_gl_ties_with_rollforward(demo_dir):
    ledger = Ledger.load(demo_dir)
    rf = rollforward(ledger)
    assert len(rf) == len(ledger.reserve_gl) >= 4
    assert rf["ties"].all(), rf.loc[~rf["ties"], "issues"].tolist()
    assert (rf["write_offs_difference_minor"] == 0).all()
    assert (rf["recoveries_difference_minor"] == 0).all()
    assert (rf["subledger_write_offs_minor"] > 0).any()


# ----------------------------------------------------------------------------- specific reserves

def specific_ledger():
    # as of 2026-09-30:
    #   P  K1  400.00  due 07-31  dpd 61  61-90   dispute DS1 duplicate_billing 150.00 opened 08-01
    #                  (60 days >= 30): specific 100 % x 150.00 = 150.00; pool keeps 250.00
    #                  -> 25 % x 250.00 = 62.50
    #   Q  K1 1000.00  due 10-15  current          pool 1 % = 10.00
    #   S  K2 2000.00  due 09-14  dpd 16  1-30    escalation 09-20 "insolvent": specific 90 %
    #                  = 1800.00; nothing left in the pool
    #   (a call mentioning "bankrupt" is not a listed kind; a note after 09-30 is not known yet)
    # pooled 72.50 + specific 1950.00 = 2022.50 (without specifics the pool would be
    # 100.00 + 10.00 + 60.00 = 170.00)
    return frames(
        customers=[cust("K1"), cust("K2")],
        invoices=[inv("P", "K1", "2026-07-01", "2026-07-31", "400.00"),
                  inv("Q", "K1", "2026-09-15", "2026-10-15", "1000.00"),
                  inv("S", "K2", "2026-08-15", "2026-09-14", "2000.00")],
        disputes=[{"dispute_id": "DS1", "invoice_id": "P", "opened_date": "2026-08-01",
                   "reason_code": "duplicate_billing", "amount": "150.00"}],
        activities=[
            {"activity_id": "A1", "customer_id": "K2", "timestamp": "2026-09-20T10:00:00+00:00",
             "kind": "escalation", "collector": "Ann", "note": "Customer is INSOLVENT; administrator appointed"},
            {"activity_id": "A2", "customer_id": "K1", "timestamp": "2026-09-21T10:00:00+00:00",
             "kind": "call", "collector": "Ann", "note": "says they are not bankrupt"},
            {"activity_id": "A3", "customer_id": "K1", "timestamp": "2026-10-05T10:00:00+00:00",
             "kind": "note", "collector": "Ann", "note": "filed for bankruptcy"}],
    )


def test_specific_reserve_is_taken_out_of_the_pool(policy):
    ledger = specific_ledger()
    spec = specific_reserves(ledger, "2026-09-30", policy)
    got = spec.set_index("invoice_id")[["base_minor", "reserve_minor", "rule", "kind"]]
    assert got.to_dict("index") == {
        "P": {"base_minor": 15000, "reserve_minor": 15000, "rule": "invalid billing", "kind": "dispute"},
        "S": {"base_minor": 200000, "reserve_minor": 180000, "rule": "insolvency",
              "kind": "activity_flag"}}
    r = reserve_analysis(ledger, "2026-09-30", policy, method="provision_matrix",
                         backtest_quarters=0)
    assert r.required["USD"] == {"pooled": 7250, "specific": 195000, "qualitative": 0,
                                 "required": 202250}
    bb = r.by_bucket[r.by_bucket["level"] == "currency"].set_index("bucket")
    assert bb.loc["61-90", ["open_minor", "specific_base_minor", "pool_minor",
                            "provision_matrix_minor"]].tolist() == [40000, 15000, 25000, 6250]
    assert bb.loc["1-30", ["open_minor", "pool_minor", "provision_matrix_minor"]].tolist() == [200000, 0, 0]
    assert r.current_balance_minor is None and r.provision_minor is None and r.journal_entry is None
    assert any("no reserve_gl table" in n for n in r.notes)
    # the activities passed in replace the ledger's: without A1, S goes back to the pool
    later = specific_reserves(ledger, "2026-09-30", policy, ledger.activities.iloc[1:])
    assert later["invoice_id"].tolist() == ["P"]
    # a month later the note of 10-05 flags K1 too (90 % beats nothing; P keeps its larger rule)
    oct_ = specific_reserves(ledger, "2026-10-31", policy).set_index("invoice_id")
    assert oct_.loc["Q", "reserve_minor"] == 90000 and oct_.loc["P", "rule"] == "insolvency"


def test_qualitative_adjustments_round_once_half_even(policy):
    pol = dataclasses.replace(policy, qualitative=(
        QualitativeFactor("outlook", Decimal("10"), "slowdown"),
        QualitativeFactor("process", Decimal("-3"), "automation")))
    q = qualitative_adjustments({"USD": 7250, "JPY": 1000}, pol)
    # 72.50 x 10 % = 7.25; 72.50 x -3 % = -2.175 -> -2.18 (half even); JPY 1000 x 10 % = 100,
    # 1000 x -3 % = -30
    assert q[["factor", "currency", "amount_minor"]].values.tolist() == [
        ["outlook", "JPY", 100], ["outlook", "USD", 725], ["process", "JPY", -30],
        ["process", "USD", -218]]


def test_expected_loss_model_pd_times_exposure_times_lgd(policy):
    # PD = p_late x 0.25, LGD 90 %: 1000.00 x .1 x .9 = 90.00; 500.00 x .025 x .9 = 11.25
    scores = pd.DataFrame({"invoice_id": ["X", "Y"], "currency": "USD",
                           "open_minor": [100000, 50000], "p_late": [0.4, 0.1]})
    el = expected_loss_model(scores, policy)
    assert el["reserve_minor"].tolist() == [10125]
    pool = pd.DataFrame({"invoice_id": ["X", "Y"], "bucket": ["current", "1-30"],
                         "pool_minor": [100000, 20000]})          # Y: 300.00 reserved specifically
    el = expected_loss_model(scores, policy, pool).set_index("bucket")
    assert el["reserve_minor"].to_dict() == {"1-30": 450, "current": 9000}


# ----------------------------------------------------------------------------- backtest

def test_backtest_on_a_tiny_ledger(policy):
    """K1 (Enterprise), as of 2026-09-30, the four quarter ends before it:

      I1 1000.00 dated 2025-08-01 due 08-31: written off 2026-01-15, 200.00 recovered 05-10
      I2  500.00 dated 2025-11-01 due 12-01: paid 2026-01-10
      I3 2000.00 dated 2026-03-01 due 03-31: 1400.00 paid 07-15, 600.00 written off 08-01

      quarter end  open (dpd, bucket, rate)                      reserve   net loss after   error
      2025-09-30   I1 (30, 1-30, 3 %)                              30.00   800.00 (I1)     -770.00
      2025-12-31   I1 (122, over_120, 80 %) 800 + I2 (30, 3 %) 15  815.00   800.00 (I1)      15.00
      2026-03-31   I3 (0, current, 1 %)                            20.00   600.00 (I3)     -580.00
      2026-06-30   I3 (91, 91-120, 50 %)                         1000.00   600.00 (I3)      400.00

    (the recovery on I1 counts only for quarter ends when I1 was still open.) Follow-up:
    365, 273, 183, 92 days; only the first reaches the 365-day emergence window. Roll rates
    (12 transitions) and vintages (12 months old) have too little history at these dates.
    """
    ledger = frames(
        customers=[cust("K1")],
        invoices=[inv("I1", "K1", "2025-08-01", "2025-08-31", "1000.00"),
                  inv("I2", "K1", "2025-11-01", "2025-12-01", "500.00"),
                  inv("I3", "K1", "2026-03-01", "2026-03-31", "2000.00")],
        receipts=[{"receipt_id": r, "receipt_date": d, "amount": a, "payer_name": "K1",
                   "reference": "", "customer_id": "K1"}
                  for r, d, a in (("R1", "2026-01-10", "500.00"), ("R2", "2026-05-10", "200.00"),
                                  ("R3", "2026-07-15", "1400.00"))],
        applications=[{"receipt_id": r, "invoice_id": i, "amount": a, "applied_date": d}
                      for r, i, a, d in (("R1", "I2", "500.00", "2026-01-10"),
                                         ("R2", "I1", "200.00", "2026-05-10"),
                                         ("R3", "I3", "1400.00", "2026-07-15"))],
        write_offs=[{"invoice_id": "I1", "date": "2026-01-15", "amount": "1000.00",
                     "reason": "uncollectible"},
                    {"invoice_id": "I1", "date": "2026-05-10", "amount": "-200.00",
                     "reason": "recovery"},
                    {"invoice_id": "I3", "date": "2026-08-01", "amount": "600.00",
                     "reason": "uncollectible"}],
    )
    bt = backtest(ledger, "2026-09-30", policy, quarters=4)
    assert bt["method"].unique().tolist() == ["provision_matrix"]
    assert [str(q.date()) for q in bt["quarter_end"]] == ["2025-09-30", "2025-12-31",
                                                          "2026-03-31", "2026-06-30"]
    assert bt["reserve_minor"].tolist() == [3000, 81500, 2000, 100000]
    assert bt["actual_net_loss_minor"].tolist() == [80000, 80000, 60000, 60000]
    assert bt["error_minor"].tolist() == [-77000, 1500, -58000, 40000]
    assert bt["abs_error_minor"].tolist() == [77000, 1500, 58000, 40000]
    assert bt["follow_up_days"].tolist() == [365, 273, 183, 92]
    assert bt["window_complete"].tolist() == [True, False, False, False]
    assert bt.attrs["best_method"] == "provision_matrix"
    assert "complete follow-up windows" in bt.attrs["basis"]
    assert bt.attrs["mae"] == {"provision_matrix": 77000.0}
    assert any("roll_rate not available" in n for n in bt.attrs["notes"])


# ----------------------------------------------------------------------------- customer master

def test_customers_as_of_uses_the_change_history():
    # the reserve reads status and segment through workbench.master (tests/test_master.py
    # covers the other fields)
    FIELDS = ("status", "segment")
    customers = pd.DataFrame({"customer_id": ["K1", "K2", "K3", "K4"],
                              "status": ["closed", "closed", "active", "active"],
                              "segment": ["SMB", "SMB", "Enterprise", "SMB"]})
    changes = pd.DataFrame({
        "customer_id": ["K1", "K2", "K3", "K3"],
        "effective_date": pd.to_datetime(["2026-08-01", "2026-10-15", "2026-03-01", "2026-11-01"]),
        "field": ["status", "status", "segment", "segment"],
        "value": ["closed", "closed", "SMB", "Enterprise"]})
    out, notes = master_as_of(customers, "2026-09-30", changes, fields=FIELDS)
    out = out.set_index("customer_id")
    assert out.loc["K1", "status"] == "closed"            # changed before the date
    assert pd.isna(out.loc["K2", "status"])               # closed only after: unknown on 09-30
    assert out.loc["K3", "segment"] == "SMB"              # the change in force on 09-30
    assert out.loc["K4", "status"] == "active"            # never changed: the master row
    assert notes == ["1 customer(s)' status on 2026-09-30 is unknown: customer_changes shows a "
                     "change after that date and none before"]
    # without a history, a past date does not use today's master (strict) ...
    out, notes = master_as_of(customers, "2026-09-30", None, "2026-10-30", fields=FIELDS)
    assert out["status"].isna().all() and "unknown" in notes[0]
    # ... unless the policy assumes it unchanged; on or after the master's date it is known
    out, _ = master_as_of(customers, "2026-09-30", None, "2026-10-30", "assume_unchanged",
                          fields=FIELDS)
    assert out["status"].tolist() == ["closed", "closed", "active", "active"]
    out, notes = master_as_of(customers, "2026-10-30", None, "2026-10-30", fields=FIELDS)
    assert out["segment"].tolist() == ["SMB", "SMB", "Enterprise", "SMB"] and notes == []


def test_closed_customer_and_bankruptcy_write_off_are_specific(policy):
    # K1 closed (recovery 10 %): 500.00 x 90 % = 450.00; K2 had a bankruptcy write-off on
    # another invoice (recovery 5 %): 200.00 x 95 % = 190.00. All dated <= 09-30, so the
    # master's status is known on 09-30.
    ledger = frames(
        customers=[cust("K1", status="closed"), cust("K2", status="active")],
        invoices=[inv("A", "K1", "2026-06-01", "2026-07-01", "500.00"),
                  inv("B", "K2", "2026-05-01", "2026-05-31", "100.00"),
                  inv("C", "K2", "2026-06-01", "2026-07-01", "200.00")],
        write_offs=[{"invoice_id": "B", "date": "2026-09-01", "amount": "100.00",
                     "reason": "bankruptcy"}])
    spec = specific_reserves(ledger, "2026-09-30", policy).set_index("invoice_id")
    assert spec["reserve_minor"].to_dict() == {"A": 45000, "C": 19000}
    assert spec.loc["C", "rule"] == "bankruptcy write-off"


def test_activity_rules_with_no_activity_of_their_kinds(policy):
    """Activities exist but none of the kinds the activity rules read (only a call): no
    specific reserve from them, no crash (the empty frame keeps its day column)."""
    ledger = frames(
        customers=[cust("K1")],
        invoices=[inv("A", "K1", "2026-06-01", "2026-07-01", "500.00")],
        activities=[{"activity_id": "X1", "customer_id": "K1", "kind": "call",
                     "timestamp": "2026-09-01T10:00:00+00:00", "collector": "Ann",
                     "note": "left a message"}])
    spec = specific_reserves(ledger, "2026-09-30", policy)
    assert len(spec) == 0


# ----------------------------------------------------------------------------- thin ledgers, policy

def test_only_customers_and_invoices_runs_and_says_what_is_missing():
    ledger = frames(customers=[cust("K1")],
                    invoices=[inv("I1", "K1", "2026-08-01", "2026-08-31", "1000.00"),
                              inv("I2", "K1", "2026-03-01", "2026-03-31", "500.00")])
    r = reserve_analysis(ledger, "2026-09-30")
    assert r.method == "provision_matrix"
    # shipped policy: 1-30 2 % of 1000.00 = 20.00; over_120 (183 days) 50 % of 500.00 = 250.00
    assert r.required["USD"]["pooled"] == 27000
    assert r.current_balance_minor is None and r.journal_entry is None
    text = " ".join(r.notes)
    for phrase in ("no write_offs table", "no reserve_gl table", "provision matrix is used"):
        assert phrase in text
    avail = r.methods[r.methods["level"] == "reporting"].set_index("method")["available"]
    assert avail.to_dict() == {"provision_matrix": True, "roll_rate": False, "vintage": False}
    d = json.loads(json.dumps(r.to_dict()))
    assert d["provision"]["amount"] is None and d["journal_entry"] is None
    assert d["rollforward"] == [] and d["transition_matrix"] is None
    assert "cannot" in r.to_text()


def test_policy_errors_are_listed_together(tmp_path):
    bad = POLICY.read_text().replace('"61-90": "25", ', "").replace("pool: portfolio", "pool: world")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(PolicyError) as e:
        load_reserve_policy(path)
    msg = str(e.value)
    assert "provision_matrix.rates_pct.default: missing bucket(s) 61-90" in msg
    assert "bad.yaml: pool must be one of portfolio, currency; got 'world'" in msg


def test_shipped_policy_loads():
    p = load_reserve_policy()
    assert p.label == "default-reserve 2026.1" and p.default_method == "roll_rate"
    assert set(p.rates_pct) == set(LABELS) and p.qualitative


# ----------------------------------------------------------------------------- CLI

def test_cli_json_on_the_demo(demo_dir, capsys):
    from workbench.reserve.cli import main

    assert main(["--ledger", str(demo_dir), "--quarter", "2026Q3", "--format", "json",
                 "--no-log"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("quarter", "method", "required_reserve", "current_balance", "provision",
                "by_bucket", "specific", "methods", "journal_entry", "rollforward", "backtest",
                "currency", "report_currency", "policy", "as_of", "notes"):
        assert key in d, key
    assert d["quarter"] == "2026Q3" and d["as_of"] == "2026-09-30"
    assert d["policy"] == "default-reserve 2026.1" and d["method"] == "roll_rate"
    assert {"provision_matrix", "roll_rate", "vintage"} <= set(d["methods"])
    req = d["required_reserve"]
    assert Decimal(req["amount"]) == (Decimal(req["pooled"]) + Decimal(req["specific"])
                                      + Decimal(req["qualitative"]))
    assert d["methods"][d["method"]] == req["amount"]
    assert Decimal(d["provision"]["amount"]) == Decimal(req["amount"]) - Decimal(
        d["current_balance"]["amount"])
    lines = d["journal_entry"]["lines"]
    assert sum(Decimal(ln["debit"]) for ln in lines) == sum(Decimal(ln["credit"]) for ln in lines)
    assert all(r["ties"] for r in d["rollforward"])
    assert len({r["quarter_end"] for r in d["backtest"]["rows"]}) == 4
    assert d["backtest"]["best_method"] in d["methods"]
    assert set(d["required_reserve"]["by_currency"]) == {"EUR", "JPY", "USD"}


def test_cli_table_and_errors(demo_dir, capsys):
    import argparse

    from workbench.reserve.cli import add_parser, cmd_reserve, main

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["reserve", "--ledger", str(demo_dir), "--quarter", "2026Q2",
                              "--method", "provision_matrix", "--backtest-quarters", "0",
                              "--no-log"])
    assert cmd_reserve(args) == 0
    out = capsys.readouterr().out
    assert "Bad-debt reserve as of 2026-06-30 (2026Q2)" in out and "Journal entry" in out
    assert main(["--ledger", str(demo_dir), "--quarter", "2026-09"]) == 2
    assert "--quarter must be a quarter" in capsys.readouterr().err
    assert main(["--ledger", str(demo_dir), "--quarter", "2026Q3", "--method", "guess"]) == 2
    assert "unknown --method 'guess'" in capsys.readouterr().err
    assert main(["--ledger", str(demo_dir), "--quarter", "2026Q3", "--method", "model"]) == 2
    assert "--risk-model" in capsys.readouterr().err
    assert main(["--ledger", str(FIXTURES / "hand"), "--quarter", "2026Q1"]) == 2
    assert "no reserve_gl table" in capsys.readouterr().err


def test_plots_return_labelled_axes(policy):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.reserve.plots import backtest_plot, reserve_by_bucket, transition_heatmap

    flows = pd.DataFrame([("a", "b", 30), ("a", "paid", 70), ("b", "paid", 50),
                          ("b", "written_off", 50)], columns=["from_bucket", "to_state", "amount"])
    ax = transition_heatmap(transition_matrix(flows, ["a", "b"]))
    assert ax.get_title().startswith("Roll rates") and "%" in ax.figure.axes[-1].get_ylabel()
    r = reserve_analysis(pm_ledger(), "2026-09-30", policy, backtest_quarters=0)
    with pytest.raises(ValueError, match="pass currency="):
        reserve_by_bucket(r.by_bucket)
    ax = reserve_by_bucket(r.by_bucket, "EUR")
    assert ax.get_ylabel() == "Amount (EUR)" and "EUR" in ax.get_title()
    bt = pd.DataFrame({"quarter_end": pd.to_datetime(["2026-03-31", "2026-06-30"]),
                       "method": "provision_matrix", "currency": "USD",
                       "reserve_minor": [100, 200], "actual_net_loss_minor": [150, 120],
                       "window_complete": [True, False]})
    ax = backtest_plot(bt)
    assert ax.get_ylabel() == "Amount (USD)" and ax.get_xlabel() == "Quarter end"
    plt.close("all")
