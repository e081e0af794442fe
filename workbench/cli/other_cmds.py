"""``workbench reserve``, ``report``, ``audit``, ``serve``, and the commands that live in
their own modules (``adjustments``, ``disputes``, ``accounts``)."""

from __future__ import annotations

import json
import sys

from .common import CLIError


def _cmd_reserve(args) -> int:
    from ..reserve.cli import cmd_reserve
    return cmd_reserve(args)


def cmd_report(args) -> int:
    from ..ledger import LedgerError
    from ..reports import PackError, PackFailed, run_pack
    period = {"quarter-end": args.quarter, "month-end": args.month,
              "weekly": args.week_ending}[args.kind]
    try:
        target = run_pack(args.kind, args.ledger, period, args.out,
                          allow_open_period=args.allow_open_period,
                          run_notebooks=not args.no_notebooks, jobs=args.jobs,
                          progress=not args.quiet,
                          options={"method": args.method, "time_budget": args.time_budget})
    except LedgerError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        print(f"{len(e.problems)} problem(s): no pack written", file=sys.stderr)
        return 2
    except PackFailed as e:
        print(f"workbench report: {e}", file=sys.stderr)
        return 1
    except (PackError, ValueError) as e:
        raise CLIError(str(e)) from None
    manifest = json.loads((target / "manifest.json").read_text())
    print(f"{args.kind} pack {manifest['period']} (as of {manifest['as_of']}) written to "
          f"{target}: {len(manifest['files'])} files")
    return 0


def cmd_audit(args) -> int:
    if args.action == "evidence":
        from ..evidence_cli import run_evidence
        return run_evidence(args)
    from ..state import audit_verify_command
    code, text = audit_verify_command(args.db)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


def cmd_serve(args) -> int:
    from ..serve import run
    return run(args)


def _cmd_adjustments(args) -> int:
    from ..adjustments_cli import run
    return run(args)


def _cmd_disputes(args) -> int:
    from ..disputes_cli import run
    return run(args)


def _cmd_accounts(args) -> int:
    from ..briefs_cli import run
    return run(args)


