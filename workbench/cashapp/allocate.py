"""Allocating a receipt: the customer's open items, subsets that sum to it and how sure a
fit is, oldest-first application, suggestions, unapplied cash, what a run consumed. A
mixin of :class:`workbench.cashapp.engine.Matcher`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..money import format_amount
from .lines import _Line, expected_chance_fits
from .text import normalise_name


class Allocation:
    """The amounts side of matching (uses the Matcher's open items and policy)."""

    def _customer_items(self, cust, receipt) -> list[int]:
        pos = self.by_customer.get(cust)
        if pos is None:
            return []
        day = np.datetime64(pd.Timestamp(receipt.receipt_date), "ns")
        ok = pos[(self.open[pos] > 0) & (self.inv_date[pos] <= day) & (self.inv_cur[pos] == receipt.currency)]
        return ok.tolist()   # oldest due first

    #: unreferenced invoices paid with referenced ones fall due within this many days of them
    NEIGHBOUR_DAYS = 45
    EARLY_DAYS = 10

    def _neighbours(self, cust, receipt, refs) -> list[int]:
        """The customer's other open items due within ``NEIGHBOUR_DAYS`` of the referenced
        ones (what a payment run that names some invoices usually also pays)."""
        ref_set = set(refs)
        lo = min(self.due[p] for p in refs) - np.timedelta64(self.NEIGHBOUR_DAYS, "D")
        hi = max(self.due[p] for p in refs) + np.timedelta64(self.NEIGHBOUR_DAYS, "D")
        # and not due later than EARLY_DAYS after the receipt: few pay that early
        hi = min(hi, np.datetime64(pd.Timestamp(receipt.receipt_date), "ns")
                 + np.timedelta64(self.EARLY_DAYS, "D"))
        return [p for p in self._customer_items(cust, receipt)
                if p not in ref_set and lo <= self.due[p] <= hi]

    def _subsets(self, pool: list[int], target: int, limit: int = 2) -> list[tuple[int, ...]]:
        """Sets of ``pool`` items (at most ``subset_max_size``) whose open balances sum to
        ``target``; stops after ``limit``. Meet in the middle: every subset sum of each
        half (vectorised), then a sorted search for the complements."""
        pool = list(pool)[: self.policy.subset_max_items]
        if not pool or target <= 0:
            return []
        k = self.policy.subset_max_size
        vals = self.open[np.asarray(pool)].astype(np.int64)
        half = len(pool) // 2

        def enum(v):
            masks = np.arange(1 << len(v), dtype=np.int64)
            bits = (masks[:, None] >> np.arange(len(v))) & 1
            return bits, bits @ v, bits.sum(axis=1)

        lb, ls, lz = enum(vals[:half])
        rb, rs, rz = enum(vals[half:])
        order = np.argsort(rs, kind="stable")
        rs_sorted = rs[order]
        need = target - ls
        lo = np.searchsorted(rs_sorted, need, side="left")
        hi = np.searchsorted(rs_sorted, need, side="right")
        found = []
        for i in np.flatnonzero(hi > lo):
            for j in order[lo[i]:hi[i]]:
                size = int(lz[i] + rz[j])
                if 0 < size <= k:
                    members = np.concatenate([np.flatnonzero(lb[i]), half + np.flatnonzero(rb[j])])
                    found.append(tuple(pool[m] for m in members))
                    if len(found) >= limit:
                        return found
        return found

    #: a unique exact-sum set is trusted when fewer chance matches than this are expected
    CHANCE_LIMIT = 0.01

    def _subset_confidence(self, pool: list[int], target: int) -> tuple[float, str]:
        """How much a unique exact-sum set proves.

        Some set of many open items adds up to almost any amount by chance. The expected
        number of chance fits is estimated as sum over set sizes k of C(n, k) times the
        density of a k-item sum at the target, the sum taken as normal with mean k*mu and
        standard deviation sqrt(k)*sigma of the pool's open balances (central limit; per
        minor unit). A set is trusted (0.93) only when that is below ``CHANCE_LIMIT`` and
        the whole pool was searched; otherwise it is suggested.
        """
        n = min(len(pool), self.policy.subset_max_items)
        chance = expected_chance_fits(self.open[np.asarray(pool[:n])], target,
                                      self.policy.subset_max_size)
        complete = len(pool) <= self.policy.subset_max_items
        if complete and chance <= self.CHANCE_LIMIT:
            return 0.93, f"the only set of the customer's {len(pool)} open items"
        why = (f"the only set found among the {n} oldest of {len(pool)} open items"
               if not complete else f"the only set of {len(pool)} open items")
        return (0.85 if chance <= 0.05 else 0.7), (f"{why}, but a chance match is plausible "
                                                   f"({chance:.3f} expected): review")

    def _line(self, receipt, pos, amount, rule, conf, reason) -> _Line:
        return _Line(receipt.receipt_id, self.inv_id[pos], int(amount), receipt.currency, rule,
                     round(float(min(max(conf, 0.0), 1.0)), 4), reason)

    def _apply_oldest_first(self, receipt, refs, R, rule, conf, reason, deduction: int = 0):
        lines, left = [], R
        for p in sorted(refs, key=lambda q: (self.due[q], q)):
            if left <= 0:
                break
            take = min(int(self.open[p]), left)
            lines.append(self._line(receipt, p, take, rule, conf, reason))
            left -= take
        if deduction and lines:
            last = lines[-1]
            lines.append(_Line(receipt.receipt_id, last.invoice_id, deduction, receipt.currency,
                               "deduction", last.confidence,
                               f"short pay of {format_amount(deduction, receipt.currency)} on "
                               f"{last.invoice_id}: proposed deduction, needs approval"))
        return lines

    def _suggest_sets(self, receipt, fits, rule, reason) -> list[_Line]:
        oldest = min(fits, key=lambda s: sorted(self.due[p] for p in s))
        return [self._line(receipt, p, int(self.open[p]), rule, 0.5,
                           f"{reason}; suggesting the oldest set") for p in oldest]

    def _unapplied(self, receipt, reason, cust=None, pool=None) -> list[_Line]:
        suggestions = []
        if pool:
            R = int(receipt.amount_minor)
            ranked = sorted(pool, key=lambda p: abs(int(self.open[p]) - R))[:3]
            suggestions = [f"{self.inv_id[p]} ({format_amount(int(self.open[p]), receipt.currency)})"
                           for p in ranked]
        elif cust is None and receipt.payer_name:
            from rapidfuzz import fuzz, process
            norm = normalise_name(receipt.payer_name)
            got = process.extract(norm, self.blocks.get(norm[:1], []), scorer=fuzz.WRatio,
                                  limit=3) if norm else []
            suggestions = [f"{c} {self.customer_name[c]} ({s:.0f})"
                           for n, s, _ in got for c in self.names[n]]
        text = reason + (f"; suggestions: {'; '.join(suggestions)}" if suggestions else "")
        return [_Line(receipt.receipt_id, None, int(receipt.amount_minor), receipt.currency,
                      "unapplied", 0.0, text)]

    def consume(self, lines: list[_Line], threshold: float) -> None:
        """Auto lines take the invoices' open balances (later receipts see the rest); an
        invoice a suggested line names is *pending*: its open balance may be about to
        shrink: a later part payment of it that would not fit beside the suggestion is no
        longer trusted alone."""
        for ln in lines:
            if ln.invoice_id is None or ln.rule in ("deduction", "unapplied"):
                continue
            if ln.confidence >= threshold:
                self.open[self._pos(ln.invoice_id)] -= ln.amount_minor
            else:
                p = self._pos(ln.invoice_id)
                self.pending[p] = self.pending.get(p, 0) + ln.amount_minor

    def _pos(self, invoice_id) -> int:
        if not hasattr(self, "_pos_of"):
            self._pos_of = {v: i for i, v in enumerate(self.inv_id)}
        return self._pos_of[invoice_id]
