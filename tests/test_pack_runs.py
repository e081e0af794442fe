"""The pack runner's guarantees: notebooks read the snapshot, a failing notebook leaves no
pack and its partial output under _failed/, a minimal ledger gives a pack that says what it
could not compute, month-end and weekly packs show the prior period beside."""

import json
import shutil

import nbformat
import pandas as pd
import pytest

from workbench.reports import PackError, run_pack

from .conftest import FIXTURES, ROOT, run_cli, write_ledger


def _csvs(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.csv"))}


def test_notebooks_read_the_snapshot_not_the_ledger_folder(tmp_path, monkeypatch):
    """The ledger folder is replaced by a different ledger as soon as the snapshot is
    written: the pack must still be the first ledger's, byte for byte the same as a run
    where nothing changed (so also deterministic)."""
    from workbench.demo import DemoConfig, write_demo

    monkeypatch.setenv("WORKBENCH_DB_URL", f"sqlite:///{tmp_path / 'none.db'}")
    ledger = tmp_path / "ledger"
    write_demo(ledger, DemoConfig(invoices=1500, seed=5), fmt="parquet")
    other = tmp_path / "other"
    write_demo(other, DemoConfig(invoices=900, seed=6), fmt="parquet")
    first = run_pack("month-end", ledger, "2026-09", tmp_path / "a",
                     snapshots_root=tmp_path / "snaps")

    def swap(_snapshot):
        shutil.rmtree(ledger)
        shutil.copytree(other, ledger)

    second = run_pack("month-end", ledger, "2026-09", tmp_path / "b",
                      snapshots_root=tmp_path / "snaps", after_snapshot=swap)
    assert _csvs(first) == _csvs(second)
    rows = json.loads((second / "ledger_summary.json").read_text())["tables"]["invoices"]["rows"]
    assert rows == 1500
    kept = pd.read_csv(second / "tables" / "aging_by_currency.csv", dtype=str)
    assert kept.equals(pd.read_csv(first / "tables" / "aging_by_currency.csv", dtype=str))
    m1 = json.loads((first / "manifest.json").read_text())
    m2 = json.loads((second / "manifest.json").read_text())
    assert m1["ledger_hash"] == m2["ledger_hash"] and m1["snapshot"] == m2["snapshot"]


def test_a_failing_notebook_leaves_no_pack_and_its_partial_output(tmp_path, demo_dir):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks, ignore=shutil.ignore_patterns("apps"))
    nb = nbformat.read(notebooks / "collections_overview.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.source.startswith("## Worklist"))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(
        'raise RuntimeError("the worklist cannot be built today")'))
    nbformat.write(nb, notebooks / "collections_overview.ipynb")
    out = tmp_path / "reports"
    env = {"WORKBENCH_NOTEBOOKS_DIR": str(notebooks), "WORKBENCH_DATA_DIR": str(tmp_path / "data")}
    r = run_cli("report", "month-end", "--ledger", demo_dir, "--month", "2026-09", "--out", out,
                "--quiet", env=env)
    assert r.returncode == 1, r.stderr
    assert "notebook collections_overview.ipynb failed in cell" in r.stderr
    assert "section 'Worklist: who to call first'" in r.stderr
    assert "RuntimeError: the worklist cannot be built today" in r.stderr
    assert not (out / "2026-09").exists()
    failed = list((out / "_failed").iterdir())
    assert len(failed) == 1 and failed[0].name.startswith("2026-09-")
    assert str(failed[0]) in r.stderr
    partial = nbformat.read(failed[0] / "collections_overview.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in partial.cells
               if c.cell_type == "code" for o in c.get("outputs", []))
    manifest = json.loads((failed[0] / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]        # no litter


def test_a_killed_run_leaves_litter_that_the_next_run_removes(tmp_path, demo_dir):
    out = tmp_path / "reports"
    dead = out / ".building-2026-09-999999-abc"        # pid 999999: not running
    dead.mkdir(parents=True)
    (dead / "half.csv").write_text("x\n")
    run_pack("month-end", demo_dir, "2026-09", out, run_notebooks=False,
             snapshots_root=tmp_path / "snaps")
    assert not dead.exists() and (out / "2026-09" / "manifest.json").exists()


def test_a_ledger_of_customers_and_invoices_gives_a_pack_that_says_what_it_lacks(tmp_path):
    ledger = write_ledger(
        tmp_path / "minimal",
        customers=[{"customer_id": "A", "name": "Alpha", "currency": "USD", "payment_terms_days": 30},
                   {"customer_id": "B", "name": "Beta", "currency": "USD", "payment_terms_days": 30}],
        invoices=[{"invoice_id": f"I{i}", "customer_id": "AB"[i % 2],
                   "invoice_date": str((pd.Timestamp("2026-01-05") + pd.Timedelta(days=9 * i)).date()),
                   "due_date": str((pd.Timestamp("2026-02-04") + pd.Timedelta(days=9 * i)).date()),
                   "amount": f"{100 + i}.50"} for i in range(30)])
    target = run_pack("quarter-end", ledger, "2026Q2", tmp_path / "reports",
                      snapshots_root=tmp_path / "snaps")
    manifest = json.loads((target / "manifest.json").read_text())
    gaps = manifest["not_computed"]
    assert "cash_reconciliation.ipynb" in gaps and "bank statements" in gaps["cash_reconciliation.ipynb"][0]
    assert "quarterly_reserve.ipynb" in gaps
    assert any("reserve_gl" in g for g in gaps["quarterly_reserve.ipynb"])
    html = (target / "quarterly_reserve.html").read_text()
    assert "Not computed" in html
    aging = json.loads((target / "aging.json").read_text())
    assert aging[0]["currency"] == "USD"


def test_month_end_and_weekly_packs_show_the_prior_period(tmp_path):
    ledger = FIXTURES / "kpi"
    weekly = run_pack("weekly", ledger, "2026-09-27", tmp_path / "reports",
                      snapshots_root=tmp_path / "snaps")
    assert weekly.name == "week-ending-2026-09-27"
    manifest = json.loads((weekly / "manifest.json").read_text())
    assert manifest["prior_period"] == "week-ending-2026-09-20"
    vs = pd.read_csv(weekly / "tables" / "aging_vs_prior.csv", dtype=str)
    assert {"currency", "total_now", "total_prior", "change"} <= set(vs.columns)
    kpis = pd.read_csv(weekly / "tables" / "kpis_ar.csv", dtype=str)
    assert set(kpis["period"]) == {"2026-09-21..2026-09-27", "2026-09-14..2026-09-20"}
    with pytest.raises(PackError, match="needs a month like 2026-09"):
        run_pack("month-end", ledger, "2026Q3", tmp_path / "reports")
    with pytest.raises(PackError, match="needs --week-ending"):
        run_pack("weekly", ledger, "", tmp_path / "reports")
