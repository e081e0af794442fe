"""The packs: quarter-end (with the bad-debt reserve analysis), month-end and weekly, run
headless by papermill from one validated snapshot (see :mod:`workbench.reports.runner`)."""

from .publish import PackOutput
from .runner import PACKS, PackError, PackFailed, resolve_period, run_pack, run_quarter_pack
from .tables import money_frame, write_tables

__all__ = ["run_pack", "run_quarter_pack", "PackError", "PackFailed", "PACKS", "PackOutput",
           "resolve_period", "money_frame", "write_tables"]
