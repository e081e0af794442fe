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
from .sample import _Documents, draw_sample, write_sample_item


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
def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise EvidenceError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "SHA256SUMS").is_file():
        raise EvidenceError(f"--out {out} is a folder that holds other files (not an earlier "
                            f"evidence folder): choose a new or empty folder")


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
    from ..cli import command_line_actor

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

    templates = Path(__file__).resolve().parents[1] / "templates"      # workbench/templates
    env = Environment(loader=FileSystemLoader(str(templates)),
                      autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("evidence_index.html.j2").render(
        meta=meta, counts=[(k, _LABELS[k], v) for k, v in counts.items()], ok=ok, ver=ver,
        problems=info["problems"], text=text, sample=chosen, files=files, has_ledger=has_ledger)
