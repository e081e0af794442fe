"""The quarter-end pack: papermill runs the report notebooks, tables go to CSV and Excel,
and a manifest names every file (with its SHA-256), the ledger snapshot and its hash,
the policies and the package versions.

The pack is built in a temporary folder beside ``reports/<quarter>/`` and renamed into
place only when complete: a crash leaves the previous pack untouched. Tables are written
deterministically (sorted rows, fixed formats), so the same ledger gives the same CSV
files byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
from importlib import metadata as md
from pathlib import Path

import pandas as pd

from . import __version__
from .aging import aging_records, aging_table, load_aging_policy
from .config import DATA_DIR, NOTEBOOKS_DIR, REPORTS_DIR
from .io.writer import atomic_write_text, make_temp_dir, replace_dir
from .ledger import Ledger
from .money import format_amount_array, MINOR_UNITS
from .periods import Period, last_closed_quarter, parse_period

__all__ = ["run_quarter_pack", "PACK_NOTEBOOKS", "snapshot_ledger", "money_frame"]

#: Notebooks of the pack, with the parameters each receives (besides ledger_dir, as_of).
PACK_NOTEBOOKS = {
    "ar_aging.ipynb": lambda period: {"group_by": "segment"},
    "collections_overview.ipynb": lambda period: {"period": period.label, "collector": ""},
}

_PACKAGES = ("pandas", "numpy", "pyarrow", "pandera", "papermill", "scikit-learn", "seaborn",
             "matplotlib", "sqlalchemy", "openpyxl", "duckdb")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def money_frame(table: pd.DataFrame, money_columns: list[str]) -> pd.DataFrame:
    """Money columns (minor units) to exact decimal text, by each row's currency."""
    out = table.copy()
    digits = out["currency"].map(MINOR_UNITS).to_numpy()
    for c in money_columns:
        out[c] = format_amount_array(out[c].to_numpy(), digits)
    return out


def snapshot_ledger(ledger: Ledger, root: Path | None = None) -> tuple[str, Path]:
    """Keep the ledger a report ran on as Parquet under ``data/snapshots/<hash>/``."""
    digest = ledger.content_hash()
    root = Path(root or DATA_DIR / "snapshots")
    target = root / digest[:16]
    if not target.exists():
        ledger.to_parquet(target)
    return digest, target


def _package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "workbench": __version__}
    for p in _PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            pass
    return out


def _write_tables(ledger: Ledger, period: Period, folder: Path) -> dict:
    as_of = period.end
    policy = load_aging_policy()
    labels = list(policy.labels)
    by_currency = aging_table(ledger, as_of, policy=policy)
    by_segment = aging_table(ledger, as_of, by="segment", policy=policy)
    by_customer = aging_table(ledger, as_of, by="customer", policy=policy)
    money = labels + ["total"]
    tables = {
        "aging_by_currency": money_frame(by_currency, money),
        "aging_by_segment": money_frame(by_segment, money),
        "aging_by_customer": money_frame(by_customer, money),
    }
    for name, df in tables.items():
        text = df.to_csv(index=False, lineterminator="\n", float_format="%.4f")
        atomic_write_text(folder / f"{name}.csv", text)
    atomic_write_text(folder / "aging.json",
                      json.dumps(aging_records(by_currency), indent=2) + "\n")
    policies = {"aging_policy": f"{policy.name} {policy.version}"}
    policies.update(_write_collections(ledger, period, folder))
    summary = ledger.summary()
    summary.update({"validation": {"problems": 0, "status": "valid"},
                    "load_report": {"files": ledger.load_report.files,
                                    "rows": ledger.load_report.rows,
                                    "filtered_out": ledger.load_report.filtered_out,
                                    "blank_lines": ledger.load_report.blank_lines},
                    "ar": {c: v for c, v in _ar_text(ledger, as_of).items()},
                    "unapplied_cash": _unapplied_text(ledger, as_of)})
    atomic_write_text(folder / "ledger_summary.json",
                      json.dumps(summary, indent=2, sort_keys=True) + "\n")
    _write_excel(folder / "quarter_pack.xlsx", summary, tables, period, set(money))
    return policies


def _write_collections(ledger: Ledger, period: Period, folder: Path) -> dict:
    """KPIs for the quarter (per currency and per segment), the 12 month-end trend, the
    worklist and the proposals as of the quarter end."""
    from .collections import (default_activity_frame, load_collections_policy,
                              suspension_proposals, worklist, write_off_proposals)
    from .kpis import KPIOptions, _MONEY_FIELDS, kpi_records, kpi_table, kpi_trend

    policy = load_collections_policy()
    acts = default_activity_frame(ledger)
    options = KPIOptions(promise_grace_days=policy.promise_grace_days,
                         promise_tolerance_pct=policy.promise_tolerance_pct)
    kpis = kpi_table(ledger, period, options=options, activities=acts)
    atomic_write_text(folder / "kpis.json", json.dumps(kpi_records(kpis), indent=2) + "\n")
    money = [c for c in _MONEY_FIELDS]

    def csv(name, df, cols):
        text = money_frame(df, [c for c in cols if c in df.columns]).to_csv(
            index=False, lineterminator="\n", float_format="%.4f")
        atomic_write_text(folder / f"{name}.csv", text)

    csv("kpis_by_currency", kpis, money)
    csv("kpis_by_segment", kpi_table(ledger, period, by="segment", options=options,
                                     activities=acts), money)
    csv("kpi_trend", kpi_trend(ledger, period.end, points=12, options=options, activities=acts),
        money)
    wl = worklist(ledger, period.end, policy, acts)
    csv("worklist", wl, ["open_ar", "past_due_ar", "promise_due_today"])
    csv("suspension_proposals", suspension_proposals(ledger, period.end, policy, acts),
        ["past_due_ar"])
    csv("write_off_proposals", write_off_proposals(ledger, period.end, policy), ["open_balance"])
    from_log = int((acts["source"] == "state").sum()) if "source" in acts else 0
    return {"collections_policy": policy.label, "kpi_formulas": options.formulas(),
            "activity_log_rows_used": from_log}


def _ar_text(ledger: Ledger, as_of) -> dict[str, str]:
    from .money import format_amount
    return {c: format_amount(v, c) for c, v in ledger.ar_balance(as_of).items()}


def _unapplied_text(ledger: Ledger, as_of) -> dict[str, str]:
    from .money import format_amount
    un = ledger.unapplied_cash(as_of)
    if not len(un):
        return {}
    sums = un.groupby("currency")["unapplied_minor"].sum()
    return {c: format_amount(int(v), c) for c, v in sums.items()}


def _write_excel(path: Path, summary: dict, tables: dict[str, pd.DataFrame], period: Period,
                 money_columns: set[str]) -> None:
    """The pack's workbook: amounts as numbers with the currency's decimals (display), a
    summary sheet first. Exact values are in the CSV files."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from .io.writer import atomic_path

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["Quarter-end pack", period.label])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["As of", str(period.end.date())])
    ws.append(["Ledger", summary.get("source", "")])
    ws.append([])
    ws.append(["Table", "Rows"])
    for name, entry in summary["tables"].items():
        ws.append([name, entry["rows"]])
    ws.append([])
    ws.append(["AR (open balances)", "Currency", "Amount"])
    for cur, amt in summary["ar"].items():
        ws.append(["", cur, float(amt)])
    ws.append(["Unapplied cash", "Currency", "Amount"])
    for cur, amt in summary["unapplied_cash"].items():
        ws.append(["", cur, float(amt)])
    for name, df in tables.items():
        sheet = wb.create_sheet(name[:31])
        sheet.append(list(df.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        money = [c in money_columns for c in df.columns]
        cur_at = list(df.columns).index("currency") if "currency" in df.columns else None
        for r, row in enumerate(df.itertuples(index=False), start=2):
            sheet.append([float(v) if m and v != "" else v for v, m in zip(row, money)])
            digits = MINOR_UNITS.get(row[cur_at], 2) if cur_at is not None else 2
            fmt = "#,##0" if digits == 0 else "#,##0." + "0" * digits
            for c, m in enumerate(money, start=1):
                if m:
                    sheet.cell(row=r, column=c).number_format = fmt
        for i, col in enumerate(df.columns, start=1):
            sheet.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(str(col)) + 4))
        sheet.freeze_panes = "A2"
    wb.properties.creator = "Collections Workbench"
    with atomic_path(path) as tmp:
        wb.save(tmp)


def _run_notebooks(ledger_dir: Path, period: Period, folder: Path, progress: bool) -> list[str]:
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    written = []
    for name, params in PACK_NOTEBOOKS.items():
        src = NOTEBOOKS_DIR / name
        dst = folder / name
        pm.execute_notebook(
            str(src), str(dst), kernel_name="python3", progress_bar=progress,
            parameters={"ledger_dir": str(ledger_dir), "as_of": str(period.end.date()),
                        **params(period)},
            cwd=str(NOTEBOOKS_DIR))
        nb = nbformat.read(dst, as_version=4)
        exporter = HTMLExporter(exclude_input=True)
        html, _ = exporter.from_notebook_node(nb)
        atomic_write_text(dst.with_suffix(".html"), html)
        written += [dst.name, dst.with_suffix(".html").name]
    return written


def run_quarter_pack(ledger_dir: str | Path, quarter: str | None = None,
                     out_root: str | Path | None = None, *, run_notebooks: bool = True,
                     progress: bool = False) -> Path:
    """Build ``reports/<quarter>/`` for a ledger.

    Parameters
    ----------
    ledger_dir : path
        The ledger folder (validated first; an invalid ledger produces no pack).
    quarter : str, optional
        ``2026Q3``; by default the last quarter closed on the ledger's last date.
    out_root : path, optional
        Where packs go (default ``reports/``).

    Returns
    -------
    Path of the pack folder.
    """
    ledger_dir = Path(ledger_dir).resolve()
    ledger = Ledger.load(ledger_dir)
    if quarter in (None, "", "last"):
        if ledger.last_date is None:
            raise ValueError(f"ledger {ledger_dir} has no dated rows: no quarter to report")
        period = last_closed_quarter(ledger.last_date)
    else:
        period = parse_period(quarter)
        if not period.label[4:5] == "Q":
            raise ValueError(f"a quarter-end pack needs a quarter like 2026Q3; got {quarter!r}")
    out_root = Path(out_root or REPORTS_DIR)
    out_root.mkdir(parents=True, exist_ok=True)
    target = out_root / period.label
    tmp = make_temp_dir(target)
    try:
        policies = _write_tables(ledger, period, tmp)
        digest, snapshot = snapshot_ledger(ledger)
        notebooks = _run_notebooks(ledger_dir, period, tmp, progress) if run_notebooks else []
        files = {}
        for p in sorted(tmp.rglob("*")):
            if p.is_file():
                files[str(p.relative_to(tmp))] = {"sha256": _sha256(p), "bytes": p.stat().st_size}
        manifest = {
            "pack": "quarter-end", "quarter": period.label, "as_of": str(period.end.date()),
            "period_start": str(period.start.date()), "ledger": str(ledger_dir),
            "ledger_hash": digest, "ledger_snapshot": str(snapshot),
            "policies": policies, "notebooks": notebooks, "files": files,
            "versions": _package_versions(),
        }
        atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target
