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

``post_manual`` posts lines an analyst chose (a receipt re-pointed to other invoices) with
the same checks and the same one transaction (rule ``manual``); ``reject_matches`` records
that a proposed line is rejected (status ``rejected``: it posts nothing, it is never
counted as applied cash, and ``post_matches`` no longer posts it). Only rows with status
``posted`` are applied cash.

A page that posts several times from the same run may pass a ``cache`` dict: the repeated
run is then kept for the same run folder, summary and statement hashes (the statements
are still read and hashed on every post; only the matching is not repeated).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from ..ledger import Ledger
from ..money import MoneyError, format_money, parse_amount

__all__ = ["post_matches", "post_manual", "reject_matches", "PostingError", "POSTED",
           "REJECTED", "MANUAL_RULE"]

POSTED = "posted"            # applied cash; the only status any budget counts
REJECTED = "rejected"        # a proposed line an analyst rejected: posts nothing
MANUAL_RULE = "manual"       # a line an analyst chose (re-pointed receipt)


class PostingError(ValueError):
    """A post refused whole: the lines that cannot be posted, each with why."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"nothing posted: {len(problems)} line(s) cannot be posted: "
                         + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))


def _checked_statements(out_dir: Path) -> tuple[dict, str, list[Path], tuple[str, ...]]:
    """The run's summary (and its text's hash) and its statements, each read and hashed now:
    a statement gone or changed since the run refuses the post."""
    try:
        text = (out_dir / "summary.json").read_text(encoding="utf-8")
        summary = json.loads(text)
    except (OSError, ValueError) as e:
        raise PostingError([f"{out_dir}/summary.json cannot be read: {e}"]) from None
    files = summary.get("statement_files") or []
    if not files:
        raise PostingError([f"{out_dir}/summary.json names no bank statements: run workbench "
                            f"cashapp again"])
    problems, paths, digests = [], [], []
    for f in {f["path"]: f for f in files}.values():
        p = Path(f["path"])
        if not p.exists():
            problems.append(f"bank statement {p} of the run is gone")
            continue
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest != f.get("sha256"):
            problems.append(f"bank statement {p} changed since the run")
        else:
            paths.append(p)
            digests.append(digest)
    if problems:
        raise PostingError(problems)
    return summary, hashlib.sha256(text.encode()).hexdigest(), paths, tuple(digests)


def _rerun(out_dir: Path, ledger: Ledger, cache: dict | None = None):
    """The run again, from the statements it names (each must still hash as it did), the
    same as-of date, policy and column map: (credits with what is left of each, the lines
    the run proposes). With ``cache``, a run repeated before for the same folder, summary,
    statement hashes and ledger object is reused (the hashes are checked every time)."""
    from ..io.bank import StatementError
    from ..policy import PolicyError
    from .policy import load_cashapp_policy
    from .run import run_cashapp

    summary, summary_hash, paths, digests = _checked_statements(out_dir)
    key = ("rerun", str(out_dir.resolve()), summary_hash, digests)
    if cache is not None and key in cache and cache[key][0] is ledger:
        return cache[key][1]
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
    result = credits.set_index("receipt_id"), proposed
    if cache is not None:
        for k in [k for k in cache if k[0] == "rerun"]:
            del cache[k]            # one run kept per page
        cache[key] = (ledger, result)
    return result


def _ledger_facts(ledger: Ledger, cache: dict | None = None):
    """(invoices by id, open balance per invoice at the ledger's last date, content hash)."""
    key = ("ledger", id(ledger))
    if cache is not None and key in cache and cache[key][0] is ledger:
        return cache[key][1]
    facts = (ledger.invoices.set_index("invoice_id"),
             ledger.balances(ledger.last_date).set_index("invoice_id")["open_minor"],
             ledger.content_hash())
    if cache is not None:
        cache[key] = (ledger, facts)
    return facts


def _base(receipt_id: str) -> str:
    """A receipt id without the suffix that tells clashing bank references apart: posts
    are budgeted per bank reference and currency, so an id that changed between runs can
    never post the same cash twice."""
    return str(receipt_id).split("~", 1)[0]


def _budgets(current: list[dict]):
    """What the state database holds: (pairs posted, posted per (receipt, currency), posted
    per invoice, pairs rejected, idempotency keys used). Only ``posted`` rows are cash."""
    posted = [r for r in current if r["status"] == POSTED]
    seen = {(_base(r["receipt_id"]), r["invoice_id"]) for r in posted}
    by_receipt: dict[tuple, int] = {}
    by_invoice: dict[str, int] = {}
    for r in posted:
        k = (_base(r["receipt_id"]), r["currency"])
        by_receipt[k] = by_receipt.get(k, 0) + int(r["amount_minor"])
        if r["invoice_id"]:
            by_invoice[r["invoice_id"]] = by_invoice.get(r["invoice_id"], 0) + int(r["amount_minor"])
    rejected = {(_base(r["receipt_id"]), r["invoice_id"]) for r in current
                if r["status"] == REJECTED}
    keys = {r.get("idempotency_key") for r in current if r.get("idempotency_key")}
    return seen, by_receipt, by_invoice, rejected, keys


def _take(amount: int, cur: str, receipt_id: str, invoice_id: str, credit, open_now,
          by_receipt: dict, by_invoice: dict) -> str | None:
    """Book ``amount`` against what is left of the receipt (its bank reference and currency)
    and what is still open on the invoice, after everything booked before; or say why it
    does not fit (nothing booked)."""
    k = (_base(receipt_id), cur)
    left_receipt = int(credit["left_minor"]) - by_receipt.get(k, 0)
    left_invoice = int(open_now.get(invoice_id, 0)) - by_invoice.get(invoice_id, 0)
    if amount > left_receipt:
        return f"exceeds the {format_money(left_receipt, cur)} left of the receipt"
    if amount > left_invoice:
        return f"exceeds the {format_money(left_invoice, cur)} still open on the invoice"
    by_receipt[k] = by_receipt.get(k, 0) + amount
    by_invoice[invoice_id] = by_invoice.get(invoice_id, 0) + amount
    return None


def _row_key(key: str | None, *parts) -> str | None:
    """The idempotency key of one row of an action (the action's key and the row)."""
    if not key:
        return None
    return f"{str(key)[:120]}:" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _read_lines(out_dir: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(out_dir / "applications.csv", dtype=str, keep_default_na=False)
    except OSError as e:
        raise PostingError([f"{out_dir}/applications.csv cannot be read: {e}"]) from None


def post_matches(out_dir: str | Path, ledger: Ledger, approver: str, db=None,
                 statuses: tuple[str, ...] = ("auto",), receipts: list[str] | None = None,
                 lines: list[tuple[str, str]] | None = None, idempotency_key: str | None = None,
                 cache: dict | None = None) -> dict:
    """Record the approved lines of a run in the state database (``cash_matches``,
    append-only, with who and when and the ledger's hash).

    ``receipts`` keeps the lines of those receipts, ``lines`` the lines of those
    (receipt_id, invoice_id) pairs (each must be a line of the run with one of
    ``statuses``). A line rejected before is not posted (counted in ``rejected``).

    Returns ``{"posted": n, "already_posted": m, "rejected": k, "refused": []}``; raises
    :class:`PostingError` (nothing posted) when any line cannot be posted.
    """
    from ..state import StateDB

    out_dir = Path(out_dir)
    db = db or StateDB()
    apps = _read_lines(out_dir)
    sel = apps["status"].isin(statuses)
    if receipts:
        sel &= apps["receipt_id"].isin(receipts)
    if lines is not None:
        wanted = {(str(a), str(b)) for a, b in lines}
        pairs = pd.Series(list(zip(apps["receipt_id"], apps["invoice_id"])), index=apps.index)
        sel &= pairs.isin(wanted)
        missing = wanted - set(pairs[sel])
        if missing:
            raise PostingError([f"{r} -> {i}: not a line of the run with status "
                                f"{' or '.join(statuses)}" for r, i in sorted(missing)])
    lines_df = apps[sel]
    credits, proposed = _rerun(out_dir, ledger, cache)
    inv, open_now, digest = _ledger_facts(ledger, cache)

    def decide(current: list[dict]):
        seen, by_receipt, by_invoice, rejected, _ = _budgets(current)
        rows, skipped, refused_rejected, problems = [], 0, 0, []
        for n, r in zip(lines_df.index + 2, lines_df.itertuples(index=False)):
            where = f"applications.csv line {n} ({r.receipt_id} -> {r.invoice_id})"
            if (_base(r.receipt_id), r.invoice_id) in seen:
                skipped += 1
                continue
            if (_base(r.receipt_id), r.invoice_id) in rejected:
                refused_rejected += 1
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
            over = _take(amount, cur, r.receipt_id, r.invoice_id, c, open_now, by_receipt, by_invoice)
            if over:
                problems.append(f"{where}: {r.amount} {over}")
                continue
            seen.add((_base(r.receipt_id), r.invoice_id))
            row = {"receipt_id": r.receipt_id, "invoice_id": r.invoice_id,
                   "amount_minor": amount, "currency": cur, "rule": r.rule,
                   "confidence": confidence, "status": POSTED,
                   "approved_by": approver, "ledger_hash": digest}
            if idempotency_key:
                row["idempotency_key"] = _row_key(idempotency_key, "post", r.receipt_id, r.invoice_id)
            rows.append(row)
        if problems:
            raise PostingError(problems)
        return rows, (skipped, refused_rejected)

    ids, (skipped, refused_rejected) = db.append_checked("cash_matches", decide, actor=approver)
    return {"posted": len(ids), "already_posted": skipped, "rejected": refused_rejected,
            "refused": []}


def post_manual(out_dir: str | Path, ledger: Ledger, approver: str, lines, db=None,
                reason: str = "", idempotency_key: str | None = None,
                rejects: list[tuple[str, str]] | None = None, cache: dict | None = None) -> dict:
    """Post lines an analyst chose (a receipt re-pointed to other invoices): rule
    ``manual``, status ``posted``, with who and when, the reason in ``correction_reason``.

    ``lines`` are dicts with ``receipt_id``, ``invoice_id`` and ``amount`` (decimal text in
    the receipt's currency; optionally ``currency``). Each is checked as ``post_matches``
    checks a line: the receipt is a credit of the run's statements (which still hash as
    they did), the invoice is in the ledger, the currencies agree, the amount has at most
    the currency's decimals, is positive, and fits what is left of the receipt and what is
    still open on the invoice after every line posted before and the lines before it.
    ``rejects`` are run lines (receipt_id, invoice_id) recorded as rejected in the same
    transaction (the suggestion the re-point replaces). ``idempotency_key``: the same
    action sent twice (a double-click) is recorded once.

    Returns ``{"posted": n, "rejected": k, "already_recorded": bool}``; raises
    :class:`PostingError` (nothing recorded) when any line cannot be posted.
    """
    from ..state import StateDB

    out_dir = Path(out_dir)
    if not str(reason or "").strip():
        raise PostingError(["a re-point needs a reason"])
    lines = [dict(x) for x in lines]
    if not lines:
        raise PostingError(["no line to post: choose an invoice and an amount"])
    db = db or StateDB()
    credits, _ = _rerun(out_dir, ledger, cache)
    inv, open_now, digest = _ledger_facts(ledger, cache)
    run_lines = _read_lines(out_dir) if rejects else None
    first_key = _row_key(idempotency_key, "manual", 0)

    def decide(current: list[dict]):
        seen, by_receipt, by_invoice, rejected, keys = _budgets(current)
        if first_key and first_key in keys:
            return [], (True, 0)          # this very action was recorded already
        rows, problems = [], []
        for n, x in enumerate(lines, start=1):
            rid, iid = str(x.get("receipt_id", "")), str(x.get("invoice_id", ""))
            text = str(x.get("amount", "")).strip()
            where = f"line {n} ({rid} -> {iid} {text})"
            if rid not in credits.index:
                problems.append(f"{where}: receipt {rid} is in none of the run's bank statements")
                continue
            if iid not in inv.index:
                problems.append(f"{where}: invoice {iid} is not in the ledger")
                continue
            c = credits.loc[rid]
            cur, inv_cur = c["currency"], inv.loc[iid, "currency"]
            if inv_cur != cur or (x.get("currency") and x["currency"] != cur):
                problems.append(f"{where}: the receipt is in {cur}, the invoice in {inv_cur}: "
                                f"currencies must agree")
                continue
            try:
                amount = parse_amount(text, cur)
            except MoneyError as e:
                problems.append(f"{where}: amount: {e}")
                continue
            if amount <= 0:
                problems.append(f"{where}: the amount must be more than zero")
                continue
            over = _take(amount, cur, rid, iid, c, open_now, by_receipt, by_invoice)
            if over:
                problems.append(f"{where}: {over}")
                continue
            rows.append({"receipt_id": rid, "invoice_id": iid, "amount_minor": amount,
                         "currency": cur, "rule": MANUAL_RULE, "confidence": None,
                         "status": POSTED, "approved_by": approver, "ledger_hash": digest,
                         "correction_reason": str(reason).strip(),
                         "idempotency_key": _row_key(idempotency_key, "manual", n - 1)})
        if problems:
            raise PostingError(problems)
        n_rej = 0
        for r, i in rejects or []:
            if (_base(r), i) in seen or (_base(r), i) in rejected:
                continue                  # posted or rejected already: nothing to replace
            rows.append(_rejection(run_lines, r, i, approver, digest,
                                   f"re-pointed: {str(reason).strip()}",
                                   _row_key(idempotency_key, "manual-reject", r, i)))
            rejected.add((_base(r), i))
            n_rej += 1
        return rows, (False, n_rej)

    ids, (again, n_rej) = db.append_checked("cash_matches", decide, actor=approver)
    return {"posted": len(ids) - n_rej, "rejected": n_rej, "already_recorded": again}


def _rejection(run_lines: pd.DataFrame, receipt_id: str, invoice_id: str, approver: str,
               digest: str | None, reason: str, key: str | None) -> dict:
    hit = run_lines[(run_lines["receipt_id"] == receipt_id) & (run_lines["invoice_id"] == invoice_id)]
    if not len(hit):
        raise PostingError([f"{receipt_id} -> {invoice_id}: not a line of the run"])
    r = hit.iloc[0]
    try:
        amount = parse_amount(r["amount"], r["currency"])
        confidence = float(r["confidence"]) if r["confidence"] != "" else None
    except (MoneyError, ValueError) as e:
        raise PostingError([f"{receipt_id} -> {invoice_id}: {e}"]) from None
    return {"receipt_id": receipt_id, "invoice_id": invoice_id, "amount_minor": amount,
            "currency": r["currency"], "rule": r["rule"], "confidence": confidence,
            "status": REJECTED, "approved_by": approver, "ledger_hash": digest,
            "correction_reason": reason, "idempotency_key": key}


def reject_matches(out_dir: str | Path, approver: str, lines: list[tuple[str, str]], db=None,
                   reason: str = "", ledger: Ledger | None = None,
                   idempotency_key: str | None = None, cache: dict | None = None) -> dict:
    """Record that proposed lines of a run are rejected: one ``cash_matches`` row each with
    status ``rejected`` (posts nothing; the receipt's cash stays unapplied), who rejected
    (``approved_by``), when, and the reason (``correction_reason``).

    Each line must be a line of the run; a line posted already cannot be rejected (a
    posted line is reversed, not rejected): the whole request is refused. A line rejected
    before is skipped. Returns ``{"rejected": n, "already_rejected": m}``.
    """
    from ..state import StateDB

    out_dir = Path(out_dir)
    if not str(reason or "").strip():
        raise PostingError(["a rejection needs a reason"])
    if not lines:
        raise PostingError(["no line to reject: select lines first"])
    db = db or StateDB()
    run_lines = _read_lines(out_dir)
    digest = _ledger_facts(ledger, cache)[2] if ledger is not None else None

    def decide(current: list[dict]):
        seen, _, _, rejected, _ = _budgets(current)
        by_pair = {(_base(r["receipt_id"]), r["invoice_id"]): r for r in current
                   if r["status"] == POSTED}
        rows, again, problems = [], 0, []
        for rid, iid in lines:
            pair = (_base(rid), iid)
            if pair in seen:
                p = by_pair[pair]
                when = str(p["recorded_at"])[:16].replace("T", " ")
                problems.append(f"{rid} -> {iid}: posted already by {p['approved_by']} ({when} "
                                f"UTC): a posted line is reversed, not rejected")
                continue
            if pair in rejected:
                again += 1
                continue
            try:
                rows.append(_rejection(run_lines, rid, iid, approver, digest, str(reason).strip(),
                                       _row_key(idempotency_key, "reject", rid, iid)))
            except PostingError as e:
                problems += e.problems
                continue
            rejected.add(pair)
        if problems:
            raise PostingError(problems)
        return rows, again

    ids, again = db.append_checked("cash_matches", decide, actor=approver)
    return {"rejected": len(ids), "already_rejected": again}
