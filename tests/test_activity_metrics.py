"""Activity metrics per collector on a hand-made ledger and activity log, 2026Q3.

Customers: C1, C2 USD Ann Lee; C3 USD, Ann Lee until 2026-10-15 then Bob Stone
(customer_changes: the master says Bob today, Ann on 2026-09-30); C4 EUR Bob Stone.

  invoice  customer  dated       due         amount   what happens
  I1       C1        2026-05-01  2026-05-31  1000.00  600.00 paid 08-10 (R1)      past due 06-30 1000 / 09-30 400
  I2       C2        2026-06-01  2026-07-01   500.00  open                         not due 06-30 / past due 500
  I3       C3        2026-04-01  2026-05-01  2000.00  paid 09-05 (R2)              past due 2000 / 0
  I4       C4        2026-06-15  2026-07-15   300.00  paid 07-20 (R3, EUR)         not due / 0
  I5       C1        2026-09-01  2026-10-01   700.00  open, not due on 09-30       - / 0
  R4 (C2, 100.00 on 2026-10-02) is after the period.
  I6       C3        2026-10-01  2026-10-05  1000.00  400.00 paid 10-10 (R5, Ann's), 600.00 10-20 (R6, Bob's)

Ann Lee, USD (accounts assigned on 09-30: C1, C2, C3 = 3):
  calls 1 (A1; A8 is June, A9 October), e-mails 2 (A2, A3), letters 1 (A6), promises 2 (A4, A5)
  A4 promised 600.00 on I1 by 08-10, R1 600.00 received 08-10: kept; A5 500.00 by 09-15 on I2,
  nothing paid: broken => kept rate 1 / 2 = 50 %
  accounts touched by Ann: C1, C2 (C3 only by Bob: A10) => 2 of 3 = 66.6667 %
  cash collected on her accounts: R1 600.00 + R2 2000.00 = 2600.00
  past due at the start (06-30): I1 1000 + I3 2000 = 3000.00; at the end: I1 400 + I2 500 =
  900.00 => reduction 2100.00 = 70 %
  with the state database's log (one more call by Ann on C2): calls 2
Bob Stone: USD row: calls 1 (A10 on C3, Ann's account), assigned 0; EUR row: calls 1 (A7),
  assigned C4 = 1, touched 1 (100 %), cash collected 300.00 EUR, past due 0 / 0 (reduction n/a).

Activity targets (default, quarterly; at_risk_pct 10): calls 2, emails 4, promises 2,
promise_kept_rate 60, accounts_touched_pct 50, cash_collected USD 3000.00,
past_due_reduction_pct 50; Bob's own: calls 2.
  Ann (all currencies): calls 1 vs 2 missed (-1, -50 %); e-mails 2 vs 4 missed; promises 2 vs 2
  on track; kept rate 50 vs 60: short 10 > 6 missed; touched 66.6667 vs 50 on track.
  Ann USD: cash 2600.00 vs 3000.00: short 400.00 > 300.00 missed (-400.00, -13.3333 %);
  past-due reduction 70 vs 50 on track.
  Bob (all): calls 2 vs 2 on track. Bob EUR: no EUR cash target (noted).
"""

import json

import pandas as pd
import pytest

from workbench import Ledger
from workbench.activity_metrics import activity_against_targets, activity_metrics
from workbench.cli import main
from workbench.goals import load_goals

from .conftest import write_ledger

GOALS = """\
name: activity-goals
version: "1"
status: {at_risk_pct: 10}
activity:
  default:
    quarterly: {calls: 2, emails: 4, promises: 2, promise_kept_rate: 60,
                accounts_touched_pct: 50, cash_collected: {USD: "3000.00"},
                past_due_reduction_pct: 50}
  collectors:
    Bob Stone:
      quarterly: {calls: 2}
"""


def _act(aid, cid, ts, kind, who, **kw):
    return {"activity_id": aid, "customer_id": cid, "timestamp": ts, "kind": kind,
            "collector": who, "invoice_id": kw.get("invoice_id", ""), "note": "",
            "promise_date": kw.get("promise_date", ""),
            "promise_amount": kw.get("promise_amount", "")}


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("activity") / "ledger"
    ann, bob = "Ann Lee", "Bob Stone"
    write_ledger(
        folder,
        customers=[
            {"customer_id": "C1", "name": "One Co", "currency": "USD", "payment_terms_days": 30,
             "segment": "Mid-Market", "collector": ann},
            {"customer_id": "C2", "name": "Two Co", "currency": "USD", "payment_terms_days": 30,
             "segment": "Mid-Market", "collector": ann},
            {"customer_id": "C3", "name": "Three Co", "currency": "USD", "payment_terms_days": 30,
             "segment": "Mid-Market", "collector": bob},
            {"customer_id": "C4", "name": "Vier GmbH", "currency": "EUR", "payment_terms_days": 30,
             "segment": "Enterprise", "collector": bob}],
        customer_changes=[
            {"customer_id": "C3", "effective_date": "2026-01-01", "field": "collector", "value": ann},
            {"customer_id": "C3", "effective_date": "2026-10-15", "field": "collector", "value": bob}],
        invoices=[
            {"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2026-05-01",
             "due_date": "2026-05-31", "amount": "1000.00"},
            {"invoice_id": "I2", "customer_id": "C2", "invoice_date": "2026-06-01",
             "due_date": "2026-07-01", "amount": "500.00"},
            {"invoice_id": "I3", "customer_id": "C3", "invoice_date": "2026-04-01",
             "due_date": "2026-05-01", "amount": "2000.00"},
            {"invoice_id": "I4", "customer_id": "C4", "invoice_date": "2026-06-15",
             "due_date": "2026-07-15", "amount": "300.00"},
            {"invoice_id": "I5", "customer_id": "C1", "invoice_date": "2026-09-01",
             "due_date": "2026-10-01", "amount": "700.00"},
            {"invoice_id": "I6", "customer_id": "C3", "invoice_date": "2026-10-01",
             "due_date": "2026-10-05", "amount": "1000.00"}],
        receipts=[
            {"receipt_id": "R1", "receipt_date": "2026-08-10", "amount": "600.00",
             "payer_name": "ONE CO", "reference": "I1", "customer_id": "C1", "currency": "USD"},
            {"receipt_id": "R2", "receipt_date": "2026-09-05", "amount": "2000.00",
             "payer_name": "THREE CO", "reference": "I3", "customer_id": "C3", "currency": "USD"},
            {"receipt_id": "R3", "receipt_date": "2026-07-20", "amount": "300.00",
             "payer_name": "VIER", "reference": "I4", "customer_id": "C4", "currency": "EUR"},
            {"receipt_id": "R4", "receipt_date": "2026-10-02", "amount": "100.00",
             "payer_name": "TWO CO", "reference": "", "customer_id": "C2", "currency": "USD"},
            {"receipt_id": "R5", "receipt_date": "2026-10-10", "amount": "400.00",
             "payer_name": "THREE CO", "reference": "I6", "customer_id": "C3", "currency": "USD"},
            {"receipt_id": "R6", "receipt_date": "2026-10-20", "amount": "600.00",
             "payer_name": "THREE CO", "reference": "I6", "customer_id": "C3", "currency": "USD"}],
        applications=[
            {"receipt_id": "R1", "invoice_id": "I1", "amount": "600.00", "applied_date": "2026-08-10"},
            {"receipt_id": "R2", "invoice_id": "I3", "amount": "2000.00", "applied_date": "2026-09-05"},
            {"receipt_id": "R3", "invoice_id": "I4", "amount": "300.00", "applied_date": "2026-07-20"},
            {"receipt_id": "R5", "invoice_id": "I6", "amount": "400.00", "applied_date": "2026-10-10"},
            {"receipt_id": "R6", "invoice_id": "I6", "amount": "600.00", "applied_date": "2026-10-20"}],
        activities=[
            _act("A1", "C1", "2026-07-05T10:00:00+00:00", "call", ann),
            _act("A2", "C1", "2026-07-06T10:00:00+00:00", "email", ann),
            _act("A3", "C2", "2026-08-01T10:00:00+00:00", "email", ann),
            _act("A4", "C1", "2026-08-02T10:00:00+00:00", "promise_to_pay", ann,
                 invoice_id="I1", promise_date="2026-08-10", promise_amount="600.00"),
            _act("A5", "C2", "2026-09-01T10:00:00+00:00", "promise_to_pay", ann,
                 invoice_id="I2", promise_date="2026-09-15", promise_amount="500.00"),
            _act("A6", "C1", "2026-09-02T10:00:00+00:00", "letter", ann),
            _act("A7", "C4", "2026-07-10T10:00:00+00:00", "call", bob),
            _act("A8", "C1", "2026-06-29T10:00:00+00:00", "call", ann),
            _act("A9", "C2", "2026-10-01T10:00:00+00:00", "call", ann),
            _act("A10", "C3", "2026-09-20T10:00:00+00:00", "call", bob)],
    )
    return folder


@pytest.fixture(scope="module")
def ledger(ledger_dir):
    return Ledger.load(ledger_dir)


def _rows(frame):
    return {(r["collector"], r["currency"]): r for r in frame.to_dict("records")}


def test_metrics_by_hand(ledger):
    m = activity_metrics(ledger, "2026Q3")
    rows = _rows(m)
    assert set(rows) == {("Ann Lee", "USD"), ("Bob Stone", "USD"), ("Bob Stone", "EUR")}
    ann = rows[("Ann Lee", "USD")]
    assert (ann["calls"], ann["emails"], ann["letters"], ann["promises"]) == (1, 2, 1, 2)
    assert (ann["promises_kept"], ann["promises_broken"], ann["promise_kept_rate"]) == (1, 1, 50.0)
    assert (ann["accounts_touched"], ann["accounts_assigned"]) == (2, 3)
    assert ann["accounts_touched_pct"] == pytest.approx(66.6667)
    assert ann["cash_collected"] == 260000
    assert (ann["past_due_start"], ann["past_due_end"], ann["past_due_reduction"]) == \
        (300000, 90000, 210000)
    assert ann["past_due_reduction_pct"] == 70.0
    bob_usd, bob_eur = rows[("Bob Stone", "USD")], rows[("Bob Stone", "EUR")]
    assert (bob_usd["calls"], bob_usd["accounts_assigned"], bob_usd["accounts_touched"]) == (1, 0, 0)
    assert bob_usd["accounts_touched_pct"] is None
    assert (bob_eur["calls"], bob_eur["accounts_assigned"], bob_eur["accounts_touched"]) == (1, 1, 1)
    assert bob_eur["cash_collected"] == 30000 and bob_eur["past_due_reduction_pct"] is None
    only = activity_metrics(ledger, "2026Q3", collector="Bob Stone")
    assert set(only["collector"]) == {"Bob Stone"}


def test_metrics_against_targets(ledger, tmp_path):
    path = tmp_path / "goals.yaml"
    path.write_text(GOALS)
    frame = activity_against_targets(activity_metrics(ledger, "2026Q3"), load_goals(path), ledger)
    got = {(r["collector"], r["currency"], r["goal"]): r for r in frame.to_dict("records")}
    calls = got[("Ann Lee", "all", "calls")]
    assert (calls["actual"], calls["target"], calls["variance"], calls["status"]) == (1, 2, -1, "missed")
    assert calls["variance_pct"] == -50.0
    assert got[("Ann Lee", "all", "emails")]["status"] == "missed"
    assert got[("Ann Lee", "all", "promises")]["status"] == "on track"
    assert got[("Ann Lee", "all", "promise_kept_rate")]["status"] == "missed"
    assert got[("Ann Lee", "all", "accounts_touched_pct")]["status"] == "on track"
    cash = got[("Ann Lee", "USD", "cash_collected")]
    assert (cash["actual"], cash["target"], cash["variance"], cash["status"]) == \
        (260000, 300000, -40000, "missed")
    assert cash["variance_pct"] == pytest.approx(-13.3333)
    assert got[("Ann Lee", "USD", "past_due_reduction_pct")]["status"] == "on track"
    # a rate's variance is in points (70 - 50 = +20 pp) and has no variance % (a percent of
    # a percent means nothing; on a tiny base it is absurd)
    red = got[("Ann Lee", "USD", "past_due_reduction_pct")]
    assert (red["variance"], red["variance_pct"]) == (pytest.approx(20.0), None)
    kept = got[("Ann Lee", "all", "promise_kept_rate")]
    assert (kept["variance"], kept["variance_pct"]) == (pytest.approx(-10.0), None)
    assert got[("Bob Stone", "all", "calls")]["status"] == "on track"
    assert ("Bob Stone", "EUR", "cash_collected") not in got
    assert any("no EUR target" in n for n in frame.attrs["notes"])


def test_cli_metrics_with_the_state_log(ledger_dir, tmp_path, capsys, monkeypatch):
    db = f"sqlite:///{tmp_path / 'state.db'}"
    assert main(["activity", "add", "--customer", "C2", "--kind", "call", "--collector", "Ann Lee",
                 "--at", "2026-09-10T09:00:00+00:00", "--db", db]) == 0
    capsys.readouterr()
    path = tmp_path / "goals.yaml"
    path.write_text(GOALS)
    assert main(["activity", "metrics", "--ledger", str(ledger_dir), "--period", "2026Q3",
                 "--collector", "Ann Lee", "--format", "json", "--db", db,
                 "--targets", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["period"] == "2026Q3" and doc["goals"] == "activity-goals 1"
    (ann,) = doc["metrics"]
    # the call logged today (after the quarter ended) but dated 2026-09-10 is not in the
    # quarter's figures: they are as known at the quarter's end (point in time)
    assert ann["calls"] == 1 and ann["cash_collected"] == "2600.00"
    assert ann["past_due_reduction"] == "2100.00"
    calls = next(t for t in doc["targets"] if t["goal"] == "calls")
    assert (calls["actual"], calls["status"]) == (1, "missed")
    cash = next(t for t in doc["targets"] if t["goal"] == "cash_collected")
    assert (cash["actual"], cash["target"], cash["variance"]) == ("2600.00", "3000.00", "-400.00")
    assert main(["activity", "metrics", "--ledger", str(ledger_dir), "--period", "2026Q3",
                 "--no-log", "--targets", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Ann Lee" in out and "2,600.00" in out and "Against activity targets" in out
    assert main(["activity", "metrics", "--ledger", str(ledger_dir), "--period", "2026Q3",
                 "--no-log", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("collector,currency,period,calls")
    assert any(line.startswith("Ann Lee,USD,2026Q3,1,2,1,2") for line in lines)


def test_cli_metrics_refusals(ledger_dir, capsys):
    base = ["activity", "metrics", "--ledger", str(ledger_dir), "--no-log"]
    assert main(base + ["--period", "2026Q3", "--collector", "Ann Le"]) == 2
    assert "did you mean" in capsys.readouterr().err
    assert main(base + ["--period", "2026-13"]) == 2
    capsys.readouterr()
    assert main(base + ["--period", "2026", "--targets", "workbench/policies/goals.yaml"]) == 2
    assert "per quarter" in capsys.readouterr().err


def test_activities_recorded_after_the_period_are_left_out(ledger):
    from workbench.collections import activity_frame
    acts = activity_frame(ledger)
    late = {"activity_id": "S-1", "customer_id": "C1", "kind": "call", "collector": "Ann Lee",
            "timestamp": pd.Timestamp("2026-09-25T10:00:00+00:00"), "source": "state",
            "recorded_at": "2026-10-03T08:00:00+00:00"}
    on_time = {**late, "activity_id": "S-2", "recorded_at": "2026-09-30T23:00:00+00:00"}
    m = _rows(activity_metrics(ledger, "2026Q3", pd.concat(
        [acts, pd.DataFrame([late])], ignore_index=True)))
    assert m[("Ann Lee", "USD")]["calls"] == 1          # A1 only: S-1 was learned 10-03
    m = _rows(activity_metrics(ledger, "2026Q3", pd.concat(
        [acts, pd.DataFrame([late, on_time])], ignore_index=True)))
    assert m[("Ann Lee", "USD")]["calls"] == 2          # A1 and S-2 (recorded 09-30)


def test_accounts_that_move_mid_period_are_noted(ledger):
    # C3 moves from Ann Lee to Bob Stone on 2026-10-15 (customer_changes)
    notes = activity_metrics(ledger, "2026Q4").attrs["notes"]
    moved = [n for n in notes if "changed collector" in n]
    assert moved == [
        "1 account(s) changed collector during 2026Q4: C3 Ann Lee -> Bob Stone on 2026-10-15. "
        "Each collector is credited with the cash received and the past-due change while they "
        "held the account; it counts as assigned to the collector at the period end "
        "(activities stay with whoever did them)"]
    assert not [n for n in activity_metrics(ledger, "2026Q3").attrs["notes"]
                if "changed collector" in n]


def test_cli_shows_the_moved_accounts(ledger_dir, capsys):
    from workbench.cli import main
    assert main(["activity", "metrics", "--ledger", str(ledger_dir), "--period", "2026Q4",
                 "--format", "json", "--no-log"]) == 0
    import json
    doc = json.loads(capsys.readouterr().out)
    assert any("C3 Ann Lee -> Bob Stone on 2026-10-15" in n for n in doc["notes"])


def test_an_account_moved_mid_period_is_split_at_the_move(ledger):
    """2026Q4: C3 is Ann's until 10-14 and Bob's from 10-15.

    Cash by collector on the receipt date: Ann R4 100.00 (C2) + R5 400.00 (C3, 10-10) =
    500.00; Bob R6 600.00 (C3, 10-20). Past due, USD:
      Ann: C1 09-30 I1 400 (I5 not due) -> 12-31 I1 400 + I5 700 = 1100; C2 500 -> 500
           (R4 unapplied); C3 her stretch 09-30 0 -> 10-14 I6 1000 - 400 = 600.
           start 400 + 500 + 0 = 900.00, end 1100 + 500 + 600 = 2200.00, reduction -1300.00
      Bob: C3 his stretch 10-14 600 -> 12-31 0: start 600.00, end 0, reduction 100 %.
    Assigned at the period end: Ann C1, C2 = 2; Bob C3 (USD) = 1, C4 (EUR) = 1.
    The company's cash (1100.00 USD) and past-due change are the same however it is split.
    """
    rows = _rows(activity_metrics(ledger, "2026Q4"))
    ann, bob = rows[("Ann Lee", "USD")], rows[("Bob Stone", "USD")]
    assert (ann["cash_collected"], bob["cash_collected"]) == (50000, 60000)
    assert (ann["past_due_start"], ann["past_due_end"], ann["past_due_reduction"]) == \
        (90000, 220000, -130000)
    assert (bob["past_due_start"], bob["past_due_end"], bob["past_due_reduction"]) == (60000, 0, 60000)
    assert bob["past_due_reduction_pct"] == 100.0
    assert (ann["accounts_assigned"], bob["accounts_assigned"]) == (2, 1)
    from workbench.kpis import kpi_table
    kt = kpi_table(ledger, "2026Q4").set_index("currency")
    assert ann["cash_collected"] + bob["cash_collected"] == kt.loc["USD", "cash_collected"]
    assert ann["past_due_end"] + bob["past_due_end"] - ann["past_due_start"] - \
        bob["past_due_start"] == kt.loc["USD", "ending_past_due_ar"] - (40000 + 50000)


def test_cli_reads_the_default_ledger_without_ledger_option(ledger_dir, capsys, monkeypatch):
    """``workbench activity metrics --period 2026Q3`` as the issue spells it: the ledger is
    $WORKBENCH_LEDGER (else the demo ledger), named on stderr; the figures are the same."""
    import json
    from workbench.cli import main
    base = ["activity", "metrics", "--period", "2026Q3", "--format", "json", "--no-log"]
    assert main(base + ["--ledger", str(ledger_dir)]) == 0
    explicit = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("WORKBENCH_LEDGER", str(ledger_dir))
    assert main(base) == 0
    got = capsys.readouterr()
    assert json.loads(got.out) == explicit
    assert f"ledger: {ledger_dir} (WORKBENCH_LEDGER)" in got.err
    monkeypatch.setenv("WORKBENCH_LEDGER", str(ledger_dir / "nowhere"))
    assert main(base) == 2
    assert f"ledger folder {ledger_dir / 'nowhere'} does not exist" in capsys.readouterr().err
