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
from .text import REF_WORD, normalise_name, po_key, reference_keys

__all__ = ["Matcher", "match_receipts", "RULES"]

RULES = ("reference_exact", "reference_subset", "reference_plus_subset", "short_pay",
         "partial_payment", "overpayment", "exact_amount", "subset_sum", "reference_amount",
         "unapplied")


def _str(v) -> str:
    return v if isinstance(v, str) else ""


def _receipt_text(receipt) -> str:
    """All the text a receipt carries (payer, remittance, the statement's free text), each
    piece once: a free text that already holds the others replaces them."""
    parts = []
    for v in (_str(receipt.payer_name), _str(receipt.reference), _str(getattr(receipt, "details", ""))):
        v = v.strip()
        if not v:
            continue
        parts = [p for p in parts if p not in v]
        if not any(v in p for p in parts):
            parts.append(v)
    return " ".join(parts)


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


def expected_chance_fits(values: np.ndarray, target: int, max_size: int) -> float:
    """Expected number of sets of ``values`` (at most ``max_size`` items) summing exactly to
    ``target`` by chance (normal approximation per minor unit; see _subset_confidence)."""
    from math import comb, exp, pi, sqrt

    v = np.asarray(values, dtype=float)
    n = len(v)
    if n == 0:
        return 0.0
    mu = float(v.mean())
    sigma = float(v.std()) or max(mu * 0.1, 1.0)
    total = 0.0
    for k in range(1, min(max_size, n) + 1):
        sd = sqrt(k) * sigma
        z = (target - k * mu) / sd
        total += comb(n, k) * exp(-0.5 * z * z) / (sqrt(2 * pi) * sd)
    return total


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

        D = to_date(as_of)
        # the policy's amounts in each of the ledger's currencies (a currency the policy
        # lacks is a clear error now, not at its first tolerance lookup)
        self.policy = (policy or load_cashapp_policy()).for_ledger(ledger, D)
        self.ledger = ledger
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
        self.strong_index, self.weak_index = self._key_index(self.inv_id, self._po_numbers(ledger, items))
        cust = ledger.customers
        self.customer_ids = set(cust["customer_id"])
        names = cust["name"].map(normalise_name).to_numpy(dtype=object)
        ids = cust["customer_id"].to_numpy(dtype=object)
        # every customer a normalised name may mean: sister companies share a name once
        # the legal suffix is dropped ("Acme Foods Inc." and "Acme Foods LLC")
        self.names: dict[str, list[str]] = {}
        for n, c in zip(names, ids):
            if n:
                self.names.setdefault(n, []).append(c)
        self.sorted_names = sorted(self.names)
        self.max_name_words = max((len(n.split()) for n in self.names), default=1)
        self.aliases = self._aliases(D)
        # blocking for fuzzy matching: names that start with the same character (typos and
        # truncations keep the first letter); 25x fewer comparisons on a large master
        self.blocks: dict[str, list[str]] = {}
        for n in self.sorted_names:
            self.blocks.setdefault(n[0], []).append(n)
        self.customer_name = dict(zip(cust["customer_id"], cust["name"]))
        # every invoice of the ledger by its full number (quoted but not open: review)
        all_ids = ledger.invoices["invoice_id"].astype(str)
        digits = all_ids.str.replace(r"\D", "", regex=True)
        long = digits.str.len() >= 6
        alnum = "F" + all_ids.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
        self.all_invoices = {**dict(zip(("D" + digits[long]).tolist(), all_ids[long].tolist())),
                             **dict(zip(alnum.tolist(), all_ids.tolist()))}
        # the group of each customer (its top parent) for payments made by a parent or a
        # sister company; only customers in a group appear
        self._group: dict[str, str] = {}
        if "parent_id" in cust.columns:
            parent = {c: p for c, p in zip(cust["customer_id"], cust["parent_id"])
                      if isinstance(p, str) and p}
            for c in set(parent) | set(parent.values()):
                top, seen = c, set()
                while top in parent and top not in seen:
                    seen.add(top)
                    top = parent[top]
                self._group[c] = top
        self._fuzzy_cache: dict[str, list] = {}
        self.pending: dict[int, int] = {}
        self._candidate_cache: dict[tuple, dict] = {}

    # -------------------------------------------------------------- indexes
    @staticmethod
    def _po_numbers(ledger: Ledger, items: pd.DataFrame) -> np.ndarray | None:
        inv = ledger.invoices
        if "po_number" not in inv.columns:
            return None
        po = inv.set_index("invoice_id")["po_number"]
        return items["invoice_id"].map(po).to_numpy(dtype=object)

    @staticmethod
    def _key_index(ids: np.ndarray, po: np.ndarray | None = None) -> tuple["_KeyIndex", "_KeyIndex"]:
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
        keys = [("T" + last[has]).to_numpy(dtype=object), ("N" + stripped).to_numpy(dtype=object)]
        where = [pos[has], pos[has]]
        if po is not None:
            pk = np.array([po_key(x) if isinstance(x, str) else "" for x in po], dtype=object)
            ok = pk != ""
            keys.append(pk[ok])
            where.append(pos[ok])
        weak = _KeyIndex(np.concatenate(keys), np.concatenate(where))
        return strong, weak

    def _aliases(self, D) -> dict:
        """Payer names seen on receipts applied to a customer's invoices (history, as of D):
        name -> the customers it paid for (at most three)."""
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
        frame = frame[frame["norm"] != ""]
        groups = frame.groupby("norm")["customer"].agg(lambda x: sorted(set(x)))
        return {k: v for k, v in groups.items() if len(v) <= 3}

    # -------------------------------------------------------------- identification
    def candidates(self, customer_id, payer_name, text: str = "") -> dict[str, tuple[float, str]]:
        """Every plausible customer for a receipt: customer -> (confidence, how).

        The customer id on the receipt; else the payer name: every customer of that
        normalised name (several when names are shared), names it paid for before, a
        customer whose name it is the start of (a 35-character truncation), names within
        the fuzzy margin of the best; else customers named anywhere in the free text.
        Amounts and references decide between several (see :meth:`match`).
        """
        if isinstance(customer_id, str) and customer_id in self.customer_ids:
            return {customer_id: (1.0, f"customer id {customer_id} on the receipt")}
        key = (payer_name, text)
        got = self._candidate_cache.get(key)
        if got is None:
            got = self._by_name(payer_name) or self._in_text(text)
            self._candidate_cache[key] = got
        return got

    def _by_name(self, payer_name) -> dict[str, tuple[float, str]]:
        norm = normalise_name(payer_name)
        if not norm:
            return {}
        shown = str(payer_name).strip()
        if norm in self.names:
            return {c: (0.97, f"payer name '{shown}' is the customer's name") for c in self.names[norm]}
        if norm in self.aliases:
            return {c: (0.96, f"payer name '{shown}' paid this customer before")
                    for c in self.aliases[norm]}
        if len(str(payer_name).strip()) >= 30 and len(norm) >= 12:
            import bisect
            i = bisect.bisect_left(self.sorted_names, norm)
            hits = []
            while i < len(self.sorted_names) and self.sorted_names[i].startswith(norm):
                hits += self.names[self.sorted_names[i]]
                i += 1
            if hits:
                return {c: (0.95, f"payer name '{shown}' is the start of the customer's name "
                                  f"(cut by the bank)") for c in hits}
        return self._fuzzy(norm, shown)

    def _fuzzy(self, norm: str, shown: str) -> dict[str, tuple[float, str]]:
        if norm not in self._fuzzy_cache:
            from rapidfuzz import fuzz, process
            # candidates below (min score - margin) cannot matter
            self._fuzzy_cache[norm] = process.extract(
                norm, self.blocks.get(norm[0], []), scorer=fuzz.WRatio, limit=5,
                score_cutoff=self.policy.fuzzy_min_score - self.policy.fuzzy_margin)
        got = self._fuzzy_cache[norm]
        if not got or got[0][1] < self.policy.fuzzy_min_score:
            return {}
        best = got[0][1]
        out = {}
        for name, score, _ in got:
            if score >= best - self.policy.fuzzy_margin:
                for c in self.names[name]:
                    conf = min(0.95, 0.85 + (score - self.policy.fuzzy_min_score) / 100)
                    out[c] = (conf, f"payer name '{shown}' resembles '{self.customer_name[c]}' "
                                    f"(score {score:.0f})")
        return out

    def _in_text(self, text: str) -> dict[str, tuple[float, str]]:
        """Customers named in a free text (BAI2 16-record text, MT940 :86:): the longest
        runs of words that are a customer's normalised name; else the words before the
        first reference, matched fuzzily."""
        words = normalise_name(text).split()
        if not words:
            return {}
        spans = []
        for i in range(len(words)):
            for n in range(min(self.max_name_words, len(words) - i), 0, -1):
                g = " ".join(words[i:i + n])
                if g in self.names and (n >= 2 or len(g) >= 6):
                    spans.append((i, i + n, g))
                    break
        spans = [s for s in spans if not any(o[0] <= s[0] and s[1] <= o[1] and o != s for o in spans)]
        if spans:
            # a name that opens the text is where banks put the payer: as good as a payer
            # name; a name further in may be someone else's (on behalf of, a reference)
            return {c: (0.97 if i == 0 else 0.95,
                        f"'{g}' {'opens' if i == 0 else 'is named in'} the remittance text")
                    for i, _, g in spans for c in self.names[g]}
        lead = []
        for w in normalise_name(text).split():
            if any(ch.isdigit() for ch in w) or REF_WORD.match(w):
                break
            lead.append(w)
        if len(" ".join(lead)) >= 5:
            return self._fuzzy(" ".join(lead), " ".join(lead))
        return {}

    def _quoted_not_open(self, strong_keys: set[str], strong: list[int]) -> list[str]:
        """Full invoice numbers quoted of invoices that are not open (or not in the
        receipt's currency, or not issued yet), unless an open one is quoted too."""
        if strong:
            return []
        return sorted({self.all_invoices[k] for k in strong_keys if k in self.all_invoices})

    def _related(self, cust: str, cands) -> str | None:
        """A candidate payer of the same group as ``cust`` (its parent, a subsidiary, a
        sister company under the same parent), or None."""
        group = self._group.get(cust)
        for c in sorted(cands):
            if c == cust:
                continue
            if group is not None and self._group.get(c) == group:
                return c
        return None

    def references(self, text: str, keys=None) -> tuple[set[int], set[int]]:
        strong_keys, weak_keys = keys or reference_keys(text)
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
        amount_minor, currency, payer_name, reference, customer_id; optionally details,
        the statement's whole free text)."""
        cur = receipt.currency
        if int(receipt.amount_minor) <= 0:
            return self._unapplied(receipt, "the receipt's amount is not positive: nothing to apply")
        day = np.datetime64(pd.Timestamp(receipt.receipt_date), "ns")
        text = _receipt_text(receipt)
        keys = reference_keys(text)
        strong, weak = self.references(text, keys)
        strong = self._eligible(strong, day, cur)
        weak = self._eligible(weak, day, cur)
        closed = self._quoted_not_open(keys[0], strong)
        cands = self.candidates(receipt.customer_id, receipt.payer_name, text)
        strong_customers = {self.inv_cust[p] for p in strong}
        if len(strong_customers) > 1:
            inter = strong_customers & set(cands)
            if len(inter) != 1:
                return self._unapplied(receipt, "references name invoices of several customers: "
                                       + ", ".join(sorted(strong_customers)))
            strong = [p for p in strong if self.inv_cust[p] in inter]
            strong_customers = inter
        if closed and not strong:
            # the remittance names an invoice that is no longer open (paid already? a
            # duplicate payment?) or in another currency: never explain it by amount alone
            lines = self._match_by_candidates(receipt, cands, weak)
            note = (f"; the remittance quotes {', '.join(closed)}, which is not open in "
                    f"{cur} (paid already? a duplicate payment?): review")
            return [_Line(ln.receipt_id, ln.invoice_id, ln.amount_minor, ln.currency, ln.rule,
                          min(ln.confidence, 0.6), ln.reason + note) for ln in lines]
        if strong_customers:
            cust = next(iter(strong_customers))
            if not cands:
                id_conf, how = 0.99, "the invoice numbers in the remittance"
            elif cust in cands:
                id_conf, how = 1.0, cands[cust][1] + " and the invoice numbers in the remittance"
            elif self._related(cust, cands):
                payer = self._related(cust, cands)
                id_conf, how = 0.98, (f"the invoice numbers in the remittance; paid by the related "
                                      f"customer {payer} {self.customer_name[payer]} (same group)")
            else:
                # payer and references disagree (a parent paying? a typo?): review
                id_conf = 0.8
                how = (f"invoice numbers belong to {cust}, but the payer points to "
                       f"{', '.join(sorted(cands))}")
            refs = sorted(set(strong) | {p for p in weak if self.inv_cust[p] == cust},
                          key=lambda p: (self.due[p], p))
            got = self._by_reference(receipt, cust, refs, id_conf, how, weak_only=False)
            if got is None:
                got = self._by_amount(receipt, cust, id_conf, how)
            return got[1] if got else self._unapplied(
                receipt, f"invoice numbers of {cust} in the remittance, but no reading of "
                f"{format_amount(int(receipt.amount_minor), cur)} fits; customer by {how}", cust,
                self._customer_items(cust, receipt))
        return self._match_by_candidates(receipt, cands, weak)

    def _match_by_candidates(self, receipt, cands, weak) -> list[_Line]:
        """No quoted full invoice number: the candidates' open items decide."""
        cur = receipt.currency
        if not cands:
            # unknown payer: a short reference whose open balance is exactly the amount
            R = int(receipt.amount_minor)
            exact = [p for p in weak if self.open[p] == R]
            if len(exact) == 1:
                p = exact[0]
                return [self._line(receipt, p, R, "reference_amount", 0.85,
                                   f"'{self.inv_id[p]}' found in the remittance and its open "
                                   f"balance equals the receipt; payer not identified")]
            return self._unapplied(receipt, "customer not identified: payer name "
                                   f"'{_str(receipt.payer_name)}' matches no customer")
        # the candidates' own open items decide: references first, then amounts
        results = []
        for c, (conf, how) in sorted(cands.items()):
            refs = sorted((p for p in weak if self.inv_cust[p] == c), key=lambda p: (self.due[p], p))
            got = None
            if refs:
                # a short reference to the candidate's own open invoice corroborates the name;
                # but a short number is weak: only an exact total outranks another
                # candidate's exact amount (a part or an excess ties with it)
                got = self._by_reference(receipt, c, refs, max(conf, 0.97),
                                         how + " and short invoice numbers in the remittance",
                                         weak_only=True)
                if got is not None and got[1] and got[1][0].rule != "reference_exact":
                    got = (2, got[1])
            if got is None:
                got = self._by_amount(receipt, c, conf, how)
            if got is not None:
                results.append((got[0], c, got[1]))
        if not results:
            pools = [p for c in sorted(cands) for p in self._customer_items(c, receipt)]
            who = ", ".join(f"{c} {self.customer_name[c]}" for c in sorted(cands))
            return self._unapplied(receipt, f"customer(s) {who} by the payer, but no open item or "
                                   f"set of open items fits "
                                   f"{format_amount(int(receipt.amount_minor), cur)}",
                                   next(iter(sorted(cands))), pools)
        tier = min(r[0] for r in results)
        top = [r for r in results if r[0] == tier]
        if len(top) == 1:
            lines = top[0][2]
            if len(cands) > 1:
                note = (f" (the payer fits {len(cands)} customers; only {top[0][1]}'s open items "
                        f"explain the payment)")
                lines = [_Line(ln.receipt_id, ln.invoice_id, ln.amount_minor, ln.currency, ln.rule,
                               ln.confidence, ln.reason + note) for ln in lines]
            return lines
        who = ", ".join(r[1] for r in top)
        return [_Line(ln.receipt_id, ln.invoice_id, ln.amount_minor, ln.currency, ln.rule,
                      min(ln.confidence, 0.5), ln.reason + f"; the open items of several customers "
                      f"({who}) explain it equally: review")
                for ln in top[0][2]]

    def _by_reference(self, receipt, cust, refs, id_conf, how, weak_only):
        """(1, lines) when the referenced invoices explain the receipt; None otherwise."""
        R, cur = int(receipt.amount_minor), receipt.currency
        ref_conf = 0.97 if weak_only else 0.99
        opens = [int(self.open[p]) for p in refs]
        total = sum(opens)
        if not refs or total <= 0:
            return None
        names = ", ".join(self.inv_id[p] for p in refs)
        kind = "short invoice numbers" if weak_only else "invoice numbers"
        if total == R:
            return 1, [self._line(receipt, p, int(self.open[p]), "reference_exact", ref_conf * id_conf,
                                  f"{kind} {names} in the remittance; open total equals the "
                                  f"receipt; customer by {how}") for p in refs]
        if len(refs) > 1:
            fits = self._subsets(refs, R, limit=2)
            if len(fits) == 1:
                return 1, [self._line(receipt, p, int(self.open[p]), "reference_subset",
                                      0.95 * id_conf, f"of the referenced {names}, only "
                                      f"{', '.join(self.inv_id[q] for q in fits[0])} add up to the "
                                      f"receipt; customer by {how}") for p in fits[0]]
            if len(fits) > 1:
                return 1, self._suggest_sets(receipt, fits, "reference_subset",
                                             f"two sets of the referenced invoices fit ({names})")
        if total > R:
            gap = total - R
            tol = self.policy.tolerance(total, cur)
            if gap <= tol:
                # a bank fee or small deduction: applied oldest first, the difference on the
                # last invoice, proposed as a deduction (needs approval)
                conf = 0.95 if len(refs) == 1 else 0.92
                if sum(self.pending.get(p, 0) for p in refs) + R > total:
                    conf = 0.6      # an earlier receipt naming them awaits review: no room
                return 1, self._apply_oldest_first(
                    receipt, refs, R, "short_pay", conf * id_conf,
                    f"{kind} {names}; short by {format_amount(gap, cur)} (tolerance "
                    f"{format_amount(tol, cur)}, e.g. a bank fee): applied, the difference left "
                    f"open and proposed as a deduction; customer by {how}", deduction=gap)
            if len(refs) == 1:
                # a part of the quoted invoice; another open item of exactly the amount would
                # be a second reading
                others = [p for p in self._customer_items(cust, receipt)
                          if p not in refs and self.open[p] == R]
                clash = self.pending.get(refs[0], 0) + R > total
                conf = 0.93 if not others and not clash else 0.6
                extra = ("" if not others else f"; {self.inv_id[others[0]]} is open for exactly "
                         f"the amount: review")
                if clash:
                    extra += ("; an earlier receipt of this run awaiting review names it too, and "
                              "both do not fit its open balance")
                return 1, self._apply_oldest_first(
                    receipt, refs, R, "partial_payment", conf * id_conf,
                    f"partial payment of {names} quoted in the remittance ({format_amount(R, cur)} "
                    f"of {format_amount(total, cur)} open){extra}; customer by {how}")
            return 1, self._apply_oldest_first(receipt, refs, R, "partial_payment", 0.75 * id_conf,
                                               f"pays part of the referenced {names}; oldest "
                                               f"first, to review; customer by {how}")
        # R > total: the rest may pay other invoices of the customer, or be an overpayment
        excess = R - total
        others = self._neighbours(cust, receipt, refs)
        fits = self._subsets(others, excess, limit=2)
        scope_pool = others
        if not fits:
            # invoices paid without being quoted need not fall due near the quoted ones
            wide = [p for p in self._customer_items(cust, receipt) if p not in set(refs)]
            single = [p for p in wide if self.open[p] == excess]
            fits = [(p,) for p in single[:2]] or self._subsets(wide, excess, limit=2)
            scope_pool = wide
        if len(fits) == 1:
            chosen = list(refs) + list(fits[0])
            conf, scope = self._subset_confidence(scope_pool, excess)
            if len(fits[0]) == 1 and scope_pool is not others:
                conf = min(conf, 0.93)
            return 1, [self._line(receipt, p, int(self.open[p]), "reference_plus_subset",
                                  conf * id_conf, f"{kind} {names} plus "
                                  f"{', '.join(self.inv_id[q] for q in fits[0])} ({scope} adding "
                                  f"up to the rest); customer by {how}") for p in chosen]
        if len(fits) > 1:
            return 1, [self._line(receipt, p, int(self.open[p]), "overpayment", 0.6 * id_conf,
                                  f"{kind} {names} paid in full; the {format_amount(excess, cur)} "
                                  f"more could pay several sets of other open items: review; "
                                  f"customer by {how}") for p in refs]
        # the quoted invoices in full, the excess on account (never applied elsewhere); a
        # large excess is more likely unquoted invoices than an overpayment: review
        limit = self.policy.overpayment_tolerance(total, cur)
        conf = 0.93 if excess <= limit else 0.8
        return 1, [self._line(receipt, p, int(self.open[p]), "overpayment", conf * id_conf,
                              f"{kind} {names} paid in full; {format_amount(excess, cur)} more "
                              f"than they owe stays unapplied on account; customer by {how}")
                   for p in refs]

    def _by_amount(self, receipt, cust, id_conf, how):
        """(tier, lines) when the customer's open items explain the amount without a
        reference (2: one invoice of exactly the amount, 3: a set or a short pay); None."""
        R, cur = int(receipt.amount_minor), receipt.currency
        pool = self._customer_items(cust, receipt)
        if not pool:
            return None
        exact = [p for p in pool if self.open[p] == R]
        if len(exact) == 1:
            p = exact[0]
            return 2, [self._line(receipt, p, R, "exact_amount", 0.95 * id_conf,
                                  f"no invoice number in the remittance; {self.inv_id[p]} is the "
                                  f"only open invoice of {format_amount(R, cur)}; customer by {how}")]
        if len(exact) > 1:
            return 2, [self._line(receipt, exact[0], R, "exact_amount", 0.6 * id_conf,
                                  f"{len(exact)} open invoices of exactly {format_amount(R, cur)}: "
                                  f"suggesting the oldest; customer by {how}")]
        # the oldest items, in due order, adding up to the receipt: how most pay in bulk
        cutoff = np.datetime64(pd.Timestamp(receipt.receipt_date), "ns") + np.timedelta64(self.EARLY_DAYS, "D")
        pool_arr = np.asarray(pool)
        due_now = pool_arr[self.due[pool_arr] <= cutoff].tolist()
        run = np.cumsum(self.open[np.asarray(due_now)]) if due_now else np.array([])
        hit = np.flatnonzero(run == R)
        fits = self._subsets(due_now or pool, R, limit=2)
        if len(hit) and hit[0] >= 1 and not (len(fits) > 1 or (
                len(fits) == 1 and set(fits[0]) != set(due_now[: hit[0] + 1]))):
            chosen = due_now[: hit[0] + 1]
            return 3, [self._line(receipt, p, int(self.open[p]), "subset_sum", 0.95 * id_conf,
                                  f"no invoice number; the {len(chosen)} oldest open items "
                                  f"({', '.join(self.inv_id[q] for q in chosen)}) add up to the "
                                  f"receipt; customer by {how}") for p in chosen]
        if len(fits) == 1:
            conf, scope = self._subset_confidence(due_now or pool, R)
            return 3, [self._line(receipt, p, int(self.open[p]), "subset_sum", conf * id_conf,
                                  f"no invoice number; {', '.join(self.inv_id[q] for q in fits[0])} "
                                  f"are {scope} adding up to the receipt; customer by {how}")
                       for p in fits[0]]
        if len(fits) > 1:
            return 3, self._suggest_sets(receipt, fits, "subset_sum",
                                         f"two different sets of open items add up to the receipt "
                                         f"(customer by {how})")
        # short by at most the tolerance (the larger of the policy's amount and its percent
        # of the open balance), compared exactly in integer minor units
        opens = self.open[pool_arr]
        gap = opens - R
        near = [int(p) for p in pool_arr[(gap > 0) & (gap <= self.policy.tolerances(opens, cur))]]
        if len(near) == 1:
            p = near[0]
            return 3, self._apply_oldest_first(receipt, [p], R, "short_pay", 0.8 * id_conf,
                                               f"no invoice number; {self.inv_id[p]} is short by "
                                               f"{format_amount(int(self.open[p]) - R, cur)} only; "
                                               f"customer by {how}", deduction=int(self.open[p]) - R)
        return None

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


