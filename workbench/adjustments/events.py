"""An adjustment's chain of events in the state database: its status (corrections standing
in place), the transaction that appends, and the ledger's view (posted, still open)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount, format_money
from .policy import AdjustmentError


def _current_rows(rows: list[dict]) -> list[dict]:
    """The rows no other row supersedes, each correction standing where the row it corrects
    stood (a correction replaces its row; it is not a new event)."""
    by_id = {r["id"]: r for r in rows if r.get("id") is not None}
    superseded = {r["supersedes"] for r in rows if r.get("supersedes") is not None}

    def root(r):
        seen = set()
        while r.get("supersedes") is not None and r["supersedes"] in by_id \
                and r["supersedes"] not in seen:
            seen.add(r["supersedes"])
            r = by_id[r["supersedes"]]
        return r.get("id") or 0
    keep = [r for r in rows if r.get("id") not in superseded]
    return sorted(keep, key=lambda r: (root(r), r.get("id") or 0))


def _states(rows: list[dict]) -> dict[str, dict]:
    """adjustment_id -> {"status", "proposed" (row), "last" (row), "events"} (rows oldest
    first), from the rows no correction superseded."""
    out: dict[str, dict] = {}
    for r in _current_rows(rows):
        s = out.setdefault(r["adjustment_id"], {"events": []})
        s["events"].append(r)
        s["last"] = r
        s["status"] = r["event"]
        if r["event"] == "proposed":
            s["proposed"] = r
    return out


_CARRY = ("adjustment_id", "kind", "customer_id", "invoice_id", "amount_minor", "currency",
          "source", "reason_code")


def _append_checked(db, decide, actor):
    """``db.append_checked`` on the adjustments table; a refusal by the state database
    (an idempotency key used before, ...) comes out as an :class:`AdjustmentError`."""
    try:
        return db.append_checked("adjustments", decide, actor=actor)
    except AdjustmentError:
        raise
    except ValueError as e:
        raise AdjustmentError(f"the state database refused the change: {e}") from None


def adjustment_status(db, status: str | None = None) -> pd.DataFrame:
    """One row per adjustment with its status (latest event), who did it and when; who
    proposed it, and who decided it (approved or refused) with what authority, even after
    it was exported or withdrawn."""
    cols = ["adjustment_id", "status", "kind", "source", "customer_id", "invoice_id", "currency",
            "amount", "reason_code", "proposed_at", "last_by", "last_at", "authority",
            "export_batch", "note", "proposed_by", "decided_by", "decided_at",
            "decided_authority", "decision", "decision_note"]
    rows = []
    for a, s in sorted(_states(db.rows("adjustments")).items()):
        last, first = s["last"], s.get("proposed", s["last"])
        if status and s["status"] != status:
            continue
        decided = [e for e in s["events"] if e["event"] in ("approved", "refused")]
        d = decided[-1] if decided else {}
        rows.append({"adjustment_id": a, "status": s["status"], "kind": first["kind"],
                     "source": first["source"], "customer_id": first["customer_id"],
                     "invoice_id": first["invoice_id"], "currency": first["currency"],
                     "amount": format_amount(first["amount_minor"], first["currency"]),
                     "reason_code": first["reason_code"], "proposed_at": first["recorded_at"],
                     "last_by": last["recorded_by"], "last_at": last["recorded_at"],
                     "authority": last["authority"], "export_batch": last["export_batch"],
                     "note": last["note"], "proposed_by": first["recorded_by"],
                     "decided_by": d.get("recorded_by"), "decided_at": d.get("recorded_at"),
                     "decided_authority": d.get("authority"), "decision": d.get("event"),
                     "decision_note": d.get("note")})
    return pd.DataFrame(rows, columns=cols)


def _posted(ledger: Ledger) -> set[str]:
    """Adjustment ids the ERP has posted: credit memo ids, write-off reasons '... (ADJ-...)'."""
    ids = set(ledger.credit_memos["credit_memo_id"]) if len(ledger.credit_memos) else set()
    if len(ledger.write_offs):
        for reason in ledger.write_offs["reason"].astype(str):
            m = re.search(r"\((ADJ-[^)]+)\)\s*$", reason)
            if m:
                ids.add(m.group(1))
    return ids


@dataclass
class _Book:
    """What the ledger says on a date, read once before a write's transaction."""

    open_minor: dict
    posted: set
    as_of: pd.Timestamp

    @classmethod
    def of(cls, ledger: Ledger, as_of) -> _Book:
        D = to_date(as_of)
        bal = ledger.balances(D)
        return cls(dict(zip(bal["invoice_id"], bal["open_minor"].astype(int))), _posted(ledger), D)


def _open_check(book: _Book, states: dict, a: str) -> str | None:
    """Why ``a`` cannot be booked now (None when it can): its amount must not exceed the
    invoice's open balance less the adjustments approved or exported and not yet posted."""
    p = states[a]["proposed"]
    inv, cur = p["invoice_id"], p["currency"]
    if a in book.posted:
        return f"{a} is already in the ledger (posted by the ERP)"
    if inv not in book.open_minor:
        return f"invoice {inv} is not in the ledger on {book.as_of.date()}"
    open_minor = int(book.open_minor[inv])
    pending = sum(int(s["proposed"]["amount_minor"]) for b, s in states.items()
                  if b != a and s["status"] in ("approved", "exported") and b not in book.posted
                  and s["proposed"]["invoice_id"] == inv)
    if int(p["amount_minor"]) > open_minor - pending:
        return (f"{a}: {format_money(int(p['amount_minor']), cur)} is more than is still open on "
                f"{inv} ({format_money(open_minor, cur)} open, "
                f"{format_money(pending, cur)} pending in other adjustments)")
    return None
