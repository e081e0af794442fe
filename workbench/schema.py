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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
from pandera.typing import Series

from .money import MINOR_UNITS, format_amount, parse_amount_array

# --------------------------------------------------------------------------- specs

ID, TEXT, DATE, TIMESTAMP, MONEY, INT, NUMBER, DECIMAL, CURRENCY, CHOICE = (
    "id", "text", "date", "timestamp", "money", "int", "number", "decimal", "currency", "choice")


@dataclass(frozen=True)
class Col:
    """One column of a canonical table."""

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    #: may a present column hold empty cells? Optional columns may (an empty cell is a
    #: value not given); a required column may not, unless DATA_MODEL.md says so
    #: (``receipts.payer_name`` and ``receipts.reference``: a bank line may lack them)
    nullable: bool = False

    @property
    def frame_name(self) -> str:
        """Name inside the Ledger frames: money columns carry ``_minor``."""
        return f"{self.name}_minor" if self.kind == MONEY else self.name


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]          # the row id shown in messages
    unique_key: bool = True       # is ``key`` a primary key?
    money_currency_from: str | None = None  # where money inherits currency when absent

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def money(self) -> list[Col]:
        return [c for c in self.columns if c.kind == MONEY]

    @property
    def may_be_empty(self) -> list[str]:
        """The required columns whose cells may nevertheless be empty (DATA_MODEL.md)."""
        return [c.name for c in self.columns if c.required and c.nullable]


def _c(name, kind, required=True, choices=(), nullable=None):
    """A column; ``nullable`` defaults to "optional columns may be empty, required ones
    may not" (DATA_MODEL.md), so only the exceptions are spelled out below."""
    if nullable is None:
        nullable = not required
    return Col(name, kind, required, tuple(choices), nullable)


ACTIVITY_KINDS = ("call", "email", "letter", "promise_to_pay", "dispute", "escalation",
                  "note", "suspension")
CUSTOMER_STATUS = ("active", "suspended", "closed")
DISPUTE_RESOLUTIONS = ("credit_memo", "paid", "withdrawn", "written_off")
LANGUAGES = ("en", "es", "pt")
#: The customer-master fields a ``customer_changes`` row may change.
CUSTOMER_CHANGE_FIELDS = ("credit_limit", "status", "segment", "collector", "payment_terms_days")

_FREE_TEXT = frozenset({"note", "description", "reference", "reason", "po_number"})
_ANY_CONTROL = "[\\x00-\\x1f\\x7f]"
_FREE_TEXT_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
SUM_LIMIT_MINOR = 2 ** 62    # amounts of one table together, in minor units

TABLES: dict[str, TableSpec] = {t.name: t for t in [
    TableSpec("customers", (
        _c("customer_id", ID), _c("name", TEXT), _c("currency", CURRENCY),
        _c("payment_terms_days", INT),
        _c("country", TEXT, False), _c("segment", TEXT, False), _c("collector", TEXT, False),
        _c("sales_rep", TEXT, False), _c("credit_limit", MONEY, False),
        _c("parent_id", ID, False),
        _c("status", CHOICE, False, CUSTOMER_STATUS),
        _c("language", CHOICE, False, LANGUAGES),
    ), key=("customer_id",)),
    TableSpec("invoices", (
        _c("invoice_id", ID), _c("customer_id", ID), _c("invoice_date", DATE),
        _c("due_date", DATE), _c("amount", MONEY), _c("currency", CURRENCY, False),
        _c("po_number", TEXT, False), _c("description", TEXT, False),
    ), key=("invoice_id",), money_currency_from="customer"),
    TableSpec("credit_memos", (
        _c("credit_memo_id", ID), _c("customer_id", ID), _c("date", DATE), _c("amount", MONEY),
        _c("currency", CURRENCY, False), _c("invoice_id", ID, False),
        _c("reason", TEXT, False),
    ), key=("credit_memo_id",), money_currency_from="customer"),
    TableSpec("receipts", (
        _c("receipt_id", ID), _c("receipt_date", DATE), _c("amount", MONEY),
        # a bank line may carry no payer name or no reference: the two required columns
        # whose cells may be empty
        _c("payer_name", TEXT, nullable=True), _c("reference", TEXT, nullable=True),
        _c("customer_id", ID, False), _c("currency", CURRENCY, False),
        _c("bank_account", TEXT, False), _c("value_date", DATE, False),
    ), key=("receipt_id",), money_currency_from="customer"),
    TableSpec("applications", (
        _c("receipt_id", ID), _c("invoice_id", ID), _c("amount", MONEY),
        _c("applied_date", DATE), _c("currency", CURRENCY, False),
    ), key=("receipt_id", "invoice_id"), unique_key=False, money_currency_from="invoice"),
    TableSpec("disputes", (
        _c("dispute_id", ID), _c("invoice_id", ID), _c("opened_date", DATE),
        _c("reason_code", TEXT), _c("amount", MONEY),
        _c("currency", CURRENCY, False), _c("closed_date", DATE, False),
        _c("resolution", CHOICE, False, DISPUTE_RESOLUTIONS),
    ), key=("dispute_id",), money_currency_from="invoice"),
    TableSpec("write_offs", (
        _c("invoice_id", ID), _c("date", DATE), _c("amount", MONEY), _c("reason", TEXT),
        _c("currency", CURRENCY, False), _c("approved_by", TEXT, False),
    ), key=("invoice_id", "date"), unique_key=False, money_currency_from="invoice"),
    TableSpec("activities", (
        _c("activity_id", ID), _c("customer_id", ID), _c("timestamp", TIMESTAMP),
        _c("kind", CHOICE, choices=ACTIVITY_KINDS), _c("collector", TEXT),
        _c("invoice_id", ID, False), _c("note", TEXT, False),
        _c("promise_date", DATE, False),
        _c("promise_amount", MONEY, False), _c("currency", CURRENCY, False),
    ), key=("activity_id",), money_currency_from="customer"),
    TableSpec("financials", (
        _c("customer_id", ID), _c("period_end", DATE),
        *(_c(n, MONEY) for n in ("current_assets", "current_liabilities", "total_assets",
                                  "total_liabilities", "revenue", "net_income")),
        *(_c(n, MONEY, False) for n in (
            "cash", "inventory", "receivables", "intangibles", "ebit", "interest_expense",
            "operating_cash_flow")),
        _c("currency", CURRENCY, False),
    ), key=("customer_id", "period_end"), money_currency_from="customer"),
    TableSpec("bureau", (
        _c("customer_id", ID), _c("report_date", DATE),
        _c("paydex", NUMBER, False), _c("failure_score", NUMBER, False),
        _c("delinquency_score", NUMBER, False), _c("recommended_limit", MONEY, False),
        _c("years_in_business", NUMBER, False), _c("derogatory_count", INT, False),
        _c("currency", CURRENCY, False),
    ), key=("customer_id", "report_date"), money_currency_from="customer"),
    TableSpec("trade_references", (
        _c("customer_id", ID), _c("reference_name", TEXT),
        _c("report_date", DATE), _c("high_credit", MONEY), _c("balance_owing", MONEY),
        _c("days_beyond_terms", INT), _c("terms_days", INT, False),
        _c("currency", CURRENCY, False),
    ), key=("customer_id", "reference_name", "report_date"), money_currency_from="customer"),
    TableSpec("fx_rates", (
        _c("date", DATE), _c("currency", CURRENCY), _c("rate_to_report", DECIMAL),
    ), key=("date", "currency")),
    TableSpec("reserve_gl", (
        _c("period_end", DATE),
        *(_c(n, MONEY) for n in ("beginning_balance", "provision", "write_offs", "recoveries",
                                  "ending_balance")),
        _c("currency", CURRENCY, False),
    ), key=("period_end",), money_currency_from="report"),
    # the history of the customer master: the value in force on a date is the latest change
    # on or before it (see workbench.master); ``value`` is text, judged by its ``field``
    TableSpec("customer_changes", (
        _c("customer_id", ID), _c("effective_date", DATE),
        _c("field", CHOICE, choices=CUSTOMER_CHANGE_FIELDS), _c("value", TEXT),
    ), key=("customer_id", "effective_date", "field"), unique_key=False),
]}

#: Load order: a table's currency may come from the tables before it.
TABLE_ORDER = list(TABLES)
REQUIRED_TABLES = ("customers", "invoices")


# --------------------------------------------------------------------------- problems

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


# --------------------------------------------------------------------------- pandera models

#: pandera dtype for the ledger's dates (naive datetime64[ns], time of day zero)
DateTimeNs = np.datetime64


class _Base(pa.DataFrameModel):
    class Config:
        strict = False   # extra columns are kept
        coerce = False   # typing already happened, exactly


class CustomerModel(_Base):
    customer_id: Series[str] = pa.Field(unique=True)
    name: Series[str]
    currency: Series[str] = pa.Field(nullable=True)
    payment_terms_days: Series[np.int64] = pa.Field(ge=0, le=3650)
    credit_limit_minor: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, nullable=True)


class InvoiceModel(_Base):
    invoice_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    invoice_date: Series[DateTimeNs] = pa.Field(nullable=True)
    due_date: Series[DateTimeNs] = pa.Field(nullable=True)
    amount_minor: Series[np.int64] = pa.Field(gt=0)

    @pa.dataframe_check
    def due_date_on_or_after_invoice_date(cls, df: pd.DataFrame) -> Series[bool]:
        return ~(df["due_date"] < df["invoice_date"])


class CreditMemoModel(_Base):
    credit_memo_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(gt=0)


class ReceiptModel(_Base):
    receipt_id: Series[str] = pa.Field(unique=True)
    amount_minor: Series[np.int64] = pa.Field(gt=0)


class ApplicationModel(_Base):
    receipt_id: Series[str]
    invoice_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(gt=0)


class DisputeModel(_Base):
    dispute_id: Series[str] = pa.Field(unique=True)
    invoice_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(gt=0)

    @pa.dataframe_check
    def closed_on_or_after_opened(cls, df: pd.DataFrame) -> Series[bool]:
        if "closed_date" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["closed_date"] < df["opened_date"])


class WriteOffModel(_Base):
    invoice_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(ne=0)

    @pa.dataframe_check
    def negative_only_for_recovery(cls, df: pd.DataFrame) -> Series[bool]:
        # A recovery reinstates a written-off receivable (negative write-off) so that the
        # recovered cash can be applied to the invoice: the usual ERP treatment.
        reason = df["reason"].fillna("").str.lower()
        return ~((df["amount_minor"] < 0) & (reason != "recovery"))


class ActivityModel(_Base):
    activity_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]

    @pa.dataframe_check
    def promise_has_date_and_amount(cls, df: pd.DataFrame) -> Series[bool]:
        is_promise = df["kind"] == "promise_to_pay"
        has_date = df["promise_date"].notna() if "promise_date" in df else False
        has_amount = df["promise_amount_minor"].notna() if "promise_amount_minor" in df else False
        return ~(is_promise & ~(has_date & has_amount))


class FinancialsModel(_Base):
    customer_id: Series[str]
    current_assets_minor: Series[np.int64] = pa.Field(ge=0)
    current_liabilities_minor: Series[np.int64] = pa.Field(ge=0)
    total_assets_minor: Series[np.int64] = pa.Field(ge=0)
    total_liabilities_minor: Series[np.int64] = pa.Field(ge=0)


class BureauModel(_Base):
    customer_id: Series[str]
    paydex: Optional[Series[float]] = pa.Field(ge=0, le=100, nullable=True)
    failure_score: Optional[Series[float]] = pa.Field(ge=1, le=100, nullable=True)
    delinquency_score: Optional[Series[float]] = pa.Field(ge=1, le=100, nullable=True)
    recommended_limit_minor: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, nullable=True)
    derogatory_count: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, nullable=True)


class TradeReferenceModel(_Base):
    customer_id: Series[str]
    high_credit_minor: Series[np.int64] = pa.Field(ge=0)
    balance_owing_minor: Series[np.int64] = pa.Field(ge=0)


class ReserveGLModel(_Base):
    period_end: Series[DateTimeNs] = pa.Field(unique=True, nullable=True)

    @pa.dataframe_check
    def rolls_forward(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["beginning_balance_minor"] + df["provision_minor"] - df["write_offs_minor"]
                + df["recoveries_minor"]) == df["ending_balance_minor"]


MODELS: dict[str, type[_Base]] = {
    "customers": CustomerModel, "invoices": InvoiceModel, "credit_memos": CreditMemoModel,
    "receipts": ReceiptModel, "applications": ApplicationModel, "disputes": DisputeModel,
    "write_offs": WriteOffModel, "activities": ActivityModel, "financials": FinancialsModel,
    "bureau": BureauModel, "trade_references": TradeReferenceModel, "reserve_gl": ReserveGLModel,
}

def _cell(raw: pd.DataFrame, i: int, column: str) -> str:
    """A raw cell as the file has it ('' when the column is absent)."""
    return str(raw[column].iloc[i]).strip() if column in raw.columns else ""


def _roll_forward_message(frame: pd.DataFrame, raw: pd.DataFrame, i: int) -> str:
    cur = frame["currency"].iloc[i]
    v = {c: int(frame[f"{c}_minor"].iloc[i]) for c in (
        "beginning_balance", "provision", "write_offs", "recoveries", "ending_balance")}
    got = v["beginning_balance"] + v["provision"] - v["write_offs"] + v["recoveries"]
    return (f"does not roll forward: beginning {_money(v['beginning_balance'], cur)} + provision "
            f"{_money(v['provision'], cur)} - write_offs {_money(v['write_offs'], cur)} + "
            f"recoveries {_money(v['recoveries'], cur)} = {_money(got, cur)}, not the ending "
            f"balance {_money(v['ending_balance'], cur)}")


# dataframe-level checks: the column a failure is reported under, and its message with the
# values that break the rule: (typed frame, raw frame, row) -> text
_FRAME_CHECKS = {
    "due_date_on_or_after_invoice_date": ("due_date", lambda f, r, i: (
        f"due date {_d(f['due_date'].iloc[i])} is before the invoice date "
        f"{_d(f['invoice_date'].iloc[i])}")),
    "closed_on_or_after_opened": ("closed_date", lambda f, r, i: (
        f"closed date {_d(f['closed_date'].iloc[i])} is before the opened date "
        f"{_d(f['opened_date'].iloc[i])}")),
    "negative_only_for_recovery": ("amount", lambda f, r, i: (
        f"amount {_amt(f, i)} with reason {_cell(r, i, 'reason')!r}: a negative write-off "
        "must have reason 'recovery'")),
    "promise_has_date_and_amount": ("promise_date", lambda f, r, i: (
        f"a promise_to_pay needs promise_date and promise_amount (promise_date "
        f"{_cell(r, i, 'promise_date')!r}, promise_amount {_cell(r, i, 'promise_amount')!r})")),
    "rolls_forward": ("ending_balance", _roll_forward_message),
}


# the input columns of each dataframe-level check: skipped where one failed typing
_FRAME_CHECK_INPUTS = {
    "due_date_on_or_after_invoice_date": ("invoice_date", "due_date"),
    "closed_on_or_after_opened": ("opened_date", "closed_date"),
    "negative_only_for_recovery": ("amount", "currency"),
    "promise_has_date_and_amount": ("promise_date", "promise_amount", "currency"),
    "rolls_forward": ("beginning_balance", "provision", "write_offs", "recoveries",
                      "ending_balance", "currency"),
}


def _check_message(check: str, value) -> str:
    if check == "field_uniqueness":
        return f"duplicate id '{value}'"
    if check == "not_nullable":
        return "is empty"
    for op, words in (("greater_than_or_equal_to", "at least"), ("less_than_or_equal_to",
                      "at most"), ("greater_than", "greater than"), ("less_than", "less than"),
                      ("not_equal_to", "different from"), ("in_range", "in range")):
        if check.startswith(op + "("):
            bound = check[len(op) + 1:-1]
            return f"must be {words} {bound}; got {value}"
    return f"fails check {check} (value {value})"


def _unminor(column: str | None) -> str | None:
    if column and column.endswith("_minor"):
        return column[: -len("_minor")]
    return column


def model_checks(table: TypedTable, raw: RawTable, problems: list[Problem]) -> None:
    """Run the table's pandera model (lazily: all failures) and record each as a Problem."""
    model = MODELS.get(table.name)
    if model is None or table.frame.empty:
        return
    spec = TABLES[table.name]
    coll = _Collector(spec, raw.frame, raw.lines, raw.file, problems, raw.named)
    # cells that failed typing hold placeholders: their rules are not checked again
    typed_bad = {(p.line, p.column) for p in problems if p.table == table.name} | raw.named
    try:
        model.validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()]
        seen: set[tuple] = set()
        for row in fc.itertuples(index=False):
            i = int(row.index)
            if row.check in _FRAME_CHECKS:
                column, describe = _FRAME_CHECKS[row.check]
                if any((int(raw.lines[i]), c) in typed_bad
                       for c in _FRAME_CHECK_INPUTS.get(row.check, ())):
                    continue      # an input failed typing: its placeholder is not judged
                message = describe(table.frame, raw.frame, i)
            else:
                column = _unminor(row.column)
                if row.check == "not_nullable":
                    continue  # already reported while typing (empty or unparseable cell)
                value = row.failure_case
                if column and column != row.column and value is not None:
                    cur = table.frame["currency"].iloc[i] if "currency" in table.frame else None
                    try:
                        value = format_amount(int(value), cur) if cur in MINOR_UNITS else value
                    except (TypeError, ValueError):
                        pass
                message = _check_message(row.check, value)
            line = int(raw.lines[i])
            if (i, column, message) in seen or (line, column) in typed_bad:
                continue
            if (line, "currency") in typed_bad and row.column and str(row.column).endswith("_minor"):
                continue  # an amount in an unknown currency cannot be judged
            seen.add((i, column, message))
            coll.add([i], column, message)


# --------------------------------------------------------------------------- cross-table

class IdIndex:
    """Row positions by id (Arrow hash lookups); with duplicate ids (reported elsewhere)
    the first row wins."""

    def __init__(self, ids: pd.Series):
        self._ids = _ids_array(ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, pos: int):
        return self._ids[int(pos)].as_py()

    def get_indexer(self, ids) -> np.ndarray:
        got = pc.index_in(_ids_array(ids), value_set=self._ids)
        return _np(pc.fill_null(got, -1)).astype(np.int64)


def _ids_array(ids) -> pa_arrow.Array:
    arr = pa_arrow.array(ids, pa_arrow.string()) if not isinstance(ids, pa_arrow.Array) else ids
    if isinstance(arr, pa_arrow.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _positions(ids: pd.Series, index: IdIndex) -> np.ndarray:
    return index.get_indexer(ids) if len(ids) else np.zeros(0, np.int64)


def cross_checks(tables: dict[str, TypedTable], raws: dict[str, RawTable],
                 problems: list[Problem], positions: dict | None = None) -> None:
    """Rules that look across tables. Each problem names the row that breaks the rule.

    ``positions``, when given, receives the id -> row lookups computed on the way
    (``(table, column, target, target_column) -> positions``), for the Ledger to reuse.
    """
    positions = {} if positions is None else positions
    customers = tables.get("customers")
    invoices = tables.get("invoices")
    cust_index = IdIndex(customers.frame["customer_id"] if customers else pd.Series([], dtype="str"))
    inv_index = IdIndex(invoices.frame["invoice_id"] if invoices else pd.Series([], dtype="str"))

    def coll(name):
        raw = raws[name]
        return _Collector(TABLES[name], raw.frame, raw.lines, raw.file, problems, raw.named)

    # rows whose amount or currency failed typing hold placeholders: balances built on them
    # are not judged (the cell itself was named), or a bad amount would also read as an
    # over-application of it
    unreadable_lines = {}
    for p in problems:
        if p.column in ("amount", "currency") and p.line is not None:
            unreadable_lines.setdefault(p.table, set()).add(p.line)

    def unreadable(name) -> np.ndarray:
        raw = raws[name]
        bad = unreadable_lines.get(name)
        if not bad:
            return np.zeros(len(raw.lines), bool)
        return np.isin(raw.lines, np.fromiter(bad, np.int64))

    # unknown customers ------------------------------------------------------
    for name in ("invoices", "credit_memos", "receipts", "activities", "financials", "bureau",
                 "trade_references", "customer_changes", "customers"):
        t = tables.get(name)
        if t is None or customers is None:
            continue
        col = "parent_id" if name == "customers" else "customer_id"
        if col not in t.frame:
            continue
        ids = t.frame[col]
        present = ids.notna().to_numpy() & (ids.fillna("") != "").to_numpy()
        pos = _positions(ids.fillna(""), cust_index)
        positions[(name, col, "customers", "customer_id")] = pos
        bad = present & (pos < 0)
        coll(name).add(bad, col, lambda i, ids=ids: f"unknown customer '{ids.iloc[i]}'")

    # unknown invoices -------------------------------------------------------
    for name in ("credit_memos", "applications", "disputes", "write_offs", "activities"):
        t = tables.get(name)
        if t is None or invoices is None or "invoice_id" not in t.frame:
            continue
        ids = t.frame["invoice_id"]
        present = ids.notna().to_numpy() & (ids.fillna("") != "").to_numpy()
        pos = _positions(ids.fillna(""), inv_index)
        positions[(name, "invoice_id", "invoices", "invoice_id")] = pos
        bad = present & (pos < 0)
        coll(name).add(bad, "invoice_id", lambda i, ids=ids: f"unknown invoice '{ids.iloc[i]}'")

    # customer of a credit memo matches the invoice's customer
    cms = tables.get("credit_memos")
    if cms is not None and invoices is not None and "invoice_id" in cms.frame:
        pos = _positions(cms.frame["invoice_id"].fillna(""), inv_index)
        has = pos >= 0
        inv_cust = np.where(has, invoices.frame["customer_id"].to_numpy(dtype=object)[np.maximum(pos, 0)], None)
        bad = has & (inv_cust != cms.frame["customer_id"].to_numpy(dtype=object))
        coll("credit_memos").add(bad, "customer_id", lambda i: (
            f"credit memo customer '{cms.frame['customer_id'].iloc[i]}' differs from invoice "
            f"customer '{inv_cust[i]}'"))

    # applications: receipts known, currencies agree, dates, over-application of receipts
    apps = tables.get("applications")
    receipts = tables.get("receipts")
    if apps is not None:
        if receipts is None:
            coll("applications").add(np.ones(len(apps.frame), bool), "receipt_id", lambda i: (
                f"unknown receipt '{apps.frame['receipt_id'].iloc[i]}' (no receipts table)"))
        else:
            rec_index = IdIndex(receipts.frame["receipt_id"])
            rpos = _positions(apps.frame["receipt_id"], rec_index)
            positions[("applications", "receipt_id", "receipts", "receipt_id")] = rpos
            coll("applications").add(rpos < 0, "receipt_id", lambda i: (
                f"unknown receipt '{apps.frame['receipt_id'].iloc[i]}'"))
            ok = rpos >= 0
            r_unreadable = unreadable("receipts")[np.maximum(rpos, 0)]
            r_date = receipts.frame["receipt_date"].to_numpy()[np.maximum(rpos, 0)]
            a_date = apps.frame["applied_date"].to_numpy()
            before = ok & (a_date < r_date)
            coll("applications").add(before, "applied_date", lambda i: (
                f"applied {_d(a_date[i])}, before its receipt dated {_d(r_date[i])}"))
            r_cur = receipts.frame["currency"].to_numpy(dtype=object)[np.maximum(rpos, 0)]
            a_cur = apps.frame["currency"].to_numpy(dtype=object)
            badcur = ok & (r_cur != a_cur) & pd.notna(r_cur) & pd.notna(a_cur)
            coll("applications").add(badcur, "currency", lambda i: (
                f"applies a {r_cur[i]} receipt to a {a_cur[i]} invoice"))
            # a receipt applied beyond its amount: the application that tips it over
            _over_applied(
                key=rpos, date=a_date, amount=apps.frame["amount_minor"].to_numpy(),
                cap=receipts.frame["amount_minor"].to_numpy(),
                valid=ok & ~r_unreadable & ~unreadable("applications"),
                on_fail=lambda rows, reach: coll("applications").add(rows, "amount", lambda i: (
                    f"over-applies receipt '{apps.frame['receipt_id'].iloc[i]}': applications "
                    f"reach {_money(reach[i], apps.frame['currency'].iloc[i])} of its "
                    f"{_money(receipts.frame['amount_minor'].iloc[rpos[i]], apps.frame['currency'].iloc[i])}")))

    # invoice balances: applications, credit memos and write-offs over time -------------
    if invoices is not None:
        _invoice_balance_checks(tables, inv_index, coll, unreadable)

    # disputes above the invoice amount
    disputes = tables.get("disputes")
    if disputes is not None and invoices is not None:
        pos = _positions(disputes.frame["invoice_id"], inv_index)
        ok = pos >= 0
        inv_amt = invoices.frame["amount_minor"].to_numpy()[np.maximum(pos, 0)]
        bad = ok & (disputes.frame["amount_minor"].to_numpy() > inv_amt)
        coll("disputes").add(bad, "amount", lambda i: (
            f"disputed amount {_amt(disputes.frame, i)} is above the invoice amount "
            f"{_money(inv_amt[i], disputes.frame['currency'].iloc[i])}"))

    # customer_changes: each value valid for its field, one value per customer, day and field
    changes = tables.get("customer_changes")
    if changes is not None and customers is not None and len(changes.frame):
        _customer_change_checks(changes, customers, positions.get(
            ("customer_changes", "customer_id", "customers", "customer_id")),
            coll("customer_changes"), problems)

    # reserve_gl: each period begins where the previous one ended
    gl = tables.get("reserve_gl")
    if gl is not None and len(gl.frame) > 1:
        order = np.argsort(gl.frame["period_end"].to_numpy(), kind="stable")
        beg = gl.frame["beginning_balance_minor"].to_numpy()[order]
        end = gl.frame["ending_balance_minor"].to_numpy()[order]
        brk = np.flatnonzero(beg[1:] != end[:-1]) + 1
        prev = {int(order[k]): int(order[k - 1]) for k in brk}
        coll("reserve_gl").add(order[brk], "beginning_balance", lambda i: (
            f"beginning balance {_amt(gl.frame, i, 'beginning_balance_minor')} does not equal "
            f"the previous period's ending balance "
            f"{_amt(gl.frame, prev[i], 'ending_balance_minor')} "
            f"({_d(gl.frame['period_end'].iloc[prev[i]])})"))


def _d(x) -> str:
    return str(np.datetime64(x, "D"))


def _money(minor, currency) -> str:
    return format_amount(int(minor), currency) if currency in MINOR_UNITS else str(minor)


def _amt(frame: pd.DataFrame, i: int, col: str = "amount_minor") -> str:
    cur = frame["currency"].iloc[i]
    v = frame[col].iloc[i]
    return format_amount(int(v), cur) if cur in MINOR_UNITS else str(v)


def _over_applied(key, date, amount, cap, valid, on_fail) -> None:
    """Flag rows at which the running total per key (in date order) exceeds ``cap[key]``."""
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return
    order = idx[np.lexsort((idx, date[idx], key[idx]))]
    k = key[order]
    running = _grouped_cumsum(k, amount[order])
    over = running > cap[k]
    rows = order[over]
    reach = np.zeros(len(key), dtype=np.int64)
    reach[order] = running
    on_fail(rows, reach)


def _grouped_cumsum(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each new key (keys sorted), exact int64."""
    total = np.cumsum(values, dtype=np.int64)
    if len(keys) == 0:
        return total
    starts = np.r_[True, keys[1:] != keys[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
    base = (total - values)[group_start]
    return total - base


def _invoice_balance_checks(tables, inv_index, coll, unreadable=None) -> None:
    """Walk each invoice's reducing events in date order; flag the event that takes the
    open balance below zero (over-application, credit above balance, write-off above the
    open balance) and a recovery above what was written off.

    Same-day order: reinstatements (recoveries) first, then cash, credit memos, then
    write-offs, so that a same-day write-off of the remainder is accepted.
    """
    invoices = tables["invoices"]
    inv_amount = invoices.frame["amount_minor"].to_numpy()
    inv_unreadable = (unreadable("invoices") if unreadable is not None
                      else np.zeros(len(inv_amount), bool))
    inv_cur = invoices.frame["currency"].to_numpy(dtype=object)
    parts = []
    sources = (("write_offs", "date", 0, True), ("applications", "applied_date", 1, False),
               ("credit_memos", "date", 2, False), ("write_offs", "date", 3, False))
    for name, date_col, rank, recoveries in sources:
        t = tables.get(name)
        if t is None or "invoice_id" not in t.frame:
            continue
        pos = _positions(t.frame["invoice_id"].fillna(""), inv_index)
        amount = t.frame["amount_minor"].to_numpy()
        sel = (pos >= 0) & ~inv_unreadable[np.maximum(pos, 0)]
        if unreadable is not None:
            sel &= ~unreadable(name)
        if name == "write_offs":
            sel &= (amount < 0) if recoveries else (amount > 0)
        rows = np.flatnonzero(sel)
        if not len(rows):
            continue
        parts.append(pd.DataFrame({
            "inv": pos[rows], "date": t.frame[date_col].to_numpy()[rows], "rank": rank,
            "amount": amount[rows], "table": name, "row": rows,
            "currency": t.frame["currency"].to_numpy(dtype=object)[rows]}))
    if not parts:
        return
    ev = pd.concat(parts, ignore_index=True)
    # currencies must agree with the invoice's (applications, credit memos, write-offs)
    # (a row whose own currency could not be read was reported while typing)
    own_cur = ev["currency"].to_numpy(dtype=object)
    badcur = (own_cur != inv_cur[ev["inv"].to_numpy()]) & pd.notna(own_cur)
    for name, grp in ev[badcur & (ev["table"] != "applications").to_numpy()].groupby("table"):
        rows = grp["row"].to_numpy()
        ccy = inv_cur[grp["inv"].to_numpy()]
        own = grp["currency"].to_numpy(dtype=object)
        coll(name).add(rows, "currency", lambda i, m=dict(zip(rows, zip(own, ccy))): (
            f"currency {m[i][0]} differs from its invoice's ({m[i][1]})"))
    ev = ev.sort_values(["inv", "date", "rank", "row"], kind="stable").reset_index(drop=True)
    inv = ev["inv"].to_numpy()
    amt = ev["amount"].to_numpy()
    running = _grouped_cumsum(inv, amt)
    balance_after = inv_amount[inv] - running
    over = balance_after < 0
    # cumulative written off must stay >= 0 (a recovery cannot exceed the write-offs)
    is_wo = ev["table"].to_numpy() == "write_offs"
    wo_running = _grouped_cumsum(inv, np.where(is_wo, amt, 0))
    over_recovered = is_wo & (amt < 0) & (wo_running < 0)
    balance_before = balance_after + amt
    labels = {"applications": "over-applies invoice", "credit_memos": "credits invoice",
              "write_offs": "writes off invoice"}
    bad = ev[over | over_recovered]
    for name, grp in bad.groupby("table"):
        rows = grp["row"].to_numpy()
        info = dict(zip(rows, zip(grp.index.to_numpy(), grp["inv"].to_numpy())))

        def msg(i, info=info, name=name):
            k, p = info[i]
            cur = inv_cur[p]
            if over_recovered[k]:
                return (f"recovery of {format_amount(-int(amt[k]), cur)} exceeds what was "
                        f"written off on invoice '{inv_index[p]}'")
            if balance_before[k] < 0:
                return (f"{labels[name]} '{inv_index[p]}' by {format_amount(int(amt[k]), cur)}, "
                        f"which is already over-applied on {_d(ev['date'].iloc[k])}")
            return (f"{labels[name]} '{inv_index[p]}' beyond its open balance: "
                    f"{format_amount(int(amt[k]), cur)} against "
                    f"{format_amount(int(balance_before[k]), cur)} open on "
                    f"{_d(ev['date'].iloc[k])}")
        coll(name).add(rows, "amount", msg)


def _customer_change_checks(changes: TypedTable, customers: TypedTable, cpos: np.ndarray | None,
                            coll: _Collector, problems: list[Problem]) -> None:
    """The ``value`` of each ``customer_changes`` row, judged by its ``field``: a credit
    limit is an amount (>= 0) in the customer's currency, a status one of
    active/suspended/closed, payment terms a whole number of days (0 to 3650); and one
    customer, day and field may not hold two different values."""
    f = changes.frame
    n = len(f)
    if cpos is None:
        cpos = _positions(f["customer_id"].fillna(""), IdIndex(customers.frame["customer_id"]))
    # rows whose field, value or date failed typing were reported already
    lines = np.asarray(coll.lines, dtype=np.int64)
    typed_bad = [p.line for p in problems if p.table == "customer_changes"
                 and p.column in ("field", "value") and p.line is not None]
    skip = np.isin(lines, np.array(typed_bad, np.int64))
    field = f["field"].astype(object).fillna("").to_numpy(dtype=object)
    value = f["value"].astype(object).fillna("").to_numpy(dtype=object)
    known = (cpos >= 0) & ~skip
    # credit_limit: an exact amount in the customer's currency, never negative
    is_limit = known & (field == "credit_limit")
    if is_limit.any():
        idx = np.flatnonzero(is_limit)
        cur = customers.frame["currency"].to_numpy(dtype=object)[cpos[idx]]
        has_cur = np.array([c in MINOR_UNITS for c in cur], dtype=bool)
        idx, cur = idx[has_cur], cur[has_cur]
        digits = np.array([MINOR_UNITS[c] for c in cur], dtype=np.int64)
        minor, bad_fmt, too_many = parse_amount_array(
            pa_arrow.array(value[idx].tolist(), pa_arrow.string()), digits)
        msgs = {}
        for k, i in enumerate(idx):
            v = value[i]
            if bad_fmt[k]:
                msgs[i] = (f"credit_limit '{v}' is not a decimal amount in {cur[k]} (the "
                           f"customer's currency)")
            elif too_many[k]:
                msgs[i] = (f"credit_limit '{v}' has more decimals than {cur[k]} allows "
                           f"({digits[k]})")
            elif minor[k] < 0:
                msgs[i] = f"credit_limit '{v}' must be at least 0"
        coll.add(np.array(sorted(msgs), dtype=np.int64), "value", lambda i: msgs[i])
    # status: one of the customer statuses
    is_status = known & (field == "status")
    bad = is_status & ~np.isin(value, CUSTOMER_STATUS)
    coll.add(bad, "value", lambda i: (f"status '{value[i]}' is not one of "
                                      f"{', '.join(CUSTOMER_STATUS)}"))
    # payment terms: whole days
    is_terms = known & (field == "payment_terms_days")
    if is_terms.any():
        text = pd.Series(value, dtype=object)
        whole = text.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool)
        days = np.where(whole, pd.to_numeric(text.where(whole, "0"), errors="coerce"), 0)
        coll.add(is_terms & ~whole, "value", lambda i: (
            f"payment_terms_days '{value[i]}' is not a whole number of days"))
        coll.add(is_terms & whole & ((days < 0) | (days > 3650)), "value", lambda i: (
            f"payment_terms_days '{value[i]}' must be between 0 and 3650"))
    # one value per (customer, effective date, field), among the rows otherwise valid
    bad_lines = {p.line for p in problems if p.table == "customer_changes"}
    skip = np.isin(lines, np.array([x for x in bad_lines if x is not None], np.int64))
    dates = f["effective_date"].to_numpy()
    frame = pd.DataFrame({"c": f["customer_id"].astype(object).to_numpy(), "d": dates,
                          "f": field, "v": value, "row": np.arange(n)})
    frame = frame[~skip & ~pd.isna(dates)]
    first_v = frame.groupby(["c", "d", "f"], sort=False)["v"].transform("first")
    first_row = frame.groupby(["c", "d", "f"], sort=False)["row"].transform("first")
    clash = frame[(frame["v"] != first_v).to_numpy()]
    if len(clash):
        other = dict(zip(clash["row"], first_row[clash.index]))
        coll.add(clash["row"].to_numpy(), "value", lambda i: (
            f"{field[i]} of customer '{frame.loc[frame['row'] == i, 'c'].iloc[0]}' on "
            f"{_d(dates[i])} is '{value[i]}' here but '{value[other[i]]}' on line "
            f"{int(lines[other[i]])}: one value per customer, date and field"))
