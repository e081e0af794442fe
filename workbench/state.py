"""The state database: activities, credit decisions, approved cash matches and the audit log.

SQLAlchemy Core over a SQLite file (``data/workbench.db``, WAL mode, busy timeout) by
default, or any SQLAlchemy URL in ``WORKBENCH_DB_URL`` (PostgreSQL when a team shares
one). Records are **append-only**: nothing is updated or deleted (SQLite triggers refuse
it); a correction is a new row whose ``supersedes`` points at the row it replaces, and
:meth:`StateDB.current` shows only rows nobody superseded. Every append writes an audit
row in the same transaction, chained by SHA-256 (``hash`` covers the previous hash and
the row), so a gap or an edit is detectable with :meth:`StateDB.verify_audit_chain`.

Many Voila kernels and scripts write at once: each write is one transaction, taken with
``BEGIN IMMEDIATE`` on SQLite (writers queue instead of deadlocking) and retried on
"database is locked" with a bounded backoff, so no row is lost.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import random
import time
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import event

from .config import db_url

__all__ = ["StateDB", "SCHEMA_VERSION", "AppendOnlyError", "open_state", "StateRows"]

SCHEMA_VERSION = 1

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)


def _record_columns(prefix: str) -> list[sa.Column]:
    """Columns every append-only record carries: who, when, what it corrects."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("supersedes", sa.Integer, sa.ForeignKey(f"{prefix}.id"), nullable=True),
        sa.Column("correction_reason", sa.Text, nullable=True),
    ]


activities = sa.Table(
    "activities", metadata, *_record_columns("activities"),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),            # when it happened (ISO 8601)
    sa.Column("collector", sa.String(200), nullable=False),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("promise_date", sa.String(10), nullable=True),
    sa.Column("promise_amount_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
)

credit_decisions = sa.Table(
    "credit_decisions", metadata, *_record_columns("credit_decisions"),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("decision", sa.String(40), nullable=False),      # approve, approve_other, decline, hold
    sa.Column("limit_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("recommended_limit_minor", sa.BigInteger, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("approver", sa.String(200), nullable=False),
    sa.Column("approver_level", sa.String(40), nullable=True),
    sa.Column("policy_version", sa.String(80), nullable=True),
    sa.Column("ledger_hash", sa.String(64), nullable=True),
)

cash_matches = sa.Table(
    "cash_matches", metadata, *_record_columns("cash_matches"),
    sa.Column("receipt_id", sa.String(100), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("rule", sa.String(60), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),        # posted, reversed, deduction
    sa.Column("approved_by", sa.String(200), nullable=False),
    sa.Column("ledger_hash", sa.String(64), nullable=True),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),        # append, correct, migrate
    sa.Column("table_name", sa.String(60), nullable=False),
    sa.Column("row_id", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),              # the row, JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

RECORD_TABLES = {t.name: t for t in (activities, credit_decisions, cash_matches)}
_APPEND_ONLY = [*RECORD_TABLES, "audit_log", "schema_version"]


class AppendOnlyError(RuntimeError):
    """A request to change or remove a recorded row."""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")


def default_actor() -> str:
    """Who is writing: ``WORKBENCH_USER``, else the login name."""
    return os.environ.get("WORKBENCH_USER") or getpass.getuser()


def _is_locked(err: Exception) -> bool:
    text = str(err).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock" in text \
        or "could not serialize" in text


class StateDB:
    """The state database. ``StateDB()`` opens (and creates or migrates) the default one.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; default ``WORKBENCH_DB_URL`` or ``sqlite:///data/workbench.db``.
    retries : int
        How many times a write is retried when the database is locked.
    """

    def __init__(self, url: str | None = None, *, retries: int = 60):
        self.url = url or db_url()
        self.retries = retries
        self.engine = _make_engine(self.url)
        self._migrate()

    # ------------------------------------------------------------------ setup
    def _migrate(self) -> None:
        def step(conn):
            metadata.create_all(conn, checkfirst=True)
            if conn.dialect.name == "sqlite":
                for name in _APPEND_ONLY:
                    for op in ("UPDATE", "DELETE"):
                        conn.exec_driver_sql(
                            f"CREATE TRIGGER IF NOT EXISTS {name}_no_{op.lower()} BEFORE {op} ON "
                            f"{name} BEGIN SELECT RAISE(ABORT, '{name} is append-only: "
                            f"record a correction instead'); END")
            current = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
            current = current or 0
            if current > SCHEMA_VERSION:
                raise RuntimeError(f"state database {self.url} has schema version {current}, "
                                   f"newer than this workbench ({SCHEMA_VERSION}): upgrade")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
                conn.execute(schema_version.insert().values(
                    version=version, applied_at=_now(), description=MIGRATION_NOTES[version]))
        self._write(step)

    def _write(self, fn):
        """Run ``fn(conn)`` in one write transaction, retrying while the database is locked."""
        delay = 0.01
        for attempt in range(self.retries + 1):
            try:
                with self.engine.begin() as conn:
                    return fn(conn)
            except sa.exc.OperationalError as e:
                if not _is_locked(e) or attempt == self.retries:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

    # ------------------------------------------------------------------ writes
    def append(self, table: str, row: dict[str, Any], *, actor: str | None = None) -> int:
        """Append one record; returns its id. ``recorded_at``/``recorded_by`` are filled in."""
        return self.append_many(table, [row], actor=actor)[0]

    def append_many(self, table: str, rows: Iterable[dict[str, Any]], *,
                    actor: str | None = None) -> list[int]:
        """Append several records in one transaction (all or none)."""
        t = self._table(table)
        actor = actor or default_actor()
        rows = self._check_rows(table, t, rows)

        def step(conn):
            return [self._insert(conn, t, table, r, actor) for r in rows]
        return self._write(step)

    def _check_rows(self, table: str, t: sa.Table, rows) -> list[dict]:
        rows = [dict(r) for r in rows]
        for r in rows:
            for forbidden in ("id", "recorded_at", "recorded_by"):
                if forbidden in r:
                    raise ValueError(f"{forbidden} is set by the state database, not the caller")
            unknown = set(r) - set(t.c.keys())
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
        return rows

    def _insert(self, conn, t: sa.Table, table: str, r: dict, actor: str) -> int:
        r = {**r, "recorded_at": _now(), "recorded_by": actor}
        if r.get("supersedes") is not None:
            exists = conn.execute(sa.select(t.c.id).where(t.c.id == r["supersedes"])).first()
            if exists is None:
                raise ValueError(f"{table} row {r['supersedes']} does not exist: nothing "
                                 f"to correct")
        new_id = conn.execute(t.insert().values(**r)).inserted_primary_key[0]
        action = "correct" if r.get("supersedes") is not None else "append"
        self._audit(conn, actor, action, table, new_id, r)
        return int(new_id)

    def append_checked(self, table: str, decide, *, actor: str | None = None):
        """Read and append in ONE transaction: check-then-write that cannot interleave.

        ``decide(current_rows)`` receives the table's rows as the transaction sees them and
        returns ``(rows_to_append, result)``; the rows are appended (with their audit rows)
        in the same transaction and ``(ids, result)`` returned. Concurrent callers are
        serialised: SQLite takes the write lock at ``BEGIN IMMEDIATE``, PostgreSQL a
        transaction-scoped advisory lock per table, so two approvers posting the same
        lines at once post them once.
        """
        t = self._table(table)
        actor = actor or default_actor()

        def step(conn):
            if conn.dialect.name == "postgresql":
                key = int(hashlib.sha256(table.encode()).hexdigest()[:12], 16)
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({key})")
            current = [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.id)).mappings()]
            rows, result = decide(current)
            rows = self._check_rows(table, t, rows)
            return [self._insert(conn, t, table, r, actor) for r in rows], result
        return self._write(step)

    def correct(self, table: str, row_id: int, changes: dict[str, Any], reason: str, *,
                actor: str | None = None) -> int:
        """Record a correction of ``row_id``: a new row with the changes, pointing at the old."""
        if not reason or not str(reason).strip():
            raise ValueError("a correction needs a reason")
        old = self.get(table, row_id)
        if old is None:
            raise ValueError(f"{table} row {row_id} does not exist: nothing to correct")
        keep = {k: v for k, v in old.items()
                if k not in ("id", "recorded_at", "recorded_by", "supersedes", "correction_reason")}
        keep.update(changes)
        keep["supersedes"] = row_id
        keep["correction_reason"] = reason
        return self.append(table, keep, actor=actor)

    def update(self, *args, **kwargs):  # noqa: D401 - explicit refusal
        raise AppendOnlyError("the state database is append-only: use correct()")

    delete = update

    def _audit(self, conn, actor: str, action: str, table: str, row_id, detail: dict) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(741001)")
        prev = conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
                            ).scalar() or "0" * 64
        at = _now()
        body = json.dumps(detail, sort_keys=True, default=str)
        digest = _chain_hash(prev, at, actor, action, table, row_id, body)
        conn.execute(audit_log.insert().values(at=at, actor=actor, action=action, table_name=table,
                                               row_id=row_id, detail=body, prev_hash=prev,
                                               hash=digest))

    # ------------------------------------------------------------------ reads
    def _table(self, name: str) -> sa.Table:
        if name not in RECORD_TABLES:
            raise ValueError(f"unknown state table {name!r}; one of {', '.join(RECORD_TABLES)}")
        return RECORD_TABLES[name]

    def get(self, table: str, row_id: int) -> dict | None:
        t = self._table(table)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id == row_id)).mappings().first()
        return dict(row) if row else None

    def rows(self, table: str, *, where: dict[str, Any] | None = None,
             include_superseded: bool = True) -> list[dict]:
        """All records of a table (oldest first), optionally filtered by equality."""
        t = self._table(table)
        q = sa.select(t).order_by(t.c.id)
        for k, v in (where or {}).items():
            q = q.where(t.c[k] == v)
        if not include_superseded:
            newer = sa.select(t.c.supersedes).where(t.c.supersedes.is_not(None))
            q = q.where(t.c.id.not_in(newer))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def current(self, table: str, **where) -> list[dict]:
        """Records that no later record superseded."""
        return self.rows(table, where=where or None, include_superseded=False)

    def count(self, table: str) -> int:
        t = self._table(table) if table != "audit_log" else audit_log
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar())

    def frame(self, table: str, *, current_only: bool = True):
        """A table as a pandas DataFrame (for notebooks)."""
        import pandas as pd

        rows = self.rows(table, include_superseded=not current_only)
        return pd.DataFrame(rows, columns=list(self._table(table).c.keys()))

    def verify_audit_chain(self) -> tuple[bool, str]:
        """Recompute the audit hash chain; (True, "") when intact, else where it breaks."""
        prev = "0" * 64
        with self.engine.connect() as conn:
            for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)).mappings():
                if r["prev_hash"] != prev:
                    return False, f"audit row {r['id']}: previous hash does not match"
                digest = _chain_hash(prev, r["at"], r["actor"], r["action"], r["table_name"],
                                     r["row_id"], r["detail"])
                if digest != r["hash"]:
                    return False, f"audit row {r['id']}: content does not match its hash"
                prev = r["hash"]
        return True, ""

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _chain_hash(prev, at, actor, action, table, row_id, body) -> str:
    text = "\x1f".join([prev, at, actor, action, table, str(row_id), body])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _make_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, poolclass=sa.pool.NullPool)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None   # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def _migration_1(conn) -> None:
    """Version 1: activities, credit decisions, cash matches, audit log (created above)."""


MIGRATIONS = {1: _migration_1}
MIGRATION_NOTES = {1: "activities, credit_decisions, cash_matches, audit_log"}


def open_state(url: str | None = None) -> StateDB:
    """Open the state database (created or migrated on open)."""
    return StateDB(url)


class StateRows:
    """The state database's current rows a report used, frozen: read once when a pack
    starts, kept in its snapshot with their hash, and read by every notebook of the pack
    instead of the live database (which other users may be writing to meanwhile).

    Offers the read side of :class:`StateDB` that analyses use (``current``, ``rows``).
    """

    TABLES = ("activities", "credit_decisions")

    def __init__(self, tables: dict[str, list[dict]]):
        self.tables = {k: [dict(r) for r in v] for k, v in tables.items()}

    @classmethod
    def capture(cls, url: str | None = None, tables=TABLES) -> "StateRows":
        """The current rows of ``tables`` in the state database at ``url`` (default URL);
        no rows when the default SQLite file does not exist (a report never creates it)."""
        from .config import db_url

        url = url or db_url()
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return cls({t: [] for t in tables})
        db = StateDB(url)
        try:
            return cls({t: db.current(t) for t in tables})
        finally:
            db.close()

    def current(self, table: str, **where) -> list[dict]:
        return [dict(r) for r in self.tables.get(table, [])
                if all(r.get(k) == v for k, v in where.items())]

    def rows(self, table: str, *, where: dict[str, Any] | None = None,
             include_superseded: bool = False) -> list[dict]:
        return self.current(table, **(where or {}))

    def counts(self) -> dict[str, int]:
        return {t: len(v) for t, v in sorted(self.tables.items())}

    def to_json(self) -> str:
        return json.dumps(self.tables, sort_keys=True, indent=1, default=str) + "\n"

    @classmethod
    def read(cls, path: str | Path) -> "StateRows":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))
