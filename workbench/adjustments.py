"""Account adjustments and credit memos: proposed from their sources, approved by authority,
exported to the ERP (which stays the book of record).

An adjustment lives in the state database's append-only ``adjustments`` table as a chain of
events sharing its ``adjustment_id``: ``proposed`` -> ``approved`` | ``refused`` |
``withdrawn``; ``approved`` -> ``exported``. The latest event is its status.

Sources (each proposal carries its evidence, JSON: what, where, the figures):

* ``dispute`` -- a ``disputes`` row closed by ``as_of`` with ``resolution: credit_memo``
  (resolved in the customer's favour): a credit memo of the disputed amount, less credit
  memos already booked on the invoice since the dispute opened, at most the open balance.
* ``short_pay`` -- an invoice with cash applied and a remainder within the policy's
  tolerance (amount and percentage of the invoice); or a cash-application deduction
  (``CashAppRun.deductions``) passed in.
* ``small_balance`` -- :func:`workbench.collections.write_off_proposals` (the collections
  policy's ``small_balance_write_off``), reused as it is.
* ``pricing_error`` -- **convention**: an activity of kind ``note`` on an invoice whose note
  starts with the policy's marker (default ``PRICING ERROR``) and the amount to credit in the
  invoice's currency: ``PRICING ERROR 120.00: billed 13.20/unit, contract 12.00``.

One invoice gets one proposal per run (first of dispute, pricing_error, short_pay,
small_balance); the id is deterministic, ``ADJ-<SOURCE>-<invoice_id>``, so the same proposal
is recorded once however often it is proposed.

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
                    "amount_minor", "amount", "reason_code", "evidence", "policy"]


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

def _adjustment_id(source: str, invoice_id: str) -> str:
    return f"ADJ-{source.upper().replace('_', '')}-{invoice_id}"


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
                        ledger_dir: str | Path | None = None) -> pd.DataFrame:
    """Adjustments the sources call for on ``as_of`` (nothing recorded here).

    Parameters
    ----------
    ledger, as_of : the ledger and the date (only what is dated by then counts).
    policy : the adjustments policy (default: shipped).
    db : StateDB, optional
        When given, invoices with an adjustment already proposed from another source and not
        refused or withdrawn are left out (one adjustment per invoice at a time).
    collections_policy : the small-balance thresholds (default: shipped collections policy).
    deductions : ``CashAppRun.deductions`` (receipt_id, invoice_id, amount_minor, currency),
        short pays proposed by cash application.
    ledger_dir : the ledger folder, named in the evidence (and used by ``approve`` later).

    Returns
    -------
    DataFrame of ``PROPOSAL_COLUMNS``, sorted by adjustment id; ``amount_minor`` exact.
    """
    policy = policy or load_adjustments_policy()
    D = ledger.require_data_by(as_of)
    bal = ledger.balances(D).set_index("invoice_id")
    src = policy.sources
    found: dict[str, dict] = {}      # invoice -> proposal (the first source wins)

    def add(source, invoice_id, amount, what, where, figures):
        if invoice_id in found or invoice_id not in bal.index:
            return
        b = bal.loc[invoice_id]
        amount = min(int(amount), int(b["open_minor"]))
        if amount <= 0:
            return
        cur = b["currency"]
        figures = {**figures, "open_balance": format_amount(int(b["open_minor"]), cur),
                   "amount": format_amount(amount, cur), "currency": cur}
        found[invoice_id] = {
            "adjustment_id": _adjustment_id(source, invoice_id), "kind": src[source]["kind"],
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

    if src["dispute"]["enabled"] and len(ledger.disputes) and "resolution" in ledger.disputes:
        d = ledger.disputes
        won = d[(d["resolution"] == "credit_memo") & (d["closed_date"] <= D)]
        for r in won.sort_values(["closed_date", "dispute_id"]).itertuples(index=False):
            booked, cur = credited(r.invoice_id, r.opened_date), r.currency
            add("dispute", r.invoice_id, int(r.amount_minor) - booked,
                f"dispute {r.dispute_id} ({r.reason_code}) closed {r.closed_date.date()} "
                f"with resolution credit_memo: the customer was right",
                [_where(ledger_dir, "disputes", {"dispute_id": r.dispute_id})],
                {"disputed": format_amount(int(r.amount_minor), cur),
                 "credited_since_opened": format_amount(booked, cur)})
    acts = ledger.activities
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
            try:
                amount = parse_amount(text, cur)
            except MoneyError as e:
                raise AdjustmentError(f"activities.csv: activity {r.activity_id}: pricing error "
                                      f"amount {text!r} is not an amount in {cur}: {e}") from None
            booked = credited(r.invoice_id, ts[acts["activity_id"] == r.activity_id].iloc[0]
                              .normalize())
            add("pricing_error", r.invoice_id, amount - booked,
                f"pricing error noted by {r.collector} on {r.timestamp}: {r.note}",
                [_where(ledger_dir, "activities", {"activity_id": r.activity_id})],
                {"noted": format_amount(amount, cur),
                 "credited_since_noted": format_amount(booked, cur)})
    sp = src["short_pay"]
    if sp["enabled"]:
        ded = deductions if deductions is not None else pd.DataFrame(columns=["invoice_id"])
        for r in ded.sort_values(["invoice_id"]).itertuples(index=False):
            cur = r.currency
            if int(r.amount_minor) <= sp["tolerance"].minor(cur, ledger, D):
                add("short_pay", r.invoice_id, int(r.amount_minor),
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
            apps = ledger.applications
            last = apps[(apps["invoice_id"] == inv) & (apps["applied_date"] <= D)]
            last = last.sort_values(["applied_date", "receipt_id"]).iloc[-1]
            add("short_pay", inv, rest,
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
            add("small_balance", r.invoice_id, int(r.open_balance),
                f"small balance: {r.evidence}",
                [_where(ledger_dir, "invoices", {"invoice_id": r.invoice_id})],
                {"days_past_due": int(r.days_past_due), "collections_policy": r.policy})
    out = pd.DataFrame(list(found.values()), columns=PROPOSAL_COLUMNS)
    if db is not None and len(out):
        busy = _busy_invoices(_states(db.rows("adjustments")), _posted(ledger))
        out = out[[busy.get(i) in (None, a) for i, a in zip(out["invoice_id"], out["adjustment_id"])]]
    out = out.sort_values("adjustment_id").reset_index(drop=True)
    out["amount_minor"] = out["amount_minor"].astype("int64")
    out.attrs.update({"policy": policy.label, "as_of": str(D.date())})
    return out


# =========================================================================== state

def _states(rows: list[dict]) -> dict[str, dict]:
    """adjustment_id -> {"status", "proposed" (row), "last" (row), "events"} (rows oldest first)."""
    out: dict[str, dict] = {}
    for r in rows:
        s = out.setdefault(r["adjustment_id"], {"events": []})
        s["events"].append(r)
        s["last"] = r
        s["status"] = r["event"]
        if r["event"] == "proposed":
            s["proposed"] = r
    return out


def _busy_invoices(states: dict, posted: set | None = None) -> dict:
    """invoice_id -> the adjustment id holding it (proposed, approved, or exported and not
    known to be posted by the ERP)."""
    return {s["last"]["invoice_id"]: a for a, s in states.items()
            if s["status"] in ("proposed", "approved")
            or s["status"] == "exported" and a not in (posted or set())}


_CARRY = ("adjustment_id", "kind", "customer_id", "invoice_id", "amount_minor", "currency",
          "source", "reason_code")


def record_proposals(db, proposals: pd.DataFrame, *, actor: str | None = None,
                     ledger: Ledger | None = None) -> list[str]:
    """Append a "proposed" event for each proposal not yet recorded (checked in the write's
    transaction: the same adjustment id is proposed once, and an invoice holds one live
    adjustment at a time). ``ledger``: names its content hash and tells which exported
    adjustments the ERP has posted. Returns the ids recorded."""
    ledger_hash = ledger.content_hash() if ledger is not None else None
    posted = _posted(ledger) if ledger is not None else set()

    def decide(rows):
        states = _states(rows)
        busy = _busy_invoices(states, posted)
        new, ids = [], []
        for p in proposals.sort_values("adjustment_id").to_dict("records"):
            a = p["adjustment_id"]
            if a in states or p["invoice_id"] in busy:
                continue
            busy[p["invoice_id"]] = a
            new.append({**{k: p[k] for k in _CARRY}, "amount_minor": int(p["amount_minor"]),
                        "event": "proposed", "evidence": p["evidence"],
                        "note": f"{json.loads(p['evidence'])['what']} (policy {p['policy']})",
                        "ledger_hash": ledger_hash,
                        "idempotency_key": f"{a}:proposed"})
            ids.append(a)
        return new, ids
    return db.append_checked("adjustments", decide, actor=actor)[1]


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
                  note: str | None, check=None, ledger_hash=None) -> int:
    def decide(rows):
        states = _states(rows)
        s = states.get(adjustment_id)
        if s is None:
            raise AdjustmentError(f"no adjustment {adjustment_id!r} was proposed")
        if s["status"] != "proposed":
            last = s["last"]
            raise AdjustmentError(f"{adjustment_id} is {last['event']} (by {last['recorded_by']} "
                                  f"at {last['recorded_at']}): only a proposed adjustment can be "
                                  f"{event}")
        if check is not None:
            check(states, s["proposed"])
        row = {**{k: s["proposed"][k] for k in _CARRY}, "event": event, "note": note,
               "authority": authority, "ledger_hash": ledger_hash,
               "idempotency_key": f"{adjustment_id}:{event}"}
        return [row], None
    return db.append_checked("adjustments", decide, actor=user)[0][0]


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


def withdraw(db, adjustment_id: str, user: str, note: str) -> int:
    """Withdraw a proposed adjustment (the source changed); returns the event's id."""
    if not note or not str(note).strip():
        raise AdjustmentError("withdrawing an adjustment needs a note saying why")
    return _decide_event(db, adjustment_id, "withdrawn", user, None, note)


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
    written to a temporary folder and renamed into place, and the "exported" events appended,
    inside the one transaction that reads which adjustments were exported: two exports at
    once export each adjustment once. An adjustment no longer open on the ledger is skipped
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
        replace_dir(tmp, out_dir / batch)
        made.append(out_dir / batch)
        new = [{**{k: states[a]["proposed"][k] for k in _CARRY}, "event": "exported",
                "export_batch": batch, "ledger_hash": ledger_hash,
                "note": f"exported to {out_dir / batch}", "idempotency_key": f"{a}:exported"}
               for a in todo]
        return new, ExportResult(batch, out_dir / batch, todo,
                                 {n: len(b) for n, (_, b) in files.items()}, skipped)
    try:
        return db.append_checked("adjustments", decide, actor=actor)[1]
    except BaseException:
        import shutil
        for d in made:          # the events were not recorded: take the files back
            shutil.rmtree(d, ignore_errors=True)
        raise
