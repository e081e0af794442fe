"""Account adjustments: proposed, refused above authority, approved, exported, posted, never
exported twice; figures computed by hand below."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import write_ledger
from workbench.adjustments import (
    AdjustmentError,
    adjustment_status,
    approve,
    export_adjustments,
    load_adjustments_policy,
    load_export_map,
    propose_adjustments,
    rebuild_export,
    record_proposals,
    refuse,
    withdraw,
)
from workbench.ledger import Ledger
from workbench.policy import PolicyError
from workbench.state import StateDB

AS_OF = "2026-09-30"

# Hand-made ledger, as of 2026-09-30:
#   I1 C1 1000.00 USD, dispute D1 800.00 closed 2026-03-20 as credit_memo -> credit memo 800.00
#   I2 C1  500.00 USD, R1 paid 490.00: short by 10.00 <= 50.00 and 10/500 = 2% <= 2% -> write-off
#      10.00 (also a small balance, 202 days past due: short_pay comes first)
#   I3 C2  100.000 KWD, note "PRICING ERROR 12.345: ..." -> credit memo 12.345 KWD
#   I4 C3   2500 JPY due 2026-03-31, 183 days past due, 2500 <= 3000 -> small-balance write-off
#   I5 C1  300.00 USD due 2026-10-30, credit memo CM0 50.00 (250.00 open): nothing
LEDGER = dict(  # noqa: C408 - one keyword per table, as write_ledger takes them
    customers=[
        {"customer_id": "C1", "name": "Acme Corp", "currency": "USD", "payment_terms_days": 30},
        {"customer_id": "C2", "name": "Gulf Trading", "currency": "KWD", "payment_terms_days": 30},
        {"customer_id": "C3", "name": "Tokyo KK", "currency": "JPY", "payment_terms_days": 30}],
    invoices=[
        {"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2026-01-05",
         "due_date": "2026-02-04", "amount": "1000.00"},
        {"invoice_id": "I2", "customer_id": "C1", "invoice_date": "2026-02-10",
         "due_date": "2026-03-12", "amount": "500.00"},
        {"invoice_id": "I3", "customer_id": "C2", "invoice_date": "2026-01-10",
         "due_date": "2026-02-09", "amount": "100.000"},
        {"invoice_id": "I4", "customer_id": "C3", "invoice_date": "2026-03-01",
         "due_date": "2026-03-31", "amount": "2500"},
        {"invoice_id": "I5", "customer_id": "C1", "invoice_date": "2026-09-30",
         "due_date": "2026-10-30", "amount": "300.00"}],
    receipts=[{"receipt_id": "R1", "receipt_date": "2026-03-10", "amount": "490.00",
               "payer_name": "ACME CORP", "reference": "I2", "customer_id": "C1"}],
    applications=[{"receipt_id": "R1", "invoice_id": "I2", "amount": "490.00",
                   "applied_date": "2026-03-10"}],
    credit_memos=[{"credit_memo_id": "CM0", "customer_id": "C1", "date": "2026-09-30",
                   "amount": "50.00", "invoice_id": "I5", "reason": "goodwill"}],
    disputes=[{"dispute_id": "D1", "invoice_id": "I1", "opened_date": "2026-02-20",
               "reason_code": "pricing", "amount": "800.00", "closed_date": "2026-03-20",
               "resolution": "credit_memo"}],
    activities=[{"activity_id": "A1", "customer_id": "C2", "timestamp": "2026-04-01T10:00:00+00:00",
                 "kind": "note", "collector": "Ann Lee", "invoice_id": "I3",
                 "note": "PRICING ERROR 12.345: billed 1.250/unit, contract 1.125"}],
)


@pytest.fixture
def ledger_dir(tmp_path) -> Path:
    return write_ledger(tmp_path / "ledger", **LEDGER)


@pytest.fixture
def db(tmp_path) -> StateDB:
    return StateDB(f"sqlite:///{tmp_path / 'state.db'}")


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _proposed(db, ledger_dir):
    ledger = Ledger.load(ledger_dir)
    props = propose_adjustments(ledger, AS_OF, db=db, ledger_dir=ledger_dir)
    return ledger, props, record_proposals(db, props, actor="ann", ledger=ledger)


def test_proposals_from_each_source_with_evidence(db, ledger_dir):
    ledger, props, ids = _proposed(db, ledger_dir)
    assert props[["adjustment_id", "kind", "source", "customer_id", "invoice_id", "currency",
                  "amount_minor", "amount"]].values.tolist() == [
        ["ADJ-DISPUTE-D1", "credit_memo", "dispute", "C1", "I1", "USD", 80000, "800.00"],
        ["ADJ-PRICINGERROR-A1", "credit_memo", "pricing_error", "C2", "I3", "KWD", 12345, "12.345"],
        ["ADJ-SHORTPAY-I2", "write_off", "short_pay", "C1", "I2", "USD", 1000, "10.00"],
        ["ADJ-SMALLBALANCE-I4", "write_off", "small_balance", "C3", "I4", "JPY", 2500, "2500"]]
    assert ids == list(props["adjustment_id"])
    ev = json.loads(props.loc[0, "evidence"])
    assert ev["where"] == [{"table": "disputes", "key": {"dispute_id": "D1"},
                            "file": str(ledger_dir / "disputes.csv")}]
    assert ev["figures"]["disputed"] == "800.00" and ev["as_of"] == AS_OF
    assert "closed 2026-03-20 with resolution credit_memo" in ev["what"]
    ev = json.loads(props.loc[2, "evidence"])
    assert ev["figures"]["applied"] == "490.00" and ev["figures"]["tolerance"] == "50.00"
    assert json.loads(props.loc[1, "evidence"])["where"][0]["key"] == {"activity_id": "A1"}
    # proposing again records nothing (deterministic ids, checked in the write)
    assert record_proposals(db, propose_adjustments(ledger, AS_OF, db=db), actor="ann") == []
    assert db.count("adjustments") == 4
    assert db.verify_audit_chain().ok


def test_round_trip_refused_approved_exported_posted_once(db, ledger_dir, tmp_path):
    ledger, props, _ = _proposed(db, ledger_dir)
    # whoever proposed may not approve (segregation of duties), whatever the amount
    with pytest.raises(AdjustmentError, match="ADJ-PRICINGERROR-A1 was proposed by ann: someone "
                                              "else approves it"):
        approve(db, "ADJ-PRICINGERROR-A1", "ann", "cfo", ledger)
    # an analyst (limit 500.00 USD) cannot approve the 800.00 USD credit memo
    with pytest.raises(AdjustmentError, match=r"800\.00 USD is above the analyst limit of "
                                              r"500\.00 USD .*needs manager authority"):
        approve(db, "ADJ-DISPUTE-D1", "al", "analyst", ledger)
    assert adjustment_status(db, "proposed")["adjustment_id"].tolist() == list(props["adjustment_id"])
    approve(db, "ADJ-DISPUTE-D1", "maria", "manager", ledger, "credit agreed with sales")
    with pytest.raises(AdjustmentError, match="ADJ-DISPUTE-D1 is approved .*only a proposed"):
        approve(db, "ADJ-DISPUTE-D1", "maria", "manager", ledger)
    approve(db, "ADJ-PRICINGERROR-A1", "al", "analyst", ledger)         # 12.345 KWD <= 150.000
    approve(db, "ADJ-SMALLBALANCE-I4", "al", "analyst", ledger)         # 2500 JPY <= 75000
    refuse(db, "ADJ-SHORTPAY-I2", "maria", "manager", "customer will pay the bank fee")
    with pytest.raises(AdjustmentError, match="is refused"):
        approve(db, "ADJ-SHORTPAY-I2", "maria", "manager", ledger)
    with pytest.raises(AdjustmentError, match="no adjustment 'ADJ-NOPE' was proposed"):
        approve(db, "ADJ-NOPE", "maria", "manager", ledger)
    # each approval records the policy and the limit it was judged against (for the auditor)
    rec = {r["adjustment_id"]: json.loads(r["evidence"])
           for r in db.rows("adjustments", where={"event": "approved"})}
    assert rec["ADJ-DISPUTE-D1"] == {
        "as_of": "2026-09-30", "authority": "manager", "currency": "USD", "limit": "10000.00",
        "needed": "manager", "policy": "default-adjustments 2026.1",
        "what": "approved by maria (manager) under policy default-adjustments 2026.1: limit "
                "10,000.00 USD, 800.00 USD needs manager"}
    assert (rec["ADJ-PRICINGERROR-A1"]["limit"], rec["ADJ-SMALLBALANCE-I4"]["limit"]) == \
        ("150.000", "75000")
    from workbench.evidence.controls import AuthorityLimits
    row = next(r for r in db.rows("adjustments", where={"event": "approved"})
               if r["adjustment_id"] == "ADJ-PRICINGERROR-A1")
    assert AuthorityLimits(ledger).limit("adjustments", row) == (
        "up to 150.000 KWD", "adjustments policy default-adjustments 2026.1, as recorded on the "
        "approval")

    out = tmp_path / "erp"
    res = export_adjustments(db, ledger, out, date="2026-10-01", actor="maria")
    assert res.adjustment_ids == ["ADJ-DISPUTE-D1", "ADJ-PRICINGERROR-A1", "ADJ-SMALLBALANCE-I4"]
    assert res.batch_id.startswith("EXP-2026-10-01-")
    assert (res.folder / "credit_memos.csv").read_text() == (
        "credit_memo_id,customer_id,date,amount,currency,invoice_id,reason\n"
        "ADJ-DISPUTE-D1,C1,2026-10-01,800.00,USD,I1,dispute_resolved\n"
        "ADJ-PRICINGERROR-A1,C2,2026-10-01,12.345,KWD,I3,pricing_error\n")
    assert (res.folder / "write_offs.csv").read_text() == (
        "invoice_id,date,amount,reason,currency,approved_by\n"
        "I4,2026-10-01,2500,small_balance (ADJ-SMALLBALANCE-I4),JPY,al\n")
    b = res.batch_id
    assert (res.folder / "netsuite_adjustments.csv").read_text() == (
        "External ID,Type,Customer,Date,Currency,Item,Amount,Apply To,Reason,Memo,Approved By,Batch\n"
        f"ADJ-DISPUTE-D1,Credit Memo,C1,2026-10-01,USD,AR Adjustment,800.00,I1,dispute_resolved,"
        f"credit agreed with sales,maria,{b}\n"
        f"ADJ-PRICINGERROR-A1,Credit Memo,C2,2026-10-01,KWD,AR Adjustment,12.345,I3,pricing_error,,al,{b}\n"
        f"ADJ-SMALLBALANCE-I4,Credit Memo,C3,2026-10-01,JPY,Bad Debt Write-off,2500,I4,small_balance,,al,{b}\n")
    assert adjustment_status(db)[["adjustment_id", "status"]].values.tolist() == [
        ["ADJ-DISPUTE-D1", "exported"], ["ADJ-PRICINGERROR-A1", "exported"],
        ["ADJ-SHORTPAY-I2", "refused"], ["ADJ-SMALLBALANCE-I4", "exported"]]

    # a second export exports nothing
    again = export_adjustments(db, ledger, out, date="2026-10-02")
    assert again.batch_id is None and again.adjustment_ids == []
    assert sorted(p.name for p in out.iterdir()) == [b]

    # the ERP posts the batch: its rows appended to the ledger's files
    write_ledger(ledger_dir, credit_memos=LEDGER["credit_memos"] + _rows(res.folder / "credit_memos.csv"),
                 write_offs=_rows(res.folder / "write_offs.csv"))
    before = ledger.balances("2026-10-01").set_index("invoice_id")["open_minor"]
    posted = Ledger.load(ledger_dir)
    after = posted.balances("2026-10-01").set_index("invoice_id")["open_minor"]
    assert (before - after).to_dict() == {"I1": 80000, "I2": 0, "I3": 12345, "I4": 2500, "I5": 0}
    assert after.to_dict() == {"I1": 20000, "I2": 1000, "I3": 87655, "I4": 0, "I5": 25000}
    # proposing on the posted ledger: nothing new (the dispute is credited, I4 is settled)
    fresh = propose_adjustments(posted, "2026-10-01", db=db)
    assert record_proposals(db, fresh, ledger=posted) == []
    assert export_adjustments(db, posted, out, date="2026-10-02").batch_id is None
    assert db.verify_audit_chain().ok


def test_approval_checks_the_amount_is_still_open(db, ledger_dir):
    _proposed(db, ledger_dir)
    # the ERP booked 300.00 on I1 meanwhile: 1000 - 300 = 700.00 open < 800.00
    manual = {"credit_memo_id": "CM9", "customer_id": "C1", "date": "2026-09-30",
              "amount": "300.00", "invoice_id": "I1", "reason": "manual"}
    write_ledger(ledger_dir, credit_memos=LEDGER["credit_memos"] + [manual])
    with pytest.raises(AdjustmentError, match=r"more than is still open on I1 \(700\.00 USD open"):
        approve(db, "ADJ-DISPUTE-D1", "maria", "manager", Ledger.load(ledger_dir))


def test_concurrent_double_export_exports_once(tmp_path, ledger_dir):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    db = StateDB(url)
    ledger, props, _ = _proposed(db, ledger_dir)
    for a in props["adjustment_id"]:
        approve(db, a, "carl", "cfo", ledger)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def go(i):
        try:
            other = StateDB(url)               # its own engine: its own connection
            barrier.wait()
            results.append(export_adjustments(other, ledger, tmp_path / f"out{i}",
                                              date="2026-10-01", actor=f"clerk{i}"))
        except Exception as e:  # noqa: BLE001 - any failure is reported below
            errors.append(e)
    threads = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    done = [r for r in results if r.batch_id is not None]
    assert len(done) == 1 and len(done[0].adjustment_ids) == 4
    assert [r.batch_id for r in results].count(None) == 1
    exported = db.rows("adjustments", where={"event": "exported"})
    assert sorted(r["adjustment_id"] for r in exported) == sorted(props["adjustment_id"])
    assert len(list((tmp_path / "out0").glob("EXP-*")) + list((tmp_path / "out1").glob("EXP-*"))) == 1


def test_policy_errors_are_collected(tmp_path):
    p = tmp_path / "adj.yaml"
    p.write_text("name: x\napproval_levels:\n  - {level: clerk, up_to: '5.00 USD'}\n"
                 "  - {level: manager, up_to: 'abc'}\nsources: {}\n")
    with pytest.raises(PolicyError) as e:
        load_adjustments_policy(p)
    text = str(e.value)
    for part in ("version: missing", "approval_levels[clerk].level must be one of",
                 "approval_levels[manager].up_to", "sources.dispute: missing"):
        assert part in text
    assert load_adjustments_policy().label == "default-adjustments 2026.1"


def test_bad_column_map_names_file_and_key(tmp_path):
    m = tmp_path / "map.yaml"
    m.write_text("name: m\nversion: '1'\nfile: out.csv\ncolumns: {amount: Amount, colour: X}\n")
    with pytest.raises(AdjustmentError, match=r"map\.yaml: columns\.colour: unknown field"):
        load_export_map(m)


def test_bad_pricing_note_is_skipped_the_rest_proposed(tmp_path, db):
    # A1 (KWD, 3 decimals) has too many decimals, A2 a misplaced separator: both skipped,
    # named with their source; A3 "1,200.00" on I1 (USD) is read as 1200.00, capped at what
    # is left open on I1 after D1's 800.00: 1000.00 - 800.00 = 200.00 (20000 minor)
    acts = [{**LEDGER["activities"][0], "note": "PRICING ERROR 1.2345: too many decimals"},
            {**LEDGER["activities"][0], "activity_id": "A2", "customer_id": "C1",
             "invoice_id": "I2", "note": "PRICING ERROR 1,20.00: wrong grouping"},
            {**LEDGER["activities"][0], "activity_id": "A3", "customer_id": "C1",
             "invoice_id": "I1", "note": "PRICING ERROR 1,200.00: billed twice"}]
    folder = write_ledger(tmp_path / "l", **{**LEDGER, "activities": acts})
    ledger = Ledger.load(folder)
    props = propose_adjustments(ledger, AS_OF, db=db, ledger_dir=folder)
    assert props[["adjustment_id", "amount_minor"]].values.tolist() == [
        ["ADJ-DISPUTE-D1", 80000], ["ADJ-PRICINGERROR-A3", 20000], ["ADJ-SHORTPAY-I2", 1000],
        ["ADJ-SMALLBALANCE-I4", 2500]]
    sk = props.attrs["skipped"]
    assert sk["ADJ-PRICINGERROR-A1"].startswith(
        f"ledger {folder / 'activities.csv'}: activity A1: pricing error amount '1.2345'")
    assert "activity A2: pricing error amount '1,20.00'" in sk["ADJ-PRICINGERROR-A2"]
    assert "thousands separators out of place" in sk["ADJ-PRICINGERROR-A2"]
    rec = record_proposals(db, props, actor="ann", ledger=ledger)
    assert list(rec) == ["ADJ-DISPUTE-D1", "ADJ-PRICINGERROR-A3", "ADJ-SHORTPAY-I2",
                         "ADJ-SMALLBALANCE-I4"]
    # I2 is also a small balance, but the short pay holds its 10.00 open: reported, not silent
    assert set(rec.skipped) == {"ADJ-PRICINGERROR-A1", "ADJ-PRICINGERROR-A2", "ADJ-SMALLBALANCE-I2"}
    assert rec.skipped["ADJ-SMALLBALANCE-I2"] == ("nothing left open on I2: 10.00 USD open, "
                                                  "10.00 USD held by other adjustments")


def test_cli_round_trip(db, ledger_dir, tmp_path, cli_user, capsys):
    from workbench.adjustments_cli import add_parser, run

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    url = db.url

    def cli(*argv):
        return run(parser.parse_args(["adjustments", "--db", url, *argv]))

    cli_user("analyst", "ann")
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF) == 0
    assert "4 proposal(s) on 2026-09-30; 4 newly recorded" in capsys.readouterr().out
    assert cli("approve", "ADJ-PRICINGERROR-A1") == 2
    assert "was proposed by ann: someone else approves it" in capsys.readouterr().err
    (tmp_path / "cli-users.toml").unlink()      # the OS login becomes another user
    cli_user("analyst", "al")
    assert cli("approve", "ADJ-DISPUTE-D1") == 2
    assert "above the analyst limit of 500.00 USD" in capsys.readouterr().err
    (tmp_path / "cli-users.toml").unlink()
    cli_user("manager", "maria")
    assert cli("approve", "ADJ-DISPUTE-D1", "--note", "ok") == 0
    assert cli("refuse", "ADJ-SHORTPAY-I2", "--note", "fee") == 0
    assert cli("export", "--ledger", str(ledger_dir), "--out", str(tmp_path / "x"),
               "--date", "2026-10-01") == 0
    assert "exported 1 adjustment(s)" in capsys.readouterr().out
    assert cli("export", "--ledger", str(ledger_dir), "--out", str(tmp_path / "x")) == 0
    assert "nothing to export" in capsys.readouterr().out
    assert cli("list", "--format", "json") == 0
    listed = json.loads(capsys.readouterr().out)
    got = {r["adjustment_id"]: (r["status"], r["last_by"]) for r in listed}
    assert got == {"ADJ-DISPUTE-D1": ("exported", "maria"), "ADJ-SHORTPAY-I2": ("refused", "maria"),
                   "ADJ-PRICINGERROR-A1": ("proposed", "ann"),
                   "ADJ-SMALLBALANCE-I4": ("proposed", "ann")}
    # who approved stays on the row once it is exported; who proposed, too
    decided = {r["adjustment_id"]: (r["proposed_by"], r["decision"], r["decided_by"],
                                    r["decided_authority"], r["decision_note"]) for r in listed}
    assert decided["ADJ-DISPUTE-D1"] == ("ann", "approved", "maria", "manager", "ok")
    assert decided["ADJ-SHORTPAY-I2"] == ("ann", "refused", "maria", "manager", "fee")
    assert decided["ADJ-SMALLBALANCE-I4"] == ("ann", None, None, None, None)
    assert cli("list", "--status", "exported") == 0
    assert "approved by maria (manager)" in capsys.readouterr().out


def test_cli_approves_several_each_on_its_own_and_lists_for_people(db, ledger_dir, tmp_path,
                                                                   cli_user, capsys):
    """``approve A B``: each its own decision; one above the analyst's limit is refused
    without undoing the other (exit 2). The table names things for people and totals each
    status per currency."""
    from workbench.adjustments_cli import add_parser, run

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))

    def cli(*argv):
        return run(parser.parse_args(["adjustments", "--db", db.url, *argv]))

    cli_user("analyst", "ann")
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF) == 0
    (tmp_path / "cli-users.toml").unlink()
    cli_user("analyst", "al")
    capsys.readouterr()
    assert cli("approve", "ADJ-SMALLBALANCE-I4", "ADJ-DISPUTE-D1", "ADJ-SMALLBALANCE-I4") == 2
    got = capsys.readouterr()
    assert got.out == "ADJ-SMALLBALANCE-I4 approved by al (analyst)\n1 approved, 1 not\n"
    assert "ADJ-DISPUTE-D1 not approved:" in got.err and "above the analyst limit" in got.err
    assert [r["adjustment_id"] for r in db.rows("adjustments", where={"event": "approved"})] \
        == ["ADJ-SMALLBALANCE-I4"]
    assert cli("list") == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:6] == ["Adjustment", "Status", "Kind", "Customer", "Invoice", "Amount"]
    assert "Credit memo" in out and "Write-off" in out and "adjustment_id" not in out
    # proposed: D1 800.00 USD credit memo, I2 short pay 10.00 USD, A1 pricing 12.345 KWD;
    # approved: I4 small balance 2,500 JPY
    assert out.endswith("\n\nproposed: 3 adjustment(s): 12.345 KWD (1); 810.00 USD (2)\n"
                        "approved: 1 adjustment(s): 2,500 JPY (1)\n")


def test_second_dispute_and_reproposal_after_withdrawal_get_their_own_ids(db, tmp_path):
    # I1 1000.00 USD: D1 800.00 and D2 150.00 both closed as credit_memo -> two credit memos,
    # 800.00 + 150.00 = 950.00 <= 1000.00 open; ids from the dispute ids
    d2 = {"dispute_id": "D2", "invoice_id": "I1", "opened_date": "2026-04-01",
          "reason_code": "quantity", "amount": "150.00", "closed_date": "2026-05-01",
          "resolution": "credit_memo"}
    folder = write_ledger(tmp_path / "l", **{**LEDGER, "disputes": LEDGER["disputes"] + [d2]})
    ledger = Ledger.load(folder)

    def run():
        return record_proposals(db, propose_adjustments(ledger, AS_OF, db=db), actor="ann",
                                ledger=ledger)
    assert run() == ["ADJ-DISPUTE-D1", "ADJ-DISPUTE-D2", "ADJ-PRICINGERROR-A1",
                     "ADJ-SHORTPAY-I2", "ADJ-SMALLBALANCE-I4"]
    st = adjustment_status(db).set_index("adjustment_id")
    assert st.loc[["ADJ-DISPUTE-D1", "ADJ-DISPUTE-D2"], "amount"].tolist() == ["800.00", "150.00"]
    again = run()
    assert again == [] and again.skipped["ADJ-DISPUTE-D2"] == "ADJ-DISPUTE-D2 is already recorded (proposed)"
    # withdrawn (approved first: a stale approval may be withdrawn) -> proposed again as -R1
    approve(db, "ADJ-DISPUTE-D2", "maria", "manager", ledger)
    withdraw(db, "ADJ-DISPUTE-D2", "maria", "amount under review")
    assert run() == ["ADJ-DISPUTE-D2-R1"]
    withdraw(db, "ADJ-DISPUTE-D2-R1", "maria", "still under review")
    assert run() == ["ADJ-DISPUTE-D2-R2"]
    st = adjustment_status(db).set_index("adjustment_id")
    assert st.loc["ADJ-DISPUTE-D2-R2", ["status", "amount", "invoice_id"]].tolist() == [
        "proposed", "150.00", "I1"]
    assert st.loc[["ADJ-DISPUTE-D2", "ADJ-DISPUTE-D2-R1"], "status"].tolist() == [
        "withdrawn", "withdrawn"]
    # an exported one cannot be withdrawn
    approve(db, "ADJ-DISPUTE-D1", "maria", "manager", ledger)
    export_adjustments(db, ledger, tmp_path / "erp", date="2026-10-01")
    with pytest.raises(AdjustmentError, match="ADJ-DISPUTE-D1 is exported .*only a proposed or "
                                              "approved adjustment can be withdrawn"):
        withdraw(db, "ADJ-DISPUTE-D1", "maria", "too late")
    assert db.verify_audit_chain().ok


def test_short_pay_skips_open_disputes_and_invoices_not_yet_due(db, tmp_path):
    # I6 500.00 due 2026-10-15 paid 495.00: short 5.00 (1%) but not past due on 2026-09-30
    # I7 400.00 due 2026-03-01 paid 396.00: short 4.00 (1%) but dispute D3 is open on it
    # I8 200.00 due 2026-03-01 paid 197.00: short 3.00 (1.5%), past due, no dispute -> 3.00
    inv = [{"invoice_id": i, "customer_id": "C1", "invoice_date": d, "due_date": due, "amount": a}
           for i, d, due, a in (("I6", "2026-09-15", "2026-10-15", "500.00"),
                                ("I7", "2026-01-30", "2026-03-01", "400.00"),
                                ("I8", "2026-01-30", "2026-03-01", "200.00"))]
    rec = [{"receipt_id": f"R{i}", "receipt_date": "2026-09-20", "amount": a,
            "payer_name": "ACME CORP", "reference": f"I{i}", "customer_id": "C1"}
           for i, a in ((6, "495.00"), (7, "396.00"), (8, "197.00"))]
    app = [{"receipt_id": f"R{i}", "invoice_id": f"I{i}", "amount": a, "applied_date": "2026-09-20"}
           for i, a in ((6, "495.00"), (7, "396.00"), (8, "197.00"))]
    d3 = {"dispute_id": "D3", "invoice_id": "I7", "opened_date": "2026-05-01",
          "reason_code": "quantity", "amount": "4.00", "closed_date": "", "resolution": ""}
    folder = write_ledger(tmp_path / "l", **{
        **LEDGER, "invoices": LEDGER["invoices"] + inv, "receipts": LEDGER["receipts"] + rec,
        "applications": LEDGER["applications"] + app, "disputes": LEDGER["disputes"] + [d3]})
    props = propose_adjustments(Ledger.load(folder), AS_OF, db=db)
    sp = props[props["source"] == "short_pay"]
    assert sp[["adjustment_id", "amount_minor"]].values.tolist() == [
        ["ADJ-SHORTPAY-I2", 1000], ["ADJ-SHORTPAY-I8", 300]]
    assert props.attrs["skipped"]["ADJ-SHORTPAY-I6"] == (
        "I6 is not past due on 2026-09-30 (due 2026-10-15): no short-pay write-off")
    assert props.attrs["skipped"]["ADJ-SHORTPAY-I7"] == (
        "I7 has an open dispute on 2026-09-30: no short-pay write-off")


def test_dispute_resolved_in_the_workbench_becomes_a_credit_memo(db, ledger_dir):
    import datetime as dt
    import warnings

    from workbench.disputes import DisputeBook

    ledger = Ledger.load(ledger_dir)
    book = DisputeBook(db, ledger)
    # I5 300.00 USD, CM0 50.00 booked 2026-09-30 (before the dispute opened today): 250.00
    # open; the workbench dispute of 120.00 resolved credit_memo -> a 120.00 credit memo
    did = book.open("I5", "120.00", "pricing", actor="ann")
    book.resolve(did, "credit_memo", actor="bob", note="customer right")
    # point in time: on 2026-09-30 the resolution was not recorded yet
    before = propose_adjustments(ledger, AS_OF, db=db)
    assert f"ADJ-DISPUTE-{did}" not in set(before["adjustment_id"])
    today = dt.datetime.now(dt.UTC).date().isoformat()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # after the ledger's last date
        props = propose_adjustments(ledger, today, db=db)
    row = props.set_index("adjustment_id").loc[f"ADJ-DISPUTE-{did}"]
    assert (row["kind"], row["invoice_id"], row["amount_minor"], row["amount"]) == (
        "credit_memo", "I5", 12000, "120.00")
    ev = json.loads(row["evidence"])
    assert ev["where"][0]["table"] == "dispute_events"
    assert ev["where"][0]["key"]["dispute_id"] == did and ev["where"][0]["recorded_by"] == "bob"
    assert "resolved in the workbench by bob" in ev["what"]
    assert ev["figures"]["disputed"] == "120.00" and ev["figures"]["open_balance"] == "250.00"
    # the ledger as of its last date with the workbench's records up to now (the command's
    # default without --as-of): today's resolution is proposed, balances of 09-30
    now = propose_adjustments(ledger, AS_OF, db=db, known_by=None).set_index("adjustment_id")
    assert now.at[f"ADJ-DISPUTE-{did}", "amount_minor"] == 12000


def test_cli_propose_without_as_of_takes_todays_resolutions(db, ledger_dir, cli_user, capsys):
    from workbench.adjustments_cli import add_parser, run
    from workbench.disputes import DisputeBook

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))

    def cli(*argv):
        return run(parser.parse_args(["adjustments", "--db", db.url, *argv]))

    book = DisputeBook(db, Ledger.load(ledger_dir))
    did = book.open("I5", "120.00", "pricing", actor="ann")
    book.resolve(did, "credit_memo", actor="bob", note="customer right")
    cli_user("analyst", "ann")
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF, "--dry-run") == 0
    assert f"ADJ-DISPUTE-{did}" not in capsys.readouterr().out      # not known on 09-30
    assert cli("propose", "--ledger", str(ledger_dir)) == 0
    out = capsys.readouterr().out
    assert out.startswith("ledger as of 2026-09-30 (its last date); the workbench's notes and "
                          "dispute resolutions as recorded up to now\n")
    assert f"  ADJ-DISPUTE-{did}\n" in out


def test_a_correction_does_not_reverse_the_status_and_key_clashes_are_plain_errors(db, ledger_dir):
    ledger, _, _ = _proposed(db, ledger_dir)
    approve(db, "ADJ-DISPUTE-D1", "maria", "manager", ledger, "ok")
    proposed = db.rows("adjustments", where={"adjustment_id": "ADJ-DISPUTE-D1",
                                             "event": "proposed"})[0]
    # correcting the proposal's note copies its event ("proposed"): still approved
    db.correct("adjustments", proposed["id"], {"note": "typo fixed"}, "typo", actor="maria")
    st = adjustment_status(db).set_index("adjustment_id")
    assert st.loc["ADJ-DISPUTE-D1", ["status", "amount", "last_by"]].tolist() == [
        "approved", "800.00", "maria"]
    # correcting the approval into a proposal (a mistaken approval): proposed again; a new
    # approval clashes with the first's idempotency key -> AdjustmentError, not a traceback
    appr = db.rows("adjustments", where={"adjustment_id": "ADJ-DISPUTE-D1", "event": "approved"})[0]
    db.correct("adjustments", appr["id"], {"event": "proposed", "authority": None},
               "approved by mistake", actor="maria")
    assert adjustment_status(db).set_index("adjustment_id").loc["ADJ-DISPUTE-D1", "status"] == \
        "proposed"
    with pytest.raises(AdjustmentError, match="state database refused the change: .*idempotency "
                                              "key 'ADJ-DISPUTE-D1:approved'"):
        approve(db, "ADJ-DISPUTE-D1", "carl", "cfo", ledger, "again")


def test_cli_withdraw_and_skipped_are_printed(db, ledger_dir, cli_user, capsys):
    from workbench.adjustments_cli import add_parser, run

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))

    def cli(*argv):
        return run(parser.parse_args(["adjustments", "--db", db.url, *argv]))

    cli_user("manager", "maria")
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF) == 0
    capsys.readouterr()
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF) == 0
    out = capsys.readouterr().out
    assert "0 newly recorded" in out    # 4 recorded, I2 small balance: counted by why
    assert "5 skipped (--verbose lists each with why):\n" \
        "  4 already recorded (proposed): ADJ-DISPUTE-D1, ADJ-PRICINGERROR-A1, " \
        "ADJ-SHORTPAY-I2, ... (1 more)\n" \
        "  1 nothing left open: the balance is held by other adjustments: " \
        "ADJ-SMALLBALANCE-I2\n" in out
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF, "--verbose") == 0
    out = capsys.readouterr().out
    assert "5 skipped:\n" in out
    assert "  ADJ-DISPUTE-D1: ADJ-DISPUTE-D1 is already recorded (proposed)" in out
    assert cli("withdraw", "ADJ-DISPUTE-D1", "--note", "customer paid instead") == 0
    assert "ADJ-DISPUTE-D1 withdrawn by maria (manager)" in capsys.readouterr().out
    assert cli("withdraw", "ADJ-DISPUTE-D1", "--note", "again") == 2
    err = capsys.readouterr().err
    assert "error: ADJ-DISPUTE-D1 is withdrawn" in err and "Traceback" not in err
    rows = db.rows("adjustments", where={"event": "withdrawn"})
    assert [(r["adjustment_id"], r["recorded_by"], r["authority"], r["note"]) for r in rows] == [
        ("ADJ-DISPUTE-D1", "maria", "manager", "customer paid instead")]
    assert cli("propose", "--ledger", str(ledger_dir), "--as-of", AS_OF) == 0
    assert "1 newly recorded\n  ADJ-DISPUTE-D1-R1" in capsys.readouterr().out


def test_cli_propose_reads_pricing_errors_logged_in_the_workbench(db, ledger_dir, cli_user,
                                                                  capsys):
    """A pricing error logged in the workbench's activity log (I1, 25.00 USD) is proposed by
    `workbench adjustments propose` as of a day it was known, not as of an earlier one."""
    import datetime as dt

    from workbench.adjustments_cli import add_parser, run
    from workbench.collections import ActivityLog
    from workbench.ledger import Ledger

    ledger = Ledger.load(ledger_dir)
    rid = ActivityLog(db, ledger).add("C1", "note", "ann", invoice_id="I1",
                                      at="2026-09-30T12:00:00+00:00",
                                      note="PRICING ERROR 25.00: contract price", actor="ann")
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    cli_user("analyst", "ann")

    def proposed(as_of):
        assert run(parser.parse_args(["adjustments", "--db", db.url, "propose", "--ledger",
                                      str(ledger_dir), "--as-of", as_of, "--dry-run"])) == 0
        return capsys.readouterr().out

    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert f"ADJ-PRICINGERROR-S-{rid}" not in proposed("2026-09-30")     # logged later
    out = proposed(today)
    assert f"ADJ-PRICINGERROR-S-{rid}" in out and "25.00" in out
    # without --as-of: the ledger as of its last date, and every note the log holds now
    rid2 = ActivityLog(db, ledger).add("C2", "note", "ann", invoice_id="I3",
                                       note="PRICING ERROR 1.000: freight billed twice",
                                       actor="ann")          # logged now, after 2026-09-30
    assert run(parser.parse_args(["adjustments", "--db", db.url, "propose", "--ledger",
                                  str(ledger_dir), "--dry-run"])) == 0
    out = capsys.readouterr().out
    assert f"ADJ-PRICINGERROR-S-{rid}" in out and f"ADJ-PRICINGERROR-S-{rid2}" in out


def _exported_batch(db, ledger_dir, out):
    """D1 (maria, with a note), A1 and I4 (al) approved and exported on 2026-10-01; I2
    approved after the export."""
    ledger, _, _ = _proposed(db, ledger_dir)
    approve(db, "ADJ-DISPUTE-D1", "maria", "manager", ledger, "credit agreed with sales")
    approve(db, "ADJ-PRICINGERROR-A1", "al", "analyst", ledger)
    approve(db, "ADJ-SMALLBALANCE-I4", "al", "analyst", ledger)
    res = export_adjustments(db, ledger, out, date="2026-10-01", actor="maria")
    approve(db, "ADJ-SHORTPAY-I2", "maria", "manager", ledger)
    return res


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_rebuild_export_writes_the_recorded_batch_again_byte_for_byte(db, ledger_dir, tmp_path):
    out = tmp_path / "erp"
    res = _exported_batch(db, ledger_dir, out)
    copies = _files(res.folder)
    assert sorted(copies) == ["credit_memos.csv", "manifest.json", "netsuite_adjustments.csv",
                              "write_offs.csv"]
    # after the export, D1's approval note is corrected: the ERP was given the note as it was
    appr = db.rows("adjustments", where={"adjustment_id": "ADJ-DISPUTE-D1", "event": "approved"})[0]
    db.correct("adjustments", appr["id"], {"note": "agreed with sales (ticket 42)"}, "detail",
               actor="maria")
    shutil.rmtree(res.folder)                     # the folder is lost
    rows, audit = db.count("adjustments"), db.verify_audit_chain().audit_rows

    again = rebuild_export(db, res.batch_id, out)
    assert (again.batch_id, again.folder, again.adjustment_ids, again.files, again.skipped) == (
        res.batch_id, res.folder, res.adjustment_ids, res.files, {})
    assert _files(again.folder) == copies          # byte-identical, manifest included
    # nothing recorded, nothing new exported: I2 (approved after the batch) stays approved
    assert db.count("adjustments") == rows and db.verify_audit_chain().audit_rows == audit
    assert adjustment_status(db).set_index("adjustment_id")["status"].to_dict() == {
        "ADJ-DISPUTE-D1": "exported", "ADJ-PRICINGERROR-A1": "exported",
        "ADJ-SHORTPAY-I2": "approved", "ADJ-SMALLBALANCE-I4": "exported"}
    # an existing folder of the batch (a file edited by hand) is replaced whole
    (again.folder / "write_offs.csv").write_text("edited\n")
    (again.folder / "stray.txt").write_text("x\n")
    rebuild_export(db, res.batch_id, out)
    assert _files(res.folder) == copies
    assert sorted(p.name for p in out.iterdir()) == [res.batch_id]    # no temporary folder left
    assert db.count("adjustments") == rows and db.verify_audit_chain().ok


def test_rebuild_export_refuses_an_unknown_batch_and_another_column_map(db, ledger_dir, tmp_path):
    out = tmp_path / "erp"
    with pytest.raises(AdjustmentError, match="no export batch 'EXP-2026-10-01-0123456789' is "
                                              "recorded"):
        rebuild_export(db, "EXP-2026-10-01-0123456789", out)
    assert not out.exists()
    res = _exported_batch(db, ledger_dir, out)
    other = tmp_path / "map.yaml"
    other.write_text("name: other\nversion: '2'\nfile: other.csv\ncolumns: {amount: Amount}\n")
    with pytest.raises(AdjustmentError, match="was exported with the column map "
                                              "netsuite-adjustments .*, not other 2"):
        rebuild_export(db, res.batch_id, out, column_map=other)
    assert sorted(p.name for p in res.folder.iterdir()) == [
        "credit_memos.csv", "manifest.json", "netsuite_adjustments.csv", "write_offs.csv"]


def test_cli_export_batch_rebuilds_through_main(db, ledger_dir, tmp_path, cli_user, capsys):
    from workbench.cli import main

    ledger, _, _ = _proposed(db, ledger_dir)
    approve(db, "ADJ-DISPUTE-D1", "maria", "manager", ledger, "ok")
    cli_user("manager", "maria")
    out = tmp_path / "erp"

    def cli(*argv):
        return main(["adjustments", "--db", db.url, "export", "--ledger", str(ledger_dir),
                     "--out", str(out), *argv])

    assert cli("--date", "2026-10-01") == 0
    assert "exported 1 adjustment(s)" in capsys.readouterr().out
    (folder,) = out.iterdir()
    batch, copies = folder.name, _files(folder)
    shutil.rmtree(folder)
    rows = db.count("adjustments")
    assert cli("--batch", batch) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"rebuilt batch {batch} (1 adjustment(s)) from its recorded "
                              f"events in {out / batch}; nothing recorded")
    assert "credit_memos.csv: 1 row(s)" in printed
    assert _files(out / batch) == copies and db.count("adjustments") == rows
    assert cli("--batch", "EXP-NOPE") == 2
    err = capsys.readouterr().err
    assert "workbench adjustments: error: no export batch 'EXP-NOPE' is recorded" in err
    assert "Traceback" not in err
    assert cli("--batch", batch, "--date", "2026-10-02") == 2
    assert "--date does not go with --batch" in capsys.readouterr().err
    assert db.count("adjustments") == rows
