"""The Ledger: the validated canonical tables and their as-of views.

>>> from workbench import Ledger
>>> ledger = Ledger.load("data/demo")                       # doctest: +SKIP
>>> ledger.open_items("2026-09-30")                         # doctest: +SKIP

Money is ``int64`` minor units in ``*_minor`` columns beside a ``currency`` column.
Every as-of view uses only rows dated on or before the as-of date.

The one event model: :meth:`Ledger.reductions` reads the reducing tables (applications,
credit memos, write-offs, recoveries) as one stream; :meth:`Ledger.settlement` (and
:meth:`Ledger.settlement_periods`) give each invoice's open balance, settlement date and
days late from it, one definition for aging, KPIs, collections, credit, risk and the
reserve. Results shared by many calls live in :attr:`Ledger.cache` (:class:`LedgerCache`).
"""


from __future__ import annotations

from ..schema import LedgerError, Problem
from .base import (  # noqa: F401
    _ISO_DATE,
    REDUCTION_KINDS,
    AfterLedgerWarning,
    LedgerCache,
    _empty_frame,
    to_date,
)
from .core import Ledger
from .validate import validate_folder

__all__ = ["Ledger", "LedgerCache", "LedgerError", "Problem", "validate_folder", "to_date",
           "REDUCTION_KINDS", "AfterLedgerWarning"]


# pickles and reprs keep naming the classes where they always were
for _cls in (Ledger, LedgerCache, AfterLedgerWarning):
    _cls.__module__ = __name__
