"""Posting approved lines of a run into the state database."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..ledger import Ledger
from ..money import format_amount, parse_amount

__all__ = ["post_matches"]


def post_matches(out_dir: str | Path, ledger: Ledger, approver: str, db=None,
                 statuses: tuple[str, ...] = ("auto",), receipts: list[str] | None = None) -> dict:
    """Record approved lines of a run in the state database (``cash_matches``, append-only,
    with who and when and the ledger's hash). Lines already posted are not posted twice;
    a line larger than the invoice's open balance (after earlier posts) is refused."""
    from ..state import StateDB

    db = db or StateDB()
    apps = pd.read_csv(Path(out_dir) / "applications.csv", dtype=str, keep_default_na=False)
    sel = apps["status"].isin(statuses)
    if receipts:
        sel &= apps["receipt_id"].isin(receipts)
    lines = apps[sel]
    posted = db.current("cash_matches")
    seen = {(r["receipt_id"], r["invoice_id"]) for r in posted if r["status"] == "posted"}
    already = {}
    for r in posted:
        if r["status"] == "posted" and r["invoice_id"]:
            already[r["invoice_id"]] = already.get(r["invoice_id"], 0) + int(r["amount_minor"])
    open_now = ledger.balances(ledger.last_date).set_index("invoice_id")["open_minor"]
    rows, skipped, refused = [], 0, []
    digest = ledger.content_hash()
    for r in lines.itertuples(index=False):
        if (r.receipt_id, r.invoice_id) in seen:
            skipped += 1
            continue
        amount = parse_amount(r.amount, r.currency)
        left = int(open_now.get(r.invoice_id, 0)) - already.get(r.invoice_id, 0)
        if amount > left:
            refused.append(f"{r.receipt_id} -> {r.invoice_id}: {r.amount} exceeds the "
                           f"{format_amount(left, r.currency)} still open")
            continue
        already[r.invoice_id] = already.get(r.invoice_id, 0) + amount
        rows.append({"receipt_id": r.receipt_id, "invoice_id": r.invoice_id,
                     "amount_minor": amount, "currency": r.currency, "rule": r.rule,
                     "confidence": float(r.confidence), "status": "posted",
                     "approved_by": approver, "ledger_hash": digest})
    ids = db.append_many("cash_matches", rows, actor=approver) if rows else []
    return {"posted": len(ids), "already_posted": skipped, "refused": refused}
