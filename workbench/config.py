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


def company_name() -> str:
    """The company named in every report's title block: ``WORKBENCH_COMPANY``, else the
    ``company`` line of ``workbench.toml`` in the project root, else a placeholder."""
    if os.environ.get("WORKBENCH_COMPANY"):
        return os.environ["WORKBENCH_COMPANY"]
    cfg = PROJECT_ROOT / "workbench.toml"
    if cfg.is_file():
        import tomllib

        name = tomllib.loads(cfg.read_text(encoding="utf-8")).get("company")
        if name:
            return str(name)
    return "Company name not configured (set WORKBENCH_COMPANY)"


def default_ledger() -> tuple[Path, str]:
    """The ledger folder a command reads when ``--ledger`` is not given, and why:
    ``WORKBENCH_LEDGER``, else the demo ledger ``data/demo`` (``make report`` writes it)."""
    if os.environ.get("WORKBENCH_LEDGER"):
        return Path(os.environ["WORKBENCH_LEDGER"]), "WORKBENCH_LEDGER"
    return DEMO_DIR, "the demo ledger; set WORKBENCH_LEDGER for yours"


def db_url() -> str:
    """The state database URL: ``WORKBENCH_DB_URL`` or the SQLite file ``data/workbench.db``."""
    url = os.environ.get("WORKBENCH_DB_URL")
    if url:
        return url
    return f"sqlite:///{DATA_DIR / 'workbench.db'}"
