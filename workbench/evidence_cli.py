"""``workbench audit evidence``: the evidence folder for auditors (:mod:`workbench.evidence`).

Exit codes follow ``workbench audit verify``: 0 the folder is written and the audit chain
is intact; 1 the folder is written but the verification found a break (shown in
``audit_verification.txt`` and the index: the auditor must see it, and a script must not
take the evidence as clean); 2 nothing written (bad period or options, the database
cannot be opened, the ledger is not valid).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_evidence_arguments", "run_evidence"]

_NAME = "workbench audit evidence"


def _count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"--sample must be a whole number, 0 or more; got {text!r}")
    return n


def _seed(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a whole number, 0 or more; got {text!r}")
    return n


def add_evidence_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``workbench audit evidence`` on ``parser``."""
    from .cli import (
        period_text,  # the CLI's ISO period parser (imported late: cli imports us)
    )
    from .evidence import DEFAULT_SAMPLE

    parser.add_argument("--period", required=True, type=period_text,
                        help="2026Q3, 2026-09, 2026 or 2026-07-01..2026-09-30 (UTC days, inclusive)")
    parser.add_argument("--out", required=True, type=Path,
                        help="the evidence folder (new, empty, or an earlier evidence folder of "
                        "the same period; another period's is refused)")
    parser.add_argument("--ledger", type=Path, default=None,
                        help="ledger folder: adds its write-offs and credit memos, and the "
                        "documents behind each sampled item (default: $WORKBENCH_LEDGER; "
                        "never the demo ledger)")
    parser.add_argument("--no-ledger", action="store_true",
                        help="the state database's records only (no ledger)")
    parser.add_argument("--db", default=None,
                        help="state database URL (default: WORKBENCH_DB_URL or data/workbench.db)")
    parser.add_argument("--sample", type=_count, default=DEFAULT_SAMPLE,
                        help=f"control executions to sample, stratified by kind (default "
                        f"{DEFAULT_SAMPLE}); proposals, other dispute events and activities "
                        f"are not sampled")
    parser.add_argument("--seed", type=_seed, default=0,
                        help="seed of the sample (numpy default_rng; default 0)")
    return parser


def run_evidence(args) -> int:
    """Build the evidence folder; print a summary. Returns the exit code (see the module)."""
    from .evidence import EvidenceError, build_evidence

    ledger = None
    if args.ledger is None and not args.no_ledger:
        # evidence never falls back to the demo ledger: only a configured one is taken
        import os
        if os.environ.get("WORKBENCH_LEDGER"):
            from .config import default_ledger
            path, why = default_ledger()
            if path.is_dir():
                args.ledger = path
                print(f"ledger: {path} ({why})", file=sys.stderr)
            else:
                print(f"no ledger ({path} does not exist): the state database's records "
                      f"only; pass --ledger for the ERP's write-offs and credit memos",
                      file=sys.stderr)
        else:
            print("no ledger (pass --ledger or set WORKBENCH_LEDGER): the state database's "
                  "records only, without the ERP's write-offs and credit memos", file=sys.stderr)
    if args.ledger is not None and not args.no_ledger:
        from .ledger import Ledger, LedgerError
        if not Path(args.ledger).is_dir():
            print(f"{_NAME}: error: ledger folder {args.ledger} does not exist", file=sys.stderr)
            return 2
        try:
            ledger = Ledger.load(args.ledger)
        except LedgerError as e:
            for problem in e.problems:
                print(problem, file=sys.stderr)
            print(f"{_NAME}: error: {len(e.problems)} problem(s): ledger {args.ledger} is not "
                  f"valid", file=sys.stderr)
            return 2
    try:
        res = build_evidence(args.period, args.out, db_url=args.db, ledger=ledger,
                             sample=args.sample, seed=args.seed)
    except EvidenceError as e:
        print(f"{_NAME}: error: {e}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{n} {k}" for k, n in res.counts.items())
    print(f"evidence for {res.period.label} written to {res.out}: {counts}; "
          f"{len(res.sample)} item(s) sampled (seed {args.seed}); {len(res.files)} files")
    if res.audit_ok:
        print(f"audit chain intact: {res.audit_text}")
    else:
        print(f"{_NAME}: the audit chain is BROKEN (see {res.out / 'audit_verification.txt'}):\n"
              f"{res.audit_text}", file=sys.stderr)
    return res.exit_code
