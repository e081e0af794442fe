"""The event engine: a ledger's dated events, grouped, summed at many dates at once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ledger import Ledger
from .metrics import _GROUP_COLUMN, GROUPINGS


def _days(values) -> np.ndarray:
    """datetime64 -> int64 day numbers (NaT -> a very large day: never reached)."""
    arr = np.asarray(values).astype("datetime64[D]")
    out = arr.astype(np.int64)
    out[np.isnat(arr)] = np.iinfo(np.int64).max // 2
    return out


def _day_of(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


@dataclass
class _Groups:
    """Group code per customer (+ one code for receipts with no customer)."""

    labels: pd.DataFrame                 # one row per group: key column(s) + currency
    invoice_code: np.ndarray
    receipt_code: np.ndarray
    activity_key: str | None


class _Engine:
    """Dated events of a ledger, grouped; evaluates cumulative sums at many dates."""

    def __init__(self, ledger: Ledger, by: str | None, group_as_of=None):
        if by is not None and by not in GROUPINGS:
            raise ValueError(f"by must be one of {', '.join(GROUPINGS)}; got {by!r}")
        self.ledger = ledger
        self.by = None if by == "currency" else by
        self.group_as_of = group_as_of
        self.notes: list[str] = []
        inv = ledger.invoices
        self.inv_day = _days(inv["invoice_date"].to_numpy())
        self.due_day = _days(inv["due_date"].to_numpy())
        self.inv_amount = inv["amount_minor"].to_numpy(dtype=np.int64)
        self.groups = self._group_codes()
        # the reductions of invoices (applications, credit memos applied to one, write-offs
        # and recoveries): the ledger's one event stream
        red = ledger.reductions(sort=False)          # sums by date: any order will do
        self.red_pos = red["invoice"].to_numpy(dtype=np.int64)
        self.red_day = _days(red["date"].to_numpy())
        self.red_amount = red["amount_minor"].to_numpy(dtype=np.int64)
        self.red_code = self.groups.invoice_code[self.red_pos]
        self.red_inv_day = self.inv_day[self.red_pos]
        self.red_due_day = self.due_day[self.red_pos]

    # -------------------------------------------------------------- groups
    def _group_codes(self) -> _Groups:
        """Integer group codes for invoices and receipts: (attribute, currency) pairs.

        Built from integer codes (customer positions, factorized currencies) so that a
        ledger of millions of rows is grouped without Python objects."""
        led = self.ledger
        inv, cust, rec = led.invoices, led.customers, led.receipts
        currencies = (pd.concat([inv["currency"], rec["currency"]]) if len(rec)
                      else inv["currency"])      # a ledger without receipts (DATA_MODEL allows)
        cur_codes, cur_names = pd.factorize(currencies, sort=True)
        cur_codes = cur_codes.astype(np.int64)
        inv_cur, rec_cur = cur_codes[: len(inv)], cur_codes[len(inv):]
        n_cur = len(cur_names)
        if self.by is None:
            attr_inv = np.zeros(len(inv), np.int64)
            attr_rec = np.zeros(len(rec), np.int64)
            attr_names = None
        else:
            col = _GROUP_COLUMN[self.by]
            if col not in cust.columns:
                raise ValueError(f"cannot group by {self.by}: the customers table has no "
                                 f"'{col}' column")
            values = cust[col].astype(object).where(cust[col].notna(), "(none)")
            if col in ("segment", "collector") and self.group_as_of is not None:
                # the segment / collector in force at the end of the period (customer_changes);
                # unknown on a past date of a ledger without that history
                from ..master import master_values
                got, known, notes = master_values(led, col, np.arange(len(cust)), self.group_as_of)
                got = np.asarray(got, dtype=object)
                values = pd.Series(np.where(~known, "(unknown)",
                                            np.where(pd.isna(got), "(none)", got)),
                                   index=cust.index, dtype=object)
                self.notes = list(notes)
            attr_codes, attr_names = pd.factorize(values, sort=False)
            attr_names = list(attr_names) + ["(unidentified)"]
            unidentified = len(attr_names) - 1
            inv_pos = led.positions("invoices", "customer_id", "customers", "customer_id")
            attr_inv = attr_codes[np.maximum(inv_pos, 0)].astype(np.int64)
            if len(rec) and "customer_id" in rec:
                rec_pos = led.positions("receipts", "customer_id", "customers", "customer_id")
                attr_rec = np.where(rec_pos >= 0, attr_codes[np.maximum(rec_pos, 0)],
                                    unidentified).astype(np.int64)
            else:
                attr_rec = np.full(len(rec), unidentified, np.int64)
        raw = np.concatenate([attr_inv * n_cur + inv_cur, attr_rec * n_cur + rec_cur])
        used, codes = np.unique(raw, return_inverse=True)
        labels = pd.DataFrame({"currency": np.asarray(cur_names, dtype=object)[used % n_cur]})
        if attr_names is not None:
            labels.insert(0, _GROUP_COLUMN[self.by],
                          np.asarray(attr_names, dtype=object)[used // n_cur])
            order = np.lexsort((labels["currency"].to_numpy(dtype=str),
                                labels.iloc[:, 0].to_numpy(dtype=str)))
            rank = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order))
            labels = labels.iloc[order].reset_index(drop=True)
            codes = rank[codes]
        codes = codes.astype(np.int64)
        return _Groups(labels, codes[: len(inv)], codes[len(inv):],
                       None if self.by is None else _GROUP_COLUMN[self.by])

    @property
    def n_groups(self) -> int:
        return len(self.groups.labels)

    # -------------------------------------------------------------- cumulative sums
    def cumulative(self, code: np.ndarray, day: np.ndarray, weight: np.ndarray,
                   queries: np.ndarray) -> np.ndarray:
        """``out[g, j]`` = sum of ``weight`` of group g's events with day <= queries[j]
        (queries sorted ascending), exactly in int64."""
        weight = np.asarray(weight)
        dtype = np.float64 if weight.dtype.kind == "f" else np.int64
        out = np.zeros((self.n_groups, len(queries) + 1), dtype=dtype)
        if len(day):
            slot = np.searchsorted(queries, day, side="left")
            np.add.at(out, (code, slot), weight)
        return np.cumsum(out, axis=1)[:, :-1]

    def ar(self, queries, past_due_over: int | None = None) -> np.ndarray:
        """Open AR at each query date; with ``past_due_over=k``, only the AR more than k
        days past due."""
        if past_due_over is None:
            inv_t, red_t = self.inv_day, np.maximum(self.red_day, self.red_inv_day)
        else:
            start = self.due_day + past_due_over + 1
            inv_t = start
            red_t = np.maximum(self.red_day, self.red_due_day + past_due_over + 1)
        plus = self.cumulative(self.groups.invoice_code, inv_t, self.inv_amount, queries)
        minus = self.cumulative(self.red_code, red_t, self.red_amount, queries)
        return plus - minus

    def sales(self, queries) -> np.ndarray:
        return self.cumulative(self.groups.invoice_code, self.inv_day, self.inv_amount, queries)

    def receipts(self, queries) -> np.ndarray:
        rec = self.ledger.receipts
        if not len(rec):
            return np.zeros((self.n_groups, len(queries)), np.int64)
        return self.cumulative(self.groups.receipt_code, _days(rec["receipt_date"].to_numpy()),
                               rec["amount_minor"].to_numpy(dtype=np.int64), queries)

    def unapplied(self, queries) -> tuple[np.ndarray, np.ndarray]:
        """Unapplied cash (exact, int64) and the sum of unapplied * receipt day (float64:
        only used for the average age in days, never for money)."""
        led = self.ledger
        rec, apps = led.receipts, led.applications
        if not len(rec):
            z = np.zeros((self.n_groups, len(queries)), np.int64)
            return z, z.astype(float)
        r_day = _days(rec["receipt_date"].to_numpy())
        r_amt = rec["amount_minor"].to_numpy(dtype=np.int64)
        plus = self.cumulative(self.groups.receipt_code, r_day, r_amt, queries)
        plus_d = self.cumulative(self.groups.receipt_code, r_day, r_amt * r_day.astype(float),
                                 queries)
        if not len(apps):
            return plus, plus_d
        rpos = self._receipt_positions()
        ok = rpos >= 0
        a_day = np.maximum(_days(apps["applied_date"].to_numpy())[ok], r_day[rpos[ok]])
        a_amt = apps["amount_minor"].to_numpy(dtype=np.int64)[ok]
        a_code = self.groups.receipt_code[rpos[ok]]
        minus = self.cumulative(a_code, a_day, a_amt, queries)
        minus_d = self.cumulative(a_code, a_day, a_amt * r_day[rpos[ok]].astype(float), queries)
        return plus - minus, plus_d - minus_d

    def _receipt_positions(self) -> np.ndarray:
        return self.ledger.positions("applications", "receipt_id", "receipts", "receipt_id")

    def disputes(self, queries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Open disputes at each date: count, amount, and sum of opened days (for age)."""
        d = self.ledger.disputes
        z = np.zeros((self.n_groups, len(queries)), np.int64)
        if not len(d):
            return z, z.copy(), z.copy()
        pos = self.ledger.invoice_positions("disputes")
        ok = pos >= 0
        code = self.groups.invoice_code[pos[ok]]
        opened = _days(d["opened_date"].to_numpy())[ok]
        closed = (_days(d["closed_date"].to_numpy())[ok] if "closed_date" in d
                  else np.full(ok.sum(), np.iinfo(np.int64).max // 2))
        amt = d["amount_minor"].to_numpy(dtype=np.int64)[ok]
        one = np.ones(len(opened), np.int64)
        count = self.cumulative(code, opened, one, queries) - self.cumulative(code, closed, one, queries)
        amount = self.cumulative(code, opened, amt, queries) - self.cumulative(code, closed, amt, queries)
        day_sum = self.cumulative(code, opened, opened, queries) - self.cumulative(code, closed, opened, queries)
        return count, amount, day_sum


