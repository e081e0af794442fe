"""Problems found in a ledger (file, line, row id, column, value) and the typing pass: text
to exact typed columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from ..money import MINOR_UNITS, parse_amount_array
from .specs import (
    _ANY_CONTROL,
    _FREE_TEXT,
    _FREE_TEXT_CONTROL,
    CHOICE,
    DATE,
    DECIMAL,
    ID,
    INT,
    MONEY,
    NUMBER,
    SUM_LIMIT_MINOR,
    TABLE_ORDER,
    TABLES,
    TEXT,
    TIMESTAMP,
    TableSpec,
)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as precisely as the input allows."""

    table: str
    line: int | None
    column: str | None
    message: str
    row_id: str | None = None
    file: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        line = "" if self.line is None else str(self.line)
        column = self.column or ""
        rid = f" [{self.row_id}]" if self.row_id else ""
        return f"{self.table}:{line}:{column}: {self.message}{rid}"


class LedgerError(ValueError):
    """A ledger that does not validate; ``problems`` holds every problem found."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = sorted(problems, key=problem_sort_key)
        head = f"{len(self.problems)} problem(s) in ledger {source}".rstrip()
        shown = "\n".join(str(p) for p in self.problems[:50])
        more = f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{head}:\n{shown}{more}")


def problem_sort_key(p: Problem):
    order = TABLE_ORDER.index(p.table) if p.table in TABLE_ORDER else len(TABLE_ORDER)
    return (order, p.table, -1 if p.line is None else p.line, p.column or "", p.message)


# --------------------------------------------------------------------------- raw tables

@dataclass
class RawTable:
    """A table as read from its file: every cell text, plus where each row came from."""

    name: str
    frame: pd.DataFrame       # all columns str (empty string for an empty cell)
    lines: np.ndarray         # source line (CSV/Excel, header = line 1) or row number (Parquet)
    file: str
    #: cells (line, column) the reader already named as problems (an Excel formula, the
    #: cells of a merged range): read as empty, never judged again
    named: frozenset = frozenset()


@dataclass
class TypedTable:
    name: str
    frame: pd.DataFrame
    lines: np.ndarray
    file: str


def _row_ids(spec: TableSpec, raw: pd.DataFrame, idx: np.ndarray) -> list[str]:
    keys = [k for k in spec.key if k in raw.columns]
    if not keys:
        return [None] * len(idx)
    # an id holding a control character (reported as such) is shown escaped, never raw
    parts = [[v if str(v).isprintable() else repr(str(v))[1:-1]
              for v in raw[k].to_numpy(dtype=object)[idx]] for k in keys]
    if len(keys) == 1:
        return [f"{keys[0]}={v}" for v in parts[0]]
    return [", ".join(f"{k}={v}" for k, v in zip(keys, vals)) for vals in zip(*parts)]


class _Collector:
    """Gathers problems for one table, locating rows by position."""

    def __init__(self, spec: TableSpec, raw: pd.DataFrame, lines: np.ndarray, file: str,
                 problems: list[Problem], named: frozenset = frozenset()):
        self.spec, self.raw, self.lines, self.file, self.problems = spec, raw, lines, file, problems
        self.named = named

    def add(self, mask_or_idx, column: str | None, message) -> None:
        idx = np.asarray(mask_or_idx)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        if len(idx) and self.named:
            # a cell the reader named already (an Excel formula, a merged range) is one
            # problem, not two
            idx = np.array([i for i in idx if (int(self.lines[i]), column) not in self.named],
                           dtype=np.int64)
        if len(idx) == 0:
            return
        ids = _row_ids(self.spec, self.raw, idx)
        for i, rid in zip(idx, ids):
            msg = message(int(i)) if callable(message) else message
            self.problems.append(Problem(self.spec.name, int(self.lines[i]), column, msg, rid,
                                         self.file))


def _text(raw: pd.DataFrame, name: str) -> pa_arrow.Array:
    """A raw column as an Arrow string array (zero-copy from pandas' Arrow-backed str)."""
    arr = pa_arrow.array(raw[name])
    if isinstance(arr, pa_arrow.ChunkedArray):
        arr = arr.combine_chunks()
    if not pa_arrow.types.is_string(arr.type):
        arr = arr.cast(pa_arrow.string())
    return arr.fill_null("") if arr.null_count else arr


def _strip(values: pa_arrow.Array) -> pa_arrow.Array:
    return pc.utf8_trim_whitespace(values)


def _np(arr) -> np.ndarray:
    return arr.to_numpy(zero_copy_only=False)


def _str_series(values: pa_arrow.Array, null_mask: np.ndarray | None = None) -> pd.Series:
    """Arrow strings -> pandas ``str`` Series (Arrow-backed, no Python objects)."""
    if null_mask is not None and null_mask.any():
        values = pc.if_else(pa_arrow.array(null_mask), pa_arrow.scalar(None, pa_arrow.string()),
                            values)
    return pd.Series(values.to_pandas(), copy=False)


_CURRENCY_CODES = pa_arrow.array(sorted(MINOR_UNITS))
_CURRENCY_DIGITS = np.array([MINOR_UNITS[c] for c in sorted(MINOR_UNITS)], dtype=np.int64)


def parse_dates(values: pa_arrow.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ISO ``YYYY-MM-DD`` text -> datetime64[ns]; returns (dates, empty mask, bad mask)."""
    values = _strip(values)
    empty = _np(pc.equal(values, ""))
    shape_ok = pc.match_substring_regex(values, r"^\d{4}-\d{2}-\d{2}$")
    safe = pc.if_else(shape_ok, values, pa_arrow.scalar("1970-01-01"))
    parsed = pc.strptime(safe, format="%Y-%m-%d", unit="s", error_is_null=True)
    ok = _np(pc.fill_null(pc.and_(shape_ok, pc.is_valid(parsed)), False))
    # a day the month does not have (2026-02-30) must not roll over into the next month
    day = pc.cast(pc.utf8_slice_codeunits(safe, 8, 10), pa_arrow.int64())
    ok &= _np(pc.fill_null(pc.equal(pc.day(pc.fill_null(parsed, 0)), day), False))
    dates = _np(parsed).astype("datetime64[ns]")
    bad = ~ok & ~empty
    dates[~ok] = np.datetime64("NaT")
    return dates, empty, bad


def type_table(raw: RawTable, currencies: dict[str, tuple], report_currency: str,
               problems: list[Problem]) -> TypedTable | None:
    """Type one raw table; every cell that does not parse becomes a :class:`Problem`.

    ``currencies`` maps ``"customer"`` / ``"invoice"`` to (ids, currencies) Arrow arrays,
    used when a row has no currency of its own.
    """
    spec = TABLES[raw.name]
    df = raw.frame
    coll = _Collector(spec, df, raw.lines, raw.file, problems, raw.named)
    missing = [c for c in spec.required if c not in df.columns]
    for c in missing:
        problems.append(Problem(spec.name, None, c,
                                f"required column '{c}' is missing from {raw.file}", None,
                                raw.file))
    if missing:
        return None
    n = len(df)
    out: dict[str, object] = {}
    # currency first: amounts need it
    currency = None
    if "currency" in df.columns:
        currency = _strip(_text(df, "currency"))
        if spec.money_currency_from and spec.money_currency_from != "report":
            inherited = _inherit_currency(spec, df, currencies)
            currency = pc.if_else(pc.equal(currency, ""), inherited, currency)
    elif spec.money_currency_from == "report":
        currency = pa_arrow.array(np.full(n, report_currency, dtype=object), pa_arrow.string())
    elif spec.money_currency_from:
        currency = _inherit_currency(spec, df, currencies)
    cur_ok = None
    digits = np.full(n, 2, dtype=np.int64)
    if currency is not None:
        pos = _np(pc.fill_null(pc.index_in(currency, value_set=_CURRENCY_CODES), -1))
        cur_ok = pos >= 0
        if n and not cur_ok.all():
            # an unknown customer or invoice is reported by the cross-table checks; its
            # currency cannot be inherited and is not reported twice
            unresolved = _unresolved_reference(spec, df, currencies)
            empty_cur = _np(pc.equal(currency, ""))
            bad = np.flatnonzero(~cur_ok & ~(empty_cur & unresolved))
            coll.add(bad, "currency", lambda i: (
                "currency is empty and cannot be inherited" if currency[i].as_py() == ""
                else f"'{currency[i].as_py()}' is not an ISO 4217 currency code"))
        out["currency"] = _str_series(currency, ~cur_ok)
        digits = np.where(cur_ok, _CURRENCY_DIGITS[np.maximum(pos, 0)], 2)

    for col in spec.columns:
        if col.name == "currency" or col.name not in df.columns:
            continue
        values = _text(df, col.name)
        stripped = _strip(values)
        empty = _np(pc.equal(stripped, ""))
        if not col.nullable and empty.any():
            # DATA_MODEL.md: a required column's value is never empty (receipts' payer_name
            # and reference excepted, declared nullable); blanks are shown as they are
            coll.add(empty, col.name, lambda i, v=values, c=col: (
                f"empty value in a required column: {c.name} {v[i].as_py()!r}"))
        if col.kind in (ID, TEXT):
            # DATA_MODEL: ids, names and codes hold no control characters; free text may
            # hold tabs and line breaks, never NUL or the other C0 controls
            pattern = _FREE_TEXT_CONTROL if col.name in _FREE_TEXT else _ANY_CONTROL
            # a fast pass (printable text, the usual case) and the regex on the rest only
            odd = np.flatnonzero(~_np(pc.fill_null(pc.utf8_is_printable(values), True)) & ~empty)
            ctrl = np.zeros(len(empty), dtype=bool)
            if len(odd):
                hit = pc.match_substring_regex(pc.take(values, pa_arrow.array(odd)), pattern)
                ctrl[odd[_np(pc.fill_null(hit, False))]] = True
            coll.add(ctrl, col.name, lambda i, v=values, c=col: (
                f"{c.name} {v[i].as_py()!r} holds a control character "
                f"({', '.join(sorted({f'U+{ord(ch):04X}' for ch in v[i].as_py() if ord(ch) < 32 or ord(ch) == 127}))})"))
            out[col.frame_name] = _str_series(stripped, empty if col.nullable else None)
        elif col.kind == CHOICE:
            allowed = _np(pc.is_in(stripped, value_set=pa_arrow.array(col.choices)))
            bad = ~allowed & ~empty
            coll.add(bad, col.name, lambda i, v=stripped, c=col: (
                f"'{v[i].as_py()}' is not one of {', '.join(c.choices)}"))
            out[col.name] = _str_series(stripped, empty | bad)
        elif col.kind == DATE:
            dates, _, bad = parse_dates(values)
            coll.add(bad, col.name, lambda i, v=values, c=col: (
                f"{c.name} '{v[i].as_py()}' is not a date (YYYY-MM-DD)"))
            out[col.name] = dates
        elif col.kind == TIMESTAMP:
            s = pd.Series(_np(stripped), dtype=object)
            has_offset = s.str.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
            ts = pd.to_datetime(s.where(has_offset.astype(bool)), utc=True, format="ISO8601",
                                errors="coerce")
            bad = ts.isna().to_numpy() & ~empty
            coll.add(bad, col.name, lambda i, v=s, c=col: (
                f"{c.name} '{v[i]}' is not an ISO 8601 timestamp with offset"))
            out[col.name] = ts.dt.as_unit("ns")
        elif col.kind == MONEY:
            minor, bad_fmt, too_many = parse_amount_array(stripped, digits)
            bad_fmt = bad_fmt & ~empty
            if cur_ok is not None:
                too_many = too_many & cur_ok
            coll.add(bad_fmt, col.name, lambda i, v=stripped, c=col: (
                f"{c.name} '{v[i].as_py()}' is not a decimal amount"))
            # every sum must stay exact in int64 minor units: the table's amounts together
            # stay under 2**62 (half the range, for sums of several tables)
            running = np.cumsum(np.abs(minor).astype(np.float64))
            past = running > SUM_LIMIT_MINOR
            if past.any():
                first = int(np.argmax(past))
                coll.add(np.arange(len(minor)) == first, col.name, lambda i, v=stripped, c=col: (
                    f"{c.name} '{v[i].as_py()}': the table's {c.name}s add up past "
                    f"{SUM_LIMIT_MINOR:,} minor units (2^62) here, more than 64-bit integers "
                    "sum exactly; amounts this large are refused"))
            coll.add(too_many, col.name, lambda i, v=stripped, c=col: (
                f"{c.name} '{v[i].as_py()}' has more decimals than {currency[i].as_py()} "
                f"allows ({digits[i]})"))
            if col.nullable:
                out[col.frame_name] = pd.arrays.IntegerArray(minor.astype(np.int64), empty)
            else:
                out[col.frame_name] = minor.astype(np.int64)
        elif col.kind in (INT, NUMBER):
            pattern = r"^[+-]?\d+$" if col.kind == INT else r"^[+-]?(\d+(\.\d*)?|\.\d+)$"
            ok = _np(pc.match_substring_regex(stripped, pattern))
            bad = ~ok & ~empty
            coll.add(bad, col.name, lambda i, v=stripped, c=col: (
                f"{c.name} '{v[i].as_py()}' is not {'a whole number' if c.kind == INT else 'a number'}"))
            safe = pc.if_else(pa_arrow.array(ok), stripped, pa_arrow.scalar("0"))
            safe = pc.replace_substring_regex(safe, r"^\+", "")    # "+30": Arrow's cast refuses "+"
            if col.kind == INT:
                vals = _np(pc.cast(safe, pa_arrow.int64())).astype(np.int64)
                out[col.name] = (pd.arrays.IntegerArray(vals, ~ok) if col.nullable else vals)
            else:
                vals = _np(pc.cast(safe, pa_arrow.float64()))
                out[col.name] = np.where(ok, vals, np.nan)
        elif col.kind == DECIMAL:
            from decimal import Decimal, InvalidOperation
            parsed = []
            for i, v in enumerate(_np(stripped)):
                try:
                    d = Decimal(v)
                    if not d.is_finite() or d <= 0:
                        raise InvalidOperation
                    parsed.append(d)
                except (InvalidOperation, ValueError):
                    parsed.append(None)
                    if v != "":
                        coll.add([i], col.name, f"{col.name} '{v}' is not a positive number")
            out[col.name] = pd.Series(parsed, dtype=object)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    # keep extra columns (text, as read) after the canonical ones
    known = {c.name for c in spec.columns}
    for extra in df.columns:
        if extra not in known and extra not in frame.columns:
            frame[extra] = df[extra].to_numpy()
    return TypedTable(spec.name, frame, raw.lines, raw.file)


def currency_lookup(frame: pd.DataFrame, key: str) -> tuple[pa_arrow.Array, pa_arrow.Array]:
    """(ids, currencies) of a typed table, for inheriting currencies by reference."""
    f = frame[[key, "currency"]].dropna().drop_duplicates(key)
    return pa_arrow.array(f[key], pa_arrow.string()), pa_arrow.array(f["currency"], pa_arrow.string())


def _reference_ids(spec: TableSpec, df: pd.DataFrame, currencies):
    source = spec.money_currency_from
    key = "customer_id" if source == "customer" else "invoice_id"
    lookup = currencies.get(source)
    if source not in ("customer", "invoice") or key not in df.columns or lookup is None:
        return None, None
    return _strip(_text(df, key)), lookup


def _unresolved_reference(spec: TableSpec, df: pd.DataFrame, currencies) -> np.ndarray:
    ids, lookup = _reference_ids(spec, df, currencies)
    if ids is None:
        return np.zeros(len(df), bool)
    empty = _np(pc.equal(ids, ""))
    key = "customer_id" if spec.money_currency_from == "customer" else "invoice_id"
    # an unknown reference is named by the cross-table checks and an empty required one
    # while typing: the currency it cannot give is not named again
    return (~empty & ~_np(pc.is_in(ids, value_set=lookup[0]))) | (empty & ~spec.col(key).nullable)


def _inherit_currency(spec: TableSpec, df: pd.DataFrame, currencies) -> pa_arrow.Array:
    """The currency of each row's customer (or invoice). Rows that name none (a receipt
    from an unidentified payer) take the ledger's only currency when all customers share
    one; otherwise they stay empty and are reported."""
    only = ""
    cust = currencies.get("customer")
    if cust is not None and len(cust[1]):
        distinct = pc.unique(cust[1])
        if len(distinct) == 1:
            only = distinct[0].as_py()
    ids, lookup = _reference_ids(spec, df, currencies)
    if ids is None:
        return pa_arrow.array([only] * len(df), pa_arrow.string())
    pos = pc.index_in(ids, value_set=lookup[0])
    got = pc.take(lookup[1], pos)
    return pc.fill_null(pc.if_else(pc.equal(ids, ""), pa_arrow.scalar(only), got), "")


