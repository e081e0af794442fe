"""The cash-application review page in a real browser, behind sign-in: an analyst approves a
suggested line (posted with the signed-in user as approver), a re-point above what is left
of the receipt is refused under the buttons, and the unapplied list is shown. No request
leaves the machine."""

import pytest

from . import require_chromium
from .serving import chromium_page, login, serve_apps, shot

require_chromium()

APP = "cash_review.ipynb"
READY = ".wb-matches table.dataTable tbody tr"


@pytest.fixture
def served(demo_dir, tmp_path):
    from workbench.cli import main

    runs = tmp_path / "runs"
    bank = sorted(str(p) for p in (demo_dir / "bank").iterdir())
    assert main(["cashapp", "--ledger", str(demo_dir), "--bank", *bank,
                 "--out", str(runs / "r1"), "--quiet"]) in (0, 1)
    assert (runs / "r1" / "summary.json").exists()
    with serve_apps(demo_dir, tmp_path, extra_env={"WORKBENCH_APP_CASHAPP_RUNS": str(runs)}) as s:
        s.run = runs / "r1"
        yield s


def test_approve_refuse_a_repoint_and_see_unapplied(served):
    import pandas as pd

    from workbench.state import StateDB

    apps = pd.read_csv(served.run / "applications.csv", dtype=str)
    with chromium_page() as (page, external):
        login(page, served, "ann", APP, READY)
        assert "ann" in page.inner_text(".wb-signed-in")
        shot(page, "cash_review", full_page=False)
        rows = page.locator(f"{READY}", has_text="pending (suggested)")
        if rows.count() == 0:
            rows = page.locator(f"{READY}", has_text="pending")
        first = rows.first
        cells = first.locator("td")
        receipt, invoice = cells.nth(1).inner_text().strip(), cells.nth(6).inner_text().strip()
        first.click()
        page.wait_for_selector(".wb-selected b", timeout=60_000)
        page.click("button.wb-approve")
        page.wait_for_selector(".wb-form-status .wb-ok", timeout=120_000)
        assert "posted, approved by ann" in page.inner_text(".wb-form-status")
        page.wait_for_function("document.querySelector('.wb-run-info').innerText.includes('1 posted')",
                               timeout=30_000)
        shot(page, "cash_review_approved")
        # a re-point above what is left of the receipt: refused, under the buttons
        other = page.locator(f"{READY}", has_text="pending").first
        other.click()
        page.wait_for_function(
            "document.querySelectorAll('.wb-invoice select option').length > 0", timeout=60_000)
        page.fill(".wb-amount input", "99999999.00")
        page.click("button.wb-add-line")
        page.wait_for_selector(".wb-form-status .wb-error", timeout=60_000)
        refused = page.inner_text(".wb-form-status")
        assert "Line not added" in refused and "left of receipt" in refused, refused
        assert page.locator(".wb-form-status .wb-error").is_visible()
        page.locator(".wb-form-status").scroll_into_view_if_needed()
        shot(page, "cash_review_refused", full_page=False)
        page.locator(".wb-unapplied").scroll_into_view_if_needed()
        assert page.locator(".wb-unapplied table.dataTable tbody tr").count() > 0
        shot(page, "cash_review_unapplied")
        assert external == [], external
    rows = StateDB(served.db_url).rows("cash_matches")
    assert len(rows) == 1
    r = rows[0]
    line = apps[(apps["receipt_id"] == receipt) & (apps["invoice_id"] == invoice)].iloc[0]
    assert (r["receipt_id"], r["invoice_id"], r["status"]) == (receipt, invoice, "posted")
    assert r["approved_by"] == "ann" and r["recorded_by"] == "ann"
    from workbench.money import parse_amount
    assert r["amount_minor"] == parse_amount(line["amount"], line["currency"])
