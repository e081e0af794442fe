"""The managers' credit-review page in a real browser, behind sign-in: `workbench serve`
serves the apps on 127.0.0.1, Playwright drives Debian's Chromium. Without a session the
page sends the browser to the login form; a manager signs in, a decision above the
manager's authority is refused, a decision within it is recorded with the signed-in user
as approver and the role's authority as level (nothing typed on the page says who).
Voila pages occasionally fail to connect widgets on the first load (upstream voila issues
1395/1446): the page load is retried once."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from ..conftest import ROOT

from . import ARGS, CHROMIUM, require_chromium

require_chromium()

PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(demo_dir, tmp_path):
    from workbench.serve import accounts

    port = _free_port()
    db = tmp_path / "state.db"
    users = tmp_path / "users.toml"
    accounts.add_user(users, "mia", "manager", PASSWORD)
    env = {**os.environ, "WORKBENCH_APP_LEDGER": str(demo_dir),
           "WORKBENCH_DB_URL": f"sqlite:///{db}"}
    for var in ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY"):
        env.pop(var, None)
    apps = tmp_path / "apps"
    shutil.copytree(ROOT / "notebooks" / "apps", apps)
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port),
                             "--users", str(users), "--apps-dir", str(apps)],
                            cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "serve.log").read_text(errors="replace"))
            time.sleep(0.3)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
        raise RuntimeError("workbench serve did not start in 90 s")
    yield f"http://127.0.0.1:{port}", db
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def _open(page, url):
    page.goto(url, timeout=120_000)
    page.wait_for_selector(".wb-queue select", timeout=120_000)


def test_sign_in_then_a_decision_within_authority_only(served, tmp_path):
    from playwright.sync_api import sync_playwright

    from workbench.state import StateDB

    base, db = served
    app = f"{base}/voila/render/credit_review.ipynb"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.route("**/*", lambda route: route.continue_()
                   if route.request.url.startswith("http://127.0.0.1") else route.abort())
        # no session: the login form, not the page
        page.goto(app, timeout=60_000)
        assert "/login" in page.url and page.locator("#password").count() == 1
        page.screenshot(path=str(tmp_path / "login.png"))
        page.fill("#username", "mia")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        try:
            page.wait_for_selector(".wb-queue select", timeout=120_000)
        except Exception:            # one retry: see the module docstring
            _open(page, app)
        assert "mia" in page.inner_text(".wb-signed-in") and \
            "manager" in page.inner_text(".wb-signed-in")
        assert page.locator(".wb-approver").count() == 0      # nothing typed says who
        options = page.locator(".wb-queue select option")
        assert options.count() > 0
        label = options.nth(1).inner_text()
        page.select_option(".wb-queue select", index=1)
        page.wait_for_selector(".wb-profile-table", timeout=60_000)
        # above the manager's authority (100,000.00): refused, nothing recorded
        page.select_option(".wb-decision select", label="Approve a different limit")
        page.fill(".wb-limit input", "900000.00")
        page.fill(".wb-reason textarea", "too much for a manager")
        page.click(".wb-submit")
        page.wait_for_selector(".wb-form-status .wb-error", timeout=60_000)
        refused = page.inner_text(".wb-form-status")
        assert "Refused" in refused or "Not recorded" in refused, refused
        page.screenshot(path=str(tmp_path / "credit_review_refused.png"), full_page=True)
        # within it: recorded with the signed-in user
        page.select_option(".wb-decision select", label="Approve as recommended")
        page.fill(".wb-limit input", "")
        page.fill(".wb-reason textarea", "approved in the browser test")
        page.click(".wb-submit")
        page.wait_for_selector(".wb-form-status .wb-ok", timeout=60_000)
        page.wait_for_selector(".wb-history-table", timeout=30_000)
        page.screenshot(path=str(tmp_path / "credit_review.png"), full_page=True)
        browser.close()
    rows = StateDB(f"sqlite:///{db}").rows("credit_decisions")
    assert len(rows) == 1
    r = rows[0]
    assert r["approver"] == "mia" and r["approver_level"] == "manager"
    assert r["decision"] == "approve" and r["reason"] == "approved in the browser test"
    assert label.startswith(r["customer_id"])
    assert r["policy_version"].startswith("default-credit ") and len(r["ledger_hash"]) == 64
