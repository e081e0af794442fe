"""Proposals from the sources (disputes, pricing errors, short pays, small balances), each
with its evidence, and their recording (once each, within the invoice's open balance)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import MoneyError, format_amount, format_money, parse_amount
from .events import _CARRY, _append_checked, _posted, _states
from .policy import AdjustmentsPolicy, load_adjustments_policy


PROPOSAL_COLUMNS = ["adjustment_id", "kind", "source", "customer_id", "invoice_id", "currency",
                    "amount_minor", "amount", "reason_code", "evidence", "policy", "base_id"]
#: thousands separators in valid positions only: 1,200.00 / 12,345,678 (not 1,20.00)
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$")


def _adjustment_id(source: str, record_id: str) -> str:
    """The base id of an adjustment from a source record (dispute, activity or invoice id)."""
    return f"ADJ-{source.upper().replace('_', '')}-{record_id}"


def _resolve_id(states: dict, base: str) -> tuple[str | None, str | None]:
    """``(id, None)``: the id to record a proposal from ``base`` under (``base``, or
    ``base-R<n>`` after ``n`` withdrawn ones); ``(None, why)`` when it is recorded already."""
    n = 0
    while True:
        cand = base if n == 0 else f"{base}-R{n}"
        s = states.get(cand)
        if s is None:
            return cand, None
        if s["status"] != "withdrawn":
            return None, f"{cand} is already recorded ({s['status']})"
        n += 1


def _plain_amount(text: str, cur: str) -> int:
    """Parse a note's amount: thousands separators accepted only in valid positions."""
    if "," in text:
        if not _GROUPED.match(text):
            raise MoneyError(f"thousands separators out of place in {text!r} (write 1,200.00 "
                             f"or 1200.00)")
        text = text.replace(",", "")
    return parse_amount(text, cur)


def _evidence(what: str, where: list[dict], figures: dict, as_of, ledger_dir) -> str:
    return json.dumps({"what": what, "where": where, "figures": figures,
                       "as_of": str(to_date(as_of).date()),
                       "ledger": None if ledger_dir is None else str(ledger_dir)},
                      sort_keys=True)


def _where(ledger_dir, table: str, key: dict) -> dict:
    """Where a fact is: the table, the row's key and (given the folder) the file holding it."""
    if ledger_dir is None:
        return {"table": table, "key": key}
    files = [Path(ledger_dir) / f"{table}{ext}" for ext in (".csv", ".parquet")]
    found = [f for f in files if f.exists()]
    return {"table": table, "key": key, "file": str(found[0] if found else ledger_dir)}


def propose_adjustments(ledger: Ledger, as_of, policy: AdjustmentsPolicy | None = None,
                        db=None, *, collections_policy=None, deductions: pd.DataFrame | None = None,
                        ledger_dir: str | Path | None = None,
                        activities: pd.DataFrame | None = None,
                        dispute_events=None, known_by="as_of") -> pd.DataFrame:
    """Adjustments the sources call for on ``as_of`` (nothing recorded here).

    Parameters
    ----------
    ledger, as_of : the ledger and the date (only what is dated by then counts).
    policy : the adjustments policy (default: shipped).
    db : StateDB, optional
        When given: proposals already recorded are left out (a withdrawn one is proposed
        again under ``-R<n>``), live adjustments (proposed, approved, exported and not posted)
        count against the invoice's open balance, and disputes resolved in the workbench
        (``dispute_events``, by the end of ``as_of``) are a dispute source.
    collections_policy : the small-balance thresholds (default: shipped collections policy).
    deductions : ``CashAppRun.deductions`` (receipt_id, invoice_id, amount_minor, currency),
        short pays proposed by cash application.
    ledger_dir : the ledger folder, named in the evidence (and used by ``approve`` later).
    activities : the activity frame (:func:`workbench.collections.activity_frame`, with a
        ``source`` column: ``ledger`` or ``state``); default the ledger's activities.
    dispute_events : the ``dispute_events`` rows (default: ``db``'s).
    known_by : the day by whose end dispute events count (default ``as_of``); ``None``:
        every event recorded so far (the ledger as of its last date, the workbench's
        resolutions up to now).

    Returns
    -------
    DataFrame of ``PROPOSAL_COLUMNS``, sorted by adjustment id; ``amount_minor`` exact;
    ``attrs["skipped"]``: what was left out (key: adjustment id, or the source record) -> why.
    """
    policy = policy or load_adjustments_policy()
    D = ledger.require_data_by(as_of)
    bal = ledger.balances(D).set_index("invoice_id")
    src = policy.sources
    found: dict[str, dict] = {}      # adjustment id -> proposal
    skipped: dict[str, str] = {}
    states = _states(db.rows("adjustments")) if db is not None else {}
    posted = _posted(ledger)
    taken: dict[str, int] = {}       # invoice -> live adjustments and earlier proposals
    for a, s in states.items():
        if s["status"] in ("proposed", "approved") or (s["status"] == "exported"
                                                       and a not in posted):
            inv = s["proposed"]["invoice_id"]
            taken[inv] = taken.get(inv, 0) + int(s["proposed"]["amount_minor"])

    def add(source, record_id, invoice_id, amount, what, where, figures):
        base = _adjustment_id(source, record_id)
        if base in found or invoice_id not in bal.index or int(amount) <= 0:
            return              # nothing (left) to credit: the ERP booked it already
        a, why = _resolve_id(states, base)
        b = bal.loc[invoice_id]
        cur, open_minor = b["currency"], int(b["open_minor"])
        held = taken.get(invoice_id, 0)
        if a is None:
            skipped[base] = why
            if why.endswith("(refused)"):      # a refusal stands: no other source takes it
                taken[invoice_id] = held + max(0, min(int(amount), open_minor - held))
            return
        amount = min(int(amount), open_minor - held)
        if amount <= 0:
            if held:
                skipped[a] = (f"nothing left open on {invoice_id}: "
                              f"{format_money(open_minor, cur)} open, "
                              f"{format_money(held, cur)} held by other adjustments")
            return
        taken[invoice_id] = held + amount
        figures = {**figures, "open_balance": format_amount(open_minor, cur),
                   "amount": format_amount(amount, cur), "currency": cur}
        found[base] = {
            "adjustment_id": a, "base_id": base, "kind": src[source]["kind"],
            "source": source, "customer_id": b["customer_id"], "invoice_id": invoice_id,
            "currency": cur, "amount_minor": amount, "amount": format_amount(amount, cur),
            "reason_code": src[source]["reason_code"],
            "evidence": _evidence(what, where, figures, D, ledger_dir), "policy": policy.label}

    cms = ledger.credit_memos

    def credited(invoice_id, since) -> int:
        """Credit memos booked on the invoice from ``since`` to ``D`` (already credited)."""
        if not len(cms) or "invoice_id" not in cms:
            return 0
        on = cms[(cms["invoice_id"] == invoice_id) & (cms["date"] >= since) & (cms["date"] <= D)]
        return int(on["amount_minor"].sum())

    from ..disputes import dispute_states

    events = dispute_events if dispute_events is not None else db
    dstates = dispute_states(ledger, D, events=events, known_by=known_by) \
        if len(ledger.disputes) or events is not None else pd.DataFrame()
    if src["dispute"]["enabled"] and len(dstates):
        won = dstates[(dstates["status"] == "credit_memo") & ~dstates["is_open"]
                      & dstates["invoice_id"].notna()]
        for r in won.sort_values(["closed_date", "dispute_id"]).to_dict("records"):
            booked, cur = credited(r["invoice_id"], r["opened_date"]), r["currency"]
            ev = [h for h in r["history"] if h["event"] == "resolved"]
            where = [] if r["source"] == "workbench" else \
                [_where(ledger_dir, "disputes", {"dispute_id": r["dispute_id"]})]
            if ev:                   # resolved in the workbench: the event names it
                where.append({"table": "dispute_events", "key": {
                    "dispute_id": r["dispute_id"], "event": "resolved", "recorded_at": ev[-1]["at"]},
                    "recorded_by": ev[-1]["by"]})
                how = (f"resolved in the workbench by {ev[-1]['by']} at {ev[-1]['at']} "
                       f"(dispute_events) with resolution credit_memo")
            else:
                how = f"closed {r['closed_date'].date()} with resolution credit_memo"
            add("dispute", r["dispute_id"], r["invoice_id"], int(r["amount_minor"]) - booked,
                f"dispute {r['dispute_id']} ({r['reason_code']}) {how}: the customer was right",
                where, {"disputed": format_amount(int(r["amount_minor"]), cur),
                        "credited_since_opened": format_amount(booked, cur)})
    acts = ledger.activities if activities is None else activities
    pe = src["pricing_error"]
    if pe["enabled"] and len(acts) and "note" in acts and "invoice_id" in acts:
        pattern = re.compile(r"^\s*" + re.escape(pe["marker"]) + r"\s*:?\s*([0-9][0-9.,]*)",
                             re.IGNORECASE)
        ts = acts["timestamp"]
        ts = ts.dt.tz_localize(None) if ts.dt.tz is not None else ts     # the wall-clock day
        # dated by the as-of day; with known_by None, every note the log holds (one logged
        # today about an invoice of the ledger counts, as a resolution recorded today does)
        noted = (ts.dt.normalize() <= D) if known_by is not None else ts.notna()
        notes = acts[(acts["kind"] == "note") & acts["note"].notna() & acts["invoice_id"].notna()
                     & noted]
        for r in notes.sort_values(["timestamp", "activity_id"]).itertuples(index=False):
            m = pattern.match(str(r.note))
            if not m or r.invoice_id not in bal.index:
                continue
            cur = bal.loc[r.invoice_id, "currency"]
            text = m.group(1).rstrip(".,")
            if getattr(r, "source", "ledger") == "state":
                origin = "state database (activity log)"
            else:
                origin = "ledger " + str(_where(ledger_dir, "activities", {}).get(
                    "file", "activities file"))
            try:
                amount = _plain_amount(text, cur)
            except MoneyError as e:
                skipped[_adjustment_id("pricing_error", r.activity_id)] = (
                    f"{origin}: activity {r.activity_id}: pricing error amount {text!r} is not "
                    f"an amount in {cur}: {e}")
                continue
            booked = credited(r.invoice_id, ts[acts["activity_id"] == r.activity_id].iloc[0]
                              .normalize())
            add("pricing_error", r.activity_id, r.invoice_id, amount - booked,
                f"pricing error noted by {r.collector} on {r.timestamp}: {r.note}",
                [_where(ledger_dir, "activities", {"activity_id": r.activity_id})],
                {"noted": format_amount(amount, cur),
                 "credited_since_noted": format_amount(booked, cur)})
    sp = src["short_pay"]
    disputed = set(dstates.loc[dstates["is_open"], "invoice_id"].dropna()) if len(dstates) \
        else set()

    def short_pay_ok(inv) -> bool:
        """Not while a dispute is open on it, nor before it is past due (reported)."""
        a = _adjustment_id("short_pay", inv)
        if inv in disputed:
            skipped[a] = f"{inv} has an open dispute on {D.date()}: no short-pay write-off"
            return False
        if inv in bal.index and bal.at[inv, "due_date"] >= D:
            skipped[a] = (f"{inv} is not past due on {D.date()} (due "
                          f"{bal.at[inv, 'due_date'].date()}): no short-pay write-off")
            return False
        return True
    if sp["enabled"]:
        ded = deductions if deductions is not None else pd.DataFrame(columns=["invoice_id"])
        for r in ded.sort_values(["invoice_id"]).itertuples(index=False):
            cur = r.currency
            if int(r.amount_minor) <= sp["tolerance"].minor(cur, ledger, D) \
                    and short_pay_ok(r.invoice_id):
                add("short_pay", r.invoice_id, r.invoice_id, int(r.amount_minor),
                    f"receipt {r.receipt_id} paid {r.invoice_id} short by "
                    f"{format_money(int(r.amount_minor), cur)} (cash application deduction)",
                    [_where(ledger_dir, "receipts", {"receipt_id": r.receipt_id})],
                    {"short_by": format_amount(int(r.amount_minor), cur),
                     "tolerance": format_amount(sp["tolerance"].minor(cur, ledger, D), cur)})
        paid = bal[(bal["applied_minor"] > 0) & (bal["open_minor"] > 0)].sort_index()
        for inv, b in paid.iterrows():
            cur, rest = b["currency"], int(b["open_minor"])
            tol = sp["tolerance"].minor(cur, ledger, D)
            pct = sp["tolerance_pct"]
            # within tolerance: rest <= tol and rest / amount <= pct% (exact, integers)
            if rest > tol or (pct is not None and rest * 100 > pct * int(b["amount_minor"])):
                continue
            if not short_pay_ok(inv):
                continue
            apps = ledger.applications
            last = apps[(apps["invoice_id"] == inv) & (apps["applied_date"] <= D)]
            last = last.sort_values(["applied_date", "receipt_id"]).iloc[-1]
            add("short_pay", inv, inv, rest,
                f"{inv} paid {format_money(int(b['applied_minor']), cur)} of "
                f"{format_money(int(b['amount_minor']), cur)}, short by {format_money(rest, cur)} "
                f"(tolerance {format_money(tol, cur)}"
                f"{'' if pct is None else f', {pct}%'}); last receipt {last['receipt_id']}",
                [_where(ledger_dir, "applications", {"receipt_id": last["receipt_id"],
                                                     "invoice_id": inv})],
                {"invoice_amount": format_amount(int(b["amount_minor"]), cur),
                 "applied": format_amount(int(b["applied_minor"]), cur),
                 "tolerance": format_amount(tol, cur),
                 "tolerance_pct": None if pct is None else str(pct)})
    if src["small_balance"]["enabled"]:
        from ..collections import write_off_proposals

        wo = write_off_proposals(ledger, D, collections_policy)
        for r in wo.sort_values("invoice_id").itertuples(index=False):
            add("small_balance", r.invoice_id, r.invoice_id, int(r.open_balance),
                f"small balance: {r.evidence}",
                [_where(ledger_dir, "invoices", {"invoice_id": r.invoice_id})],
                {"days_past_due": int(r.days_past_due), "collections_policy": r.policy})
    out = pd.DataFrame(list(found.values()), columns=PROPOSAL_COLUMNS)
    out = out.sort_values("adjustment_id").reset_index(drop=True)
    out["amount_minor"] = out["amount_minor"].astype("int64")
    out.attrs.update({"policy": policy.label, "as_of": str(D.date()),
                      "skipped": dict(sorted(skipped.items()))})
    return out


class Recorded(list):
    """The adjustment ids recorded (a list), with ``skipped``: id or source record -> why."""

    def __init__(self, ids=(), skipped: dict | None = None):
        super().__init__(ids)
        self.skipped = dict(skipped or {})


def record_proposals(db, proposals: pd.DataFrame, *, actor: str | None = None,
                     ledger: Ledger | None = None) -> Recorded:
    """Append a "proposed" event for each proposal not yet recorded, checked in the write's
    transaction: the same adjustment id is proposed once (a withdrawn one again under
    ``-R<n>``), and the live adjustments on an invoice (proposed, approved, exported and not
    posted) total at most its open balance (the proposal's ``open_balance`` figure).
    ``ledger``: names its content hash and tells which exported adjustments the ERP has
    posted. Returns the ids recorded (:class:`Recorded`), its ``skipped`` naming what was not
    recorded and why (the proposals' own ``attrs["skipped"]`` included)."""
    ledger_hash = ledger.content_hash() if ledger is not None else None
    posted = _posted(ledger) if ledger is not None else set()
    earlier = dict(proposals.attrs.get("skipped") or {})

    def decide(rows):
        states = _states(rows)
        held: dict[str, tuple[int, list[str]]] = {}
        for b, s in states.items():
            if s["status"] in ("proposed", "approved") or (s["status"] == "exported"
                                                           and b not in posted):
                inv = s["proposed"]["invoice_id"]
                n, who = held.get(inv, (0, []))
                held[inv] = (n + int(s["proposed"]["amount_minor"]), who + [b])
        new, ids, skipped = [], [], dict(earlier)
        for p in proposals.sort_values("adjustment_id").to_dict("records"):
            base = p.get("base_id") if isinstance(p.get("base_id"), str) else p["adjustment_id"]
            a, why = _resolve_id(states, base)
            if a is None:
                skipped[p["adjustment_id"]] = why
                continue
            ev = json.loads(p["evidence"])
            inv, cur, amount = p["invoice_id"], p["currency"], int(p["amount_minor"])
            open_text = (ev.get("figures") or {}).get("open_balance")
            n, who = held.get(inv, (0, []))
            if open_text is not None and amount > parse_amount(open_text, cur) - n:
                skipped[a] = (f"{format_money(amount, cur)} is more than is still open on {inv} "
                              f"({open_text} {cur} open, {format_money(n, cur)} held by "
                              f"{', '.join(who)})")
                continue
            held[inv] = (n + amount, who + [a])
            states[a] = {"status": "proposed"}
            new.append({**{k: p[k] for k in _CARRY}, "adjustment_id": a, "amount_minor": amount,
                        "event": "proposed", "evidence": p["evidence"],
                        "note": f"{ev['what']} (policy {p['policy']})",
                        "ledger_hash": ledger_hash,
                        "idempotency_key": f"{a}:proposed"})
            ids.append(a)
        return new, Recorded(ids, dict(sorted(skipped.items())))
    return _append_checked(db, decide, actor)[1]
