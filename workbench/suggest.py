"""Close-name suggestions for an unknown id or name ("did you mean C00012, C00112?").

One scorer for the whole workbench: rapidfuzz's normalised Indel similarity
(``fuzz.ratio``) on case-folded, trimmed text, the best few above a cutoff, ties kept
in the candidates' order. Fast enough for 50,000 customers on every command line call.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["close_matches", "shown"]


def close_matches(word: str, candidates: Iterable[str], n: int = 3,
                  cutoff: float = 0.6, margin: float = 0.1) -> list[str]:
    """Up to ``n`` candidates closest to ``word``, the closest first: similarity (0..1) at
    least ``cutoff`` and within ``margin`` of the best one's, so that one typo's fixes are
    offered without every id of the same length; a case-insensitive match scores highest."""
    from rapidfuzz import fuzz, process, utils

    pool = list(dict.fromkeys(c for c in candidates if isinstance(c, str) and c))
    if not pool or not isinstance(word, str) or not word.strip():
        return []
    found = process.extract(word, pool, scorer=fuzz.ratio, processor=utils.default_process,
                            limit=n, score_cutoff=cutoff * 100)
    if not found:
        return []
    # extract returns (choice, score, index); sort by score, then the candidates' order
    best = max(score for _, score, _ in found)
    return [c for c, score, _ in sorted(found, key=lambda t: (-t[1], t[2]))
            if score >= best - margin * 100]


def shown(value: str) -> str:
    """A value as it reads in a message: bare when it is one plain word, quoted otherwise."""
    text = str(value)
    if text and text.isprintable() and not any(ch.isspace() for ch in text) \
            and "'" not in text and '"' not in text:
        return text
    return repr(text)
