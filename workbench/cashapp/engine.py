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

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount
from .allocate import Allocation
from .identify import Identification
from .lines import _KeyIndex, _Line, _receipt_text, _str
from .policy import CashAppPolicy, load_cashapp_policy
from .text import normalise_name, po_key, reference_keys

__all__ = ["Matcher", "match_receipts", "RULES"]

RULES = ("reference_exact", "reference_subset", "reference_plus_subset", "short_pay",
         "partial_payment", "overpayment", "exact_amount", "subset_sum", "reference_amount",
         "unapplied")


class Matcher(Identification, Allocation):
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


