"""Reading, typing and validating a ledger folder, every problem collected."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import schema
from ..config import REPORT_CURRENCY
from ..io.loader import ColumnMap, load_column_map, read_ledger_folder
from ..schema import TABLES, Problem
from .base import _empty_frame
from .core import Ledger


def validate_folder(folder: str | Path, column_map: str | Path | ColumnMap | None = None,
                    report_currency: str = REPORT_CURRENCY, progress: bool = False
                    ) -> tuple[Ledger | None, list[Problem]]:
    """Read, type and validate a ledger folder; return (ledger or None, every problem).

    ``progress=True`` shows a tqdm bar per table (large ledgers take seconds).
    """
    from tqdm.auto import tqdm

    if column_map is not None and not isinstance(column_map, ColumnMap):
        column_map = load_column_map(column_map)
    raws, problems, report = read_ledger_folder(folder, column_map)
    for name in schema.REQUIRED_TABLES:
        if name not in raws and not any(p.table == name for p in problems):
            problems.append(Problem(name, None, None, f"required table {name} is missing "
                                    f"({name}.csv, {name}.parquet or an Excel sheet '{name}')",
                                    None, str(folder)))
    typed: dict[str, schema.TypedTable] = {}
    currencies: dict[str, pd.Series] = {}
    bar = tqdm(total=len(raws) + 1, desc="validating", unit="table", disable=not progress)
    for name in schema.TABLE_ORDER:
        raw = raws.get(name)
        if raw is None:
            continue
        bar.set_postfix_str(name)
        bar.update()
        t = schema.type_table(raw, currencies, report_currency, problems)
        if t is None:
            continue
        typed[name] = t
        if name == "customers":
            currencies["customer"] = schema.currency_lookup(t.frame, "customer_id")
        elif name == "invoices":
            currencies["invoice"] = schema.currency_lookup(t.frame, "invoice_id")
        schema.model_checks(t, raw, problems)
    bar.set_postfix_str("cross-table checks")
    positions: dict = {}
    schema.cross_checks(typed, raws, problems, positions)
    bar.update()
    bar.close()
    problems = sorted(set(problems), key=schema.problem_sort_key)
    if problems:
        return None, problems
    tables = {name: (typed[name].frame if name in typed else _empty_frame(name))
              for name in TABLES}
    ledger = Ledger(tables, frozenset(typed), str(folder), report, report_currency)
    ledger.cache.namespace("positions").update(positions)   # the id lookups validation made
    return ledger, []
