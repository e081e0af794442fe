"""The validated ledger store: a Parquet snapshot of a Ledger, sealed with its content hash.

A pack validates the ledger once and writes it here; every notebook of the pack then reads
the snapshot (``Ledger.load`` recognises the folder by its ``snapshot.json``) instead of the
ledger folder, so a ledger replaced during a run cannot change the pack, and 1M invoices
are not validated again in every kernel. Reading checks the content hash: a snapshot edited
after it was written is refused, not trusted.

Layout of ``data/snapshots/<hash[:16]>/``::

    snapshot.json            hash, source, tables present, load report, report currency
    tables/<table>.parquet   the typed frames as the Ledger holds them (amounts in minor units)
    files/...                copies of other inputs a pack reads (bank statements), hashed
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .writer import atomic_write_text, make_temp_dir, replace_dir

__all__ = ["SNAPSHOT_FILE", "SnapshotError", "is_snapshot", "write_snapshot", "read_snapshot",
           "file_sha256"]

SNAPSHOT_FILE = "snapshot.json"
FORMAT = 1


class SnapshotError(ValueError):
    """A snapshot that is missing, unreadable or no longer matches its hash."""


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_snapshot(folder: str | Path) -> bool:
    return (Path(folder) / SNAPSHOT_FILE).is_file()


def write_snapshot(ledger, root: str | Path, files: dict[str, str | Path] | None = None
                   ) -> tuple[str, Path, dict[str, str]]:
    """Write ``ledger`` (and copies of ``files``: name -> path) under ``root``.

    Returns ``(content hash, folder, {file name: sha256})``. The folder is named after the
    hash of the ledger and the files; an identical snapshot already there is reused.
    """
    digest = ledger.content_hash()
    files = {str(k): Path(v) for k, v in (files or {}).items()}
    hashes = {name: file_sha256(p) for name, p in sorted(files.items())}
    key = hashlib.sha256((digest + json.dumps(hashes, sort_keys=True)).encode()).hexdigest()
    target = Path(root) / key[:16]
    if is_snapshot(target):
        try:
            meta = json.loads((target / SNAPSHOT_FILE).read_text())
            if meta.get("content_hash") == digest and meta.get("files") == hashes:
                return digest, target, hashes
        except (OSError, ValueError):
            pass
    tmp = make_temp_dir(target)
    try:
        (tmp / "tables").mkdir()
        decimals = {}
        for name, df in ledger.tables.items():
            # Decimal objects (fx rates) go as their exact text: Parquet's decimal128 would
            # pad them to one scale, and the content hash reads their text
            dec = [c for c in df.columns if df[c].dtype == object
                   and any(isinstance(v, Decimal) for v in df[c].dropna().head(1))]
            if dec:
                decimals[name] = dec
                df = df.astype({c: str for c in dec})
            df.to_parquet(tmp / "tables" / f"{name}.parquet", index=False)
        for name, p in files.items():
            dst = tmp / "files" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst)
        meta = {"format": FORMAT, "content_hash": digest, "source": ledger.source,
                "present": sorted(ledger.present), "report_currency": ledger.report_currency,
                "load_report": asdict(ledger.load_report), "files": hashes,
                "decimal_columns": decimals}
        atomic_write_text(tmp / SNAPSHOT_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return digest, target, hashes


def read_snapshot(folder: str | Path, verify: bool = True):
    """The Ledger kept in a snapshot folder, without validating it again.

    ``verify`` recomputes the content hash (well under a second for 1M invoices) and
    refuses a snapshot whose tables no longer match the hash it was written with.
    """
    from ..io.loader import LoadReport
    from ..ledger import Ledger

    folder = Path(folder)
    try:
        meta = json.loads((folder / SNAPSHOT_FILE).read_text())
    except (OSError, ValueError) as e:
        raise SnapshotError(f"{folder}: not a readable ledger snapshot ({e})") from None
    if meta.get("format") != FORMAT:
        raise SnapshotError(f"{folder}: snapshot format {meta.get('format')!r}, expected {FORMAT}")
    tables = {}
    for p in sorted((folder / "tables").glob("*.parquet")):
        tables[p.stem] = pd.read_parquet(p)
    for name, cols in meta.get("decimal_columns", {}).items():
        df = tables[name]
        for c in cols:
            df[c] = pd.Series([Decimal(v) for v in df[c]], index=df.index, dtype=object)
    ledger = Ledger(tables, frozenset(meta["present"]), meta.get("source", ""),
                    LoadReport(**meta.get("load_report", {})), meta["report_currency"])
    if verify and ledger.content_hash() != meta["content_hash"]:
        raise SnapshotError(f"{folder}: the tables do not match the snapshot's content hash "
                            f"{meta['content_hash'][:16]}: the snapshot was changed after it "
                            f"was written; rebuild it from the ledger")
    if verify:
        for name, expected in meta.get("files", {}).items():
            p = folder / "files" / name
            if not p.is_file() or file_sha256(p) != expected:
                raise SnapshotError(f"{folder}: file {name} is missing or changed since the "
                                    f"snapshot was written")
    ledger.snapshot = {"path": str(folder), "content_hash": meta["content_hash"],
                                   "files": meta.get("files", {})}
    return ledger
