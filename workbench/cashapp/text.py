"""Names and references as payers type them: normalisation and the keys an invoice is found by."""

from __future__ import annotations

import re

__all__ = ["normalise_name", "invoice_keys", "reference_keys", "po_key", "REF_WORD"]


_LEGAL = {"INC", "INCORPORATED", "LLC", "CORP", "CORPORATION", "LTD", "LIMITED", "CO", "COMPANY",
          "GROUP", "GRP", "GMBH", "AG", "KG", "SA", "DE", "CV", "SL", "LTDA", "LDA", "KK", "PLC",
          "BV", "NV", "SRL", "SPA", "SAS", "THE"}
_NOISE = re.compile(r"\b(PAYMENT|PAYMT|PMT|PYMT|FROM|BY|ORDER OF|ON BEHALF OF|TRANSFER|WIRE|ACH)\b")


def normalise_name(name: str | None) -> str:
    """Customer or payer name for matching: upper case, no punctuation, no legal suffix,
    no "PAYMENT FROM"."""
    if not name:
        return ""
    s = str(name).upper().replace(".", "")          # S.A. -> SA, K.K. -> KK
    s = re.sub(r"[^A-Z0-9 ]+", " ", s)
    s = _NOISE.sub(" ", s)
    words = [w for w in s.split() if w not in _LEGAL]
    return " ".join(words)


_DIGITS = re.compile(r"\d+")
_JOINED = re.compile(r"(\d+)[-/ ](\d+)")


def invoice_keys(invoice_id: str) -> tuple[list[str], list[str]]:
    """(strong keys, weak keys) under which an invoice can be referenced."""
    up = str(invoice_id).upper()
    alnum = re.sub(r"[^A-Z0-9]", "", up)
    digits = "".join(_DIGITS.findall(up))
    runs = _DIGITS.findall(up)
    strong = ["F" + alnum]
    if len(digits) >= 6:
        strong.append("D" + digits)
    weak = []
    if runs:
        last = runs[-1]
        weak.append("T" + last)
        weak.append("N" + str(int(last)))
    return strong, weak


_PO = re.compile(r"\b(?:P\.?O\.?|PURCHASE\s+ORDER|ORDER)\s*(?:NO\.?|NUMBER|NR\.?)?\s*[#:\-]?\s*([A-Z]*\d[\dA-Z\-]*)")


_DATES = re.compile(r"\b(?:(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])"
                    r"|(?:0?[1-9]|[12]\d|3[01])[-./](?:0?[1-9]|1[0-2])[-./](?:(?:19|20)?\d\d))\b")


def po_key(po_number: str) -> str:
    """The key a purchase order number is found by (its digits, without leading zeros)."""
    digits = "".join(_DIGITS.findall(str(po_number or "")))
    return "P" + str(int(digits)) if digits else ""


def reference_keys(text: str) -> tuple[set[str], set[str]]:
    """Keys a remittance text may hit: strong (whole invoice numbers), weak (sequence
    numbers as people type them, and purchase order numbers ``P...``).

    Handles ``INV-2026-004012``, ``INV2026004012``, ``PMTINV2026004012``, ``inv 4012``,
    ``#004012``, lists joined by spaces, commas, slashes or semicolons
    (``INV 4012/4015``), and PO numbers mixed in (``PO-12345``: a PO key, not a sequence).
    """
    up = str(text or "").upper()
    # dates are not invoice numbers: 2026-09-12, 12.09.2026, 12/09/26, 20260912 (with a year)
    up = _DATES.sub(" ", up)
    strong, weak = set(), set()
    po_spans = []
    for m in _PO.finditer(up):
        key = po_key(m.group(1))
        if key:
            weak.add(key)
            po_spans.append(m.span(1))
    for tok in re.findall(r"[A-Z0-9]+", up):
        strong.add("F" + tok)
        # invoice numbers glued to text: PMTINV2026004512 -> INV2026004512
        for m in re.finditer(r"[A-Z]+(\d{4,})", tok):
            strong.add("F" + tok[m.start():])
            start = tok.find(m.group(1), m.start())
            strong.add("F" + re.sub(r"^[A-Z]*?(?=[A-Z]{2,3}\d)", "", tok[m.start():start] + m.group(1)))
    for a, b in _JOINED.findall(up):
        strong.add("D" + a + b)
    for m in _DIGITS.finditer(up):
        if any(a <= m.start() < b for a, b in po_spans):
            continue
        run = m.group()
        if len(run) >= 6:
            strong.add("D" + run)
        weak.add("T" + run)
        weak.add("N" + str(int(run)))
        if len(run) == 10:          # year + sequence run together: 2026004512
            weak.add("T" + run[4:])
            weak.add("N" + str(int(run[4:])))
    return strong, weak


#: Words of a remittance line that are not a payer's name (reference labels, courtesy words).
REF_WORD = re.compile(r"^(?:INV|INVS|INVOICE|INVOICES|RE|REF|PO|NO|NR|FACTURA|FACTURE|RECHNUNG|"
                      r"RG|FAKTURA|FACT|BILL|ACCT|ACCOUNT|CUST|CUSTOMER|ID|THANK|YOU|THANKS|"
                      r"REMITTANCE|ADVICE|TO|FOLLOW|AND|FOR|OF|PAID|PAY)$")

