"""The collections dashboard in a real browser, behind sign-in: an analyst signs in, the
page shows KPI tiles, the aging chart and the worklist; the table's search filters rows;
clicking a row shows the account; a promise dated in the past is refused under the button;
a call is recorded with the signed-in user (nothing typed on the page says who); a dispute is
opened with the policy's due date for the owner picked, a double-click recording it once, and
its owner and due date show in the account's disputes table. No request leaves the machine.
Kernel start is slow: generous timeouts (see serving.py)."""

import datetime as dt

import pytest

from . import require_chromium
from .serving import chromium_page, login, serve_apps, shot

require_chromium()

APP = "collections_dashboard.ipynb"
ROWS = ".wb-worklist table.dataTable tbody tr"


@pytest.fixture
def served(demo_dir, tmp_path):
    with serve_apps(demo_dir, tmp_path) as s:
        yield s


def test_analyst_sees_the_dashboard_and_logs_a_call(served):
    from workbench.state import StateDB

    with chromium_page() as (page, external):
        login(page, served, "ann", APP, ROWS)
        page.wait_for_selector(".wb-aging-chart img", timeout=60_000)
        assert "ann" in page.inner_text(".wb-signed-in") and \
            "analyst" in page.inner_text(".wb-signed-in")
        assert page.locator(".wb-kpi-tiles .wb-kpi").count() >= 5
        assert "days" in page.inner_text(".wb-kpi-tiles [data-kpi=dso] >> nth=0")
        assert page.locator(ROWS).count() == 10                 # first page of the worklist
        shot(page, "collections_dashboard", full_page=False)
        shot(page, "collections_dashboard_full")
        # the table's search filters rows in the browser
        name = page.locator(f"{ROWS} >> nth=2 >> td >> nth=2").inner_text().strip()
        page.fill(".wb-worklist input[type=search]", name)
        page.wait_for_function(
            "n => document.querySelectorAll('.wb-worklist table.dataTable tbody tr').length < n",
            arg=10, timeout=30_000)
        rows = page.locator(ROWS)
        assert 1 <= rows.count() < 10
        assert all(name in rows.nth(i).inner_text() for i in range(rows.count()))
        shot(page, "collections_dashboard_search", full_page=False)
        # clicking a row shows the account
        rows.nth(0).click()
        page.wait_for_selector(".wb-open-items, .wb-account .wb-empty", timeout=60_000)
        assert name in page.inner_text(".wb-account")
        page.wait_for_selector(".wb-history-table", timeout=30_000)
        customer = page.inner_text(".wb-account-head").split("(")[1].split(")")[0]
        # a promise dated in the past: refused under the button, nothing recorded
        page.select_option(".wb-kind select", label="Promise to pay")
        page.fill(".wb-promise-date input", "2020-01-31")
        page.fill(".wb-amount input", "1")
        page.click(".wb-submit")
        page.wait_for_selector(".wb-form-status .wb-error", timeout=60_000)
        refused = page.inner_text(".wb-form-status")
        assert "Promise date 2020-01-31 is in the past" in refused, refused
        assert page.locator(".wb-form-status .wb-error").is_visible()
        page.locator(".wb-log-form").scroll_into_view_if_needed()
        shot(page, "collections_dashboard_refused", full_page=False)
        # a call: recorded with the signed-in user
        page.select_option(".wb-kind select", label="Call")
        page.fill(".wb-note textarea", "Called from the browser test")
        page.click(".wb-submit")
        page.wait_for_selector(".wb-form-status .wb-ok", timeout=60_000)
        assert "by ann" in page.inner_text(".wb-form-status")
        page.wait_for_function(
            "() => document.querySelector('.wb-history-table') && "
            "document.querySelector('.wb-history-table').innerText.includes('browser test')",
            timeout=30_000)
        page.locator(".wb-history-table").scroll_into_view_if_needed()
        shot(page, "collections_dashboard_recorded", full_page=False)
        # a dispute: pricing goes to Sales (14 days); given to Billing instead, due in 7 days
        today = dt.datetime.now(dt.timezone.utc).date()
        page.select_option(".wb-kind select", label="Dispute")
        page.wait_for_selector(".wb-reason select", state="visible", timeout=30_000)
        page.select_option(".wb-invoice select", index=1)
        page.select_option(".wb-reason select", label="Pricing")
        page.wait_for_function("d => document.querySelector('.wb-due input').value === d",
                               arg=str(today + dt.timedelta(days=14)), timeout=30_000)
        assert page.locator(".wb-owner select option:checked").inner_text() == "Sales"
        page.select_option(".wb-owner select", label="Billing")
        due = str(today + dt.timedelta(days=7))
        page.wait_for_function("d => document.querySelector('.wb-due input').value === d",
                               arg=due, timeout=30_000)
        assert f"due 7 days after it is opened: {due}" in page.inner_text(".wb-dispute-policy")
        page.fill(".wb-amount input", "1")
        page.fill(".wb-note textarea", "Disputed from the browser test")
        page.locator(".wb-log-form").scroll_into_view_if_needed()
        shot(page, "collections_dashboard_dispute_form", full_page=False)
        page.dblclick(".wb-submit")                      # a double-click: recorded once
        page.wait_for_function(
            "() => document.querySelector('.wb-disputes') && "
            "document.querySelector('.wb-disputes').innerText.includes('-pricing')",
            timeout=60_000)
        page.wait_for_selector(".wb-form-status .wb-ok", timeout=60_000)
        table = page.inner_text(".wb-disputes")
        row = next(line for line in table.splitlines() if "-pricing" in line)
        assert "Billing" in row and due in row and "Pricing" in row and str(today) in row, row
        page.locator(".wb-disputes").scroll_into_view_if_needed()
        shot(page, "collections_dashboard_dispute", full_page=False)
        status = page.inner_text(".wb-form-status")
        assert "by ann" in status or "Already recorded as dispute" in status, status
        assert external == [], external
    db = StateDB(served.db_url)
    rows = db.rows("activities")
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["kind"], r["customer_id"], r["note"]) == ("call", customer,
                                                         "Called from the browser test")
    assert r["recorded_by"] == "ann" and r["collector"] == "ann"
    assert r["idempotency_key"]
    [e] = db.rows("dispute_events")                      # the double-click recorded once
    assert (e["event"], e["customer_id"], e["reason_code"], e["owner"]) == (
        "opened", customer, "pricing", "billing")
    assert e["recorded_by"] == "ann" and e["due_date"] == due and e["idempotency_key"]
    assert e["dispute_id"] == f"WB-{e['invoice_id']}-pricing" and e["dispute_id"] in row
