"""What an auditor tests: which records are control executions (the sampling population),
each record's business key, customer and amount, the limit its authority carried, and the
business names of the evidence's fields.

A control execution is a record of someone deciding or booking something under a control:
a credit decision, a cash posting or rejection, an adjustment decision (approved, refused,
withdrawn, exported), a dispute resolution, a ledger write-off or credit memo. Proposals,
the other dispute events (opened, assigned, status, note) and activities are records of
work, not of a control: they stay in the CSVs but are not sampled.
"""

from __future__ import annotations

import json

import pandas as pd

from ..money import format_money, parse_amount
from .records import _text


# ------------------------------------------------------------------------------ population
def _adjustment_decision(raw: dict) -> bool:
    return _text(raw.get("event")) in ("approved", "refused", "withdrawn", "exported")


def _dispute_resolution(raw: dict) -> bool:
    return _text(raw.get("event")) == "resolved"


#: kind -> (is this record a control execution?, what the population holds, what it leaves out)
POPULATION = {
    "credit_decisions": (lambda r: True, "every credit decision (approve, approve other, "
                         "decline, hold)", ""),
    "postings": (lambda r: True, "every cash posting and rejection", ""),
    "adjustments": (_adjustment_decision, "adjustment decisions: approved, refused, withdrawn, "
                    "exported", "proposals (never decided: not a control execution)"),
    "dispute_events": (_dispute_resolution, "dispute resolutions",
                       "opened, assigned, status and note events"),
    "activities": (lambda r: False, "", "every activity (collection work, not a control)"),
    "write_offs": (lambda r: True, "every write-off booked in the ledger", ""),
    "credit_memos": (lambda r: True, "every credit memo booked in the ledger", ""),
}


def in_population(kind: str, raw: dict) -> bool:
    """Whether a record is a control execution (in the sampling population)."""
    return bool(POPULATION[kind][0](raw))


# ------------------------------------------------------------------------------ business key
def business_key(kind: str, raw: dict) -> str:
    """The record as an auditor names it: the adjustment, dispute, receipt, invoice or
    credit memo it is about and what happened, never the database's row number alone."""
    t = {k: _text(v) for k, v in raw.items()}
    if kind == "credit_decisions":
        return f"credit decision {t.get('decision')} for customer {t.get('customer_id')}"
    if kind == "postings":
        to = f"invoice {t['invoice_id']}" if t.get("invoice_id") else "no invoice"
        return f"receipt {t.get('receipt_id')} to {to} ({t.get('status')})"
    if kind == "adjustments":
        return f"adjustment {t.get('adjustment_id')} {t.get('event')}"
    if kind == "dispute_events":
        status = f" ({t['status']})" if t.get("status") and t.get("status") != t.get("event") \
            else ""
        return f"dispute {t.get('dispute_id')} {t.get('event')}{status}"
    if kind == "activities":
        return f"{t.get('kind')} with customer {t.get('customer_id')}"
    date = _text(raw.get("date"))[:10]
    if kind == "write_offs":
        minor = raw.get("amount_minor")
        if minor is not None and not pd.isna(minor) and int(minor) < 0:
            # a negative write-off reinstates what was written off (Ledger.reductions)
            return f"recovery (negative write-off) on invoice {t.get('invoice_id')}, {date}"
        return f"write-off of invoice {t.get('invoice_id')} on {date}"
    if kind == "credit_memos":
        on = f" on invoice {t['invoice_id']}" if t.get("invoice_id") else " (on account)"
        return f"credit memo {t.get('credit_memo_id')}{on}, {date}"
    return t.get("record_id", "")


def amount_of(kind: str, ev: dict) -> tuple[str, str]:
    """(amount as decimal text, currency) the control decided: a credit decision's limit,
    else the record's amount."""
    col = "limit" if kind == "credit_decisions" else "amount"
    return _text(ev.get(col)), _text(ev.get("currency"))


def amount_text(kind: str, ev: dict) -> str:
    """The amount for people (``250.00 USD``); a credit decision without a limit says why
    (a decline sets none, a hold keeps the current one)."""
    amount, cur = amount_of(kind, ev)
    if amount:
        return f"{amount} {cur}".strip()
    if kind == "credit_decisions":
        return {"decline": "declined: no limit", "hold": "held: the current limit stays"}.get(
            _text(ev.get("decision")), "no limit recorded")
    return ""


def customer_of(kind: str, raw: dict, ledger) -> tuple[str, str]:
    """(customer id, name from the ledger's customers or '')."""
    cid = _text(raw.get("customer_id"))
    if not cid and ledger is not None:
        inv = _text(raw.get("invoice_id"))
        if inv:
            hit = ledger.invoices.loc[ledger.invoices["invoice_id"] == inv, "customer_id"]
            cid = _text(hit.iloc[0]) if len(hit) else ""
        if not cid and _text(raw.get("receipt_id")) and "customer_id" in ledger.receipts:
            rec = ledger.receipts
            hit = rec.loc[rec["receipt_id"] == raw["receipt_id"], "customer_id"]
            cid = _text(hit.iloc[0]) if len(hit) else ""
    name = ""
    if cid and ledger is not None and "name" in ledger.customers:
        hit = ledger.customers.loc[ledger.customers["customer_id"] == cid, "name"]
        name = _text(hit.iloc[0]) if len(hit) else ""
    return cid, name


# ------------------------------------------------------------------------------ authority limits
class AuthorityLimits:
    """The limit an approval's authority carried, from the policies shipped or configured
    now. Adjustment events do not record the policy version they were approved under, and a
    credit decision records its policy's version: where the version recorded is not the one
    read now (or none is recorded), the text says which policy version the limit is from."""

    def __init__(self, ledger=None):
        self.ledger = ledger
        self._adj = self._credit = None
        self._errors: dict[str, str] = {}

    def _policy(self, which: str):
        if which in self._errors:
            return None
        try:
            if which == "adjustments":
                if self._adj is None:
                    from ..adjustments import load_adjustments_policy
                    self._adj = load_adjustments_policy()
                return self._adj
            if self._credit is None:
                from ..credit import load_credit_policy
                cur = self.ledger.report_currency if self.ledger is not None else "USD"
                self._credit = load_credit_policy(report_currency=cur)
            return self._credit
        except Exception as e:  # noqa: BLE001 - the evidence says why, the rest goes on
            self._errors[which] = f"the {which} policy cannot be read: {e}"
            return None

    def _as_of(self, raw: dict):
        try:
            day = pd.Timestamp(str(raw.get("recorded_at"))[:10])
        except ValueError:
            return None
        if self.ledger is not None:
            day = min(day, self.ledger.last_date)
        return day

    def limit(self, kind: str, raw: dict) -> tuple[str, str]:
        """(the limit of the record's authority, e.g. ``10,000.00 USD`` or ``no limit``; the
        policy it is from and how sure that is). Both empty where no authority applies."""
        if kind == "adjustments":
            return self._adjustment(raw)
        if kind == "credit_decisions":
            return self._credit_decision(raw)
        return "", ""

    def _adjustment(self, raw):
        level = _text(raw.get("authority"))
        if not level or _text(raw.get("event")) != "approved":
            # a refusal or withdrawal spends no approval limit
            return "", ""
        try:                        # the approval records the policy and limit it applied
            rec = json.loads(raw.get("evidence") or "{}")
        except (TypeError, ValueError):
            rec = {}
        if isinstance(rec, dict) and rec.get("policy") and "limit" in rec:
            cur = _text(rec.get("currency") or raw.get("currency"))
            text = "no limit" if rec["limit"] is None else \
                f"up to {format_money(parse_amount(str(rec['limit']), cur), cur)}"
            return text, f"adjustments policy {rec['policy']}, as recorded on the approval"
        policy = self._policy("adjustments")
        if policy is None:
            return "unknown", self._errors["adjustments"]
        basis = (f"adjustments policy {policy.label}, read when this folder was built: the "
                 f"event does not record the policy version it was approved under")
        cur = _text(raw.get("currency"))
        try:
            minor = policy.limit_minor(level, cur, self.ledger, self._as_of(raw))
        except Exception as e:  # noqa: BLE001
            return "unknown", f"{basis}; the limit cannot be computed: {e}"
        return ("no limit" if minor is None else f"up to {format_money(minor, cur)}"), basis

    def _credit_decision(self, raw):
        level = _text(raw.get("approver_level"))
        if not level:
            return "", ""
        policy = self._policy("credit")
        if policy is None:
            return "unknown", self._errors["credit"]
        recorded = _text(raw.get("policy_version"))
        if recorded == policy.label:
            basis = f"credit policy {policy.label}, as recorded on the decision"
        else:
            basis = (f"credit policy {policy.label} (read when this folder was built); the "
                     f"decision recorded policy {recorded or 'none'}, whose limits may differ")
        levels = dict(policy.levels)
        if level not in levels:
            return "unknown", (f"{basis}; {level!r} is not one of its approval levels "
                               f"({', '.join(levels)})")
        up_to, cur = levels[level], policy.report_currency
        if up_to is None:
            return "no limit", basis
        try:
            minor = up_to.minor(cur, self.ledger, self._as_of(raw))
        except Exception as e:  # noqa: BLE001
            return "unknown", f"{basis}; the limit cannot be computed: {e}"
        return f"up to {format_money(minor, cur)}, report currency", basis


# ------------------------------------------------------------------------------ annotation
def annotate(kinds: dict, ledger, limits: AuthorityLimits | None = None) -> None:
    """Add to each kind's evidence frame (in place) the columns ``business_key``,
    ``customer_name``, ``authority_limit``, ``authority_limit_policy`` and
    ``control_population`` (``yes``, or ``no: why``)."""
    limits = limits or AuthorityLimits(ledger)
    for kind, (df, raw) in kinds.items():
        keys, names, lims, bases, pop = [], [], [], [], []
        out_why = POPULATION[kind][2]
        for r in raw:
            keys.append(business_key(kind, r))
            names.append(customer_of(kind, r, ledger)[1])
            lim, basis = limits.limit(kind, r)
            lims.append(lim)
            bases.append(basis)
            pop.append("yes" if in_population(kind, r) else f"no: {out_why}")
        df["business_key"] = keys
        df["customer_name"] = names
        df["authority_limit"] = lims
        df["authority_limit_policy"] = bases
        df["control_population"] = pop


# ------------------------------------------------------------------------------ names
FIELD_LABELS = {
    "record_id": "Record number (state database)", "who": "Who", "when_utc": "When (UTC)",
    "why": "Why", "authority": "Authority", "correction": "Correction",
    "audit_problem": "Audit-chain problem", "ledger_row": "Row in the ledger's table",
    "business_key": "Business key", "customer_id": "Customer", "customer_name": "Customer name",
    "authority_limit": "Limit of the authority", "authority_limit_policy": "Limit per",
    "control_population": "In the sampling population", "open_after": "Open balance after",
    "recorded_at_utc": "Recorded at (UTC)", "recorded_by": "Recorded by",
    "happened_at_utc": "Happened at (UTC)", "corrects_record_id": "Corrects record number",
    "correction_reason": "Correction reason", "authority_level": "Authority level",
    "match_rule": "Matching rule", "ledger_hash": "Ledger content hash",
    "policy_version": "Policy version", "recommended_limit": "Recommended limit",
    "limit": "Limit", "amount": "Amount", "currency": "Currency", "invoice_id": "Invoice",
    "receipt_id": "Receipt", "adjustment_id": "Adjustment", "dispute_id": "Dispute",
    "credit_memo_id": "Credit memo", "reason_code": "Reason code", "export_batch":
    "Export batch", "owner_name": "Owner's name", "due_date": "Due date",
    "invoice_date": "Invoice date", "receipt_date": "Receipt date", "applied_date":
    "Applied on", "payer_name": "Payer's name", "po_number": "PO number", "approved_by":
    "Approved by", "approver": "Approver", "promise_amount": "Promised amount",
    "promise_date": "Promised date", "payment_terms_days": "Payment terms (days)",
    "value_date": "Value date", "bank_account": "Bank account", "evidence": "Evidence",
}


def field_label(col: str) -> str:
    """A field's business name (``when_utc`` -> ``When (UTC)``)."""
    if col in FIELD_LABELS:
        return FIELD_LABELS[col]
    text = str(col).replace("_", " ")
    if text.endswith(" utc"):
        text = text[:-4] + " (UTC)"
    return text[:1].upper() + text[1:]
