"""The packs: quarter-end (with the bad-debt reserve analysis), month-end and weekly, run
headless by papermill from one validated snapshot (see :mod:`workbench.reports.runner`).

The names are imported when first used, so that a one-shot command needing only
``money_frame`` does not pay for papermill, openpyxl and the HTML publisher.
"""

from importlib import import_module

_NAMES = {"PackOutput": ".publish", "PACKS": ".runner", "PackError": ".runner",
          "PackFailed": ".runner", "resolve_period": ".runner", "run_pack": ".runner",
          "run_quarter_pack": ".runner", "money_frame": ".tables", "write_tables": ".tables"}

__all__ = ["run_pack", "run_quarter_pack", "PackError", "PackFailed", "PACKS", "PackOutput",
           "resolve_period", "money_frame", "write_tables"]


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_NAMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
