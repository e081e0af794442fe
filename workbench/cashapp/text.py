"""Names and references as payers type them: normalisation and the keys an invoice is found by."""

from __future__ import annotations

import re

__all__ = ["normalise_name", "invoice_keys", "reference_keys"]


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


def reference_keys(text: str) -> tuple[set[str], set[str]]:
    """Keys a remittance text may hit: strong (whole invoice numbers), weak (sequences)."""
    up = str(text or "").upper()
    strong, weak = set(), set()
    for tok in re.findall(r"[A-Z0-9]+", up):
        strong.add("F" + tok)
        # invoice numbers glued to text: PMTINV2026004512 -> INV2026004512
        for m in re.finditer(r"[A-Z]+(\d{4,})", tok):
            strong.add("F" + tok[m.start():])
            start = tok.find(m.group(1), m.start())
            strong.add("F" + re.sub(r"^[A-Z]*?(?=[A-Z]{2,3}\d)", "", tok[m.start():start] + m.group(1)))
    for a, b in _JOINED.findall(up):
        strong.add("D" + a + b)
    for run in _DIGITS.findall(up):
        if len(run) >= 6:
            strong.add("D" + run)
        weak.add("T" + run)
        weak.add("N" + str(int(run)))
        if len(run) == 10:          # year + sequence run together: 2026004512
            weak.add("T" + run[4:])
            weak.add("N" + str(int(run[4:])))
    return strong, weak


