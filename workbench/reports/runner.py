"""The pack runner: one validated snapshot, every analysis notebook run headless by papermill.

A run (quarter-end, month-end or weekly):

1. loads and validates the ledger folder **once** (an invalid ledger: no pack, exit 2);
2. refuses a period the ledger has not closed (its end is after the ledger's last date)
   unless ``allow_open_period``;
3. writes a Parquet snapshot of the validated ledger, the bank statements beside it and the
   state-database rows the analyses read (activities, credit decisions), sealed by their
   hashes; every notebook reads that snapshot and nothing else, so a ledger replaced or a
   log written during the run cannot change the pack;
4. writes the machine tables (CSV, JSON), then runs the notebooks (two at a time on two
   cores, longest first) into a temporary folder beside the pack;
5. turns each executed notebook into HTML for people (no code, no prompts, a title block,
   prints landscape), collects every table the notebooks showed into one workbook and CSV
   files, and writes ``manifest.json``;
6. renames the folder into place. A crash leaves the previous pack whole; a failing notebook
   (an error, a cell over the per-cell time limit of twice ``time_budget``, a worker that
   died) stops the notebooks still running, starts no other, leaves the partial output
   under ``reports/_failed/<period>-<timestamp>/`` (its manifest lists each notebook as
   ok, failed, stopped or not run) and raises :class:`PackFailed` naming the notebook,
   the cell, its section and the error, whatever the number of jobs.

Exit codes of ``workbench report`` for schedulers: 0 written, 1 a notebook failed,
2 bad input (invalid ledger, open period, unknown option).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata as md
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .. import __version__
from ..config import DATA_DIR, PROJECT_ROOT, REPORTS_DIR, company_name
from ..io.snapshot import file_sha256, write_snapshot
from ..io.writer import atomic_write_text, replace_dir
from ..ledger import Ledger
from ..periods import Period, last_closed_quarter, parse_period
from ..reporting import title_block
from .execute import _now, _run_notebooks
from .publish import collected
from .tables import write_reserve, write_tables

__all__ = ["run_pack", "run_quarter_pack", "PackError", "PackFailed", "PACKS", "resolve_period"]

_PACKAGES = ("pandas", "numpy", "pyarrow", "pandera", "papermill", "nbconvert", "scikit-learn",
             "seaborn", "matplotlib", "sqlalchemy", "openpyxl", "duckdb")


class PackError(ValueError):
    """Bad input: no pack is written (exit 2)."""


class PackFailed(RuntimeError):
    """A notebook failed: the partial output is kept under ``_failed/`` (exit 1)."""

    def __init__(self, message: str, failed_dir: Path, notebook: str, cell: int | None):
        super().__init__(message)
        self.failed_dir, self.notebook, self.cell = failed_dir, notebook, cell


# --------------------------------------------------------------------------- the packs
@dataclass(frozen=True)
class Context:
    kind: str
    period: Period
    prior: Period
    snapshot: str
    pack_dir: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    notebook: str                      # file under notebooks/
    title: str                         # the report's title (HTML title block, workbook)
    params: Callable[[Context], dict]  # parameters besides ledger_dir, as_of, pack_dir
    cost: int = 1                      # run order: the longest first


def _aging_params(c: Context) -> dict:
    return {"group_by": "segment", "report_currency": "", "prior_as_of": str(c.prior.end.date())}


def _period_text(p: Period) -> str:
    """A period as :func:`workbench.periods.parse_period` reads it (a week as its dates)."""
    if p.label.startswith("week-ending-"):
        return f"{p.start.date()}..{p.end.date()}"
    return p.label


def _collections_params(c: Context) -> dict:
    return {"period": _period_text(c.period), "prior_period": _period_text(c.prior),
            "collector": ""}


AGING = Job("ar_aging.ipynb", "AR aging", _aging_params, 2)
COLLECTIONS = Job("collections_overview.ipynb", "Collections overview", _collections_params, 3)
RESERVE = Job("quarterly_reserve.ipynb", "Bad-debt reserve analysis",
              lambda c: {"quarter": c.period.label, "method": c.options.get("method", ""),
                         "risk_model": ""}, 5)
CASH = Job("cash_reconciliation.ipynb", "Cash reconciliation",
           lambda c: {"bank_files": str(Path(c.snapshot) / "files" / "bank" / "*"), "as_of": "",
                      "auto_post_threshold": 0.9}, 4)
CREDIT = Job("credit_evaluation.ipynb", "Credit portfolio", lambda c: {"customer_id": ""}, 6)
RISK = Job("payment_risk.ipynb", "Payment risk",
           lambda c: {"late_days": 30, "horizon_weeks": 13,
                      "time_budget_s": int(c.options.get("time_budget", 600))}, 9)

#: Notebooks of each pack, in the order a reader meets them.
PACKS: dict[str, list[Job]] = {
    "quarter-end": [RESERVE, AGING, COLLECTIONS, CASH, CREDIT, RISK],
    "month-end": [AGING, COLLECTIONS],
    "weekly": [AGING, COLLECTIONS],
}
_WORKBOOK = {"quarter-end": "quarter_pack.xlsx", "month-end": "month_pack.xlsx",
             "weekly": "week_pack.xlsx"}
_TITLES = {"quarter-end": "Quarter-end pack", "month-end": "Month-end pack",
           "weekly": "Weekly pack"}


def resolve_period(kind: str, spec: str | None, last_date) -> tuple[Period, Period]:
    """The pack's period and the one before it (shown beside it)."""
    if kind == "quarter-end":
        if spec in (None, "", "last"):
            if last_date is None:
                raise PackError("the ledger has no dated rows: no quarter to report")
            period = last_closed_quarter(last_date)
        else:
            try:
                period = parse_period(spec)
            except ValueError as e:
                raise PackError(str(e)) from None
            if period.label[4:5] != "Q":
                raise PackError(f"a quarter-end pack needs a quarter like 2026Q3; got {spec!r}")
        prior = parse_period(f"{(period.start - pd.Timedelta(days=1)).year}"
                             f"Q{(period.start - pd.Timedelta(days=1)).quarter}")
    elif kind == "month-end":
        if spec in (None, "", "last"):
            if last_date is None:
                raise PackError("the ledger has no dated rows: no month to report")
            end = pd.Timestamp(last_date)
            end = end if end.is_month_end else end - pd.offsets.MonthEnd(1)
            spec = f"{end.year}-{end.month:02d}"
        try:
            period = parse_period(spec)
        except ValueError as e:
            raise PackError(str(e)) from None
        if len(period.label) != 7:
            raise PackError(f"a month-end pack needs a month like 2026-09; got {spec!r}")
        p = period.start - pd.Timedelta(days=1)
        prior = parse_period(f"{p.year}-{p.month:02d}")
    elif kind == "weekly":
        try:
            end = pd.Timestamp(spec).normalize() if spec else None
        except ValueError:
            end = None
        if end is None or pd.isna(end):
            raise PackError(f"a weekly pack needs --week-ending YYYY-MM-DD; got {spec!r}")
        start = end - pd.Timedelta(days=6)
        period = Period(f"week-ending-{end.date()}", start, end)
        prior = Period(f"week-ending-{(end - pd.Timedelta(days=7)).date()}",
                       start - pd.Timedelta(days=7), end - pd.Timedelta(days=7))
    else:
        raise PackError(f"unknown pack {kind!r}: quarter-end, month-end or weekly")
    return period, prior


# --------------------------------------------------------------------------- helpers
def _package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "workbench": __version__}
    for p in _PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def _git_commit() -> dict:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return {"commit": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10)
        return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}


def _input_files(folder: Path) -> dict[str, str]:
    """Every file of the ledger folder (bank statements included) with its SHA-256."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts) \
                and rel.parts[0] != "truth":
            out[str(rel)] = file_sha256(p)
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep(out_root: Path) -> None:
    """Remove what a killed run left behind (its temporary folders), never a live run's."""
    for p in out_root.glob(".building-*"):
        try:
            pid = int(p.name.split("-")[-2])
        except (ValueError, IndexError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
    for p in out_root.glob(".*.old-*"):
        try:
            pid = int(p.name.rsplit("-", 1)[-1])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


# --------------------------------------------------------------------------- the run
def run_pack(kind: str, ledger_dir: str | Path, period: str | None = None,
             out_root: str | Path | None = None, *, allow_open_period: bool = False,
             run_notebooks: bool = True, jobs: int | None = None, progress: bool = False,
             options: dict | None = None, snapshots_root: str | Path | None = None,
             after_snapshot: Callable[[Path], None] | None = None) -> Path:
    """Build ``reports/<period>/`` for a ledger; return the folder.

    Parameters
    ----------
    kind : {"quarter-end", "month-end", "weekly"}
    ledger_dir : path
        The ledger folder (validated once; an invalid ledger raises
        :class:`workbench.ledger.LedgerError` and writes nothing).
    period : str
        ``2026Q3`` (quarter-end; ``last``: the last quarter closed), ``2026-09``
        (month-end), ``2026-10-04`` (weekly: the week ending that day).
    allow_open_period : bool
        Run on a period that ends after the ledger's last date (refused otherwise).
    jobs : int
        Notebooks run at once (default: 2, or 1 on a one-core machine).
    options : dict
        ``method`` (reserve method), ``time_budget`` (seconds for the payment-risk
        notebook's training and backtest; the per-cell time limit of every notebook).
    after_snapshot : callable
        Called with the snapshot folder once it is written (tests use it).
    """
    t_start = time.perf_counter()
    started = _now()
    if kind not in PACKS:
        raise PackError(f"unknown pack {kind!r}: {', '.join(PACKS)}")
    ledger_dir = Path(ledger_dir).resolve()
    if not ledger_dir.is_dir():
        raise PackError(f"ledger folder {ledger_dir} does not exist")
    options = dict(options or {})
    options.setdefault("time_budget", 600)
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda m: None)

    say(f"loading and validating {ledger_dir.name} ...")
    t0 = time.perf_counter()
    ledger = Ledger.load(ledger_dir, progress=progress and sys.stderr.isatty())
    load_seconds = time.perf_counter() - t0
    per, prior = resolve_period(kind, period, ledger.last_date)
    last = ledger.last_date
    if last is not None and per.end > last and not allow_open_period:
        raise PackError(f"{per.label} ends on {per.end.date()}, after the ledger's last date "
                        f"{last.date()}: the period is not closed on this ledger (run on a "
                        f"closed period, or pass --allow-open-period to report it as it stands)")
    if last is None or per.end < ledger.first_date:
        raise PackError(f"{per.label} ends before anything in the ledger (first invoice "
                        f"{None if ledger.first_date is None else ledger.first_date.date()})")

    out_root = Path(out_root or REPORTS_DIR)
    out_root.mkdir(parents=True, exist_ok=True)
    _sweep(out_root)
    target = out_root / per.label
    tmp = Path(tempfile.mkdtemp(prefix=f".building-{per.label}-{os.getpid()}-", dir=out_root))
    os.chmod(tmp, 0o755)
    try:
        # the snapshot: validated ledger + bank statements + state rows, sealed by hashes
        from ..state import StateRows

        t0 = time.perf_counter()
        state = StateRows.capture()
        state_file = tmp / ".state_rows.json"
        state_file.write_text(state.to_json(), encoding="utf-8")
        bank = {f"bank/{p.name}": p for p in sorted((ledger_dir / "bank").glob("*"))
                if p.is_file() and not p.name.startswith(".")} \
            if (ledger_dir / "bank").is_dir() else {}
        digest, snapshot, snap_files = write_snapshot(
            ledger, snapshots_root or DATA_DIR / "snapshots",
            {**bank, "state_rows.json": state_file})
        state_file.unlink()
        snapshot_seconds = time.perf_counter() - t0
        say(f"snapshot {snapshot.name} written ({snapshot_seconds:.1f} s)")
        if after_snapshot is not None:
            after_snapshot(snapshot)

        # the parent's tables read the same frozen state rows as the notebooks
        ledger.snapshot = {"path": str(snapshot), "content_hash": digest,
                                       "files": snap_files}
        ctx = Context(kind, per, prior, str(snapshot), str(tmp), options)
        timing, held = {}, {"ledger": ledger}
        del ledger

        def tables() -> dict:
            # the machine tables (as the CLI gives them), computed while the notebooks run;
            # then the parent lets the ledger go (the kernels read the snapshot)
            t0 = time.perf_counter()
            ledger = held.pop("ledger")
            got = write_tables(ledger, per, tmp)
            if kind == "quarter-end" and not run_notebooks:
                got.update(write_reserve(ledger, per, tmp))
            timing["tables"] = time.perf_counter() - t0
            return got

        inputs = _input_files(ledger_dir)
        runs = []
        if run_notebooks:
            titles = {job.notebook: title_block(company_name(), job.title, per.label,
                                                str(per.end.date()), started, digest)
                      for job in PACKS[kind]}
            t0 = time.perf_counter()
            runs, policies = _run_notebooks(kind, ctx, tmp, jobs, options, say,
                                            meanwhile=tables, titles=titles)
            timing["notebooks"] = time.perf_counter() - t0
            failed = [r for r in runs if r["status"] == "failed"] or \
                [r for r in runs if r["status"] != "ok"]
            if failed:
                raise _fail(failed[0], runs, tmp, out_root, per, kind, started)
            t0 = time.perf_counter()
            _render(kind, ctx, tmp, digest, started, runs)
            timing["workbook"] = time.perf_counter() - t0
            if kind == "quarter-end":
                policies.update(_reserve_from_notebook(tmp))
        else:
            policies = tables()
        tables_seconds = timing["tables"]

        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                files[str(p.relative_to(tmp))] = {"sha256": file_sha256(p),
                                                  "bytes": p.stat().st_size}
        manifest = {
            "pack": kind, "status": "complete", "period": per.label,
            "quarter": per.label if kind == "quarter-end" else None,
            "as_of": str(per.end.date()), "period_start": str(per.start.date()),
            "prior_period": prior.label, "company": company_name(),
            "parameters": {"ledger": str(ledger_dir), "period": period, "kind": kind,
                           "allow_open_period": allow_open_period, **options},
            "ledger": str(ledger_dir), "ledger_hash": digest,
            "ledger_snapshot": str(snapshot),
            "snapshot": {"path": str(snapshot), "content_hash": digest, "files": snap_files},
            "inputs": inputs,
            "state_rows": {"tables": state.counts(),
                           "sha256": snap_files.get("state_rows.json")},
            "policies": policies, "versions": _package_versions(), "git": _git_commit(),
            "started": started, "ended": _now(),
            "seconds": {"total": round(time.perf_counter() - t_start, 2),
                        "load_and_validate": round(load_seconds, 2),
                        "snapshot": round(snapshot_seconds, 2),
                        "tables": round(tables_seconds, 2),
                        **{f"{k}_wall": round(v, 2) for k, v in timing.items()
                           if k in ("notebooks", "workbook")}},
            "notebooks": [{k: r[k] for k in ("notebook", "status", "started", "ended", "seconds")}
                          for r in runs],
            "not_computed": _gaps(tmp, kind),
            "files": files,
        }
        shutil.rmtree(tmp / "_collected", ignore_errors=True)
        manifest["files"] = {k: v for k, v in files.items() if not k.startswith("_collected")}
        atomic_write_text(tmp / "manifest.json",
                          json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, target)
        # no completion line here: the caller (the ``workbench report`` command) says it once
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _reserve_from_notebook(tmp: Path) -> dict:
    """``reserve.json`` as the reserve notebook computed it (from the same snapshot and state
    rows the parent would read), so the pack runs the analysis and its backtest once."""
    record = collected(tmp, Path(RESERVE.notebook).stem)["records"]["reserve"]
    atomic_write_text(tmp / "reserve.json", json.dumps(record, indent=2) + "\n")
    return {"reserve_policy": record["policy"]}


def _gaps(tmp: Path, kind: str) -> dict[str, list[str]]:
    out = {}
    for job in PACKS[kind]:
        gaps = collected(tmp, Path(job.notebook).stem)["gaps"]
        if gaps:
            out[job.notebook] = gaps
    return out


def _fail(first: dict, runs: list[dict], tmp: Path, out_root: Path, per: Period, kind: str,
          started: str) -> PackFailed:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    failed_dir = out_root / "_failed" / f"{per.label}-{stamp}"
    failed_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp / "_collected", ignore_errors=True)
    atomic_write_text(tmp / "manifest.json", json.dumps(
        {"pack": kind, "status": "failed", "period": per.label, "started": started,
         "ended": _now(), "notebooks": runs}, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, failed_dir)
    where = ""
    if first.get("exec_count") is not None or first.get("cell_index") is not None:
        where = f" in cell {first.get('exec_count') or first.get('cell_index')}"
        if first.get("cell_heading"):
            where += f" (section '{first['cell_heading']}')"
    others = ""
    for status, words in (("stopped", "stopped unfinished"), ("not run", "not run")):
        names = [r["notebook"] for r in runs if r["status"] == status]
        if names:
            others += f"; {words}: {', '.join(names)}"
    msg = (f"notebook {first['notebook']} failed{where}: {first.get('error', 'unknown error')}"
           f"{others}; no pack written, the partial output is in {failed_dir}")
    return PackFailed(msg, failed_dir, first["notebook"], first.get("exec_count"))


def _render(kind: str, ctx: Context, tmp: Path, digest: str, started: str, runs: list[dict]):
    """HTML for people of every notebook; every table they showed into the workbook and
    CSV files (exact decimals)."""
    import nbformat

    from ..reporting import write_workbook
    from ..reporting.html import notebook_to_html

    company = company_name()
    tables, summary = [], []
    for job in PACKS[kind]:
        path = tmp / job.notebook
        if not path.with_suffix(".html").exists():      # the worker writes it; else here
            block = title_block(company, job.title, ctx.period.label,
                                str(ctx.period.end.date()), started, digest)
            nb = nbformat.read(path, as_version=4)
            atomic_write_text(path.with_suffix(".html"), notebook_to_html(nb, title_html=block))
        got = collected(tmp, path.stem)
        for label, value, note in got["summary"]:
            summary.append((f"{job.title}: {label}", value if not note else f"{value} ({note})"))
        for gap in got["gaps"]:
            summary.append((f"{job.title}: not computed", gap))
        tables.extend(got["tables"])
    kept: dict[str, object] = {}
    for t in tables:
        seen = kept.get(t.name)
        if seen is not None:
            if seen.frame.equals(t.frame):
                continue               # the same table shown in two notebooks: kept once
            raise RuntimeError(f"two different tables of the pack are named {t.name!r}")
        kept[t.name] = t
        _write_csv(t, tmp / "tables" / f"{t.name}.csv")
    tables = list(kept.values())
    write_workbook(tmp / _WORKBOOK[kind], tables, summary, title=_TITLES[kind],
                   company=company, period_label=ctx.period.label, prepared_at=started,
                   ledger_hash=digest)


def _minor_units_columns(table, df: pd.DataFrame) -> list[str]:
    """The columns of a kept table holding integer minor units: those declared ``money``
    and, by the workbench's naming rule, every ``*_minor`` column of whole numbers (a
    notebook that shows only some of its amounts still keeps them all in the frame)."""
    cols = [c for c in table.money if c in df.columns]
    for c in df.columns:
        if c in cols or not str(c).endswith("_minor"):
            continue
        values = [v for v in df[c].astype(object) if not (v is None or v is pd.NA or v != v)]
        if values and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                          or isinstance(v, (float, np.floating)) and float(v).is_integer()
                          for v in values):
            cols.append(c)
    return cols


def _write_csv(table, path: Path) -> None:
    """A kept table as CSV: code names, money as exact decimal text (every column of
    minor units, shown or not), numbers with every digit (no exponents), one row per row."""
    from ..money import format_amount

    df = table.frame.copy()
    if "currency" not in df.columns and table.currency:
        df["currency"] = table.currency
    money = _minor_units_columns(table, df) if "currency" in df.columns else []
    for c in money:
        # exact decimal text by each row's currency; an empty cell stays empty
        df[c] = [("" if v is None or v is pd.NA or v != v or cur is None or cur != cur
                  else format_amount(int(v), cur))
                 for v, cur in zip(df[c].astype(object), df["currency"])]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n",
                                      date_format="%Y-%m-%d"))


def run_quarter_pack(ledger_dir, quarter=None, out_root=None, **kwargs) -> Path:
    """The quarter-end pack (see :func:`run_pack`)."""
    return run_pack("quarter-end", ledger_dir, quarter, out_root, **kwargs)

