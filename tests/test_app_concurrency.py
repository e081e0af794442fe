"""Eight pages at once through the apps' own code: each process is one signed-in user's
kernel holding the credit review, the collections dashboard and the cash review on one
ledger and one cash-application run, and every page submits at the same moment (a barrier),
each form clicked twice:

- a credit decision for its own customer (8 decisions expected, a double-click once);
- a call on its own account (8 activities expected);
- approving *every* pending line of the same run (the lines are contended: each is posted
  once in all, whoever wins; no receipt or invoice is over-applied).

Run against SQLite and against a real PostgreSQL server (tests/pgcluster.py). The figures
(pages, rows submitted, rows found) are printed and kept in .pytest_cache."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time

import pytest

from .conftest import ROOT

PAGES = 8


def _page(k: int, ledger: str, runs: str, url: str, barrier, out) -> None:
    os.environ.update(WORKBENCH_USER=f"mgr{k}", WORKBENCH_ROLE="manager",
                      WORKBENCH_AUTHORITY="manager", OMP_NUM_THREADS="1")
    from workbench.apps import CashReviewApp, CollectionsDashboardApp, CreditReviewApp

    credit = CreditReviewApp(ledger, db_url=url)
    dash = CollectionsDashboardApp(ledger, db_url=url)
    cash = CashReviewApp(ledger, runs, db_url=url)
    errors = [w.value for w in (credit.status, cash.status) if "wb-error" in w.value]
    assert not errors, errors
    credit.table.selected_rows = [k]
    credit.decision.value = "decline"          # no limit: within every authority
    credit.reason.value = f"page {k}"
    dash.worklist_table.selected_rows = [k]
    dash.kind.value = "call"
    dash.note.value = f"called from page {k}"
    pending = [i for i, s in enumerate(cash.view["Status"]) if str(s).startswith("pending")]
    cash.table.selected_rows = pending
    barrier.wait(timeout=300)
    clicks = 0
    for _ in range(2):                          # every button clicked twice
        credit.submit.click()
        dash.submit.click()
        cash.approve_btn.click()
        clicks += 3
    messages = [credit.form_status.value, dash.form_status.value, cash.form_status.value]
    out.put((k, clicks, credit.customer_id, len(pending), messages))


def run_app_concurrency(ledger, runs, url: str, backend: str) -> dict:
    from workbench.state import StateDB

    StateDB(url).close()                        # created before the race, as a shared one is
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(PAGES), ctx.Queue()
    ps = [ctx.Process(target=_page, args=(k, str(ledger), str(runs), url, barrier, out))
          for k in range(PAGES)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    results = [out.get(timeout=900) for _ in range(PAGES)]
    for p in ps:
        p.join(timeout=120)
    elapsed = time.perf_counter() - t0
    assert [p.exitcode for p in ps] == [0] * PAGES
    db = StateDB(url)
    decisions, acts = db.rows("credit_decisions"), db.rows("activities")
    posted = [r for r in db.rows("cash_matches") if r["status"] == "posted"]
    pending = {n for _, _, _, n, _ in results}
    figures = {"backend": backend, "pages (processes)": PAGES,
               "submissions (clicks)": sum(c for _, c, _, _, _ in results),
               "rows found": {"credit_decisions": len(decisions), "activities": len(acts),
                              "cash_matches posted": len(posted)},
               "cash lines each page approved": sorted(pending),
               "seconds": round(elapsed, 1)}
    print(f"\napp concurrency figures: {json.dumps(figures)}")
    cache = ROOT / ".pytest_cache"
    cache.mkdir(exist_ok=True)
    (cache / f"app-concurrency-{backend}.json").write_text(json.dumps(figures, indent=1))
    # one decision and one call per page, recorded by that page's user
    assert sorted((r["approver"], r["recorded_by"]) for r in decisions) == \
        sorted((f"mgr{k}", f"mgr{k}") for k in range(PAGES))
    assert len({r["customer_id"] for r in decisions}) == PAGES
    assert sorted((r["collector"], r["recorded_by"]) for r in acts) == \
        sorted((f"mgr{k}", f"mgr{k}") for k in range(PAGES))
    # every pending line posted exactly once, whoever won
    assert len(pending) == 1 and len(posted) == pending.pop() > 0
    assert len({(r["receipt_id"], r["invoice_id"]) for r in posted}) == len(posted)
    assert db.verify_audit_chain().ok
    return figures


@pytest.fixture(scope="module")
def app_setup(demo_dir, tmp_path_factory):
    from workbench.cli import main

    runs = tmp_path_factory.mktemp("runs")
    bank = sorted(str(p) for p in (demo_dir / "bank").iterdir())
    assert main(["cashapp", "--ledger", str(demo_dir), "--bank", *bank, "--out",
                 str(runs / "r1"), "--quiet"]) in (0, 1)
    return demo_dir, runs


def test_eight_pages_at_once_sqlite(app_setup, tmp_path):
    ledger, runs = app_setup
    run_app_concurrency(ledger, runs, f"sqlite:///{tmp_path / 'state.db'}", "sqlite")


def test_eight_pages_at_once_postgresql(app_setup, tmp_path, monkeypatch):
    from .pgcluster import PgCluster

    ledger, runs = app_setup
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    try:
        cluster = PgCluster().start()
    except (FileNotFoundError, RuntimeError) as e:
        pytest.fail(str(e), pytrace=False)
    try:
        run_app_concurrency(ledger, runs, cluster.create_database(), "postgresql")
    finally:
        cluster.stop()
