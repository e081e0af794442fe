"""The period's records as evidence rows: the state database's records by ``recorded_at``
(corrections included and linked) and the ledger's write-offs and credit memos by date, each
with the uniform columns ``record_id, who, when_utc, why, authority`` first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..money import format_amount
from ..periods import Period


class EvidenceError(ValueError):
    """The evidence folder cannot be built (bad period, missing database, ...)."""


@dataclass(frozen=True)
class StateKind:
    """How one state table reads as evidence: which columns say who, why and authority."""
    kind: str            # the CSV's name (and the sample's kind)
    table: str           # the state table
    label: str           # for people
    who: str
    why: tuple[str, ...]  # the first non-empty of these columns
    authority: str | None


STATE_KINDS = (
    StateKind("credit_decisions", "credit_decisions", "credit decision", "approver",
              ("reason", "correction_reason"), "approver_level"),
    StateKind("postings", "cash_matches", "cash posting", "approved_by",
              ("correction_reason", "rule"), None),
    StateKind("adjustments", "adjustments", "adjustment event", "recorded_by",
              ("note", "reason_code", "correction_reason"), "authority"),
    StateKind("dispute_events", "dispute_events", "dispute event", "recorded_by",
              ("note", "status", "correction_reason"), None),
    # who recorded the activity (the signed-in user or the OS login), not the typed-in
    # collector, which stays its own column
    StateKind("activities", "activities", "activity", "recorded_by",
              ("note", "correction_reason"), None),
)
LEDGER_KINDS = {"write_offs": "write-off (ledger)", "credit_memos": "credit memo (ledger)"}
KIND_ORDER = tuple([k.kind for k in STATE_KINDS] + list(LEDGER_KINDS))
_LABELS = {**{k.kind: k.label for k in STATE_KINDS}, **LEDGER_KINDS}
# business names for the state tables' technical column names
_RENAME = {"supersedes": "corrects_record_id", "approver_level": "authority_level",
           "rule": "match_rule", "at": "happened_at_utc", "recorded_at": "recorded_at_utc"}
_DROP = {"id", "idempotency_key"}
_TIME_COLUMNS = {"recorded_at", "at"}
NOT_IN_LEDGER = "not recorded in the ledger (ERP)"
_FIRST = ["record_id", "who", "when_utc", "why", "authority", "correction", "audit_problem"]


# ------------------------------------------------------------------------------ helpers
def utc_iso(value) -> str:
    """An ISO 8601 timestamp (any offset) as UTC ISO text; a naive one is taken as UTC
    (the state database writes UTC)."""
    if value is None or value == "":
        return ""
    t = dt.datetime.fromisoformat(str(value))
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat()


def _in_period(value, period: Period) -> bool:
    day = dt.date.fromisoformat(utc_iso(value)[:10])
    return period.start.date() <= day <= period.end.date()


def _money(minor, currency, where: str) -> str:
    if minor is None or (isinstance(minor, float) and np.isnan(minor)):
        return ""
    if not currency or pd.isna(currency):
        raise EvidenceError(f"{where}: an amount ({minor} minor units) without a currency")
    try:
        return format_amount(int(minor), str(currency))
    except ValueError as e:
        raise EvidenceError(f"{where}: {e}") from None


def _text(v) -> str:
    if v is None:
        return ""
    try:
        if pd.isna(v):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return str(v)


# ------------------------------------------------------------------------------ state rows
def _time(value, where: str) -> str:
    try:
        return utc_iso(value)
    except ValueError:
        raise EvidenceError(f"{where}: not an ISO 8601 time: {value!r}") from None


def _correction_text(row: dict, corrected_by: dict | None) -> str:
    """``corrects record N`` for a correction, ``corrected by record M`` for a record a
    later one superseded (both for a corrected correction)."""
    parts = []
    sup = row.get("supersedes")
    if sup is not None and not (isinstance(sup, float) and np.isnan(sup)):
        parts.append(f"corrects record {int(sup)}")
    for later in (corrected_by or {}).get(row["id"], []):
        parts.append(f"corrected by record {later}")
    return "; ".join(parts)


def state_row_evidence(spec: StateKind, row: dict, problems: dict | None = None,
                       corrected_by: dict | None = None) -> dict:
    """One state record as an evidence row (business names, money as text, UTC times);
    ``audit_problem`` says what the verification found wrong with this very row;
    ``correction`` links it to the record it corrects and to the records correcting it
    (``corrected_by``: ``{record id: [ids of the rows superseding it]}``)."""
    where = f"{spec.table} row {row['id']}"
    why_col = next((c for c in spec.why if _text(row.get(c))), None)
    why = _text(row.get(why_col)) if why_col else ""
    if why_col == "rule":                    # a posting nobody corrected: the rule matched it
        why = f"matched by rule {why}"
    out = {"record_id": row["id"], "who": _text(row.get(spec.who)),
           "when_utc": _time(row["recorded_at"], where), "why": why,
           "authority": _text(row.get(spec.authority)) if spec.authority else "",
           "correction": _correction_text(row, corrected_by),
           "audit_problem": "; ".join((problems or {}).get((spec.table, row["id"]), []))}
    for col, v in row.items():               # every other column, generically
        if col in _DROP:
            continue
        if col.endswith("_minor"):
            out[col[:-len("_minor")]] = _money(v, row.get("currency"), where)
        elif col in _TIME_COLUMNS:
            out[_RENAME.get(col, col)] = _time(v, where)
        else:
            out[_RENAME.get(col, col)] = _text(v)
    return out


def read_state(db, period: Period, problems: dict | None = None
               ) -> dict[str, tuple[pd.DataFrame, list[dict]]]:
    """Per kind: the evidence frame and the raw records recorded in the period.
    ``problems``: ``{(table, row id): [what, ...]}`` from the verification."""
    out = {}
    for spec in STATE_KINDS:
        raw, corrected_by = [], {}
        every = db.rows(spec.table)
        for r in every:                      # corrections in the period or later
            if r.get("supersedes") is not None:
                corrected_by.setdefault(int(r["supersedes"]), []).append(int(r["id"]))
        for r in every:
            if _in_period(_time(r["recorded_at"], f"{spec.table} row {r['id']}"), period):
                raw.append(r)
        rows = [state_row_evidence(spec, r, problems, corrected_by) for r in raw]
        cols = list(_FIRST)
        for r in rows:
            cols += [c for c in r if c not in cols]
        out[spec.kind] = (pd.DataFrame(rows, columns=cols), raw)
    return out


# ------------------------------------------------------------------------------ ledger rows
def _ledger_frame(ledger, table: str) -> pd.DataFrame:
    df = ledger[table].reset_index(drop=True).copy()
    df["ledger_row"] = np.arange(len(df))
    if "customer_id" not in df and "invoice_id" in df:
        inv = ledger.invoices[["invoice_id", "customer_id"]]
        df = df.merge(inv, on="invoice_id", how="left")
    return df


def read_ledger(ledger, period: Period) -> dict[str, tuple[pd.DataFrame, list[dict]]]:
    """The ledger's write-offs and credit memos dated in the period, as evidence rows."""
    out = {}
    for table in LEDGER_KINDS:
        df = _ledger_frame(ledger, table)
        df = df[(df["date"] >= period.start) & (df["date"] <= period.end)] if len(df) else df
        rows, raw = [], []
        for r in df.to_dict("records"):
            key = r.get("credit_memo_id") if table == "credit_memos" else \
                f"{r['invoice_id']}@{r['date'].date()}#{r['ledger_row']}"
            # the ERP's tables name who approved only where they have an approved_by
            # column (write-offs may, credit memos do not); no approval level at all
            approver = _text(r.get("approved_by")) or NOT_IN_LEDGER
            e = {"record_id": _text(key), "who": approver,
                 "when_utc": r["date"].date().isoformat(),
                 "why": _text(r.get("reason")), "authority": approver, "audit_problem": ""}
            for col, v in r.items():
                if col == "amount_minor":
                    e["amount"] = _money(v, r["currency"], f"{table} row {r['ledger_row']}")
                elif col not in ("ledger_row",):
                    e[col] = _text(v)
            e["ledger_row"] = r["ledger_row"]
            rows.append(e)
            raw.append({**r, "record_id": e["record_id"]})
        cols = list(_FIRST)
        for r in rows:
            cols += [c for c in r if c not in cols]
        out[table] = (pd.DataFrame(rows, columns=cols), raw)
    return out
