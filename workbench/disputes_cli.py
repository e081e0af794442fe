"""``workbench disputes``: disputes as work from the command line.

Wired into :mod:`workbench.cli` through :func:`add_parser` and :func:`run`::

    workbench disputes list|aging|overdue --ledger DIR [--as-of DATE] [--owner O ...]
    workbench disputes assign|status|note|resolve DISPUTE_ID --ledger DIR ...
    workbench disputes open --ledger DIR --invoice I --amount A --reason R
    workbench disputes reconcile --ledger DIR --customer C --theirs FILE

Who records an event is the OS login's workbench user (:func:`workbench.cli.command_line_actor`).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path

from .disputes import OPEN_STATUSES, OWNERS, RESOLUTIONS

__all__ = ["add_parser", "run"]


def _date(text):
    from .cli import iso_date
    return iso_date(text)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``disputes`` and its actions to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser("disputes", help="disputes as work: owners, due dates, status "
                              "history, aging, overdue list, the customer's view reconciled",
                              description="Disputes with an owner, a due date, a status history "
                              "and notes (append-only events in the state database).")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    def common(sp, ledger=True):
        if ledger:
            sp.add_argument("--ledger", required=True, type=Path, help="ledger folder")
        sp.add_argument("--db", default=None, help="state database URL (default: "
                        "WORKBENCH_DB_URL or data/workbench.db)")
        sp.add_argument("--policy", type=Path, default=None,
                        help="dispute policy YAML (default: the shipped disputes.yaml)")

    def report(sp, owner=True):
        common(sp)
        sp.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD",
                        help="state as of this date: events recorded by then (default: the "
                        "ledger's last date)")
        if owner:
            sp.add_argument("--owner", nargs="+", choices=OWNERS, default=None,
                            help="only disputes of these owners")
        sp.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="output format (default table)")

    ls = sub.add_parser("list", help="every dispute with owner, due date and status")
    report(ls)
    ls.add_argument("--customer", default=None, help="only this customer's disputes")
    ls.add_argument("--all", action="store_true", help="also resolved disputes")
    ag = sub.add_parser("aging", help="open disputes by owner or reason and age bucket")
    report(ag)
    ag.add_argument("--by", choices=("owner", "reason"), default="owner",
                    help="group by owner (default) or reason")
    report(sub.add_parser("overdue", help="open disputes past their due date"))

    op = sub.add_parser("open", help="open a dispute on an invoice (not yet in the ERP)")
    common(op)
    op.add_argument("--invoice", required=True, help="the disputed invoice")
    op.add_argument("--amount", required=True, help="disputed amount in the invoice's currency")
    op.add_argument("--reason", required=True, help="reason code (e.g. pricing)")
    op.add_argument("--owner", choices=OWNERS, default=None,
                    help="owner (default: the reason's owner in the policy)")
    op.add_argument("--owner-name", default=None, help="the person who owns it")
    op.add_argument("--due", type=_date, default=None, metavar="YYYY-MM-DD",
                    help="due date (default: today + the policy's days)")
    op.add_argument("--note", default=None, help="a note")
    op.add_argument("--key", default=None, help="idempotency key: a repeat is recorded once")

    def event(name, help_):
        sp = sub.add_parser(name, help=help_)
        sp.add_argument("dispute_id", metavar="DISPUTE_ID", help="the dispute")
        common(sp)
        sp.add_argument("--key", default=None, help="idempotency key: a repeat is recorded once")
        return sp

    a = event("assign", "give a dispute to an owner with a due date")
    a.add_argument("--owner", required=True, choices=OWNERS, help="the owning team")
    a.add_argument("--owner-name", default=None, help="the person who owns it")
    a.add_argument("--due", type=_date, default=None, metavar="YYYY-MM-DD",
                   help="due date (default: today + the policy's days)")
    a.add_argument("--note", default=None, help="a note")
    s = event("status", "move a dispute to another working status")
    s.add_argument("--status", required=True, choices=OPEN_STATUSES, help="the new status")
    s.add_argument("--due", type=_date, default=None, metavar="YYYY-MM-DD", help="a new due date")
    s.add_argument("--note", default=None, help="a note")
    n = event("note", "add a note to a dispute")
    n.add_argument("--text", required=True, help="the note")
    r = event("resolve", "close a dispute with its resolution")
    r.add_argument("--resolution", required=True, choices=RESOLUTIONS, help="how it ended")
    r.add_argument("--note", default=None, help="a note")

    rc = sub.add_parser("reconcile", help="the customer's disputes against ours, open items "
                        "and credit memos")
    common(rc)
    rc.add_argument("--customer", required=True, help="customer id or exact name")
    rc.add_argument("--theirs", required=True, type=Path,
                    help="the customer's list: CSV of invoice_id, amount, reason")
    rc.add_argument("--as-of", type=_date, default=None, metavar="YYYY-MM-DD",
                    help="as of this date (default: the ledger's last date)")
    rc.add_argument("--format", choices=("table", "json", "csv"), default="table",
                    help="output format (default table)")
    p.set_defaults(func=run)
    return p


# --------------------------------------------------------------------------- helpers
def _today() -> str:
    return str(dt.datetime.now(dt.timezone.utc).date())


def _as_of(args, ledger) -> str:
    """``--as-of``, else the ledger's last date (like every other command), else today."""
    if args.as_of:
        return args.as_of
    last = ledger.last_date
    return str(last.date()) if last is not None else _today()


def _state(args, create: bool):
    """The state database (``None`` for a read when the default SQLite file is absent)."""
    from .config import db_url
    from .state import StateDB
    url = args.db or db_url()
    if not create and url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    return StateDB(url)


def _setup(args, create: bool = False, as_of: bool = False):
    """Ledger, policy, state database and activity frame. ``as_of``: the activity log as it
    stood at the end of the as-of day (a correction recorded later is not yet known);
    otherwise as it stands now (recording works on the current log)."""
    from .cli import CLIError, load_ledger
    from .collections import ActivityLog, activity_frame
    from .disputes import PolicyError, load_dispute_policy
    try:
        policy = load_dispute_policy(args.policy) if args.policy else load_dispute_policy()
    except PolicyError as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    db = _state(args, create)
    known_by = _as_of(args, ledger) if as_of else None
    acts = activity_frame(ledger, ActivityLog(db, ledger), known_by) if db is not None else None
    return ledger, policy, db, acts


def _money_columns(df, cols, thousands=True):
    """Minor units as decimal text in each row's currency (separators for the table only)."""
    from .money import format_amount
    out = df.copy()
    for c in cols:
        out[c] = [format_amount(int(v), cur, thousands=thousands) for v, cur in
                  zip(out[c], out["currency"])]
    return out


def _emit(df, fmt: str, empty: str) -> None:
    if fmt == "json":           # missing values are null (never NaN or NaT: not JSON)
        clean = df.astype(object).where(df.notna(), None)
        print(json.dumps(clean.to_dict("records"), indent=2, default=str, allow_nan=False))
    elif fmt == "csv":
        buf = io.StringIO()
        df.to_csv(buf, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        sys.stdout.write(buf.getvalue())
    else:
        print(df.to_string(index=False) if len(df) else empty)


def _listing(states, fmt):
    import pandas as pd
    cols = {"dispute_id": "Dispute", "customer_name": "Customer", "invoice_id": "Invoice",
            "amount": "Amount", "currency": "Currency", "reason": "Reason",
            "opened": "Opened", "owner_label": "Owner", "owner_name": "Owner name",
            "due": "Due", "days_overdue": "Days overdue", "status_label": "Status",
            "age_days": "Age (days)", "last_note": "Last note"}
    df = _money_columns(states.rename(columns={"amount_minor": "amount"}), ["amount"],
                        fmt == "table")
    if "amount_known" in df:          # a dispute logged without a readable amount
        df["amount"] = [a if k else "unknown" for a, k in zip(df["amount"], df["amount_known"])]
    df["opened"] = pd.to_datetime(df["opened_date"]).dt.date.astype(str)   # object when empty
    df["due"] = pd.to_datetime(df["due_date"]).dt.date.astype(str)
    if "missed_due_dates" in df and fmt == "table":   # for people; machines get the list
        df["due"] = [d + (f" (missed {', '.join(m)})" if m else "")
                     for d, m in zip(df["due"], df["missed_due_dates"])]
    df["owner_name"] = df["owner_name"].fillna("")
    df["owner_label"] = [o + ("" if a else " (policy default)")
                         for o, a in zip(df["owner_label"], df["assigned"])]
    df["days_overdue"] = df["days_overdue"].clip(lower=0)
    df["last_note"] = [n[-1] if n else "" for n in df["notes"]]
    if fmt == "json":
        return df[[*cols, "notes", "history", "missed_due_dates"]]
    df = df[list(cols)]
    return df if fmt != "table" else df.rename(columns=cols)


# --------------------------------------------------------------------------- run
def run(args) -> int:
    """Run ``workbench disputes ACTION``; returns the exit code."""
    from .cli import CLIError
    try:
        return _ACTIONS[args.action](args)
    except ValueError as e:
        raise CLIError(str(e)) from None


_LAST_DATE = " (the ledger's last date; --as-of for another day)"


def _report(args) -> int:
    from .disputes import dispute_aging, dispute_states, overdue_disputes
    ledger, policy, db, acts = _setup(args, as_of=True)
    states = dispute_states(ledger, _as_of(args, ledger), db, acts, policy)
    if args.owner:
        states = states[states["owner"].isin(args.owner)].reset_index(drop=True)
    if args.action == "list":
        if args.customer:
            from .cli import _customer
            states = states[states["customer_id"] == _customer(ledger, args.customer)]
        states = states if args.all else states[states["is_open"]]
        if args.format == "table":
            print(f"{'Disputes' if args.all else 'Open disputes'} as of {states.attrs['as_of']}"
                  f"{'' if args.as_of else _LAST_DATE}")
        _emit(_listing(states, args.format), args.format, "no disputes")
    elif args.action == "overdue":
        if args.format == "table":
            print(f"Open disputes past their due date as of {states.attrs['as_of']}"
                  f"{'' if args.as_of else _LAST_DATE}")
        _emit(_listing(overdue_disputes(states), args.format), args.format,
              "no dispute is past its due date")
    else:
        table = dispute_aging(states, args.by, policy)
        money = ["amount_minor", "overdue_minor", *table.attrs["buckets"]]
        shown = _money_columns(table, money, args.format == "table").rename(columns={
            "amount_minor": "amount", "overdue_minor": "overdue_amount"})
        if args.format == "table":
            shown = shown.drop(columns=[args.by]).rename(columns={
                "label": args.by.capitalize(), "currency": "Currency", "disputes": "Disputes",
                "amount": "Amount", "overdue": "Overdue", "overdue_amount": "Overdue amount",
                "amount_unknown": "Amount unknown"})
            print(f"Open disputes by {args.by} as of {states.attrs['as_of']} "
                  f"(policy {policy.label})")
        _emit(shown, args.format, "no open disputes")
    return 0


def _record(args) -> int:
    from .cli import command_line_actor
    from .disputes import DisputeBook
    ledger, policy, db, acts = _setup(args, create=True)
    actor = command_line_actor()
    book = DisputeBook(db, ledger, policy, activities=acts)
    if args.action == "open":
        did = book.open(args.invoice, args.amount, args.reason, actor=actor, owner=args.owner,
                        owner_name=args.owner_name, due_date=args.due, note=args.note,
                        idempotency_key=args.key)
        print(f"dispute {did} opened by {actor}")
        return 0
    if args.action == "assign":
        book.assign(args.dispute_id, args.owner, actor=actor, owner_name=args.owner_name,
                    due_date=args.due, note=args.note, idempotency_key=args.key)
    elif args.action == "status":
        book.set_status(args.dispute_id, args.status, actor=actor, note=args.note,
                        due_date=args.due, idempotency_key=args.key)
    elif args.action == "note":
        book.add_note(args.dispute_id, args.text, actor=actor, idempotency_key=args.key)
    else:
        book.resolve(args.dispute_id, args.resolution, actor=actor, note=args.note,
                     idempotency_key=args.key)
    s = book.state(args.dispute_id)
    print(f"dispute {s['dispute_id']}: {s['status_label']}, owner {s['owner_label']}"
          f"{' (' + s['owner_name'] + ')' if s['owner_name'] else ''}, due "
          f"{s['due_date'].date()} — recorded by {actor}")
    return 0


def _reconcile(args) -> int:
    from .cli import CLIError, _customer
    from .disputes import CustomerViewError, dispute_states, read_customer_view, reconcile_customer
    ledger, policy, db, acts = _setup(args, as_of=True)
    cid = _customer(ledger, args.customer)
    as_of = _as_of(args, ledger)
    try:
        theirs = read_customer_view(args.theirs, ledger, cid)
    except CustomerViewError as e:
        for line in e.problems:
            print(line, file=sys.stderr)
        raise CLIError(f"{len(e.problems)} problem(s) in {args.theirs}") from None
    table = reconcile_customer(ledger, cid, theirs, as_of,
                               dispute_states(ledger, as_of, db, acts, policy))
    money = ["their_amount_minor", "our_amount_minor", "difference_minor", "open_minor",
             "credited_minor"]
    shown = _money_columns(table, money, args.format == "table").rename(
        columns={c: c.replace("_minor", "") for c in money})
    if args.format == "table":
        print(f"{ledger.customers.set_index('customer_id').at[cid, 'name']}: their disputes "
              f"against ours as of {as_of}")
        shown = shown.rename(columns=lambda c: c.replace("_", " ").capitalize())
    _emit(shown, args.format, "nothing disputed on either side")
    return 0


_ACTIONS = {"list": _report, "aging": _report, "overdue": _report, "open": _record,
            "assign": _record, "status": _record, "note": _record, "resolve": _record,
            "reconcile": _reconcile}
