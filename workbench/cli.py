"""The ``workbench`` command (also ``python -m workbench``).

Exit codes: 0 success; 1 the ledger (or input) is invalid, every problem printed;
2 usage errors and other failures, with one clear message on stderr.

Every date, period, month, week and quarter argument goes through one argparse type
(:func:`iso_date` and the period types built on it), so a malformed value is a usage
error naming the option. Options that apply only to some values of another option are
declared in :data:`APPLIES` and refused when given where they do not apply. Customers
and collectors named on the command line go through :func:`_customer` and
:func:`_collector`, which suggest close names for unknown ones.
"""

from __future__ import annotations

import argparse
import calendar
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .schema import ACTIVITY_KINDS

__all__ = ["main", "build_parser", "iso_date", "APPLIES", "Applies", "walk_parsers"]

DESCRIPTION = ("Collections Workbench: accounts-receivable aging, KPIs, collections, cash "
               "application, credit, payment risk, reserve and report packs from one ledger "
               "folder.")
EPILOG = ("Exit codes: 0 success; 1 the ledger or input is invalid (every problem printed); "
          "2 a usage error or another failure (one message on stderr). "
          "'workbench COMMAND --help' describes a command.")


LEDGER_HELP = "ledger folder (default: $WORKBENCH_LEDGER, else the demo ledger data/demo)"


class CLIError(Exception):
    """A failure to report in one line and exit 2."""


def command_line_actor(name: str | None = None) -> str:
    """Who records something that needs no authority (an activity): the users-file entry of
    the OS login when there is one, else the OS login; ``name`` is a check only."""
    from .serve.accounts import AccountsError, command_line_user, os_login

    try:
        user = command_line_user()[0]
    except AccountsError:
        user = os_login()
    if name is not None and name != user:
        raise CLIError(f"{name!r} is not who runs this command: it is recorded by {user!r} "
                       f"(the OS login {os_login()!r})")
    return user


def command_line_authority(command: str, name: str | None = None, level: str | None = None
                           ) -> tuple[str, str]:
    """``(name, authority)`` of whoever runs ``command``: the users-file entry of the process's
    OS login and its role's authority (:func:`workbench.serve.accounts.command_line_user`).
    ``name`` and ``level``, when an option gives them, are checks only: a difference is refused,
    never recorded."""
    from .serve.accounts import AccountsError, command_line_user, os_login

    try:
        user, role, authority = command_line_user()
    except AccountsError as e:
        raise CLIError(str(e)) from None
    if name is not None and name != user:
        raise CLIError(f"{name!r} is not who runs this command: the OS login {os_login()!r} is the "
                       f"workbench user {user!r} (role {role}); {command} records that user")
    if level is not None and level != authority:
        raise CLIError(f"--level {level} is not {user}'s authority: the role {role} has authority "
                       f"{authority} in the roles file, and that is what {command} checks")
    return user, authority


# --------------------------------------------------------------------------- help text
_RST_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj|ref|doc|term|py:\w+):`(~?)([^`<]*?)"
                       r"(?:\s*<[^>]*>)?`")
_RST_LITERAL = re.compile(r"``(.*?)``", re.S)
_RST_STRONG = re.compile(r"\*\*(.*?)\*\*", re.S)
_RST_DIRECTIVE = re.compile(r"^[ \t]*\.\. .*$", re.M)


def plain_text(text: str) -> str:
    """Help text without reStructuredText markup: roles, literals, strong, directives, ``::``."""
    if not text:
        return text
    text = _RST_DIRECTIVE.sub("", text)
    text = _RST_ROLE.sub(lambda m: m.group(2).strip().rsplit(".", 1)[-1] if m.group(1)
                         else m.group(2).strip(), text)
    text = _RST_LITERAL.sub(r"\1", text)
    text = _RST_STRONG.sub(r"\1", text)
    text = re.sub(r"`([^`]+)`_?", r"\1", text)
    return re.sub(r"::(\s|$)", r":\1", text)


class PlainHelpFormatter(argparse.HelpFormatter):
    """Help as plain text: RST markup stripped; hidden subcommands (help=SUPPRESS) not listed."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(plain_text(text))

    def _expand_help(self, action) -> str:
        return plain_text(super()._expand_help(action))

    def _iter_indented_subactions(self, action):
        for sub in super()._iter_indented_subactions(action):
            if sub.help is not argparse.SUPPRESS:
                yield sub

    def add_argument(self, action) -> None:
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            # argparse measures subcommand names without their indent: they wrap; measure them
            for sub in self._iter_indented_subactions(action):
                self._action_max_length = max(self._action_max_length, self._current_indent
                                              + len(self._format_action_invocation(sub)))


#: Help of the options many commands share (an option's own help= wins).
_COMMON_HELP = {
    "--ledger": "ledger folder",
    "--column-map": "YAML column map for an ERP export (a file or a shipped map's name)",
    "--db": "state database URL (default: $WORKBENCH_DB_URL or sqlite:///data/workbench.db)",
    "--no-log": "ignore the state database's activity log",
    "--quiet": "no progress on stderr",
    "--format": "output format (default: %(default)s)",
    "--scorecard": "a scorecard saved by 'workbench credit train' (default: the standard one)",
    "--as-of": "the date to answer as of, YYYY-MM-DD",
    "--customer": "customer id (or the customer's exact name)",
    "--policy": "policy YAML (default: the shipped policy)",
}


def walk_parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help_=None):
    """Yield ``(path, parser, help)`` for the parser and every subcommand parser under it
    (``help``: the one-line help the parent lists it with; ``SUPPRESS`` when hidden)."""
    yield path, parser, help_
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                yield from walk_parsers(sub, (*path, name), helps.get(name))


def _finish(parser: argparse.ArgumentParser) -> None:
    """One formatter, a description and help for every option, on every parser."""
    for path, sp, help_ in walk_parsers(parser):
        sp.formatter_class = PlainHelpFormatter
        if not sp.description and isinstance(help_, str) and help_ is not argparse.SUPPRESS:
            sp.description = help_[0].upper() + help_[1:] + "."
        for action in sp._actions:
            if action.help is None and action.option_strings:
                action.help = _COMMON_HELP.get(action.option_strings[0])
            if action.metavar is None and action.type in _METAVARS:
                action.metavar = _METAVARS[action.type]


# --------------------------------------------------------------------------- argument types
_DATE_FORM = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TIMESTAMP_FORM = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")


def iso_date(text: str) -> str:
    """argparse type: a real calendar date written YYYY-MM-DD (ISO 8601), read by
    :func:`workbench.ledger.to_date`; returns the text (trimmed). Anything else is a usage
    error naming the option and the value."""
    from .ledger import to_date
    s = str(text).strip()
    try:
        to_date(s)
    except ValueError as e:
        m = _DATE_FORM.match(s)
        if not m:
            raise argparse.ArgumentTypeError(
                f"{e}: ISO 8601 year-month-day is required, e.g. 2026-09-30") from None
        y, mo, d = (int(g) for g in m.groups())
        if not 1 <= mo <= 12:
            why = f"there is no month {mo:02d}"
        elif y >= 1 and not 1 <= d <= calendar.monthrange(y, mo)[1]:
            why = f"{calendar.month_name[mo]} {y} has {calendar.monthrange(y, mo)[1]} days"
        else:
            why = "outside the dates the workbench handles (1678-2261)"
        raise argparse.ArgumentTypeError(f"{e}: {why}") from None
    if not _DATE_FORM.match(s):       # to_date also reads a time of day: an argument is a date
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD): a date "
                                         f"without a time of day is required")
    return s


def iso_timestamp(text: str) -> str:
    """argparse type: an ISO 8601 date and time with its UTC offset (2026-09-29T10:00:00+00:00)."""
    import pandas as pd
    s = str(text).strip()
    m = _TIMESTAMP_FORM.match(s)
    if m:
        iso_date(m.group(1))
        try:
            pd.Timestamp(s)
            return s
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(
        f"not a timestamp: {text!r}: ISO 8601 date, time and offset are required, "
        f"e.g. 2026-09-29T10:00:00+00:00")


_RANGE = re.compile(r"^(\S+?)\s*(?:\.\.|/)\s*(\S+)$")


def period_text(text: str) -> str:
    """argparse type: a period read by :func:`workbench.periods.parse_period` (2026-09,
    2026Q3, 2026 or 2026-07-01..2026-09-30, the dates ISO); returns the text (trimmed)."""
    from .periods import parse_period
    s = str(text).strip()
    try:
        parse_period(s)
    except ValueError as e:
        m = _RANGE.match(s)
        if m and re.match(r"^\d{4}-\d{2}-\d{2}$", m.group(1)) and re.match(r"^\d{4}-\d{2}-\d{2}$", m.group(2)):
            for part in m.groups():
                try:
                    iso_date(part)
                except argparse.ArgumentTypeError as bad:
                    raise argparse.ArgumentTypeError(f"unknown period {text!r}: {bad}") from None
        raise argparse.ArgumentTypeError(str(e)) from None
    return s


def month_text(text: str) -> str:
    """argparse type: a month, YYYY-MM, or ``last`` (the last month closed)."""
    from .periods import parse_period
    s = str(text).strip()
    if s == "last":
        return s
    try:
        ok = len(parse_period(s).label) == 7 and s[4:5] == "-"
    except ValueError:
        ok = False
    if not ok:
        raise argparse.ArgumentTypeError(f"not a month: {text!r}: use YYYY-MM (e.g. 2026-09) "
                                         f"or 'last'")
    return s


def quarter_text(text: str) -> str:
    """argparse type: a quarter, 2026Q3, or ``last`` (the last quarter closed)."""
    from .periods import parse_period
    s = str(text).strip()
    if s == "last":
        return s
    try:
        p = parse_period(s)
    except ValueError:
        p = None
    if p is None or p.label[4:5] != "Q":
        got = f"; got {text!r}" if p is None else \
            f"; got {text!r}, which is {p.start.date()}..{p.end.date()}"
        raise argparse.ArgumentTypeError(f"--quarter must be a quarter (e.g. 2026Q3) or "
                                         f"'last'{got}")
    return s


def currency_code(text: str) -> str:
    """argparse type: an ISO 4217 currency code (USD, EUR, JPY, KWD, ...)."""
    from .money import is_currency
    s = str(text).strip()
    if is_currency(s):
        return s
    hint = f"; did you mean {s.upper()}?" if is_currency(s.upper()) else ""
    raise argparse.ArgumentTypeError(f"not an ISO 4217 currency code: {text!r}{hint}")


def positive_int(text: str) -> int:
    """argparse type: a whole number, 1 or more."""
    try:
        n = int(str(text).strip())
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number, 1 or more; got {text!r}")
    return n


def count(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    try:
        n = int(str(text).strip())
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more; got {text!r}")
    return n


_METAVARS = {iso_date: "YYYY-MM-DD", iso_timestamp: "TIMESTAMP", period_text: "PERIOD",
             month_text: "YYYY-MM", quarter_text: "QUARTER", currency_code: "CURRENCY"}


# --------------------------------------------------------------------------- options that apply only sometimes
@dataclass(frozen=True)
class Applies:
    """``option`` of ``command`` applies only when ``when`` has one of ``values``
    (``values=None``: only when ``when`` is given; ``(None,)``: only when it is not; a flag's
    ``(False,)``: only without it). Given elsewhere it is refused, exit 2.

    The option is declared with default ``None`` so that "given" can be told from "not
    given"; ``default`` is the value it takes when not given, set after the check.
    """
    command: str
    option: str
    when: str
    values: tuple | None
    why: str
    default: object = None


_NO_LOG = "the activity log is neither read nor written with --no-log"
_PROMISE = "--promise-date, --promise-amount and --currency go with kind promise_to_pay only"

#: Every option that applies only to some values of another option, per command.
APPLIES: tuple[Applies, ...] = (
    Applies("kpis", "--trend", "--format", ("table", "csv"),
            "the trend is shown in the table and csv formats; the JSON document has none", 0),
    Applies("kpis", "--trend", "--report-currency", (None,),
            "the trend is in each currency: it is not converted", 0),
    Applies("activity add", "--promise-date", "--kind", ("promise_to_pay",), _PROMISE),
    Applies("activity add", "--promise-amount", "--kind", ("promise_to_pay",), _PROMISE),
    Applies("activity add", "--currency", "--kind", ("promise_to_pay",), _PROMISE),
    Applies("activity list", "--as-of", "--ledger", None,
            "promises are judged kept, broken or pending only against a ledger"),
    Applies("activity metrics", "--db", "--no-log", (False,), _NO_LOG),
    Applies("worklist", "--db", "--no-log", (False,), _NO_LOG),
    Applies("proposals", "--db", "--no-log", (False,), _NO_LOG),
    Applies("statement", "--db", "--no-log", (False,), _NO_LOG),
    Applies("statement", "--collector", "--no-log", (False,),
            "the sender is recorded only in the activity log"),
    Applies("letter", "--db", "--no-log", (False,), _NO_LOG),
    Applies("credit decide", "--limit", "--decision", ("approve_other",),
            "only approve_other takes a limit: approve takes the recommended one, decline sets "
            "none and hold keeps the current one"),
    Applies("risk forecast", "--backtest", "--format", ("table", "json"),
            "the csv format has no backtest (it is in the table and json formats)", 0),
    Applies("risk forecast", "--time-budget", "--backtest", None,
            "the time budget is the backtest's"),
    Applies("report", "--quarter", "kind", ("quarter-end",),
            "--quarter picks a quarter-end pack's period", "last"),
    Applies("report", "--month", "kind", ("month-end",), "--month picks a month-end pack's period"),
    Applies("report", "--week-ending", "kind", ("weekly",), "--week-ending picks a weekly pack's week"),
    Applies("report", "--method", "kind", ("quarter-end",),
            "only the quarter-end pack has the bad-debt reserve", ""),
    Applies("report", "--method", "--no-notebooks", (False,),
            "the tables-only run books the reserve policy's method", ""),
    Applies("report", "--time-budget", "--no-notebooks", (False,),
            "it is the notebooks' time budget", 600),
    Applies("report", "--jobs", "--no-notebooks", (False,), "it is how many notebooks run at once"),
)


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def _given(value) -> bool:
    return value is not None and value is not False


def command_path(args) -> str:
    """``credit decide``, ``aging``: the command (and action) the arguments were parsed for."""
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if action else args.command


def check_applies(args, rules: tuple[Applies, ...] = APPLIES) -> None:
    """Refuse an option given where it does not apply (:data:`APPLIES`); then give the
    options not given their defaults."""
    from .suggest import shown
    mine = [r for r in rules if r.command == command_path(args)]
    for r in mine:
        value = getattr(args, _dest(r.option))
        if not _given(value):
            continue
        cond = getattr(args, _dest(r.when))
        if r.values is None:
            if _given(cond):
                continue
            where = f"without {r.when}"
        else:
            if cond in r.values:
                continue
            if not r.when.startswith("-"):
                where = f"to the {cond} {r.command}"
            elif cond is True:
                where = f"with {r.when}"
            else:
                where = f"with {r.when} {shown(cond)}"
        raise CLIError(f"{r.option} {shown(value)} does not apply {where} ({r.why})")
    for r in mine:
        if getattr(args, _dest(r.option)) is None:
            setattr(args, _dest(r.option), r.default)


# --------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=PlainHelpFormatter)
    from . import __version__
    p.add_argument("--version", action="version", version=f"workbench {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="generate a seeded demo ledger with ground truth")
    d.add_argument("--out", required=True, type=Path, help="folder to write (replaced atomically)")
    d.add_argument("--invoices", type=int, default=20_000, help="number of invoices (default 20000)")
    d.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    d.add_argument("--end", default="2026-10-30", type=iso_date,
                   help="last business date, YYYY-MM-DD (default 2026-10-30)")
    d.add_argument("--months", type=int, default=24, help="months of history (default 24)")
    d.add_argument("--customers", type=int, default=None,
                   help="number of customers (default: one per 120 invoices, 12 to 50000)")
    d.add_argument("--profile", choices=("clean", "noisy"), default="clean",
                   help="clean: each customer keeps its habit (default); noisy: payment "
                        "behaviour as noisy as a real ledger's (habit switches, one-off delays, "
                        "thin and late-joining customers, few defaults), truth recorded")
    d.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="file format of the tables (default: parquet)")
    d.add_argument("--quiet", action="store_true")

    v = sub.add_parser("validate", help="validate a ledger folder; print every problem")
    v.add_argument("ledger", type=Path, help="ledger folder")
    v.add_argument("--column-map", type=Path)
    v.add_argument("--format", choices=("text", "json"), default="text")

    a = sub.add_parser("aging", help="age open receivables into days-past-due buckets")
    a.add_argument("--ledger", required=True, type=Path)
    a.add_argument("--as-of", required=True, type=iso_date, help="aging date, YYYY-MM-DD")
    a.add_argument("--by", choices=("customer", "segment", "collector", "currency"),
                   help="one row per group and currency (default: one per currency)")
    a.add_argument("--format", choices=("table", "csv", "json"), default="table")
    a.add_argument("--report-currency", type=currency_code,
                   help="convert to this currency with the fx_rates table")
    a.add_argument("--policy", type=Path, help="aging policy YAML (default: shipped buckets)")
    a.add_argument("--column-map", type=Path)

    k = sub.add_parser("kpis", help="collections KPIs for a period (DSO, CEI, ...)")
    k.add_argument("--ledger", type=Path, help=LEDGER_HELP)
    k.add_argument("--period", required=True, type=period_text,
                   help="2026-09, 2026Q3, 2026 or 2026-07-01..2026-09-30")
    k.add_argument("--format", choices=("table", "json", "csv"), default="table")
    k.add_argument("--by", choices=("customer", "segment", "collector", "currency"),
                   help="one row per group and currency (default: one per currency)")
    k.add_argument("--report-currency", type=currency_code,
                   help="convert to this currency with the fx_rates table")
    k.add_argument("--cei-sales", choices=("period_total", "monthly_average"), default="period_total",
                   help="CEI variant: the period's total credit sales (default) or per month")
    k.add_argument("--cei-current-days", type=count, default=0,
                   help="CEI variant: 'current' AR up to N days past due (default 0: not due)")
    k.add_argument("--trend", type=count, default=None, metavar="N",
                   help="also the N month-ends up to the period end (table and csv formats)")
    k.add_argument("--targets", type=Path, metavar="FILE",
                   help="goals YAML (workbench/policies/goals.yaml): each KPI with a target shows "
                        "actual, target, variance and status (a quarter or a month only)")
    k.add_argument("--column-map", type=Path)

    act = sub.add_parser("activity", help="record and list collection activities (state database)")
    act_sub = act.add_subparsers(dest="action", required=True, metavar="ACTION")
    aa = act_sub.add_parser("add", help="record one activity (append-only)")
    aa.add_argument("--customer", required=True,
                    help="customer id (or the customer's exact name, with --ledger)")
    aa.add_argument("--kind", required=True, choices=ACTIVITY_KINDS, help="what was done")
    aa.add_argument("--collector", required=True, help="who made the contact")
    aa.add_argument("--at", type=iso_timestamp,
                    help="when, ISO 8601 with offset, e.g. 2026-09-29T10:00:00+00:00 (default: now)")
    aa.add_argument("--invoice", help="the invoice it is about")
    aa.add_argument("--note", help="free text")
    aa.add_argument("--promise-date", type=iso_date, help="promise_to_pay: the promised date")
    aa.add_argument("--promise-amount", help="promise_to_pay: the promised amount (decimal)")
    aa.add_argument("--currency", type=currency_code,
                    help="promise_to_pay: the promised amount's currency (default: the customer's)")
    aa.add_argument("--ledger", type=Path, help="check the customer and invoice against it")
    aa.add_argument("--by", help="optional check: it is recorded by the users-file entry of your OS "
                    "login (else the OS login itself); a different name is refused")
    aa.add_argument("--db")
    al = act_sub.add_parser("list", help="list the activity log")
    al.add_argument("--customer", help="only this customer (id, or name with --ledger)")
    al.add_argument("--kind", choices=ACTIVITY_KINDS, help="only this kind")
    al.add_argument("--ledger", type=Path, help="also judge promises (kept/broken/pending)")
    al.add_argument("--as-of", type=iso_date,
                    help="with --ledger: judge promises as of this date (default: today)")
    al.add_argument("--format", choices=("table", "json", "csv"), default="table")
    al.add_argument("--db")
    am = act_sub.add_parser("metrics", help="per-collector activity metrics for a period, "
                                            "against the goals file's activity targets")
    am.add_argument("--ledger", type=Path, help=LEDGER_HELP)
    am.add_argument("--period", required=True, type=period_text,
                    help="2026Q3, 2026-09, 2026 or 2026-07-01..2026-09-30")
    am.add_argument("--collector", help="only this collector")
    am.add_argument("--format", choices=("table", "json", "csv"), default="table")
    am.add_argument("--targets", type=Path, metavar="FILE",
                    help="goals YAML with activity targets (a quarter or a month only)")
    am.add_argument("--db", help="also use the activity log in this state database")
    am.add_argument("--no-log", action="store_true", help="ignore the state database's activity log")

    w = sub.add_parser("worklist", help="accounts ranked by what to do first, with reasons")
    w.add_argument("--ledger", required=True, type=Path)
    w.add_argument("--as-of", required=True, type=iso_date)
    w.add_argument("--collector", help="only this collector's accounts")
    w.add_argument("--policy", type=Path, help="collections policy YAML (default: shipped)")
    w.add_argument("--top", type=count, default=0, help="only the first N accounts (default: all)")
    w.add_argument("--format", choices=("table", "json", "csv"), default="table")
    w.add_argument("--db", help="also use the activity log in this state database")
    w.add_argument("--no-log", action="store_true", help="ignore the state database's activity log")
    w.add_argument("--risk-model", type=Path, help="rank by a payment-risk model's scores")

    pr = sub.add_parser("proposals", help="suspension and small-balance write-off proposals")
    pr.add_argument("--ledger", required=True, type=Path)
    pr.add_argument("--as-of", required=True, type=iso_date)
    pr.add_argument("--policy", type=Path, help="collections policy YAML (default: shipped)")
    pr.add_argument("--format", choices=("table", "json", "csv"), default="table")
    pr.add_argument("--db")
    pr.add_argument("--no-log", action="store_true")

    st = sub.add_parser("statement", help="a customer's statement of account (HTML or Excel)")
    st.add_argument("--ledger", required=True, type=Path)
    st.add_argument("--customer", required=True)
    st.add_argument("--as-of", required=True, type=iso_date)
    st.add_argument("--out", required=True, type=Path, help="file.html or file.xlsx")
    st.add_argument("--language", choices=("en", "es", "pt"),
                    help="default: the customer's language, else English")
    st.add_argument("--collector", help="recorded in the activity log as the sender "
                    "(default: the account's collector)")
    st.add_argument("--db")
    st.add_argument("--no-log", action="store_true", help="do not record it in the activity log")

    lt = sub.add_parser("letter", help="a dunning letter from the templates (HTML)")
    lt.add_argument("--ledger", required=True, type=Path)
    lt.add_argument("--customer", required=True)
    lt.add_argument("--as-of", required=True, type=iso_date)
    lt.add_argument("--stage", choices=("reminder", "friendly", "firm", "final"),
                    help="default: the account's dunning stage")
    lt.add_argument("--out", required=True, type=Path, help="file.html")
    lt.add_argument("--language", choices=("en", "es", "pt"),
                    help="default: the customer's language, else English")
    lt.add_argument("--collector", help="who signs the letter (default: the account's collector)")
    lt.add_argument("--db")
    lt.add_argument("--no-log", action="store_true", help="do not record it in the activity log")

    ca = sub.add_parser("cashapp", help="apply bank credits to open invoices (proposals only); "
                        "'workbench cashapp post' records approved lines")
    ca.add_argument("--ledger", required=True, type=Path)
    ca.add_argument("--bank", required=True, nargs="+", type=Path,
                    help="bank statements: camt.053 XML, BAI2, MT940 or CSV (format detected)")
    ca.add_argument("--out", required=True, type=Path, help="folder for the proposals (replaced)")
    ca.add_argument("--as-of", type=iso_date,
                    help="run date (default: the latest credit or ledger date)")
    ca.add_argument("--bank-map", type=Path, help="column map for bank CSV files")
    ca.add_argument("--threshold", type=float, help="auto-post threshold (default: policy)")
    ca.add_argument("--policy", type=Path, help="cash application policy YAML")
    ca.add_argument("--quiet", action="store_true")
    cp = sub.add_parser("cashapp-post", help=argparse.SUPPRESS, prog="workbench cashapp post",
                        description="Post the approved lines of a 'workbench cashapp' run "
                        "(recorded in the state database, each line once).")
    cp.add_argument("--out", required=True, type=Path, help="the folder a cashapp run wrote")
    cp.add_argument("--ledger", required=True, type=Path)
    cp.add_argument("--by", help="optional check: who approves is the users-file entry of your "
                    "OS login (workbench serve's users file); a different name is refused")
    cp.add_argument("--status", nargs="+", default=["auto"], choices=("auto", "suggested"),
                    help="which proposals to post (default: auto)")
    cp.add_argument("--receipt", nargs="+", help="only these receipts")
    cp.add_argument("--db")

    cr = sub.add_parser("credit", help="credit review, credit file, decisions, scorecard training")
    cr_sub = cr.add_subparsers(dest="action", required=True, metavar="ACTION")
    rv = cr_sub.add_parser("review", help="analysis and limit recommendation for one customer")
    rv.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    rv.add_argument("--customer", required=True)
    rv.add_argument("--as-of", type=iso_date, help="default: the ledger's last date")
    rv.add_argument("--format", choices=("table", "json"), default="table")
    rv.add_argument("--scorecard", type=Path)
    fl = cr_sub.add_parser("file", help="write the audit-ready credit file (HTML)")
    fl.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    fl.add_argument("--customer", required=True)
    fl.add_argument("--out", required=True, type=Path, help="file.html, or file.pdf (needs chromium)")
    fl.add_argument("--as-of", type=iso_date, help="default: the ledger's last date")
    fl.add_argument("--scorecard", type=Path)
    fl.add_argument("--db", help="state database with the limit history (default: "
                    "$WORKBENCH_DB_URL or sqlite:///data/workbench.db)")
    dc = cr_sub.add_parser("decide", help="record a credit decision (append-only, authority checked)")
    dc.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    dc.add_argument("--customer", required=True)
    dc.add_argument("--decision", required=True, choices=("approve", "approve_other", "decline", "hold"),
                    help="approve: the recommended limit; approve_other: the --limit given; "
                    "decline: no limit; hold: the current limit")
    dc.add_argument("--approver", help="optional check: who decides is the users-file entry of "
                    "your OS login (workbench serve's users file); a different name is refused")
    dc.add_argument("--level", choices=("analyst", "manager", "director", "cfo"),
                    help="optional check: the authority is your role's in the roles file; a "
                    "different level is refused")
    dc.add_argument("--reason", required=True, help="why (recorded)")
    dc.add_argument("--limit", help="with approve_other: the limit approved, in the customer's "
                    "currency (decimal)")
    dc.add_argument("--as-of", type=iso_date, help="default: the ledger's last date")
    dc.add_argument("--scorecard", type=Path)
    dc.add_argument("--db")
    tr = cr_sub.add_parser("train", help="fit the scorecard on the ledger's history and save it")
    tr.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    tr.add_argument("--out", required=True, type=Path, help="where to save the scorecard")
    tr.add_argument("--test-from", type=iso_date,
                    help="monthly reviews from this date are held out (default: the newest third)")

    rk = sub.add_parser("risk", help="payment-risk model: train, score open items, cash forecast")
    rk_sub = rk.add_subparsers(dest="action", required=True, metavar="ACTION")
    rt = rk_sub.add_parser("train", help="train on the ledger's history; print the metrics as JSON")
    rt.add_argument("--ledger", required=True, type=Path)
    rt.add_argument("--as-of", required=True, type=iso_date, help="train on what was known then")
    rt.add_argument("--model", required=True, type=Path, help="where to save the model")
    rt.add_argument("--late-days", type=int, default=30,
                    help="an invoice paid more than N days late is late (default 30)")
    rt.add_argument("--card", type=Path, help="also write the model card (Markdown)")
    rt.add_argument("--max-train-rows", type=positive_int, default=None,
                    help="train on at most this many of the newest invoices (default 250,000)")
    rt.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rs = rk_sub.add_parser("score", help="score the open items as of a date")
    rs.add_argument("--ledger", required=True, type=Path)
    rs.add_argument("--model", required=True, type=Path, help="a model saved by 'workbench risk train'")
    rs.add_argument("--as-of", required=True, type=iso_date)
    rs.add_argument("--out", required=True, type=Path, help="FILE.csv")
    rf = rk_sub.add_parser("forecast", help="expected collections per week")
    rf.add_argument("--ledger", required=True, type=Path)
    rf.add_argument("--model", required=True, type=Path, help="a model saved by 'workbench risk train'")
    rf.add_argument("--as-of", required=True, type=iso_date)
    rf.add_argument("--weeks", type=positive_int, default=13, help="weeks ahead (default 13)")
    rf.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rf.add_argument("--backtest", type=count, default=None, metavar="K",
                    help="also backtest (table and json formats): forecasts made 1..K horizons "
                    "before --as-of, each with a model trained as of its date, against the cash "
                    "that came")
    rf.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                    help="with --backtest: backtest dates that would not fit in this many seconds "
                    "are skipped (and listed)")
    rf.add_argument("--quiet", action="store_true", help="no progress on stderr")

    from .reserve.cli import add_parser as add_reserve_parser
    rp = add_reserve_parser(sub)
    for action in rp._actions:           # the reserve's quarter is read like every period
        if action.dest == "quarter" and action.type is None:
            action.type = quarter_text

    au = sub.add_parser("audit", help="check the state database's audit trail; evidence for auditors",
                        description="verify: check the state database: every audit row's keyed "
                        "MAC (HMAC-SHA256, key outside the database), the chain's anchor, and "
                        "every record row against its audit row. Exit 0 intact, 1 a break, 2 the "
                        "database cannot be opened. evidence: assemble a period's decisions, "
                        "approvals, postings, adjustments and write-offs with the chain's result "
                        "and a seeded sample, for an auditor.")
    au_sub = au.add_subparsers(dest="action", required=True, metavar="ACTION")
    av = au_sub.add_parser("verify", help="verify the audit chain; print each break; exit 1 on one")
    av.add_argument("--db", default=None,
                    help="state database URL (default: WORKBENCH_DB_URL or data/workbench.db)")
    from .evidence_cli import add_evidence_arguments
    ev = au_sub.add_parser("evidence", help="assemble the period's evidence folder for auditors "
                           "(exit 0 intact, 1 chain broken, 2 nothing written)")
    add_evidence_arguments(ev)

    sv = sub.add_parser("serve", help="the managers' apps (Voila) behind sign-in, on 127.0.0.1",
                        description="Serve the apps of notebooks/apps/ with Voila: sign-in "
                        "required (users file with argon2-hashed passwords), each user's "
                        "authority from their role, idle kernels culled. See docs/serving.md.")
    from .serve import add_arguments as add_serve_arguments
    add_serve_arguments(sv)

    r = sub.add_parser("report", help="run a pack (quarter-end by default) into reports/<period>/",
                       description="Run every analysis notebook of a pack headless (papermill) "
                       "from one validated snapshot of the ledger. Exit codes: 0 written, "
                       "1 a notebook failed (partial output under reports/_failed/), "
                       "2 bad input (invalid ledger, open period, bad option).")
    r.add_argument("kind", nargs="?", default="quarter-end",
                   choices=("quarter-end", "month-end", "weekly"), metavar="PACK",
                   help="quarter-end (default), month-end or weekly")
    r.add_argument("--ledger", required=True, type=Path)
    r.add_argument("--quarter", type=quarter_text, help="quarter-end: 2026Q3, or 'last' "
                   "(default): the last quarter closed on the ledger's last date")
    r.add_argument("--month", type=month_text,
                   help="month-end: 2026-09 (default: the last month closed)")
    r.add_argument("--week-ending", type=iso_date,
                   help="weekly (required): the week's last day, YYYY-MM-DD")
    r.add_argument("--out", type=Path, help="reports folder (default: reports/)")
    r.add_argument("--allow-open-period", action="store_true",
                   help="report a period that ends after the ledger's last date")
    r.add_argument("--method", help="quarter-end: reserve method (default: the policy's)")
    r.add_argument("--time-budget", type=positive_int, default=None,
                   help="seconds for the payment-risk training and backtest (default 600)")
    r.add_argument("--jobs", type=positive_int, help="notebooks run at once (default 2)")
    r.add_argument("--no-notebooks", action="store_true", help="tables only (no papermill run)")
    r.add_argument("--quiet", action="store_true")
    from .adjustments_cli import add_parser as add_adjustments_parser
    from .briefs_cli import add_parser as add_accounts_parser
    from .disputes_cli import add_parser as add_disputes_parser
    add_adjustments_parser(sub)
    add_disputes_parser(sub)
    add_accounts_parser(sub)
    _finish(p)
    return p


# --------------------------------------------------------------------------- names and amounts
def _customer(ledger, text: str) -> str:
    """The customer id ``text`` names (an id, or a customer's exact name); an unknown one is
    an error that suggests the closest ids and names."""
    from .suggest import close_matches, shown
    cust = ledger.customers
    ids = cust["customer_id"].astype(str).tolist()
    if text in set(ids):
        return text
    names = cust["name"].astype(str).tolist() if "name" in cust else []
    hits = [i for i, n in zip(ids, names) if n == text]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        more = ", ..." if len(hits) > 5 else ""
        raise CLIError(f"customer name {shown(text)} is shared by {len(hits)} customers "
                       f"({', '.join(hits[:5])}{more}): give the customer id")
    by_name = {}
    for i, n in zip(ids, names):
        by_name.setdefault(n, i)
    idset = set(ids)
    seen, shown_ = set(), []
    for c in close_matches(text, ids + names, n=6):
        cid = c if c in idset else by_name[c]
        if cid not in seen:
            seen.add(cid)
            shown_.append(c if c in idset else f"{c} ({cid})")
    if shown_:
        raise CLIError(f"unknown customer {shown(text)}; did you mean {', '.join(shown_[:3])}?")
    raise CLIError(f"unknown customer {shown(text)}: no customer id or name in the ledger's "
                   f"{len(ids)} customers is close to it")


def _known_collectors(ledger) -> list[str]:
    names = []
    cust = ledger.customers
    if "collector" in cust:
        names += cust["collector"].dropna().astype(str).tolist()
    if ledger.has("customer_changes"):
        ch = ledger.customer_changes
        names += ch.loc[ch["field"] == "collector", "value"].dropna().astype(str).tolist()
    return sorted({n for n in names if n.strip()})


def _collector(ledger, name: str, *, filter_: bool = False) -> str:
    """``name`` when the ledger knows that collector (its customers' collectors, now or in
    customer_changes); an unknown one is an error that suggests the closest names. A ledger
    that names no collector checks nothing, except for a filter (``--collector`` of the
    worklist), which would select nothing."""
    from .suggest import close_matches, shown
    known = _known_collectors(ledger)
    if name in known:
        return name
    if not known:
        if filter_:
            raise CLIError(f"unknown collector {shown(name)}: the ledger names no collectors "
                           f"(customers.collector is empty)")
        return name
    found = close_matches(name, known)
    if found:
        raise CLIError(f"unknown collector {shown(name)}; did you mean {', '.join(found)}?")
    listed = ", ".join(known) if len(known) <= 8 else f"{len(known)} names"
    raise CLIError(f"unknown collector {shown(name)}: the ledger's collectors are {listed}")


def _amount(option: str, text: str, currency: str) -> int:
    """``text`` as exact minor units of ``currency``; a clear error naming the option, the
    value and the currency's decimals otherwise."""
    from .money import MoneyError, format_amount, minor_units, parse_amount
    from .suggest import shown
    digits = minor_units(currency)
    try:
        return parse_amount(str(text), currency)
    except MoneyError as e:
        decimals = "no decimals" if digits == 0 else \
            f"at most {digits} decimal{'s' if digits > 1 else ''}"
        raise CLIError(f"{option} {shown(text)} is not an amount in {currency} ({e}): a plain "
                       f"decimal number with {decimals}, e.g. "
                       f"{format_amount(25000 * 10**digits, currency)}") from None


def load_ledger(path: Path | None, column_map=None):
    """The validated ledger of a folder for a command (from the ledger store when its files
    are unchanged); every problem printed and exit 1 when it is not valid. ``path`` None:
    the default ledger (:func:`workbench.config.default_ledger`), named on stderr."""
    from .ledger import Ledger, LedgerError
    if path is None:
        from .config import default_ledger
        path, why = default_ledger()
        print(f"ledger: {path} ({why})", file=sys.stderr)
    if not path.is_dir():
        raise CLIError(f"ledger folder {path} does not exist")
    try:
        return Ledger.load(path, column_map=column_map, progress=sys.stderr.isatty())
    except LedgerError as e:
        for problem in e.problems:
            print(problem, file=sys.stderr)
        print(f"{len(e.problems)} problem(s): ledger {path} is not valid", file=sys.stderr)
        raise SystemExit(1) from None


def cmd_demo(args) -> int:
    from .demo import DemoConfig, write_demo
    try:
        cfg = DemoConfig(invoices=args.invoices, seed=args.seed, end=args.end, months=args.months,
                         customers=args.customers, profile=args.profile)
    except ValueError as e:
        raise CLIError(str(e)) from None
    meta = write_demo(args.out, cfg, fmt=args.format, progress=not args.quiet)
    rows = meta["rows"]
    print(f"demo ledger written to {args.out}: {rows['customers']} customers, "
          f"{rows['invoices']} invoices, {rows['receipts']} receipts, {rows['applications']} "
          f"applications ({meta['seconds_total']:.1f} s, seed {args.seed}, {args.profile})")
    return 0


def cmd_validate(args) -> int:
    from .ledger import validate_folder
    if not args.ledger.is_dir():
        raise CLIError(f"ledger folder {args.ledger} does not exist")
    try:
        ledger, problems = validate_folder(args.ledger, column_map=args.column_map,
                                           progress=sys.stderr.isatty())
    except (ValueError, FileNotFoundError) as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        print(json.dumps({"valid": not problems, "problems": [
            {"table": p.table, "line": p.line, "column": p.column, "row_id": p.row_id,
             "message": p.message, "file": p.file} for p in problems],
            "summary": ledger.summary() if ledger else None}, indent=2))
        return 1 if problems else 0
    if problems:
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s): ledger {args.ledger} is not valid", file=sys.stderr)
        return 1
    s = ledger.summary()
    counts = ", ".join(f"{e['rows']} {name}" for name, e in s["tables"].items() if e["present"])
    print(f"valid: {args.ledger}: {counts}; {s['first_date']} to {s['last_date']}; "
          f"currencies {', '.join(s['currencies'])}")
    return 0


def cmd_aging(args) -> int:
    from .aging import aging_records, aging_table, load_aging_policy
    from .ledger import to_date
    from .reports import money_frame
    try:
        as_of = to_date(args.as_of)
        policy = load_aging_policy(args.policy) if args.policy else load_aging_policy()
    except ValueError as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger, args.column_map)
    if args.report_currency and not ledger.has("fx_rates") and \
            set(ledger.currencies) - {args.report_currency}:
        raise CLIError(f"--report-currency {args.report_currency} needs an fx_rates table in "
                       f"{args.ledger}")
    try:
        table = aging_table(ledger, as_of, by=args.by, policy=policy,
                            report_currency=args.report_currency)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        records = aging_records(table)
        if args.by is None and len(records) == 1:
            print(json.dumps(records[0], indent=2))
        else:
            print(json.dumps(records, indent=2))
        return 0
    shown = money_frame(table, list(policy.labels) + ["total"])
    if args.format == "csv":
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n", float_format="%.4f"))
    else:
        print(f"AR aging as of {as_of.date()} ({table.attrs['policy']})")
        print(shown.to_string(index=False) if len(shown) else "no open invoices")
    return 0


def cmd_kpis(args) -> int:
    from .kpis import KPIOptions, kpi_records, kpi_table, kpi_trend
    from .periods import parse_period
    from .policy import PolicyError
    goals = against = None
    try:
        period = parse_period(args.period)
        options = KPIOptions(cei_sales=args.cei_sales, cei_current_days=args.cei_current_days)
        if args.targets is not None:
            # (not in APPLIES: its rules cannot say "without --by, or --by other than customer")
            if args.by == "customer":
                raise CLIError(f"--targets {args.targets} does not apply with --by customer "
                               f"(targets are set for the company, segments and collectors, "
                               f"not for customers)")
            from .goals import load_goals, period_frequency
            period_frequency(period)
            goals = load_goals(args.targets)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger, args.column_map)
    try:
        table = kpi_table(ledger, period, by=args.by, options=options,
                          report_currency=args.report_currency)
        trend = kpi_trend(ledger, period.end, points=args.trend, by=args.by, options=options) \
            if args.trend else None
        if goals is not None:
            from .goals import kpis_against_targets
            against = kpis_against_targets(ledger, period, goals, by=args.by, options=options,
                                           table=table)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        records = kpi_records(table)
        if against is not None:
            _add_targets_json(records, table, against, goals)
        print(json.dumps(records[0] if args.by is None and len(records) == 1 else records,
                         indent=2))
        return 0
    from .reports import money_frame
    from .kpis import MONEY_FIELDS
    shown = money_frame(table, [c for c in MONEY_FIELDS if c in table.columns])
    if args.format == "csv":
        if against is not None:
            shown = _targets_columns(shown, table, against)
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
        if trend is not None:
            sys.stdout.write(money_frame(trend, list(MONEY_FIELDS)).to_csv(
                index=False, lineterminator="\n"))
        return 0
    print(f"KPIs for {period.label} ({period.start.date()} to {period.end.date()}, "
          f"{period.days} days)")
    keys = [c for c in ("segment", "collector", "customer_id", "currency") if c in shown.columns]
    print(shown.drop(columns=["period", "start", "end", "days"]).set_index(keys).T.to_string())
    if trend is not None:
        cols = [c for c in ("period", *(["segment", "collector", "customer_id"]), "currency",
                            "ending_ar", "dso", "countback_dso", "cei", "aging_over_60_pct")
                if c in trend.columns]
        print("\nTrend by month end")
        print(money_frame(trend, list(MONEY_FIELDS))[cols].to_string(index=False))
    if against is not None:
        from .goals import goals_display
        print(f"\nAgainst targets ({goals.label}, {against.attrs['frequency']})")
        print(goals_display(against).to_string(index=False) if len(against)
              else "no targets for these rows in the goals file")
        for note in against.attrs.get("notes", []):
            print(f"note: {note}")
    return 0


def _group_key(row: dict) -> tuple:
    return tuple(row.get(c) for c in ("segment", "collector", "currency"))


def _targets_by_row(against) -> dict:
    from .goals import goal_records
    out: dict = {}
    for rec in goal_records(against):
        key = (rec["name"] if rec["scope"] == "segment" else None,
               rec["name"] if rec["scope"] == "collector" else None, rec["currency"])
        out.setdefault(key, {})[rec["goal"]] = {
            k: rec[k] for k in ("goal_name", "unit", "direction", "actual", "target",
                                "variance", "variance_pct", "status")}
    return out


def _add_targets_json(records, table, against, goals) -> None:
    """Each KPI record gains ``targets`` ({goal: actual, target, variance, variance_pct,
    status}) and ``goals`` (the goals file's name and version); nothing else changes."""
    found = _targets_by_row(against)
    for rec, row in zip(records, table.to_dict("records")):
        rec["goals"] = goals.label
        rec["targets"] = found.get(_group_key(row), {})


def _targets_columns(shown, table, against):
    """The csv rows with ``<goal>_target``, ``_variance``, ``_variance_pct``, ``_status``
    columns added after the KPI columns."""
    found = _targets_by_row(against)
    goals = list(dict.fromkeys(against["goal"]))
    out = shown.copy()
    keys = [_group_key(r) for r in table.to_dict("records")]
    for g in goals:
        for part in ("target", "variance", "variance_pct", "status"):
            out[f"{g}_{part}"] = [found.get(k, {}).get(g, {}).get(part) for k in keys]
    return out


def _state(url):
    from .state import StateDB
    try:
        return StateDB(url)
    except Exception as e:  # noqa: BLE001 - report any database failure in one line
        raise CLIError(f"cannot open the state database: {e}") from None


def _print_frame(df, fmt, money=(), title=None):
    from .reports import money_frame
    shown = money_frame(df, [c for c in money if c in df.columns]) if len(df) else df
    if fmt == "json":
        print(json.dumps(json.loads(shown.to_json(orient="records", date_format="iso")), indent=2))
    elif fmt == "csv":
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
    else:
        if title:
            print(title)
        print(shown.to_string(index=False) if len(shown) else "(none)")


def cmd_activity(args) -> int:
    from .collections import ActivityLog
    if args.action == "metrics":
        return _cmd_activity_metrics(args)
    ledger = load_ledger(args.ledger) if getattr(args, "ledger", None) else None
    if ledger is not None and args.customer:         # names checked before the log is opened
        args.customer = _customer(ledger, args.customer)
    if args.action == "add":
        if ledger is not None:
            args.collector = _collector(ledger, args.collector)
        if args.promise_amount is not None:
            currency = _promise_currency(args, ledger)
            if currency and _amount("--promise-amount", args.promise_amount, currency) <= 0:
                raise CLIError(f"--promise-amount must be more than 0; got {args.promise_amount}")
    log = ActivityLog(_state(args.db), ledger)
    if args.action == "add":
        try:
            rid = log.add(args.customer, args.kind, args.collector, at=args.at,
                          invoice_id=args.invoice, note=args.note, promise_date=args.promise_date,
                          promise_amount=args.promise_amount, currency=args.currency,
                          actor=command_line_actor(args.by))
        except ValueError as e:
            raise CLIError(str(e)) from None
        print(f"recorded activity {rid}: {args.kind} with {args.customer} by {args.collector}")
        return 0
    frame = log.frame()
    if args.customer:
        frame = frame[frame["customer_id"] == args.customer]
    if args.kind:
        frame = frame[frame["kind"] == args.kind]
    import pandas as pd
    if ledger is not None and len(frame):
        from .kpis import promise_outcomes
        as_of = args.as_of or pd.Timestamp.now(tz="UTC").date().isoformat()
        status = promise_outcomes(ledger, as_of, frame).set_index("activity_id")["status"]
        frame = frame.assign(promise_status=frame["activity_id"].map(status))
    frame = frame.drop(columns=["source"], errors="ignore")
    frame = frame.rename(columns={"promise_amount_minor": "promise_amount"})
    if len(frame):
        from .money import format_amount
        frame["promise_amount"] = ["" if v is None or v is pd.NA or v != v else format_amount(int(v), c)
                                   for v, c in zip(frame["promise_amount"], frame["currency"])]
    _print_frame(frame, args.format)
    return 0


def _cmd_activity_metrics(args) -> int:
    """``activity metrics``: calls, e-mails, letters, promises, kept rate, accounts touched
    of those assigned, cash collected and past-due reduction per collector and currency."""
    from .activity_metrics import (activity_against_targets, activity_metrics,
                                   metrics_display, metrics_records)
    from .periods import parse_period
    from .policy import PolicyError
    goals = against = None
    try:
        period = parse_period(args.period)
        if args.targets is not None:
            from .goals import load_goals, period_frequency
            period_frequency(period)
            goals = load_goals(args.targets)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    if args.collector:
        args.collector = _collector(ledger, args.collector, filter_=True)
    activities = _activities_for(args, ledger, known_by=period.end)
    try:
        metrics = activity_metrics(ledger, period, activities, collector=args.collector)
        if goals is not None:
            against = activity_against_targets(metrics, goals, ledger)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    notes = metrics.attrs.get("notes", []) + ([] if against is None else against.attrs["notes"])
    if args.format == "json":
        from .goals import goal_records
        doc = {"period": period.label, "start": str(period.start.date()),
               "end": str(period.end.date()), "metrics": metrics_records(metrics),
               "notes": notes}
        if against is not None:
            doc["goals"] = goals.label
            doc["targets"] = goal_records(against)      # currency "all": counts and rates
        print(json.dumps(doc, indent=2))
        return 0
    from .reports import money_frame
    from .activity_metrics import MONEY_COLUMNS
    if args.format == "csv":
        shown = money_frame(metrics, list(MONEY_COLUMNS)) if len(metrics) else metrics
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
        if against is not None and len(against):
            from .goals import goal_records
            import pandas as pd
            rows = goal_records(against)
            sys.stdout.write(pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))
        return 0
    print(f"Activity metrics for {period.label} ({period.start.date()} to {period.end.date()}); "
          f"accounts assigned as of {period.end.date()}")
    print(metrics_display(metrics).to_string(index=False) if len(metrics) else "(none)")
    if against is not None:
        from .goals import goals_display
        print(f"\nAgainst activity targets ({goals.label}, {against.attrs['frequency']})")
        shown = goals_display(against.assign(scope="collector", name=against["collector"]))
        shown["Currency"] = shown["Currency"].replace("all", "(all)")
        print(shown.to_string(index=False) if len(shown) else "no activity targets")
    for note in notes:
        print(f"note: {note}")
    return 0


def _promise_currency(args, ledger) -> str | None:
    """The currency of a promised amount: the invoice's when one is named (``--currency``
    must agree), else ``--currency``, else the customer's (with a ledger)."""
    if ledger is None:
        return args.currency
    if args.invoice:
        inv = ledger.invoices
        cur = inv.loc[inv["invoice_id"] == args.invoice, "currency"]
        if len(cur):
            if args.currency and args.currency != cur.iloc[0]:
                raise CLIError(f"--currency {args.currency} is not the currency of invoice "
                               f"{args.invoice} ({cur.iloc[0]})")
            return cur.iloc[0]
    if args.currency:
        return args.currency
    cust = ledger.customers
    cur = cust.loc[cust["customer_id"] == args.customer, "currency"]
    return cur.iloc[0] if len(cur) else None


def _activities_for(args, ledger, known_by=None):
    """The ledger's activities and the log's (``known_by``: the log as it stood then)."""
    from .collections import ActivityLog, activity_frame
    if getattr(args, "no_log", False):
        return activity_frame(ledger)
    return activity_frame(ledger, ActivityLog(_state(args.db), ledger), known_by=known_by)


def _collections_inputs(args):
    """(as_of, collections policy, ledger) for the collections commands; clear errors."""
    from .collections import load_collections_policy
    from .ledger import to_date
    from .policy import PolicyError
    try:
        as_of = to_date(args.as_of)
        policy = load_collections_policy(args.policy) if args.policy else load_collections_policy()
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    return as_of, policy, load_ledger(args.ledger)


def cmd_worklist(args) -> int:
    from .collections import worklist
    as_of, policy, ledger = _collections_inputs(args)
    if args.collector is not None:
        args.collector = _collector(ledger, args.collector, filter_=True)
    scores = None
    if args.risk_model:
        from .risk import customer_risk, load_model, score_open_items
        try:
            scores = customer_risk(score_open_items(ledger, load_model(args.risk_model, as_of), as_of))
        except (ValueError, OSError) as e:
            raise CLIError(str(e)) from None
    try:
        wl = worklist(ledger, as_of, policy, _activities_for(args, ledger), risk_scores=scores,
                      collector=args.collector)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.top:
        wl = wl.head(args.top)
    if args.format == "table":
        cols = ["rank", "customer_id", "customer_name", "currency", "past_due_ar",
                "oldest_days_past_due", "stage", "next_action", "priority"]
        _print_frame(wl[cols] if len(wl) else wl, "table", ["past_due_ar"],
                     f"Worklist as of {as_of.date()} ({policy.label})")
        for r in wl.head(10).itertuples(index=False):
            print(f"  {r.rank}. {r.customer_id}: {r.reasons}")
        return 0
    _print_frame(wl, args.format, ["open_ar", "past_due_ar", "promise_due_today"])
    return 0


def cmd_proposals(args) -> int:
    from .collections import suspension_proposals, write_off_proposals
    as_of, policy, ledger = _collections_inputs(args)
    acts = _activities_for(args, ledger)
    try:
        sus = suspension_proposals(ledger, as_of, policy, acts)
        wo = write_off_proposals(ledger, as_of, policy)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        from .reports import money_frame
        out = {"as_of": str(as_of.date()), "policy": policy.label,
               "suspensions": json.loads(money_frame(sus, ["past_due_ar"]).to_json(orient="records")) if len(sus) else [],
               "write_offs": json.loads(money_frame(wo, ["open_balance"]).to_json(orient="records")) if len(wo) else []}
        print(json.dumps(out, indent=2))
        return 0
    _print_frame(sus, args.format, ["past_due_ar"], f"Suspension proposals as of {as_of.date()}")
    _print_frame(wo, args.format, ["open_balance"], f"\nSmall-balance write-off proposals as of {as_of.date()}")
    return 0


def cmd_statement(args) -> int:
    from .documents import record_document, statement_excel, statement_html
    from .ledger import to_date
    ledger = load_ledger(args.ledger)
    args.customer = _customer(ledger, args.customer)
    if args.collector is not None:
        args.collector = _collector(ledger, args.collector)
    try:
        as_of = to_date(args.as_of)
        if args.out.suffix.lower() == ".xlsx":
            statement_excel(ledger, args.customer, as_of, args.out, args.language)
            content = args.out.read_bytes().hex()
        elif args.out.suffix.lower() in (".html", ".htm"):
            content = statement_html(ledger, args.customer, as_of, args.language)
        else:
            raise CLIError(f"--out must end in .html or .xlsx; got {args.out.name}")
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.out.suffix.lower() != ".xlsx":
        from .io.writer import atomic_write_text
        atomic_write_text(args.out, content)
    if not args.no_log:
        from .collections import ActivityLog
        collector = args.collector or _collector_of(ledger, args.customer)
        record_document(ActivityLog(_state(args.db), ledger), ledger, args.customer, "letter",
                        f"statement of account as of {as_of.date()}", content, collector,
                        path=None)
    print(f"statement of account for {args.customer} as of {as_of.date()} written to {args.out}")
    return 0


def _collector_of(ledger, customer_id) -> str:
    cust = ledger.customers.set_index("customer_id")
    if "collector" in cust and isinstance(cust.at[customer_id, "collector"], str):
        return cust.at[customer_id, "collector"]
    return "unassigned"


def cmd_letter(args) -> int:
    from .collections import ActivityLog, load_collections_policy
    from .documents import dunning_letter, record_document
    from .ledger import to_date
    ledger = load_ledger(args.ledger)
    args.customer = _customer(ledger, args.customer)
    if args.collector is not None:
        args.collector = _collector(ledger, args.collector)
    try:
        as_of = to_date(args.as_of)
        stage = args.stage
        if stage is None:
            items = ledger.open_items(as_of)
            items = items[items["customer_id"] == args.customer]
            if not len(items):
                raise ValueError(f"customer '{args.customer}' has nothing open on {as_of.date()}")
            st = load_collections_policy().stage_for(int(items["days_past_due"].max()))
            stage = (st.template if st and st.template in ("reminder", "friendly", "firm", "final")
                     else "final")
        collector = args.collector or _collector_of(ledger, args.customer)
        html = dunning_letter(ledger, args.customer, as_of, stage, args.language, collector)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.no_log:
        from .io.writer import atomic_write_text
        atomic_write_text(args.out, html)
    else:
        record_document(ActivityLog(_state(args.db), ledger), ledger, args.customer, "letter",
                        f"dunning letter '{stage}'", html, collector, path=args.out)
    print(f"{stage} letter for {args.customer} written to {args.out}")
    return 0


def cmd_cashapp(args) -> int:
    from .cashapp import load_cashapp_policy, run_cashapp, write_run
    from .io.bank import StatementError
    from .policy import PolicyError
    try:
        policy = load_cashapp_policy(args.policy or "cashapp", args.threshold)
        as_of = None
        if args.as_of:
            from .ledger import to_date
            as_of = to_date(args.as_of)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    try:
        run = run_cashapp(ledger, args.bank, as_of, args.bank_map, policy, progress=not args.quiet)
    except StatementError as e:
        print(f"workbench cashapp: {e}", file=sys.stderr)
        print("nothing imported, nothing written", file=sys.stderr)
        return 1
    except ValueError as e:
        raise CLIError(str(e)) from None
    write_run(run, args.out)
    s = run.summary()
    print(f"{s['receipts']} receipts from {s['statements']} statement(s) "
          f"({s['duplicates_skipped']} duplicate(s), {s['already_applied_in_ledger']} already "
          f"applied): {s['auto_applied']['receipts']} auto, {s['suggested']['receipts']} "
          f"suggested, {s['unapplied']['receipts']} with cash left unapplied -> {args.out}")
    for item in s["skipped"]:
        print(f"  skipped {item['receipt_id']} ({item['file']} statement {item['statement_id']}, "
              f"line {item['line']}): {item['reason']}")
    ties = True
    for cur, t in s["reconciliation"]["totals"].items():
        ties &= t["ties"]
        print(f"  {cur}: credits {t['credits']} = already applied {t['already_applied']} + auto "
              f"{t['auto_applied']} + suggested {t['suggested']} + unapplied {t['unapplied']} "
              f"(difference {t['difference']}{'' if t['ties'] else ', DOES NOT TIE'})")
    if not ties:
        print("workbench cashapp: the run does not tie to the bank statements: see "
              f"{args.out}/reconciliation_by_statement.csv", file=sys.stderr)
        return 1
    return 0


def cmd_cashapp_post(args) -> int:
    from .cashapp.posting import PostingError, post_matches
    if not (args.out / "applications.csv").exists():
        raise CLIError(f"{args.out} holds no applications.csv (run workbench cashapp first)")
    approver, _ = command_line_authority("cashapp post", args.by)
    ledger = load_ledger(args.ledger)
    try:
        result = post_matches(args.out, ledger, approver, _state(args.db), tuple(args.status),
                              args.receipt)
    except PostingError as e:
        print(f"workbench cashapp post: nothing posted: {len(e.problems)} line(s) cannot be "
              f"posted", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"posted {result['posted']} line(s) approved by {approver}; "
          f"{result['already_posted']} already posted")
    return 0


def _credit_inputs(args):
    from .ledger import to_date
    ledger = load_ledger(args.ledger)
    args.customer = _customer(ledger, args.customer)
    if getattr(args, "limit", None) is not None:
        cust = ledger.customers
        currency = cust.loc[cust["customer_id"] == args.customer, "currency"].iloc[0]
        if _amount("--limit", args.limit, currency) < 0:
            raise CLIError(f"--limit must be 0 or more; got {args.limit}")
    try:
        as_of = to_date(args.as_of) if getattr(args, "as_of", None) else ledger.last_date
    except ValueError as e:
        raise CLIError(str(e)) from None
    if getattr(args, "scorecard", None):
        from .credit import load_scorecard
        try:
            return ledger, as_of, load_scorecard(args.scorecard)
        except (OSError, ValueError) as e:
            raise CLIError(str(e)) from None
    # no saved scorecard: the one the notebook, the credit file and the Voila page use
    from .credit import standard_scorecard
    scorecard, _, note = standard_scorecard(ledger, as_of)
    if note:
        print(f"warning: {note}; the policy's class for unscored customers applies", file=sys.stderr)
    return ledger, as_of, scorecard


def cmd_credit(args) -> int:
    from . import credit
    if args.action == "train":
        ledger = load_ledger(args.ledger)
        last = ledger.last_date
        if args.test_from:
            try:
                sc, report, _ = credit.train_scorecard(ledger, credit.review_dates(ledger, last),
                                                       args.test_from)
            except ValueError as e:
                raise CLIError(str(e)) from None
        else:
            sc, report, note = credit.standard_scorecard(ledger, last)
            if sc is None:
                raise CLIError(note)
        credit.save_scorecard(sc, args.out, report)
        print(json.dumps(report, indent=2))
        return 0
    ledger, as_of, scorecard = _credit_inputs(args)
    try:
        rec = credit.recommend(ledger, args.customer, as_of, scorecard)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.action == "review":
        out = {k: v for k, v in rec.items() if k != "analysis"}
        if args.format == "json":
            out["analysis"] = rec["analysis"]
            print(json.dumps(out, indent=2, default=str))
        else:
            for k in ("customer_id", "name", "as_of", "score", "risk_class", "recommended_limit",
                      "currency", "binding_rule", "approver_level", "current_limit", "exposure"):
                print(f"{k:>18}: {out[k]}")
            print(f"{'exceptions':>18}: {'; '.join(out['exceptions']) or 'none'}")
            print(f"{'reasons':>18}: {'; '.join(out['reasons']) or 'n/a'}")
        return 0
    db = _state(args.db)
    if args.action == "decide":
        approver, level = command_line_authority("credit decide", args.approver, args.level)
        try:
            rid = credit.record_decision(db, ledger, rec, args.decision, approver, level,
                                         args.reason, args.limit)
        except PermissionError as e:
            print(f"workbench credit decide: refused: {e}", file=sys.stderr)
            return 1
        except ValueError as e:
            raise CLIError(str(e)) from None
        print(f"recorded decision {rid}: {args.decision} for {args.customer} by {approver} "
              f"(authority {level})")
        return 0
    from .io.writer import atomic_write_text
    html = credit.credit_file_html(ledger, rec, credit.limit_history(db, args.customer))
    if args.out.suffix.lower() == ".pdf":
        try:
            credit.html_to_pdf(html, args.out)
        except RuntimeError as e:
            raise CLIError(str(e)) from None
    else:
        atomic_write_text(args.out, html)
    print(f"credit file for {args.customer} as of {rec['as_of']} written to {args.out}")
    return 0


def cmd_risk(args) -> int:
    import warnings

    import pandas as pd

    from . import risk
    from .ledger import to_date
    try:
        as_of = to_date(args.as_of)
    except ValueError as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    t_start = time.perf_counter()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t_start:6.1f} s] {message}", file=sys.stderr, flush=True)

    if args.action == "train":
        try:
            model, metrics = risk.train(ledger, as_of, args.late_days, progress=progress,
                                        max_train_rows=args.max_train_rows or risk.MAX_TRAIN_ROWS)
        except ValueError as e:
            raise CLIError(str(e)) from None
        risk.save_model(model, args.model)
        if args.card:
            from .io.writer import atomic_write_text
            atomic_write_text(args.card, risk.model_card(model))
        print(json.dumps(metrics, indent=2))
        return 0
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = risk.load_model(args.model, as_of)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        if args.action == "score":
            sc = risk.score_open_items(ledger, model, as_of)
            from .io.writer import atomic_write_text
            cols = ["invoice_id", "p_late", "expected_pay_date", "pay_date_low", "pay_date_high",
                    "customer_id", "currency", "open_minor"]
            atomic_write_text(args.out, sc[cols].to_csv(index=False, lineterminator="\n"))
            print(f"{len(sc)} open invoices scored as of {as_of.date()} -> {args.out}")
            return 0
        fc = risk.cash_forecast(ledger, model, as_of, args.weeks)
        bt = None
        if args.backtest:
            past = [as_of - pd.DateOffset(weeks=args.weeks * k) for k in range(1, args.backtest + 1)]
            bt = risk.backtest_forecast(ledger, None, past, args.weeks, model.late_days,
                                        time_budget_s=args.time_budget, progress=progress)
    except (ValueError, OSError) as e:
        raise CLIError(str(e)) from None
    from .reports import money_frame
    shown = money_frame(fc, ["expected_minor", "low_minor", "high_minor"]).rename(
        columns={"expected_minor": "expected", "low_minor": "low", "high_minor": "high"})
    if bt is not None:
        for d in bt.attrs["skipped"]:
            print(f"warning: backtest as of {d} skipped: over the {args.time_budget:.0f} s budget",
                  file=sys.stderr)
    if args.format == "json":
        doc = {"as_of": str(as_of.date()), "weeks": args.weeks, "forecast": shown.to_dict("records")}
        if bt is not None:
            doc["backtest"] = money_frame(bt, ["expected_minor", "actual_minor", "error_minor"]).to_dict("records")
            doc["backtest_skipped"] = bt.attrs["skipped"]
        print(json.dumps(doc, indent=2))
    elif args.format == "csv":
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
        if bt is not None:
            print("the backtest is in --format json or table", file=sys.stderr)
    else:
        print(shown.to_string(index=False))
        if bt is not None and len(bt):
            err = (bt.assign(abs_error_minor=bt["error_minor"].abs())
                   .groupby(["currency", "week"], as_index=False)[["expected_minor", "actual_minor", "abs_error_minor"]]
                   .mean().round(0).astype({"expected_minor": "int64", "actual_minor": "int64",
                                             "abs_error_minor": "int64"}))
            print(f"\nbacktest: mean of the forecasts made at {', '.join(sorted(set(bt['forecast_date'])))}")
            print(money_frame(err, ["expected_minor", "actual_minor", "abs_error_minor"]).rename(
                columns={"expected_minor": "expected", "actual_minor": "received",
                         "abs_error_minor": "absolute_error"}).to_string(index=False))
    return 0


def _cmd_reserve(args) -> int:
    from .reserve.cli import cmd_reserve
    return cmd_reserve(args)


def cmd_report(args) -> int:
    from .ledger import LedgerError
    from .reports import PackError, PackFailed, run_pack
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
        from .evidence_cli import run_evidence
        return run_evidence(args)
    from .state import audit_verify_command
    code, text = audit_verify_command(args.db)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code


def cmd_serve(args) -> int:
    from .serve import run
    return run(args)


def _cmd_adjustments(args) -> int:
    from .adjustments_cli import run
    return run(args)


def _cmd_disputes(args) -> int:
    from .disputes_cli import run
    return run(args)


def _cmd_accounts(args) -> int:
    from .briefs_cli import run
    return run(args)


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

    from .ledger import AfterLedgerWarning
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


if __name__ == "__main__":
    raise SystemExit(main())
