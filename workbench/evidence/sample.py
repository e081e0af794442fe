"""The seeded sample and each sampled item's folder: the record and the documents behind it
(the invoice and its history, the receipt, every event of an adjustment or dispute, the
credit file as of the decision)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .controls import AuthorityLimits, amount_text, business_key, customer_of, field_label
from .records import (
    _LABELS,
    LEDGER_KINDS,
    STATE_KINDS,
    EvidenceError,
    _money,
    _text,
    state_row_evidence,
    utc_iso,
)


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))[:60]


# ------------------------------------------------------------------------------ the sample
def draw_sample(items: list[tuple[str, str]], n: int, seed: int) -> list[int]:
    """Positions of a seeded random sample of ``n`` items (all when fewer), in population
    order. ``items`` is the population in a fixed order (kinds in :data:`KIND_ORDER`, each
    in its CSV's order), so the same inputs and seed give the same sample. When ``n`` covers
    every kind, the sample is stratified: each kind at least one item, the rest in proportion
    to its size."""
    if n < 0:
        raise EvidenceError(f"--sample must be 0 or more; got {n}")
    rng = np.random.default_rng(seed)
    k = min(n, len(items))
    if not k:
        return []
    kinds: dict[str, list[int]] = {}
    for pos, (kind, _) in enumerate(items):
        kinds.setdefault(kind, []).append(pos)
    if k == len(items) or k < len(kinds):
        return sorted(int(i) for i in rng.choice(len(items), size=k, replace=False))
    # stratified: every kind at least one item, the rest in proportion to the kind's size
    # (largest remainders first), so a kind with few records is not left out by a big one
    sizes = {kd: len(v) for kd, v in kinds.items()}
    take = {kd: 1 for kd in kinds}
    rest = k - len(kinds)
    spare = {kd: sizes[kd] - 1 for kd in kinds}
    total = sum(spare.values())
    if rest and total:
        share = {kd: rest * spare[kd] / total for kd in kinds}
        for kd in kinds:
            take[kd] += min(int(share[kd]), spare[kd])
        left = k - sum(take.values())
        for kd in sorted(kinds, key=lambda kd: (-(share[kd] - int(share[kd])), list(kinds).index(kd))):
            if left <= 0:
                break
            if take[kd] < sizes[kd]:
                take[kd] += 1
                left -= 1
    picked = []
    for kd, positions in kinds.items():         # population order: the same seed, the same sample
        idx = rng.choice(len(positions), size=take[kd], replace=False)
        picked += [positions[int(i)] for i in idx]
    return sorted(picked)


def sample_method(items: list, n: int) -> str:
    """How :func:`draw_sample` draws ``n`` of ``items``: ``none``, ``all`` (every item),
    ``simple`` (fewer items than kinds: one draw over the whole list) or ``stratified``."""
    k = min(max(n, 0), len(items))
    if not k:
        return "none"
    if k == len(items):
        return "all"
    return "simple" if k < len({kind for kind, _ in items}) else "stratified"


def _esc(v) -> str:
    return html.escape(_text(v))


def _table_html(df: pd.DataFrame | None, empty: str = "none") -> str:
    """A ledger or state table for people: business names in the header."""
    if df is None or not len(df):
        return f"<p class='muted'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(field_label(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in r) + "</tr>"
                   for r in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def short_time(text: str) -> str:
    """A UTC ISO time to the second for a narrow table (``2026-07-01 00:00:00``); a date
    stays as it is."""
    text = _text(text)
    return text[:19].replace("T", " ") if "T" in text else text


def _evidence_html(text, note=None) -> str:
    """An adjustment's evidence JSON for people: its "what" sentence (unless ``note``
    already says it), the full JSON folded away (it is long, and a table cell must not run
    off the page)."""
    raw = _text(text)
    if not raw:
        return ""
    try:
        doc = json.loads(raw)
        what = doc.get("what") if isinstance(doc, dict) else None
        full = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)
    except ValueError:
        what, full = None, raw
    summary = html.escape(str(what)) if what else "evidence"
    if what and _text(note).startswith(str(what)):
        summary = "as the note says"
    return (f"{summary}<details><summary>full evidence (JSON)</summary>"
            f"<pre>{html.escape(full)}</pre></details>")


#: the evidence columns holding money (``*_minor`` in the state tables), in ``currency``
_MONEY = ("amount", "limit", "recommended_limit", "promise_amount")


def _record_html(record: dict, skip=()) -> str:
    """One record as a two-column table under business names; money with its currency, the
    evidence JSON summarized."""
    rows = []
    cur = _text(record.get("currency"))
    for k, v in record.items():
        if k in skip or not _text(v):         # empty fields: the CSV has every column
            continue
        if k == "evidence":
            cell = _evidence_html(v)
        elif k in _MONEY and cur:
            cell = html.escape(f"{_text(v)} {cur}")
        else:
            cell = _esc(v)
        rows.append(f"<tr><th>{html.escape(field_label(k))}</th><td>{cell}</td></tr>")
    return f"<table class='record'>{''.join(rows)}</table>"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:"DejaVu Sans",Arial,sans-serif;font-size:10.5pt;margin:2em;color:#222;
max-width:1200px}}table{{border-collapse:collapse;margin:.6em 0;max-width:100%}}
th,td{{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top;
overflow-wrap:break-word}}table.record th{{width:15em;font-weight:normal;color:#444}}
td.nowrap{{white-space:nowrap}}td.text{{min-width:14em;overflow-wrap:anywhere}}
pre{{white-space:pre-wrap;overflow-wrap:anywhere;font-size:8.5pt;margin:.3em 0}}
summary{{color:#1a4f8b;cursor:pointer;font-size:9pt}}.muted{{color:#666}}
.broken{{color:#a40000;font-weight:bold}}h2{{border-bottom:1px solid #aaa;font-size:12.5pt}}
</style>
</head><body><h1>{title}</h1><p class="muted">{subtitle}</p>{body}
<p><a href="../../index.html">Back to the index</a></p></body></html>
"""


def _money_frame(df: pd.DataFrame, currency_of=None) -> pd.DataFrame:
    """Ledger rows for people: ``*_minor`` columns as decimal text, dates ISO."""
    df = df.copy()
    for c in list(df.columns):
        if c.endswith("_minor"):
            cur = df["currency"] if "currency" in df else pd.Series(currency_of, index=df.index)
            df[c[:-len("_minor")]] = [_money(v, k, c) for v, k in zip(df[c], cur)]
            df = df.drop(columns=c)
        elif pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = df[c].dt.strftime("%Y-%m-%d")
    return df


class _Documents:
    """The documents behind a sampled item, from the ledger and the state database."""

    def __init__(self, db, ledger, db_url, limits: AuthorityLimits | None = None):
        self.db, self.ledger, self.db_url = db, ledger, db_url
        self.limits = limits or AuthorityLimits(ledger)

    def _rows(self, table, column, value):
        if self.ledger is None:
            return None
        df = self.ledger[table]
        if column not in df:
            return df.iloc[0:0]
        return _money_frame(df[df[column] == value])

    def invoice(self, invoice_id):
        return self._rows("invoices", "invoice_id", invoice_id)

    def history(self, invoice_id):
        """The invoice's reductions (applications, credit memos, write-offs, recoveries)
        with the open balance after each (:meth:`workbench.ledger.Ledger.reductions`)."""
        if self.ledger is None or not invoice_id:
            return None
        inv = self.ledger.invoices
        cur = inv.loc[inv["invoice_id"] == invoice_id, "currency"]
        red = self.ledger.reductions()
        red = red[red["invoice_id"] == invoice_id][["date", "kind", "amount_minor",
                                                      "open_after_minor"]]
        currency = cur.iloc[0] if len(cur) else None
        red = red.assign(kind=red["kind"].astype(str))
        out = _money_frame(red, currency)
        out.insert(3, "currency", currency)
        return out

    def state_rows(self, table, column, value):
        return self.db.rows(table, where={column: value})

    def credit_file(self, raw: dict) -> tuple[str | None, str]:
        """The credit file as of the decision's date (capped at the ledger's last date)."""
        if self.ledger is None:
            return None, "no ledger given: the credit file cannot be rebuilt"
        from .. import credit
        try:
            day = pd.Timestamp(utc_iso(raw["recorded_at"])[:10])
            as_of = min(day, self.ledger.last_date)
            scorecard = credit.standard_scorecard(self.ledger, as_of)[0]
            rec = credit.recommend(self.ledger, raw["customer_id"], as_of, scorecard)
            page = credit.credit_file_html(self.ledger, rec,
                                           credit.limit_history(self.db, raw["customer_id"]))
        except Exception as e:  # noqa: BLE001 - the item page says why, the rest goes on
            return None, f"the credit file could not be built: {e}"
        note = f"credit file as of {as_of.date()} (the decision's date, or the ledger's last)"
        if raw.get("ledger_hash") and raw["ledger_hash"] != self.ledger.content_hash():
            note += (f"; the decision was recorded on ledger {raw['ledger_hash']}, the file is "
                     f"rebuilt from ledger {self.ledger.content_hash()}")
        return page, note


def _authority_text(authority: str, limit: str) -> str:
    if not authority:
        return ""
    return f"{authority} ({limit})" if limit else authority


def _events_html(kind: str, rows: list[dict], docs: _Documents, this_id) -> str:
    """Every event of an adjustment or a dispute, one line each: who, when, the authority
    and its limit, the amount, the note and (adjustments) what the evidence says."""
    spec = {s.kind: s for s in STATE_KINDS}[kind]
    if kind == "adjustments":
        head = ["Event", "Who", "When (UTC)", "Authority (limit)", "Amount", "Note",
                "Evidence", "Correction"]
    else:
        head = ["Event", "Who", "When (UTC)", "Owner", "Status", "Amount", "Note",
                "Correction"]
    corrected_by: dict = {}
    for r in rows:
        if r.get("supersedes") is not None:
            corrected_by.setdefault(int(r["supersedes"]), []).append(int(r["id"]))
    corrections = any(r.get("supersedes") is not None for r in rows)
    if not corrections:
        head = head[:-1]                      # no corrections: no empty column for them
    lines = []
    for r in rows:
        e = state_row_evidence(spec, r, corrected_by=corrected_by)
        amount = f"{e.get('amount', '')} {e.get('currency', '')}".strip()
        when = short_time(e["when_utc"])
        if kind == "adjustments":
            limit, _ = docs.limits.limit(kind, r)
            cells = [("nowrap", _esc(e.get("event"))), ("nowrap", _esc(e["who"])),
                     ("nowrap", html.escape(when)),
                     ("", html.escape(_authority_text(e["authority"], limit))),
                     ("nowrap", html.escape(amount)), ("text", _esc(e.get("note"))),
                     ("text", _evidence_html(e.get("evidence"), e.get("note"))),
                     ("", _esc(e["correction"]))]
        else:
            owner = " ".join(x for x in (_text(e.get("owner")), _text(e.get("owner_name")))
                             if x)
            cells = [("nowrap", _esc(e.get("event"))), ("nowrap", _esc(e["who"])),
                     ("nowrap", html.escape(when)), ("", html.escape(owner)),
                     ("", _esc(e.get("status"))), ("nowrap", html.escape(amount)),
                     ("text", _esc(e.get("note"))), ("", _esc(e["correction"]))]
        cells = cells if corrections else cells[:-1]
        mark = " style='background:#fff6d5'" if r["id"] == this_id else ""
        lines.append(f"<tr{mark}>" + "".join(f"<td class='{c}'>{v}</td>" if c else
                                             f"<td>{v}</td>" for c, v in cells) + "</tr>")
    if not lines:
        return "<p class='muted'>no events recorded</p>"
    th = "".join(f"<th>{h}</th>" for h in head)
    return (f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
            f"<p class='muted'>The sampled event is highlighted; times to the second (the "
            f"record above and the CSV give them exactly).</p>")


def _sections(kind: str, raw: dict, docs: _Documents) -> list[tuple[str, str]]:
    """(heading, html) of the documents behind one item; where a document is missing, the
    page says why (no ledger given, not in the ledger, nothing recorded)."""
    no_ledger = "no ledger given: the ledger's documents are not included"
    has_ledger = docs.ledger is not None
    invoice_id = _text(raw.get("invoice_id"))
    out = []

    def ledger_rows(heading: str, rows, missing: str) -> None:
        out.append((heading, _table_html(rows, missing if has_ledger else no_ledger)))
    if kind == "postings":
        rid = _text(raw.get("receipt_id"))
        ledger_rows("Receipt", docs._rows("receipts", "receipt_id", rid),
                    f"receipt {rid} is not in the ledger")
        ledger_rows("Applications of the receipt", docs._rows("applications", "receipt_id", rid),
                    f"the ledger records no application of receipt {rid}")
    elif kind == "adjustments":
        out.append(("Every event of this adjustment",
                    _events_html(kind, docs.state_rows("adjustments", "adjustment_id",
                                                       raw["adjustment_id"]), docs, raw["id"])))
    elif kind == "dispute_events":
        out.append(("Every event of this dispute",
                    _events_html(kind, docs.state_rows("dispute_events", "dispute_id",
                                                       raw["dispute_id"]), docs, raw["id"])))
    invoice_known = has_ledger and invoice_id and \
        bool((docs.ledger.invoices["invoice_id"] == invoice_id).any())
    if invoice_id and kind in ("postings", "adjustments", "write_offs", "credit_memos",
                               "dispute_events"):
        ledger_rows("Invoice", docs.invoice(invoice_id), f"invoice {invoice_id} is not in the "
                    f"ledger")
    if invoice_id and kind in ("adjustments", "write_offs", "credit_memos"):
        if has_ledger and not invoice_known:
            missing = f"invoice {invoice_id} is not in the ledger: no history to show"
        else:
            missing = (f"the ledger records no reductions of invoice {invoice_id} (no cash "
                       f"applied, no credit memo, no write-off): all of it is still open")
        ledger_rows("Invoice history (reductions, open balance after each)",
                    docs.history(invoice_id), missing)
    return out


#: the fields the "control tested" table shows first (the rest follow under "every field")
_SUMMARY = ("business_key", "customer_id", "customer_name", "amount", "currency", "limit",
            "who", "when_utc", "why", "authority", "authority_limit", "authority_limit_policy",
            "correction", "audit_problem", "control_population", "record_id")


def write_sample_item(folder: Path, number: int, kind: str, raw: dict, evidence: dict,
                      docs: _Documents) -> str:
    """Write one sampled item's folder; returns the item page's path relative to the root."""
    name = f"{number:02d}-{kind}-{_safe(evidence['record_id'])}"
    item = folder / "sample" / name
    item.mkdir(parents=True)
    key = _text(evidence.get("business_key")) or business_key(kind, raw)
    cid = _text(evidence.get("customer_id")) or customer_of(kind, raw, docs.ledger)[0]
    cname = _text(evidence.get("customer_name"))
    limit = _text(evidence.get("authority_limit"))
    ledger_kind = kind in LEDGER_KINDS
    summary = {
        "Kind": _LABELS[kind], "Business key": key,
        "Customer": f"{cid} {cname}".strip(),
        ("Limit decided" if kind == "credit_decisions" else "Amount"):
            amount_text(kind, evidence),
        "Who": evidence["who"], "When (UTC)" if not ledger_kind else "Date (ledger)":
            evidence["when_utc"], "Why": evidence["why"],
        "Authority": evidence["authority"] or "none recorded for this kind of record",
        "Limit of the authority": limit and f"{limit} — per {evidence['authority_limit_policy']}",
        "Correction": evidence.get("correction", ""),
        "Audit-chain problem": evidence.get("audit_problem", ""),
        ("Ledger key" if ledger_kind else "Record number (state database)"):
            evidence["record_id"],
    }
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{_esc(v)}</td></tr>"
                   for k, v in summary.items() if _text(v))
    body = []
    if evidence.get("audit_problem"):
        body.append(f"<p class='broken'>This record failed the audit-chain verification: "
                    f"{html.escape(evidence['audit_problem'])}</p>")
    body.append(f"<h2>The control tested</h2><table class='record'>{rows}</table>")
    body.append("<h2>Every field of the record</h2><p class='muted'>Fields left empty are "
                "not shown (the CSV has every column).</p>"
                + _record_html(evidence, skip=_SUMMARY + ("ledger_row",)))
    if kind == "credit_decisions":
        page, note = docs.credit_file(raw)
        if page is not None:
            (item / "credit_file.html").write_text(page, encoding="utf-8")
            body.append(f"<h2>Credit file</h2><p><a href='credit_file.html'>credit_file.html"
                        f"</a> — {html.escape(note)}</p>")
        else:
            body.append(f"<h2>Credit file</h2><p class='muted'>{html.escape(note)}</p>")
    for heading, part in _sections(kind, raw, docs):
        body.append(f"<h2>{html.escape(heading)}</h2>{part}")
    title = f"Sample item {number}: {key}"
    auth = _authority_text(evidence["authority"], limit) or "none recorded"
    sub = f"who {evidence['who'] or '-'} · when {evidence['when_utc']} · authority {auth}"
    (item / "item.html").write_text(_PAGE.format(title=html.escape(title),
                                                 subtitle=html.escape(sub),
                                                 body="\n".join(body)), encoding="utf-8")
    return f"sample/{name}/item.html"
