"""Posting approved lines of a run into the state database: once, and only what is real.

``post_matches`` repeats the run from the bank statements it names (each must still hash
to what the run read), with the same as-of date, policy and column map, and checks every
line to post: it is a line the run proposes with the status being posted (so a hand-edited
line, or a suggestion turned into "auto", is refused), its receipt is a credit of those
statements, its invoice is in the ledger, the currencies agree, and the amount fits both
what is left of the receipt and what is still open on the invoice, after the ledger's
applications and every line posted before. Any line that fails
refuses the whole post (a hand-edited or forged file posts nothing). The check and the
write are one transaction of the state database (:meth:`StateDB.append_checked`), so two
approvers posting the same run at once post each line once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..ledger import Ledger
from ..money import MoneyError, format_amount, parse_amount

__all__ = ["post_matches", "PostingError"]


class PostingError(ValueError):
    """A post refused whole: the lines that cannot be posted, each with why."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"nothing posted: {len(problems)} line(s) cannot be posted: "
                         + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))


def _rerun(out_dir: Path, ledger: Ledger):
    """The run again, from the statements it names (each must still hash as it did), the
    same as-of date, policy and column map: (credits with what is left of each, the lines
    the run proposes)."""
    from ..io.bank import StatementError
    from ..policy import PolicyError
    from .policy import load_cashapp_policy
    from .run import run_cashapp

    try:
        summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise PostingError([f"{out_dir}/summary.json cannot be read: {e}"]) from None
    files = summary.get("statement_files") or []
    if not files:
        raise PostingError([f"{out_dir}/summary.json names no bank statements: run workbench "
                            f"cashapp again"])
    problems, paths = [], []
    for f in {f["path"]: f for f in files}.values():
        p = Path(f["path"])
        if not p.exists():
            problems.append(f"bank statement {p} of the run is gone")
        elif hashlib.sha256(p.read_bytes()).hexdigest() != f.get("sha256"):
            problems.append(f"bank statement {p} changed since the run")
        else:
            paths.append(p)
    if problems:
        raise PostingError(problems)
    try:
        policy = load_cashapp_policy(summary.get("policy_source") or "cashapp",
                                     summary.get("auto_post_threshold"))
        run = run_cashapp(ledger, paths, summary["as_of"], summary.get("bank_map"), policy)
    except (StatementError, PolicyError, ValueError, KeyError) as e:
        raise PostingError([f"the run cannot be repeated: {e}"]) from None
    # every credit of the run with what the ledger had applied of it (the reconciliation's)
    credits = run.reconciliation["receipts"]
    credits = credits.assign(left_minor=credits["amount_minor"] - credits["already_minor"])
    proposed = {(r.receipt_id, r.invoice_id, int(r.amount_minor)): r.status
                for r in run.applications.itertuples(index=False)}
    return credits.set_index("receipt_id"), proposed


def _base(receipt_id: str) -> str:
    """A receipt id without the suffix that tells clashing bank references apart: posts
    are budgeted per bank reference and currency, so an id that changed between runs can
    never post the same cash twice."""
    return str(receipt_id).split("~", 1)[0]


def post_matches(out_dir: str | Path, ledger: Ledger, approver: str, db=None,
                 statuses: tuple[str, ...] = ("auto",), receipts: list[str] | None = None) -> dict:
    """Record the approved lines of a run in the state database (``cash_matches``,
    append-only, with who and when and the ledger's hash).

    Returns ``{"posted": n, "already_posted": m, "refused": []}``; raises
    :class:`PostingError` (nothing posted) when any line cannot be posted.
    """
    from ..state import StateDB

    out_dir = Path(out_dir)
    db = db or StateDB()
    apps = pd.read_csv(out_dir / "applications.csv", dtype=str, keep_default_na=False)
    sel = apps["status"].isin(statuses)
    if receipts:
        sel &= apps["receipt_id"].isin(receipts)
    lines = apps[sel]
    credits, proposed = _rerun(out_dir, ledger)
    inv = ledger.invoices.set_index("invoice_id")
    open_now = ledger.balances(ledger.last_date).set_index("invoice_id")["open_minor"]
    digest = ledger.content_hash()

    def decide(current: list[dict]):
        posted = [r for r in current if r["status"] == "posted"]
        seen = {(_base(r["receipt_id"]), r["invoice_id"]) for r in posted}
        by_invoice: dict[str, int] = {}
        by_receipt: dict[tuple, int] = {}
        for r in posted:
            k = (_base(r["receipt_id"]), r["currency"])
            by_receipt[k] = by_receipt.get(k, 0) + int(r["amount_minor"])
            if r["invoice_id"]:
                by_invoice[r["invoice_id"]] = by_invoice.get(r["invoice_id"], 0) + int(r["amount_minor"])
        rows, skipped, problems = [], 0, []
        for n, r in enumerate(lines.itertuples(index=False), start=2):
            where = f"applications.csv line {n} ({r.receipt_id} -> {r.invoice_id})"
            if (_base(r.receipt_id), r.invoice_id) in seen:
                skipped += 1
                continue
            if r.receipt_id not in credits.index:
                problems.append(f"{where}: receipt {r.receipt_id} is in none of the run's bank "
                                f"statements")
                continue
            if r.invoice_id not in inv.index:
                problems.append(f"{where}: invoice {r.invoice_id} is not in the ledger")
                continue
            c = credits.loc[r.receipt_id]
            cur = c["currency"]
            if r.currency != cur or inv.loc[r.invoice_id, "currency"] != cur:
                problems.append(f"{where}: currency {r.currency!r}, the receipt is in {cur} and "
                                f"the invoice in {inv.loc[r.invoice_id, 'currency']}")
                continue
            try:
                amount = parse_amount(r.amount, cur)
            except MoneyError as e:
                problems.append(f"{where}: amount: {e}")
                continue
            if amount <= 0:
                problems.append(f"{where}: amount {r.amount} is not positive")
                continue
            status = proposed.get((r.receipt_id, r.invoice_id, amount))
            if status is None or status not in statuses:
                problems.append(f"{where}: not a line the run proposes"
                                + (f" (it proposes it as {status})" if status else "")
                                + " (edited by hand, or the ledger or policy changed?)")
                continue
            try:
                confidence = float(r.confidence)
            except ValueError:
                problems.append(f"{where}: confidence {r.confidence!r} is not a number")
                continue
            k = (_base(r.receipt_id), cur)
            left_receipt = int(c["left_minor"]) - by_receipt.get(k, 0)
            left_invoice = int(open_now.get(r.invoice_id, 0)) - by_invoice.get(r.invoice_id, 0)
            if amount > left_receipt:
                problems.append(f"{where}: {r.amount} exceeds the {format_amount(left_receipt, cur)} "
                                f"left of the receipt")
                continue
            if amount > left_invoice:
                problems.append(f"{where}: {r.amount} exceeds the {format_amount(left_invoice, cur)} "
                                f"still open on the invoice")
                continue
            by_receipt[k] = by_receipt.get(k, 0) + amount
            by_invoice[r.invoice_id] = by_invoice.get(r.invoice_id, 0) + amount
            seen.add((_base(r.receipt_id), r.invoice_id))
            rows.append({"receipt_id": r.receipt_id, "invoice_id": r.invoice_id,
                         "amount_minor": amount, "currency": cur, "rule": r.rule,
                         "confidence": confidence, "status": "posted",
                         "approved_by": approver, "ledger_hash": digest})
        if problems:
            raise PostingError(problems)
        return rows, skipped

    ids, skipped = db.append_checked("cash_matches", decide, actor=approver)
    return {"posted": len(ids), "already_posted": skipped, "refused": []}
