"""Schema migrations, one per version, each applied once in a transaction; the
append-only triggers."""

from __future__ import annotations


import sqlalchemy as sa

from .audit import _chain_hash
from .tables import _APPEND_ONLY_V2, RECORD_TABLES, audit_log


def _migration_1(db, conn) -> None:
    """Version 1: activities, credit decisions, cash matches, audit log (created above)."""


def _append_only_triggers(conn, names) -> None:
    """Append-only enforced by the database on ``names`` (SQLite triggers refusing UPDATE,
    DELETE and INSERT OR REPLACE; PostgreSQL triggers refusing UPDATE, DELETE and TRUNCATE)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for name in names:
            msg = f"{name} is append-only: record a correction instead"
            for op in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(
                    f"CREATE TRIGGER IF NOT EXISTS {name}_no_{op.lower()} BEFORE {op} ON {name} "
                    f"BEGIN SELECT RAISE(ABORT, '{msg}'); END")
            pk = "version" if name == "schema_version" else "id"
            cond = f"EXISTS (SELECT 1 FROM {name} WHERE {pk} = NEW.{pk})"
            if name in RECORD_TABLES:
                cond += (f" OR (NEW.idempotency_key IS NOT NULL AND EXISTS (SELECT 1 FROM {name} "
                         f"WHERE idempotency_key = NEW.idempotency_key))")
            conn.exec_driver_sql(
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_replace BEFORE INSERT ON {name} "
                f"WHEN {cond} BEGIN SELECT RAISE(ABORT, '{msg} (INSERT OR REPLACE refused)'); END")
    elif dialect == "postgresql":
        conn.exec_driver_sql(
            "CREATE OR REPLACE FUNCTION workbench_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '%% is append-only: record a "
            "correction instead (%% refused)', TG_TABLE_NAME, TG_OP "
            "USING ERRCODE = 'integrity_constraint_violation'; END $$")
        for name in names:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_append_only ON {name}")
            conn.exec_driver_sql(f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON "
                                 f"{name} FOR EACH ROW EXECUTE FUNCTION workbench_append_only()")
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}")
            conn.exec_driver_sql(f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
                                 f"FOR EACH STATEMENT EXECUTE FUNCTION workbench_append_only()")


def _migration_2(db, conn) -> None:
    """Version 2: idempotency keys, append-only enforced by the database on every write path
    (SQLite and PostgreSQL triggers), the keyed audit chain (a schema-1 chain is sealed)."""
    cols = {t: {c["name"] for c in sa.inspect(conn).get_columns(t)} for t in RECORD_TABLES}
    for t in RECORD_TABLES:
        if "idempotency_key" not in cols[t]:
            conn.exec_driver_sql(f"ALTER TABLE {t} ADD COLUMN idempotency_key VARCHAR(200)")
        conn.exec_driver_sql(f"CREATE UNIQUE INDEX IF NOT EXISTS ux_{t}_idempotency_key "
                             f"ON {t} (idempotency_key)")
    _append_only_triggers(conn, _APPEND_ONLY_V2)
    # a schema-1 chain (plain SHA-256): check it, then seal it under the key
    legacy = [dict(r) for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings()]
    if legacy:
        prev = "0" * 64
        for r in legacy:
            if r["prev_hash"] != prev or _chain_hash(prev, r["at"], r["actor"], r["action"],
                                                     r["table_name"], r["row_id"],
                                                     r["detail"]) != r["hash"]:
                raise RuntimeError(f"state database {db.url}: the schema-1 audit chain breaks at "
                                   f"row {r['id']}; not upgrading (investigate first)")
            prev = r["hash"]
        db._audit(conn, "workbench-migration", "seal", "audit_log", None,
                  {"legacy_through_id": legacy[-1]["id"], "legacy_last_hash": prev,
                   "scheme": "sha256 chain sealed; hmac-sha256 from here"})


def _migration_3(db, conn) -> None:
    """Version 3: adjustments (credit memos, write-offs: proposed, approved, exported) and
    dispute events (owner, due date, status history), append-only like every record table."""
    _append_only_triggers(conn, ["adjustments", "dispute_events"])


MIGRATIONS = {1: _migration_1, 2: _migration_2, 3: _migration_3}
MIGRATION_NOTES = {1: "activities, credit_decisions, cash_matches, audit_log",
                   2: "idempotency keys; append-only triggers on every write path; keyed audit chain",
                   3: "adjustments and dispute_events (append-only, audited)"}


