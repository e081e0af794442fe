"""Argument types (one ISO date parser under every date and period), help text in plain
words, and the options that apply only with some values of another (:data:`APPLIES`)."""

from __future__ import annotations

import argparse
import calendar
import re
from dataclasses import dataclass

from .common import CLIError

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
    from ..ledger import to_date
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
    from ..periods import parse_period
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
    from ..periods import parse_period
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
    from ..periods import parse_period
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
    from ..money import is_currency
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
    from ..suggest import shown
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


