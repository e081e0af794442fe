"""The state rows a report used, frozen in its snapshot (:class:`StateRows`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


from ..config import db_url


def _statedb():
    from . import StateDB          # the package's (it imports this module last)
    return StateDB


class StateRows:
    """The state database's current rows a report used, frozen: read once when a pack
    starts, kept in its snapshot with their hash, and read by every notebook of the pack
    instead of the live database (which other users may be writing to meanwhile).

    Offers the read side of :class:`StateDB` that analyses use (``current``, ``rows``).
    """

    TABLES = ("activities", "credit_decisions", "dispute_events")

    def __init__(self, tables: dict[str, list[dict]]):
        self.tables = {k: [dict(r) for r in v] for k, v in tables.items()}

    @classmethod
    def capture(cls, url: str | None = None, tables=TABLES) -> "StateRows":
        """The current rows of ``tables`` in the state database at ``url`` (default URL);
        no rows when the default SQLite file does not exist (a report never creates it)."""
        url = url or db_url()
        if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
            return cls({t: [] for t in tables})
        db = _statedb()(url)
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
        db = _statedb()(url)
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
