"""``workbench adjustments``: propose, list, approve, refuse and export account adjustments.

Registered in :mod:`workbench.cli` through :func:`add_parser` and :func:`run`::

    workbench adjustments propose --ledger DIR [--as-of DATE]
    workbench adjustments list [--status STATUS] [--format table|json|csv]
    workbench adjustments approve ID [--note TEXT] [--ledger DIR]
    workbench adjustments refuse ID --note TEXT
    workbench adjustments withdraw ID --note TEXT
    workbench adjustments export --ledger DIR --out DIR [--map FILE] [--date DATE]
    workbench adjustments export --out DIR --batch BATCH_ID [--map FILE]

Who approves, refuses or exports, and with what authority, is the users-file entry of the OS
login (:func:`workbench.cli.command_line_authority`), never an option.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["add_parser", "run"]

_STATUSES = ("proposed", "approved", "refused", "exported", "withdrawn")


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``adjustments`` command (and its subcommands) to an argparse subparsers object."""
    p = subparsers.add_parser("adjustments", help="account adjustments and credit memos: "
                              "propose, approve by authority, export to the ERP")
    p.add_argument("--db", help="state database URL (default: WORKBENCH_DB_URL or data/workbench.db)")
    p.add_argument("--policy", type=Path, help="adjustments policy YAML (default: shipped)")
    sub = p.add_subparsers(dest="action", metavar="SUBCOMMAND", required=True)
    pr = sub.add_parser("propose", help="propose adjustments from disputes, short pays, small "
                        "balances and pricing errors; record them (once each)")
    pr.add_argument("--ledger", required=True, type=Path, help="ledger folder")
    pr.add_argument("--as-of", help="date of the proposals (default: the ledger's last date)")
    pr.add_argument("--dry-run", action="store_true", help="show, record nothing")
    ls = sub.add_parser("list", help="adjustments and their status")
    ls.add_argument("--status", choices=_STATUSES, help="only adjustments in this state")
    ls.add_argument("--format", choices=("table", "json", "csv"), default="table")
    ap = sub.add_parser("approve", help="approve a proposed adjustment (within your authority)")
    ap.add_argument("adjustment_id", metavar="ID", help="the adjustment (as workbench adjustments list shows it)")
    ap.add_argument("--note", help="a note kept with the approval")
    ap.add_argument("--ledger", type=Path, help="ledger folder (default: the one it was "
                    "proposed from)")
    ap.add_argument("--as-of", help="date of the open-balance check (default: ledger's last date)")
    rf = sub.add_parser("refuse", help="refuse a proposed adjustment")
    rf.add_argument("adjustment_id", metavar="ID", help="the adjustment (as workbench adjustments list shows it)")
    rf.add_argument("--note", required=True, help="why (required)")
    wd = sub.add_parser("withdraw", help="withdraw a proposed or approved (not exported) "
                        "adjustment; its source may propose it again")
    wd.add_argument("adjustment_id", metavar="ID", help="the adjustment (as workbench adjustments list shows it)")
    wd.add_argument("--note", required=True, help="why (required)")
    ex = sub.add_parser("export", help="export approved adjustments as ERP import files "
                        "(never the same adjustment twice)")
    ex.add_argument("--ledger", type=Path, help="ledger folder (required, except with --batch)")
    ex.add_argument("--out", required=True, type=Path, help="folder for the export batches")
    ex.add_argument("--map", type=Path, help="column map YAML for the NetSuite-style CSV "
                    "(default: workbench/io/maps/netsuite_adjustments.yaml)")
    ex.add_argument("--date", help="the ERP posting date written on the rows (default: today, UTC)")
    ex.add_argument("--batch", metavar="BATCH_ID", help="write this recorded batch's files again "
                    "from its recorded events (same rows, date and approvers, byte for byte); "
                    "records and exports nothing new")
    p.set_defaults(command="adjustments", func=run)
    return p


def _ledger(path: Path):
    from .cli import CLIError, load_ledger
    if path is None:
        raise CLIError("--ledger DIR is required")
    return load_ledger(Path(path))


def _policy(args):
    from .adjustments import load_adjustments_policy
    return load_adjustments_policy(args.policy) if args.policy else load_adjustments_policy()


def _print_frame(df, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(df.to_dict("records"), indent=2, default=str))
    elif fmt == "csv":
        df.to_csv(sys.stdout, index=False, lineterminator="\n")
    elif not len(df):
        print("no adjustments")
    else:
        print(df.to_string(index=False))


def _run(args) -> int:
    from . import adjustments as adj
    from .cli import CLIError, command_line_authority
    from .state import StateDB

    db = StateDB(args.db) if args.db else StateDB()
    cmd = args.action
    name = f"workbench adjustments {cmd}"
    if cmd == "propose":
        ledger = _ledger(args.ledger)
        as_of = args.as_of or ledger.last_date
        # pricing errors noted in the ledger's activities and in the workbench's log, as
        # known by the end of the as-of day
        from .collections import ActivityLog, activity_frame
        acts = activity_frame(ledger, ActivityLog(db, ledger), known_by=as_of)
        props = adj.propose_adjustments(ledger, as_of, _policy(args), db,
                                        ledger_dir=args.ledger.resolve(), activities=acts)
        if args.dry_run:
            _print_frame(props.drop(columns=["evidence", "base_id"]), "table")
            for k, why in (props.attrs.get("skipped") or {}).items():
                print(f"skipped {k}: {why}")
            return 0
        user, _ = command_line_authority(name)
        ids = adj.record_proposals(db, props, actor=user, ledger=ledger)
        print(f"{len(props)} proposal(s) on {props.attrs.get('as_of')}; {len(ids)} newly recorded"
              + "".join(f"\n  {i}" for i in ids))
        if ids.skipped:
            print(f"{len(ids.skipped)} skipped:"
                  + "".join(f"\n  {k}: {why}" for k, why in ids.skipped.items()))
        return 0
    if cmd == "list":
        _print_frame(adj.adjustment_status(db, args.status), args.format)
        return 0
    if cmd == "approve":
        user, authority = command_line_authority(name)
        path = args.ledger
        if path is None:
            rows = db.rows("adjustments", where={"adjustment_id": args.adjustment_id,
                                                 "event": "proposed"})
            if not rows:
                raise CLIError(f"no adjustment {args.adjustment_id!r} was proposed")
            path = json.loads(rows[0]["evidence"] or "{}").get("ledger")
            if not path:
                raise CLIError(f"{args.adjustment_id}: give --ledger DIR (the proposal names none)")
        ledger = _ledger(Path(path))
        adj.approve(db, args.adjustment_id, user, authority, ledger, args.note,
                    policy=_policy(args), as_of=args.as_of)
        print(f"{args.adjustment_id} approved by {user} ({authority})")
        return 0
    if cmd == "refuse":
        user, authority = command_line_authority(name)
        adj.refuse(db, args.adjustment_id, user, authority, args.note)
        print(f"{args.adjustment_id} refused by {user} ({authority})")
        return 0
    if cmd == "withdraw":
        user, authority = command_line_authority(name)
        adj.withdraw(db, args.adjustment_id, user, args.note, authority)
        print(f"{args.adjustment_id} withdrawn by {user} ({authority})")
        return 0
    if cmd == "export" and args.batch:
        if args.date:
            raise CLIError("--date does not go with --batch: a rebuilt batch keeps its own date")
        command_line_authority(name)
        res = adj.rebuild_export(db, args.batch, args.out, column_map=args.map)
        print(f"rebuilt batch {res.batch_id} ({len(res.adjustment_ids)} adjustment(s)) from its "
              f"recorded events in {res.folder}; nothing recorded"
              + "".join(f"\n  {f}: {n} row(s)" for f, n in res.files.items()))
        return 0
    if cmd == "export":
        user, _ = command_line_authority(name)
        ledger = _ledger(args.ledger)
        res = adj.export_adjustments(db, ledger, args.out, column_map=args.map, date=args.date,
                                     actor=user)
        for a, why in res.skipped.items():
            print(f"skipped {a}: {why}", file=sys.stderr)
        if res.batch_id is None:
            print("nothing to export: no approved adjustment that was not exported before")
            return 0
        print(f"exported {len(res.adjustment_ids)} adjustment(s) as batch {res.batch_id} to "
              f"{res.folder}" + "".join(f"\n  {f}: {n} row(s)" for f, n in res.files.items()))
        return 0
    raise CLIError(f"unknown subcommand {cmd!r}")


def run(args) -> int:
    """Run ``workbench adjustments ...``; errors are printed (exit 2), never a traceback."""
    from .adjustments import AdjustmentError
    from .cli import CLIError
    from .policy import PolicyError
    try:
        return _run(args)
    except (AdjustmentError, PolicyError, CLIError) as e:
        print(f"workbench adjustments: error: {e}", file=sys.stderr)
        return 2
