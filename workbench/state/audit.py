"""The audit chain: each audit row's keyed MAC over the one before it, the key, and what a
verification found."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


from ..config import db_url


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
    from ..config import DATA_DIR
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


