"""The state database: activities, credit decisions, approved cash matches and the audit log.

SQLAlchemy Core over a SQLite file (``data/workbench.db``, WAL mode, busy timeout) by
default, or any SQLAlchemy URL in ``WORKBENCH_DB_URL`` (PostgreSQL when a team shares
one). Records are **append-only**: a correction is a new row whose ``supersedes`` points
at the row it replaces, and :meth:`StateDB.current` shows only rows nobody superseded.

Append-only is enforced by the database itself (schema version 2) on every table
(records, ``audit_log``, ``schema_version``): SQLite ``BEFORE UPDATE``/``BEFORE DELETE``
triggers and a ``BEFORE INSERT`` trigger that refuses an existing id or idempotency key
(``INSERT OR REPLACE`` deletes the old row *without* firing delete triggers unless
``recursive_triggers`` is on, so the insert trigger is what stops it; UPSERT's
``DO UPDATE`` fires the update trigger); PostgreSQL ``BEFORE UPDATE OR DELETE`` row
triggers and a ``BEFORE TRUNCATE`` trigger raising an exception. Whoever can drop a
trigger (the SQLite file's owner, a PostgreSQL superuser) can still edit rows: that is
what the keyed audit chain detects.

**The audit chain.** Every append writes an audit row in the same transaction; its
``hash`` is HMAC-SHA256 under a key kept *outside* the database over the previous row's
MAC and the row (time, actor, action, table, record id, the record's content as JSON).
The key is ``WORKBENCH_AUDIT_KEY`` (the text is the key), else the file
``WORKBENCH_AUDIT_KEY_FILE``, else ``audit.key`` beside the SQLite file (``data/audit.key``
for the default database; ``data/audit.key`` for a server URL), created with mode 0600
on first write. :meth:`StateDB.verify_audit_chain` recomputes every MAC and
cross-checks every record table against the audit rows (each record row has exactly
one audit row whose content equals it; no audit row without its record). Without the
key, a rewritten chain cannot be made to verify.

**The anchor** (against a deleted tail): after each committed write the workbench
stores the last audit row's id and MAC, MAC'd with the key, in
``audit-anchor-<database id>.json`` in the key's folder (``WORKBENCH_AUDIT_ANCHOR_DIR``
overrides). Verification requires that row to still exist with that MAC. Limits: the
anchor is as safe as its folder (someone who can write it can put back an *older* genuine
anchor and then cut the rows written since); rows committed by a process that died
before updating the anchor are not covered; each machine keeps its own anchor, so for
a shared PostgreSQL put the key and anchor folder on shared, protected storage (or
record the printed last MAC elsewhere). A database written by schema version 1 (plain
SHA-256 chain) is sealed on upgrade: the migration checks the old chain and writes a
keyed ``seal`` row covering its last hash.

Many Voila kernels and scripts write at once: each write is one transaction, taken with
``BEGIN IMMEDIATE`` on SQLite (writers queue instead of deadlocking) and under a
transaction-scoped advisory lock on PostgreSQL, retried on "database is locked" with a
bounded backoff, so no row is lost. A row carrying an ``idempotency_key`` is recorded
once: a second submission with the same key (a double-click, a retried request) returns
the first row's id (unique index plus a check in the same transaction).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import hmac
import json
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import event

from .config import db_url

__all__ = ["StateDB", "SCHEMA_VERSION", "AppendOnlyError", "open_state", "StateRows",
           "AuditProblem", "AuditResult", "audit_verify_command", "audit_key_path"]

SCHEMA_VERSION = 3

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
        # a double-click or a retried request carries the same key: recorded once
        sa.Column("idempotency_key", sa.String(200), nullable=True),
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

adjustments = sa.Table(
    "adjustments", metadata, *_record_columns("adjustments"),
    # one row per event of an adjustment (proposed, approved, refused, exported, withdrawn);
    # the rows of one adjustment share its adjustment_id, the latest is its state
    sa.Column("adjustment_id", sa.String(100), nullable=False, index=True),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),           # credit_memo, write_off
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("source", sa.String(40), nullable=True),          # dispute, short_pay, small_balance, ...
    sa.Column("reason_code", sa.String(60), nullable=True),
    sa.Column("evidence", sa.Text, nullable=True),              # JSON: what supports it
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("authority", sa.String(40), nullable=True),       # the actor's approval level
    sa.Column("export_batch", sa.String(100), nullable=True),
    sa.Column("ledger_hash", sa.String(64), nullable=True),
)

dispute_events = sa.Table(
    "dispute_events", metadata, *_record_columns("dispute_events"),
    # one row per event of a dispute (opened, assigned, status, note, resolved); the rows of
    # one dispute share its dispute_id (the ledger's, or one made here)
    sa.Column("dispute_id", sa.String(100), nullable=False, index=True),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("owner", sa.String(40), nullable=True),           # order_management, billing, sales, collector
    sa.Column("owner_name", sa.String(200), nullable=True),
    sa.Column("due_date", sa.String(10), nullable=True),
    sa.Column("status", sa.String(30), nullable=True),
    sa.Column("reason_code", sa.String(60), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
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

RECORD_TABLES = {t.name: t for t in (activities, credit_decisions, cash_matches, adjustments,
                                      dispute_events)}
for _t in RECORD_TABLES.values():
    sa.Index(f"ux_{_t.name}_idempotency_key", _t.c.idempotency_key, unique=True)
_APPEND_ONLY = [*RECORD_TABLES, "audit_log", "schema_version"]
# the tables schema version 2 made append-only (its migration stays as it was)
_APPEND_ONLY_V2 = ["activities", "credit_decisions", "cash_matches", "audit_log", "schema_version"]


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

    def __init__(self, url: str | None = None, *, retries: int = 60,
                 audit_key: bytes | str | None = None, key_file: str | Path | None = None,
                 anchor_dir: str | Path | None = None):
        self.url = url or db_url()
        self.retries = retries
        self.engine = _make_engine(self.url)
        self._key_given = audit_key.encode() if isinstance(audit_key, str) else audit_key
        self.key_file = Path(key_file) if key_file else audit_key_path(self.url)
        self.anchor_dir = Path(anchor_dir or os.environ.get("WORKBENCH_AUDIT_ANCHOR_DIR")
                               or self.key_file.parent)
        self._key_cache: bytes | None = None
        self._pending_anchor: tuple[int, str] | None = None
        self._migrate()

    # ------------------------------------------------------------------ the key, the anchor
    def _key(self, create: bool = True) -> bytes | None:
        if self._key_given:
            return self._key_given
        env = os.environ.get("WORKBENCH_AUDIT_KEY")
        if env:
            return env.encode("utf-8")
        if self._key_cache is None:
            self._key_cache = _read_or_create_key(self.key_file, create)
        return self._key_cache

    @property
    def database_id(self) -> str:
        """What the anchor is keyed by: the SQLite file's real path, or server/database."""
        u = sa.engine.make_url(self.url)
        if u.get_backend_name() == "sqlite":
            return "sqlite:" + (os.path.realpath(u.database) if u.database else ":memory:")
        return f"{u.get_backend_name()}://{u.host or ''}:{u.port or ''}/{u.database or ''}"

    @property
    def anchor_path(self) -> Path:
        digest = hashlib.sha256(self.database_id.encode()).hexdigest()[:16]
        return self.anchor_dir / f"audit-anchor-{digest}.json"

    def _anchor_mac(self, key: bytes, last_id: int, last_mac: str) -> str:
        text = "\x1f".join(["anchor", self.database_id, str(last_id), last_mac])
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    def read_anchor(self) -> dict | None:
        try:
            return json.loads(self.anchor_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            return {"corrupt": True}

    def _advance_anchor(self, last_id: int, last_mac: str) -> None:
        """Move the anchor forward to (last_id, last_mac); never backwards. Atomic, locked."""
        key = self._key()
        self.anchor_dir.mkdir(parents=True, exist_ok=True)
        lock = self.anchor_dir / (self.anchor_path.name + ".lock")
        with open(lock, "a") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            cur = self.read_anchor()
            if cur and not cur.get("corrupt") and int(cur.get("last_id", 0)) >= last_id:
                return
            data = {"database": self.database_id, "last_id": last_id, "last_mac": last_mac,
                    "at": _now(), "mac": self._anchor_mac(key, last_id, last_mac)}
            fd, tmp = tempfile.mkstemp(dir=self.anchor_dir, prefix=".anchor-")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, sort_keys=True)
            os.replace(tmp, self.anchor_path)

    # ------------------------------------------------------------------ setup
    def _migrate(self) -> None:
        def step(conn):
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})")
            metadata.create_all(conn, checkfirst=True)
            current = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
            current = current or 0
            if current > SCHEMA_VERSION:
                raise RuntimeError(f"state database {self.url} has schema version {current}, "
                                   f"newer than this workbench ({SCHEMA_VERSION}): upgrade")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](self, conn)
                conn.execute(schema_version.insert().values(
                    version=version, applied_at=_now(), description=MIGRATION_NOTES[version]))
        self._write(step)

    def _write(self, fn):
        """Run ``fn(conn)`` in one write transaction, retrying while the database is locked."""
        delay = 0.01
        for attempt in range(self.retries + 1):
            self._pending_anchor = None
            try:
                with self.engine.begin() as conn:
                    result = fn(conn)
                if self._pending_anchor is not None:
                    self._advance_anchor(*self._pending_anchor)
                return result
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
        rows = [{k: _plain(v) for k, v in dict(r).items()} for r in rows]
        for r in rows:
            for forbidden in ("id", "recorded_at", "recorded_by"):
                if forbidden in r:
                    raise ValueError(f"{forbidden} is set by the state database, not the caller")
            unknown = set(r) - set(t.c.keys())
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
        return rows

    def _insert(self, conn, t: sa.Table, table: str, r: dict, actor: str) -> int:
        if conn.dialect.name == "postgresql":
            # one writer at a time appends to the chain; also makes the key check below safe
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})")
        if r.get("idempotency_key") is not None:
            old = conn.execute(sa.select(t).where(t.c.idempotency_key == r["idempotency_key"])
                               ).mappings().first()
            if old is not None:
                differs = {k for k, v in r.items() if _plain(old[k]) != _plain(v)}
                if differs:
                    raise ValueError(f"{table}: idempotency key {r['idempotency_key']!r} was "
                                     f"already used for a different record ({sorted(differs)})")
                return int(old["id"])
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
        """Record a correction of ``row_id``: a new row with the changes, pointing at the old.

        The old row's idempotency key is not copied (it names the old submission); pass
        ``changes={"idempotency_key": ...}`` to make the correction itself safe to resend."""
        if not reason or not str(reason).strip():
            raise ValueError("a correction needs a reason")
        old = self.get(table, row_id)
        if old is None:
            raise ValueError(f"{table} row {row_id} does not exist: nothing to correct")
        keep = {k: v for k, v in old.items()
                if k not in ("id", "recorded_at", "recorded_by", "supersedes", "correction_reason",
                             "idempotency_key")}
        keep.update(changes)
        keep["supersedes"] = row_id
        keep["correction_reason"] = reason
        return self.append(table, keep, actor=actor)

    def update(self, *args, **kwargs):  # noqa: D401 - explicit refusal
        raise AppendOnlyError("the state database is append-only: use correct()")

    delete = update

    def _audit(self, conn, actor: str, action: str, table: str, row_id, detail: dict) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})")
        prev = conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)
                            ).scalar() or "0" * 64
        at = _now()
        body = _canonical(detail)
        digest = _chain_mac(self._key(), prev, at, actor, action, table, row_id, body)
        new_id = conn.execute(audit_log.insert().values(
            at=at, actor=actor, action=action, table_name=table, row_id=row_id, detail=body,
            prev_hash=prev, hash=digest)).inserted_primary_key[0]
        self._pending_anchor = (int(new_id), digest)

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

    def verify_audit_chain(self) -> "AuditResult":
        """Check the keyed audit chain, the anchor and every record table against it.

        Returns an :class:`AuditResult`: a ``(ok, message)`` pair (``(True, "")`` when
        intact) that also carries ``problems`` (table, row id, what), counts and the last
        MAC. Detects an edited record or audit row, a deleted row, a record inserted
        without its audit row, a deleted tail (against the anchor) and a chain rewritten
        with another key.
        """
        problems: list[AuditProblem] = []
        key = self._key(create=False)
        with self.engine.connect() as conn:
            audit = [dict(r) for r in conn.execute(sa.select(audit_log).order_by(audit_log.c.id)
                                                    ).mappings()]
            records = {name: [dict(r) for r in conn.execute(sa.select(t).order_by(t.c.id)
                                                             ).mappings()]
                       for name, t in RECORD_TABLES.items()}
        if audit and key is None:
            problems.append(AuditProblem("audit_log", None,
                                         f"no audit key (WORKBENCH_AUDIT_KEY or {self.key_file}): "
                                         f"the chain cannot be checked"))
            return AuditResult(problems, len(audit), sum(map(len, records.values())), None)
        # a schema-1 prefix (plain SHA-256) is accepted only under a keyed seal row
        legacy_through = 0
        for r in audit:
            if r["action"] == "seal" and r["table_name"] == "audit_log":
                try:
                    legacy_through = int(json.loads(r["detail"])["legacy_through_id"])
                except (ValueError, KeyError, TypeError):
                    legacy_through = 0
                break
        prev = "0" * 64
        for r in audit:
            if r["prev_hash"] != prev:
                problems.append(AuditProblem("audit_log", r["id"], "chain link broken: the row "
                                             "before it was deleted or replaced"))
            args = (r["prev_hash"], r["at"], r["actor"], r["action"], r["table_name"],
                    r["row_id"], r["detail"])
            if r["id"] <= legacy_through:
                good = _chain_hash(*args) == r["hash"]
            else:
                good = hmac.compare_digest(_chain_mac(key, *args), r["hash"])
            if not good:
                problems.append(AuditProblem("audit_log", r["id"], "MAC does not match: the audit "
                                             "row was edited or written without the key"))
            prev = r["hash"]
        # the anchor: the last audit row any writer here committed must still be there
        anchor = self.read_anchor()
        if anchor is None:
            if audit:
                problems.append(AuditProblem("audit_log", None, f"no anchor file "
                                             f"({self.anchor_path}): a deleted tail cannot be "
                                             f"ruled out"))
        elif anchor.get("corrupt") or not hmac.compare_digest(
                str(anchor.get("mac", "")),
                self._anchor_mac(key, int(anchor.get("last_id", -1)), str(anchor.get("last_mac")))):
            problems.append(AuditProblem("audit_log", None, f"anchor file {self.anchor_path} was "
                                         f"altered (its MAC does not match)"))
        else:
            by_id = {r["id"]: r for r in audit}
            a_id = int(anchor["last_id"])
            if a_id not in by_id:
                last = audit[-1]["id"] if audit else 0
                problems.append(AuditProblem("audit_log", a_id, f"deleted tail: the anchor records "
                                             f"audit row {a_id}, the table ends at row {last}"))
            elif by_id[a_id]["hash"] != anchor["last_mac"]:
                problems.append(AuditProblem("audit_log", a_id, "the anchored audit row's MAC "
                                             "differs from the anchor (rewritten chain)"))
        # cross-check: every record row has exactly one audit row with its content
        audited: dict[tuple[str, int], list[dict]] = {}
        for r in audit:
            if r["action"] in ("append", "correct"):
                audited.setdefault((r["table_name"], r["row_id"]), []).append(r)
        for name, rows in records.items():
            ids = set()
            for row in rows:
                ids.add(row["id"])
                entries = audited.get((name, row["id"]), [])
                if not entries:
                    problems.append(AuditProblem(name, row["id"], "record has no audit row "
                                                 "(inserted bypassing the workbench)"))
                    continue
                if len(entries) > 1:
                    problems.append(AuditProblem(name, row["id"], f"{len(entries)} audit rows "
                                                 f"for one record ({[e['id'] for e in entries]})"))
                if _content_hash(row) != _detail_hash(entries[0]["detail"]):
                    problems.append(AuditProblem(name, row["id"], f"record differs from its audited "
                                                 f"content (audit row {entries[0]['id']}): edited"))
            for (tname, rid), entries in audited.items():
                if tname == name and rid not in ids:
                    problems.append(AuditProblem(name, rid, f"record deleted: audit row "
                                                 f"{entries[0]['id']} has no record"))
        unknown = {t for t, _ in audited} - set(RECORD_TABLES)
        for t in sorted(unknown):
            problems.append(AuditProblem(t, None, "audit rows name an unknown table"))
        return AuditResult(problems, len(audit), sum(map(len, records.values())),
                           audit[-1]["hash"] if audit else None)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _chain_hash(prev, at, actor, action, table, row_id, body) -> str:
    """Schema 1's unkeyed chain (kept to check a sealed legacy prefix)."""
    text = "\x1f".join([prev, at, actor, action, table, str(row_id), body])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chain_mac(key: bytes, prev, at, actor, action, table, row_id, body) -> str:
    """HMAC-SHA256 of one audit row: the previous row's MAC and this row's content."""
    text = "\x1f".join(["wb-audit-v2", prev, at, actor, action, table, str(row_id), body])
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


_AUDIT_LOCK = 741001


def _plain(v):
    """numpy scalars to Python values (so the audited JSON equals what is stored)."""
    return v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v


def _canonical(row: dict) -> str:
    return json.dumps({k: _plain(v) for k, v in row.items()}, sort_keys=True, default=str)


def _content_hash(row: dict) -> str:
    """A record's content as audited: every non-null column but the id."""
    return hashlib.sha256(_canonical({k: v for k, v in row.items()
                                      if k != "id" and v is not None}).encode()).hexdigest()


def _detail_hash(detail: str) -> str:
    try:
        d = json.loads(detail)
    except ValueError:
        return "unreadable"
    return _content_hash(d)


def audit_key_path(url: str | None = None) -> Path:
    """Where the audit key file is: ``WORKBENCH_AUDIT_KEY_FILE``, else ``audit.key`` beside
    the SQLite file, else ``data/audit.key``."""
    env = os.environ.get("WORKBENCH_AUDIT_KEY_FILE")
    if env:
        return Path(env)
    url = url or db_url()
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            return Path(os.path.abspath(path)).parent / "audit.key"
    from .config import DATA_DIR
    return Path(DATA_DIR) / "audit.key"


def _read_or_create_key(path: Path, create: bool) -> bytes | None:
    try:
        key = path.read_bytes().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, os.urandom(32).hex().encode() + b"\n")
        os.close(fd)
        try:
            os.link(tmp, path)           # atomic: the first writer's key wins
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_bytes().strip()


@dataclass(frozen=True)
class AuditProblem:
    """One break found by the verification: which table, which row, what."""
    table: str
    row_id: int | None
    what: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row_id if self.row_id is not None else '-'}: {self.what}"


class AuditResult(tuple):
    """``(ok, message)`` — ``(True, "")`` when intact — plus the details."""

    def __new__(cls, problems, audit_rows, record_rows, last_mac):
        problems = list(problems)
        self = super().__new__(cls, (not problems, str(problems[0]) if problems else ""))
        self.problems = problems
        self.audit_rows = audit_rows
        self.record_rows = record_rows
        self.last_mac = last_mac
        return self

    @property
    def ok(self) -> bool:
        return self[0]

    def kinds(self) -> set[str]:
        return {p.what.split(":")[0] for p in self.problems}


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
            cur.execute("PRAGMA recursive_triggers = ON")   # REPLACE's delete fires triggers
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


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


def audit_verify_command(url: str | None = None) -> tuple[int, str]:
    """``workbench audit verify [--db URL]``: (exit code, text). 0 intact, 1 a break,
    2 the database could not be opened."""
    try:
        db = StateDB(url)
    except Exception as e:  # noqa: BLE001 - one line for the command
        return 2, f"audit verify: cannot open the state database: {e}"
    try:
        res = db.verify_audit_chain()
        shown = db.database_id
        if res.ok:
            return 0, (f"audit verify: {shown}: intact — {res.audit_rows} audit row(s), "
                       f"{res.record_rows} record(s) cross-checked, anchor {db.anchor_path}, "
                       f"last MAC {res.last_mac or '-'}")
        lines = [f"audit verify: {shown}: BROKEN — {len(res.problems)} problem(s) in "
                 f"{res.audit_rows} audit row(s), {res.record_rows} record(s):"]
        lines += [f"  {p.table}\trow {p.row_id if p.row_id is not None else '-'}\t{p.what}"
                  for p in res.problems]
        return 1, "\n".join(lines)
    finally:
        db.close()
