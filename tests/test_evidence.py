"""Evidence for auditors (workbench.evidence, ``workbench audit evidence``), hand-computed.

The state database holds rows recorded at set times (the clock of workbench.state is
replaced): in the period 2026Q3 (2026-07-01..2026-09-30, UTC days) and just outside it.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import write_ledger
from workbench import state
from workbench.evidence_cli import add_evidence_arguments, run_evidence
from workbench.state import StateDB


def _parse(*argv):
    return add_evidence_arguments(argparse.ArgumentParser()).parse_args(list(map(str, argv)))


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.delenv("WORKBENCH_AUDIT_KEY", raising=False)
    monkeypatch.delenv("WORKBENCH_AUDIT_ANCHOR_DIR", raising=False)
    clock = {"now": "2026-07-01T00:00:00+00:00"}
    monkeypatch.setattr(state, "_now", lambda: clock["now"])
    ledger = write_ledger(
        tmp_path / "ledger",
        customers=[{"customer_id": "C1", "name": "Acme", "currency": "USD", "payment_terms_days": 30},
                   {"customer_id": "C2", "name": "Kaisha", "currency": "JPY",
                    "payment_terms_days": 30}],
        invoices=[{"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2026-06-01",
                   "due_date": "2026-07-01", "amount": "1000.00", "currency": "USD"},
                  {"invoice_id": "I2", "customer_id": "C2", "invoice_date": "2026-06-01",
                   "due_date": "2026-07-01", "amount": "50000", "currency": "JPY"},
                  # no cash, credit memo or write-off on it: nothing reduced it
                  {"invoice_id": "I3", "customer_id": "C1", "invoice_date": "2026-07-01",
                   "due_date": "2026-07-31", "amount": "300.00", "currency": "USD"}],
        receipts=[{"receipt_id": "R1", "receipt_date": "2026-07-20", "amount": "600.00",
                   "payer_name": "ACME INC", "reference": "I1", "customer_id": "C1",
                   "currency": "USD"}],
        applications=[{"receipt_id": "R1", "invoice_id": "I1", "amount": "600.00",
                       "applied_date": "2026-07-20"}],
        write_offs=[{"invoice_id": "I2", "date": "2026-06-30", "amount": "1000",
                     "reason": "out of period", "approved_by": "cfo"},
                    {"invoice_id": "I1", "date": "2026-08-15", "amount": "400.00",
                     "reason": "small balance", "approved_by": "controller"}],
        credit_memos=[{"credit_memo_id": "CM1", "customer_id": "C2", "date": "2026-07-10",
                       "amount": "5000", "invoice_id": "I2", "reason": "pricing error"},
                      {"credit_memo_id": "CM2", "customer_id": "C2", "date": "2026-10-01",
                       "amount": "2000", "invoice_id": "I2", "reason": "after the period"}])
    path = tmp_path / "s.db"
    url = f"sqlite:///{path}"
    db = StateDB(url)

    def add(at, table, row, actor="ann"):
        clock["now"] = at
        return db.append(table, row, actor=actor)

    dec = {"customer_id": "C1", "decision": "approve", "limit_minor": 5000000, "currency": "USD",
               "recommended_limit_minor": 5000000, "policy_version": "credit-2026.1",
               "approver_level": "manager"}
    add("2026-06-30T23:59:59.999999+00:00", "credit_decisions",              # out: a day early
        {**dec, "reason": "annual review", "approver": "mia"})
    add("2026-07-01T00:00:00+00:00", "credit_decisions",                     # in: first moment
        {**dec, "reason": "strong payer", "approver": "mia"})
    add("2026-09-30T23:59:59.999999+00:00", "credit_decisions",              # in: last moment
        {**dec, "decision": "decline", "limit_minor": None, "reason": "bureau score fell",
         "approver": "ceo", "approver_level": "executive"})
    add("2026-10-01T00:00:00+00:00", "credit_decisions",                     # out: a day late
        {**dec, "reason": "next quarter", "approver": "mia"})
    add("2026-07-20T10:00:00+00:00", "cash_matches",
        {"receipt_id": "R1", "invoice_id": "I1", "amount_minor": 60000, "currency": "USD",
             "rule": "reference", "confidence": 0.99, "status": "posted", "approved_by": "bob"})
    add("2026-07-21T10:00:00+00:00", "cash_matches",
        {"receipt_id": "R1", "invoice_id": "I2", "amount_minor": 60000, "currency": "USD",
             "rule": "amount", "status": "rejected", "approved_by": "bob",
             "correction_reason": "wrong customer"})
    # happened 2026-09-30 22:00 in New York (= 2026-10-01 02:00 UTC), recorded in period
    add("2026-09-30T23:00:00+00:00", "activities",
        {"customer_id": "C1", "kind": "call", "at": "2026-09-30T22:00:00-04:00", "collector": "carl",
             "note": "promised Friday", "promise_amount_minor": 40000, "currency": "USD"})
    add("2026-06-15T09:00:00+00:00", "activities",
        {"customer_id": "C1", "kind": "email", "at": "2026-06-15T09:00:00+00:00", "collector": "carl"})
    adj = {"adjustment_id": "A1", "kind": "write_off", "customer_id": "C1", "invoice_id": "I1",
               "amount_minor": 25000, "currency": "USD", "source": "small_balance",
               "reason_code": "SMALL", "evidence": '{"open": "250.00"}'}
    add("2026-06-29T09:00:00+00:00", "adjustments",
        {**adj, "event": "proposed", "note": "under the small-balance threshold"}, actor="carl")
    add("2026-08-02T09:00:00+00:00", "adjustments",
        {**adj, "event": "approved", "authority": "manager", "note": "agreed"}, actor="mia")
    add("2026-08-03T09:00:00+00:00", "dispute_events",
        {"dispute_id": "D1", "customer_id": "C2", "invoice_id": "I2", "event": "opened",
             "owner": "billing", "owner_name": "bea", "due_date": "2026-08-17", "status": "open",
             "reason_code": "PRICE", "amount_minor": 5000, "currency": "JPY", "note": "price differs"},
        actor="carl")
    db.close()
    return {"url": url, "path": path, "ledger": ledger, "tmp": tmp_path}


def _run(s, out, *extra, sample=25, seed=0):
    return run_evidence(_parse("--period", "2026Q3", "--out", out, "--ledger", s["ledger"],
                               "--db", s["url"], "--sample", sample, "--seed", seed, *extra))


def test_csvs_hold_exactly_the_period_rows_with_who_when_why_authority(setup, capsys):
    out = setup["tmp"] / "ev"
    assert _run(setup, out) == 0
    dec = _csv(out / "credit_decisions.csv")
    assert [(r["record_id"], r["who"], r["when_utc"], r["why"], r["authority"], r["limit"],
             r["currency"], r["decision"]) for r in dec] == [
        ("2", "mia", "2026-07-01T00:00:00+00:00", "strong payer", "manager", "50000.00", "USD",
         "approve"),
        ("3", "ceo", "2026-09-30T23:59:59.999999+00:00", "bureau score fell", "executive", "",
         "USD", "decline")]
    assert dec[0]["policy_version"] == "credit-2026.1" and dec[0]["recorded_by"] == "ann"
    post = _csv(out / "postings.csv")
    assert [(r["record_id"], r["who"], r["why"], r["status"], r["amount"], r["currency"],
             r["match_rule"]) for r in post] == [
        ("1", "bob", "matched by rule reference", "posted", "600.00", "USD", "reference"),
        ("2", "bob", "wrong customer", "rejected", "600.00", "USD", "amount")]
    act = _csv(out / "activities.csv")
    # who recorded it (ann, from the database), not the typed-in collector (its own column)
    assert [(r["record_id"], r["who"], r["collector"], r["why"], r["happened_at_utc"],
             r["promise_amount"]) for r in act] == [
        ("1", "ann", "carl", "promised Friday", "2026-10-01T02:00:00+00:00", "400.00")]
    adj = _csv(out / "adjustments.csv")
    assert [(r["record_id"], r["adjustment_id"], r["event"], r["who"], r["authority"], r["why"],
             r["amount"], r["currency"]) for r in adj] == [
        ("2", "A1", "approved", "mia", "manager", "agreed", "250.00", "USD")]
    dis = _csv(out / "dispute_events.csv")
    assert [(r["dispute_id"], r["who"], r["owner"], r["amount"], r["currency"]) for r in dis] == [
        ("D1", "carl", "billing", "5000", "JPY")]            # JPY: no decimals
    wo = _csv(out / "write_offs.csv")
    assert [(r["invoice_id"], r["customer_id"], r["who"], r["when_utc"], r["why"], r["amount"],
             r["currency"]) for r in wo] == [
        ("I1", "C1", "controller", "2026-08-15", "small balance", "400.00", "USD")]
    cm = _csv(out / "credit_memos.csv")
    assert [(r["record_id"], r["why"], r["amount"], r["currency"]) for r in cm] == [
        ("CM1", "pricing error", "5000", "JPY")]
    assert "audit chain intact" in capsys.readouterr().out


def test_index_counts_verification_and_manifest(setup):
    out = setup["tmp"] / "ev"
    assert _run(setup, out) == 0
    index = _csv(out / "index.csv")
    counts = {r["name"]: int(r["value"]) for r in index if r["section"] == "count"}
    assert counts == {"credit_decisions": 2, "postings": 2, "adjustments": 1,
                      "dispute_events": 1, "activities": 1, "write_offs": 1, "credit_memos": 1}
    meta = {r["name"]: r["value"] for r in index if r["section"] == "meta"}
    assert meta["period"] == "2026Q3" and meta["period_start"] == "2026-07-01"
    assert meta["period_end"] == "2026-09-30" and meta["generated_by"]
    assert len(meta["ledger_content_hash"]) == 64 and meta["database_id"].startswith("sqlite:")
    ver = {r["name"]: r["value"] for r in index if r["section"] == "verification"}
    # 11 records + 1 audit row each; the anchor is the last audit row
    assert ver["result"] == "intact" and ver["audit_rows"] == "11" and ver["record_rows"] == "11"
    assert ver["anchor_last_id"] == "11" and ver["anchor_last_mac"] == ver["last_mac"]
    info = json.loads((out / "audit_verification.json").read_text())
    assert info["ok"] and info["problems"] == [] and info["last_mac"] == ver["last_mac"]
    assert "intact — 11 audit row(s)" in (out / "audit_verification.txt").read_text()
    # the manifest: every file but the index, with its SHA-256
    manifest = {r["name"]: r["value"] for r in index if r["section"] == "file"}
    every = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert set(manifest) == every - {"index.csv", "index.html", "SHA256SUMS"}
    for name, digest in manifest.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    sums = dict(reversed(line.split("  ", 1)) for line in
                (out / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == every - {"SHA256SUMS"}
    assert all(hashlib.sha256((out / n).read_bytes()).hexdigest() == d for n, d in sums.items())
    page = (out / "index.html").read_text()
    assert "Audit evidence for 2026Q3" in page and "intact" in page
    assert not list(setup["tmp"].glob(".ev-*"))           # no temporary folder left


def _sample(out):
    return [(r["kind"], r["record_id"]) for r in _csv(out / "sample.csv")]


def test_sample_is_deterministic_per_seed_with_documents(setup):
    a, b, c = (setup["tmp"] / n for n in ("a", "b", "c"))
    assert _run(setup, a, sample=4, seed=7) == 0
    assert _run(setup, b, sample=4, seed=7) == 0
    assert _run(setup, c, sample=4, seed=8) == 0
    assert len(_sample(a)) == 4 and _sample(a) == _sample(b) and _sample(a) != _sample(c)
    # every control execution when asked for more: the activity and the dispute's "opened"
    # event are in the CSVs but are not controls (defect fix: they used to be sampled)
    d = setup["tmp"] / "d"
    assert _run(setup, d, sample=25, seed=1) == 0
    assert sorted(_sample(d)) == sorted([
        ("credit_decisions", "2"), ("credit_decisions", "3"), ("postings", "1"),
        ("postings", "2"), ("adjustments", "2"), ("write_offs", "I1@2026-08-15#1"),
        ("credit_memos", "CM1")])
    items = {r["kind"] + r["record_id"]: d / r["link"] for r in _csv(d / "sample.csv")}
    credit_dir = items["credit_decisions2"].parent
    assert "Credit file: Acme (C1)" in (credit_dir / "credit_file.html").read_text()
    posting = items["postings1"].read_text()
    assert "ACME INC" in posting and "600.00" in posting and "Invoice" in posting
    wo = items["write_offsI1@2026-08-15#1"].read_text()
    # I1's history: 600.00 applied (400.00 open after), 400.00 written off (0.00 after)
    assert "Invoice history" in wo and "write_off" in wo and "0.00" in wo
    assert "Open balance after" in wo and "open_after" not in wo
    adjust = items["adjustments2"].read_text()
    assert "proposed" in adjust and "approved" in adjust     # the whole adjustment's history
    assert (d / "index.html").read_text().count("sample/") >= 7


def test_tampered_database_shows_the_break_and_exits_1(setup, capsys):
    raw = sqlite3.connect(setup["path"])
    for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        raw.execute(f"DROP TRIGGER {name}")
    raw.execute("UPDATE credit_decisions SET reason = 'board approved' WHERE id = 3")
    raw.commit()
    raw.close()
    out = setup["tmp"] / "ev"
    assert _run(setup, out) == 1
    text = (out / "audit_verification.txt").read_text()
    assert "BROKEN" in text and "credit_decisions\trow 3\trecord differs from its audited " \
        "content (audit row 3)" in text
    info = json.loads((out / "audit_verification.json").read_text())
    assert not info["ok"] and info["problems"] == [
        {"table": "credit_decisions", "row_id": 3,
         "what": "record differs from its audited content (audit row 3): edited"}]
    index = _csv(out / "index.csv")
    assert {r["name"]: r["value"] for r in index if r["section"] == "verification"}["result"] \
        == "BROKEN"
    assert "BROKEN" in (out / "index.html").read_text()
    # the evidence still shows what the database now says, flagged on the row and its page
    dec = _csv(out / "credit_decisions.csv")
    assert (dec[1]["why"], dec[1]["audit_problem"]) == (
        "board approved", "record differs from its audited content (audit row 3): edited")
    assert dec[0]["audit_problem"] == ""
    page = (out / "sample" / "02-credit_decisions-3" / "item.html").read_text()
    assert "failed the audit-chain verification" in page
    assert "BROKEN" in capsys.readouterr().err


def test_errors_write_nothing(setup, capsys):
    out = setup["tmp"] / "ev"
    code = run_evidence(_parse("--period", "2026Q3", "--out", out,
                               "--db", f"sqlite:///{setup['tmp'] / 'missing.db'}"))
    assert code == 2 and not out.exists() and not (setup["tmp"] / "missing.db").exists()
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):                   # the CLI's period parser refuses it
        _parse("--period", "2026Q5", "--out", out, "--db", setup["url"])
    assert "unknown period '2026Q5'" in capsys.readouterr().err
    other = setup["tmp"] / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert run_evidence(_parse("--period", "2026Q3", "--out", other, "--db", setup["url"])) == 2
    assert (other / "keep.txt").read_text() == "mine"
    with pytest.raises(SystemExit):
        _parse("--period", "2026Q3", "--out", out, "--sample", "-1")


def test_without_ledger_and_rerun_replaces_the_folder(setup):
    out = setup["tmp"] / "ev"
    assert run_evidence(_parse("--period", "2026-08", "--out", out, "--db", setup["url"])) == 0
    counts = {r["name"]: int(r["value"]) for r in _csv(out / "index.csv") if r["section"] == "count"}
    assert counts == {"credit_decisions": 0, "postings": 0, "adjustments": 1,
                      "dispute_events": 1, "activities": 0}
    assert not (out / "write_offs.csv").exists()
    # the same period again (under another spelling) replaces the folder
    assert run_evidence(_parse("--period", "2026-08-01..2026-08-31", "--out", out,
                               "--db", setup["url"], "--sample", 0)) == 0
    meta = {r["name"]: r["value"] for r in _csv(out / "index.csv") if r["section"] == "meta"}
    assert (meta["period"], meta["sample_size"]) == ("2026-08-01..2026-08-31", "0")


def test_the_sample_is_stratified_when_it_covers_every_kind():
    from workbench.evidence import draw_sample

    # 100 adjustment events, 3 decisions, 1 posting: 10 items give each kind one, then the
    # other 7 in proportion to what is left (99 / 2 / 0 of 101): 7 more adjustments
    items = [("adjustment", str(i)) for i in range(100)] + \
        [("credit_decision", str(i)) for i in range(3)] + [("posting", "1")]
    picked = draw_sample(items, 10, seed=3)
    kinds = [items[i][0] for i in picked]
    assert len(picked) == 10 and kinds.count("posting") == 1
    assert kinds.count("credit_decision") == 1 and kinds.count("adjustment") == 8
    assert draw_sample(items, 10, seed=3) == picked and draw_sample(items, 10, seed=4) != picked


def test_corrections_are_marked_and_generated_by_is_the_command_line_user(
        setup, monkeypatch, cli_user):
    name = cli_user("analyst", "tessa")
    db = StateDB(setup["url"])
    monkeypatch.setattr(state, "_now", lambda: "2026-08-10T09:00:00+00:00")
    db.correct("dispute_events", 1, {"owner": "sales"}, "wrong team", actor="carl")
    monkeypatch.setattr(state, "_now", lambda: "2026-10-05T09:00:00+00:00")   # after the period
    db.correct("credit_decisions", 2, {"reason": "strong payer, 2 years"}, "typo", actor="mia")
    db.close()
    out = setup["tmp"] / "ev"
    assert _run(setup, out) == 0
    dis = _csv(out / "dispute_events.csv")
    assert [(r["record_id"], r["owner"], r["correction"]) for r in dis] == [
        ("1", "billing", "corrected by record 2"), ("2", "sales", "corrects record 1")]
    dec = _csv(out / "credit_decisions.csv")
    assert [(r["record_id"], r["correction"]) for r in dec] == [
        ("2", "corrected by record 5"), ("3", "")]
    index = _csv(out / "index.csv")
    counts = {r["name"]: int(r["value"]) for r in index if r["section"] == "count"}
    assert (counts["dispute_events"], counts["credit_decisions"]) == (2, 2)
    meta = {r["name"]: r["value"] for r in index if r["section"] == "meta"}
    assert meta["generated_by"] == name == "tessa"
    assert "counts include both a corrected record and its correction" in meta["selection"]
    assert "counts include both a corrected record" in (out / "index.html").read_text()


def test_the_default_ledger_is_used_unless_no_ledger(setup, monkeypatch, capsys):
    """``workbench audit evidence --period 2026Q3 --out DIR`` as the issue spells it takes
    the default ledger ($WORKBENCH_LEDGER) and says so; ``--no-ledger`` leaves it out; a
    default that does not exist gives the state database's records only, said on stderr."""
    monkeypatch.setenv("WORKBENCH_LEDGER", str(setup["ledger"]))
    out = setup["tmp"] / "ev-default"
    assert run_evidence(_parse("--period", "2026Q3", "--out", out, "--db", setup["url"])) == 0
    assert f"ledger: {setup['ledger']} (WORKBENCH_LEDGER)" in capsys.readouterr().err
    assert [r["record_id"] for r in _csv(out / "write_offs.csv")] == ["I1@2026-08-15#1"]
    bare = setup["tmp"] / "ev-bare"
    assert run_evidence(_parse("--period", "2026Q3", "--out", bare, "--db", setup["url"],
                               "--no-ledger")) == 0
    assert not (bare / "write_offs.csv").exists()
    monkeypatch.setenv("WORKBENCH_LEDGER", str(setup["tmp"] / "nowhere"))
    gone = setup["tmp"] / "ev-gone"
    assert run_evidence(_parse("--period", "2026Q3", "--out", gone, "--db", setup["url"])) == 0
    assert "no ledger (" in capsys.readouterr().err
    assert not (gone / "write_offs.csv").exists()
    # never the demo ledger: without WORKBENCH_LEDGER, the state database's records only
    monkeypatch.delenv("WORKBENCH_LEDGER")
    bare2 = setup["tmp"] / "ev-unset"
    assert run_evidence(_parse("--period", "2026Q3", "--out", bare2, "--db", setup["url"])) == 0
    assert "no ledger (pass --ledger or set WORKBENCH_LEDGER)" in capsys.readouterr().err
    assert not (bare2 / "write_offs.csv").exists()


def test_another_periods_folder_is_refused_not_replaced(setup, capsys):
    """Defect fix: --out naming the evidence folder of another period used to replace it."""
    out = setup["tmp"] / "ev"
    assert run_evidence(_parse("--period", "2026-08", "--out", out, "--db", setup["url"])) == 0
    before = (out / "SHA256SUMS").read_text()
    capsys.readouterr()
    assert run_evidence(_parse("--period", "2026-07", "--out", out, "--db", setup["url"])) == 2
    err = capsys.readouterr().err
    assert (f"--out {out} holds the evidence folder of period 2026-08 (2026-08-01 to "
            f"2026-08-31), not of 2026-07 (2026-07-01 to 2026-07-31)") in err
    assert (out / "SHA256SUMS").read_text() == before
    meta = {r["name"]: r["value"] for r in _csv(out / "index.csv") if r["section"] == "meta"}
    assert meta["period"] == "2026-08"
    assert not list(setup["tmp"].glob(".ev-*"))


def _decisions(setup, monkeypatch):
    """More records in the period: A2 proposed and never decided, A3 proposed and approved
    (its evidence saying what supports it), A4 proposed and refused, D1 resolved."""
    db = StateDB(setup["url"])

    def add(at, row, actor, table="adjustments"):
        monkeypatch.setattr(state, "_now", lambda: at)
        return db.append(table, row, actor=actor)
    base = {"kind": "write_off", "customer_id": "C1", "invoice_id": "I3", "amount_minor": 12000,
            "currency": "USD", "source": "short_pay", "reason_code": "short_pay"}
    evidence = json.dumps({"what": "I3 paid 120.00 short, within the 50.00 USD tolerance",
                           "where": [{"table": "invoices", "key": {"invoice_id": "I3"}}],
                           "figures": {"open_balance": "300.00"}, "as_of": "2026-08-31"})
    add("2026-09-01T08:00:00+00:00", {**base, "adjustment_id": "A2", "event": "proposed",
                                      "evidence": evidence, "note": "short pay"}, "carl")
    add("2026-09-01T08:01:00+00:00", {**base, "adjustment_id": "A3", "event": "proposed",
                                      "evidence": evidence, "note": "short pay"}, "carl")
    add("2026-09-02T08:00:00+00:00", {**base, "adjustment_id": "A3", "event": "approved",
                                      "authority": "manager", "note": "ok"}, "mia")
    add("2026-09-01T08:02:00+00:00", {**base, "adjustment_id": "A4", "event": "proposed",
                                      "note": "short pay"}, "carl")
    add("2026-09-03T08:00:00+00:00", {**base, "adjustment_id": "A4", "event": "refused",
                                      "authority": "analyst", "note": "customer will pay"}, "mia")
    add("2026-09-04T08:00:00+00:00", {"dispute_id": "D1", "customer_id": "C2", "invoice_id": "I2",
                                      "event": "resolved", "status": "credit_memo",
                                      "amount_minor": 5000, "currency": "JPY",
                                      "note": "credit memo CM1"}, "bea", "dispute_events")
    db.close()


def test_the_population_is_the_control_executions(setup, monkeypatch):
    _decisions(setup, monkeypatch)
    out = setup["tmp"] / "ev"
    assert _run(setup, out, sample=25, seed=5) == 0
    index = _csv(out / "index.csv")
    pop = {r["name"]: int(r["value"]) for r in index if r["section"] == "population"}
    # adjustments: A1 approved, A3 approved, A4 refused; not the proposals of A2, A3, A4
    assert pop == {"credit_decisions": 2, "postings": 2, "adjustments": 3,
                   "dispute_events": 1, "activities": 0, "write_offs": 1, "credit_memos": 1}
    counts = {r["name"]: int(r["value"]) for r in index if r["section"] == "count"}
    assert counts["adjustments"] == 6 and counts["dispute_events"] == 2   # the CSVs keep all
    sampled = {r["name"]: int(r["value"]) for r in index if r["section"] == "sampled"}
    assert sampled == pop                                  # 10 of 10: everything
    adj = _csv(out / "adjustments.csv")
    assert [(r["adjustment_id"], r["event"], r["control_population"]) for r in adj] == [
        ("A1", "approved", "yes"),
        ("A2", "proposed", "no: proposals (never decided: not a control execution)"),
        ("A3", "proposed", "no: proposals (never decided: not a control execution)"),
        ("A3", "approved", "yes"),
        ("A4", "proposed", "no: proposals (never decided: not a control execution)"),
        ("A4", "refused", "yes")]
    assert sorted(r["business_key"] for r in _csv(out / "sample.csv")
                  if r["kind"] == "adjustments") == [
        "adjustment A1 approved", "adjustment A3 approved", "adjustment A4 refused"]
    dis = _csv(out / "dispute_events.csv")
    assert [(r["event"], r["control_population"]) for r in dis] == [
        ("opened", "no: opened, assigned, status and note events"), ("resolved", "yes")]
    meta = {r["name"]: r["value"] for r in index if r["section"] == "meta"}
    assert (meta["sample_population"], meta["sample_method"], meta["seed"]) == ("10", "all", "5")
    page = (out / "index.html").read_text()
    assert "10 of 10 control executions" in page and "seed 5" in page
    assert "not sampled: proposals (never decided: not a control execution)" in page


def test_the_draw_can_be_reperformed_from_the_population_file(setup, monkeypatch):
    from workbench.evidence import draw_sample

    _decisions(setup, monkeypatch)
    out = setup["tmp"] / "ev"
    assert _run(setup, out, sample=7, seed=11) == 0
    population = _csv(out / "sample_population.csv")
    assert len(population) == 10
    items = [(r["kind"], r["record_id"]) for r in population]
    drawn = draw_sample(items, 7, 11)
    sample = _csv(out / "sample.csv")
    assert [int(r["population_position"]) for r in sample] == drawn
    assert [(r["kind"], r["record_id"]) for r in sample] == [items[i] for i in drawn]
    assert [r["sample_item"] for r in population if r["sample_item"]] == \
        [str(n) for n in range(1, 8)]
    # stratified: 6 kinds with controls, each at least one item
    assert {r["kind"] for r in sample} == {"credit_decisions", "postings", "adjustments",
                                          "dispute_events", "write_offs", "credit_memos"}
    meta = {r["name"]: r["value"] for r in _csv(out / "index.csv") if r["section"] == "meta"}
    assert meta["sample_method"] == "stratified"
    assert "numpy.random.default_rng(11)" in meta["sample_method_text"]
    # the sampled records are marked in their own CSVs too
    dec = _csv(out / "credit_decisions.csv")
    assert sorted(r["sample_item"] for r in dec if r["sample_item"]) == sorted(
        r["number"] for r in sample if r["kind"] == "credit_decisions")


def _rows_of(page: str) -> list[list[str]]:
    import re

    body = page.split("<table class=\"sample\">", 1)[1].split("</table>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body)[1:]]


def test_the_index_sample_table_names_business_keys_amounts_and_authority(setup, monkeypatch):
    _decisions(setup, monkeypatch)
    out = setup["tmp"] / "ev"
    assert _run(setup, out, sample=25, seed=5) == 0
    rows = _rows_of((out / "index.html").read_text())
    assert rows == [
        ["1", "credit decision", "credit decision approve for customer C1", "C1 Acme",
         "50000.00 USD", "mia", "2026-07-01 00:00:00",
         "manager (up to 100,000.00 USD, report currency)1"],
        ["2", "credit decision", "credit decision decline for customer C1", "C1 Acme",
         "declined: no limit", "ceo", "2026-09-30 23:59:59", "executive (unknown)2"],
        ["3", "cash posting", "receipt R1 to invoice I1 (posted)", "C1 Acme", "600.00 USD",
         "bob", "2026-07-20 10:00:00", "none recorded"],
        ["4", "cash posting", "receipt R1 to invoice I2 (rejected)", "C2 Kaisha", "600.00 USD",
         "bob", "2026-07-21 10:00:00", "none recorded"],
        ["5", "adjustment event", "adjustment A1 approved", "C1 Acme", "250.00 USD", "mia",
         "2026-08-02 09:00:00", "manager (up to 10,000.00 USD)3"],
        ["6", "adjustment event", "adjustment A3 approved", "C1 Acme", "120.00 USD", "mia",
         "2026-09-02 08:00:00", "manager (up to 10,000.00 USD)3"],
        ["7", "adjustment event", "adjustment A4 refused", "C1 Acme", "120.00 USD", "mia",
         "2026-09-03 08:00:00", "analyst"],
        ["8", "dispute event", "dispute D1 resolved (credit_memo)", "C2 Kaisha", "5000 JPY",
         "bea", "2026-09-04 08:00:00", "none recorded"],
        ["9", "write-off (ledger)", "write-off of invoice I1 on 2026-08-15", "C1 Acme",
         "400.00 USD", "controller", "2026-08-15", "controller"],
        ["10", "credit memo (ledger)", "credit memo CM1 on invoice I2, 2026-07-10",
         "C2 Kaisha", "5000 JPY", "not recorded in the ledger (ERP)", "2026-07-10",
         "not recorded in the ledger (ERP)"]]
    page = (out / "index.html").read_text()
    # the credit decisions recorded policy credit-2026.1: the limit shown is from today's
    assert ("Limit per credit policy default-credit 2026.2 (read when this folder was built); "
            "the decision recorded policy credit-2026.1, whose limits may differ") in page
    assert ("Limit per adjustments policy default-adjustments 2026.1, read when this folder was "
            "built: the event does not record the policy version") in page
    sample = {r["number"]: r for r in _csv(out / "sample.csv")}
    assert (sample["5"]["business_key"], sample["5"]["amount"], sample["5"]["currency"],
            sample["5"]["customer_id"], sample["5"]["authority_limit"]) == (
        "adjustment A1 approved", "250.00", "USD", "C1", "up to 10,000.00 USD")
    assert (sample["1"]["record_id"], sample["1"]["customer_name"]) == ("2", "Acme")


def test_item_pages_speak_business_and_fold_the_evidence(setup, monkeypatch):
    import re

    _decisions(setup, monkeypatch)
    out = setup["tmp"] / "ev"
    assert _run(setup, out, sample=25, seed=5) == 0
    links = {r["business_key"]: out / r["link"] for r in _csv(out / "sample.csv")}
    page = links["adjustment A3 approved"].read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    for raw_name in ("record_id", "when_utc", "audit_problem", "ledger_row", "open_after",
                     "reason_code", "amount_minor"):
        assert raw_name not in text, raw_name
    assert "When (UTC)" in page and "Record number (state database)" in page
    # every event: the evidence's "what", the JSON folded away in <details>
    events = page.split("Every event of this adjustment", 1)[1].split("</table>", 1)[0]
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
             for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", events, re.S)[1:]]
    assert [c[:5] for c in cells] == [
        ["proposed", "carl", "2026-09-01 08:01:00", "", "120.00 USD"],
        ["approved", "mia", "2026-09-02 08:00:00", "manager (up to 10,000.00 USD)",
         "120.00 USD"]]
    assert cells[0][6].startswith("I3 paid 120.00 short, within the 50.00 USD tolerance"
                                  "full evidence (JSON)")
    assert "<details><summary>full evidence (JSON)</summary><pre>{" in events
    assert '<td>{"' not in page                      # no JSON dumped into a cell
    assert ("Limit of the authority</th><td>up to 10,000.00 USD — per adjustments policy "
            "default-adjustments 2026.1") in page
    # the invoice has no reductions: the page says so (defect fix: it said "no ledger given")
    assert ("the ledger records no reductions of invoice I3 (no cash applied, no credit memo, "
            "no write-off): all of it is still open") in page
    assert "no ledger given" not in page
    credit = links["credit decision approve for customer C1"].read_text()
    assert ("Limit of the authority</th><td>up to 100,000.00 USD, report currency — per "
            "credit policy default-credit 2026.2 (read when this folder was built); the "
            "decision recorded policy credit-2026.1") in credit
    assert "Recommended limit</th><td>50000.00 USD</td>" in credit     # money with currency
    decline = links["credit decision decline for customer C1"].read_text()
    assert "&#x27;executive&#x27; is not one of its approval levels (analyst, manager, " \
        "director, cfo)" in decline
    memo = links["credit memo CM1 on invoice I2, 2026-07-10"].read_text()
    assert "Who</th><td>not recorded in the ledger (ERP)" in memo
    assert "Authority</th><td>not recorded in the ledger (ERP)" in memo
    wo = links["write-off of invoice I1 on 2026-08-15"].read_text()
    assert "Who</th><td>controller" in wo and "Authority</th><td>controller" in wo
    assert "Row in the ledger" not in wo.split("Every field of the record")[1]


def test_without_a_ledger_the_pages_say_so(setup, monkeypatch):
    _decisions(setup, monkeypatch)
    out = setup["tmp"] / "ev"
    assert run_evidence(_parse("--period", "2026Q3", "--out", out, "--db", setup["url"],
                               "--no-ledger", "--sample", 25)) == 0
    links = {r["business_key"]: out / r["link"] for r in _csv(out / "sample.csv")}
    page = links["adjustment A3 approved"].read_text()
    assert "no ledger given: the ledger&#x27;s documents are not included" in page
    assert "no reductions" not in page


def test_business_keys_and_amounts_say_what_happened():
    from workbench.evidence.controls import amount_text, business_key

    assert business_key("write_offs", {"invoice_id": "I9", "date": "2026-10-21",
                                       "amount_minor": -12456}) == \
        "recovery (negative write-off) on invoice I9, 2026-10-21"
    assert business_key("write_offs", {"invoice_id": "I9", "date": "2026-10-21",
                                       "amount_minor": 100}) == \
        "write-off of invoice I9 on 2026-10-21"
    assert business_key("postings", {"receipt_id": "R7", "invoice_id": None,
                                     "status": "deduction"}) == "receipt R7 to no invoice (deduction)"
    assert amount_text("credit_decisions", {"decision": "hold", "limit": "", "currency": "USD"}) \
        == "held: the current limit stays"
    assert amount_text("credit_decisions", {"decision": "approve", "limit": "40000.00",
                                            "currency": "EUR"}) == "40000.00 EUR"
