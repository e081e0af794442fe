"""The validated ledger store: a Parquet snapshot of a Ledger, sealed with its content hash.

A pack validates the ledger once and writes it here; every notebook of the pack then reads
the snapshot (``Ledger.load`` recognises the folder by its ``snapshot.json``) instead of the
ledger folder, so a ledger replaced during a run cannot change the pack, and 1M invoices
are not validated again in every kernel. The ledger store (:mod:`workbench.io.store`) keeps
the same layout for every ledger folder a command reads. Reading checks each table file's
SHA-256 as the table is read: a snapshot edited after it was written is refused, not
trusted.

Layout of ``data/snapshots/<hash[:16]>/``::

    snapshot.json            content hash, source, tables present (each file's SHA-256,
                             bytes, rows), load report, report currency
    tables/<table>.parquet   the typed frames as the Ledger holds them (amounts in minor units;
                             the store writes Arrow IPC files, <table>.arrow, instead)
    files/...                copies of other inputs a pack reads (bank statements), hashed
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .writer import atomic_write_text, make_temp_dir, replace_dir

__all__ = ["SNAPSHOT_FILE", "SnapshotError", "LazyTables", "is_snapshot", "write_snapshot",
           "write_tables", "read_snapshot", "read_meta", "file_sha256", "stat_record"]

SNAPSHOT_FILE = "snapshot.json"
#: 2: every table file's SHA-256 and size in ``snapshot.json``, checked as the table is read
FORMAT = 2


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


def stat_record(st) -> list[int]:
    """What tells a file unchanged without reading it: size, modification and change times
    (ns) and inode."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class LazyTables(Mapping):
    """The ledger's tables, each read from its file the first time it is used.

    A one-shot question (the aging of one date) reads the tables it needs, not all
    fourteen. Each file's SHA-256 is checked against the snapshot's record as it is read,
    so a table edited after the snapshot was written is refused, not trusted; a file whose
    record also holds its size, modification and change times and inode (the ledger store
    records them) is hashed only when one of those differs from the record, as ``git``
    trusts its index. Parquet files (pack snapshots) are decoded; Arrow IPC files (the
    store) are memory-mapped, their columns used in place. Every file is opened at once,
    so a store entry removed later (replaced by a newer version of the ledger) is still
    read whole by a process that already holds it.
    """

    def __init__(self, folder: Path, files: dict[str, Path], expected: dict[str, dict],
                 decimals: dict[str, list[str]], verify: bool, on_changed=None):
        self._on_changed = on_changed
        self._folder, self._files = folder, dict(files)
        self._expected, self._decimals, self._verify = expected, decimals, verify
        self._frames: dict[str, pd.DataFrame] = {}
        self._handles = {}
        try:
            for name, path in self._files.items():
                self._handles[name] = open(path, "rb")
        except OSError as e:
            self.close()
            raise SnapshotError(f"{folder}: a table cannot be opened ({e})") from None

    def close(self) -> None:
        for f in self._handles.values():
            f.close()
        self._handles.clear()

    def __del__(self):
        self.close()

    def __reduce__(self):
        # pickled (sent to another process): every table, as a plain dict
        return (dict, (dict(self.items()),))

    def __getitem__(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            if name not in self._files:
                raise KeyError(name)
            frame = self._frames[name] = self._read(name)
        return frame

    def __iter__(self):
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def __contains__(self, name) -> bool:
        return name in self._files

    def _read(self, name: str) -> pd.DataFrame:
        import mmap

        import pyarrow as pa

        path = self._files[name]
        try:
            with self._handles.pop(name) as f:
                stat = stat_record(os.fstat(f.fileno()))
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if stat[0] else b""
        except (OSError, KeyError, ValueError) as e:
            raise SnapshotError(f"{self._folder}: table {name} cannot be read ({e})") from None
        want = self._expected.get(name)
        if self._verify and (want is None or stat[0] != want["bytes"] or (
                want.get("stat") != stat and hashlib.sha256(data).hexdigest() != want["sha256"])):
            advice = ("rebuild the snapshot from the ledger" if self._on_changed is None
                      else self._on_changed())
            raise SnapshotError(f"{path}: the table file does not match the SHA-256 the snapshot "
                                f"recorded for it: it was changed after it was written; "
                                f"{advice}")
        buf = pa.py_buffer(data)
        if path.suffix == ".arrow":
            table = pa.ipc.open_file(buf).read_all()
        else:
            import pyarrow.parquet as pq
            table = pq.read_table(buf)
        df = table.to_pandas()
        for c in self._decimals.get(name, ()):
            df[c] = pd.Series([Decimal(v) for v in df[c]], index=df.index, dtype=object)
        return df


def write_tables(ledger, folder: Path, fmt: str = "parquet") -> dict:
    """Write the ledger's typed frames under ``folder/tables/`` as Parquet (compact: pack
    snapshots) or Arrow IPC (``fmt="arrow"``, uncompressed, memory-mapped when read: the
    store); return the snapshot.json fields that describe them (``tables``: file, SHA-256,
    bytes and rows per table, and for Arrow files their stat; ``decimal_columns``)."""
    import pyarrow as pa

    (folder / "tables").mkdir(parents=True, exist_ok=True)
    decimals, files = {}, {}
    for name in sorted(ledger.tables):
        df = ledger.tables[name]
        # Decimal objects (fx rates) go as their exact text: Parquet's decimal128 would
        # pad them to one scale, and the content hash reads their text
        dec = [c for c in df.columns if df[c].dtype == object
               and any(isinstance(v, Decimal) for v in df[c].dropna().head(1))]
        if dec:
            decimals[name] = dec
            df = df.astype({c: str for c in dec})
        path = folder / "tables" / f"{name}.{'arrow' if fmt == 'arrow' else 'parquet'}"
        if fmt == "arrow":
            table = pa.Table.from_pandas(df, preserve_index=False)
            with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
        else:
            df.to_parquet(path, index=False)
        files[name] = {"file": path.name, "sha256": file_sha256(path),
                       "bytes": path.stat().st_size, "rows": int(len(df))}
        if fmt == "arrow":
            files[name]["stat"] = stat_record(path.stat())
    return {"tables": files, "decimal_columns": decimals}


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
            if (meta.get("format") == FORMAT and meta.get("content_hash") == digest
                    and meta.get("files") == hashes):
                return digest, target, hashes
        except (OSError, ValueError):
            pass
    tmp = make_temp_dir(target)
    try:
        described = write_tables(ledger, tmp)
        for name, p in files.items():
            dst = tmp / "files" / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, dst)
        meta = {"format": FORMAT, "content_hash": digest, "source": ledger.source,
                "present": sorted(ledger.present), "report_currency": ledger.report_currency,
                "load_report": asdict(ledger.load_report), "files": hashes, **described}
        atomic_write_text(tmp / SNAPSHOT_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return digest, target, hashes


def read_meta(folder: Path) -> dict:
    try:
        meta = json.loads((folder / SNAPSHOT_FILE).read_text())
    except (OSError, ValueError) as e:
        raise SnapshotError(f"{folder}: not a readable ledger snapshot ({e})") from None
    if meta.get("format") != FORMAT:
        raise SnapshotError(f"{folder}: snapshot format {meta.get('format')!r}, expected "
                            f"{FORMAT}; rebuild it from the ledger")
    return meta


def read_snapshot(folder: str | Path, verify: bool = True, meta: dict | None = None,
                  on_changed=None):
    """The Ledger kept in a snapshot folder, without validating it again.

    Tables are read when first used (:class:`LazyTables`); with ``verify`` each table
    file's SHA-256 is checked against the snapshot's record as it is read, and the copied
    files (bank statements, state rows) now, so a snapshot changed after it was written is
    refused, not trusted. ``on_changed()`` (if given) is called when a changed table is
    found, and returns the advice the error gives.
    """
    from ..io.loader import LoadReport
    from ..ledger import Ledger

    folder = Path(folder)
    meta = read_meta(folder) if meta is None else meta
    recorded = meta.get("tables", {})
    on_disk = {p.stem: p for p in sorted((folder / "tables").iterdir())
               if p.suffix in {".parquet", ".arrow"}} if (folder / "tables").is_dir() else {}
    if verify:
        missing = sorted(set(recorded) - set(on_disk))
        if missing:
            raise SnapshotError(f"{folder}: table file(s) {', '.join(missing)} missing from the "
                                f"snapshot; rebuild it from the ledger")
        for name, expected in meta.get("files", {}).items():
            p = folder / "files" / name
            if not p.is_file() or file_sha256(p) != expected:
                raise SnapshotError(f"{folder}: file {name} is missing or changed since the "
                                    f"snapshot was written")
    tables = LazyTables(folder, on_disk, recorded, meta.get("decimal_columns", {}), verify,
                        on_changed)
    ledger = Ledger(tables, frozenset(meta["present"]), meta.get("source", ""),
                    LoadReport(**meta.get("load_report", {})), meta["report_currency"])
    ledger.snapshot = {"path": str(folder), "content_hash": meta["content_hash"],
                       "files": meta.get("files", {})}
    return ledger
