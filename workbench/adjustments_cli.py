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
    pr.add_argument("--verbose", action="store_true",
                    help="list every skipped source record with why (default: counts by why)")
    ls = sub.add_parser("list", help="adjustments and their status")
    ls.add_argument("--status", choices=_STATUSES, help="only adjustments in this state")
    ls.add_argument("--format", choices=("table", "json", "csv"), default="table")
    ap = sub.add_parser("approve", help="approve proposed adjustments (within your authority), "
                        "each one its own decision")
    ap.add_argument("adjustment_id", metavar="ID", nargs="+",
                    help="the adjustment(s) (as workbench adjustments list shows them)")
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
    if fmt == "json":           # missing values are null (never NaN: not JSON)
        clean = df.astype(object).where(df.notna(), None)
        print(json.dumps(clean.to_dict("records"), indent=2, default=str, allow_nan=False))
    elif fmt == "csv":
        df.to_csv(sys.stdout, index=False, lineterminator="\n")
    elif not len(df):
        print("no adjustments")
    else:
        print(df.to_string(index=False))


def _short(text, n: int) -> str:
    text = "" if text is None or text != text else str(text)
    return text if len(text) <= n else text[:n - 1] + "…"


def _when(iso) -> str:
    """A recorded UTC timestamp to the minute (``2026-11-24 02:20 UTC``)."""
    return "" if not iso else str(iso)[:16].replace("T", " ") + " UTC"


def status_table(frame):
    """``adjustment_status`` for people: business names, amounts with separators in each
    currency's decimals, times to the minute, notes shortened; plus the totals per status and
    currency (exact sums of minor units)."""
    import pandas as pd

    from .money import format_money, parse_amount
    kinds = {"credit_memo": "Credit memo", "write_off": "Write-off"}
    shown = pd.DataFrame({
        "Adjustment": frame["adjustment_id"], "Status": frame["status"],
        "Kind": [kinds.get(k, k) for k in frame["kind"]],
        "Customer": frame["customer_id"], "Invoice": frame["invoice_id"].fillna(""),
        "Amount": [format_money(parse_amount(a, c), c) for a, c in
                   zip(frame["amount"], frame["currency"])],
        "Source": frame["source"].str.replace("_", " "),
        "Proposed": [f"{_when(t)} {b}" for t, b in zip(frame["proposed_at"],
                                                        frame["proposed_by"])],
        "Decided": [f"{d} by {b} ({a})" if d else "" for d, b, a in
                    zip(frame["decision"].fillna(""), frame["decided_by"],
                        frame["decided_authority"])],
        "Last": [f"{_when(t)} {b}" for t, b in zip(frame["last_at"], frame["last_by"])],
        "Note": [_short(n, 40) for n in frame["note"]]})
    totals = []
    minor = [parse_amount(a, c) for a, c in zip(frame["amount"], frame["currency"])]
    every = pd.DataFrame({"status": frame["status"], "currency": frame["currency"],
                          "minor": minor})
    for st in [s for s in _STATUSES if s in set(every["status"])]:
        g = every[every["status"] == st].groupby("currency", sort=True)["minor"]
        per = "; ".join(f"{format_money(int(v.sum()), cur)} ({len(v)})" for cur, v in g)
        totals.append(f"{st}: {int(g.size().sum())} adjustment(s): {per}")
    return shown, totals


def proposals_table(props):
    """Proposals for people: id, kind, customer, invoice, amount in its currency, source and
    what the evidence says (shortened)."""
    import pandas as pd

    from .money import format_money
    kinds = {"credit_memo": "Credit memo", "write_off": "Write-off"}
    return pd.DataFrame({
        "Adjustment": props["adjustment_id"], "Kind": [kinds.get(k, k) for k in props["kind"]],
        "Customer": props["customer_id"], "Invoice": props["invoice_id"].fillna(""),
        "Amount": [format_money(int(m), c) for m, c in zip(props["amount_minor"],
                                                            props["currency"])],
        "Source": props["source"].str.replace("_", " "),
        "Evidence": [_short(json.loads(e).get("what", ""), 60) for e in props["evidence"]]})


_SKIP_KINDS = ((r" is already recorded \((\w+)\)$", "already recorded ({0})"),
               (r"held by ", "nothing left open: the balance is held by other adjustments"),
               (r"has an open dispute", "an open dispute on the invoice"),
               (r"is not past due", "not past due yet"))


def skipped_lines(skipped: dict, verbose: bool) -> list[str]:
    """The skipped source records: counted by why (three ids each), or every one with
    ``verbose``; a why of no known kind is always listed in full."""
    import re
    if not skipped:
        return []
    if verbose:
        return [f"{len(skipped)} skipped:"] + [f"  {k}: {why}" for k, why in skipped.items()]
    groups: dict[str, list[str]] = {}
    other = []
    for k, why in skipped.items():
        for pattern, label in _SKIP_KINDS:
            m = re.search(pattern, why)
            if m:
                groups.setdefault(label.format(*m.groups()), []).append(k)
                break
        else:
            other.append(f"  {k}: {why}")
    out = [f"{len(skipped)} skipped (--verbose lists each with why):"]
    for label, ids in groups.items():
        more = f", ... ({len(ids) - 3} more)" if len(ids) > 3 else ""
        out.append(f"  {len(ids)} {label}: {', '.join(ids[:3])}{more}")
    return out + other


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
        # pricing errors noted and disputes resolved in the workbench: as known by the end
        # of --as-of; without it, the ledger as of its last date and everything the
        # workbench has recorded so far (a dispute resolved today is proposed today)
        known_by = as_of if args.as_of else None
        from .collections import ActivityLog, activity_frame
        acts = activity_frame(ledger, ActivityLog(db, ledger), known_by=known_by)
        props = adj.propose_adjustments(ledger, as_of, _policy(args), db,
                                        ledger_dir=args.ledger.resolve(), activities=acts,
                                        known_by=known_by)
        if known_by is None:
            print(f"ledger as of {ledger.last_date.date()} (its last date); the workbench's "
                  f"notes and dispute resolutions as recorded up to now")
        if args.dry_run:
            print(proposals_table(props).to_string(index=False) if len(props)
                  else "no adjustments")
            print("\n".join(skipped_lines(props.attrs.get("skipped") or {}, args.verbose)))
            return 0
        user, _ = command_line_authority(name)
        ids = adj.record_proposals(db, props, actor=user, ledger=ledger)
        print(f"{len(props)} proposal(s) on {props.attrs.get('as_of')}; {len(ids)} newly recorded"
              + "".join(f"\n  {i}" for i in ids))
        if ids.skipped:
            print("\n".join(skipped_lines(ids.skipped, args.verbose)))
        return 0
    if cmd == "list":
        frame = adj.adjustment_status(db, args.status)
        if args.format != "table" or not len(frame):
            _print_frame(frame, args.format)
            return 0
        shown, totals = status_table(frame)
        print(shown.to_string(index=False))
        print("\n" + "\n".join(totals))
        return 0
    if cmd == "approve":
        user, authority = command_line_authority(name)
        ledgers: dict[str, object] = {}

        def ledger_of(a: str):
            path = args.ledger
            if path is None:
                rows = db.rows("adjustments", where={"adjustment_id": a, "event": "proposed"})
                if not rows:
                    raise adj.AdjustmentError(f"no adjustment {a!r} was proposed")
                path = json.loads(rows[0]["evidence"] or "{}").get("ledger")
                if not path:
                    raise adj.AdjustmentError(f"{a}: give --ledger DIR (the proposal names none)")
            key = str(Path(path).resolve())
            if key not in ledgers:
                ledgers[key] = _ledger(Path(path))
            return ledgers[key]

        failed = 0
        for a in dict.fromkeys(args.adjustment_id):        # each once, in the order given
            try:        # each its own decision: one refused does not undo the others
                adj.approve(db, a, user, authority, ledger_of(a), args.note,
                            policy=_policy(args), as_of=args.as_of)
            except (adj.AdjustmentError, ValueError) as e:
                failed += 1
                print(f"{name}: {a} not approved: {e}", file=sys.stderr)
                continue
            print(f"{a} approved by {user} ({authority})")
        if len(args.adjustment_id) > 1:
            print(f"{len(dict.fromkeys(args.adjustment_id)) - failed} approved, {failed} not")
        return 2 if failed else 0
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
