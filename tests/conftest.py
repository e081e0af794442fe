"""Shared fixtures. Jupyter, IPython and matplotlib write under a temporary home, never ~."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_home = Path(tempfile.mkdtemp(prefix="wb-test-home-"))
for var, sub in (("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTER_DATA_DIR", "data"),
                 ("JUPYTER_CONFIG_DIR", "config"), ("IPYTHONDIR", "ipython"),
                 ("MPLCONFIGDIR", "mpl"), ("XDG_CACHE_HOME", "cache")):
    os.environ.setdefault(var, str(_home / sub))
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
# the ledger store of the tests (validated ledgers, see workbench.io.store) is theirs alone
os.environ.setdefault("WORKBENCH_STORE", str(_home / "store"))
# a command run without --ledger never reads the developer's data/demo by accident: a test
# that wants the default ledger sets WORKBENCH_LEDGER itself
os.environ["WORKBENCH_LEDGER"] = str(_home / "no-default-ledger")
# tests run in 2 workers plus notebook kernels on 2 cores: OpenMP threads that spin-wait in
# several processes at once slow scikit-learn's gradient boosting down a hundredfold
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def hand_dir(tmp_path) -> Path:
    """A copy of the hand-computed ledger (tests/fixtures/hand), safe to modify."""
    dst = tmp_path / "hand"
    shutil.copytree(FIXTURES / "hand", dst)
    return dst


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A small demo ledger (CSV), generated once per test session."""
    from workbench.demo import DemoConfig, write_demo

    out = tmp_path_factory.mktemp("demo") / "ledger"
    write_demo(out, DemoConfig(invoices=3000, seed=11), fmt="csv")
    return out


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m workbench ARGS`` and capture its output."""
    return subprocess.run([sys.executable, "-m", "workbench", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=600)


def folder_state(folder: Path) -> dict[str, bytes]:
    """Every file under a folder with its bytes: to prove nothing was written."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def write_ledger(folder: Path, **tables: list[dict]) -> Path:
    """Write a small ledger folder from rows (one list of dicts per table)."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        cols: list[str] = []
        for r in rows:
            cols += [c for c in r if c not in cols]
        with open(folder / f"{name}.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return folder


@pytest.fixture
def cli_user(tmp_path, monkeypatch):
    """Make the OS login running the tests a workbench user of the given role (the command
    line's sign-in: ``workbench.serve.accounts.command_line_user``); returns the user name."""
    from workbench.serve import accounts

    def make(role: str, name: str = "tester") -> str:
        users = tmp_path / "cli-users.toml"
        accounts.add_user(users, name, role, "a test password", os_login=accounts.os_login())
        monkeypatch.setenv("WORKBENCH_USERS_FILE", str(users))
        return name
    return make
