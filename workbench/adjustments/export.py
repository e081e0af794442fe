"""Export to the ERP: the ledger loader's ``credit_memos.csv`` and ``write_offs.csv`` and a
NetSuite-style CSV through a column map, one folder per batch, each adjustment exported once."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..ledger import Ledger, to_date
from ..money import format_amount
from .events import _CARRY, _append_checked, _Book, _open_check, _states
from .policy import KINDS, AdjustmentError


#: The ERP import files: the ledger loader's columns for each table, in this order.
LEDGER_COLUMNS = {
    "credit_memos": ["credit_memo_id", "customer_id", "date", "amount", "currency", "invoice_id",
                     "reason"],
    "write_offs": ["invoice_id", "date", "amount", "reason", "currency", "approved_by"],
}
DEFAULT_MAP = Path(__file__).parent.parent / "io" / "maps" / "netsuite_adjustments.yaml"


@dataclass
class ExportMap:
    name: str
    version: str
    file: str
    columns: list[tuple[str, str]]            # (our field, their column), in order
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)


#: Our fields a column map may name.
EXPORT_FIELDS = ("adjustment_id", "kind", "record_type", "item", "customer_id", "invoice_id",
                 "date", "amount", "currency", "reason_code", "source", "note", "approved_by",
                 "authority", "export_batch")


def load_export_map(path: str | Path | None = None) -> ExportMap:
    """Read a column map (our field -> their column name); every problem reported together."""
    path = Path(path) if path else DEFAULT_MAP
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise AdjustmentError(f"column map {path} does not exist") from None
    except yaml.YAMLError as e:
        raise AdjustmentError(f"{path}: not valid YAML: {e}") from None
    problems = []
    if not isinstance(doc, dict):
        raise AdjustmentError(f"{path}: a column map must be a mapping")
    for k in ("name", "version", "file", "columns"):
        if doc.get(k) in (None, ""):
            problems.append(f"{path}: {k}: missing (required)")
    cols = doc.get("columns") or {}
    if not isinstance(cols, dict):
        problems.append(f"{path}: columns: expected a mapping of our field to their column")
        cols = {}
    for ours, theirs in cols.items():
        if ours not in EXPORT_FIELDS:
            problems.append(f"{path}: columns.{ours}: unknown field (known: "
                            f"{', '.join(EXPORT_FIELDS)})")
        if not isinstance(theirs, str) or not theirs.strip():
            problems.append(f"{path}: columns.{ours}: expected a column name, got {theirs!r}")
    kinds = doc.get("kinds") or {}
    for k, v in (kinds.items() if isinstance(kinds, dict) else [("", None)]):
        if k not in KINDS or not isinstance(v, dict):
            problems.append(f"{path}: kinds.{k}: expected one of {', '.join(KINDS)} mapping "
                            f"record_type/item to text")
    file = str(doc.get("file") or "")
    if file and (Path(file).name != file or not file.endswith(".csv")):
        problems.append(f"{path}: file: expected a plain .csv file name, got {file!r}")
    if problems:
        raise AdjustmentError("\n".join(problems))
    return ExportMap(str(doc["name"]), str(doc["version"]), file, list(cols.items()),
                     {k: {kk: str(vv) for kk, vv in v.items()} for k, v in kinds.items()})


@dataclass
class ExportResult:
    batch_id: str | None
    folder: Path | None
    adjustment_ids: list[str]
    files: dict[str, int]                     # file name -> data rows
    skipped: dict[str, str]                   # adjustment id -> why it was not exported


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _batch_id(day: dt.date, ids: list[str]) -> str:
    """``EXP-<date>-<hash of the adjustment ids>``: the same adjustments on the same day, the
    same batch id."""
    return f"EXP-{day.isoformat()}-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:10]


_BATCH_ID = re.compile(r"^EXP-([0-9]{4}-[0-9]{2}-[0-9]{2})-[0-9a-f]{10}$")


def _write_batch(folder: Path, batch: str, day: dt.date, ids: list[str], states: dict,
                 emap: ExportMap) -> dict[str, int]:
    """Write a batch's files and manifest into ``folder``; returns file name -> data rows.

    Each adjustment's rows come from its proposal and its approval (``states[a]["proposed"]``
    and ``states[a]["last"]``, the adjustment still approved): the one place the rows are
    built, so a rebuild of a batch writes, byte for byte, what its export wrote.
    """
    cm, wo, ns = [], [], []
    for a in ids:
        p, ap = states[a]["proposed"], states[a]["last"]
        cur, amt = p["currency"], format_amount(int(p["amount_minor"]), p["currency"])
        if p["kind"] == "credit_memo":
            cm.append([a, p["customer_id"], day.isoformat(), amt, cur, p["invoice_id"] or "",
                       p["reason_code"]])
        else:
            wo.append([p["invoice_id"], day.isoformat(), amt, f"{p['reason_code']} ({a})", cur,
                       ap["recorded_by"]])
        values = {"adjustment_id": a, "kind": p["kind"], "customer_id": p["customer_id"],
                  "invoice_id": p["invoice_id"] or "", "date": day.isoformat(), "amount": amt,
                  "currency": cur, "reason_code": p["reason_code"], "source": p["source"],
                  "note": ap["note"] or "", "approved_by": ap["recorded_by"],
                  "authority": ap["authority"], "export_batch": batch,
                  **emap.kinds.get(p["kind"], {})}
        ns.append([values.get(ours, "") for ours, _ in emap.columns])
    files = {"credit_memos.csv": (LEDGER_COLUMNS["credit_memos"], cm),
             "write_offs.csv": (LEDGER_COLUMNS["write_offs"], wo),
             emap.file: ([theirs for _, theirs in emap.columns], ns)}
    for name, (header, body) in files.items():
        (folder / name).write_text(_csv_text(header, body), encoding="utf-8")
    counts = {n: len(b) for n, (_, b) in files.items()}
    manifest = {"batch_id": batch, "date": day.isoformat(), "adjustments": ids,
                "column_map": f"{emap.name} {emap.version}", "files": counts}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
    return counts


def export_adjustments(db, ledger: Ledger, out_dir: str | Path, *, column_map=None,
                       date=None, actor: str | None = None) -> ExportResult:
    """Export every approved, not yet exported adjustment to ``out_dir/<batch id>/``.

    Files: ``credit_memos.csv`` and ``write_offs.csv`` (the ledger loader's columns, money as
    decimal text in the currency's decimals) and the column map's NetSuite-style CSV. The
    batch id is ``EXP-<date>-<hash of the adjustment ids>`` (deterministic). The files are
    written to a temporary folder and the "exported" events appended inside the one
    transaction that reads which adjustments were exported (two exports at once export each
    adjustment once); the folder gets the batch's name only after that transaction commits.
    A batch recorded without its folder (a crash in between, a folder deleted) is written
    again by :func:`rebuild_export`. An adjustment no longer open on the ledger is skipped
    (reported, nothing recorded). Nothing approved: no folder, ``batch_id`` None.
    """
    from ..io.writer import make_temp_dir, replace_dir

    emap = column_map if isinstance(column_map, ExportMap) else load_export_map(column_map)
    day = to_date(date).date() if date is not None else dt.datetime.now(dt.UTC).date()
    book, ledger_hash = _Book.of(ledger, ledger.last_date), ledger.content_hash()
    out_dir = Path(out_dir)
    made: list[Path] = []

    def decide(rows):
        states = _states(rows)
        todo, skipped = [], {}
        for a in sorted(a for a, s in states.items() if s["status"] == "approved"):
            why = _open_check(book, states, a)     # others approved count as pending
            if why:
                skipped[a] = why
                continue
            todo.append(a)
        if not todo:
            return [], ExportResult(None, None, [], {}, skipped)
        batch = _batch_id(day, todo)
        tmp = make_temp_dir(out_dir / batch)
        made.append(tmp)                # renamed into place once the events are committed
        files = _write_batch(tmp, batch, day, todo, states, emap)
        new = [{**{k: states[a]["proposed"][k] for k in _CARRY}, "event": "exported",
                "export_batch": batch, "ledger_hash": ledger_hash,
                "note": f"exported to {out_dir / batch}", "idempotency_key": f"{a}:exported"}
               for a in todo]
        return new, ExportResult(batch, out_dir / batch, todo, files, skipped)
    try:
        result = _append_checked(db, decide, actor)[1]
    except BaseException:
        for d in made:          # the events were not recorded: take the files back
            shutil.rmtree(d, ignore_errors=True)
        raise
    # the "exported" events are committed: only now do the files appear under the batch's
    # name, so a crash can leave a batch recorded with its folder missing (the temporary one
    # holds the files), never files the ERP could import whose export was not recorded
    keep = made[-1] if result.batch_id is not None and made else None
    for d in made:              # a retried transaction's earlier attempts
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)
    if keep is not None:
        replace_dir(keep, result.folder)
    return result


def rebuild_export(db, batch_id: str, out_dir: str | Path, *, column_map=None) -> ExportResult:
    """Write a recorded export batch's files again, to ``out_dir/<batch id>/``.

    For a batch recorded with no files (a crash between the commit and the rename, a folder
    deleted) or asked for again by the ERP team. Only the recorded events are read: the
    batch's adjustments (those with an "exported" event of ``batch_id``), each as the export's
    transaction saw it (the rows recorded before the batch's events: a later correction does
    not change what the ERP was given), the batch's date (in its id) and approvers. The files
    and manifest are byte-identical to the export's, given the same column map (the
    manifest's ``column_map`` names it). Nothing is recorded, nothing new exported. An
    existing folder of the batch is replaced atomically.

    Raises
    ------
    AdjustmentError
        No batch ``batch_id`` is recorded; its events do not make up the batch its id names;
        the folder there holds a manifest naming another column map.
    """
    from ..io.writer import make_temp_dir, replace_dir

    emap = column_map if isinstance(column_map, ExportMap) else load_export_map(column_map)
    rows = db.rows("adjustments")
    events = [r for r in rows if r["event"] == "exported" and r["export_batch"] == batch_id]
    if not events:
        raise AdjustmentError(f"no export batch {batch_id!r} is recorded (workbench adjustments "
                              f"list shows each exported adjustment's batch)")
    ids = sorted({r["adjustment_id"] for r in events})
    first = min(r["id"] for r in events)
    states = _states([r for r in rows if r["id"] < first])
    m = _BATCH_ID.match(batch_id)
    day = dt.date.fromisoformat(m.group(1)) if m else None
    unapproved = [a for a in ids if states.get(a, {}).get("status") != "approved"]
    if day is None or _batch_id(day, ids) != batch_id or unapproved:
        raise AdjustmentError(
            f"batch {batch_id}: its recorded events ({', '.join(ids)}) do not make up the batch "
            f"its id names" + (f" ({', '.join(unapproved)} not approved before it)"
                               if unapproved else "") + ": it cannot be rebuilt")
    folder = Path(out_dir) / batch_id
    label = f"{emap.name} {emap.version}"
    try:
        was = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["column_map"]
    except (OSError, ValueError, KeyError, TypeError):
        was = label             # no readable manifest there: nothing to compare with
    if was != label:
        raise AdjustmentError(f"{folder} was exported with the column map {was}, not {label}: "
                              f"give that map")
    tmp = make_temp_dir(folder)
    try:
        files = _write_batch(tmp, batch_id, day, ids, states, emap)
        replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(batch_id, folder, ids, files, {})
