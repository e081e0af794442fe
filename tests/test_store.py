"""The ledger store: a folder is validated once per version of its files (workbench.io.store)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench import Ledger, LedgerError
from workbench.io import store as store_mod
from workbench.io.snapshot import SnapshotError, read_snapshot, write_snapshot

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "store"
    monkeypatch.setenv("WORKBENCH_STORE", str(root))
    monkeypatch.delenv("WORKBENCH_STORE_REHASH", raising=False)
    return root


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if not p.name.startswith(".")) if root.is_dir() else []


def _no_validation(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("validated again although the files are unchanged")
    monkeypatch.setattr("workbench.ledger.validate_folder", refuse)


def test_first_load_validates_and_stores_then_reads_without_validating(hand_dir, store,
                                                                     monkeypatch):
    first = Ledger.load(hand_dir)
    (entry,) = _entries(store)
    meta = json.loads((entry / "snapshot.json").read_text())
    m = meta["store"]
    # the manifest: every source file's size and SHA-256, rows, schema version, the result
    names = sorted(p.name for p in hand_dir.iterdir() if p.suffix == ".csv")
    assert [f["file"] for f in m["files"]] == names
    inv = next(f for f in m["files"] if f["file"] == "invoices.csv")
    assert inv["bytes"] == (hand_dir / "invoices.csv").stat().st_size
    assert inv["sha256"] == store_mod.file_sha256(hand_dir / "invoices.csv")
    assert m["rows"]["invoices"] == len(first.invoices) == 8
    assert m["schema_version"] == store_mod.schema_version()
    assert m["validation"]["result"] == "passed" and m["validation"]["problems"] == 0
    assert m["folder"] == str(hand_dir.resolve())

    _no_validation(monkeypatch)
    again = Ledger.load(hand_dir)
    assert again.snapshot["path"] == str(entry) and again.source == str(hand_dir)
    assert again.present == first.present
    assert again.content_hash() == first.content_hash()
    for name in first.tables:
        pd.testing.assert_frame_equal(again.tables[name], first.tables[name])
    assert again.ar_balance("2026-03-31") == first.ar_balance("2026-03-31")
    assert again.last_date == first.last_date


def test_a_changed_file_is_validated_again_and_replaces_the_old_entry(hand_dir, store):
    Ledger.load(hand_dir)
    old = _entries(store)
    inv = hand_dir / "invoices.csv"
    text = inv.read_text()
    inv.write_text(text.replace("250.00", "251.00", 1))
    changed = Ledger.load(hand_dir)
    assert len(_entries(store)) == 2 and old[0] in _entries(store)
    assert sum(changed.ar_balance("2026-03-31").values()) != 0
    # three versions of one folder: the oldest entry goes (two are kept)
    inv.write_text(text.replace("250.00", "252.00", 1))
    Ledger.load(hand_dir)
    assert len(_entries(store)) == store_mod.KEEP_PER_FOLDER and old[0] not in _entries(store)


def test_an_added_file_changes_the_fingerprint(hand_dir, store):
    a = store_mod.sources_of(hand_dir, root=store)
    shutil.copy(hand_dir / "fx_rates.csv", hand_dir / "extra.csv")
    b = store_mod.sources_of(hand_dir, root=store)
    assert store_mod.store_key(a) != store_mod.store_key(b)


def test_touched_but_unchanged_file_is_hashed_again_and_reuses_the_entry(hand_dir, store,
                                                                         monkeypatch):
    Ledger.load(hand_dir)
    inv = hand_dir / "invoices.csv"
    inv.write_bytes(inv.read_bytes())              # same bytes, new mtime and ctime
    calls = []
    real = store_mod.file_sha256
    monkeypatch.setattr(store_mod, "file_sha256", lambda p: calls.append(Path(p).name) or real(p))
    _no_validation(monkeypatch)
    Ledger.load(hand_dir)
    assert calls == ["invoices.csv"]               # only the touched file is read again
    assert len(_entries(store)) == 1


def test_an_invalid_ledger_is_never_stored(hand_dir, store):
    inv = hand_dir / "invoices.csv"
    inv.write_text(inv.read_text().replace("2026-01-05", "2026-02-30", 1))
    for _ in range(2):                             # refused each time, with the same problem
        with pytest.raises(LedgerError, match="2026-02-30"):
            Ledger.load(hand_dir)
    assert not store.exists()                      # nothing written, not even file hashes


def test_a_store_entry_changed_after_it_was_written_is_refused_and_removed(hand_dir, store):
    Ledger.load(hand_dir)
    (entry,) = _entries(store)
    path = entry / "tables" / "invoices.arrow"
    import pyarrow as pa
    table = pa.ipc.open_file(path.read_bytes()).read_all()
    df = table.to_pandas()
    df.loc[0, "amount_minor"] += 100
    changed = pa.Table.from_pandas(df, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, changed.schema) as w:
        w.write_table(changed)                     # same size, other bytes
    ledger = Ledger.load(hand_dir)
    with pytest.raises(SnapshotError, match="changed after it was written.*validated again"):
        ledger.invoices
    assert not entry.exists()
    fresh = Ledger.load(hand_dir)                   # validated again from the folder
    assert int(fresh.invoices["amount_minor"].iloc[0]) == int(df["amount_minor"].iloc[0]) - 100


def test_a_pack_snapshot_changed_after_it_was_written_is_refused(hand_dir, tmp_path, store):
    ledger = Ledger.load(hand_dir)
    _, folder, _ = write_snapshot(ledger, tmp_path / "snaps")
    path = folder / "tables" / "write_offs.parquet"
    df = pd.read_parquet(path)
    df.to_parquet(path, index=False, compression="gzip")    # same rows, other bytes
    snap = read_snapshot(folder)
    snap.invoices                                            # untouched tables read fine
    with pytest.raises(SnapshotError, match="write_offs.parquet.*rebuild the snapshot"):
        snap.write_offs


def test_store_off_writes_nothing(hand_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_STORE", "off")
    monkeypatch.setattr("workbench.config.DATA_DIR", tmp_path / "data")
    Ledger.load(hand_dir)
    assert not (tmp_path / "data").exists()
    assert sorted(p.name for p in hand_dir.iterdir()) == sorted(
        p.name for p in (ROOT / "tests" / "fixtures" / "hand").iterdir())


def _cli(args, env):
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT)


def test_cli_answers_are_the_same_from_the_store(hand_dir, store):
    env = {**os.environ, "WORKBENCH_STORE": str(store)}
    aging = ["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--format", "json"]
    kpis = ["kpis", "--ledger", str(hand_dir), "--period", "2026Q1", "--format", "json"]
    off = {**env, "WORKBENCH_STORE": "off"}
    want = [_cli(a, off).stdout for a in (aging, kpis)]
    first = [_cli(a, env).stdout for a in (aging, kpis)]     # validates and stores
    assert len(_entries(store)) == 1
    second = [_cli(a, env).stdout for a in (aging, kpis)]    # from the store
    assert want == first == second and json.loads(want[0])[0]["total"]


def test_concurrent_first_loads_store_one_entry(hand_dir, store):
    code = ("import sys; from workbench import Ledger; "
            "print(Ledger.load(sys.argv[1]).ar_balance('2026-03-31'))")
    env = {**os.environ, "WORKBENCH_STORE": str(store)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(hand_dir)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outs)) == 1 and outs[0].startswith("{")
    assert len(_entries(store)) == 1


def test_entries_of_removed_folders_are_removed_at_the_next_write(hand_dir, tmp_path, store):
    other = tmp_path / "other"
    shutil.copytree(hand_dir, other)
    Ledger.load(other)
    shutil.rmtree(other)
    Ledger.load(hand_dir)
    assert [json.loads((e / "snapshot.json").read_text())["store"]["folder"]
            for e in _entries(store)] == [str(hand_dir.resolve())]
