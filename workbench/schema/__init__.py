"""The canonical tables of DATA_MODEL.md: column specs, typing, pandera models, cross-table checks.

Validation never stops at the first problem: every problem found is collected as a
:class:`Problem` naming the table, the line of the source file, the row id, the
column and what is wrong, the way beancount's validators report.

Three passes, each vectorised:

1. **typing** (:func:`type_table`): text -> exact typed columns (dates, integer minor
   units, ISO 4217 codes); a cell that does not parse is a problem, never a NaN.
2. **row rules** (pandera ``DataFrameModel`` per table): ids present and unique,
   amounts positive, choices, ranges, due date on or after invoice date, the
   reserve roll-forward.
3. **cross-table rules** (:func:`cross_checks`): unknown customers, invoices and
   receipts; currencies that disagree; receipts and invoices applied beyond their
   amount (the row that tips the balance is named); applications before their
   receipt; write-offs above the open balance.

The package: :mod:`.specs`, :mod:`.typed`, :mod:`.models`, :mod:`.cross`.
"""

from __future__ import annotations

from .cross import IdIndex, _invoice_balance_checks, cross_checks  # noqa: F401
from .models import model_checks  # noqa: F401
from .specs import (  # noqa: F401
    ACTIVITY_KINDS,
    CHOICE,
    CURRENCY,
    CUSTOMER_CHANGE_FIELDS,
    DATE,
    DECIMAL,
    DISPUTE_RESOLUTIONS,
    ID,
    INT,
    MONEY,
    NUMBER,
    REQUIRED_TABLES,
    SUM_LIMIT_MINOR,
    TABLE_ORDER,
    TABLES,
    TEXT,
    TIMESTAMP,
)
from .typed import (  # noqa: F401
    LedgerError,
    Problem,
    RawTable,
    TypedTable,
    currency_lookup,
    problem_sort_key,
    type_table,
)

