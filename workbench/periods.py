"""Reporting periods: ``2026-09`` (month), ``2026Q3`` (quarter), ``2026`` (year), or
explicit ``2026-07-01..2026-09-30``. A period's dates are inclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

__all__ = ["Period", "parse_period", "last_closed_quarter", "quarter_of"]


@dataclass(frozen=True)
class Period:
    label: str
    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def days(self) -> int:
        """Number of days in the period, both ends included."""
        return int((self.end - self.start).days) + 1

    def __str__(self) -> str:
        return self.label


_Q = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_M = re.compile(r"^(\d{4})-(\d{2})$")
_Y = re.compile(r"^(\d{4})$")
_R = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/|:)\s*(\d{4}-\d{2}-\d{2})$")


def parse_period(text: str) -> Period:
    """Parse a period string; raise ValueError naming the accepted forms."""
    s = str(text).strip()
    m = _Q.match(s)
    if m:
        year, q = int(m.group(1)), int(m.group(2))
        start = pd.Timestamp(year=year, month=3 * q - 2, day=1)
        return Period(f"{year}Q{q}", start, start + pd.offsets.QuarterEnd(0))
    m = _M.match(s)
    if m and 1 <= int(m.group(2)) <= 12:
        start = pd.Timestamp(year=int(m.group(1)), month=int(m.group(2)), day=1)
        return Period(s, start, start + pd.offsets.MonthEnd(0))
    m = _Y.match(s)
    if m:
        year = int(m.group(1))
        return Period(s, pd.Timestamp(year=year, month=1, day=1),
                      pd.Timestamp(year=year, month=12, day=31))
    m = _R.match(s)
    if m:
        try:
            start, end = pd.Timestamp(m.group(1)), pd.Timestamp(m.group(2))
        except ValueError as e:
            raise ValueError(f"unknown period {text!r}: {e}") from None
        if end < start:
            raise ValueError(f"period {text!r} ends before it starts")
        return Period(f"{m.group(1)}..{m.group(2)}", start, end)
    raise ValueError(f"unknown period {text!r}: use a month (2026-09), a quarter (2026Q3), a year "
                     f"(2026) or dates (2026-07-01..2026-09-30)")


def quarter_of(date) -> Period:
    ts = pd.Timestamp(date)
    return parse_period(f"{ts.year}Q{(ts.month - 1) // 3 + 1}")


def last_closed_quarter(date) -> Period:
    """The latest quarter that ended on or before ``date``."""
    ts = pd.Timestamp(date).normalize()
    q = quarter_of(ts)
    if q.end == ts:
        return q
    return quarter_of(q.start - pd.Timedelta(days=1))
