"""The managers' credit-review page in a real browser, behind sign-in: `workbench serve`
serves the apps on 127.0.0.1, Playwright drives Debian's Chromium. Without a session the
page sends the browser to the login form; a manager signs in, a decision above the
manager's authority is refused, a decision within it is recorded with the signed-in user
as approver and the role's authority as level (nothing typed on the page says who).
No request leaves the machine."""

import pytest

from . import require_chromium
from .serving import chromium_page, login, serve_apps, shot

require_chromium()

APP = "credit_review.ipynb"
READY = ".wb-queue table.dataTable tbody tr"


@pytest.fixture
def served(demo_dir, tmp_path):
    with serve_apps(demo_dir, tmp_path) as s:
        yield s


def test_sign_in_then_a_decision_within_authority_only(served):
    from workbench.state import StateDB

    with chromium_page() as (page, external):
        page.goto(served.url(APP), timeout=60_000)
        assert "/login" in page.url and page.locator("#password").count() == 1
        shot(page, "login")
        login(page, served, "mia", APP, READY)
        assert "mia" in page.inner_text(".wb-signed-in") and \
            "manager" in page.inner_text(".wb-signed-in")
        assert page.locator(".wb-approver").count() == 0      # nothing typed says who
        first = page.locator(f"{READY} >> nth=0")
        label = first.inner_text()
        first.click()
        page.wait_for_selector(".wb-profile-table", timeout=60_000)
        # above the manager's authority (100,000.00): refused, nothing recorded
        page.select_option(".wb-decision select", label="Approve a different limit")
        page.fill(".wb-limit input", "900000.00")
        page.fill(".wb-reason textarea", "too much for a manager")
        page.click(".wb-submit")
        page.wait_for_selector(".wb-form-status .wb-error", timeout=60_000)
        refused = page.inner_text(".wb-form-status")
        assert "Refused" in refused or "Not recorded" in refused, refused
        assert page.locator(".wb-form-status .wb-error").is_visible()
        shot(page, "credit_review_refused")
        # within it: recorded with the signed-in user
        page.select_option(".wb-decision select", label="Approve as recommended")
        page.fill(".wb-limit input", "")
        page.fill(".wb-reason textarea", "approved in the browser test")
        page.click(".wb-submit")
        page.wait_for_selector(".wb-form-status .wb-ok", timeout=60_000)
        page.wait_for_selector(".wb-history-table", timeout=30_000)
        shot(page, "credit_review")
        assert external == [], external
    rows = StateDB(served.db_url).rows("credit_decisions")
    assert len(rows) == 1
    r = rows[0]
    assert r["approver"] == "mia" and r["approver_level"] == "manager"
    assert r["decision"] == "approve" and r["reason"] == "approved in the browser test"
    assert label.split()[0] == r["customer_id"]
    assert r["policy_version"].startswith("default-credit ") and len(r["ledger_hash"]) == 64
