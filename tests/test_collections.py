"""Collections policy, promises, suspension and write-off proposals, worklist, activity log."""

import json

import pandas as pd
import pytest

from workbench import Ledger
from workbench.cli import main
from workbench.collections import (ActivityLog, activity_frame, load_collections_policy,
                                   suspension_proposals, worklist, write_off_proposals)
from workbench.kpis import promise_outcomes
from workbench.policy import PolicyError
from workbench.state import StateDB

from .conftest import FIXTURES, write_ledger

AS_OF = "2026-09-30"


def cust(cid, currency="USD", **kw):
    return {"customer_id": cid, "name": f"Customer {cid}", "currency": currency,
            "payment_terms_days": 30, "collector": "Ann Lee", "segment": "SMB", **kw}


def inv(iid, cid, date, due, amount, **kw):
    return {"invoice_id": iid, "customer_id": cid, "invoice_date": date, "due_date": due,
            "amount": amount, **kw}


# ------------------------------------------------------------------ policy

def _policy_text(**replace):
    text = (FIXTURES.parent.parent / "workbench" / "policies" / "collections.yaml").read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_shipped_policy():
    p = load_collections_policy()
    assert p.label == "default-collections 2026.2"
    assert [s.stage for s in p.stages] == ["pre_due_reminder", "friendly", "firm", "final",
                                           "escalate_to_sales", "suspension"]
    assert p.suspension_min_amount.minor("USD") == 500000
    assert p.suspension_min_amount.minor("JPY") == 750000
    assert p.suspension_min_amount.minor("KWD") == 1500000          # 1,500.000 KWD
    assert p.write_off_max_balance.minor("EUR") == 2500
    assert p.write_off_max_balance.minor("KWD") == 8000              # 8.000 KWD
    assert p.tier_for(1_000_000, "USD") == "collector"
    assert p.tier_for(1_000_001, "USD") == "senior_collector"
    assert p.tier_for(10**12, "USD") == "credit_director"
    assert p.tier_for(300_000, "JPY") == "collector" and p.tier_for(1_500_001, "JPY") == "senior_collector"
    assert p.stage_for(-6) is None and p.stage_for(-5).stage == "pre_due_reminder"
    assert p.stage_for(44).stage == "firm" and p.stage_for(45).stage == "final"


@pytest.mark.parametrize("replace,message", [
    ({"  - {stage: final, from_days: 45, action: letter, template: final}\n": ""},
     "dunning_stages: missing stage(s) final"),
    ({"min_days_past_due: 90\n  min_amount": "min_days_past_due: -5\n  min_amount"},
     "suspension.min_days_past_due must be >= 0; got -5"),
    ({'max_balance: {USD: "25.00"': 'max_balance: {USD: "-25.00"'},
     "small_balance_write_off.max_balance.USD must be >= 0; got -25.00"),
    ({'JPY: "3000", KWD: "8.000"}': 'JPY: "30.5", KWD: "8.000"}'},
     "small_balance_write_off.max_balance.JPY: '30.5' has more decimals than JPY allows (0)"),
    ({'JPY: "3000", KWD: "8.000"}': 'JPY: "3000", KWD: "8.0005"}'},
     "small_balance_write_off.max_balance.KWD: '8.0005' has more decimals than KWD allows (3)"),
    ({'max_balance: {USD: "25.00"': 'max_balance: {XYZ: "1.00", USD: "25.00"'},
     "small_balance_write_off.max_balance.XYZ: not an ISO 4217 currency code: 'XYZ'"),
    ({"broken_promises: 2\n": "broken_promises: 0\n"}, "suspension.broken_promises must be >= 1; got 0"),
    ({"from_days: 15, action: call": "from_days: 0, action: call"},
     "dunning_stages: from_days must increase stage by stage; got [-5, 1, 0, 45, 60, 90]"),
    ({"action: letter, template: final": "action: fax, template: final"},
     "dunning_stages[final].action must be one of email, call, letter, escalation, suspension; "
     "got 'fax'"),
    ({"  grace_days: 0\n": "  grace_days: 0\n  grace_dayz: 1\n"},
     "promises.grace_dayz: unknown key (did you mean 'grace_days'?)"),
    ({'version: "2026.2"\n': ""}, "version: missing (required"),
])
def test_policy_errors_name_the_field(tmp_path, replace, message):
    path = tmp_path / "collections.yaml"
    path.write_text(_policy_text(**replace))
    with pytest.raises(PolicyError) as err:
        load_collections_policy(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert f"collections.yaml: {message}" in str(err.value)        # file and key path


def test_policy_amounts_per_currency_against_the_ledger(tmp_path):
    """An amount a ledger currency lacks is an error naming the amount and the currency,
    unless the policy converts with the ledger's fx_rates; a legacy ``default`` is read in
    each currency's own units."""
    from workbench.ledger import Ledger
    text = _policy_text(**{"currency_conversion: fx_rates\n": ""})
    path = tmp_path / "collections.yaml"
    path.write_text(text.replace(', KWD: "8.000"}', "}"))
    ledger = Ledger.from_frames({
        "customers": pd.DataFrame([cust("K1", currency="KWD"), cust("J1", currency="JPY")]),
        "invoices": pd.DataFrame([inv("K-1", "K1", "2026-06-01", "2026-07-01", "1.250"),
                                  inv("J-1", "J1", "2026-06-01", "2026-07-01", "1250")]),
    })
    with pytest.raises(PolicyError) as err:
        write_off_proposals(ledger, "2026-09-30", load_collections_policy(path))
    assert ("collections.yaml: small_balance_write_off.max_balance: no amount for KWD (the "
            "policy gives USD, EUR, GBP, CHF, CAD, AUD, JPY)") in str(err.value)
    # the shipped policy gives KWD (8.000) and JPY (3000): 1.250 KWD and 1250 JPY qualify
    got = write_off_proposals(ledger, "2026-09-30")
    assert sorted(got["invoice_id"]) == ["J-1", "K-1"]
    assert dict(zip(got["invoice_id"], got["open_balance"])) == {"J-1": 1250, "K-1": 1250}
    assert "open 1.250 KWD of 1.250 (policy <= 8.000)" in got.set_index("invoice_id").at["K-1", "evidence"]
    # a legacy default: "25.50" read as 25.500 KWD, and refused for JPY (no decimals)
    path.write_text(text.replace('max_balance: {USD: "25.00", EUR: "25.00", GBP: "25.00", '
                                 'CHF: "25.00", CAD: "25.00", AUD: "25.00", JPY: "3000", '
                                 'KWD: "8.000"}', 'max_balance: {default: "25.50"}'))
    legacy = load_collections_policy(path)
    assert legacy.write_off_max_balance.minor("KWD") == 25500
    with pytest.raises(PolicyError, match=r"max_balance: no JPY amount, and the default "
                                          r"'25.50' is not one"):
        write_off_proposals(ledger, "2026-09-30", legacy)


def test_policy_error_from_the_cli(tmp_path, capsys):
    path = tmp_path / "p.yaml"
    path.write_text(_policy_text(**{"min_days_past_due: 90\n  min_amount": "min_days_past_due: -1\n  min_amount"}))
    assert main(["worklist", "--ledger", str(FIXTURES / "kpi"), "--as-of", AS_OF,
                 "--policy", str(path), "--no-log"]) == 2
    assert "suspension.min_days_past_due must be >= 0; got -1" in capsys.readouterr().err


# ------------------------------------------------------------------ promises

@pytest.fixture
def promise_ledger(tmp_path):
    """P-kept: 500 promised by 09-10, 500 received 09-09 (applied 09-11).
    P-short: 300 promised by 09-12, only 200 received 09-12 -> broken.
    P-late: 100 promised by 09-05, paid 09-07 -> broken (grace 0), kept with grace 2.
    P-cust: customer-level promise (no invoice) of 250 by 09-20, 250 applied to I4 09-18 -> kept.
    P-future: promised by 10-15 -> pending on 09-30."""
    return Ledger.load(write_ledger(
        tmp_path / "prom",
        customers=[cust("A")],
        invoices=[inv("I1", "A", "2026-07-01", "2026-07-31", "500.00"),
                  inv("I2", "A", "2026-07-01", "2026-07-31", "300.00"),
                  inv("I3", "A", "2026-07-01", "2026-07-31", "100.00"),
                  inv("I4", "A", "2026-07-01", "2026-07-31", "250.00"),
                  inv("I5", "A", "2026-07-01", "2026-07-31", "50.00")],
        receipts=[{"receipt_id": "R1", "receipt_date": "2026-09-09", "amount": "500.00", "payer_name": "A", "reference": ""},
                  {"receipt_id": "R2", "receipt_date": "2026-09-12", "amount": "200.00", "payer_name": "A", "reference": ""},
                  {"receipt_id": "R3", "receipt_date": "2026-09-07", "amount": "100.00", "payer_name": "A", "reference": ""},
                  {"receipt_id": "R4", "receipt_date": "2026-09-18", "amount": "250.00", "payer_name": "A", "reference": ""}],
        applications=[{"receipt_id": "R1", "invoice_id": "I1", "amount": "500.00", "applied_date": "2026-09-11"},
                      {"receipt_id": "R2", "invoice_id": "I2", "amount": "200.00", "applied_date": "2026-09-12"},
                      {"receipt_id": "R3", "invoice_id": "I3", "amount": "100.00", "applied_date": "2026-09-07"},
                      {"receipt_id": "R4", "invoice_id": "I4", "amount": "250.00", "applied_date": "2026-09-18"}],
        activities=[
            {"activity_id": "P-kept", "customer_id": "A", "timestamp": "2026-09-01T09:00:00+00:00", "kind": "promise_to_pay",
             "collector": "Ann", "invoice_id": "I1", "promise_date": "2026-09-10", "promise_amount": "500.00"},
            {"activity_id": "P-short", "customer_id": "A", "timestamp": "2026-09-01T09:00:00+00:00", "kind": "promise_to_pay",
             "collector": "Ann", "invoice_id": "I2", "promise_date": "2026-09-12", "promise_amount": "300.00"},
            {"activity_id": "P-late", "customer_id": "A", "timestamp": "2026-09-01T09:00:00+00:00", "kind": "promise_to_pay",
             "collector": "Ann", "invoice_id": "I3", "promise_date": "2026-09-05", "promise_amount": "100.00"},
            {"activity_id": "P-cust", "customer_id": "A", "timestamp": "2026-09-15T09:00:00+00:00", "kind": "promise_to_pay",
             "collector": "Ann", "invoice_id": "", "promise_date": "2026-09-20", "promise_amount": "250.00"},
            {"activity_id": "P-future", "customer_id": "A", "timestamp": "2026-09-29T09:00:00+00:00", "kind": "promise_to_pay",
             "collector": "Ann", "invoice_id": "I5", "promise_date": "2026-10-15", "promise_amount": "50.00"}]))


def test_promises_kept_broken_pending(promise_ledger):
    got = promise_outcomes(promise_ledger, AS_OF).set_index("activity_id")
    assert got["status"].to_dict() == {"P-kept": "kept", "P-short": "broken", "P-late": "broken",
                                       "P-cust": "kept", "P-future": "pending"}
    assert got.loc["P-short", "received_minor"] == 20000
    # on 09-10 the cash for P-kept was received (09-09) but applied only on 09-11
    assert promise_outcomes(promise_ledger, "2026-09-10").set_index("activity_id").loc["P-kept", "status"] == "pending"
    from workbench.kpis import KPIOptions
    graced = promise_outcomes(promise_ledger, AS_OF, options=KPIOptions(promise_grace_days=2))
    assert graced.set_index("activity_id").loc["P-late", "status"] == "kept"
    tolerant = promise_outcomes(promise_ledger, AS_OF, options=KPIOptions(promise_tolerance_pct=40))
    assert tolerant.set_index("activity_id").loc["P-short", "status"] == "kept"   # 200 >= 60% of 300


def test_promises_from_the_activity_log(promise_ledger, tmp_path):
    log = ActivityLog(StateDB(f"sqlite:///{tmp_path / 's.db'}"), promise_ledger)
    log.add("A", "promise_to_pay", "Ann", at="2026-09-02T10:00:00+02:00", invoice_id="I5",
            promise_date="2026-09-25", promise_amount="50.00")
    acts = activity_frame(promise_ledger, log)
    out = promise_outcomes(promise_ledger, AS_OF, acts).set_index("activity_id")
    assert out.loc["S-1", "status"] == "broken"            # I5 was never paid
    with pytest.raises(ValueError, match="unknown invoice 'I9'"):
        log.add("A", "promise_to_pay", "Ann", invoice_id="I9", promise_date="2026-10-01",
                promise_amount="1.00")
    with pytest.raises(ValueError, match="needs promise_date and promise_amount"):
        log.add("A", "promise_to_pay", "Ann")
    with pytest.raises(ValueError, match="kind must be one of"):
        log.add("A", "visit", "Ann")
    with pytest.raises(ValueError, match="needs an offset"):
        log.add("A", "call", "Ann", at="2026-09-02T10:00:00")
    fixed = log.correct(1, {"promise_date": "2026-09-26"}, "customer called back")
    frame = log.frame()
    assert frame["activity_id"].tolist() == [f"S-{fixed}"]
    assert str(frame["promise_date"].iloc[0].date()) == "2026-09-26"


# ------------------------------------------------------------------ proposals

@pytest.fixture
def rules_ledger(tmp_path):
    """S1: 6,000 past due 95 days -> suspend (days + amount). S2: 6,000 past due 80 days
    -> not (days). S3: 4,000 past due 120 days -> not (amount). S4: two broken promises ->
    suspend. S5: already suspended -> not proposed. S6: JPY 800,000 95 days -> suspend.
    Write-offs: W1 20.00 open 95 days -> proposed; W2 30.00 -> not (balance); W3 20.00
    in dispute -> not; W4 20.00 80 days -> not (age); W5 JPY 2,500 100 days -> proposed."""
    c = [cust("S1"), cust("S2"), cust("S3"), cust("S4"), cust("S5", status="suspended"),
         cust("S6", "JPY"), cust("W", "USD"), cust("WJ", "JPY")]
    i = [inv("S1-1", "S1", "2026-05-28", "2026-06-27", "6000.00"),
         inv("S2-1", "S2", "2026-06-12", "2026-07-12", "6000.00"),
         inv("S3-1", "S3", "2026-05-03", "2026-06-02", "4000.00"),
         inv("S4-1", "S4", "2026-08-01", "2026-08-31", "100.00"),
         inv("S5-1", "S5", "2026-05-28", "2026-06-27", "9000.00"),
         inv("S6-1", "S6", "2026-05-28", "2026-06-27", "800000"),
         inv("W1", "W", "2026-05-28", "2026-06-27", "120.00"),
         inv("W2", "W", "2026-05-28", "2026-06-27", "130.00"),
         inv("W3", "W", "2026-05-28", "2026-06-27", "120.00"),
         inv("W4", "W", "2026-06-12", "2026-07-12", "120.00"),
         inv("W5", "WJ", "2026-05-23", "2026-06-22", "12500")]
    r = [{"receipt_id": f"RW{k}", "receipt_date": "2026-07-01", "amount": a, "payer_name": "W",
          "reference": "", "currency": cur} for k, a, cur in ((1, "100.00", "USD"), (2, "100.00", "USD"),
                                                              (3, "100.00", "USD"), (4, "100.00", "USD"),
                                                              (5, "10000", "JPY"))]
    a = [{"receipt_id": f"RW{k}", "invoice_id": f"W{k}", "amount": amt, "applied_date": "2026-07-01"}
         for k, amt in ((1, "100.00"), (2, "100.00"), (3, "100.00"), (4, "100.00"), (5, "10000"))]
    acts = [{"activity_id": f"B{k}", "customer_id": "S4", "timestamp": "2026-09-01T09:00:00+00:00",
             "kind": "promise_to_pay", "collector": "Ann", "invoice_id": "S4-1",
             "promise_date": d, "promise_amount": "100.00"} for k, d in ((1, "2026-09-05"), (2, "2026-09-20"))]
    d = [{"dispute_id": "D1", "invoice_id": "W3", "opened_date": "2026-08-01", "reason_code": "pricing",
          "amount": "20.00"}]
    return Ledger.load(write_ledger(tmp_path / "rules", customers=c, invoices=i, receipts=r,
                                    applications=a, activities=acts, disputes=d))


def test_suspension_proposals_follow_the_policy(rules_ledger):
    s = suspension_proposals(rules_ledger, AS_OF).set_index("customer_id")
    assert sorted(s.index) == ["S1", "S4", "S6"]
    assert s.loc["S1", "rules"] == "days and amount past due"
    assert "oldest invoice 95 days past due (policy >= 90)" in s.loc["S1", "evidence"]
    assert "6,000.00 USD past due in 1 invoice(s) (policy >= 5,000.00)" in s.loc["S1", "evidence"]
    assert s.loc["S4", "rules"] == "broken promises"
    assert "B1 due 2026-09-05, B2 due 2026-09-20" in s.loc["S4", "evidence"]
    assert s.loc["S6", "past_due_ar"] == 800000
    assert set(s["status"]) == {"recommended"}


def test_write_off_proposals_follow_the_policy(rules_ledger):
    w = write_off_proposals(rules_ledger, AS_OF).set_index("invoice_id")
    assert sorted(w.index) == ["W1", "W5"]
    assert w.loc["W1", "open_balance"] == 2000 and w.loc["W1", "days_past_due"] == 95
    assert w.loc["W1", "approval"] == "collections_manager"
    assert w.loc["W1", "status"] == "awaiting approval"
    assert "open 20.00 USD of 120.00 (policy <= 25.00)" in w.loc["W1", "evidence"]
    assert w.loc["W5", "open_balance"] == 2500                          # JPY threshold 3000


# ------------------------------------------------------------------ worklist

def test_worklist_ranks_and_explains(rules_ledger):
    wl = worklist(rules_ledger, AS_OF)
    # No fx_rates: USD and JPY amounts are not comparable, so each currency is ranked on
    # its own, the report currency (USD) first. USD priorities by hand (risk = history):
    #  S5 9000 * 1.0 * 1.2 (never contacted) * 1.2 (stage suspension) = 12960
    #  S1 6000 * 1.44 = 8640 = S2 (80 days: escalate_to_sales, also x1.2); S1 first by id
    #  S3 4000 * 1.44 = 5760; W 90.00 past due * 1.44 * 1.25 (W3's dispute, 60 days,
    #  no contact) = 162
    #  S4 100 * 0.25 (30 days: not late yet) * 2.25 (two broken) * 1.2 (29 days since) = 67.5
    assert wl["customer_id"].tolist() == ["S5", "S1", "S2", "S3", "W", "S4", "S6", "WJ"]
    assert wl["priority"].tolist()[:6] == [12960.0, 8640.0, 8640.0, 5760.0, 162.0, 67.5]
    assert wl.attrs["ranking"] == "within each currency (no fx_rates to USD for JPY)"
    top = wl.set_index("customer_id")
    assert top.loc["S4", "broken_promises"] == 2
    assert "2 broken promise(s), last due 2026-09-20 x2.25" in top.loc["S4", "reasons"]
    assert top.loc["S1", "next_action"] == "recommend suspension (see suspension proposals)"
    assert top.loc["S2", "stage"] == "escalate_to_sales"
    assert top.loc["S2", "next_action"] == "escalate to sales (stage escalate_to_sales)"
    assert top.loc["S5", "next_action"] != "recommend suspension (see suspension proposals)"
    assert "never contacted x1.2" in top.loc["S2", "reasons"]
    assert wl["rank"].tolist() == list(range(1, len(wl) + 1))


def test_worklist_priority_formula(tmp_path):
    """Two accounts, same 1,000.00 past due 20 days: X has a broken promise, Y does not.
    History risk: X 1 of 1 late (the promise invoice 40 days late), Y none in history ->
    0.25. priority X = 1000 * (0.25 + 0.75 * 1.0) * 1.5 (broken) * 1.2 (no contact since
    the promise 20 days ago) ... computed below by hand."""
    led = Ledger.load(write_ledger(
        tmp_path / "pf",
        customers=[cust("X"), cust("Y")],
        invoices=[inv("X1", "X", "2026-08-11", "2026-09-10", "1000.00"),
                  inv("Y1", "Y", "2026-08-11", "2026-09-10", "1000.00")],
        activities=[{"activity_id": "PX", "customer_id": "X", "timestamp": "2026-09-12T09:00:00+00:00",
                     "kind": "promise_to_pay", "collector": "Ann", "invoice_id": "X1",
                     "promise_date": "2026-09-15", "promise_amount": "1000.00"},
                    {"activity_id": "CY", "customer_id": "Y", "timestamp": "2026-09-25T09:00:00+00:00",
                     "kind": "email", "collector": "Ann"}]))
    wl = worklist(led, AS_OF).set_index("customer_id")
    # X: history: X1 due 09-10, open on 09-30: 20 days <= 30 -> not late: risk 0.0 -> weight 0.25
    # X: 1000 * 0.25 * 1.5 (one broken promise) * 1.2 (last contact 09-12: 18 days >= 14)
    assert wl.loc["X", "priority"] == pytest.approx(1000 * 0.25 * 1.5 * 1.2)
    # Y: 1000 * 0.25, emailed 5 days ago: no contact factor; stage friendly (20 days < 15? no: firm)
    assert wl.loc["Y", "stage"] == "firm"
    assert wl.loc["Y", "priority"] == pytest.approx(1000 * 0.25)
    assert wl.loc["Y", "next_action"] == "call: firm reminder (stage firm)"
    assert list(wl.index) == ["X", "Y"]


def test_worklist_counts_disputes_opened_in_the_workbench(tmp_path):
    """Y and Z: 1,000.00 each, 20 days past due, risk 0.25, no dispute in the ledger.
    Disputes opened in the workbench: Y1 on 09-15 (15 days, but the e-mail of 09-25 came
    after it: not awaiting), Z1 on 09-16 (14 days >= the policy's 10, Z never contacted:
    awaiting action). Y = 1000 * 0.25 (e-mailed 5 days ago); Z = 1000 * 0.25 * 1.25
    (dispute awaiting action) * 1.2 (never contacted)."""
    from workbench.disputes import dispute_states
    led = Ledger.load(write_ledger(
        tmp_path / "wd",
        customers=[cust("Y"), cust("Z")],
        invoices=[inv("Y1", "Y", "2026-08-11", "2026-09-10", "1000.00"),
                  inv("Z1", "Z", "2026-08-11", "2026-09-10", "1000.00")],
        activities=[{"activity_id": "CY", "customer_id": "Y",
                     "timestamp": "2026-09-25T09:00:00+00:00", "kind": "email",
                     "collector": "Ann"}]))
    events = [{"id": 1, "dispute_id": "WB-Y1-pricing", "customer_id": "Y", "invoice_id": "Y1",
               "event": "opened", "recorded_at": "2026-09-15T10:00:00+00:00",
               "recorded_by": "ann", "reason_code": "pricing", "amount_minor": 10000,
               "currency": "USD", "status": "open"},
              {"id": 2, "dispute_id": "WB-Z1-pricing", "customer_id": "Z", "invoice_id": "Z1",
               "event": "opened", "recorded_at": "2026-09-16T10:00:00+00:00",
               "recorded_by": "ann", "reason_code": "pricing", "amount_minor": 10000,
               "currency": "USD", "status": "open"}]
    st = dispute_states(led, AS_OF, events)
    plain = worklist(led, AS_OF).set_index("customer_id")
    assert plain["open_disputes"].tolist() == [0, 0]
    wl = worklist(led, AS_OF, disputes=st[st["is_open"]]).set_index("customer_id")
    assert wl.loc["Y", "open_disputes"] == 1 and wl.loc["Z", "open_disputes"] == 1
    assert wl.loc["Y", "priority"] == pytest.approx(1000 * 0.25)
    assert wl.loc["Z", "priority"] == pytest.approx(1000 * 0.25 * 1.25 * 1.2)
    assert "dispute awaiting action (WB-Z1-pricing open 14 days) x1.25" in wl.loc["Z", "reasons"]
    assert wl.loc["Z", "next_action"] == "work the dispute (WB-Z1-pricing open 14 days) with sales/billing"


def test_worklist_uses_a_risk_model_when_given(rules_ledger):
    scores = pd.Series({"S2": 0.9, "S3": 0.1})
    wl = worklist(rules_ledger, AS_OF, risk_scores=scores).set_index("customer_id")
    assert wl.loc["S2", "risk_source"] == "payment-risk model"
    assert wl.loc["S2", "risk"] == 0.9
    assert wl.loc["S1", "risk_source"] == "no score: 0.25"


def test_worklist_on_the_demo(demo_dir):
    led = Ledger.load(demo_dir)
    wl = worklist(led, AS_OF)
    assert len(wl) > 10 and wl["priority"].is_monotonic_decreasing
    assert wl["reasons"].str.len().min() > 10 and wl["next_action"].notna().all()
    mine = worklist(led, AS_OF, collector=wl.iloc[0]["collector"])
    assert set(mine["collector"]) == {wl.iloc[0]["collector"]}


# ------------------------------------------------------------------ CLI and documents

def test_activity_cli_and_documents(tmp_path, capsys, monkeypatch, cli_user):
    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    cli_user("analyst", "ann")
    kpi = str(FIXTURES / "kpi")
    assert main(["activity", "add", "--customer", "K1", "--kind", "promise_to_pay", "--collector", "Ann Lee",
                 "--at", "2026-09-29T10:00:00+00:00", "--invoice", "E", "--promise-date", "2026-10-01",
                 "--promise-amount", "2500.00", "--ledger", kpi, "--by", "ann"]) == 0
    assert main(["activity", "add", "--customer", "K1", "--kind", "call", "--collector", "Ann Lee",
                 "--promise-amount", "10.00", "--ledger", kpi]) == 2
    assert "go with kind promise_to_pay only" in capsys.readouterr().err
    assert main(["activity", "add", "--customer", "K1", "--kind", "promise_to_pay", "--collector",
                 "Ann Lee", "--promise-date", "2026-10-01", "--promise-amount", "1.001",
                 "--ledger", kpi]) == 2
    assert "'1.001' has more decimals than USD allows (2)" in capsys.readouterr().err
    assert main(["activity", "list", "--format", "json", "--ledger", kpi, "--as-of", AS_OF]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["promise_amount"] == "2500.00" and rows[0]["recorded_by"] == "ann"
    assert rows[0]["promise_status"] == "pending"
    out = tmp_path / "letter.html"
    assert main(["letter", "--ledger", kpi, "--customer", "K1", "--as-of", AS_OF, "--out", str(out),
                 "--language", "pt"]) == 0
    html = out.read_text()
    assert "Último aviso antes de outras medidas" in html and "3,900.00" in html
    st = tmp_path / "st.html"
    assert main(["statement", "--ledger", kpi, "--customer", "K1", "--as-of", AS_OF, "--out", str(st)]) == 0
    text = st.read_text()
    assert "Statement of account" in text and "<td class=\"num\">6,900.00</td>" in text
    assert "Unapplied payments on your account: 200.00 USD" in text   # R3's 200 left on account
    capsys.readouterr()
    assert main(["activity", "list", "--customer", "K1", "--kind", "letter", "--format", "json"]) == 0
    notes = [r["note"] for r in json.loads(capsys.readouterr().out)]
    assert any(n.startswith("dunning letter 'final' generated (sha256 ") for n in notes)
    assert any(n.startswith("statement of account as of 2026-09-30 generated") for n in notes)


@pytest.mark.parametrize("command", [
    ["worklist", "--no-log"], ["proposals", "--no-log"], ["aging"],
    ["statement", "--customer", "K1", "--out", "OUT.html", "--no-log"],
])
def test_as_of_before_any_data_is_a_clear_error(command, capsys, tmp_path):
    args = [a.replace("OUT", str(tmp_path / "x")) for a in command]
    assert main([args[0], "--ledger", str(FIXTURES / "kpi"), "--as-of", "2020-01-01", *args[1:]]) == 2
    assert ("2020-01-01 is before any data in the ledger (first invoice 2026-04-15)"
            in capsys.readouterr().err)
    assert not (tmp_path / "x.html").exists()


def test_the_log_as_it_stood_on_a_day_keeps_what_a_later_correction_replaced(tmp_path):
    """Two calls logged on 2026-09-29 and 2026-09-30; the first corrected on 2026-10-05.
    As known by 2026-09-30: both calls with their original notes; by 2026-10-05 (and now):
    the corrected note; by 2026-09-29: only the first. Times are the state database's own."""
    import sqlite3

    led = Ledger.load(FIXTURES / "kpi")
    url = f"sqlite:///{tmp_path / 's.db'}"
    log = ActivityLog(StateDB(url), led)
    first = log.add("K1", "call", "Ann Lee", at="2026-09-29T09:00:00+00:00", note="no answer",
                    actor="ann")
    log.add("K1", "call", "Ann Lee", at="2026-09-30T09:00:00+00:00", note="will pay", actor="ann")
    fix = log.correct(first, {"note": "left a message"}, "wrong note", actor="ann")
    # the recorded times, set as if written on those days (triggers dropped for the test)
    con = sqlite3.connect(tmp_path / "s.db")
    for trig in [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]:
        con.execute(f"DROP TRIGGER {trig}")
    for rid, day in ((first, "2026-09-29"), (first + 1, "2026-09-30"), (fix, "2026-10-05")):
        con.execute("UPDATE activities SET recorded_at = ? WHERE id = ?", (f"{day}T18:00:00+00:00", rid))
    con.commit()
    con.close()

    def notes(known_by):
        return log.frame(known_by)["note"].tolist()

    assert notes("2026-09-29") == ["no answer"]
    assert notes("2026-09-30") == ["no answer", "will pay"]
    assert notes("2026-10-05") == ["will pay", "left a message"]
    assert notes(None) == ["will pay", "left a message"]
    frame = activity_frame(led, log, known_by="2026-09-30")
    assert frame.loc[frame["source"] == "state", "note"].tolist() == ["no answer", "will pay"]


def test_suspension_stage_below_the_suspension_rule_is_not_told_to_suspend(tmp_path):
    """Three accounts 100 days past due (the suspension stage by age, policy >= 90 days):
    S owes 6,000.00 (>= 5,000.00: the rule is met: recommend suspension); T owes 50.00 and
    Ann called on the day (contact on the as-of day counts as 0 days, never -1); W owes
    20.00 (a small balance the policy writes off: <= 25.00, >= 90 days)."""
    led = Ledger.load(write_ledger(
        tmp_path / "sus",
        customers=[cust("S"), cust("T"), cust("W")],
        invoices=[inv("S1", "S", "2026-05-23", "2026-06-22", "6000.00"),
                  inv("T1", "T", "2026-05-23", "2026-06-22", "50.00"),
                  inv("W1", "W", "2026-05-23", "2026-06-22", "20.00")],
        activities=[{"activity_id": "CT", "customer_id": "T", "kind": "call",
                     "timestamp": "2026-09-30T15:00:00+00:00", "collector": "Ann"}]))
    wl = worklist(led, AS_OF).set_index("customer_id")
    assert wl["oldest_days_past_due"].tolist() == [100, 100, 100]
    assert wl.loc["S", "next_action"] == "recommend suspension (see suspension proposals)"
    assert wl.loc["T", "next_action"] == (
        "escalate to sales: stage suspension by age, but no suspension (past due 50.00 USD, "
        "under 5,000.00; 0 broken promise(s), under 2)")
    assert wl.loc["W", "next_action"] == ("propose the small-balance write-off (see write-off "
                                          "proposals); below the suspension rule")
    assert wl.loc["T", "days_since_contact"] == 0
    # already suspended: the rule is met but there is nothing to propose; never "not met"
    led2 = Ledger.load(write_ledger(
        tmp_path / "sus2", customers=[cust("S", status="suspended")],
        invoices=[inv("S1", "S", "2026-05-23", "2026-06-22", "6000.00")]))
    assert worklist(led2, AS_OF).set_index("customer_id").loc["S", "next_action"] == (
        "account already suspended: escalate to sales for what is still owed "
        "(stage suspension)")
