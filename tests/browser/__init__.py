"""Browser tests: Debian's Chromium driven by Playwright (see ../shared/TOOLCHAIN.md)."""

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    """Skip the calling test module when Chromium is missing (an error on CI, which installs it)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("CI must install Debian's chromium (make test does: tools/system-deps)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)",
                    allow_module_level=True)
