"""Paths and settings (from environment variables). No logic lives here."""

from __future__ import annotations

import os
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent


def _project_root() -> Path:
    if os.environ.get("WORKBENCH_ROOT"):
        return Path(os.environ["WORKBENCH_ROOT"])
    # an editable install / checkout: the folder holding workbench/ and notebooks/
    if (_CHECKOUT / "notebooks").is_dir():
        return _CHECKOUT
    return Path.cwd()


#: The project checkout (the folder holding ``workbench/``, ``notebooks/``, ``data/``).
PROJECT_ROOT = _project_root()
DATA_DIR = Path(os.environ.get("WORKBENCH_DATA_DIR", PROJECT_ROOT / "data"))
DEMO_DIR = DATA_DIR / "demo"
REPORTS_DIR = Path(os.environ.get("WORKBENCH_REPORTS_DIR", PROJECT_ROOT / "reports"))
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
POLICIES_DIR = Path(__file__).resolve().parent / "policies"
MAPS_DIR = Path(__file__).resolve().parent / "io" / "maps"

#: Reporting currency for tables without a currency of their own (``reserve_gl``).
REPORT_CURRENCY = os.environ.get("WORKBENCH_REPORT_CURRENCY", "USD")


def db_url() -> str:
    """The state database URL: ``WORKBENCH_DB_URL`` or the SQLite file ``data/workbench.db``."""
    url = os.environ.get("WORKBENCH_DB_URL")
    if url:
        return url
    return f"sqlite:///{DATA_DIR / 'workbench.db'}"
