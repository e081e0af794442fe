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
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import event

from ..config import db_url
from .audit import (_AUDIT_LOCK, AuditProblem, AuditResult, _canonical, _chain_hash, _chain_mac,
                    _content_hash, _detail_hash, _plain, _read_or_create_key, audit_key_path)
from .migrations import MIGRATION_NOTES, MIGRATIONS
from .tables import RECORD_TABLES, SCHEMA_VERSION, audit_log, metadata, schema_version

__all__ = ["StateDB", "SCHEMA_VERSION", "AppendOnlyError", "open_state", "StateRows",
           "AuditProblem", "AuditResult", "audit_verify_command", "audit_key_path"]

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


def open_state(url: str | None = None) -> StateDB:
    """Open the state database (created or migrated on open)."""
    return StateDB(url)


# at the end: these name StateDB (defined above)
from .rows import StateRows, audit_verify_command  # noqa: E402
