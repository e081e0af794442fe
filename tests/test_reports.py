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
           "reserve.json", "kpi_targets.csv", "activity_targets.csv"}
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
    assert {"tables/reserve_methods.csv", "tables/worklist.csv", "tables/kpi_targets.csv",
            "tables/activity_targets.csv"} <= set(manifest["files"])
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
    assert manifest["state_rows"]["tables"] == {"activities": 0, "credit_decisions": 0,
                                                "dispute_events": 0}
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


def test_quarter_goals_of_every_scope_as_machine_values(tmp_path, monkeypatch):
    """The quarter-end tables (no notebooks) of the KPI ledger with a master history (K1 USD
    Mid-Market, Avery Chen; K2 EUR Small Business, Bob Stone) against the shipped goals.

    Hand-computed (USD, 2026Q3; actuals of tests/test_goals.py): company DSO 84.64 against
    60: +24.64 days, +41.0667 %, missed; cash collected 3900.00 against 5500000.00:
    -5496100.00, -99.9291 %; aging over 60 5.7971 % against 5: +0.7971 pp, no variance %.
    Segment Mid-Market and collector Avery Chen hold only K1: the same DSO; Avery Chen's
    open dispute age 10 days against 20: -10.0, -50 %, on track. Activity: Avery Chen's
    past-due reduction: 400.00 past due at the start (A), 3900.00 at the end: -875 %
    against 5 %: -880 pp, no variance % (it would say -17,600 %); Ann Lee made 1 call
    against 150: -149, -99.3333 %."""
    from .test_pack_runs import kpi_with_history
    from workbench.reports import write_tables

    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'none.db'}")
    ledger = Ledger.load(kpi_with_history(tmp_path / "ledger"))
    pack = tmp_path / "tables"
    pack.mkdir()
    # the parent's machine tables of a quarter-end pack (the month pack of
    # tests/test_pack_runs.py checks the notebook's copies, the workbook and the manifest)
    assert write_tables(ledger, parse_period("2026Q3"), pack)["goals"] == "default-goals 2026.1"
    kt = pd.read_csv(pack / "kpi_targets.csv", dtype=str, keep_default_na=False)
    assert list(kt.columns) == ["scope", "name", "currency", "period", "goal", "goal_name",
                                "unit", "direction", "actual", "target", "variance",
                                "variance_unit", "variance_pct", "status", "status_code"]
    row = {(r["scope"], r["name"], r["currency"], r["goal"]): r for r in kt.to_dict("records")}
    cols = ["unit", "actual", "target", "variance", "variance_unit", "variance_pct", "status_code"]
    assert [row[("company", "company", "USD", "dso")][c] for c in cols] == \
        ["days", "84.64", "60.0", "24.64", "days", "41.0667", "missed"]
    assert [row[("company", "company", "USD", "cash_collected")][c] for c in cols] == \
        ["money", "3900.00", "5500000.00", "-5496100.00", "money", "-99.9291", "missed"]
    assert [row[("company", "company", "USD", "aging_over_60_pct")][c] for c in cols] == \
        ["percent", "5.7971", "5.0", "0.7971", "pp", "", "missed"]
    assert [row[("segment", "Mid-Market", "USD", "dso")][c] for c in cols] == \
        ["days", "84.64", "60.0", "24.64", "days", "41.0667", "missed"]
    assert [row[("collector", "Avery Chen", "USD", "dso")][c] for c in cols] == \
        ["days", "84.64", "60.0", "24.64", "days", "41.0667", "missed"]
    assert [row[("collector", "Avery Chen", "USD", "dispute_age_days")][c] for c in cols] == \
        ["days", "10.0", "20.0", "-10.0", "days", "-50.0", "on_track"]
    assert set(kt["scope"]) == {"company", "segment", "collector"}
    assert set(kt["status_code"]) <= {"on_track", "at_risk", "missed", "no_data"}
    assert set(kt["status"]) <= {"on track", "at risk", "missed", "no data"}
    assert not any("," in v or " " in v for c in ("actual", "target", "variance")
                   for v in kt[c])                      # no separators, no units in the value
    at = pd.read_csv(pack / "activity_targets.csv", dtype=str, keep_default_na=False)
    act = {(r["collector"], r["currency"], r["goal"]): r for r in at.to_dict("records")}
    assert [act[("Avery Chen", "USD", "past_due_reduction_pct")][c] for c in cols] == \
        ["percent", "-875.0", "5.0", "-880.0", "pp", "", "missed"]
    assert [act[("Ann Lee", "", "calls")][c] for c in cols] == \
        ["count", "1", "150", "-149", "count", "-99.3333", "missed"]
