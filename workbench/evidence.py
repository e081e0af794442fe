"""Evidence for auditors: one folder a controller can hand over for a period.

:func:`build_evidence` reads the period's records from the state database (credit
decisions, cash postings, adjustment events, dispute events, activities; every record
*recorded* in the period, by ``recorded_at`` in UTC, corrections included) and, when a
ledger is given, its write-offs and credit memos (by their ``date``), and writes:

- one CSV per kind (``credit_decisions.csv``, ``postings.csv``, ...): the uniform columns
  ``record_id, who, when_utc, why, authority`` first, then every column of the record under
  its business name; money as exact decimal text in the currency's ISO 4217 decimals
  (:func:`workbench.money.format_amount`) beside a ``currency`` column; times in UTC ISO 8601;
- ``audit_verification.txt`` (what ``workbench audit verify`` prints) and
  ``audit_verification.json`` (result, problems, counts, last MAC, the anchor);
- ``sample/``: a seeded random sample of items across the kinds (numpy ``default_rng``:
  the same inputs and seed give the same sample), one folder per item with ``item.html``
  (the record and the documents behind it) and, for a credit decision, ``credit_file.html``;
- ``index.html`` and ``index.csv``: period, generated when and by whom, the database and
  ledger identities, counts, the verification result, the sample with links and the
  SHA-256 of every other file (the manifest); ``SHA256SUMS`` (``sha256sum -c``) covers
  every file including the index.

The folder is written into a temporary folder beside ``out`` and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .money import format_amount
from .periods import Period, parse_period

__all__ = [
    "DEFAULT_SAMPLE",
    "KIND_ORDER",
    "LEDGER_KINDS",
    "STATE_KINDS",
    "EvidenceError",
    "EvidenceResult",
    "build_evidence",
]

DEFAULT_SAMPLE = 25


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
_FIRST = ["record_id", "who", "when_utc", "why", "authority", "correction", "audit_problem"]


@dataclass
class EvidenceResult:
    """What :func:`build_evidence` wrote: the folder, counts, the verification and sample."""
    out: Path
    period: Period
    counts: dict[str, int]
    audit_ok: bool
    audit_text: str
    sample: list[dict] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)   # relative path -> SHA-256

    @property
    def exit_code(self) -> int:
        """0 when the audit chain is intact, 1 when the verification found a break (the
        folder is written either way: the auditor must see the break)."""
        return 0 if self.audit_ok else 1


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(text))[:60]


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
            e = {"record_id": _text(key),
                 "who": _text(r.get("approved_by")), "when_utc": r["date"].date().isoformat(),
                 "why": _text(r.get("reason")), "authority": "", "audit_problem": ""}
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
        from . import credit
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
    out = []
    if kind == "postings":
        out.append(("Receipt", _table_html(docs._rows("receipts", "receipt_id", raw["receipt_id"]),
                                           no_ledger)))
        out.append(("Applications of the receipt",
                    _table_html(docs._rows("applications", "receipt_id", raw["receipt_id"]),
                                no_ledger)))
        if _text(raw.get("invoice_id")):
            out.append(("Invoice", _table_html(docs.invoice(raw["invoice_id"]), no_ledger)))
    elif kind in ("adjustments", "write_offs", "credit_memos"):
        if kind == "adjustments":
            out.append(("Every event of this adjustment",
                        _table_html(docs.state_history("adjustments", "adjustment_id",
                                                       raw["adjustment_id"], spec))))
        if _text(raw.get("invoice_id")):
            out.append(("Invoice", _table_html(docs.invoice(raw["invoice_id"]), no_ledger)))
            out.append(("Invoice history (reductions, open balance after each)",
                        _table_html(docs.history(raw["invoice_id"]), no_ledger)))
    elif kind == "dispute_events":
        out.append(("Every event of this dispute",
                    _table_html(docs.state_history("dispute_events", "dispute_id",
                                                   raw["dispute_id"], spec))))
        if _text(raw.get("invoice_id")):
            out.append(("Invoice", _table_html(docs.invoice(raw["invoice_id"]), no_ledger)))
    elif kind == "activities":
        out.append(("Activity log row", _record_html(state_row_evidence(spec, raw))))
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


# ------------------------------------------------------------------------------ verification
def verification(db, url: str) -> tuple[bool, str, dict]:
    """The audit chain's verification: (intact, the text of ``workbench audit verify``,
    the details as a dict with the last MAC and the anchor)."""
    from .state import audit_verify_command

    res = db.verify_audit_chain()
    code, text = audit_verify_command(url)
    anchor = db.read_anchor() or {}
    info = {"ok": bool(res.ok), "verify_exit_code": code, "audit_rows": res.audit_rows,
            "record_rows": res.record_rows, "last_mac": res.last_mac,
            "problems": [{"table": p.table, "row_id": p.row_id, "what": p.what}
                         for p in res.problems],
            "anchor_path": str(db.anchor_path),
            "anchor_last_id": anchor.get("last_id"), "anchor_last_mac": anchor.get("last_mac"),
            "anchor_at": anchor.get("at"), "database_id": db.database_id}
    return bool(res.ok) and code == 0, text, info


# ------------------------------------------------------------------------------ the folder
def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise EvidenceError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "SHA256SUMS").is_file():
        raise EvidenceError(f"--out {out} is a folder that holds other files (not an earlier "
                            f"evidence folder): choose a new or empty folder")


def _open_db(url: str):
    import sqlalchemy as sa

    from .state import StateDB
    try:
        u = sa.engine.make_url(url)
    except Exception as e:  # noqa: BLE001
        raise EvidenceError(f"not a database URL: {url!r} ({e})") from None
    if u.get_backend_name() == "sqlite" and (not u.database or u.database == ":memory:"
                                             or not Path(u.database).is_file()):
        # opening would create an empty database: evidence of nothing
        raise EvidenceError(f"state database {u.database or url} does not exist")
    try:
        return StateDB(url)
    except Exception as e:  # noqa: BLE001 - one line for the command
        raise EvidenceError(f"cannot open the state database: {e}") from None


def build_evidence(period: str | Period, out: str | Path, *, db_url: str | None = None,
                   ledger=None, sample: int = DEFAULT_SAMPLE, seed: int = 0,
                   generated_by: str | None = None,
                   now: dt.datetime | None = None) -> EvidenceResult:
    """Assemble the evidence folder for ``period`` in ``out`` (atomically).

    Parameters
    ----------
    period : str or Period
        ``2026Q3``, ``2026-09``, ``2026`` or ``2026-07-01..2026-09-30`` (inclusive, UTC days).
    out : path
        The folder to write; an existing evidence folder there is replaced, any other
        non-empty folder is refused.
    db_url : str, optional
        The state database (default ``WORKBENCH_DB_URL`` or ``data/workbench.db``); it must
        exist.
    ledger : Ledger, optional
        Adds the ledger's write-offs and credit memos and the documents behind each item.
    sample, seed : int
        How many items to sample across the kinds, and the seed of numpy's generator.
    """
    from .config import db_url as default_url
    from .io.writer import make_temp_dir, replace_dir

    if not isinstance(period, Period):
        try:
            period = parse_period(period)
        except ValueError as e:
            raise EvidenceError(str(e)) from None
    if sample < 0:
        raise EvidenceError(f"--sample must be 0 or more; got {sample}")
    out = Path(out)
    _check_target(out)
    url = db_url or default_url()
    db = _open_db(url)
    try:
        ok, text, info = verification(db, url)
        problems: dict = {}
        for p in info["problems"]:
            problems.setdefault((p["table"], p["row_id"]), []).append(p["what"])
        kinds = read_state(db, period, problems)
        if ledger is not None:
            kinds.update(read_ledger(ledger, period))
        tmp = make_temp_dir(out)
        try:
            result = _write_folder(tmp, out, period, db, url, ledger, kinds, ok, text, info,
                                   sample, seed, generated_by or _command_line_user(),
                                   now or dt.datetime.now(dt.UTC))
            replace_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        db.close()
    return result


def _command_line_user() -> str:
    """Who generates the folder: the OS login's users-file entry, else the OS login
    (:func:`workbench.cli.command_line_actor`)."""
    from .cli import command_line_actor

    return command_line_actor()


def _write_folder(tmp: Path, out: Path, period, db, url, ledger, kinds, ok, text, info,
                  sample, seed, who, now) -> EvidenceResult:
    import sqlalchemy as sa

    counts = {k: len(kinds[k][0]) for k in KIND_ORDER if k in kinds}
    for k, (df, _) in kinds.items():
        df.to_csv(tmp / f"{k}.csv", index=False, lineterminator="\n")
    (tmp / "audit_verification.txt").write_text(text + "\n", encoding="utf-8")
    (tmp / "audit_verification.json").write_text(json.dumps(info, indent=1, sort_keys=True)
                                                 + "\n", encoding="utf-8")
    population = [(k, i) for k in KIND_ORDER if k in kinds for i in range(len(kinds[k][0]))]
    docs = _Documents(db, ledger, url)
    chosen = []
    for n, pos in enumerate(draw_sample(population, sample, seed), start=1):
        k, i = population[pos]
        df, raw = kinds[k]
        ev = df.iloc[i].to_dict()
        link = write_sample_item(tmp, n, k, raw[i], ev, docs)
        chosen.append({"number": n, "kind": k, "label": _LABELS[k], "record_id": ev["record_id"],
                       "who": ev["who"], "when_utc": ev["when_utc"], "why": ev["why"],
                       "authority": ev["authority"], "link": link})
    pd.DataFrame(chosen, columns=["number", "kind", "label", "record_id", "who", "when_utc",
                                  "why", "authority", "link"]).to_csv(
        tmp / "sample.csv", index=False, lineterminator="\n")
    files = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    meta = {"period": period.label, "period_start": period.start.date().isoformat(),
            "period_end": period.end.date().isoformat(),
            "generated_at_utc": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "generated_by": who,
            "database": sa.engine.make_url(url).render_as_string(hide_password=True),
            "database_id": db.database_id,
            "ledger": ledger.source if ledger is not None else "",
            "ledger_content_hash": ledger.content_hash() if ledger is not None else "",
            "sample_size": str(len(chosen)), "sample_requested": str(sample), "seed": str(seed),
            "selection": "state records by recorded_at (UTC day) in the period, corrections "
                         "included (counts include both a corrected record and its "
                         "correction: see the correction column); ledger write-offs and "
                         "credit memos by date",
            "counts_note": "counts include both the corrected records and their corrections "
                           "(the correction column links them)"}
    ver = {"result": "intact" if ok else "BROKEN", "problems": str(len(info["problems"])),
           "audit_rows": str(info["audit_rows"]), "record_rows": str(info["record_rows"]),
           "last_mac": info["last_mac"] or "", "anchor_last_id": _text(info["anchor_last_id"]),
           "anchor_last_mac": _text(info["anchor_last_mac"]), "anchor_at": _text(info["anchor_at"]),
           "anchor_path": info["anchor_path"]}
    rows = [("meta", k, v, "") for k, v in meta.items()]
    rows += [("count", k, str(v), _LABELS[k]) for k, v in counts.items()]
    rows += [("verification", k, v, "") for k, v in ver.items()]
    rows += [("verification_problem", p["table"], _text(p["row_id"]), p["what"])
             for p in info["problems"]]
    rows += [("sample", str(s["number"]), f"{s['kind']} {s['record_id']}", s["link"])
             for s in chosen]
    rows += [("file", path, digest, "sha256") for path, digest in files.items()]
    pd.DataFrame(rows, columns=["section", "name", "value", "detail"]).to_csv(
        tmp / "index.csv", index=False, lineterminator="\n")
    (tmp / "index.html").write_text(_index_html(meta, counts, ok, ver, info, text, chosen, files,
                                                ledger is not None), encoding="utf-8")
    sums = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / "SHA256SUMS").write_text("".join(f"{h}  {p}\n" for p, h in sums.items()),
                                    encoding="utf-8")
    return EvidenceResult(out, period, counts, ok, text, chosen, sums)


def _index_html(meta, counts, ok, ver, info, text, chosen, files, has_ledger) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("evidence_index.html.j2").render(
        meta=meta, counts=[(k, _LABELS[k], v) for k, v in counts.items()], ok=ok, ver=ver,
        problems=info["problems"], text=text, sample=chosen, files=files, has_ledger=has_ledger)
