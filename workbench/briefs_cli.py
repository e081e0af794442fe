"""``workbench accounts``: account briefs and the weekly manager summary.

Wired into :mod:`workbench.cli` through :func:`add_parser` and :func:`run`::

    workbench accounts brief   --ledger DIR --as-of DATE (--customers C1,C2 | --collector NAME) --out DIR
    workbench accounts summary --ledger DIR --as-of DATE (--customers C1,C2 | --collector NAME) --out DIR

``brief`` writes ``brief-<customer>.html`` and ``.xlsx`` per account; ``summary`` writes
``summary-<collector or accounts>-<date>.html`` and ``.xlsx`` (:func:`workbench.briefs.summary_name`),
linking each account to its brief when the briefs are in the same folder. Each file written
is printed on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]


def _date(text):
    from .cli import iso_date
    return iso_date(text)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``accounts`` (brief, summary) to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser("accounts", help="status of designated accounts: one brief per "
                              "account and the weekly manager summary (HTML and Excel)",
                              description="Briefs of designated accounts for the collections "
                              "manager: balance and aging, contacts, promises, disputes with "
                              "owners, next action and escalation.")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_ in (("brief", "one page per account (HTML and Excel)"),
                        ("summary", "the team's accounts on one page: balances, past due, "
                                    "changes in a week, promises due, disputes past due")):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("--ledger", required=True, type=Path, help="ledger folder")
        sp.add_argument("--as-of", required=True, type=_date, metavar="YYYY-MM-DD",
                        help="the date the pages describe")
        who = sp.add_mutually_exclusive_group(required=True)
        who.add_argument("--customers", default=None,
                         help="comma-separated customer ids or exact names")
        who.add_argument("--collector", default=None, help="every account of this collector")
        sp.add_argument("--out", required=True, type=Path, help="folder to write the pages to")
        sp.add_argument("--db", default=None, help="state database URL for the activity log and "
                        "dispute events (default: WORKBENCH_DB_URL or data/workbench.db)")
        sp.add_argument("--no-log", action="store_true",
                        help="the ledger's activities and disputes only (not the state database)")
        if name == "summary":
            sp.add_argument("--targets", type=Path, default=None,
                            help="goals file for the team-against-goals section (default: the "
                                 "shipped workbench/policies/goals.yaml)")
    p.set_defaults(func=run)
    return p


def _accounts(ledger, args, D) -> list[str]:
    from .cli import CLIError, _collector, _customer
    if args.customers is not None:
        names = [c.strip() for c in args.customers.split(",") if c.strip()]
        if not names:
            raise CLIError("--customers names no customer")
        return list(dict.fromkeys(_customer(ledger, c) for c in names))
    from .master import customers_as_of
    name = _collector(ledger, args.collector, filter_=True)
    master, _ = customers_as_of(ledger, D, ("collector",), "assume_unchanged")
    on_d = master.set_index("customer_id")["collector"]     # by id, not by row order
    ids = [c for c in ledger.customers["customer_id"] if on_d.get(c) == name]
    if not ids:
        raise CLIError(f"collector {name} has no accounts on {D.date()}")
    return ids


def run(args) -> int:
    """Run ``workbench accounts brief|summary``; returns the exit code."""
    from .briefs import write_briefs, write_summary
    from .cli import CLIError, load_ledger
    from .collections import ActivityLog, activity_frame
    from .ledger import to_date

    ledger = load_ledger(args.ledger)
    D = to_date(args.as_of)
    ids = _accounts(ledger, args, D)
    activities, events = None, None
    if not args.no_log:
        from .config import db_url
        from .state import StateDB
        url = args.db or db_url()
        if not (url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists()):
            db = StateDB(url)
            # the log as it stood at the end of the as-of day (later corrections do not show)
            activities, events = activity_frame(ledger, ActivityLog(db, ledger), known_by=D), db
    try:
        if args.action == "brief":
            files = write_briefs(ledger, ids, D, args.out, activities=activities, events=events)
        else:
            title = (f"Weekly summary: {args.collector}'s accounts" if args.collector
                     else "Weekly account summary")
            from .goals import load_goals
            from .policy import PolicyError
            try:
                goals = load_goals(getattr(args, "targets", None) or "goals")
            except PolicyError as e:
                raise CLIError(str(e)) from None
            files = write_summary(ledger, ids, D, args.out, title=title, activities=activities,
                                  events=events, goals=goals, collector=args.collector)
    except ValueError as e:
        raise CLIError(str(e)) from None
    for f in files:
        print(f, file=sys.stdout)
    print(f"{len(ids)} account(s), {len(files)} file(s) written to {args.out}", file=sys.stderr)
    return 0
