"""The evidence folder: the audit chain's verification, the CSVs, the sample, the index and
``SHA256SUMS``, written to a temporary folder and renamed into place."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..periods import Period, parse_period
from .records import _LABELS, KIND_ORDER, EvidenceError, _text, read_ledger, read_state
from .controls import (
    POPULATION,
    AuthorityLimits,
    amount_of,
    amount_text,
    annotate,
    customer_of,
    in_population,
)
from .sample import _Documents, draw_sample, sample_method, short_time, write_sample_item


DEFAULT_SAMPLE = 25


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------ verification
def verification(db, url: str) -> tuple[bool, str, dict]:
    """The audit chain's verification: (intact, the text of ``workbench audit verify``,
    the details as a dict with the last MAC and the anchor)."""
    from ..state import audit_verify_command

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
def _earlier_period(out: Path) -> tuple[str, str, str] | None:
    """(label, first day, last day) of the evidence folder in ``out``, from its index.csv;
    None when it cannot be read."""
    try:
        index = pd.read_csv(out / "index.csv", dtype=str, keep_default_na=False)
        meta = dict(zip(index.loc[index["section"] == "meta", "name"],
                        index.loc[index["section"] == "meta", "value"]))
        return meta["period"], meta["period_start"], meta["period_end"]
    except Exception:  # noqa: BLE001 - unreadable: the caller refuses
        return None


def _check_target(out: Path, period: Period) -> None:
    """Refuse an ``out`` that is a file, a folder of other files, or the evidence folder of
    another period (re-running the same period, under any spelling of it, replaces it)."""
    if out.exists() and not out.is_dir():
        raise EvidenceError(f"--out {out} is a file, not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / "SHA256SUMS").is_file():
        raise EvidenceError(f"--out {out} is a folder that holds other files (not an earlier "
                            f"evidence folder): choose a new or empty folder")
    earlier = _earlier_period(out)
    if earlier is None:
        raise EvidenceError(f"--out {out} holds an evidence folder whose period cannot be read "
                            f"(index.csv is missing or damaged): choose a new or empty folder "
                            f"for {period.label}")
    label, start, end = earlier
    if (start, end) != (period.start.date().isoformat(), period.end.date().isoformat()):
        raise EvidenceError(
            f"--out {out} holds the evidence folder of period {label} ({start} to {end}), not "
            f"of {period.label} ({period.start.date()} to {period.end.date()}): it is not "
            f"replaced; choose another folder for {period.label}")


def _open_db(url: str):
    import sqlalchemy as sa

    from ..state import StateDB
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
    from ..config import db_url as default_url
    from ..io.writer import make_temp_dir, replace_dir

    if not isinstance(period, Period):
        try:
            period = parse_period(period)
        except ValueError as e:
            raise EvidenceError(str(e)) from None
    if sample < 0:
        raise EvidenceError(f"--sample must be 0 or more; got {sample}")
    out = Path(out)
    _check_target(out, period)
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
    from ..cli import command_line_actor

    return command_line_actor()


def _population(kinds) -> list[tuple[str, int, str]]:
    """The sampling population: (kind, position in the kind's CSV, record id) of every
    control execution, kind by kind in :data:`KIND_ORDER`, each in its CSV's order."""
    return [(k, i, str(kinds[k][0].iloc[i]["record_id"]))
            for k in KIND_ORDER if k in kinds
            for i, raw in enumerate(kinds[k][1]) if in_population(k, raw)]


def _method_text(method: str, seed: int, n: int, size: int, order: list[str]) -> str:
    kinds = ", ".join(order) or "none"
    base = (f"Population: the control executions recorded in the period ({size}), kind by kind "
            f"in the order {kinds} and, within a kind, in its CSV's order "
            f"(sample_population.csv lists them, position 0 first). The draw uses numpy's "
            f"numpy.random.default_rng({seed}). ")
    if method == "stratified":
        how = (f"Stratified ({n} items): each kind gets one item, the other {n - len(order)} "
               f"are shared in proportion to each kind's records beyond its first (whole "
               f"shares first, then the largest remainders, ties in kind order); then, kind by "
               f"kind in that order, rng.choice(size of the kind, its share, replace=False) "
               f"picks positions within the kind.")
    elif method == "simple":
        how = (f"Simple random ({n} items, fewer than the kinds, so no stratification): "
               f"rng.choice({size}, {n}, replace=False) over the whole list.")
    elif method == "all":
        how = "Every item of the population (the sample asked for at least as many)."
    else:
        how = "Nothing to sample."
    return base + how + (" To re-perform: workbench.evidence.draw_sample(items, n, seed) "
                         "with items the (kind, record_id) rows of sample_population.csv in "
                         "order gives the positions drawn.")


def _write_folder(tmp: Path, out: Path, period, db, url, ledger, kinds, ok, text, info,
                  sample, seed, who, now) -> EvidenceResult:
    import sqlalchemy as sa

    limits = AuthorityLimits(ledger)
    annotate(kinds, ledger, limits)
    counts = {k: len(kinds[k][0]) for k in KIND_ORDER if k in kinds}
    (tmp / "audit_verification.txt").write_text(text + "\n", encoding="utf-8")
    (tmp / "audit_verification.json").write_text(json.dumps(info, indent=1, sort_keys=True)
                                                 + "\n", encoding="utf-8")
    population = _population(kinds)
    items = [(k, rid) for k, _, rid in population]
    drawn = draw_sample(items, sample, seed)
    docs = _Documents(db, ledger, url, limits)
    chosen, item_of = [], {}
    for n, pos in enumerate(drawn, start=1):
        k, i, _ = population[pos]
        df, raw = kinds[k]
        ev = df.iloc[i].to_dict()
        link = write_sample_item(tmp, n, k, raw[i], ev, docs)
        amount, cur = amount_of(k, ev)
        item_of[pos] = n
        chosen.append({"number": n, "kind": k, "label": _LABELS[k], "record_id": ev["record_id"],
                       "who": ev["who"], "when_utc": ev["when_utc"], "why": ev["why"],
                       "authority": ev["authority"], "link": link,
                       "business_key": ev["business_key"],
                       "customer_id": customer_of(k, raw[i], ledger)[0],
                       "customer_name": ev["customer_name"], "amount": amount, "currency": cur,
                       "amount_text": amount_text(k, ev),
                       "when_short": short_time(ev["when_utc"]),
                       "authority_limit": ev["authority_limit"],
                       "authority_limit_policy": ev["authority_limit_policy"],
                       "population_position": pos})
    for k, (df, _) in kinds.items():                    # the CSVs say which were sampled
        df["sample_item"] = ""
    for pos, n in item_of.items():
        k, i, _ = population[pos]
        kinds[k][0].iloc[i, kinds[k][0].columns.get_loc("sample_item")] = str(n)
    for k, (df, _) in kinds.items():
        df.to_csv(tmp / f"{k}.csv", index=False, lineterminator="\n")
    pd.DataFrame(chosen, columns=["number", "kind", "label", "record_id", "who", "when_utc",
                                  "why", "authority", "link", "business_key", "customer_id",
                                  "customer_name", "amount", "currency", "authority_limit",
                                  "authority_limit_policy", "population_position"]).to_csv(
        tmp / "sample.csv", index=False, lineterminator="\n")
    pop_rows = []
    within: dict[str, int] = {}
    for pos, (k, i, rid) in enumerate(population):
        ev = kinds[k][0].iloc[i]
        amount, cur = amount_of(k, ev.to_dict())
        pop_rows.append({"position": pos, "kind": k, "position_in_kind": within.get(k, 0),
                         "record_id": rid, "business_key": ev["business_key"],
                         "amount": amount, "currency": cur, "who": ev["who"],
                         "when_utc": ev["when_utc"], "authority": ev["authority"],
                         "sample_item": item_of.get(pos, "")})
        within[k] = within.get(k, 0) + 1
    pd.DataFrame(pop_rows, columns=["position", "kind", "position_in_kind", "record_id",
                                    "business_key", "amount", "currency", "who", "when_utc",
                                    "authority", "sample_item"]).to_csv(
        tmp / "sample_population.csv", index=False, lineterminator="\n")
    pop_counts = {k: within.get(k, 0) for k in counts}
    sampled = {k: sum(1 for c in chosen if c["kind"] == k) for k in counts}
    method = sample_method(items, sample)
    method_text = _method_text(method, seed, len(chosen), len(items),
                               [k for k in counts if pop_counts[k]])
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
            "sample_population": str(len(items)), "sample_method": method,
            "sample_method_text": method_text,
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
    rules = {k: POPULATION[k] for k in counts}
    rows = [("meta", k, v, "") for k, v in meta.items()]
    rows += [("count", k, str(v), _LABELS[k]) for k, v in counts.items()]
    rows += [("population", k, str(pop_counts[k]),
              "; ".join(x for x in (f"in: {rules[k][1]}" if rules[k][1] else "",
                                    f"not sampled: {rules[k][2]}" if rules[k][2] else "") if x))
             for k in counts]
    rows += [("sampled", k, str(v), _LABELS[k]) for k, v in sampled.items()]
    rows += [("verification", k, v, "") for k, v in ver.items()]
    rows += [("verification_problem", p["table"], _text(p["row_id"]), p["what"])
             for p in info["problems"]]
    rows += [("sample", str(s["number"]), f"{s['kind']} {s['record_id']}", s["link"])
             for s in chosen]
    rows += [("file", path, digest, "sha256") for path, digest in files.items()]
    pd.DataFrame(rows, columns=["section", "name", "value", "detail"]).to_csv(
        tmp / "index.csv", index=False, lineterminator="\n")
    kinds_table = [(k, _LABELS[k], counts[k], pop_counts[k], sampled[k], rules[k][1],
                    rules[k][2]) for k in counts]
    (tmp / "index.html").write_text(_index_html(meta, kinds_table, ok, ver, info, text, chosen,
                                                files, ledger is not None), encoding="utf-8")
    sums = {str(p.relative_to(tmp)): _sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / "SHA256SUMS").write_text("".join(f"{h}  {p}\n" for p, h in sums.items()),
                                    encoding="utf-8")
    return EvidenceResult(out, period, counts, ok, text, chosen, sums)


def _index_html(meta, kinds_table, ok, ver, info, text, chosen, files, has_ledger) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    templates = Path(__file__).resolve().parents[1] / "templates"      # workbench/templates
    env = Environment(loader=FileSystemLoader(str(templates)),
                      autoescape=select_autoescape(["html", "j2"]))
    notes: dict[str, int] = {}                # the policies the limits are from, as footnotes
    for s in chosen:
        if s["authority_limit_policy"]:
            s["note"] = notes.setdefault(s["authority_limit_policy"], len(notes) + 1)
    return env.get_template("evidence_index.html.j2").render(
        meta=meta, kinds=kinds_table, ok=ok, ver=ver, problems=info["problems"], text=text,
        sample=chosen, files=files, has_ledger=has_ledger,
        notes=[(n, text) for text, n in notes.items()])
