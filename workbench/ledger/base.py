"""What every part of the ledger shares: the reduction kinds, dates, the warning for an
as-of date after the ledger, and the cache of results shared by many calls."""

from __future__ import annotations

import re
import weakref
from typing import TYPE_CHECKING

import pandas as pd

from .. import schema
from ..schema import CURRENCY, DATE, ID, INT, MONEY, NUMBER, TABLES, TEXT, TIMESTAMP

if TYPE_CHECKING:
    from .core import Ledger

#: The kinds of event that reduce (or, a recovery, reinstate) an invoice's open balance, in
#: the order events of one invoice and day are taken: a recovery first (it reinstates what
#: was written off so that the recovered cash can be applied), then cash, credit memos and
#: write-offs, so that a same-day write-off of the remainder closes the invoice. It is the
#: order validation walks them in (``schema._invoice_balance_checks``).
REDUCTION_KINDS = ("recovery", "application", "credit_memo", "write_off")



_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class AfterLedgerWarning(UserWarning):
    """An as-of date or period after the ledger's last date (figures as the ledger stands)."""


class LedgerCache:
    """Results computed from one ledger's tables, kept for the ledger's life.

    Entries are keyed by ``(namespace, key)``: ``cache.get("aging", (as_of, by), compute)``
    returns the cached value or calls ``compute()`` once. Analyses use it for what many
    calls share (id lookups, the reduction events, engines, histories per date).

    **The tables are not modified after loading**; every entry assumes so. The cache is
    bound to the identity of its ledger's tables (the tables mapping and each frame object
    in it): replacing a table (``ledger.tables["invoices"] = frame``) or the mapping empties
    it at the next access. A frame changed *in place* is not seen: call :meth:`clear` after
    doing that. Pickling a ledger drops its cache.
    """

    def __init__(self):
        self._spaces: dict[str, dict] = {}
        self._owner = None
        self._identity = None

    def bind(self, ledger: "Ledger") -> "LedgerCache":
        """Tie the cache to ``ledger``'s tables (done by the Ledger itself)."""
        self._owner = weakref.ref(ledger)
        self._identity = self._current_identity()
        return self

    def _current_identity(self):
        ledger = self._owner() if self._owner is not None else None
        if ledger is None:
            return None
        tables = ledger.__dict__.get("tables")
        if type(tables) is dict:          # each frame object (reading a plain dict loads nothing)
            return (id(tables), tuple((name, id(df)) for name, df in tables.items()))
        # a mapping that reads its tables when asked (the ledger store's): its identity and
        # names only, never its frames (that would read every table)
        return (id(tables), tuple(tables) if tables is not None else ())

    def _check(self) -> None:
        ident = self._current_identity()
        if ident != self._identity:
            self.clear()
            self._identity = ident

    def get(self, namespace: str, key, compute):
        """The value cached under ``(namespace, key)``, computed by ``compute()`` once."""
        self._check()
        space = self._spaces.setdefault(namespace, {})
        try:
            return space[key]
        except KeyError:
            value = space[key] = compute()
            return value

    def namespace(self, name: str) -> dict:
        """The live dict of one namespace (e.g. ``"positions"``, which the ledger store
        reads and seeds); it stays the same object across :meth:`clear`."""
        self._check()
        return self._spaces.setdefault(name, {})

    def clear(self, namespace: str | None = None) -> None:
        """Forget every entry (or one namespace's). Needed after changing a table in place."""
        for name, space in self._spaces.items():
            if namespace is None or name == namespace:
                space.clear()

    def __contains__(self, item) -> bool:
        namespace, key = item
        return key in self._spaces.get(namespace, {})

    def keys(self, namespace: str) -> list:
        return list(self._spaces.get(namespace, {}))

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def __repr__(self) -> str:
        return f"LedgerCache({', '.join(f'{k}: {len(v)}' for k, v in self._spaces.items())})"


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


