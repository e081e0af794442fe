"""The quarter-end pack: complete, named in its manifest, deterministic, atomic."""

import hashlib
import json

import pandas as pd
import pytest

from workbench import Ledger
from workbench.periods import last_closed_quarter, parse_period

from .conftest import run_cli


@pytest.mark.parametrize("text,start,end,days", [
    ("2026Q3", "2026-07-01", "2026-09-30", 92), ("2026-02", "2026-02-01", "2026-02-28", 28),
    ("2024-02", "2024-02-01", "2024-02-29", 29), ("2026", "2026-01-01", "2026-12-31", 365),
    ("2026-07-15..2026-08-14", "2026-07-15", "2026-08-14", 31)])
def test_periods(text, start, end, days):
    p = parse_period(text)
    assert (str(p.start.date()), str(p.end.date()), p.days) == (start, end, days)


def test_period_errors_and_last_closed_quarter():
    with pytest.raises(ValueError, match="unknown period '2026Q5'"):
        parse_period("2026Q5")
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_period("2026-09-30..2026-07-01")
    assert last_closed_quarter("2026-10-30").label == "2026Q3"
    assert last_closed_quarter("2026-09-30").label == "2026Q3"
    assert last_closed_quarter("2026-01-01").label == "2025Q4"


@pytest.fixture(scope="module")
def pack(demo_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("pack")
    env = {"WORKBENCH_DATA_DIR": str(root / "data")}
    r = run_cli("report", "--ledger", demo_dir, "--out", root / "reports", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    return root, env, root / "reports" / "2026Q3"


def test_pack_is_complete_and_manifest_names_every_file(pack, demo_dir):
    root, _, folder = pack
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["quarter"] == "2026Q3" and manifest["as_of"] == "2026-09-30"
    expected = {"aging.json", "aging_by_currency.csv", "aging_by_customer.csv",
                "aging_by_segment.csv", "ar_aging.html", "ar_aging.ipynb", "ledger_summary.json",
                "quarter_pack.xlsx", "kpis.json", "kpis_by_currency.csv", "kpis_by_segment.csv",
                "kpi_trend.csv", "worklist.csv", "suspension_proposals.csv",
                "write_off_proposals.csv", "collections_overview.ipynb",
                "collections_overview.html"}
    assert set(manifest["files"]) == expected
    for name, info in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == info["sha256"], name
    ledger = Ledger.load(demo_dir)
    assert manifest["ledger_hash"] == ledger.content_hash()
    snapshot = Ledger.load(manifest["ledger_snapshot"])
    assert snapshot.content_hash() == ledger.content_hash()
    assert manifest["policies"]["aging_policy"] == "default-aging 2026.1"
    assert "pandas" in manifest["versions"]


def test_pack_tables_equal_the_cli(pack, demo_dir):
    _, _, folder = pack
    r = run_cli("aging", "--ledger", demo_dir, "--as-of", "2026-09-30", "--format", "json")
    assert json.loads((folder / "aging.json").read_text()) == json.loads(r.stdout)
    csv = pd.read_csv(folder / "aging_by_currency.csv", dtype=str)
    assert csv["total"].tolist() == [o["total"] for o in json.loads(r.stdout)]
    r = run_cli("kpis", "--ledger", demo_dir, "--period", "2026Q3", "--format", "json")
    assert json.loads((folder / "kpis.json").read_text()) == json.loads(r.stdout)
    trend = pd.read_csv(folder / "kpi_trend.csv", dtype=str)
    assert trend["period"].nunique() == 12 and trend["period"].iloc[-1] == "2026-09"
    summary = json.loads((folder / "ledger_summary.json").read_text())
    assert summary["validation"]["status"] == "valid"
    assert summary["tables"]["invoices"]["rows"] == 3000
    # the executed notebook ends with the same aging records
    nb = json.loads((folder / "ar_aging.ipynb").read_text())
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"])
    html = (folder / "ar_aging.html").read_text()
    assert "AR aging by currency as of 2026-09-30" in html or "data:image/png" in html


def test_same_ledger_same_tables_byte_for_byte(pack, demo_dir):
    root, env, folder = pack
    before = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    before_json = (folder / "aging.json").read_bytes()
    r = run_cli("report", "--ledger", demo_dir, "--out", root / "reports", "--quiet",
                "--no-notebooks", env=env)
    assert r.returncode == 0, r.stderr
    after = {p.name: p.read_bytes() for p in folder.glob("*.csv")}
    assert before == after and before_json == (folder / "aging.json").read_bytes()
    assert not [p for p in (root / "reports").iterdir() if p.name.startswith(".")]


def test_an_invalid_ledger_leaves_the_previous_pack_untouched(pack, demo_dir, tmp_path):
    import shutil
    root, env, folder = pack
    bad = tmp_path / "bad"
    shutil.copytree(demo_dir, bad)
    (bad / "invoices.csv").write_text((bad / "invoices.csv").read_text() + "X,C99999,2026-01-01,2025-01-01,1.001,USD,PO-1\n")
    state = {p.name: p.read_bytes() for p in folder.iterdir()}
    r = run_cli("report", "--ledger", bad, "--out", root / "reports", "--quiet", env=env)
    assert r.returncode == 1 and "no pack written" in r.stderr
    assert "unknown customer 'C99999'" in r.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == state
