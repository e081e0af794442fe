"""Who paid and which invoices a receipt names: the customer from the receipt, the
remittance, the payer name (exact, aliases, fuzzy with a margin); the references in
their messy forms. A mixin of :class:`workbench.cashapp.engine.Matcher`."""

from __future__ import annotations

from .text import REF_WORD, normalise_name, reference_keys


class Identification:
    """Identifying the payer and the invoices of a receipt (uses the Matcher's indexes)."""

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
