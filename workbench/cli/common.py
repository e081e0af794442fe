"""What every command shares: the errors, who acts (from the users file), customer and
collector names with suggestions, loading the ledger, printing a frame."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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
    from ..serve.accounts import AccountsError, command_line_user, os_login

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
    from ..serve.accounts import AccountsError, command_line_user, os_login

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


# --------------------------------------------------------------------------- names and amounts
def _customer(ledger, text: str) -> str:
    """The customer id ``text`` names (an id, or a customer's exact name); an unknown one is
    an error that suggests the closest ids and names."""
    from ..suggest import close_matches, shown
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
    from ..suggest import close_matches, shown
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
    from ..money import MoneyError, format_amount, minor_units, parse_amount
    from ..suggest import shown
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
    from ..ledger import Ledger, LedgerError
    if path is None:
        from ..config import default_ledger
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


def _state(url):
    from ..state import StateDB
    try:
        return StateDB(url)
    except Exception as e:  # noqa: BLE001 - report any database failure in one line
        raise CLIError(f"cannot open the state database: {e}") from None


def _print_frame(df, fmt, money=(), title=None):
    from ..reports import money_frame
    shown = money_frame(df, [c for c in money if c in df.columns]) if len(df) else df
    if fmt == "json":
        print(json.dumps(json.loads(shown.to_json(orient="records", date_format="iso")), indent=2))
    elif fmt == "csv":
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
    else:
        if title:
            print(title)
        print(shown.to_string(index=False) if len(shown) else "(none)")


