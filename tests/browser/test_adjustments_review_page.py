"""The adjustments review page in a real browser, behind sign-in: the demo ledger's proposals
are recorded by an analyst (ann); a manager (mia) signs in, approves one within her authority
(a double-click: recorded once) and sees it move to the decided table with her name, and her
landing page lists the app; the analyst's landing page does not, and opening it gives the 403
page. No request leaves the machine."""

import re

import pytest

from . import require_chromium
from .serving import PASSWORD, chromium_page, login, serve_apps, shot

require_chromium()

APP = "adjustments_review.ipynb"
READY = ".wb-proposed table.dataTable tbody tr"


@pytest.fixture
def served(demo_dir, tmp_path):
    from workbench.adjustments import propose_adjustments, record_proposals
    from workbench.ledger import Ledger
    from workbench.state import StateDB

    ledger = Ledger.load(demo_dir)
    db = StateDB(f"sqlite:///{tmp_path / 'state.db'}")     # the database serve_apps serves
    props = propose_adjustments(ledger, ledger.last_date, db=db, ledger_dir=demo_dir)
    ids = record_proposals(db, props, actor="ann", ledger=ledger)
    assert len(ids) >= 2
    with serve_apps(demo_dir, tmp_path) as s:
        assert s.db == tmp_path / "state.db"
        s.proposed = list(ids)
        yield s


def test_manager_approves_one_and_sees_it_decided(served):
    from workbench.state import StateDB

    with chromium_page() as (page, external):
        login(page, served, "mia", APP, READY)
        assert "mia" in page.inner_text(".wb-signed-in") and \
            "manager" in page.inner_text(".wb-signed-in")
        assert "Your authority (manager)" in page.inner_text(".wb-authority")
        head = page.inner_text(".wb-proposed table.dataTable thead")
        for col in ("Adjustment", "Customer", "Amount", "Evidence", "Approval needed", "For you"):
            assert col in head, head
        shot(page, "adjustments_review", full_page=False)
        row = page.locator(READY, has_text="within your authority").first
        adjustment = row.locator("td").nth(0).inner_text().strip()
        assert adjustment in served.proposed
        row.click()
        page.wait_for_function(
            f"document.querySelector('.wb-selected').innerText.includes('{adjustment}')",
            timeout=60_000)
        # refusing needs a note: said under the buttons, nothing recorded
        page.click("button.wb-refuse")
        page.wait_for_selector(".wb-form-status .wb-error", timeout=60_000)
        assert "a note is required to refuse" in page.inner_text(".wb-form-status")
        page.locator(".wb-form-status").scroll_into_view_if_needed()
        shot(page, "adjustments_review_note_required", full_page=False)
        page.fill(".wb-note textarea", "approved in the browser test")
        page.dblclick("button.wb-approve")          # a double-click records once
        page.wait_for_selector(".wb-form-status .wb-ok", timeout=120_000)
        page.wait_for_function(
            "document.querySelector('.wb-form-status').innerText.includes('again')",
            timeout=60_000)
        assert f"{adjustment} is approved already (recorded from this page): nothing recorded " \
            "again." in page.inner_text(".wb-form-status")
        # it moves: out of the proposals, into the decided table with who
        decided = page.locator(".wb-decided table.dataTable tbody tr", has_text=adjustment)
        decided.first.wait_for(timeout=60_000)
        text = decided.first.inner_text()
        assert "Approved" in text and "mia" in text and "manager" in text, text
        assert page.locator(READY, has_text=adjustment).count() == 0
        page.locator(".wb-decided").scroll_into_view_if_needed()
        shot(page, "adjustments_review_approved")
        # the manager's landing page lists the app by its business name
        page.goto(served.base + "/", timeout=60_000)
        link = page.locator(f"a.app[href$='{APP}']")
        assert link.count() == 1 and link.inner_text() == "Adjustments review"
        assert external == [], external
    rows = [r for r in StateDB(served.db_url).rows("adjustments") if r["event"] != "proposed"]
    assert [(r["adjustment_id"], r["event"], r["recorded_by"], r["authority"], r["note"])
            for r in rows] == [(adjustment, "approved", "mia", "manager",
                                "approved in the browser test")]


def test_analyst_gets_the_403_page_and_no_link(served):
    with chromium_page() as (page, external):
        page.goto(served.base + "/", timeout=60_000)
        assert "/login" in page.url
        page.fill("#username", "ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_selector("#apps", timeout=60_000)
        links = re.findall(r"render/([^\"']+\.ipynb)", page.content())
        assert APP not in links and "cash_review.ipynb" in links, links
        response = page.goto(served.url(APP), timeout=60_000)
        assert response.status == 403
        body = page.inner_text("body")
        assert "Your role may not open this app." in body and "Back to your apps" in body
        assert "Traceback" not in body and page.locator(".wb-proposed").count() == 0
        shot(page, "adjustments_review_403", full_page=False)
        assert external == [], external

