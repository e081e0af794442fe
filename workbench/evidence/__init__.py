"""Evidence for auditors: one folder a controller can hand over for a period.

:func:`build_evidence` reads the period's records from the state database (credit
decisions, cash postings, adjustment events, dispute events, activities; every record
*recorded* in the period, by ``recorded_at`` in UTC, corrections included) and, when a
ledger is given, its write-offs and credit memos (by their ``date``), and writes:

- one CSV per kind (``credit_decisions.csv``, ``postings.csv``, ...): the uniform columns
  ``record_id, who, when_utc, why, authority`` first, then every column of the record under
  its business name; money as exact decimal text in the currency's ISO 4217 decimals
  (:func:`workbench.money.format_amount`) beside a ``currency`` column; times in UTC ISO 8601;
- ``audit_verification.txt`` (what ``workbench audit verify`` prints) and
  ``audit_verification.json`` (result, problems, counts, last MAC, the anchor);
- ``sample/``: a seeded random sample of the period's *control executions* (credit
  decisions, cash postings and rejections, adjustment decisions, dispute resolutions, ledger
  write-offs and credit memos; not proposals, other dispute events or activities:
  :mod:`.controls`), stratified by kind (numpy ``default_rng``: the same inputs and seed give
  the same sample), one folder per item with ``item.html`` (the control tested under business
  names, the authority and the limit it carried, the documents behind it) and, for a credit
  decision, ``credit_file.html``; ``sample.csv`` (the items with business key, customer,
  amount, who, when, authority) and ``sample_population.csv`` (the population in the order
  drawn from, to re-perform the draw);
- ``index.html`` and ``index.csv``: period, generated when and by whom, the database and
  ledger identities, counts, the population and the number sampled per kind, the seed and
  method, the verification result, the sample with links and the
  SHA-256 of every other file (the manifest); ``SHA256SUMS`` (``sha256sum -c``) covers
  every file including the index.

The folder is written into a temporary folder beside ``out`` and renamed into place; an
``out`` holding the evidence folder of another period is refused (the same period, re-run,
is replaced).

The modules: :mod:`.records` (the period's records as evidence rows), :mod:`.controls` (the
sampling population, business keys, authority limits, field names), :mod:`.sample` (the
seeded sample and each item's documents) and :mod:`.folder` (the verification, the index and
the folder).
"""

from __future__ import annotations

from .folder import DEFAULT_SAMPLE, EvidenceResult, build_evidence, verification
from .records import (
    KIND_ORDER,
    LEDGER_KINDS,
    STATE_KINDS,
    EvidenceError,
    StateKind,
    read_ledger,
    read_state,
    state_row_evidence,
    utc_iso,
)
from .sample import draw_sample, write_sample_item

__all__ = [
    "DEFAULT_SAMPLE",
    "KIND_ORDER",
    "LEDGER_KINDS",
    "STATE_KINDS",
    "EvidenceError",
    "EvidenceResult",
    "StateKind",
    "build_evidence",
    "draw_sample",
    "read_ledger",
    "read_state",
    "state_row_evidence",
    "utc_iso",
    "verification",
    "write_sample_item",
]
