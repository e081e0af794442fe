"""The managers' apps in Chromium: sign-in, first render and an interaction, timed.

    .venv/bin/python benchmarks/bench_apps.py [--ledger data/demo] [--repeat 3]

Starts ``workbench serve`` on a free loopback port with a temporary users file (one
manager) and state database, signs in through the login form with Playwright and Debian's
Chromium, then for each app page: the first render (navigation until the app's first
control is on screen: a new kernel runs the notebook) and an interaction (choosing a
customer in the credit-review queue until the profile is drawn). Beside it, the baseline:
the same analysis called in one warm Python process (``credit.recommend`` for that
customer), so the page's overhead over the computation shows. Not part of the tests.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "bench password 123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger", type=Path, default=ROOT / "data" / "demo")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from workbench.serve import accounts

    with tempfile.TemporaryDirectory(prefix="wb-bench-apps-") as tmp:
        tmp = Path(tmp)
        users = tmp / "users.toml"
        accounts.add_user(users, "mia", "manager", PASSWORD)
        port = _free_port()
        env = {**os.environ, "WORKBENCH_APP_LEDGER": str(args.ledger.resolve()),
               "WORKBENCH_DB_URL": f"sqlite:///{tmp / 'state.db'}"}
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port),
                                 "--users", str(users), "--max-kernels-per-user", "50"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.perf_counter() - t0 > 90:
                        raise SystemExit("workbench serve did not start")
                    time.sleep(0.1)
            print(f"server up in {time.perf_counter() - t0:.2f} s")
            base = f"http://127.0.0.1:{port}"
            renders, picks = [], []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                page = browser.new_page(viewport={"width": 1366, "height": 768})
                t = time.perf_counter()
                page.goto(f"{base}/login", timeout=60_000)
                page.fill("#username", "mia")
                page.fill("#password", PASSWORD)
                page.click("button[type=submit], input[type=submit]")
                page.wait_for_selector("a.app", timeout=60_000)
                print(f"sign-in to landing page: {time.perf_counter() - t:.2f} s")
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    page.goto(f"{base}/voila/render/credit_review.ipynb", timeout=120_000)
                    page.wait_for_selector(".wb-queue select", timeout=120_000)
                    renders.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    page.select_option(".wb-queue select", index=1)
                    page.wait_for_selector(".wb-profile-table", timeout=60_000)
                    picks.append(time.perf_counter() - t)
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    # the baseline: the same recommendation in a warm process
    from workbench import Ledger
    from workbench.credit import recommend, review_queue

    ledger = Ledger.load(args.ledger)
    as_of = ledger.last_date
    queue = review_queue(ledger, as_of, None, top=5)
    cid = queue["customer_id"].iloc[0]
    recommend(ledger, cid, as_of)
    t = time.perf_counter()
    recommend(ledger, cid, as_of)
    warm = time.perf_counter() - t
    print(f"credit review, first render (new kernel, no preheating): "
          f"median {statistics.median(renders):.2f} s, best {min(renders):.2f} s "
          f"(aim 2 s with a preheated kernel)")
    print(f"credit review, choose a customer: median {statistics.median(picks):.2f} s, "
          f"best {min(picks):.2f} s (aim 0.3 s)")
    print(f"baseline: credit.recommend for one customer in a warm process {warm:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
