"""Cash application: receipts -> open invoices by a cascade of explainable rules.

For each receipt, in date order, over the invoices open (and already issued) on its date:

(a) **who paid**: the customer id on the receipt; else invoice numbers in the remittance
    that belong to one customer; else the payer name against the customer master
    (normalised: case, punctuation, "PAYMENT FROM", legal suffixes), then aliases learned
    from past applications, then rapidfuzz ``WRatio`` with a minimum score and a margin
    over the runner-up.
(b) **which invoices**: references in messy forms (``INV-2026-004512``, ``inv 4512``,
    ``#004512``, ``PMTINV2026004512``, several in one line). Full numbers are strong
    evidence; short sequence numbers only count within the identified customer.
(c)-(f) **how much**: the referenced invoices' open total equals the receipt (exact); a
    unique subset of them does; a short pay within tolerance (applied in full, the
    difference proposed as a deduction); a partial payment of one referenced invoice; an
    overpayment (invoices applied, excess left on account); without references, exactly
    one open invoice of the amount, or a unique set of the customer's oldest open items
    summing to it (meet in the middle; refused when two sets fit).
(g) otherwise unapplied, with ranked suggestions.

Every line carries its rule, a confidence in [0, 1] and a reason in plain words; lines at
or above ``auto_post_threshold`` are ``auto``, the rest ``suggested``. Precision first:
whenever two readings fit, the engine suggests instead of posting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount
from .policy import CashAppPolicy, load_cashapp_policy
from .text import normalise_name, reference_keys

__all__ = ["Matcher", "match_receipts", "RULES"]

RULES = ("reference_exact", "reference_subset", "reference_plus_subset", "short_pay",
         "partial_payment", "overpayment", "exact_amount", "subset_sum", "reference_amount",
         "unapplied")


def _str(v) -> str:
    return v if isinstance(v, str) else ""


@dataclass
class _Line:
    receipt_id: str
    invoice_id: str | None
    amount_minor: int
    currency: str
    rule: str
    confidence: float
    reason: str


class _KeyIndex:
    """key -> invoice positions, for millions of keys: one dict of key -> group number
    and the positions sorted by group (no per-key arrays)."""

    def __init__(self, keys: np.ndarray, positions: np.ndarray):
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object), sort=False)
        order = np.argsort(codes, kind="stable")
        self.pos = np.asarray(positions)[order]
        counts = np.bincount(codes, minlength=len(uniques))
        self.start = np.concatenate([[0], np.cumsum(counts)])
        self.code = dict(zip(uniques.tolist(), range(len(uniques))))

    def get(self, key):
        c = self.code.get(key)
        return None if c is None else self.pos[self.start[c]:self.start[c + 1]]


class Matcher:
    """Indexes of one ledger's open items, customers and history; matches receipts.

    Parameters
    ----------
    ledger : Ledger
    as_of : date
        Open balances as of this date (the run date); each receipt only sees invoices
        issued on or before its own date, and balances consumed by earlier receipts of
        the same run.
    policy : CashAppPolicy
    """

    def __init__(self, ledger: Ledger, as_of, policy: CashAppPolicy | None = None):
        from rapidfuzz import process  # noqa: F401 - fail early when missing

        self.policy = policy or load_cashapp_policy()
        self.ledger = ledger
        D = to_date(as_of)
        items = ledger.open_items(D, customer_columns=("name",))
        items = items.sort_values(["customer_id", "due_date", "invoice_id"], kind="stable")
        items = items.reset_index(drop=True)
        self.items = items
        self.inv_id = items["invoice_id"].to_numpy(dtype=object)
        self.inv_cust = items["customer_id"].to_numpy(dtype=object)
        self.inv_cur = items["currency"].to_numpy(dtype=object)
        self.inv_date = items["invoice_date"].to_numpy()
        self.due = items["due_date"].to_numpy()
        self.open = items["open_minor"].to_numpy(dtype=np.int64).copy()
        self.by_customer = {c: np.asarray(v) for c, v in
                            items.groupby("customer_id", sort=False).indices.items()}
        self.strong_index, self.weak_index = self._key_index(self.inv_id)
        cust = ledger.customers
        self.customer_ids = set(cust["customer_id"])
        names = cust["name"].map(normalise_name)
        self.name_map = self._unique_map(names.to_numpy(dtype=object), cust["customer_id"].to_numpy(dtype=object))
        self.alias_map = self._aliases(D)
        self.choices = [n for n in self.name_map if n]
        # blocking for fuzzy matching: names that start with the same character (typos and
        # truncations keep the first letter); 25x fewer comparisons on a large master
        self.blocks: dict[str, list[str]] = {}
        for n in self.choices:
            self.blocks.setdefault(n[0], []).append(n)
        self.customer_name = dict(zip(cust["customer_id"], cust["name"]))
        self._fuzzy_cache: dict[str, tuple] = {}

    # -------------------------------------------------------------- indexes
    @staticmethod
    def _key_index(ids: np.ndarray) -> tuple["_KeyIndex", "_KeyIndex"]:
        s = pd.Series(ids, dtype="str").str.upper()
        alnum = "F" + s.str.replace(r"[^A-Z0-9]", "", regex=True)
        digits = s.str.replace(r"\D", "", regex=True)
        last = s.str.extract(r"(\d+)\D*$", expand=False).fillna("")
        pos = np.arange(len(s))
        long = (digits.str.len() >= 6).to_numpy()
        strong = _KeyIndex(np.concatenate([alnum.to_numpy(dtype=object),
                                           ("D" + digits[long]).to_numpy(dtype=object)]),
                           np.concatenate([pos, pos[long]]))
        has = (last != "").to_numpy()
        stripped = last[has].str.lstrip("0").replace("", "0")
        weak = _KeyIndex(np.concatenate([("T" + last[has]).to_numpy(dtype=object),
                                         ("N" + stripped).to_numpy(dtype=object)]),
                         np.concatenate([pos[has], pos[has]]))
        return strong, weak

    @staticmethod
    def _unique_map(keys, values) -> dict:
        out, dup = {}, set()
        for k, v in zip(keys, values):
            if not k:
                continue
            if k in out and out[k] != v:
                dup.add(k)
            out[k] = v
        for k in dup:
            out.pop(k, None)
        return out

    def _aliases(self, D) -> dict:
        """Payer names seen on receipts applied to one customer's invoices (history)."""
        led = self.ledger
        apps = led.applications
        if not len(apps) or not len(led.receipts):
            return {}
        apps = apps[apps["applied_date"] <= D]
        rec = led.receipts.set_index("receipt_id")
        inv_cust = led.invoices.set_index("invoice_id")["customer_id"]
        frame = pd.DataFrame({"payer": apps["receipt_id"].map(rec["payer_name"]).to_numpy(),
                              "customer": apps["invoice_id"].map(inv_cust).to_numpy()}).dropna()
        frame = frame.drop_duplicates()
        frame["norm"] = frame["payer"].map(normalise_name)
        counts = frame.groupby("norm")["customer"].nunique()
        unique = counts[counts == 1].index
        f = frame[frame["norm"].isin(unique)].drop_duplicates("norm")
        return dict(zip(f["norm"], f["customer"]))

    # -------------------------------------------------------------- identification
    def identify(self, customer_id, payer_name) -> tuple[str | None, float, str]:
        """(customer, confidence, how) from the receipt's customer id or payer name."""
        if customer_id and customer_id in self.customer_ids:
            return customer_id, 1.0, f"customer id {customer_id} on the receipt"
        norm = normalise_name(payer_name)
        if not norm:
            return None, 0.0, "no payer name"
        if norm in self.name_map:
            return self.name_map[norm], 0.97, f"payer name '{payer_name}' is the customer's name"
        if norm in self.alias_map:
            return self.alias_map[norm], 0.96, f"payer name '{payer_name}' paid this customer before"
        if norm not in self._fuzzy_cache:
            from rapidfuzz import fuzz, process
            # candidates below (min score - margin) cannot matter: a best at or above the
            # minimum then beats them by at least the margin
            got = process.extract(norm, self.blocks.get(norm[0], []), scorer=fuzz.WRatio, limit=3,
                                  score_cutoff=self.policy.fuzzy_min_score - self.policy.fuzzy_margin)
            self._fuzzy_cache[norm] = got
        got = self._fuzzy_cache[norm]
        if not got:
            return None, 0.0, f"payer name '{payer_name}' matches no customer"
        best_name, best, _ = got[0]
        second = got[1][1] if len(got) > 1 else 0.0
        cust = self.name_map[best_name]
        if best >= self.policy.fuzzy_min_score and best - second >= self.policy.fuzzy_margin:
            conf = min(0.95, 0.85 + (best - self.policy.fuzzy_min_score) / 100)
            return cust, conf, (f"payer name '{payer_name}' resembles '{self.customer_name[cust]}' "
                                f"(score {best:.0f}, next {second:.0f})")
        return None, 0.0, (f"payer name '{payer_name}' is not close enough to one customer "
                           f"(best '{best_name}' {best:.0f}, next {second:.0f})")

    def references(self, text: str) -> tuple[set[int], set[int]]:
        strong_keys, weak_keys = reference_keys(text)
        strong, weak = set(), set()
        for k in strong_keys:
            hit = self.strong_index.get(k)
            if hit is not None:
                strong.update(hit.tolist())
        for k in weak_keys:
            hit = self.weak_index.get(k)
            if hit is not None:
                weak.update(hit.tolist())
        return strong, weak - strong

    # -------------------------------------------------------------- matching
    def _eligible(self, positions, day, currency) -> list[int]:
        return [p for p in positions if self.open[p] > 0 and self.inv_date[p] <= day
                and self.inv_cur[p] == currency]

    def match(self, receipt) -> list[_Line]:
        """Lines for one receipt (a namedtuple/row with receipt_id, receipt_date,
        amount_minor, currency, payer_name, reference, customer_id)."""
        cur, R = receipt.currency, int(receipt.amount_minor)
        day = np.datetime64(pd.Timestamp(receipt.receipt_date), "ns")
        text = f"{_str(receipt.reference)} {_str(receipt.payer_name)}"
        strong, weak = self.references(text)
        cid = receipt.customer_id if isinstance(receipt.customer_id, str) else None
        cust, id_conf, how = self.identify(cid, receipt.payer_name)
        strong = self._eligible(strong, day, cur)
        strong_customers = {self.inv_cust[p] for p in strong}
        if len(strong_customers) == 1:
            ref_cust = next(iter(strong_customers))
            if cust is None:
                cust, id_conf, how = ref_cust, 0.99, "the invoice numbers in the remittance"
            elif cust == ref_cust:
                id_conf, how = 1.0, how + " and the invoice numbers in the remittance"
            else:
                # payer and references disagree (a parent paying? a typo?): review
                id_conf = min(id_conf, 0.8)
                how = (f"invoice numbers belong to {ref_cust}, but {how} points to {cust}")
                cust = ref_cust
        elif len(strong_customers) > 1:
            if cust in strong_customers:
                strong = [p for p in strong if self.inv_cust[p] == cust]
                id_conf, how = min(id_conf, 0.9), how + " (references also name other customers)"
            else:
                return self._unapplied(receipt, "references name invoices of several customers: "
                                       + ", ".join(sorted(strong_customers)))
        weak = self._eligible(weak, day, cur)
        if cust is not None:
            weak_c = [p for p in weak if self.inv_cust[p] == cust]
            refs = sorted(set(strong) | set(weak_c), key=lambda p: (self.due[p], p))
            weak_only = not strong and bool(weak_c)
            lines = self._by_reference(receipt, cust, refs, id_conf, how, weak_only) if refs else None
            if lines is None:
                lines = self._by_amount(receipt, cust, id_conf, how)
            return lines
        # unknown customer: a weak reference whose open balance is exactly the amount
        exact = [p for p in weak if self.open[p] == R]
        if len(exact) == 1:
            p = exact[0]
            return [self._line(receipt, p, R, "reference_amount", 0.9,
                               f"'{self.inv_id[p]}' found in the remittance and its open balance "
                               f"equals the receipt; payer not identified ({how})")]
        return self._unapplied(receipt, f"customer not identified: {how}")

    def _by_reference(self, receipt, cust, refs, id_conf, how, weak_only) -> list[_Line] | None:
        R, cur = int(receipt.amount_minor), receipt.currency
        ref_conf = 0.97 if weak_only else 0.99
        opens = [int(self.open[p]) for p in refs]
        total = sum(opens)
        names = ", ".join(self.inv_id[p] for p in refs)
        kind = "short invoice numbers" if weak_only else "invoice numbers"
        if total == R:
            return [self._line(receipt, p, int(self.open[p]), "reference_exact", ref_conf * id_conf,
                               f"{kind} {names} in the remittance; open total equals the "
                               f"receipt; customer by {how}") for p in refs]
        if len(refs) > 1:
            fits = self._subsets(refs, R, limit=2)
            if len(fits) == 1:
                return [self._line(receipt, p, int(self.open[p]), "reference_subset",
                                   0.95 * id_conf, f"of the referenced {names}, only "
                                   f"{', '.join(self.inv_id[q] for q in fits[0])} add up to the "
                                   f"receipt; customer by {how}") for p in fits[0]]
            if len(fits) > 1:
                return self._suggest_sets(receipt, fits, "reference_subset",
                                          f"two sets of the referenced invoices fit ({names})")
        if total > R:
            gap = total - R
            tol = self.policy.tolerance(total, cur)
            if gap <= tol:
                # with several invoices, which one is short is a guess: review
                conf = 0.95 if len(refs) == 1 else 0.8
                return self._apply_oldest_first(receipt, refs, R, "short_pay", conf * id_conf,
                                                f"{kind} {names}; short by "
                                                f"{format_amount(gap, cur)} (tolerance "
                                                f"{format_amount(tol, cur)}): applied in full, "
                                                f"difference proposed as a deduction; customer by "
                                                f"{how}", deduction=gap)
            if len(refs) == 1:
                # a part of the referenced invoice, or a part of it plus other invoices paid
                # in full? Only trusted when no other open item could be inside the amount.
                others = [p for p in self._neighbours(cust, receipt, refs) if self.open[p] <= R]
                conf = 0.93 if not others else 0.8
                extra = ("" if not others else f"; {len(others)} other open item(s) of at most "
                         f"the amount could be part of it: review")
                return self._apply_oldest_first(receipt, refs, R, "partial_payment", conf * id_conf,
                                                f"partial payment of {names} referenced in the "
                                                f"remittance ({format_amount(R, cur)} of "
                                                f"{format_amount(total, cur)} open){extra}; "
                                                f"customer by {how}")
            return self._apply_oldest_first(receipt, refs, R, "partial_payment", 0.75 * id_conf,
                                            f"pays part of the referenced {names}; oldest first, "
                                            f"to review; customer by {how}")
        # R > total: the rest may pay other invoices of the customer, or be an overpayment
        excess = R - total
        others = self._neighbours(cust, receipt, refs)
        fits = self._subsets(others, excess, limit=2)
        if len(fits) == 1:
            chosen = list(refs) + list(fits[0])
            conf, scope = self._subset_confidence(others, excess)
            return [self._line(receipt, p, int(self.open[p]), "reference_plus_subset",
                               conf * id_conf, f"{kind} {names} plus "
                               f"{', '.join(self.inv_id[q] for q in fits[0])} ({scope} adding up "
                               f"to the rest); customer by {how}")
                    for p in chosen]
        lines = [self._line(receipt, p, int(self.open[p]), "overpayment", 0.85 * id_conf,
                            f"{kind} {names} paid in full; {format_amount(excess, cur)} more than "
                            f"they owe stays unapplied on account; customer by {how}") for p in refs]
        return lines

    def _by_amount(self, receipt, cust, id_conf, how) -> list[_Line]:
        R, cur = int(receipt.amount_minor), receipt.currency
        pool = self._customer_items(cust, receipt)
        if not pool:
            return self._unapplied(receipt, f"customer {cust} ({how}) has nothing open on "
                                   f"{pd.Timestamp(receipt.receipt_date).date()}", cust)
        exact = [p for p in pool if self.open[p] == R]
        if len(exact) == 1:
            p = exact[0]
            return [self._line(receipt, p, R, "exact_amount", 0.95 * id_conf,
                               f"no invoice number in the remittance; {self.inv_id[p]} is the only "
                               f"open invoice of {format_amount(R, cur)}; customer by {how}")]
        if len(exact) > 1:
            return [self._line(receipt, exact[0], R, "exact_amount", 0.6 * id_conf,
                               f"{len(exact)} open invoices of exactly {format_amount(R, cur)}: "
                               f"suggesting the oldest; customer by {how}")]
        fits = self._subsets(pool, R, limit=2)
        if len(fits) == 1:
            conf, scope = self._subset_confidence(pool, R)
            return [self._line(receipt, p, int(self.open[p]), "subset_sum", conf * id_conf,
                               f"no invoice number; {', '.join(self.inv_id[q] for q in fits[0])} "
                               f"are {scope} adding up to the receipt; customer by {how}")
                    for p in fits[0]]
        if len(fits) > 1:
            return self._suggest_sets(receipt, fits, "subset_sum",
                                      f"two different sets of open items add up to the receipt "
                                      f"(customer by {how})")
        near = [p for p in pool if 0 < self.open[p] - R <= self.policy.tolerance(int(self.open[p]), cur)]
        if len(near) == 1:
            p = near[0]
            return self._apply_oldest_first(receipt, [p], R, "short_pay", 0.8 * id_conf,
                                            f"no invoice number; {self.inv_id[p]} is short by "
                                            f"{format_amount(int(self.open[p]) - R, cur)} only; "
                                            f"customer by {how}", deduction=int(self.open[p]) - R)
        return self._unapplied(receipt, f"customer {cust} by {how}, but no open item or set of "
                               f"open items fits {format_amount(R, cur)}", cust, pool)

    # -------------------------------------------------------------- helpers
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
    CHANCE_LIMIT = 0.005

    def _subset_confidence(self, pool: list[int], target: int) -> tuple[float, str]:
        """How much a unique exact-sum set proves. With many open items, some set adds up to
        almost any amount by chance: the expected number of chance matches is about
        (sets searched) / (2 * target in minor units). A set is trusted (0.93) only when
        that is below ``CHANCE_LIMIT`` and the whole pool was searched; otherwise it is
        suggested."""
        from math import comb

        n = min(len(pool), self.policy.subset_max_items)
        searched = sum(comb(n, k) for k in range(1, min(self.policy.subset_max_size, n) + 1))
        chance = searched / max(2 * target, 1)
        complete = len(pool) <= self.policy.subset_max_items
        if complete and chance <= self.CHANCE_LIMIT:
            return 0.93, f"the only set of the customer's {len(pool)} open items"
        why = (f"the only set found among the {n} oldest of {len(pool)} open items"
               if not complete else f"the only set of {len(pool)} open items")
        return (0.85 if chance <= 0.02 else 0.7), (f"{why}, but a chance match is plausible "
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
        if deduction:
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
            suggestions = [f"{self.name_map[n]} {self.customer_name[self.name_map[n]]} ({s:.0f})"
                           for n, s, _ in got]
        text = reason + (f"; suggestions: {'; '.join(suggestions)}" if suggestions else "")
        return [_Line(receipt.receipt_id, None, int(receipt.amount_minor), receipt.currency,
                      "unapplied", 0.0, text)]

    def consume(self, lines: list[_Line], threshold: float) -> None:
        """Auto lines take the invoices' open balances (later receipts see the rest)."""
        for ln in lines:
            if ln.invoice_id is not None and ln.rule not in ("deduction", "unapplied") \
                    and ln.confidence >= threshold:
                self.open[self._pos(ln.invoice_id)] -= ln.amount_minor

    def _pos(self, invoice_id) -> int:
        if not hasattr(self, "_pos_of"):
            self._pos_of = {v: i for i, v in enumerate(self.inv_id)}
        return self._pos_of[invoice_id]


def match_receipts(ledger: Ledger, receipts: pd.DataFrame, as_of=None,
                   policy: CashAppPolicy | None = None, progress: bool = False
                   ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Propose applications for receipts (nothing is posted).

    Returns
    -------
    (applications, deductions, unapplied)
        ``applications``: receipt_id, invoice_id, amount_minor, currency, status (auto /
        suggested), rule, confidence, reason. ``deductions``: proposed short-pay
        deductions. ``unapplied``: per receipt, what is left unapplied by auto lines,
        with the reason and suggestions.
    """
    from tqdm.auto import tqdm

    policy = policy or load_cashapp_policy()
    receipts = receipts.sort_values(["receipt_date", "receipt_id"], kind="stable")
    as_of = to_date(as_of) if as_of is not None else (
        receipts["receipt_date"].max() if len(receipts) else ledger.last_date)
    m = Matcher(ledger, as_of, policy)
    thr = policy.auto_post_threshold
    lines: list[_Line] = []
    for r in tqdm(receipts.itertuples(index=False), total=len(receipts), disable=not progress,
                  desc="matching receipts", unit="receipt"):
        got = m.match(r)
        m.consume(got, thr)
        lines.extend(got)
    frame = pd.DataFrame([ln.__dict__ for ln in lines],
                         columns=["receipt_id", "invoice_id", "amount_minor", "currency", "rule",
                                  "confidence", "reason"])
    frame["status"] = np.where(frame["confidence"] >= thr, "auto", "suggested")
    is_app = ~frame["rule"].isin(["deduction", "unapplied"])
    apps = frame[is_app].reset_index(drop=True)
    deductions = frame[frame["rule"] == "deduction"].reset_index(drop=True)
    auto_by_receipt = apps[apps["status"] == "auto"].groupby("receipt_id")["amount_minor"].sum()
    reasons = frame.groupby("receipt_id")["reason"].first()
    unapplied_reason = frame[frame["rule"] == "unapplied"].set_index("receipt_id")["reason"]
    un = receipts[["receipt_id", "receipt_date", "currency", "amount_minor", "payer_name",
                   "reference"]].copy()
    un["auto_applied_minor"] = un["receipt_id"].map(auto_by_receipt).fillna(0).astype(np.int64)
    un["unapplied_minor"] = un["amount_minor"] - un["auto_applied_minor"]
    un["reason"] = un["receipt_id"].map(unapplied_reason).fillna(
        un["receipt_id"].map(reasons)).fillna("")
    un = un[un["unapplied_minor"] > 0].reset_index(drop=True)
    apps.attrs.update({"policy": policy.label, "as_of": str(pd.Timestamp(as_of).date()),
                       "threshold": thr})
    return apps, deductions, un


