"""The :class:`Ledger`: the validated tables and their as-of views (one event model)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema
from ..config import REPORT_CURRENCY
from ..io.loader import ColumnMap, LoadReport
from ..io.writer import make_temp_dir, replace_dir, write_table
from ..money import format_amount
from ..schema import LedgerError
from .base import REDUCTION_KINDS, AfterLedgerWarning, LedgerCache, to_date


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
    #: results computed from the tables (:class:`LedgerCache`); the tables are not
    #: modified after loading, and ``cache.clear()`` must be called if they are
    cache: LedgerCache = field(default_factory=LedgerCache, init=False, compare=False, repr=False)

    def __post_init__(self):
        self.cache.bind(self)

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "cache"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__dict__["cache"] = LedgerCache()
        self.__post_init__()

    # ---------------------------------------------------------------- construction
    @classmethod
    def load(cls, folder: str | Path, column_map: str | Path | ColumnMap | None = None,
             report_currency: str = REPORT_CURRENCY, progress: bool = False) -> "Ledger":
        """Load and validate a ledger folder; raise :class:`LedgerError` with every problem.

        A folder whose files are unchanged since it was last validated is read from the
        ledger store (:mod:`workbench.io.store`) without validating again; a snapshot
        folder (written by a pack, see :mod:`workbench.io.snapshot`) is read as it was
        validated. Either way each table file's SHA-256 is checked as it is read.
        """
        from ..io import store
        from ..io.snapshot import is_snapshot, read_snapshot
        if is_snapshot(folder):
            return read_snapshot(folder)
        return store.load(folder, column_map, report_currency, progress)

    @classmethod
    def from_frames(cls, frames: dict[str, pd.DataFrame], report_currency: str = REPORT_CURRENCY
                    ) -> "Ledger":
        """Build a Ledger from canonical frames *as in files* (text or numbers, ``amount``
        in major units as decimal text), validated like a folder. Handy in tests."""
        tmp = Path(tempfile.mkdtemp(prefix="wb-ledger-"))
        try:
            for name, df in frames.items():
                df.to_csv(tmp / f"{name}.csv", index=False, lineterminator="\n")
            from .validate import validate_folder  # (validate imports this module)
            ledger, problems = validate_folder(tmp, None, report_currency)
            if problems:
                raise LedgerError(problems, str(tmp))
            return ledger                       # a temporary folder: not kept in the store
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
        """The first invoice date (from the store's manifest when read from the store)."""
        known = (self.snapshot or {}).get("dates", {})
        if "first_date" in known:
            return None if known["first_date"] is None else pd.Timestamp(known["first_date"])
        d = self.tables["invoices"]["invoice_date"]
        return None if d.empty else d.min()

    @property
    def last_date(self) -> pd.Timestamp | None:
        """The latest business date in the ledger (invoices, receipts, applications, ...);
        from the store's manifest when read from the store (no table read for it)."""
        known = (self.snapshot or {}).get("dates", {})
        if "last_date" in known:
            return None if known["last_date"] is None else pd.Timestamp(known["last_date"])
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

        Cached for the life of the ledger (:attr:`cache`, namespace ``"positions"``), so
        repeated as-of views reuse one hash lookup.
        """
        def compute():
            df = self.tables[table]
            if column not in df or not len(df):
                return np.full(len(df), -1, dtype=np.int64)
            return schema.IdIndex(self.tables[target][target_column]).get_indexer(df[column])

        return self.cache.get("positions", (table, column, target, target_column), compute)

    def invoice_positions(self, table: str) -> np.ndarray:
        """Row positions in ``invoices`` of ``table``'s ``invoice_id`` (-1 where absent or
        empty, e.g. a credit memo on the account)."""
        return self.positions(table, "invoice_id", "invoices", "invoice_id")

    # ---------------------------------------------------------------- the event model
    def _raw_events(self) -> dict:
        """The reduction events as numpy arrays in table order (applications, credit memos,
        write-offs; rows ascending): what per-date sums need, without sorting."""
        return self.cache.get("events", ("raw",), self._build_raw_events)

    def _build_raw_events(self) -> dict:
        pos, day, kind, amt, row = [], [], [], [], []
        sources = (("applications", "applied_date", "application"),
                   ("credit_memos", "date", "credit_memo"),
                   ("write_offs", "date", None))
        for table, col, name in sources:
            df = self.tables[table]
            if not len(df) or "invoice_id" not in df:
                continue
            p = self.invoice_positions(table)
            a = df["amount_minor"].to_numpy(dtype=np.int64)
            if name is None:     # write-offs: a negative one is a recovery (reinstatement)
                k = np.where(a < 0, REDUCTION_KINDS.index("recovery"),
                             REDUCTION_KINDS.index("write_off")).astype(np.int8)
            else:
                k = np.full(len(df), REDUCTION_KINDS.index(name), np.int8)
            ok = p >= 0
            if ok.all():
                pos.append(p)
                day.append(df[col].to_numpy(dtype="datetime64[ns]"))
                kind.append(k)
                amt.append(a)
                row.append(np.arange(len(df), dtype=np.int64))
            else:
                ok = np.flatnonzero(ok)
                pos.append(p[ok])
                day.append(df[col].to_numpy(dtype="datetime64[ns]")[ok])
                kind.append(k[ok])
                amt.append(a[ok])
                row.append(ok.astype(np.int64))
        if not pos:
            z = np.zeros(0, np.int64)
            return {"pos": z, "date": np.zeros(0, "datetime64[ns]"), "kind": np.zeros(0, np.int8),
                    "amount": z, "row": z}
        return {"pos": np.concatenate(pos).astype(np.int64), "date": np.concatenate(day),
                "kind": np.concatenate(kind), "amount": np.concatenate(amt),
                "row": np.concatenate(row)}

    def _events(self) -> dict:
        """The reduction events sorted (see :meth:`reductions`), with the open balance after
        each."""
        return self.cache.get("events", ("sorted",), self._build_events)

    def _build_events(self) -> dict:
        raw = self._raw_events()
        pos, day, kind = raw["pos"], raw["date"], raw["kind"]
        n = len(pos)
        days = day.astype("datetime64[D]").astype(np.int64)
        span = int(days.max() - days.min()) if n else 0
        if n and span < 2**21 and int(pos.max()) < 2**35:
            # one int64 key (invoice, day, kind); a stable sort keeps table order, then row
            key = (pos << 24) | ((days - days.min()) << 3) | kind.astype(np.int64)
            order = np.argsort(key, kind="stable")
        else:
            order = np.lexsort((raw["row"], kind, day, pos))
        ev = {k: v[order] for k, v in raw.items()}
        pos, amt = ev["pos"], ev["amount"]
        # open balance after each event: the invoice amount less the running reductions
        total = np.cumsum(amt, dtype=np.int64)
        first = np.r_[True, pos[1:] != pos[:-1]] if n else np.zeros(0, bool)
        start = np.maximum.accumulate(np.where(first, np.arange(n), 0)) if n \
            else np.zeros(0, np.int64)
        running = total - (total - amt)[start] if n else total
        amount = self.tables["invoices"]["amount_minor"].to_numpy(dtype=np.int64)
        ev["open_after"] = amount[pos] - running
        ev["first"] = first
        return ev

    def reductions(self, sort: bool = True) -> pd.DataFrame:
        """Every event that reduces an invoice's open balance, in one frame (cached).

        The reducing tables of DATA_MODEL.md read as one stream: ``applications`` (cash),
        ``credit_memos`` applied to an invoice, ``write_offs`` (a negative write-off is a
        ``recovery``: it reinstates what was written off). Rows whose ``invoice_id`` is
        empty (a credit memo on the account) are not reductions of an invoice.

        Parameters
        ----------
        sort : bool
            True (default): sorted as below, with ``open_after_minor``. False: the same
            events in table order (applications, credit memos, write-offs; each by row),
            without ``open_after_minor``: enough for sums by date, and no sort to pay for
            in a one-shot question.

        Returns
        -------
        DataFrame
            ``invoice`` (row position in ``invoices``), ``invoice_id``, ``date``, ``kind``
            (ordered categorical of :data:`REDUCTION_KINDS`), ``amount_minor`` (signed: a
            recovery is negative, it raises the open balance), ``row`` (the event's row in
            its own table) and ``open_after_minor`` (the invoice's open balance just after
            the event). Sorted by invoice, date and kind order (recovery, application,
            credit memo, write-off: validation's same-day order), then row.
        """
        def build(ev):
            inv_ids = self.tables["invoices"]["invoice_id"]
            out = pd.DataFrame({
                "invoice": ev["pos"],
                "invoice_id": inv_ids.array.take(ev["pos"]) if len(ev["pos"])
                else pd.array([], dtype=inv_ids.dtype),
                "date": ev["date"],
                "kind": pd.Categorical.from_codes(ev["kind"], categories=list(REDUCTION_KINDS),
                                                  ordered=True),
                "amount_minor": ev["amount"], "row": ev["row"]})
            if "open_after" in ev:
                out["open_after_minor"] = ev["open_after"]
            return out
        if sort:
            return self.cache.get("reductions", (), lambda: build(self._events()))
        return self.cache.get("reductions", ("table order",), lambda: build(self._raw_events()))

    def settlement_periods(self) -> pd.DataFrame:
        """Every time an invoice was settled: from the event that took its open balance
        to zero until a recovery reopened it (if one did). Cached.

        This is the one definition of settlement every analysis reads (through
        :meth:`settlement` for one date; payment-risk histories through these periods, so
        that a date between a recovery and its re-settlement sees the invoice open).

        Returns
        -------
        DataFrame
            ``invoice`` (row position), ``invoice_id``, ``settled_date`` (the date of the
            event after which the open balance was zero), ``reopened_date`` (the date of
            the recovery that made it positive again; NaT if none), ``days_late``
            (``settled_date - due_date`` in days, int64; negative when paid early).
            Sorted by invoice and date.
        """
        def build():
            ev = self._events()
            inv = self.tables["invoices"]
            pos, date, after = ev["pos"], ev["date"], ev["open_after"]
            amount = inv["amount_minor"].to_numpy(dtype=np.int64)
            before = np.where(ev["first"], amount[pos], np.r_[0, after[:-1]].astype(np.int64))
            closes = (after == 0) & (before > 0)
            reopens = (after > 0) & (before == 0)
            marks = np.flatnonzero(closes | reopens)       # alternate per invoice: close first
            is_close = closes[marks]
            nxt = np.r_[marks[1:], -1]
            has_next = np.r_[(pos[marks[1:]] == pos[marks[:-1]]) & ~is_close[1:], False] \
                if len(marks) else np.zeros(0, bool)
            c = marks[is_close]
            reopened = np.where(has_next[is_close], date[np.maximum(nxt[is_close], 0)],
                                np.datetime64("NaT"))
            p = pos[c]
            due = inv["due_date"].to_numpy(dtype="datetime64[ns]")[p]
            return pd.DataFrame({
                "invoice": p,
                "invoice_id": inv["invoice_id"].array.take(p) if len(p)
                else pd.array([], dtype=inv["invoice_id"].dtype),
                "settled_date": date[c],
                "reopened_date": reopened.astype("datetime64[ns]"),
                "days_late": ((date[c] - due) // np.timedelta64(1, "D")).astype(np.int64)})
        return self.cache.get("settlement_periods", (), build)

    def _reduced(self, D: pd.Timestamp) -> np.ndarray:
        """Per invoice and kind (columns in :data:`REDUCTION_KINDS` order), the exact sum of
        the events dated on or before ``D`` (signed: recoveries negative)."""
        ev = self._raw_events()
        K = len(REDUCTION_KINDS)
        out = np.zeros(len(self.tables["invoices"]) * K, dtype=np.int64)
        sel = ev["date"] <= D.to_datetime64()
        np.add.at(out, ev["pos"][sel] * K + ev["kind"][sel], ev["amount"][sel])
        return out.reshape(-1, K)

    def settlement(self, as_of) -> pd.DataFrame:
        """Each invoice dated on or before ``as_of`` with what reduced it by then, its open
        balance, and, when settled, the settlement date and days late.

        Returns
        -------
        DataFrame
            ``invoice_id, customer_id, currency, invoice_date, due_date, amount_minor``,
            the signed sums by kind ``application_minor, credit_memo_minor,
            write_off_minor, recovery_minor`` (<= 0), ``reduced_minor`` (their total),
            ``open_minor``, ``settled`` (bool), ``settled_date`` (NaT when open) and
            ``days_late`` (float, NaN when open); in the order of ``invoices``.

        Notes
        -----
        The one definition (DATA_MODEL.md, "Days late of a settled invoice"):

        * an invoice is **settled** on D when its open balance on D is zero (every event
          of :meth:`reductions` dated on or before D counted);
        * its **settlement date** is the date of the event after which the balance last
          became zero, on or before D. Once zero, only a recovery can move it: a recovery
          reinstates part of a write-off and reopens the invoice until that amount is
          applied, credited or written off again, and the settlement date is then that
          later event's (a recovery and its cash on the same day leave the settlement on
          that day). So it is the date of the latest reduction dated on or before D;
        * **days late** = settlement date - due date, in days (negative when paid
          early); NaN for an invoice still open on D.

        Only events dated on or before ``as_of`` count: the same date asked later gives
        the same answer (point in time).
        """
        D = to_date(as_of)
        inv = self.tables["invoices"]
        dated = (inv["invoice_date"] <= D).to_numpy()
        red = self._reduced(D)
        red = red if dated.all() else red[dated]
        out = inv.loc[dated, ["invoice_id", "customer_id", "currency", "invoice_date",
                              "due_date", "amount_minor"]].copy()
        for kind in REDUCTION_KINDS[1:] + REDUCTION_KINDS[:1]:
            out[f"{kind}_minor"] = red[:, REDUCTION_KINDS.index(kind)]
        out["reduced_minor"] = red.sum(axis=1)
        out["open_minor"] = (out["amount_minor"] - out["reduced_minor"]).astype(np.int64)
        per = self.settlement_periods()
        Dn = D.to_datetime64()
        active = (per["settled_date"].to_numpy() <= Dn) & \
            ~(per["reopened_date"].to_numpy() <= Dn)
        settled_on = np.full(len(inv), np.datetime64("NaT"), dtype="datetime64[ns]")
        settled_on[per["invoice"].to_numpy()[active]] = per["settled_date"].to_numpy()[active]
        out["settled"] = (out["open_minor"] == 0).to_numpy()
        out["settled_date"] = settled_on[dated]
        out["days_late"] = ((out["settled_date"] - out["due_date"]).dt.days).astype(float)
        return out

    def balances(self, as_of) -> pd.DataFrame:
        """Every invoice dated on or before ``as_of`` with its open balance then.

        Open balance = amount - applications (applied_date <= D) - credit memos applied
        to it (date <= D) - write-offs net of recoveries (date <= D), as DATA_MODEL.md
        defines it, from the one event stream :meth:`reductions`. Validation guarantees
        it is never negative. ``written_off_minor`` is net of recoveries.
        """
        D = to_date(as_of)
        inv = self.tables["invoices"]
        k = REDUCTION_KINDS.index
        dated = (inv["invoice_date"] <= D).to_numpy()
        red = self._reduced(D)
        red = red if dated.all() else red[dated]
        out = inv.loc[dated, ["invoice_id", "customer_id", "currency", "invoice_date", "due_date",
                              "amount_minor"]].copy()
        out["applied_minor"] = red[:, k("application")]
        out["credited_minor"] = red[:, k("credit_memo")]
        out["written_off_minor"] = red[:, k("write_off")] + red[:, k("recovery")]
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
            from ..master import MASTER_FIELDS, customers_as_of, field_column
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
        return self.cache.get("fx_rate", (currency, D), lambda: self._find_rate(currency, D, target))

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


