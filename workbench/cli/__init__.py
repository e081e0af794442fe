"""The ``workbench`` command (also ``python -m workbench``).

Exit codes: 0 success; 1 the ledger (or input) is invalid, every problem printed;
2 usage errors and other failures, with one clear message on stderr.

Every date, period, month, week and quarter argument goes through one argparse type
(:func:`iso_date` and the period types built on it), so a malformed value is a usage
error naming the option. Options that apply only to some values of another option are
declared in :data:`APPLIES` and refused when given where they do not apply. Customers
and collectors named on the command line go through :func:`_customer` and
:func:`_collector`, which suggest close names for unknown ones.

The package: :mod:`.common` (errors, who acts, names, loading the ledger), :mod:`.args`
(argument types, plain help text, options that apply only sometimes), :mod:`.parser` (every
command's options) and one module per group of commands (:mod:`.ledger_cmds`,
:mod:`.collections_cmds`, :mod:`.cash_credit_cmds`, :mod:`.other_cmds`; adjustments,
disputes, briefs and audit evidence have their own ``*_cli`` modules).
"""

from __future__ import annotations

import sys

from .args import (
    APPLIES,
    check_applies,
    command_path,
    currency_code,
    iso_date,
    iso_timestamp,
    month_text,
    period_text,
    plain_text,
    quarter_text,
    walk_parsers,
)
from .cash_credit_cmds import cmd_cashapp, cmd_cashapp_post, cmd_credit, cmd_risk
from .collections_cmds import (
    cmd_activity,
    cmd_letter,
    cmd_proposals,
    cmd_statement,
    cmd_worklist,
)
from .common import (
    LEDGER_HELP,
    CLIError,
    _collector,
    _customer,
    command_line_actor,
    command_line_authority,
    load_ledger,
)
from .ledger_cmds import cmd_aging, cmd_demo, cmd_kpis, cmd_validate
from .other_cmds import (
    _cmd_accounts,
    _cmd_adjustments,
    _cmd_disputes,
    _cmd_reserve,
    cmd_audit,
    cmd_report,
    cmd_serve,
)
from .parser import build_parser

__all__ = ["main", "build_parser", "walk_parsers", "APPLIES", "CLIError", "LEDGER_HELP",
           "command_line_actor", "command_line_authority", "load_ledger", "iso_date",
           "iso_timestamp", "period_text", "month_text", "quarter_text", "currency_code",
           "plain_text", "_customer", "_collector"]


COMMANDS = {"audit": cmd_audit, "serve": cmd_serve, "demo": cmd_demo, "validate": cmd_validate, "aging": cmd_aging, "kpis": cmd_kpis,
            "activity": cmd_activity, "worklist": cmd_worklist, "proposals": cmd_proposals,
            "statement": cmd_statement, "letter": cmd_letter, "cashapp": cmd_cashapp,
            "cashapp-post": cmd_cashapp_post, "credit": cmd_credit, "risk": cmd_risk,
            "report": cmd_report, "reserve": _cmd_reserve, "adjustments": _cmd_adjustments,
            "disputes": _cmd_disputes, "accounts": _cmd_accounts}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["cashapp", "post"]:
        argv = ["cashapp-post", *argv[2:]]
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:          # --help, --version, usage errors: argparse printed them
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    import warnings

    from ..ledger import AfterLedgerWarning
    name = "workbench " + command_path(args).replace("cashapp-post", "cashapp post")

    def show(message, category, *_args, **_kw):
        print(f"{name}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("once", AfterLedgerWarning)     # said once, in words
        warnings.showwarning = show
        try:
            check_applies(args)
            return COMMANDS[args.command](args)
        except CLIError as e:
            print(f"{name}: error: {e}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            return 0

