"""The state database: append-only records, corrections, the audit chain, concurrency."""

import multiprocessing as mp

import pytest
import sqlalchemy as sa

from workbench.state import SCHEMA_VERSION, AppendOnlyError, StateDB


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'state.db'}"


def _activity(i=0, **kw):
    return {"customer_id": "C1", "kind": "call", "at": "2026-03-02T10:00:00+01:00",
            "collector": "Ann Lee", "note": f"note {i}", **kw}


def test_created_with_schema_version_and_wal(url):
    db = StateDB(url)
    assert db.schema_version == SCHEMA_VERSION
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    StateDB(url)                       # opening again migrates nothing
    assert db.schema_version == SCHEMA_VERSION


def test_default_url_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'env.db'}")
    db = StateDB()
    db.append("activities", _activity())
    assert (tmp_path / "env.db").exists()


def test_append_records_who_and_when(url):
    db = StateDB(url)
    rid = db.append("activities", _activity(promise_date="2026-03-09", promise_amount_minor=12345,
                                            currency="USD", kind="promise_to_pay"), actor="ann")
    row = db.get("activities", rid)
    assert row["recorded_by"] == "ann" and row["recorded_at"].endswith("+00:00")
    assert row["promise_amount_minor"] == 12345


def test_append_only_and_corrections(url):
    db = StateDB(url)
    first = db.append("credit_decisions", {"customer_id": "C1", "decision": "approve",
                                           "limit_minor": 5000000, "currency": "USD",
                                           "reason": "as recommended", "approver": "mgr"}, actor="mgr")
    fix = db.correct("credit_decisions", first, {"limit_minor": 4000000}, "typo in limit", actor="mgr")
    current = db.current("credit_decisions")
    assert [r["id"] for r in current] == [fix]
    assert current[0]["supersedes"] == first and current[0]["limit_minor"] == 4000000
    assert len(db.rows("credit_decisions")) == 2          # the old row is kept
    with pytest.raises(AppendOnlyError):
        db.update("credit_decisions", first, {"limit_minor": 1})
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE credit_decisions SET limit_minor = 1")
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM audit_log")
    with pytest.raises(ValueError, match="needs a reason"):
        db.correct("credit_decisions", first, {}, " ")
    with pytest.raises(ValueError, match="does not exist"):
        db.correct("credit_decisions", 999, {}, "x")
    with pytest.raises(ValueError, match="has no column"):
        db.append("activities", {**_activity(), "colour": "red"})
    with pytest.raises(ValueError, match="set by the state database"):
        db.append("activities", {**_activity(), "recorded_by": "someone else"})


def test_transaction_is_all_or_nothing(url):
    db = StateDB(url)
    with pytest.raises(sa.exc.IntegrityError):
        db.append_many("activities", [_activity(1), {**_activity(2), "customer_id": None}])
    assert db.count("activities") == 0 and db.count("audit_log") == 0


def test_audit_chain_detects_tampering(url, tmp_path):
    db = StateDB(url)
    for i in range(5):
        db.append("activities", _activity(i))
    assert db.verify_audit_chain() == (True, "")
    import sqlite3
    raw = sqlite3.connect(tmp_path / "state.db")
    raw.execute("DROP TRIGGER audit_log_no_update")
    raw.execute("UPDATE audit_log SET detail = replace(detail, 'note 2', 'note X') WHERE id = 3")
    raw.commit()
    raw.close()
    ok, where = db.verify_audit_chain()
    assert not ok and where == "audit row 3: content does not match its hash"


def _writer(url, k, n):
    db = StateDB(url)
    for i in range(n):
        db.append("activities", _activity(i, collector=f"writer {k}"), actor=f"proc{k}")
    db.close()


def test_eight_processes_write_2000_rows_and_none_is_lost(url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(url, k, 250)) for k in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * 8
    db = StateDB(url)
    assert db.count("activities") == 2000
    assert db.count("audit_log") == 2000
    rows = db.rows("activities")
    per_writer = {}
    for r in rows:
        per_writer.setdefault(r["collector"], set()).add(r["note"])
    assert {k: len(v) for k, v in per_writer.items()} == {f"writer {k}": 250 for k in range(8)}
    assert db.verify_audit_chain() == (True, "")
