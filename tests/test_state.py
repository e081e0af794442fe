"""The state database: append-only records, corrections, the audit chain, concurrency."""

import json
import multiprocessing as mp
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from workbench.state import (SCHEMA_VERSION, AppendOnlyError, StateDB, _chain_mac,
                             audit_verify_command)


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
    # a row submitted with an idempotency key can be corrected (the key is the old submission's)
    keyed = db.append("activities", {**_activity(), "idempotency_key": "form-1"}, actor="ann")
    fixed = db.correct("activities", keyed, {"note": "called back"}, "wrong note", actor="ann")
    assert db.get("activities", fixed)["idempotency_key"] is None
    assert db.append("activities", {**_activity(), "idempotency_key": "form-1"}, actor="ann") == keyed
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
    assert not ok and where == ("audit_log row 3: MAC does not match: the audit row was edited "
                                "or written without the key")


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



# ---------------------------------------------------------------------------------------------
# Tampering, refused writes and concurrency: written once, run on SQLite here and on a real
# PostgreSQL in test_state_pg.py. A "Backend" knows how an attacker with direct database
# access writes (triggers dropped / disabled) and how a plain client writes (triggers active).

ROOT = Path(__file__).resolve().parents[1]


class SqliteBackend:
    name = "sqlite"

    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"

    def attacker(self, *sql, params=()):
        """Direct file access: drop every trigger, then write."""
        raw = sqlite3.connect(self.path)
        for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            raw.execute(f"DROP TRIGGER {name}")
        for q in sql:
            raw.execute(q, params) if params else raw.execute(q)
        raw.commit()
        raw.close()

    def client(self, sql):
        """A plain client (triggers in place, default pragmas: recursive_triggers off)."""
        raw = sqlite3.connect(self.path)
        try:
            raw.execute(sql)
            raw.commit()
        finally:
            raw.close()


def _seed(url, n=5):
    db = StateDB(url)
    for i in range(n):
        db.append("activities", _activity(i + 1), actor="ann")
    assert db.verify_audit_chain() == (True, "")
    return db


def _problems(db):
    res = db.verify_audit_chain()
    assert not res.ok
    return [(p.table, p.row_id, p.what.split(":")[0]) for p in res.problems]


def check_edited_record(b):
    db = _seed(b.url)
    b.attacker("UPDATE activities SET note = 'paid in full' WHERE id = 2")
    assert _problems(db) == [("activities", 2, "record differs from its audited content "
                                               "(audit row 2)")]
    code, text = audit_verify_command(b.url)
    assert code == 1 and "activities\trow 2\trecord differs from its audited content" in text


def check_edited_audit_row(b):
    db = _seed(b.url)
    b.attacker("UPDATE audit_log SET actor = 'mallory' WHERE id = 3")
    assert _problems(db) == [("audit_log", 3, "MAC does not match")]
    code, text = audit_verify_command(b.url)
    assert code == 1 and "audit_log\trow 3\tMAC does not match" in text


def check_deleted_rows(b):
    db = _seed(b.url)
    b.attacker("DELETE FROM activities WHERE id = 2")
    assert _problems(db) == [("activities", 2, "record deleted")]
    b.attacker("DELETE FROM audit_log WHERE id = 4")        # a middle audit row, too
    assert _problems(db) == [("audit_log", 5, "chain link broken"),
                             ("activities", 4, "record has no audit row (inserted bypassing "
                                               "the workbench)"),
                             ("activities", 2, "record deleted")]
    assert audit_verify_command(b.url)[0] == 1


def check_deleted_tail(b):
    db = _seed(b.url)
    # a careful attacker removes the last record AND its audit row: chain and cross-check agree
    b.attacker("DELETE FROM activities WHERE id = 5", "DELETE FROM audit_log WHERE id = 5")
    assert _problems(db) == [("audit_log", 5, "deleted tail")]
    code, text = audit_verify_command(b.url)
    assert code == 1 and "deleted tail: the anchor records audit row 5, the table ends at row 4" \
        in text


def check_unaudited_insert(b):
    db = _seed(b.url)
    # a plain INSERT is allowed by the triggers (append-only) but bypasses StateDB's audit row
    b.client("INSERT INTO activities (recorded_at, recorded_by, customer_id, kind, at, collector) "
             "VALUES ('2026-01-01T00:00:00+00:00', 'ann', 'C9', 'call', '2026-01-01', 'x')")
    assert _problems(db) == [("activities", 6, "record has no audit row (inserted bypassing "
                                               "the workbench)")]
    assert audit_verify_command(b.url)[0] == 1


def check_rehashed_chain(b):
    db = _seed(b.url)
    with db.engine.connect() as conn:
        audit = [dict(r) for r in conn.exec_driver_sql("SELECT * FROM audit_log ORDER BY id").mappings()]
    # the attacker edits record 2, rewrites its audit detail and recomputes the whole chain
    # (a plain SHA-256 chain, as schema 1 had, and an HMAC chain under a guessed key)
    for key in (b"not the key", b"another guess"):
        sqls, prev = ["UPDATE activities SET note = 'written off' WHERE id = 2"], "0" * 64
        for r in audit:
            detail = json.loads(r["detail"])
            if r["row_id"] == 2:
                detail["note"] = "written off"
            body = json.dumps(detail, sort_keys=True, default=str)
            mac = _chain_mac(key, prev, r["at"], r["actor"], r["action"], r["table_name"],
                             r["row_id"], body)
            sqls.append(f"UPDATE audit_log SET detail = '{body}', prev_hash = '{prev}', "
                        f"hash = '{mac}' WHERE id = {r['id']}")
            prev = mac
        b.attacker(*sqls)
        found = _problems(db)
        assert [f for f in found if f[2] == "MAC does not match"] == \
            [("audit_log", r["id"], "MAC does not match") for r in audit]
        assert ("audit_log", 5, "the anchored audit row's MAC differs from the anchor "
                                "(rewritten chain)") in found
        assert not [f for f in found if f[0] == "activities"]   # the cross-check alone is fooled
    assert audit_verify_command(b.url)[0] == 1


def check_writes_refused(b, statements):
    """Every statement is refused by the database; nothing changes; the chain stays intact."""
    db = _seed(b.url)
    before = {t: db.rows(t) for t in ("activities",)}
    n_audit = db.count("audit_log")
    for sql in statements:
        with pytest.raises(Exception, match="append-only") as e1:
            b.client(sql)
        with pytest.raises(sa.exc.IntegrityError, match="append-only"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(sql)
        assert e1.value is not None, sql
    assert {t: db.rows(t) for t in ("activities",)} == before
    assert db.count("audit_log") == n_audit
    assert db.verify_audit_chain() == (True, "")
    assert audit_verify_command(b.url)[0] == 0


_AUDIT_COLS = "(id, at, actor, action, table_name, row_id, detail, prev_hash, hash)"
_ACT_COLS = "(id, recorded_at, recorded_by, customer_id, kind, at, collector, note)"

COMMON_REFUSED = [
    "UPDATE activities SET note = 'x' WHERE id = 1",
    "DELETE FROM activities WHERE id = 1",
    "UPDATE audit_log SET actor = 'x' WHERE id = 1",
    "DELETE FROM audit_log",
    "DELETE FROM schema_version",
    f"INSERT INTO activities {_ACT_COLS} VALUES (1, 'r', 'x', 'C1', 'call', 'a', 'c', 'n') "
    "ON CONFLICT (id) DO UPDATE SET note = excluded.note",
    f"INSERT INTO audit_log {_AUDIT_COLS} VALUES (1, 'a', 'x', 'append', 'activities', 1, '{{}}', "
    "'0', '0') ON CONFLICT (id) DO UPDATE SET detail = excluded.detail",
]
SQLITE_REFUSED = COMMON_REFUSED + [
    f"INSERT OR REPLACE INTO activities {_ACT_COLS} VALUES (1, 'r', 'x', 'C1', 'call', 'a', 'c', 'n')",
    f"REPLACE INTO audit_log {_AUDIT_COLS} VALUES (2, 'a', 'x', 'append', 'activities', 2, '{{}}', "
    "'0', '0')",
    "INSERT OR REPLACE INTO schema_version (version, applied_at, description) VALUES (1, 'x', 'y')",
]


def _concurrent_submitter(url, k, per, barrier, out):
    """One page/kernel: decisions, activities and cash approvals, each first item clicked twice,
    and a decision every page submits with one shared key (the same click reaching two kernels)."""
    db = StateDB(url)
    barrier.wait(timeout=120)
    calls = 0
    for i in range(per):
        clicks = 2 if i == 0 else 1
        for _ in range(clicks):
            db.append("credit_decisions", {"customer_id": f"C{k}", "decision": "approve",
                                           "limit_minor": 100000 + i, "currency": "USD",
                                           "reason": "as recommended", "approver": f"mgr{k}",
                                           "idempotency_key": f"p{k}-decision-{i}"},
                      actor=f"mgr{k}")
            db.append("activities", {**_activity(i, collector=f"page {k}"),
                                     "idempotency_key": f"p{k}-activity-{i}"}, actor=f"col{k}")
            db.append("cash_matches", {"receipt_id": f"R{k}-{i}", "invoice_id": f"I{k}-{i}",
                                       "amount_minor": 5000 + i, "currency": "EUR",
                                       "rule": "exact", "confidence": 0.99, "status": "posted",
                                       "approved_by": f"mgr{k}",
                                       "idempotency_key": f"p{k}-cash-{i}"}, actor=f"mgr{k}")
            calls += 3
    db.append("credit_decisions", {"customer_id": "SHARED", "decision": "hold",
                                   "reason": "double click", "approver": "mgr",
                                   "idempotency_key": "shared-double-click"}, actor="mgr")
    calls += 1
    out.put((k, calls))
    db.close()


def run_concurrency(url, backend_name, procs=8, per=40):
    StateDB(url).close()                      # created before the race, as a shared one is
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(procs), ctx.Queue()
    ps = [ctx.Process(target=_concurrent_submitter, args=(url, k, per, barrier, out))
          for k in range(procs)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    for p in ps:
        p.join(timeout=600)
    elapsed = time.perf_counter() - t0
    assert [p.exitcode for p in ps] == [0] * procs
    submitted = sum(out.get(timeout=10)[1] for _ in range(procs))
    db = StateDB(url)
    found = {t: db.count(t) for t in ("credit_decisions", "activities", "cash_matches")}
    expected = {"credit_decisions": procs * per + 1, "activities": procs * per,
                "cash_matches": procs * per}
    figures = {"backend": backend_name, "pages (processes)": procs,
               "submissions (incl. double clicks)": submitted,
               "distinct rows expected": sum(expected.values()), "rows found": sum(found.values()),
               "per table found": found, "audit rows": db.count("audit_log"),
               "seconds": round(elapsed, 2)}
    print(f"\nconcurrency figures: {json.dumps(figures)}")
    cache = ROOT / ".pytest_cache"
    cache.mkdir(exist_ok=True)
    (cache / f"state-concurrency-{backend_name}.json").write_text(json.dumps(figures, indent=1))
    assert submitted == procs * (3 * per + 3 + 1)
    assert found == expected
    assert db.count("audit_log") == sum(expected.values())
    keys = [r["idempotency_key"] for t in found for r in db.rows(t)]
    assert len(keys) == len(set(keys)) == sum(expected.values())
    assert db.verify_audit_chain() == (True, "")
    return figures


# ---- SQLite


@pytest.fixture
def sb(tmp_path):
    return SqliteBackend(tmp_path / "state.db")


def test_tamper_edited_record(sb):
    check_edited_record(sb)


def test_tamper_edited_audit_row(sb):
    check_edited_audit_row(sb)


def test_tamper_deleted_rows(sb):
    check_deleted_rows(sb)


def test_tamper_deleted_tail(sb):
    check_deleted_tail(sb)


def test_tamper_unaudited_insert(sb):
    check_unaudited_insert(sb)


def test_tamper_rehashed_chain_wrong_key(sb):
    check_rehashed_chain(sb)


@pytest.mark.parametrize("sql", SQLITE_REFUSED)
def test_write_paths_refused(sb, sql):
    check_writes_refused(sb, [sql])


def test_intact_database_verifies(sb):
    _seed(sb.url)
    code, text = audit_verify_command(sb.url)
    assert code == 0 and "intact — 5 audit row(s), 5 record(s) cross-checked" in text
    assert (sb.path.parent / "audit.key").stat().st_mode & 0o777 == 0o600


def test_key_outside_database_and_missing_key_is_a_break(sb, monkeypatch):
    _seed(sb.url)
    (sb.path.parent / "audit.key").rename(sb.path.parent / "elsewhere.key")
    code, text = audit_verify_command(sb.url)
    assert code == 1 and "no audit key" in text
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(sb.path.parent / "elsewhere.key"))
    assert audit_verify_command(sb.url)[0] == 0


def test_idempotency_key_records_once(sb):
    db = StateDB(sb.url)
    row = {**_activity(1), "idempotency_key": "click-1"}
    first = db.append("activities", row)
    assert db.append("activities", row) == first
    assert db.count("activities") == 1 and db.count("audit_log") == 1
    with pytest.raises(ValueError, match="already used for a different record"):
        db.append("activities", {**row, "note": "something else"})


def test_schema_1_database_is_upgraded_and_sealed(tmp_path):
    """A database written by the previous workbench gets the triggers and a keyed seal."""
    # the schema-1 module as the previous workbench shipped it (commit 4277d31), kept as a
    # fixture so that the test needs no git history
    shutil.copy(ROOT / "tests" / "fixtures" / "state_schema1.py.txt", tmp_path / "oldstate.py")
    url = f"sqlite:///{tmp_path / 'v1.db'}"
    code = ("import sys; sys.path.insert(0, %r); import oldstate; db = oldstate.StateDB(%r)\n"
            "for i in range(3): db.append('activities', {'customer_id': 'C1', 'kind': 'call', "
            "'at': 'x', 'collector': 'c', 'note': str(i)}, actor='ann')\n" % (str(tmp_path), url))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    db = StateDB(url)
    assert db.schema_version == SCHEMA_VERSION == 3
    assert db.verify_audit_chain() == (True, "")
    with db.engine.connect() as conn:
        seal = conn.exec_driver_sql("SELECT action, detail FROM audit_log WHERE id = 4").one()
    assert seal[0] == "seal" and json.loads(seal[1])["legacy_through_id"] == 3
    db.append("activities", _activity(9))
    assert db.verify_audit_chain() == (True, "")
    with pytest.raises(sa.exc.IntegrityError, match="append-only"):
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT OR REPLACE INTO activities (id, recorded_at, recorded_by, "
                                 "customer_id, kind, at, collector) VALUES (1,'a','b','c','d','e','f')")
    SqliteBackend(tmp_path / "v1.db").attacker("UPDATE audit_log SET actor = 'x' WHERE id = 2")
    assert _problems(db) == [("audit_log", 2, "MAC does not match")]


def test_concurrent_pages_sqlite(sb):
    run_concurrency(sb.url, "sqlite")


def test_a_schema_2_database_upgrades_to_3_and_its_chain_still_verifies(tmp_path):
    """A database written by the schema-2 workbench (tests/fixtures/state_schema2.py.txt, the
    module as it was) opens at version 3: its rows and chain verify, and the new tables
    (adjustments, dispute_events) are append-only and audited."""
    shutil.copy(ROOT / "tests" / "fixtures" / "state_schema2.py.txt", tmp_path / "state2.py")
    url = f"sqlite:///{tmp_path / 'v2.db'}"
    code = ("import sys; sys.path.insert(0, %r); import state2; db = state2.StateDB(%r)\n"
            "for i in range(3): db.append('activities', {'customer_id': 'C1', 'kind': 'call', "
            "'at': 'x', 'collector': 'c', 'note': str(i), 'idempotency_key': 'k%%d' %% i}, "
            "actor='ann')\n" % (str(tmp_path), url))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    db = StateDB(url)
    assert db.schema_version == 3
    assert db.verify_audit_chain() == (True, "")
    aid = db.append("adjustments", {"adjustment_id": "ADJ-1", "event": "proposed",
                                    "kind": "credit_memo", "customer_id": "C1",
                                    "invoice_id": "I1", "amount_minor": 1250, "currency": "USD",
                                    "source": "dispute"}, actor="ann")
    db.append("dispute_events", {"dispute_id": "D1", "customer_id": "C1", "event": "opened",
                                 "owner": "billing", "due_date": "2026-12-01", "status": "open"},
              actor="ann")
    assert db.verify_audit_chain() == (True, "")
    for sql in ("UPDATE adjustments SET amount_minor = 1", "DELETE FROM adjustments",
                "UPDATE dispute_events SET owner = 'sales'", "DELETE FROM dispute_events",
                "INSERT OR REPLACE INTO adjustments (id, recorded_at, recorded_by, adjustment_id, "
                f"event, kind, customer_id, amount_minor, currency) VALUES ({aid}, 'r', 'x', "
                "'ADJ-1', 'approved', 'credit_memo', 'C1', 1, 'USD')"):
        with pytest.raises(sa.exc.IntegrityError, match="append-only"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(sql)
    assert db.rows("adjustments")[0]["amount_minor"] == 1250
