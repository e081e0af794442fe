"""What the matching parts share: a proposed line, the key index, a receipt's text, and
how likely a subset is to fit an amount by chance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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
