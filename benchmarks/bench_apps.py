"""The apps in Chromium: sign-in, first render (preheated kernel and new kernel) and one
interaction per app, timed.

    .venv/bin/python benchmarks/bench_apps.py [--ledger data/demo] [--repeat 3] [--apps credit_review ...]

Starts ``workbench serve`` twice on a free loopback port with a temporary users file (one
manager) and state database: once with the default preheated pool (one kernel per app) and
once with ``--pool-size 0`` (every page starts its kernel and runs the app from scratch). Signs
in through the login form with Playwright and Debian's Chromium, then for each app: the first
render (navigation until the app's main table shows rows; with a preheated kernel the pool is
given time to refill between loads) and an interaction (a click until its answer is on screen).
Beside them, the baseline: the same computation called in one warm Python process, so the
page's overhead over the computation shows. Not part of the tests.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "bench password 123"


@dataclass
class App:
    file: str
    ready: str                      # selector: the page is usable
    interact: Callable              # (page) -> None: one interaction, waits for its answer
    what: str                       # the interaction in words


def _credit(page):
    page.click(".wb-queue table.dataTable tbody tr >> nth=1")
    page.wait_for_selector(".wb-profile-table", timeout=60_000)


def _dashboard(page):
    page.click(".wb-worklist table.dataTable tbody tr >> nth=1")
    page.wait_for_selector(".wb-account .wb-open-items", timeout=60_000)


def _cash(page):
    page.click(".wb-matches table.dataTable tbody tr >> nth=0")
    page.wait_for_selector(".wb-selected b", timeout=60_000)


APPS = {
    "credit_review": App("credit_review.ipynb", ".wb-queue table.dataTable tbody tr", _credit,
                         "choose a customer in the queue until the profile shows"),
    "collections_dashboard": App("collections_dashboard.ipynb",
                                 ".wb-worklist table.dataTable tbody tr", _dashboard,
                                 "choose an account in the worklist until its open items show"),
    "cash_review": App("cash_review.ipynb", ".wb-matches table.dataTable tbody tr", _cash,
                       "select a suggested match until the selection is summarised"),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(tmp: Path, ledger: Path, runs: Path | None, pool: int):
    from workbench.serve import accounts

    users = tmp / "users.toml"
    if not users.exists():
        accounts.add_user(users, "mia", "manager", PASSWORD)
    port = _free_port()
    env = {**os.environ, "WORKBENCH_APP_LEDGER": str(ledger.resolve()),
           "WORKBENCH_DB_URL": f"sqlite:///{tmp / f'state-{pool}.db'}"}
    if runs is not None:
        env["WORKBENCH_APP_CASHAPP_RUNS"] = str(runs)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port),
                             "--users", str(users), "--max-kernels-per-user", "50",
                             "--pool-size", str(pool)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t0 > 90:
                raise SystemExit("workbench serve did not start")
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}", time.perf_counter() - t0


def _measure(base: str, apps: list[App], repeat: int, settle: float) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        t = time.perf_counter()
        page.goto(f"{base}/login", timeout=60_000)
        page.fill("#username", "mia")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_selector("a.app", timeout=60_000)
        out["sign-in"] = time.perf_counter() - t
        for app in apps:
            renders, acts = [], []
            for _ in range(repeat):
                time.sleep(settle)                 # the pool refills (preheated run)
                t = time.perf_counter()
                page.goto(f"{base}/voila/render/{app.file}", timeout=180_000)
                page.wait_for_selector(app.ready, timeout=180_000)
                renders.append(time.perf_counter() - t)
                t = time.perf_counter()
                app.interact(page)
                acts.append(time.perf_counter() - t)
                page.goto(f"{base}/", timeout=60_000)   # leave the page (its kernel is culled later)
            out[app.file] = (renders, acts)
        browser.close()
    return out


def _baselines(ledger_dir: Path) -> dict:
    """The computations behind the interactions, in one warm process."""
    from workbench import Ledger
    from workbench.collections import worklist
    from workbench.credit import recommend, review_queue

    ledger = Ledger.load(ledger_dir)
    as_of = ledger.last_date
    out = {}
    queue = review_queue(ledger, as_of, None, top=5)
    cid = queue["customer_id"].iloc[0]
    recommend(ledger, cid, as_of)
    t = time.perf_counter()
    recommend(ledger, cid, as_of)
    out["credit.recommend (one customer)"] = time.perf_counter() - t
    worklist(ledger, as_of)
    t = time.perf_counter()
    worklist(ledger, as_of)
    out["collections.worklist (all accounts)"] = time.perf_counter() - t
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger", type=Path, default=ROOT / "data" / "demo")
    ap.add_argument("--runs", type=Path, default=ROOT / "data" / "cashapp",
                    help="cash-application runs for the cash-review app")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--settle", type=float, default=12.0,
                    help="seconds before each preheated load (the pool refills)")
    ap.add_argument("--apps", nargs="+", default=list(APPS), choices=list(APPS))
    args = ap.parse_args()
    apps = [APPS[a] for a in args.apps]
    results = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-apps-") as tmp:
        tmp = Path(tmp)
        for pool, settle in ((1, args.settle), (0, 0.0)):
            proc, base, up = _serve(tmp, args.ledger, args.runs if args.runs.exists() else None, pool)
            try:
                if pool:
                    time.sleep(args.settle + 10)    # the first pool fills after start-up
                results[pool] = (up, _measure(base, apps, args.repeat, settle))
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=60)
    print(f"ledger {args.ledger}; {args.repeat} loads per app and mode; medians (best)")
    print(f"{'app':<28} {'first render, preheated':>24} {'first render, new kernel':>25} "
          f"{'interaction':>14}")
    for app in apps:
        pre, new = results[1][1][app.file], results[0][1][app.file]
        acts = pre[1] + new[1]
        print(f"{app.file:<28} {statistics.median(pre[0]):>15.2f} s ({min(pre[0]):.2f}) "
              f"{statistics.median(new[0]):>16.2f} s ({min(new[0]):.2f}) "
              f"{statistics.median(acts):>7.2f} s ({min(acts):.2f})")
    print(f"sign-in to the landing page: {results[1][1]['sign-in']:.2f} s; server up in "
          f"{results[1][0]:.2f} s")
    print("aims: first render < 2 s with a preheated kernel; an interaction < 0.3 s")
    print("interactions: " + "; ".join(f"{a.file}: {a.what}" for a in apps))
    for name, sec in _baselines(args.ledger).items():
        print(f"baseline, warm process: {name} {sec:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
