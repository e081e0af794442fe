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


# --------------------------------------------------------------------------- failures
def kpi_with_history(folder):
    """The hand-computed KPI ledger (tests/fixtures/kpi) with a customer master history,
    so that segments and collectors are known on the period end: K1 (USD) Mid-Market,
    collector Avery Chen; K2 (EUR) Small Business, Bob Stone (names of the shipped goals)."""
    shutil.copytree(FIXTURES / "kpi", folder)
    (folder / "customers.csv").write_text(
        (folder / "customers.csv").read_text().replace("Mid-Market,Ann Lee", "Mid-Market,Avery Chen"))
    (folder / "customer_changes.csv").write_text(
        "customer_id,effective_date,field,value\n"
        "K1,2026-01-01,segment,Mid-Market\nK1,2026-01-01,collector,Avery Chen\n"
        "K2,2026-01-01,segment,Small Business\nK2,2026-01-01,collector,Bob Stone\n")
    return folder


def _fake_notebooks(folder, sources: dict[str, str], default: str):
    """A notebooks folder of the quarter-end pack's names, each a title, a section and one
    code cell (``sources`` by notebook; the others run ``default``)."""
    from workbench.reports import PACKS
    folder.mkdir()
    for job in PACKS["quarter-end"]:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        params = nbformat.v4.new_code_cell('ledger_dir: str = ""  # ledger\npack_dir: str = ""  # pack')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [nbformat.v4.new_markdown_cell(f"# {job.title}"), params,
                    nbformat.v4.new_markdown_cell("## Training the model"),
                    nbformat.v4.new_code_cell(sources.get(job.notebook, default))]
        nbformat.write(nb, folder / job.notebook)
    return folder


def _failed_run(tmp_path, sources, default, *options):
    import time
    ledger = kpi_with_history(tmp_path / "ledger")
    notebooks = _fake_notebooks(tmp_path / "notebooks", sources, default)
    out = tmp_path / "reports"
    env = {"WORKBENCH_NOTEBOOKS_DIR": str(notebooks), "WORKBENCH_DATA_DIR": str(tmp_path / "data"),
           "WORKBENCH_DB_URL": f"sqlite:///{tmp_path / 'none.db'}"}
    t0 = time.perf_counter()
    r = run_cli("report", "quarter-end", "--ledger", ledger, "--quarter", "2026Q3", "--out", out,
                *options, env=env)
    return r, out, time.perf_counter() - t0


def test_a_notebook_failing_while_others_are_queued_ends_in_the_failure_path(tmp_path):
    """--jobs 2: payment_risk (run first, the longest) fails at once while credit_evaluation
    runs and four notebooks wait: the runner stops the running one, starts no other, and
    ends in the documented failure path (exit 1, the notebook, cell and error named,
    _failed/ written, no pack) - not in a CancelledError traceback."""
    r, out, seconds = _failed_run(
        tmp_path, {"payment_risk.ipynb": 'raise RuntimeError("the model cannot be trained today")'},
        "import time\ntime.sleep(300)", "--jobs", "2")
    assert r.returncode == 1, r.stderr
    assert seconds < 150                     # the sleeping notebook was stopped, not awaited
    # (a kernel stopped may log its own traceback; the runner's never shows)
    assert "workbench/reports/" not in r.stderr and "CancelledError" not in r.stderr
    assert "notebook payment_risk.ipynb failed in cell 3 (section 'Training the model'): " \
           "RuntimeError: the model cannot be trained today" in r.stderr
    assert "stopped unfinished: credit_evaluation.ipynb" in r.stderr
    assert "not run: quarterly_reserve.ipynb, ar_aging.ipynb, collections_overview.ipynb, " \
           "cash_reconciliation.ipynb" in r.stderr
    assert not (out / "2026Q3").exists()
    failed = list((out / "_failed").iterdir())
    assert len(failed) == 1 and failed[0].name.startswith("2026Q3-")
    assert f"no pack written, the partial output is in {failed[0]}" in r.stderr
    manifest = json.loads((failed[0] / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert {n["notebook"]: n["status"] for n in manifest["notebooks"]} == {
        "payment_risk.ipynb": "failed", "credit_evaluation.ipynb": "stopped",
        "quarterly_reserve.ipynb": "not run", "ar_aging.ipynb": "not run",
        "collections_overview.ipynb": "not run", "cash_reconciliation.ipynb": "not run"}
    partial = nbformat.read(failed[0] / "payment_risk.ipynb", as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in partial.cells
               if c.cell_type == "code" for o in c.get("outputs", []))
    assert (failed[0] / "kpi_targets.csv").exists()            # the tables written meanwhile
    assert not [p for p in out.iterdir() if p.name.startswith(".")]        # no litter


def test_a_cell_timeout_names_the_limit_and_where_it_comes_from(tmp_path):
    r, out, seconds = _failed_run(
        tmp_path, {"payment_risk.ipynb": "import time\ntime.sleep(120)"}, "x = 1",
        "--jobs", "1", "--time-budget", "1", "--quiet")
    assert r.returncode == 1, r.stderr
    assert seconds < 100 and "workbench/reports/" not in r.stderr
    assert "notebook payment_risk.ipynb failed in cell 3 (section 'Training the model'): " \
           "CellTimeoutError: the cell ran longer than the per-cell time limit of 2 s (twice " \
           "the --time-budget of 1 s; give a larger --time-budget to allow more)" in r.stderr
    assert "not run: quarterly_reserve.ipynb, ar_aging.ipynb, collections_overview.ipynb, " \
           "cash_reconciliation.ipynb, credit_evaluation.ipynb" in r.stderr
    assert not (out / "2026Q3").exists() and len(list((out / "_failed").iterdir())) == 1


def test_the_completion_line_is_printed_once(tmp_path):
    ledger = kpi_with_history(tmp_path / "ledger")
    r = run_cli("report", "month-end", "--ledger", ledger, "--month", "2026-09", "--no-notebooks",
                "--out", tmp_path / "reports",
                env={"WORKBENCH_DATA_DIR": str(tmp_path / "data"),
                     "WORKBENCH_DB_URL": f"sqlite:///{tmp_path / 'none.db'}"})
    assert r.returncode == 0, r.stderr
    lines = [line for line in (r.stdout + r.stderr).splitlines() if "written to" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("month-end pack 2026-09 (as of 2026-09-30) written to ")


# --------------------------------------------------------------------------- goals and money
@pytest.fixture(scope="module")
def month_pack(tmp_path_factory):
    """A month-end pack (aging and collections notebooks) of the KPI ledger with history."""
    root = tmp_path_factory.mktemp("month")
    ledger = kpi_with_history(root / "ledger")
    import os
    old = os.environ.get("WORKBENCH_DB_URL")
    os.environ["WORKBENCH_DB_URL"] = f"sqlite:///{root / 'none.db'}"
    try:
        return run_pack("month-end", ledger, "2026-09", root / "reports",
                        snapshots_root=root / "snaps")
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_DB_URL", None)
        else:
            os.environ["WORKBENCH_DB_URL"] = old


def test_worklist_csv_amounts_are_currency_amounts(month_pack):
    """K1 (USD) on 2026-09-30: open A 400.00 (1000.00 - 600.00), C 2000.00 (3000.00 -
    1000.00), D 1500.00, E 2500.00 (not due), F 500.00 (not due; paid 10-05), G 0 (800.00 -
    300.00 credit - 500.00 written off): open AR 6900.00, past due 400 + 2000 + 1500 =
    3900.00; no promise due that day. K2 (EUR): H 100.00, past due."""
    for path in (month_pack / "tables" / "worklist.csv", month_pack / "worklist.csv"):
        wl = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("customer_id")
        assert (wl.loc["K1", "open_ar"], wl.loc["K1", "past_due_ar"],
                wl.loc["K1", "promise_due_today"]) == ("6900.00", "3900.00", "0.00"), path
        assert (wl.loc["K2", "open_ar"], wl.loc["K2", "past_due_ar"]) == ("100.00", "100.00"), path
        assert "e+" not in path.read_text()                     # no float exponents


def test_kpi_and_activity_targets_for_machines_in_the_pack(month_pack):
    """Monthly targets of the shipped goals (company DSO 60, CEI 70, cash collected USD
    1850000.00; segment Mid-Market DSO 60, CEI 70), September, USD: DSO 69 (+9.0 days,
    +15 %, missed: the DSO band is 5 % of 60 = 3); cash collected 700.00 (R4) against
    1850000.00: -1849300.00, -99.9622 %; CEI 11.3636 against 70: -58.6364 pp, no
    variance % (a percentage). Activity (monthly default): Ann Lee made 1 call in
    September against 50 (-49, -98 %) and obtained 2 promises (P3, P4) against 13."""
    manifest = json.loads((month_pack / "manifest.json").read_text())
    for name in ("kpi_targets.csv", "activity_targets.csv", "tables/kpi_targets.csv",
                 "tables/activity_targets.csv"):
        assert name in manifest["files"], name
    # one content, two places: the parent's tables and the notebook's kept table
    assert (month_pack / "kpi_targets.csv").read_bytes() == \
        (month_pack / "tables" / "kpi_targets.csv").read_bytes()
    assert (month_pack / "activity_targets.csv").read_bytes() == \
        (month_pack / "tables" / "activity_targets.csv").read_bytes()
    kt = pd.read_csv(month_pack / "tables" / "kpi_targets.csv", dtype=str, keep_default_na=False)
    row = {(r["scope"], r["name"], r["currency"], r["goal"]): r for r in kt.to_dict("records")}
    cols = ["unit", "actual", "target", "variance", "variance_unit", "variance_pct", "status",
            "status_code"]
    assert [row[("company", "company", "USD", "dso")][c] for c in cols] == \
        ["days", "69.0", "60.0", "9.0", "days", "15.0", "missed", "missed"]
    assert [row[("company", "company", "USD", "cash_collected")][c] for c in cols] == \
        ["money", "700.00", "1850000.00", "-1849300.00", "money", "-99.9622", "missed", "missed"]
    assert [row[("company", "company", "USD", "cei")][c] for c in cols] == \
        ["percent", "11.3636", "70.0", "-58.6364", "pp", "", "missed", "missed"]
    assert [row[("segment", "Mid-Market", "USD", "dso")][c] for c in cols] == \
        ["days", "69.0", "60.0", "9.0", "days", "15.0", "missed", "missed"]
    assert set(kt["scope"]) == {"company", "segment"}      # the shipped collectors: quarterly only
    at = pd.read_csv(month_pack / "tables" / "activity_targets.csv", dtype=str,
                     keep_default_na=False)
    act = {(r["collector"], r["currency"], r["goal"]): r for r in at.to_dict("records")}
    assert [act[("Ann Lee", "", "calls")][c] for c in cols] == \
        ["count", "1", "50", "-49", "count", "-98.0", "missed", "missed"]
    assert [act[("Ann Lee", "", "promises")][c] for c in ("actual", "target", "variance")] == \
        ["2", "13", "-11"]
    # the workbook: numbers with their unit, not text
    from openpyxl import load_workbook
    ws = load_workbook(month_pack / "month_pack.xlsx")["kpi_targets"]
    header = [c.value for c in ws[3]]
    rows = [dict(zip(header, (c.value for c in r))) for r in ws.iter_rows(min_row=4)]
    cash = next(r for r in rows if r["Goal"] == "cash_collected" and r["Currency"] == "USD"
                and r["Scope"] == "company")
    assert (cash["Actual"], cash["Target"], cash["Variance"], cash["Unit"], cash["Status"]) == \
        (700.0, 1850000.0, -1849300.0, "money", "missed")
    cei = next(r for r in rows if r["Goal"] == "cei" and r["Currency"] == "USD"
               and r["Scope"] == "company")
    assert (cei["Actual"], cei["Variance"], cei["Variance %"]) == (11.3636, -58.6364, None)
    # for people: the formatted tables of each scope and the activity, no index
    html = (month_pack / "collections_overview.html").read_text()
    for title in ("Goals against actuals, the company, 2026-09",
                  "Goals against actuals, each segment, 2026-09",
                  "Activity against targets, each collector, 2026-09"):
        assert title in html, title
    assert "Segment: Mid-Market" in html and "Collector: Ann Lee" in html
    assert "-58.6 pp" in html and "1,850,000.00" in html
