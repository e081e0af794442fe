"""The customer master as of a date: credit limit, status, segment, collector and payment
terms as they stood that day, from the ``customer_changes`` history.

>>> from workbench import Ledger
>>> from workbench.master import customers_as_of
>>> master, notes = customers_as_of(Ledger.load("data/demo"), "2026-06-30")   # doctest: +SKIP

DATA_MODEL.md: the value in force on a date is the latest change on or before it, else the
``customers`` row. Three refinements, all so that nothing known only later is used:

- when a field's only changes for a customer are *after* the date, the ``customers`` row
  shows the value after them: the value on the date is **unknown** (NaN, and a note);
- without a ``customer_changes`` table, a date before the master's date (the ledger's last
  business date) has no history to read: ``without_history="strict"`` (the default) leaves
  every field unknown, ``"assume_unchanged"`` takes today's values and says so (a stated
  judgement, never silent);
- on or after the master's date (the current date) the ``customers`` row is the answer.

Money stays exact: ``credit_limit`` comes back as ``credit_limit_minor``, integer minor units
of the customer's currency (pandas ``Int64``, NA where unknown), parsed once through
:mod:`workbench.money`; ``payment_terms_days`` as ``Int64``; the text fields as objects (NaN
where unknown). Everything is vectorised (one ``searchsorted`` per field) and cached on the
ledger per (date, fields, mode), so 1M-invoice ledgers with 50k changes answer in
milliseconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ledger import Ledger, to_date
from .money import minor_units_array, parse_amount_array
from .schema import CUSTOMER_CHANGE_FIELDS

__all__ = ["MASTER_FIELDS", "WITHOUT_HISTORY", "customers_as_of", "master_as_of",
           "master_values", "master_table_as_of", "field_column", "MasterHistory"]

#: The customer-master fields ``customer_changes`` may change, in the order views show them.
MASTER_FIELDS = CUSTOMER_CHANGE_FIELDS
#: What a past date does without a ``customer_changes`` table.
WITHOUT_HISTORY = ("strict", "assume_unchanged")
_NUMERIC = ("credit_limit", "payment_terms_days")
_DAY_OFFSET = np.int64(1 << 31)      # day numbers may be negative (before 1970)
_KEY_STRIDE = np.int64(1 << 32)


def field_column(field: str) -> str:
    """The column a master field has in the ledger's frames (money carries ``_minor``)."""
    return "credit_limit_minor" if field == "credit_limit" else field


def _check_fields(fields) -> tuple[str, ...]:
    if isinstance(fields, str):
        fields = (fields,)
    fields = tuple(fields)
    bad = [f for f in fields if f not in MASTER_FIELDS]
    if bad:
        raise ValueError(f"fields must be among {', '.join(MASTER_FIELDS)}; got {bad[0]!r}")
    return fields


def _check_mode(without_history: str) -> str:
    if without_history not in WITHOUT_HISTORY:
        raise ValueError(f"without_history must be one of {', '.join(WITHOUT_HISTORY)}; "
                         f"got {without_history!r}")
    return without_history


def _days(values) -> np.ndarray:
    """Dates -> int64 day numbers (NaT -> a very small number, never matched)."""
    arr = np.asarray(pd.to_datetime(values), dtype="datetime64[ns]").astype("datetime64[D]")
    out = arr.astype(np.int64)
    out[np.isnat(arr)] = -(1 << 30)
    return out


class MasterHistory:
    """The master and its change history, indexed for fast as-of lookups.

    Parameters
    ----------
    customers : DataFrame
        The ``customers`` table (today's master; ``credit_limit_minor`` in minor units).
    changes : DataFrame or None
        ``customer_changes`` (customer_id, effective_date, field, value as text); None when
        the ledger has no such table.
    master_date : date, optional
        The date the ``customers`` rows reflect (the ledger's last business date). None:
        not known, so every date is read from the history; without a history the
        ``customers`` row is taken as it is (no point-in-time protection is possible).
    """

    def __init__(self, customers: pd.DataFrame, changes: pd.DataFrame | None = None,
                 master_date=None):
        from .schema import IdIndex

        self.customers = customers
        self.changes = changes
        self.master_day = None if master_date is None else int(_days([to_date(master_date)])[0])
        self._index = IdIndex(customers["customer_id"].astype(str))
        self._fields: dict[str, tuple] = {}
        self._master: dict[str, tuple] = {}

    # ------------------------------------------------------------------ lookups
    def positions(self, customer_ids) -> np.ndarray:
        """Row positions in ``customers`` of ids (-1 where unknown)."""
        ids = pd.Series(customer_ids, dtype=object).fillna("").astype(str)
        return self._index.get_indexer(ids) if len(ids) else np.zeros(0, np.int64)

    def _digits(self) -> np.ndarray:
        return minor_units_array(self.customers["currency"].to_numpy(dtype=object))

    def master(self, field: str) -> tuple[np.ndarray, np.ndarray]:
        """(values, present) of today's master for a field, aligned with ``customers``."""
        if field not in self._master:
            col = field_column(field)
            n = len(self.customers)
            if col not in self.customers:
                vals = np.zeros(n, np.int64) if field in _NUMERIC else np.full(n, np.nan, object)
                present = np.zeros(n, bool)
            elif field in _NUMERIC:
                s = self.customers[col]
                present = s.notna().to_numpy()
                vals = s.fillna(0).to_numpy(dtype=np.int64)
            else:
                s = self.customers[col]
                present = s.notna().to_numpy()
                vals = s.astype(object).where(s.notna(), np.nan).to_numpy(dtype=object)
            self._master[field] = (vals, present)
        return self._master[field]

    def history(self, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sorted keys, values, customers with any change) of one field's changes."""
        if field not in self._fields:
            n = len(self.customers)
            ch = self.changes
            if ch is None or not len(ch):
                keys = np.zeros(0, np.int64)
                vals = np.zeros(0, np.int64) if field in _NUMERIC else np.zeros(0, object)
                self._fields[field] = (keys, vals, np.zeros(n, bool))
                return self._fields[field]
            sel = (ch["field"].astype(str) == field).to_numpy()
            sub = ch[sel]
            cpos = self.positions(sub["customer_id"].to_numpy(dtype=object))
            ok = cpos >= 0
            cpos = cpos[ok]
            day = _days(sub["effective_date"].to_numpy())[ok]
            text = sub["value"].astype(object).fillna("").astype(str).str.strip().to_numpy(
                dtype=object)[ok]
            vals = self._typed(field, text, cpos)
            key = cpos.astype(np.int64) * _KEY_STRIDE + (day + _DAY_OFFSET)
            # same customer and day: the later row wins (validation refuses two different
            # values for one day, so this only settles repeated identical rows)
            order = np.lexsort((np.arange(len(key)), key))
            has = np.zeros(n, bool)
            has[cpos] = True
            self._fields[field] = (key[order], vals[order], has)
        return self._fields[field]

    def _typed(self, field: str, text: np.ndarray, cpos: np.ndarray) -> np.ndarray:
        if field == "credit_limit":
            import pyarrow as pa
            digits = self._digits()[cpos]
            minor, bad, too_many = parse_amount_array(pa.array(text.tolist(), pa.string()), digits)
            wrong = np.asarray(bad) | np.asarray(too_many)
            if wrong.any():
                i = int(np.flatnonzero(wrong)[0])
                raise ValueError(f"customer_changes: credit_limit '{text[i]}' is not a valid "
                                 f"amount in the customer's currency")
            return np.asarray(minor, dtype=np.int64)
        if field == "payment_terms_days":
            s = pd.Series(text, dtype=object)
            okay = s.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy()
            if not okay.all():
                i = int(np.flatnonzero(~okay)[0])
                raise ValueError(f"customer_changes: payment_terms_days '{text[i]}' is not a "
                                 f"whole number")
            return s.astype(np.int64).to_numpy()
        return text

    def values_at(self, field: str, cpos: np.ndarray, days: np.ndarray,
                  without_history: str = "strict") -> tuple[np.ndarray, np.ndarray, dict]:
        """The field for customers ``cpos`` on days ``days`` (int64 day numbers).

        Returns (values, known, counts): values (int64 for numeric fields: meaningful only
        where ``known``; object otherwise, NaN where unknown), ``known`` (False where the
        value on the day cannot be known, or the customer is unknown) and counts of the
        unknown by reason (``after_only``, ``no_history``, ``assumed``).
        """
        cpos = np.asarray(cpos, dtype=np.int64)
        days = np.broadcast_to(np.asarray(days, dtype=np.int64), cpos.shape)
        mvals, mpresent = self.master(field)
        numeric = field in _NUMERIC
        n = len(cpos)
        valid = cpos >= 0
        safe = np.where(valid, cpos, 0)
        out = mvals[safe].copy() if n else mvals[:0].copy()
        known = valid & mpresent[safe] if n else np.zeros(0, bool)
        counts = {"after_only": 0, "no_history": 0, "assumed": 0}
        if self.master_day is not None:
            current = days >= self.master_day
        else:   # the master's date is not known: the history decides, else the master does
            current = np.full(n, self.changes is None)
        past = valid & ~current
        if self.changes is None:
            if without_history == "strict":
                known &= ~past
                counts["no_history"] = int(np.unique(cpos[past]).size)
            else:
                counts["assumed"] = int(np.unique(cpos[past]).size)
        elif past.any():
            keys, cvals, has = self.history(field)
            q = safe * _KEY_STRIDE + (days + _DAY_OFFSET)
            hit = np.zeros(n, bool)
            if len(keys):
                at = np.searchsorted(keys, q, side="right") - 1
                hit = (at >= 0) & ((keys[np.maximum(at, 0)] // _KEY_STRIDE) == safe)
                hit &= past
                out[hit] = cvals[at[hit]]
                known[hit] = True
            after_only = past & ~hit & has[safe]
            known &= ~after_only
            counts["after_only"] = int(np.unique(cpos[after_only]).size)
        if not numeric:
            out = out.astype(object)
            out[~known] = np.nan
        return out, known, counts


def _summary_notes(fields, D, counts_by_field, master_date, has_table, mode, columns
                   ) -> list[str]:
    notes: list[str] = []
    for f in fields:
        if counts_by_field[f]["after_only"]:
            notes.append(f"{counts_by_field[f]['after_only']} customer(s)' {f} on {D.date()} is "
                         f"unknown: customer_changes shows a change after that date and none "
                         f"before")
    if not has_table:
        lacking = [f for f in fields if field_column(f) in columns and (
            counts_by_field[f]["no_history"] or counts_by_field[f]["assumed"])]
        if lacking:
            what = " and ".join(lacking)
            md = "" if master_date is None else f"the master is as of {to_date(master_date).date()}; "
            if mode == "assume_unchanged":
                notes.append(f"no customer_changes table: customer {what} on {D.date()} taken "
                             f"from today's master ({md}assume_unchanged)")
            else:
                notes.append(f"no customer_changes table: customer {what} on {D.date()} unknown "
                             f"({md}strict: not used)")
    return notes


def master_as_of(customers: pd.DataFrame, as_of, changes: pd.DataFrame | None = None,
                 master_date=None, without_history: str = "strict",
                 fields: tuple[str, ...] = MASTER_FIELDS, _history: MasterHistory | None = None
                 ) -> tuple[pd.DataFrame, list[str]]:
    """The customer master's ``fields`` as they stood on ``as_of`` (plain frames).

    Parameters
    ----------
    customers : DataFrame
        The ``customers`` table (today's master).
    as_of : date
    changes : DataFrame, optional
        ``customer_changes`` (customer_id, effective_date, field, value); None when the
        ledger has no such table.
    master_date : date, optional
        The date the master reflects (the ledger's last business date): on or after it the
        ``customers`` row is the answer.
    without_history : {"strict", "assume_unchanged"}
        Without ``changes`` and with ``as_of`` before ``master_date``: ``strict`` leaves the
        fields unknown (NaN), ``assume_unchanged`` uses today's values (a stated judgement).
    fields : tuple of str
        Among ``credit_limit, status, segment, collector, payment_terms_days``.

    Returns
    -------
    (DataFrame, list of str)
        One row per customer, in ``customers`` order: ``customer_id``, ``currency`` (when
        ``credit_limit`` is asked for) and the fields (``credit_limit_minor`` Int64 minor
        units, ``payment_terms_days`` Int64, text as objects; NaN/NA where unknown), and
        notes saying what could not be known.
    """
    fields = _check_fields(fields)
    mode = _check_mode(without_history)
    D = to_date(as_of)
    hist = _history or MasterHistory(customers, changes, master_date)
    n = len(customers)
    cpos = np.arange(n, dtype=np.int64)
    day = int(_days([D])[0])
    out = pd.DataFrame({"customer_id": customers["customer_id"].to_numpy()})
    if "credit_limit" in fields and "currency" in customers:
        out["currency"] = customers["currency"].to_numpy()
    counts_by_field = {}
    for f in fields:
        vals, known, counts = hist.values_at(f, cpos, np.full(n, day, np.int64), mode)
        counts_by_field[f] = counts
        if f in _NUMERIC:
            out[field_column(f)] = pd.arrays.IntegerArray(vals.astype(np.int64), ~known)
        else:
            out[f] = vals
    notes = _summary_notes(fields, D, counts_by_field, master_date, hist.changes is not None, mode,
                           set(customers.columns))
    return out, notes


def _ledger_history(ledger: Ledger) -> MasterHistory:
    def build():
        changes = ledger.tables.get("customer_changes") if ledger.has("customer_changes") else None
        return MasterHistory(ledger.customers, changes, ledger.last_date)
    return ledger.cache.get("master", ("history",), build)


def customers_as_of(ledger: Ledger, as_of, fields: tuple[str, ...] | str = MASTER_FIELDS,
                    without_history: str = "strict") -> tuple[pd.DataFrame, list[str]]:
    """The ledger's customer master as of a date (see :func:`master_as_of`).

    Uses ``customer_changes`` when the ledger has it; the master's date is the ledger's last
    business date. Kept in the ledger's cache per (date, fields, mode): a copy is returned.

    Examples
    --------
    >>> master, notes = customers_as_of(ledger, "2026-06-30", ("status", "collector"))  # doctest: +SKIP
    """
    fields = _check_fields(fields)
    mode = _check_mode(without_history)
    D = to_date(as_of)
    frame, notes = ledger.cache.get(
        "master", ("as_of", D, fields, mode),
        lambda: master_as_of(ledger.customers, D, None, ledger.last_date, mode, fields,
                             _history=_ledger_history(ledger)))
    return frame.copy(), list(notes)


def master_values(ledger: Ledger, field: str, customer_ids, dates,
                  without_history: str = "strict") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One master field for many (customer, date) pairs at once: e.g. the credit limit in
    force on each invoice's date.

    Parameters
    ----------
    customer_ids : array-like of str, or int array of ``customers`` row positions
    dates : array-like of dates (one per customer id, or one for all); an integer array is
        read as day numbers since 1970-01-01 (``datetime64[D]`` as int64, as risk features
        hold them)

    Returns
    -------
    (values, known, notes)
        ``values``: int64 minor units / days for ``credit_limit`` / ``payment_terms_days``
        (meaningful only where ``known``), objects otherwise (NaN where unknown);
        ``known``: bool array; ``notes``: what could not be known.
    """
    (field,) = _check_fields(field)
    mode = _check_mode(without_history)
    hist = _ledger_history(ledger)
    ids = np.asarray(customer_ids)
    cpos = ids.astype(np.int64) if ids.dtype.kind in "iu" else hist.positions(ids)
    raw = np.atleast_1d(np.asarray(dates))
    days = raw.astype(np.int64) if raw.dtype.kind in "iu" else \
        _days(np.atleast_1d(np.asarray(pd.to_datetime(raw), dtype="datetime64[ns]")))
    if days.size == 1 and cpos.size != 1:
        days = np.full(cpos.shape, days[0], np.int64)
    vals, known, counts = hist.values_at(field, cpos, days, mode)
    notes = []
    if counts["after_only"]:
        notes.append(f"{counts['after_only']} customer(s)' {field} unknown on some dates: "
                     f"customer_changes shows a change after the date and none before")
    if counts["no_history"]:
        notes.append(f"no customer_changes table: {field} before "
                     f"{to_date(ledger.last_date).date()} unknown for {counts['no_history']} "
                     f"customer(s); not used")
    if counts["assumed"]:
        notes.append(f"no customer_changes table: {field} before "
                     f"{to_date(ledger.last_date).date()} taken from today's master for "
                     f"{counts['assumed']} customer(s) (assume_unchanged)")
    return vals, known, notes


def master_table_as_of(ledger: Ledger, as_of, without_history: str = "strict") -> pd.DataFrame:
    """The ``customers`` table with every master field replaced by its value on ``as_of``
    (unknown -> empty): the master a ledger cut at ``as_of`` would hold (leakage tests,
    what-if copies). Columns and dtypes are the ``customers`` table's."""
    master, notes = customers_as_of(ledger, as_of, MASTER_FIELDS, without_history)
    out = ledger.customers.copy()
    for f in MASTER_FIELDS:
        col = field_column(f)
        if col not in out:
            continue
        v = master[col]
        if f in _NUMERIC and str(out[col].dtype) == "int64" and not v.isna().any():
            out[col] = v.to_numpy(np.int64)
        else:   # unknown stays unknown (NA), never today's value
            out[col] = v.array if f in _NUMERIC else v.to_numpy(dtype=object)
    out.attrs["notes"] = notes
    return out
