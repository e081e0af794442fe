"""``workbench reserve``: the quarter-end bad-debt reserve from the command line.

Registered in :mod:`workbench.cli` through :func:`add_parser` and :func:`cmd_reserve`; also
runnable alone: ``python -m workbench.reserve.cli --ledger DIR --quarter 2026Q3``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "cmd_reserve", "main"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``reserve`` command to an argparse subparsers object; returns its parser."""
    from .policy import METHODS
    r = subparsers.add_parser("reserve", help="bad-debt reserve: methods, provision, journal "
                              "entry, allowance roll-forward, backtest")
    r.add_argument("--ledger", required=True, type=Path, help="ledger folder")
    r.add_argument("--quarter", required=True,
                   help="quarter end to reserve for: 2026Q3, or 'last' (the last quarter closed "
                        "on the ledger's last date)")
    r.add_argument("--method", metavar="METHOD",
                   help=f"pooled method to book: {', '.join(METHODS)} (default: the policy's)")
    r.add_argument("--risk-model", type=Path, help="payment-risk model file (enables 'model')")
    r.add_argument("--policy", type=Path, help="reserve policy YAML (default: shipped)")
    r.add_argument("--backtest-quarters", type=int, default=4,
                   help="quarter ends before the quarter to backtest (default 4; 0: none)")
    r.add_argument("--no-log", action="store_true",
                   help="collector flags from the ledger's activities only (not the state database)")
    r.add_argument("--format", choices=("table", "json"), default="table")
    r.set_defaults(func=cmd_reserve)
    return r


def _quarter_end(text: str, ledger):
    import pandas as pd

    from ..cli import CLIError
    from ..periods import last_closed_quarter, parse_period
    if text == "last":
        if ledger.last_date is None:
            raise CLIError("the ledger has no dated rows: no last quarter")
        return last_closed_quarter(ledger.last_date)
    try:
        p = parse_period(text)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if not (p.start.day == 1 and p.start.month in (1, 4, 7, 10)
            and p.end == p.start + pd.offsets.QuarterEnd(0)):
        raise CLIError(f"--quarter must be a quarter (e.g. 2026Q3); got {text!r}, which is "
                       f"{p.start.date()}..{p.end.date()}")
    return p


def cmd_reserve(args) -> int:
    """Run the reserve analysis for ``args.quarter`` and print it (table or JSON)."""
    from ..cli import CLIError, load_ledger
    from ..policy import PolicyError
    from .analysis import reserve_analysis
    from .policy import METHODS, load_reserve_policy

    if args.method is not None and args.method not in METHODS:
        raise CLIError(f"unknown --method {args.method!r}: use one of {', '.join(METHODS)}")
    if args.backtest_quarters < 0:
        raise CLIError(f"--backtest-quarters must be >= 0; got {args.backtest_quarters}")
    if args.method == "model" and not args.risk_model:
        raise CLIError("--method model needs --risk-model FILE (a model saved by "
                       "'workbench risk train')")
    try:
        policy = load_reserve_policy(args.policy) if args.policy else load_reserve_policy()
    except (PolicyError, ValueError) as e:
        raise CLIError(str(e)) from None
    if args.risk_model and not args.risk_model.exists():
        raise CLIError(f"risk model file {args.risk_model} does not exist")
    quarter = None if args.quarter == "last" else _quarter_end(args.quarter, None)
    ledger = load_ledger(args.ledger)
    quarter = quarter or _quarter_end(args.quarter, ledger)
    if not ledger.has("reserve_gl"):
        raise CLIError(f"ledger {args.ledger} has no reserve_gl table: the allowance account's "
                       f"balance is needed for the provision and the journal entry (add "
                       f"reserve_gl.csv: period_end, beginning_balance, provision, write_offs, "
                       f"recoveries, ending_balance)")
    activities = None
    if not args.no_log:
        from ..collections import default_activity_frame
        try:
            activities = default_activity_frame(ledger)
        except Exception as e:  # noqa: BLE001 - a broken state database: say so, go on without
            print(f"warning: activity log not read ({e}); using the ledger's activities",
                  file=sys.stderr)
    model = None
    if args.risk_model:
        import warnings

        from ..risk import load_model
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model = load_model(args.risk_model, quarter.end)
            for w in caught:
                print(f"warning: {w.message}", file=sys.stderr)
        except (ValueError, OSError) as e:
            raise CLIError(str(e)) from None
    try:
        result = reserve_analysis(ledger, quarter.end, policy, method=args.method, risk_model=model,
                                  activities=activities, backtest_quarters=args.backtest_quarters)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.to_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m workbench.reserve.cli ...``: the same as ``workbench reserve ...``."""
    from ..cli import main as workbench_main

    argv = list(sys.argv[1:] if argv is None else argv)
    return workbench_main(argv if argv[:1] == ["reserve"] else ["reserve", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
