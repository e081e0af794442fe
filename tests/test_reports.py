"""The quarter-end pack: complete, named in its manifest, deterministic, atomic."""

import hashlib
import json
import re

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
    env = {"WORKBENCH_DATA_DIR": str(root / "data"), "WORKBENCH_COMPANY": "Test Trading Co."}
    r = run_cli("report", "--ledger", demo_dir, "--out", root / "reports", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    return root, env, root / "reports" / "2026Q3"


MACHINE = {"aging.json", "aging_by_currency.csv", "aging_by_customer.csv", "aging_by_segment.csv",
           "ledger_summary.json", "kpis.json", "kpis_by_currency.csv", "kpis_by_segment.csv",
           "kpi_trend.csv", "worklist.csv", "suspension_proposals.csv", "write_off_proposals.csv",
           "reserve.json", "kpi_targets.csv"}
NOTEBOOKS = ["quarterly_reserve", "ar_aging", "collections_overview", "cash_reconciliation",
             "credit_evaluation", "payment_risk"]


def test_pack_is_complete_and_manifest_names_every_file(pack, demo_dir):
    root, _, folder = pack
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["quarter"] == "2026Q3" and manifest["as_of"] == "2026-09-30"
    assert manifest["status"] == "complete" and manifest["pack"] == "quarter-end"
    on_disk = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == on_disk - {"manifest.json"}
    expected = MACHINE | {"quarter_pack.xlsx"} | {f"{n}.{ext}" for n in NOTEBOOKS
                                                   for ext in ("ipynb", "html")}
    assert expected <= set(manifest["files"]), expected - set(manifest["files"])
    assert {"tables/reserve_methods.csv", "tables/worklist.csv"} <= set(manifest["files"])
    for name, info in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == info["sha256"], name
    ledger = Ledger.load(demo_dir)
    assert manifest["ledger_hash"] == ledger.content_hash()
    snapshot = Ledger.load(manifest["ledger_snapshot"])        # read, hash checked
    assert snapshot.content_hash() == ledger.content_hash()
    # every input file of the ledger folder with its SHA-256, the bank statements included
    assert manifest["inputs"]["invoices.csv"] == hashlib.sha256(
        (demo_dir / "invoices.csv").read_bytes()).hexdigest()
    assert any(k.startswith("bank/") for k in manifest["inputs"])
    assert set(manifest["snapshot"]["files"]) >= {"state_rows.json"}
    assert manifest["state_rows"]["tables"] == {"activities": 0, "credit_decisions": 0}
    assert manifest["policies"]["aging_policy"] == "default-aging 2026.1"
    assert "reserve_policy" in manifest["policies"]
    assert "pandas" in manifest["versions"] and "commit" in manifest["git"]
    runs = {r["notebook"]: r for r in manifest["notebooks"]}
    assert set(runs) == {f"{n}.ipynb" for n in NOTEBOOKS}
    assert all(r["status"] == "ok" and r["seconds"] > 0 for r in runs.values())
    assert manifest["seconds"]["total"] > 0


def test_pack_html_is_for_people(pack):
    _, _, folder = pack
    for name in NOTEBOOKS:
        html = (folder / f"{name}.html").read_text()
        assert "Test Trading Co." in html and "2026Q3" in html, name
        assert not re.search(r">\s*(Out|In)(&nbsp;|\s)?\[\d*\]:", html), name   # no prompts
        assert "@page" in html and "landscape" in html, name
        assert "workbench.reports" not in html and "Traceback" not in html, name
        assert "{&#x27;" not in html and "{'" not in html, name          # no dict dumps
    html = (folder / "quarterly_reserve.html").read_text()
    assert "Journal entry" in html or "journal entry" in html


def test_pack_workbook(pack):
    from openpyxl import load_workbook
    _, _, folder = pack
    wb = load_workbook(folder / "quarter_pack.xlsx")
    assert wb.sheetnames[0] == "Summary"
    assert {"reserve_methods", "aging_by_currency", "worklist", "credit_portfolio"} <= set(wb.sheetnames)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                assert not (isinstance(v, str) and ("/tmp" in v or "/home" in v or "/work" in v)), v


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
    r = run_cli("reserve", "--ledger", demo_dir, "--quarter", "2026Q3", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads((folder / "reserve.json").read_text()) == json.loads(r.stdout)
    # the table the notebook showed is the one the CLI computes
    assert pd.read_csv(folder / "tables" / "aging_by_currency.csv", dtype=str)["total"].tolist() \
        == csv["total"].tolist()


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
    state = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    r = run_cli("report", "--ledger", bad, "--out", root / "reports", "--quiet", env=env)
    assert r.returncode == 2 and "no pack written" in r.stderr
    assert "unknown customer 'C99999'" in r.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == state


def test_an_open_quarter_is_refused_unless_allowed(pack, demo_dir):
    root, env, _ = pack
    r = run_cli("report", "--ledger", demo_dir, "--quarter", "2026Q4", "--out", root / "reports",
                "--quiet", env=env)
    assert r.returncode == 2
    assert "2026Q4 ends on 2026-12-31, after the ledger's last date 2026-10-30" in r.stderr
    assert "--allow-open-period" in r.stderr and not (root / "reports" / "2026Q4").exists()
    r = run_cli("report", "--ledger", demo_dir, "--quarter", "2026Q4", "--allow-open-period",
                "--no-notebooks", "--out", root / "reports", "--quiet", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads((root / "reports" / "2026Q4" / "manifest.json").read_text())[
        "parameters"]["allow_open_period"] is True
