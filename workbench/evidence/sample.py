"""The seeded sample and each sampled item's folder: the record and the documents behind it
(the invoice and its history, the receipt, every event of an adjustment or dispute, the
credit file as of the decision)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from .records import (
    _LABELS,
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


def _table_html(df: pd.DataFrame | None, empty: str = "none") -> str:
    if df is None or not len(df):
        return f"<p class='muted'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_text(v))}</td>" for v in r) + "</tr>"
                   for r in df.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _record_html(record: dict) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_text(v))}</td></tr>"
                   for k, v in record.items())
    return f"<table>{body}</table>"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:"DejaVu Sans",Arial,sans-serif;font-size:10.5pt;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:.6em 0}}th,td{{border-bottom:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}}.muted{{color:#666}}.broken{{color:#a40000;font-weight:bold}}h2{{border-bottom:1px solid #aaa}}</style>
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

    def __init__(self, db, ledger, db_url):
        self.db, self.ledger, self.db_url = db, ledger, db_url

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
        red = red.assign(kind=red["kind"].astype(str))
        return _money_frame(red, cur.iloc[0] if len(cur) else None)

    def state_history(self, table, column, value, spec):
        rows = self.db.rows(table, where={column: value})
        df = pd.DataFrame([state_row_evidence(spec, r) for r in rows])
        return df

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


def _sections(kind: str, raw: dict, docs: _Documents) -> list[tuple[str, str]]:
    """(heading, html) of the documents behind one item."""
    no_ledger = "no ledger given"
    spec = {s.kind: s for s in STATE_KINDS}.get(kind)
    invoice_id = _text(raw.get("invoice_id"))

    def events(table: str, column: str, what: str) -> tuple[str, str]:
        return (f"Every event of this {what}",
                _table_html(docs.state_history(table, column, raw[column], spec)))

    def ledger_rows(heading: str, rows) -> tuple[str, str]:
        return heading, _table_html(rows, no_ledger)
    out = []
    if kind == "postings":
        out.append(ledger_rows("Receipt", docs._rows("receipts", "receipt_id", raw["receipt_id"])))
        out.append(ledger_rows("Applications of the receipt",
                               docs._rows("applications", "receipt_id", raw["receipt_id"])))
    elif kind == "adjustments":
        out.append(events("adjustments", "adjustment_id", "adjustment"))
    elif kind == "dispute_events":
        out.append(events("dispute_events", "dispute_id", "dispute"))
    elif kind == "activities":
        out.append(("Activity log row", _record_html(state_row_evidence(spec, raw))))
    if invoice_id and kind in ("postings", "adjustments", "write_offs", "credit_memos",
                               "dispute_events"):
        out.append(ledger_rows("Invoice", docs.invoice(raw["invoice_id"])))
    if invoice_id and kind in ("adjustments", "write_offs", "credit_memos"):
        out.append(ledger_rows("Invoice history (reductions, open balance after each)",
                               docs.history(raw["invoice_id"])))
    return out


def write_sample_item(folder: Path, number: int, kind: str, raw: dict, evidence: dict,
                      docs: _Documents) -> str:
    """Write one sampled item's folder; returns the item page's path relative to the root."""
    name = f"{number:02d}-{kind}-{_safe(evidence['record_id'])}"
    item = folder / "sample" / name
    item.mkdir(parents=True)
    body = []
    if evidence.get("audit_problem"):
        body.append(f"<p class='broken'>This record failed the audit-chain verification: "
                    f"{html.escape(evidence['audit_problem'])}</p>")
    body.append(f"<h2>The record</h2>{_record_html(evidence)}")
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
    title = f"Sample item {number}: {_LABELS[kind]} {evidence['record_id']}"
    sub = f"who {evidence['who'] or '-'} · when {evidence['when_utc']} · why " \
          f"{evidence['why'] or '-'} · authority {evidence['authority'] or '-'}"
    (item / "item.html").write_text(_PAGE.format(title=html.escape(title),
                                                 subtitle=html.escape(sub),
                                                 body="\n".join(body)), encoding="utf-8")
    return f"sample/{name}/item.html"
