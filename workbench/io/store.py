"""The ledger store: a ledger folder is validated once per version of its files.

Every command, notebook and pack step that loads a ledger folder goes through
:func:`load` (``Ledger.load`` calls it). It fingerprints the folder's source files (each
file's name, size and SHA-256; hashing runs at about 1 GB/s, so 100 MB of Parquet costs a
tenth of a second), the column map, the reporting currency and the validating code itself.
When an entry with that fingerprint is in the store, the validated tables are read from it
(each table when first used, memory-mapped) without validating again; a store file is
hashed again when its size, times or inode differ from those recorded as it was written,
and refused when its SHA-256 no longer matches. When
not, the folder is validated as always; a valid ledger is then written to the store
(atomically: a temporary folder renamed into place), and older entries of the same folder
are removed. A ledger with problems is never stored: the next load validates it again and
reports the same problems.

Layout of ``<store>/<key[:24]>/`` (the store is ``$WORKBENCH_STORE``, else ``data/store``;
``WORKBENCH_STORE=off`` turns it off)::

    snapshot.json            as a pack snapshot (:mod:`workbench.io.snapshot`): the content
                             hash, tables present with each file's SHA-256, bytes and rows
                             ... plus "store": the manifest below
    tables/<table>.arrow     the validated frames (amounts in integer minor units), as
                             uncompressed Arrow IPC: memory-mapped and used in place
    positions/*.npy          the id -> row lookups validation made (application -> invoice)

The manifest (``snapshot.json["store"]``) records: the ledger folder; every source file
with its size and SHA-256; the column map's path and SHA-256; the reporting currency; the
schema version (the SHA-256 of the code that reads and validates a ledger, so a workbench
whose rules changed validates again); rows per table; and the validation result (passed,
when, how long, by which workbench version).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from dataclasses import asdict
from pathlib import Path

from .snapshot import (FORMAT, SNAPSHOT_FILE, SnapshotError, stat_record, file_sha256, read_meta,
                       read_snapshot, write_tables)
from .writer import atomic_write_text, make_temp_dir, replace_dir

__all__ = ["store_root", "sources_of", "store_key", "load", "entries", "StoreWarning",
           "SCHEMA_MODULES", "schema_version"]

#: the modules whose code decides what a valid ledger is and how it is typed
SCHEMA_MODULES = ("schema/", "money.py", "ledger/", "io/loader.py", "io/column_maps.py", "io/snapshot.py",
                  "io/store.py")          # a name ending in / : every module of that package
_SOURCE_SUFFIXES = {".csv", ".parquet", ".xlsx"}
#: entries kept per ledger folder (the newest first); a changed folder replaces its entry
KEEP_PER_FOLDER = 2


class StoreWarning(UserWarning):
    """The store could not be read or written; the ledger was validated instead."""


def store_root() -> Path | None:
    """The store folder (``WORKBENCH_STORE``, else ``<data>/store``), or None when off."""
    value = os.environ.get("WORKBENCH_STORE")
    if value is not None and value.strip().lower() in {"", "0", "off", "no", "false"}:
        return None
    if value:
        return Path(value)
    from ..config import DATA_DIR
    return DATA_DIR / "store"


_SCHEMA_VERSION: str | None = None
#: file hashes to remember once the folder has loaded (nothing is written for a ledger
#: that is refused)
_PENDING_INDEX: dict[str, tuple[Path, dict]] = {}


def schema_version() -> str:
    """SHA-256 of the code that reads, types and validates a ledger (with the workbench
    version): a store entry written under other rules is not trusted."""
    global _SCHEMA_VERSION
    if _SCHEMA_VERSION is None:
        from .. import __version__
        base = Path(__file__).resolve().parent.parent
        h = hashlib.sha256(f"{__version__}:{FORMAT}".encode())
        for entry in SCHEMA_MODULES:
            names = ([f"{entry}{p.name}" for p in sorted((base / entry).glob("*.py"))]
                     if entry.endswith("/") else [entry])
            for name in names:
                h.update(name.encode())
                h.update((base / name).read_bytes())
        _SCHEMA_VERSION = h.hexdigest()
    return _SCHEMA_VERSION


def sources_of(folder: str | Path, column_map=None, report_currency: str = "USD",
               root: Path | None = None) -> dict:
    """What the validated ledger depends on: every CSV, Parquet and Excel file directly in
    ``folder`` (size and SHA-256), the column map's file, the reporting currency and the
    schema version. A file added, removed or changed gives another fingerprint.

    With a store ``root``, a file whose size, modification time, change time and inode are
    those recorded when it was last hashed keeps that SHA-256 without being read again
    (as ``git status`` does; the change time cannot be set back by ``touch``, so a file
    rewritten in place is hashed again); ``WORKBENCH_STORE_REHASH=1`` hashes every file.
    """
    folder = Path(folder).resolve()
    index_path = None if root is None else root / ".index" / (
        hashlib.sha256(str(folder).encode()).hexdigest()[:24] + ".json")
    known = {}
    if index_path is not None and os.environ.get("WORKBENCH_STORE_REHASH") != "1":
        try:
            known = json.loads(index_path.read_text())
        except (OSError, ValueError):
            known = {}
    files, stats, fresh = [], {}, False
    for p in sorted(folder.iterdir()):
        if (p.suffix.lower() in _SOURCE_SUFFIXES and p.is_file()
                and not p.name.startswith((".", "~$"))):
            st = p.stat()
            stat = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
            seen = known.get(p.name)
            if seen and seen["stat"] == stat:
                digest = seen["sha256"]
            else:
                digest, fresh = file_sha256(p), True
            stats[p.name] = {"stat": stat, "sha256": digest}
            files.append({"file": p.name, "bytes": st.st_size, "sha256": digest})
    if index_path is not None and (fresh or set(known) != set(stats)):
        _PENDING_INDEX[str(folder)] = (index_path, stats)
    cmap = None
    if column_map is not None:
        path = getattr(column_map, "path", None) or column_map
        path = Path(path)
        cmap = {"path": str(path), "sha256": file_sha256(path) if path.is_file() else
                hashlib.sha256(repr(column_map).encode()).hexdigest()}
    return {"folder": str(folder), "files": files, "column_map": cmap,
            "report_currency": report_currency, "schema_version": schema_version()}


def store_key(sources: dict) -> str:
    # the folder's path is part of the key: two copies of a ledger are two entries (each
    # ledger's ``source`` names its own folder)
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()


def entries(root: Path | None = None) -> list[dict]:
    """The store's entries (their manifests), newest first."""
    root = store_root() if root is None else root
    out = []
    if root is None or not root.is_dir():
        return out
    for d in root.iterdir():
        if d.name.startswith(".") or not (d / SNAPSHOT_FILE).is_file():
            continue
        try:
            meta = json.loads((d / SNAPSHOT_FILE).read_text())
        except (OSError, ValueError):
            continue
        out.append({"path": str(d), **(meta.get("store") or {})})
    return sorted(out, key=lambda e: e.get("validation", {}).get("at", ""), reverse=True)


def load(folder: str | Path, column_map=None, report_currency: str = "USD",
         progress: bool = False):
    """The validated Ledger of ``folder``: from the store when its files are unchanged,
    else validated (a :class:`~workbench.schema.LedgerError` lists every problem) and
    stored."""
    from ..ledger import LedgerError, validate_folder
    from .loader import load_column_map

    if column_map is not None and not hasattr(column_map, "tables"):
        column_map = load_column_map(column_map)
    root = store_root()
    if root is None or not Path(folder).is_dir():
        ledger, problems = validate_folder(folder, column_map, report_currency, progress)
        if problems:
            raise LedgerError(problems, str(folder))
        return ledger
    sources = sources_of(folder, column_map, report_currency, root)
    key = store_key(sources)
    entry = root / key[:24]
    stale = False
    if (entry / SNAPSHOT_FILE).is_file():
        stale = True
        try:
            meta = read_meta(entry)
            if (meta.get("store") or {}).get("key") == key:
                ledger = read_snapshot(entry, verify=True, meta=meta,
                                       on_changed=lambda: _drop(entry, folder))
                ledger.source = str(folder)
                ledger.snapshot["dates"] = meta["store"].get("dates", {})
                _seed_positions(ledger, entry, meta.get("positions", []))
                _remember_hashes(sources["folder"])
                return ledger
        except SnapshotError as e:
            warnings.warn(f"ledger store entry {entry} is not usable ({e}); validating "
                          f"{folder} again", StoreWarning, stacklevel=3)
    t0 = time.perf_counter()
    ledger, problems = validate_folder(folder, column_map, report_currency, progress)
    if problems:
        _PENDING_INDEX.pop(sources["folder"], None)
        raise LedgerError(problems, str(folder))
    seconds = time.perf_counter() - t0
    try:
        _write_entry(ledger, entry, key, sources, seconds, replace=stale)
        _prune(root, sources["folder"], keep_path=entry)
        _remember_hashes(sources["folder"])
    except OSError as e:
        warnings.warn(f"could not write the ledger store entry {entry} ({e}); the ledger is "
                      f"validated again next time", StoreWarning, stacklevel=3)
    return ledger


def _write_entry(ledger, entry: Path, key: str, sources: dict, seconds: float,
                 replace: bool = False) -> None:
    """Write the entry in a temporary folder and rename it into place. An entry another
    process wrote meanwhile is kept (others may be reading it); an unusable one found
    before validating (``replace``) is replaced."""
    import datetime as dt

    from .. import __version__

    tmp = make_temp_dir(entry)
    try:
        described = write_tables(ledger, tmp, fmt="arrow")
        described["positions"] = _write_positions(ledger, tmp)
        dates = {k: None if d is None else str(d.date())
                 for k, d in (("first_date", ledger.first_date), ("last_date", ledger.last_date))}
        store = {**sources, "key": key, "dates": dates,
                 "rows": {name: d["rows"] for name, d in described["tables"].items()},
                 "validation": {"result": "passed", "problems": 0,
                                "at": dt.datetime.now(dt.timezone.utc).isoformat(
                                    timespec="microseconds"),
                                "seconds": round(seconds, 3), "workbench": __version__}}
        # the content hash of the frames (2 s for 1M invoices) is left to the pack's own
        # snapshot: here each table file's SHA-256 identifies it
        meta = {"format": FORMAT, "content_hash": None,
                "source": ledger.source, "present": sorted(ledger.present),
                "report_currency": ledger.report_currency,
                "load_report": asdict(ledger.load_report), "files": {}, **described,
                "store": store}
        atomic_write_text(tmp / SNAPSHOT_FILE, json.dumps(meta, indent=2, sort_keys=True) + "\n")
        if replace:
            replace_dir(tmp, entry)
        else:
            try:
                os.rename(tmp, entry)       # fails when the entry exists: keep that one
            except OSError:
                if not (entry / SNAPSHOT_FILE).is_file():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_positions(ledger, folder: Path) -> list[dict]:
    """Keep the id -> row lookups validation made (e.g. each application's invoice row):
    read back in milliseconds, they spare a one-shot question the hash joins."""
    import numpy as np

    out = []
    (folder / "positions").mkdir()
    for key, pos in sorted(_position_cache(ledger).items()):
        name = ".".join(key) + ".npy"
        np.save(folder / "positions" / name, np.ascontiguousarray(pos, dtype=np.int64))
        path = folder / "positions" / name
        out.append({"key": list(key), "file": name, "sha256": file_sha256(path),
                    "stat": stat_record(path.stat())})
    return out


def _seed_positions(ledger, entry: Path, recorded: list[dict]) -> None:
    import io

    import numpy as np

    cache = _position_cache(ledger)
    for r in recorded:
        path = entry / "positions" / r["file"]
        with open(path, "rb") as f:
            stat = stat_record(os.fstat(f.fileno()))
            data = f.read()
        if r.get("stat") != stat and hashlib.sha256(data).hexdigest() != r["sha256"]:
            raise SnapshotError(f"{entry}: positions file {r['file']} was changed after it "
                                f"was written")
        cache[tuple(r["key"])] = np.load(io.BytesIO(data), allow_pickle=False)


def _position_cache(ledger) -> dict:
    return ledger.cache.namespace("positions")


def _remember_hashes(folder: str) -> None:
    pending = _PENDING_INDEX.pop(folder, None)
    if pending is not None:
        atomic_write_text(pending[0], json.dumps(pending[1], sort_keys=True))


def _drop(entry: Path, folder) -> str:
    """A store entry found changed is removed; the next load validates the folder again."""
    shutil.rmtree(entry, ignore_errors=True)
    return (f"the ledger store entry was removed: run again and {folder} is validated "
            f"again")


def _prune(root: Path, folder: str, keep_path: Path) -> None:
    """Keep the newest :data:`KEEP_PER_FOLDER` entries of ``folder``; remove the entries
    of ledger folders that no longer exist."""
    everything = entries(root)
    mine = [e for e in everything if e.get("folder") == folder]
    gone = [e for e in everything if e.get("folder") and not Path(e["folder"]).is_dir()]
    for e in mine[KEEP_PER_FOLDER:] + gone:
        if Path(e["path"]) != keep_path:
            shutil.rmtree(e["path"], ignore_errors=True)
