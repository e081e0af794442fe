"""The Ledger: the validated canonical tables and their as-of views.

>>> from workbench import Ledger
>>> ledger = Ledger.load("data/demo")                       # doctest: +SKIP
>>> ledger.open_items("2026-09-30")                         # doctest: +SKIP

Money is ``int64`` minor units in ``*_minor`` columns beside a ``currency`` column.
Every as-of view uses only rows dated on or before the as-of date.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .config import REPORT_CURRENCY
from .io.loader import ColumnMap, LoadReport, load_column_map, read_ledger_folder
from .io.writer import make_temp_dir, replace_dir, write_table
from .money import format_amount
from .schema import (CURRENCY, DATE, ID, INT, MONEY, NUMBER, TABLES, TEXT, TIMESTAMP,
                     LedgerError, Problem)

__all__ = ["Ledger", "LedgerError", "Problem", "validate_folder", "to_date"]


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class AfterLedgerWarning(UserWarning):
    """An as-of date or period after the ledger's last date (figures as the ledger stands)."""


def to_date(value) -> pd.Timestamp:
    """An as-of date from ``"2026-09-30"`` (ISO 8601 text only: ``01/02/2026`` is ambiguous
    and refused), a date or a Timestamp (time of day dropped)."""
    if isinstance(value, str) and not _ISO_DATE.match(value.strip()):
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD)")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD)") from e
    if pd.isna(ts):
        raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts.normalize().as_unit("ns")


def _empty_frame(name: str) -> pd.DataFrame:
    cols = {}
    for c in TABLES[name].columns:
        if not c.required and c.name != "currency":
            continue
        if c.kind in (ID, TEXT, CURRENCY, schema.CHOICE):
            cols[c.frame_name] = pd.Series(dtype="str")
        elif c.kind == DATE:
            cols[c.frame_name] = pd.Series(dtype="datetime64[ns]")
        elif c.kind == TIMESTAMP:
            cols[c.frame_name] = pd.Series(dtype="datetime64[ns, UTC]")
        elif c.kind in (MONEY, INT):
            cols[c.frame_name] = pd.Series(dtype="int64")
        elif c.kind == NUMBER:
            cols[c.frame_name] = pd.Series(dtype="float64")
        else:
            cols[c.frame_name] = pd.Series(dtype=object)
    return pd.DataFrame(cols)


@dataclass
class Ledger:
    """Validated canonical tables (pandas frames), money in integer minor units.

    Build one with :meth:`Ledger.load` (validates, raises :class:`LedgerError` listing
    every problem) or :func:`validate_folder` (returns the problems instead).
    """

    tables: dict[str, pd.DataFrame]
    present: frozenset[str]
    source: str = ""
    load_report: LoadReport = field(default_factory=LoadReport)
    report_currency: str = REPORT_CURRENCY
    #: where the ledger was read from when it came from a pack snapshot or the ledger
    #: store: ``{"path", "content_hash", "files"}`` (None when validated from a folder)
    snapshot: dict | None = field(default=None, compare=False, repr=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def load(cls, folder: str | Path, column_map: str | Path | ColumnMap | None = None,
             report_currency: str = REPORT_CURRENCY, progress: bool = False) -> "Ledger":
        """Load and validate a ledger folder; raise :class:`LedgerError` with every problem.

        A snapshot folder (written by a pack, see :mod:`workbench.io.snapshot`) is read
        as it was validated, its content hash checked instead of validating again.
        """
        from .io.snapshot import is_snapshot, read_snapshot
        if is_snapshot(folder):
            return read_snapshot(folder)
        ledger, problems = validate_folder(folder, column_map, report_currency, progress)
        if problems:
            raise LedgerError(problems, str(folder))
        return ledger

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], report_currency: str = REPORT_CURRENCY
                    ) -> "Ledger":
        """Build a Ledger from canonical frames *as in files* (text or numbers, ``amount``
        in major units as decimal text), validated like a folder. Handy in tests."""
        tmp = Path(tempfile.mkdtemp(prefix="wb-ledger-"))
        try:
            for name, df in frames.items():
                df.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
            return cls.load(tmp, report_currency=report_currency)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables")
        if tables is not None and name in tables:
            return tables[name]
        raise AttributeError(name)

    def has(self, name: str) -> bool:
        """True when the table was in the ledger folder (absent tables are empty)."""
        return name in self.present

    # ---------------------------------------------------------------- facts
    @property
    def currencies(self) -> list[str]:
        return sorted(self.tables["invoices"]["currency"].dropna().unique().tolist())

    @property
    def first_date(self) -> pd.Timestamp | None:
        d = self.tables["invoices"]["invoice_date"]
        return None if d.empty else d.min()

    @property
    def last_date(self) -> pd.Timestamp | None:
        """The latest business date in the ledger (invoices, receipts, applications, ...)."""
        dates = []
        for name, col in (("invoices", "invoice_date"), ("receipts", "receipt_date"),
                          ("applications", "applied_date"), ("credit_memos", "date"),
                          ("write_offs", "date")):
            s = self.tables[name][col] if col in self.tables[name] else None
            if s is not None and not s.empty:
                dates.append(s.max())
        return max(dates) if dates else None

    def require_data_by(self, as_of, what: str = "as-of date") -> pd.Timestamp:
        """The as-of date, or a clear error when it is before anything in the ledger; a
        warning (:class:`AfterLedgerWarning`) when it is after the ledger's last date: what
        happened since is not in the ledger, so the figures are the ledger's as it stands."""
        D = to_date(as_of)
        first = self.first_date
        if first is None or D < first:
            raise ValueError(f"{what} {D.date()} is before any data in the ledger (first "
                             f"invoice {None if first is None else first.date()})")
        last = self.last_date
        if last is not None and D > last:
            import warnings
            warnings.warn(f"{what} {D.date()} is after the ledger's last date {last.date()}: "
                          "anything since is not in the ledger", AfterLedgerWarning, stacklevel=2)
        return D

    def summary(self) -> dict:
        """Row counts and money totals per table and currency (for reports and the CLI)."""
        out = {"source": self.source, "tables": {}}
        for name, df in self.tables.items():
            entry = {"rows": int(len(df)), "present": name in self.present}
            if "amount_minor" in df and "currency" in df and len(df):
                sums = df.groupby("currency", sort=True)["amount_minor"].sum()
                entry["amount"] = {c: format_amount(int(v), c) for c, v in sums.items()}
            out["tables"][name] = entry
        last = self.last_date
        out["first_date"] = None if self.first_date is None else str(self.first_date.date())
        out["last_date"] = None if last is None else str(last.date())
        out["currencies"] = self.currencies
        return out

    # ---------------------------------------------------------------- as-of views
    def positions(self, table: str, column: str, target: str, target_column: str) -> np.ndarray:
        """Row positions in ``target`` of the ids in ``table[column]`` (-1 where absent).

        Cached for the life of the ledger (its tables are not modified after loading), so
        repeated as-of views reuse one hash lookup.
        """
        cache = self.__dict__.setdefault("_pos_cache", {})
        key = (table, column, target, target_column)
        if key not in cache:
            df = self.tables[table]
            if column not in df or not len(df):
                cache[key] = np.full(len(df), -1, dtype=np.int64)
            else:
                index = schema.IdIndex(self.tables[target][target_column])
                cache[key] = index.get_indexer(df[column])
        return cache[key]

    def _invoice_positions(self, table: str) -> np.ndarray:
        return self.positions(table, "invoice_id", "invoices", "invoice_id")

    def _reduced_by(self, table: str, date_col: str, as_of: pd.Timestamp) -> np.ndarray:
        """Per invoice, the exact sum of ``table``'s amounts dated on or before ``as_of``."""
        inv = self.tables["invoices"]
        out = np.zeros(len(inv), dtype=np.int64)
        df = self.tables[table]
        if not len(df):
            return out
        pos = self._invoice_positions(table)
        sel = (pos >= 0) & (df[date_col].to_numpy() <= as_of.to_datetime64())
        np.add.at(out, pos[sel], df["amount_minor"].to_numpy()[sel])
        return out

    def balances(self, as_of) -> pd.DataFrame:
        """Every invoice dated on or before ``as_of`` with its open balance then.

        Open balance = amount - applications (applied_date <= D) - credit memos applied
        to it (date <= D) - write-offs net of recoveries (date <= D), as DATA_MODEL.md
        defines it. Validation guarantees it is never negative.
        """
        D = to_date(as_of)
        inv = self.tables["invoices"]
        applied = self._reduced_by("applications", "applied_date", D)
        credited = self._reduced_by("credit_memos", "date", D)
        written = self._reduced_by("write_offs", "date", D)
        dated = (inv["invoice_date"] <= D).to_numpy()
        out = inv.loc[dated, ["invoice_id", "customer_id", "currency", "invoice_date", "due_date",
                              "amount_minor"]].copy()
        out["applied_minor"] = applied[dated]
        out["credited_minor"] = credited[dated]
        out["written_off_minor"] = written[dated]
        out["open_minor"] = (out["amount_minor"] - out["applied_minor"] - out["credited_minor"]
                             - out["written_off_minor"]).astype(np.int64)
        out["days_past_due"] = ((D - out["due_date"]).dt.days).astype(np.int64)
        return out

    def open_items(self, as_of, *, customer_columns=("name", "segment", "collector"),
                   without_history: str = "strict") -> pd.DataFrame:
        """Open invoices as of a date: open balance > 0, with days past due.

        Parameters
        ----------
        as_of : str or date
            Only what is dated on or before it counts (point-in-time).
        customer_columns : tuple of str
            Customer attributes joined on (those present in ``customers``). The master
            fields that change over time (segment, collector, status, credit_limit_minor,
            payment_terms_days) are the values in force on ``as_of``
            (:func:`workbench.master.customers_as_of`), never today's.
        without_history : {"strict", "assume_unchanged"}
            A past date without a ``customer_changes`` table: leave those fields unknown
            (NaN), or take today's values (a stated judgement); ``attrs["notes"]`` says which.

        Returns
        -------
        DataFrame
            ``invoice_id, customer_id, currency, invoice_date, due_date, amount_minor,
            applied_minor, credited_minor, written_off_minor, open_minor, days_past_due,
            in_dispute`` and the customer columns; sorted by customer, due date, invoice.
            ``attrs["notes"]``: what of the master could not be known on ``as_of``.
        """
        D = to_date(as_of)
        bal = self.balances(D)
        out = bal[bal["open_minor"] > 0].copy()
        out["in_dispute"] = out["invoice_id"].isin(self.open_disputes(D)["invoice_id"])
        cust = self.tables["customers"]
        cols = [c for c in customer_columns if c in cust.columns]
        notes: list[str] = []
        if cols:
            from .master import MASTER_FIELDS, customers_as_of, field_column
            timed = [f for f in MASTER_FIELDS if field_column(f) in cols]
            frame = cust[["customer_id", *[c for c in cols if c not in
                                           {field_column(f) for f in timed}]]].copy()
            if timed:
                master, notes = customers_as_of(self, D, tuple(timed), without_history)
                for f in timed:
                    frame[field_column(f)] = master[field_column(f)].array
            out = out.merge(frame[["customer_id", *cols]].rename(
                columns={"name": "customer_name"}), on="customer_id", how="left")
        out = out.sort_values(["customer_id", "due_date", "invoice_id"], kind="stable"
                              ).reset_index(drop=True)
        out.attrs["notes"] = notes
        return out

    def ar_balance(self, as_of) -> dict[str, int]:
        """Total AR (sum of open balances) per currency as of a date, in minor units."""
        items = self.balances(as_of)
        sums = items.groupby("currency", sort=True)["open_minor"].sum()
        return {c: int(v) for c, v in sums.items()}

    def open_disputes(self, as_of) -> pd.DataFrame:
        """Disputes opened on or before ``as_of`` and not closed by then."""
        D = to_date(as_of)
        d = self.tables["disputes"]
        if not len(d):
            return d
        opened = d["opened_date"] <= D
        if "closed_date" in d:
            opened &= ~(d["closed_date"] <= D)
        return d[opened]

    def unapplied_cash(self, as_of) -> pd.DataFrame:
        """Receipts received by ``as_of`` with what of them was not applied by then.

        Reported beside AR, never netted into it. Columns: ``receipt_id, receipt_date,
        currency, customer_id, payer_name, amount_minor, applied_minor, unapplied_minor,
        days_unapplied``.
        """
        D = to_date(as_of)
        rec = self.tables["receipts"]
        if not len(rec):
            return pd.DataFrame(columns=["receipt_id", "receipt_date", "currency", "amount_minor",
                                         "applied_minor", "unapplied_minor", "days_unapplied"])
        rec = rec[rec["receipt_date"] <= D]
        apps = self.tables["applications"]
        apps = apps[apps["applied_date"] <= D]
        applied = apps.groupby("receipt_id", sort=False)["amount_minor"].sum()
        cols = [c for c in ("receipt_id", "receipt_date", "currency", "customer_id", "payer_name",
                            "reference", "amount_minor") if c in rec.columns]
        out = rec[cols].copy()
        out["applied_minor"] = out["receipt_id"].map(applied).fillna(0).astype(np.int64)
        out["unapplied_minor"] = out["amount_minor"] - out["applied_minor"]
        out["days_unapplied"] = (D - out["receipt_date"]).dt.days.astype(np.int64)
        return out[out["unapplied_minor"] > 0].reset_index(drop=True)

    def fx_rate(self, currency: str, as_of, report_currency: str | None = None):
        """Units of ``report_currency`` per unit of ``currency`` as of a date (Decimal).

        ``fx_rates`` holds rates into the ledger's reporting currency
        (``self.report_currency``); the latest rate on or before ``as_of`` applies. Another
        target currency is reached through the cross rate
        ``rate(currency) / rate(report_currency)`` (Decimal division, 28 significant digits).
        """
        from decimal import Decimal

        base = self.report_currency
        target = report_currency or base
        if currency == target:
            return Decimal(1)
        D = to_date(as_of)
        rate = Decimal(1) if currency == base else self._base_rate(currency, D, target)
        if target == base:
            return rate
        return rate / self._base_rate(target, D, target)

    def _base_rate(self, currency: str, D: pd.Timestamp, target: str):
        cache = self.__dict__.setdefault("_rate_cache", {})
        key = (currency, D)
        if key not in cache:
            cache[key] = self._find_rate(currency, D, target)
        return cache[key]

    def _find_rate(self, currency: str, D: pd.Timestamp, target: str):
        fx = self.tables["fx_rates"]
        rows = fx[(fx["currency"] == currency) & (fx["date"] <= D)] if len(fx) else fx
        if not len(rows):
            raise ValueError(f"no fx_rates row for {currency} on or before {D.date()} "
                             f"(needed to report in {target}; fx_rates are in "
                             f"{self.report_currency})")
        return rows.sort_values("date", kind="stable").iloc[-1]["rate_to_report"]

    # ---------------------------------------------------------------- persistence
    def content_hash(self) -> str:
        """SHA-256 of the canonical tables' content (order of rows as loaded)."""
        h = hashlib.sha256()
        for name in sorted(self.tables):
            df = self.tables[name]
            h.update(name.encode())
            h.update(",".join(map(str, df.columns)).encode())
            # native dtypes hash as they are (fast); objects (Decimal rates) through text
            obj = [c for c in df.columns if df[c].dtype == object]
            frame = df.astype({c: str for c in obj}) if obj else df
            h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        return h.hexdigest()

    def to_parquet(self, folder: str | Path) -> Path:
        """Write the ledger as canonical Parquet files (amounts as exact decimals), atomically:
        a temporary folder renamed into place. Loading it back gives the same ledger."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = make_temp_dir(folder)
        try:
            for name in sorted(self.present):
                write_table(self.tables[name], name, tmp, "parquet")
            replace_dir(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder


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
    problems = sorted(set(problems), key=schema._problem_sort_key)
    if problems:
        return None, problems
    tables = {name: (typed[name].frame if name in typed else _empty_frame(name))
              for name in TABLES}
    ledger = Ledger(tables, frozenset(typed), str(folder), report, report_currency)
    ledger.__dict__["_pos_cache"] = positions     # the id lookups validation already made
    return ledger, []
