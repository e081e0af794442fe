"""One preparation of a :class:`Table` for every rendering: column kinds, currencies, exact
totals, formatted cells, the text frame."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from ..money import format_amount, is_currency
from .labels import Table, label_for

NUMERIC_KINDS = frozenset({"money", "pct", "ratio", "int", "dec", "number"})
_BLANK = object()       # a cell of a total row that is not summed


@dataclass(frozen=True)
class Column:
    """A displayed column: code name, business label, kind and decimals (``dec``)."""

    code: str
    label: str
    kind: str           # money pct ratio int dec date currency bool number text
    digits: int = 0

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass
class Prepared:
    """A table checked and reduced to Python values: ``rows`` and ``totals`` hold one raw
    value per column (int minor units for money, ``None`` for missing) and the row's
    currency."""

    columns: list[Column]
    rows: list[list]
    currencies: list[str | None]
    totals: list[tuple[list, str | None]]
    label_at: int | None      # column index of the "Total" label


def _missing(v) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _kinds(table: Table) -> dict[str, tuple[str, int]]:
    kinds: dict[str, tuple[str, int]] = {}
    declared = [(table.money, "money"), (table.pct, "pct"), (table.ratio_pct, "ratio"),
                (table.integers, "int"), (table.dates, "date")]
    pairs = [(c, k, 0) for cols, k in declared for c in cols]
    pairs += [(c, "dec", int(n)) for c, n in dict(table.decimals).items()]
    for code, kind, digits in pairs:
        if code not in table.frame.columns:
            raise ValueError(f"table {table.name!r}: column {code!r} ({kind}) is not in the "
                             f"frame; its columns are {list(map(str, table.frame.columns))}")
        if code in kinds and kinds[code][0] != kind:
            raise ValueError(f"table {table.name!r}: column {code!r} is declared both "
                             f"{kinds[code][0]} and {kind}")
        kinds[code] = (kind, digits)
    return kinds


def _currencies(table: Table, n: int) -> list[str | None]:
    frame = table.frame
    if "currency" in frame.columns:
        curs = [None if _missing(c) else str(c) for c in frame["currency"]]
        if table.currency is not None:
            other = sorted({c for c in curs if c is not None and c != table.currency})
            if other:
                raise ValueError(f"table {table.name!r}: currency={table.currency!r} but the "
                                 f"currency column also holds {other}")
    else:
        curs = [table.currency] * n
    for i, cur in enumerate(curs):
        if cur is not None and not is_currency(cur):
            raise ValueError(f"table {table.name!r}: row {i} has currency {cur!r}, not an "
                             f"ISO 4217 code")
    return curs


def _minor(table: Table, code: str, v) -> int | None:
    if _missing(v):
        return None
    try:
        minor = int(v)
        exact = isinstance(v, (int, np.integer)) or minor == v
    except (TypeError, ValueError, OverflowError):
        exact = False
    if not exact or isinstance(v, (str, bool, np.bool_)):
        raise ValueError(f"table {table.name!r}: money column {code!r} must hold integer "
                         f"minor units; got {v!r}")
    return minor


def _raw(table: Table, col: Column, v):
    """A frame value as the plain Python value the renderers take."""
    if col.kind == "money":
        return _minor(table, col.code, v)
    if _missing(v):
        return None
    if col.kind in ("pct", "ratio", "dec"):
        return float(v)
    if col.kind == "int":
        return int(v)
    if col.kind == "date":
        return pd.Timestamp(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    return v


def prepare(table: Table) -> Prepared:
    """Check a :class:`Table` and reduce it to columns, raw rows and total rows.

    Raises
    ------
    ValueError
        A listed column is not in the frame; a money column has no currency (no
        ``currency`` column, no ``currency=``); a currency is not ISO 4217; a money value
        is not an integer; two columns have the same label.
    """
    frame = table.frame
    kinds = _kinds(table)
    if table.columns is not None:
        for code in table.columns:
            if code not in frame.columns and not (code == "currency" and table.currency):
                raise ValueError(f"table {table.name!r}: column {code!r} is not in the frame; "
                                 f"its columns are {list(map(str, frame.columns))}")
        order = {str(k): str(v) for k, v in table.columns.items()}
    else:
        order = {str(c): label_for(c) for c in frame.columns}
    money = [c for c in order if kinds.get(c, ("",))[0] == "money"]
    if table.money and "currency" not in frame.columns and table.currency is None:
        raise ValueError(f"table {table.name!r}: money column {table.money[0]!r} has no "
                         f"currency: the frame has no 'currency' column and no currency= "
                         f"was given")
    if table.currency is not None and not is_currency(table.currency):
        raise ValueError(f"table {table.name!r}: currency={table.currency!r} is not an "
                         f"ISO 4217 code")
    if money and "currency" not in order:
        # amounts are never shown without their currency
        items = list(order.items())
        at = list(order).index(money[0])
        items.insert(at, ("currency", label_for("currency")))
        order = dict(items)
    labels: dict[str, str] = {}
    for code, label in order.items():
        if label in labels:
            raise ValueError(f"table {table.name!r}: columns {labels[label]!r} and {code!r} "
                             f"have the same label {label!r}; give columns= labels")
        labels[label] = code

    columns = []
    for code, label in order.items():
        if code in kinds:
            kind, digits = kinds[code]
        elif code == "currency":
            kind, digits = "currency", 0
        else:
            dtype = frame[code].dtype
            if pd.api.types.is_bool_dtype(dtype):
                kind = "bool"
            elif pd.api.types.is_numeric_dtype(dtype):
                kind = "number"
            elif pd.api.types.is_datetime64_any_dtype(dtype):
                kind = "date"
            else:
                kind = "text"
            digits = 0
        columns.append(Column(code, label, kind, digits))

    n = len(frame)
    curs = (_currencies(table, n) if (money or "currency" in frame.columns or table.currency)
            else [None] * n)
    data = []
    for col in columns:
        if col.code == "currency":
            data.append(curs)
        else:
            data.append([_raw(table, col, v) for v in frame[col.code].tolist()])
    for col, values in zip(columns, data):
        if col.kind == "money":
            for i, (v, cur) in enumerate(zip(values, curs)):
                if v is not None and cur is None:
                    raise ValueError(f"table {table.name!r}: money column {col.code!r} has an "
                                     f"amount in row {i} without a currency")
    rows = [list(r) for r in zip(*data)] if columns else [[] for _ in range(n)]

    label_at = next((i for i, c in enumerate(columns) if c.kind == "text"), None)
    if label_at is None:
        label_at = next((i for i, c in enumerate(columns) if c.kind == "currency"),
                        0 if columns else None)
    totals = _totals(table, columns, rows, curs, label_at) if table.totals else []
    return Prepared(columns, rows, curs, totals, label_at)


def _totals(table, columns, rows, curs, label_at) -> list[tuple[list, str | None]]:
    summed = [i for i, c in enumerate(columns) if c.kind in ("money", "int")]
    if not summed or label_at is None:
        return []
    has_money = any(c.kind == "money" for c in columns)
    groups = sorted({c for c in curs if c is not None}) if has_money else [None]
    if has_money and not groups:
        groups = [table.currency] if table.currency else []
    if not groups:
        return []
    out = []
    for cur in groups:
        sel = [r for r, c in zip(rows, curs) if cur is None or c == cur]
        row: list = [_BLANK] * len(columns)
        for i in summed:
            # Python ints: exact to the minor unit whatever the number of rows
            row[i] = sum(r[i] for r in sel if r[i] is not None)
        for i, c in enumerate(columns):
            if c.kind == "currency":
                row[i] = cur
        label = "Total"
        if columns[label_at].kind == "currency" and cur is not None:
            label = f"Total {cur}"
        row[label_at] = label
        out.append((row, cur))
    return out


def format_cell(col: Column, value, currency: str | None) -> str:
    """The display text of one raw value (see :func:`prepare`)."""
    if value is _BLANK:
        return ""
    if value is None:
        if col.kind in ("pct", "ratio", "dec"):
            return "n/a"
        return "–" if col.kind in ("money", "int", "number") else ""
    kind = col.kind
    if kind == "money":
        return format_amount(value, currency, thousands=True)
    if kind == "pct":
        return f"{value:,.1f} %"
    if kind == "ratio":
        return f"{value * 100:,.1f} %"
    if kind == "int":
        return f"{value:,}"
    if kind == "dec":
        return f"{value:,.{col.digits}f}"
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "number":
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float) and math.isfinite(value):
            return f"{value:,.2f}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def display_frame(table: Table) -> pd.DataFrame:
    """The table as text for people: business labels, amounts with thousands separators
    in each row's currency decimals, percentages with one decimal, total rows last.

    Returns
    -------
    DataFrame
        Strings only; ``attrs["total_rows"]`` is the number of total rows at the end and
        ``attrs["numeric"]`` the labels of the right-aligned columns.
    """
    p = prepare(table)
    texts = {c.label: [format_cell(c, r[i], cur) for r, cur in zip(p.rows, p.currencies)]
             + [format_cell(c, r[i], cur) for r, cur in p.totals]
             for i, c in enumerate(p.columns)}
    out = pd.DataFrame(texts, index=range(len(p.rows) + len(p.totals)), dtype=object)
    out.attrs["total_rows"] = len(p.totals)
    out.attrs["numeric"] = [c.label for c in p.columns if c.numeric]
    out.attrs["kinds"] = {c.label: c.kind for c in p.columns}
    return out


