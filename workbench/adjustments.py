"""Account adjustments and credit memos: proposed from their sources, approved by authority,
exported to the ERP (which stays the book of record).

An adjustment lives in the state database's append-only ``adjustments`` table as a chain of
events sharing its ``adjustment_id``: ``proposed`` -> ``approved`` | ``refused`` |
``withdrawn``; ``approved`` -> ``exported`` | ``withdrawn``. The latest event is its status;
a correction (``StateDB.correct``, a row whose ``supersedes`` names another) replaces the row
it corrects in place, it is not a new event.

Sources (each proposal carries its evidence, JSON: what, where, the figures):

* ``dispute`` -- a dispute closed by ``as_of`` with resolution ``credit_memo`` (in the
  customer's favour): a ``disputes`` row of the ledger, or a dispute resolved in the workbench
  (a ``dispute_events`` "resolved" row recorded by the end of ``as_of``, read through
  :func:`workbench.disputes.dispute_states`): a credit memo of the disputed amount, less credit
  memos already booked on the invoice since the dispute opened, at most the open balance.
* ``short_pay`` -- an invoice past due, with no open dispute, cash applied and a remainder
  within the policy's tolerance (amount and percentage of the invoice); or a cash-application deduction
  (``CashAppRun.deductions``) passed in.
* ``small_balance`` -- :func:`workbench.collections.write_off_proposals` (the collections
  policy's ``small_balance_write_off``), reused as it is.
* ``pricing_error`` -- **convention**: an activity of kind ``note`` on an invoice whose note
  starts with the policy's marker (default ``PRICING ERROR``) and the amount to credit in the
  invoice's currency: ``PRICING ERROR 120.00: billed 13.20/unit, contract 12.00``.

The id comes from the source record, deterministic: ``ADJ-DISPUTE-<dispute_id>``,
``ADJ-PRICINGERROR-<activity_id>``, ``ADJ-SHORTPAY-<invoice_id>``,
``ADJ-SMALLBALANCE-<invoice_id>``; the same proposal is recorded once however often it is
proposed. A withdrawn adjustment may be proposed again: the re-proposal's id takes the suffix
``-R<n>``, ``n`` the number of earlier withdrawn ones from that source record. Several
adjustments may be live on one invoice, their total at most its open balance; sources are
taken in the order dispute, pricing_error, short_pay, small_balance, and whatever is left
out is reported (``attrs["skipped"]`` of the proposals; :func:`record_proposals`'s
``skipped``) with why.

Export writes ``credit_memos.csv`` and ``write_offs.csv`` in the ledger loader's own columns
(a credit memo's id is the adjustment id; a write-off's reason ends with ``(<adjustment id>)``
so a posted row is recognised), plus a NetSuite-style CSV through a column map. The
"exported" events are appended in the transaction that checks none was exported before.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .ledger import Ledger, to_date
from .money import MoneyError, format_amount, format_money, parse_amount
from .policy import (
    Amounts,
    Flag,
    Items,
    Money,
    Percent,
    PolicyError,
    PolicySpec,
    Section,
    Text,
)

__all__ = [
    "EVENTS",
    "KINDS",
    "LEDGER_COLUMNS",
    "SOURCES",
    "AdjustmentError",
    "AdjustmentsPolicy",
    "ExportResult",
    "Recorded",
    "adjustment_status",
    "approve",
    "export_adjustments",
    "load_adjustments_policy",
    "load_export_map",
    "propose_adjustments",
    "record_proposals",
    "refuse",
    "withdraw",
]

KINDS = ("credit_memo", "write_off")
SOURCES = ("dispute", "pricing_error", "short_pay", "small_balance")   # priority order
EVENTS = ("proposed", "approved", "refused", "exported", "withdrawn")
LEVELS = ("analyst", "manager", "director", "cfo")
#: The ERP import files: the ledger loader's columns for each table, in this order.
LEDGER_COLUMNS = {
    "credit_memos": ["credit_memo_id", "customer_id", "date", "amount", "currency", "invoice_id",
                     "reason"],
    "write_offs": ["invoice_id", "date", "amount", "reason", "currency", "approved_by"],
}
DEFAULT_MAP = Path(__file__).parent / "io" / "maps" / "netsuite_adjustments.yaml"
PROPOSAL_COLUMNS = ["adjustment_id", "kind", "source", "customer_id", "invoice_id", "currency",
                    "amount_minor", "amount", "reason_code", "evidence", "policy", "base_id"]
#: thousands separators in valid positions only: 1,200.00 / 12,345,678 (not 1,20.00)
_GROUPED = re.compile(r"^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$")


class AdjustmentError(ValueError):
    """An adjustment request refused (unknown, wrong state, above authority, not open)."""


# =========================================================================== policy

@dataclass(frozen=True)
class AdjustmentsPolicy:
    name: str
    version: str
    levels: tuple[tuple[str, Amounts | None], ...]
    sources: dict
    source: str = ""
    self_approval: bool = False      # may the proposer approve? (segregation of duties: no)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def limit_minor(self, level: str, currency: str, ledger=None, as_of=None) -> int | None:
        """The most ``level`` may approve in ``currency`` (minor units); None: no limit."""
        names = [n for n, _ in self.levels]
        if level not in names:
            raise AdjustmentError(f"unknown authority {level!r}: the policy {self.label} has "
                                  f"levels {', '.join(names)}")
        up_to = dict(self.levels)[level]
        return None if up_to is None else up_to.minor(currency, ledger, as_of)

    def level_for(self, amount_minor: int, currency: str, ledger=None, as_of=None) -> str:
        """The least level that may approve this amount."""
        for name, up_to in self.levels:
            if up_to is None or amount_minor <= up_to.minor(currency, ledger, as_of):
                return name
        return self.levels[-1][0]


def _source_spec(extra=None):
    return Section(fields={"enabled": Flag(required=False, default=True),
                           "kind": Text(choices=KINDS), "reason_code": Text(), **(extra or {})})


ADJUSTMENTS_SPEC = PolicySpec("adjustments", {
    "self_approval": Flag(required=False, default=False),
    "approval_levels": Items(item=Section(fields={
        "level": Text(choices=LEVELS), "up_to": Money(minimum=0, required=False)}),
        min_items=1, name_keys=("level",)),
    "sources": Section(fields={
        "dispute": _source_spec(),
        "short_pay": _source_spec({"tolerance": Money(minimum=0),
                                   "tolerance_pct": Percent(required=False, default=None)}),
        "small_balance": _source_spec(),
        "pricing_error": _source_spec({"marker": Text(required=False, default="PRICING ERROR")}),
    }),
}, conversion="fx_rates")


def load_adjustments_policy(path: str | Path = "adjustments") -> AdjustmentsPolicy:
    """Read and check an adjustments policy YAML (default: the shipped one); every problem
    is collected and reported together in one :class:`PolicyError`, each naming file and key."""
    doc = ADJUSTMENTS_SPEC.read(path)
    levels = doc.check_tiers("approval_levels", "level", "level")
    names = [n for n, _ in levels]
    if len(set(names)) != len(names):
        doc.add("approval_levels", f"a level appears twice: {names}")
    order = [n for n in LEVELS if n in names]
    if names != order:
        doc.add("approval_levels", f"levels must go from least to most authority "
                                   f"({', '.join(LEVELS)}); got {', '.join(names)}")
    sources = doc.get("sources") or {}
    doc.check()
    return AdjustmentsPolicy(doc.name, doc.version, tuple(levels), dict(sources), str(doc.source),
                             bool(doc.get("self_approval") or False))


# =========================================================================== proposals

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
                        dispute_events=None) -> pd.DataFrame:
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
        if base in found or invoice_id not in bal.index:
            return
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

    from .disputes import dispute_states

    events = dispute_events if dispute_events is not None else db
    dstates = dispute_states(ledger, D, events=events) \
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
        notes = acts[(acts["kind"] == "note") & acts["note"].notna() & acts["invoice_id"].notna()
                     & (ts.dt.normalize() <= D)]
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
        from .collections import write_off_proposals

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


# =========================================================================== state

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


class Recorded(list):
    """The adjustment ids recorded (a list), with ``skipped``: id or source record -> why."""

    def __init__(self, ids=(), skipped: dict | None = None):
        super().__init__(ids)
        self.skipped = dict(skipped or {})


def _append_checked(db, decide, actor):
    """``db.append_checked`` on the adjustments table; a refusal by the state database
    (an idempotency key used before, ...) comes out as an :class:`AdjustmentError`."""
    try:
        return db.append_checked("adjustments", decide, actor=actor)
    except AdjustmentError:
        raise
    except ValueError as e:
        raise AdjustmentError(f"the state database refused the change: {e}") from None


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


def adjustment_status(db, status: str | None = None) -> pd.DataFrame:
    """One row per adjustment with its status (latest event), who did it and when."""
    cols = ["adjustment_id", "status", "kind", "source", "customer_id", "invoice_id", "currency",
            "amount", "reason_code", "proposed_at", "last_by", "last_at", "authority",
            "export_batch", "note"]
    rows = []
    for a, s in sorted(_states(db.rows("adjustments")).items()):
        last, first = s["last"], s.get("proposed", s["last"])
        if status and s["status"] != status:
            continue
        rows.append({"adjustment_id": a, "status": s["status"], "kind": first["kind"],
                     "source": first["source"], "customer_id": first["customer_id"],
                     "invoice_id": first["invoice_id"], "currency": first["currency"],
                     "amount": format_amount(first["amount_minor"], first["currency"]),
                     "reason_code": first["reason_code"], "proposed_at": first["recorded_at"],
                     "last_by": last["recorded_by"], "last_at": last["recorded_at"],
                     "authority": last["authority"], "export_batch": last["export_batch"],
                     "note": last["note"]})
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


def _decide_event(db, adjustment_id: str, event: str, user: str, authority: str | None,
                  note: str | None, check=None, ledger_hash=None,
                  allowed: tuple[str, ...] = ("proposed",)) -> int:
    def decide(rows):
        states = _states(rows)
        s = states.get(adjustment_id)
        if s is None:
            raise AdjustmentError(f"no adjustment {adjustment_id!r} was proposed")
        if s["status"] not in allowed:
            last = s["last"]
            raise AdjustmentError(f"{adjustment_id} is {last['event']} (by {last['recorded_by']} "
                                  f"at {last['recorded_at']}): only a "
                                  f"{' or '.join(allowed)} adjustment can be {event}")
        if check is not None:
            check(states, s["proposed"])
        row = {**{k: s["proposed"][k] for k in _CARRY}, "event": event, "note": note,
               "authority": authority, "ledger_hash": ledger_hash,
               "idempotency_key": f"{adjustment_id}:{event}"}
        return [row], None
    return _append_checked(db, decide, user)[0][0]


def approve(db, adjustment_id: str, user: str, authority: str, ledger: Ledger,
            note: str | None = None, *, policy: AdjustmentsPolicy | None = None,
            as_of=None) -> int:
    """Approve a proposed adjustment as ``user`` with ``authority`` (from the roles file via
    :func:`workbench.serve.current_user` or :func:`workbench.cli.command_line_authority`,
    never a typed field). Refused (:class:`AdjustmentError`, nothing recorded) when the amount
    is above the authority's limit, the adjustment is not proposed (unknown, already approved,
    refused, exported), or the amount is no longer open on the invoice. Returns the event's id.

    ``as_of`` (default: the ledger's last date) dates the open-balance check and any
    currency conversion of the limits.
    """
    policy = policy or load_adjustments_policy()
    D = to_date(as_of) if as_of is not None else ledger.last_date
    book, ledger_hash = _Book.of(ledger, D), ledger.content_hash()

    def check(states, p):
        if p["recorded_by"] == user and not policy.self_approval:
            raise AdjustmentError(
                f"{adjustment_id} was proposed by {user}: someone else approves it (segregation "
                f"of duties; policy {policy.label}, self_approval: false)")
        cur, amount = p["currency"], int(p["amount_minor"])
        try:
            limit = policy.limit_minor(authority, cur, ledger, D)
            needed = policy.level_for(amount, cur, ledger, D)
        except PolicyError as e:
            raise AdjustmentError(str(e)) from None
        if limit is not None and amount > limit:
            raise AdjustmentError(
                f"{adjustment_id}: {format_money(amount, cur)} is above the {authority} limit of "
                f"{format_money(limit, cur)} (policy {policy.label}, approval_levels); it needs "
                f"{needed} authority")
        why = _open_check(book, states, adjustment_id)
        if why:
            raise AdjustmentError(why)
    return _decide_event(db, adjustment_id, "approved", user, authority, note, check, ledger_hash)


def refuse(db, adjustment_id: str, user: str, authority: str, note: str) -> int:
    """Refuse a proposed adjustment (a reason is required); returns the event's id."""
    if not note or not str(note).strip():
        raise AdjustmentError("refusing an adjustment needs a note saying why")
    if authority not in LEVELS:
        raise AdjustmentError(f"unknown authority {authority!r}; one of {', '.join(LEVELS)}")
    return _decide_event(db, adjustment_id, "refused", user, authority, note)


def withdraw(db, adjustment_id: str, user: str, note: str, authority: str | None = None) -> int:
    """Withdraw a proposed or approved (not exported) adjustment (the source changed, the
    approval is stale); returns the event's id. The source may then propose it again."""
    if not note or not str(note).strip():
        raise AdjustmentError("withdrawing an adjustment needs a note saying why")
    return _decide_event(db, adjustment_id, "withdrawn", user, authority, note,
                         allowed=("proposed", "approved"))


# =========================================================================== export

@dataclass
class ExportMap:
    name: str
    version: str
    file: str
    columns: list[tuple[str, str]]            # (our field, their column), in order
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)


#: Our fields a column map may name.
EXPORT_FIELDS = ("adjustment_id", "kind", "record_type", "item", "customer_id", "invoice_id",
                 "date", "amount", "currency", "reason_code", "source", "note", "approved_by",
                 "authority", "export_batch")


def load_export_map(path: str | Path | None = None) -> ExportMap:
    """Read a column map (our field -> their column name); every problem reported together."""
    path = Path(path) if path else DEFAULT_MAP
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise AdjustmentError(f"column map {path} does not exist") from None
    except yaml.YAMLError as e:
        raise AdjustmentError(f"{path}: not valid YAML: {e}") from None
    problems = []
    if not isinstance(doc, dict):
        raise AdjustmentError(f"{path}: a column map must be a mapping")
    for k in ("name", "version", "file", "columns"):
        if doc.get(k) in (None, ""):
            problems.append(f"{path}: {k}: missing (required)")
    cols = doc.get("columns") or {}
    if not isinstance(cols, dict):
        problems.append(f"{path}: columns: expected a mapping of our field to their column")
        cols = {}
    for ours, theirs in cols.items():
        if ours not in EXPORT_FIELDS:
            problems.append(f"{path}: columns.{ours}: unknown field (known: "
                            f"{', '.join(EXPORT_FIELDS)})")
        if not isinstance(theirs, str) or not theirs.strip():
            problems.append(f"{path}: columns.{ours}: expected a column name, got {theirs!r}")
    kinds = doc.get("kinds") or {}
    for k, v in (kinds.items() if isinstance(kinds, dict) else [("", None)]):
        if k not in KINDS or not isinstance(v, dict):
            problems.append(f"{path}: kinds.{k}: expected one of {', '.join(KINDS)} mapping "
                            f"record_type/item to text")
    file = str(doc.get("file") or "")
    if file and (Path(file).name != file or not file.endswith(".csv")):
        problems.append(f"{path}: file: expected a plain .csv file name, got {file!r}")
    if problems:
        raise AdjustmentError("\n".join(problems))
    return ExportMap(str(doc["name"]), str(doc["version"]), file, list(cols.items()),
                     {k: {kk: str(vv) for kk, vv in v.items()} for k, v in kinds.items()})


@dataclass
class ExportResult:
    batch_id: str | None
    folder: Path | None
    adjustment_ids: list[str]
    files: dict[str, int]                     # file name -> data rows
    skipped: dict[str, str]                   # adjustment id -> why it was not exported


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def export_adjustments(db, ledger: Ledger, out_dir: str | Path, *, column_map=None,
                       date=None, actor: str | None = None) -> ExportResult:
    """Export every approved, not yet exported adjustment to ``out_dir/<batch id>/``.

    Files: ``credit_memos.csv`` and ``write_offs.csv`` (the ledger loader's columns, money as
    decimal text in the currency's decimals) and the column map's NetSuite-style CSV. The
    batch id is ``EXP-<date>-<hash of the adjustment ids>`` (deterministic). The files are
    written to a temporary folder and the "exported" events appended inside the one
    transaction that reads which adjustments were exported (two exports at once export each
    adjustment once); the folder gets the batch's name only after that transaction commits. An adjustment no longer open on the ledger is skipped
    (reported, nothing recorded). Nothing approved: no folder, ``batch_id`` None.
    """
    from .io.writer import make_temp_dir, replace_dir

    emap = column_map if isinstance(column_map, ExportMap) else load_export_map(column_map)
    day = to_date(date).date() if date is not None else dt.datetime.now(dt.UTC).date()
    book, ledger_hash = _Book.of(ledger, ledger.last_date), ledger.content_hash()
    out_dir = Path(out_dir)
    made: list[Path] = []

    def decide(rows):
        states = _states(rows)
        todo, skipped = [], {}
        for a in sorted(a for a, s in states.items() if s["status"] == "approved"):
            why = _open_check(book, states, a)     # others approved count as pending
            if why:
                skipped[a] = why
                continue
            todo.append(a)
        if not todo:
            return [], ExportResult(None, None, [], {}, skipped)
        batch = f"EXP-{day.isoformat()}-" + hashlib.sha256(
            "\n".join(todo).encode()).hexdigest()[:10]
        cm, wo, ns = [], [], []
        for a in todo:
            p, ap = states[a]["proposed"], states[a]["last"]
            cur, amt = p["currency"], format_amount(int(p["amount_minor"]), p["currency"])
            if p["kind"] == "credit_memo":
                cm.append([a, p["customer_id"], day.isoformat(), amt, cur, p["invoice_id"] or "",
                           p["reason_code"]])
            else:
                wo.append([p["invoice_id"], day.isoformat(), amt, f"{p['reason_code']} ({a})", cur,
                           ap["recorded_by"]])
            values = {"adjustment_id": a, "kind": p["kind"], "customer_id": p["customer_id"],
                      "invoice_id": p["invoice_id"] or "", "date": day.isoformat(), "amount": amt,
                      "currency": cur, "reason_code": p["reason_code"], "source": p["source"],
                      "note": ap["note"] or "", "approved_by": ap["recorded_by"],
                      "authority": ap["authority"], "export_batch": batch,
                      **emap.kinds.get(p["kind"], {})}
            ns.append([values.get(ours, "") for ours, _ in emap.columns])
        tmp = make_temp_dir(out_dir / batch)
        files = {"credit_memos.csv": (LEDGER_COLUMNS["credit_memos"], cm),
                 "write_offs.csv": (LEDGER_COLUMNS["write_offs"], wo),
                 emap.file: ([theirs for _, theirs in emap.columns], ns)}
        for name, (header, body) in files.items():
            (tmp / name).write_text(_csv_text(header, body), encoding="utf-8")
        manifest = {"batch_id": batch, "date": day.isoformat(), "adjustments": todo,
                    "column_map": f"{emap.name} {emap.version}",
                    "files": {n: len(b) for n, (_, b) in files.items()}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                           encoding="utf-8")
        made.append(tmp)                # renamed into place once the events are committed
        new = [{**{k: states[a]["proposed"][k] for k in _CARRY}, "event": "exported",
                "export_batch": batch, "ledger_hash": ledger_hash,
                "note": f"exported to {out_dir / batch}", "idempotency_key": f"{a}:exported"}
               for a in todo]
        return new, ExportResult(batch, out_dir / batch, todo,
                                 {n: len(b) for n, (_, b) in files.items()}, skipped)
    import shutil
    try:
        result = _append_checked(db, decide, actor)[1]
    except BaseException:
        for d in made:          # the events were not recorded: take the files back
            shutil.rmtree(d, ignore_errors=True)
        raise
    # the "exported" events are committed: only now do the files appear under the batch's
    # name, so a crash can leave a batch recorded with its folder missing (the temporary one
    # holds the files), never files the ERP could import whose export was not recorded
    keep = made[-1] if result.batch_id is not None and made else None
    for d in made:              # a retried transaction's earlier attempts
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)
    if keep is not None:
        replace_dir(keep, result.folder)
    return result
