"""`workbench serve` for browser tests: a server on a free loopback port with its own users
file, state database and copy of the apps, a Chromium page that may talk to 127.0.0.1 only
(every other request is aborted and recorded), sign-in through the login form, and
screenshots kept as test artifacts in ``test-artifacts/screenshots/`` (``WORKBENCH_ARTIFACTS``
overrides the folder).

Voila pages occasionally fail to connect widgets on the first load (upstream voila issues
1395/1446): :func:`open_app` retries the page load once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..conftest import ROOT
from . import ARGS, CHROMIUM

PASSWORD = "correct horse battery"
# user -> role (workbench/serve/roles.toml)
USERS = {"mia": "manager", "ann": "analyst", "dan": "director"}


def artifacts_dir() -> Path:
    d = Path(os.environ.get("WORKBENCH_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    base: str
    db: Path
    apps: Path
    log: Path
    env: dict = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db}"

    def url(self, app: str) -> str:
        return f"{self.base}/voila/render/{app}"


@contextlib.contextmanager
def serve_apps(demo_dir, tmp_path: Path, *, users: dict[str, str] | None = None,
               extra_env: dict[str, str] | None = None, extra_args: list[str] | None = None):
    """Start ``workbench serve`` on a copy of ``notebooks/apps`` over ``demo_dir``; yields a
    :class:`Served`. Stopped (its kernels with it) on exit."""
    from workbench.serve import accounts

    port = _free_port()
    db = tmp_path / "state.db"
    users_file = tmp_path / "users.toml"
    for name, role in (users or USERS).items():
        accounts.add_user(users_file, name, role, PASSWORD)
    env = {**os.environ, "WORKBENCH_APP_LEDGER": str(demo_dir),
           "WORKBENCH_DB_URL": f"sqlite:///{db}", **(extra_env or {})}
    for var in ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY"):
        env.pop(var, None)
    apps = tmp_path / "apps"
    shutil.copytree(ROOT / "notebooks" / "apps", apps)
    log_path = tmp_path / "serve.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port),
                             "--users", str(users_file), "--apps-dir", str(apps),
                             *(extra_args or [])],
                            cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline:     # readiness: the TCP port (polling / starts kernels)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(log_path.read_text(errors="replace"))
                time.sleep(0.3)
        else:
            raise RuntimeError("workbench serve did not start in 90 s")
        yield Served(f"http://127.0.0.1:{port}", db, apps, log_path, env)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@contextlib.contextmanager
def chromium_page(width: int = 1366, height: int = 768):
    """A Playwright page in Debian's Chromium that may reach 127.0.0.1 only; yields
    ``(page, external)`` where ``external`` lists every other URL the page asked for."""
    from playwright.sync_api import sync_playwright

    external: list[str] = []

    def route(r):
        if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", route)
            yield page, external
        finally:
            browser.close()


def login(page, served: Served, user: str, app: str, ready: str, password: str = PASSWORD) -> None:
    """Open ``app`` without a session (the login form must come first), sign in as ``user``
    and wait for the ``ready`` selector (one retry of the page load, see the module doc)."""
    page.goto(served.url(app), timeout=60_000)
    assert "/login" in page.url and page.locator("#password").count() == 1, page.url
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit], input[type=submit]")
    try:
        page.wait_for_selector(ready, timeout=120_000)
    except Exception:                    # noqa: BLE001 - one retry: see the module docstring
        open_app(page, served, app, ready)


def open_app(page, served: Served, app: str, ready: str) -> None:
    """Load ``app`` (signed in already) and wait for ``ready``; one retry."""
    for attempt in (1, 2):
        page.goto(served.url(app), timeout=120_000)
        try:
            page.wait_for_selector(ready, timeout=120_000)
            return
        except Exception:                # noqa: BLE001
            if attempt == 2:
                raise


def shot(page, name: str, full_page: bool = True) -> Path:
    """Save a screenshot as a test artifact; returns its path. ``full_page``: the whole app,
    not only what is on screen (Voila scrolls inside a container, so the viewport is made as
    tall as the content for the picture, then put back)."""
    path = artifacts_dir() / f"{name}.png"
    size = page.viewport_size
    if full_page:
        height = page.evaluate("Math.max(document.body.scrollHeight, ...Array.from("
                               "document.querySelectorAll('#rendered_cells, .jp-Notebook, body *'))"
                               ".slice(0, 400).map(e => e.scrollHeight))")
        page.set_viewport_size({"width": size["width"], "height": min(max(int(height), size["height"]), 6000)})
    try:
        page.screenshot(path=str(path), full_page=full_page)
    finally:
        page.set_viewport_size(size)
    return path
