"""Column maps: a source's own column names, formats and fixed values mapped onto the
canonical tables (YAML, every problem collected), applied as the tables are read; the
load report and header normalisation they share with the readers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..schema import TABLES, Problem, RawTable


__all__ = ["ColumnMap", "ColumnSpec", "TableMap", "LoadReport", "load_column_map",
           "apply_column_spec", "normalise_header"]


@dataclass
class LoadReport:
    """What the loader read: files, rows, and rows a column map's filter set aside."""

    files: dict[str, str] = field(default_factory=dict)        # table -> file
    rows: dict[str, int] = field(default_factory=dict)         # table -> rows read
    filtered_out: dict[str, int] = field(default_factory=dict)  # table -> rows excluded by map
    blank_lines: dict[str, int] = field(default_factory=dict)
    column_map: str | None = None


def normalise_header(name: str) -> str:
    """``" Invoice ID "`` -> ``invoice_id`` (the canonical snake_case)."""
    name = str(name).replace("\ufeff", "").strip()
    name = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
    return name.lower()



@dataclass
class ColumnSpec:
    source: str | None
    pattern: str | None = None
    date_format: str | None = None
    thousands: str | None = None
    decimal: str | None = None
    strip: str | None = None         # characters to remove (currency symbols)
    parentheses_negative: bool = False
    constant: str | None = None
    mapping: dict | None = None      # value translation, e.g. {"Net 30": "30"}


@dataclass
class TableMap:
    table: str
    file: str | None = None
    sheet: str | None = None
    where: dict[str, list[str]] = field(default_factory=dict)
    columns: dict[str, ColumnSpec] = field(default_factory=dict)


@dataclass
class ColumnMap:
    """How one ERP's export maps to the canonical tables (loaded from YAML)."""

    name: str
    version: str
    tables: dict[str, TableMap]
    path: str | None = None


def load_column_map(path: str | Path) -> ColumnMap:
    """Load and check a column-map YAML file (see ``workbench/io/maps/`` for an example)."""
    path = Path(path)
    if not path.exists():
        from ..config import MAPS_DIR
        candidate = MAPS_DIR / f"{path.name}" if path.suffix else MAPS_DIR / f"{path.name}.yaml"
        if candidate.exists():
            path = candidate
        else:
            raise FileNotFoundError(f"column map {path} not found")
    doc = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    errors = []
    if not isinstance(doc.get("tables"), dict):
        raise ValueError(f"{path}: a column map needs a 'tables' mapping")
    tables = {}
    for tname, tdoc in doc["tables"].items():
        if tname not in TABLES:
            errors.append(f"{path}: tables.{tname}: unknown table (one of {', '.join(TABLES)})")
            continue
        tdoc = tdoc or {}
        cols = {}
        for target, spec in (tdoc.get("columns") or {}).items():
            known = {c.name for c in TABLES[tname].columns}
            if target not in known:
                errors.append(f"{path}: tables.{tname}.columns.{target}: not a column of {tname}")
                continue
            if isinstance(spec, str):
                cols[target] = ColumnSpec(source=spec)
            elif isinstance(spec, dict):
                unknown = set(spec) - {"from", "pattern", "date_format", "thousands", "decimal",
                                       "strip", "parentheses_negative", "constant", "map"}
                if unknown:
                    errors.append(f"{path}: tables.{tname}.columns.{target}: unknown keys "
                                  f"{sorted(unknown)}")
                if "from" not in spec and "constant" not in spec:
                    errors.append(f"{path}: tables.{tname}.columns.{target}: needs 'from' or "
                                  f"'constant'")
                cols[target] = ColumnSpec(
                    source=spec.get("from"), pattern=spec.get("pattern"),
                    date_format=spec.get("date_format"), thousands=spec.get("thousands"),
                    decimal=spec.get("decimal"), strip=spec.get("strip"),
                    parentheses_negative=bool(spec.get("parentheses_negative", False)),
                    constant=None if spec.get("constant") is None else str(spec["constant"]),
                    mapping={str(k): str(v) for k, v in (spec.get("map") or {}).items()} or None)
            else:
                errors.append(f"{path}: tables.{tname}.columns.{target}: expected a header "
                              f"name or a mapping")
        where = {k: [str(x) for x in (v if isinstance(v, list) else [v])]
                 for k, v in (tdoc.get("where") or {}).items()}
        tables[tname] = TableMap(tname, tdoc.get("file"), tdoc.get("sheet"), where, cols)
    if errors:
        raise ValueError("invalid column map:\n" + "\n".join(errors))
    return ColumnMap(str(doc.get("name", path.stem)), str(doc.get("version", "1")), tables,
                     str(path))


def apply_column_spec(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """One source column turned into canonical text by a column map's spec (value map,
    pattern, separators, symbols, parentheses for negatives); typing happens later."""
    s = values.astype(object).fillna("").astype(str)
    if spec.mapping:
        s = s.map(lambda v: spec.mapping.get(v.strip(), v))
    if spec.pattern:
        got = s.str.extract(spec.pattern, expand=False)
        if isinstance(got, pd.DataFrame):
            got = got.iloc[:, 0]
        s = got.where(got.notna(), s)   # keep the original text when it does not match
    if spec.strip:
        for ch in spec.strip:
            s = s.str.replace(ch, "", regex=False)
    if spec.parentheses_negative:
        s = s.str.strip().str.replace(r"^\((.*)\)$", r"-\1", regex=True)
    if spec.thousands:
        s = s.str.replace(spec.thousands, "", regex=False)
    if spec.decimal and spec.decimal != ".":
        s = s.str.replace(spec.decimal, ".", regex=False)
    if spec.date_format:
        parsed = pd.to_datetime(s.str.strip(), format=spec.date_format, errors="coerce")
        s = pd.Series(np.where(parsed.notna(), parsed.dt.strftime("%Y-%m-%d"), s),
                      index=s.index, dtype=object)
    return s.str.strip()


def _apply_table_map(raw: RawTable, tmap: TableMap, report: LoadReport,
                     problems: list[Problem]) -> RawTable:
    df = raw.frame
    keep = np.ones(len(df), bool)
    for col, allowed in tmap.where.items():
        if col not in df.columns:
            problems.append(Problem(raw.name, None, col, f"column map filter column '{col}' is "
                                    f"not in {raw.file}", None, raw.file))
            continue
        keep &= df[col].str.strip().isin(allowed).to_numpy()
    if not keep.all():
        report.filtered_out[raw.name] = int((~keep).sum())
        df = df[keep].reset_index(drop=True)
        lines = raw.lines[keep]
    else:
        lines = raw.lines
    out = {}
    mapped_sources = set()
    for target, spec in tmap.columns.items():
        if spec.source is None:
            out[target] = pd.Series([spec.constant] * len(df), dtype=object)
            continue
        if spec.source not in df.columns:
            if spec.constant is not None:
                out[target] = pd.Series([spec.constant] * len(df), dtype=object)
                continue
            problems.append(Problem(raw.name, None, target,
                                    f"column map names '{spec.source}' for {target}, but "
                                    f"{raw.file} has no such column", None, raw.file))
            continue
        mapped_sources.add(spec.source)
        out[target] = apply_column_spec(df[spec.source], spec).reset_index(drop=True)
    frame = pd.DataFrame(out, index=pd.RangeIndex(len(df)))
    # unmapped source columns stay as extras (normalised names), never lost
    for col in df.columns:
        name = normalise_header(col)
        if col not in mapped_sources and name not in frame.columns:
            frame[name] = df[col].to_numpy(dtype=object)
    # cells the reader named (Excel formulas, merged ranges), under their canonical names
    targets: dict[str, list[str]] = {}
    for target, spec in tmap.columns.items():
        if spec.source is not None:
            targets.setdefault(spec.source, []).append(target)
    named = frozenset((line, t) for line, col in raw.named
                      for t in targets.get(col, [normalise_header(col)]))
    return RawTable(raw.name, frame.fillna("").astype("str"), lines, raw.file, named)


