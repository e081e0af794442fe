"""The state database on a real PostgreSQL server (a cluster this test session starts in a
temporary folder, see tests/pgcluster.py): the same tamper, refused-write and concurrency
checks as tests/test_state.py. Not skipped: without the server binaries it fails and says
the command to run."""

import psycopg
import pytest

from . import pgcluster
from .test_state import (COMMON_REFUSED, check_deleted_rows, check_deleted_tail,
                         check_edited_audit_row, check_edited_record, check_rehashed_chain,
                         check_unaudited_insert, check_writes_refused, run_concurrency)


@pytest.fixture(scope="session")
def pg_cluster():
    try:
        cluster = pgcluster.PgCluster().start()
    except (FileNotFoundError, RuntimeError) as e:
        pytest.fail(str(e), pytrace=False)
    yield cluster
    cluster.stop()


class PgBackend:
    name = "postgresql"

    def __init__(self, cluster):
        self.url = cluster.create_database()
        name = self.url.rsplit("/", 1)[1]
        self.dsn = f"host=127.0.0.1 port={cluster.port} user=postgres dbname={name}"

    def attacker(self, *sql, params=()):
        """A superuser: triggers off for the session (session_replication_role = replica)."""
        with psycopg.connect(self.dsn) as conn:
            conn.execute("SET session_replication_role = replica")
            for q in sql:
                conn.execute(q.replace("%", "%%"))

    def client(self, sql):
        with psycopg.connect(self.dsn) as conn:
            conn.execute(sql.replace("%", "%%"))


@pytest.fixture
def pb(pg_cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    return PgBackend(pg_cluster)


def test_tamper_edited_record_pg(pb):
    check_edited_record(pb)


def test_tamper_edited_audit_row_pg(pb):
    check_edited_audit_row(pb)


def test_tamper_deleted_rows_pg(pb):
    check_deleted_rows(pb)


def test_tamper_deleted_tail_pg(pb):
    check_deleted_tail(pb)


def test_tamper_unaudited_insert_pg(pb):
    check_unaudited_insert(pb)


def test_tamper_rehashed_chain_wrong_key_pg(pb):
    check_rehashed_chain(pb)


@pytest.mark.parametrize("sql", COMMON_REFUSED + ["TRUNCATE activities", "TRUNCATE audit_log",
                                                  "TRUNCATE adjustments", "TRUNCATE dispute_events"])
def test_write_paths_refused_pg(pb, sql):
    check_writes_refused(pb, [sql])


def test_concurrent_pages_pg(pb):
    run_concurrency(pb.url, "postgresql")


def test_the_schema_3_tables_are_append_only_pg(pb):
    from workbench.state import StateDB

    db = StateDB(pb.url)
    db.append("adjustments", {"adjustment_id": "ADJ-1", "event": "proposed", "kind": "write_off",
                              "customer_id": "C1", "amount_minor": 500, "currency": "EUR"},
              actor="ann")
    db.append("dispute_events", {"dispute_id": "D1", "customer_id": "C1", "event": "opened"},
              actor="ann")
    for sql in ("UPDATE adjustments SET amount_minor = 1", "DELETE FROM dispute_events"):
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            pb.client(sql)
    assert db.verify_audit_chain() == (True, "")
