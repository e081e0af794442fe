"""Read a ledger folder (CSV, Parquet, Excel) into raw text tables, with column maps.

Every cell is read as text (Parquet values are cast to their canonical text form), so
that typing and validation happen once, exactly, in :mod:`workbench.schema`. Each row
keeps the line of the file it came from (header = line 1; Excel: the sheet row;
Parquet: the 1-based row number) so every problem can name it.

Accepted without fuss: a UTF-8 byte-order mark, CRLF line ends, extra columns (kept),
any column order, blank lines (skipped, their line numbers still counted), headers in
any case or with spaces (``Invoice ID`` -> ``invoice_id``).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..schema import TABLES, Problem, RawTable
from .column_maps import (ColumnMap, ColumnSpec, LoadReport, TableMap, _apply_table_map,
                          apply_column_spec, load_column_map, normalise_header)

__all__ = ["ColumnMap", "load_column_map", "read_ledger_folder", "LoadReport", "normalise_header",
           "apply_column_spec", "read_csv_table", "ColumnSpec"]


# --------------------------------------------------------------------------- readers

def read_csv_table(path: Path, table: str, problems: list[Problem], report: LoadReport,
                   keep_headers: bool) -> RawTable | None:
    """A CSV file as a raw text table (every cell text, each row with the file line it
    starts on); problems are appended, never raised."""
    data = path.read_bytes()
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        problems.append(Problem(table, None, None, f"file {path.name} is empty", None, str(path)))
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        start = data.rfind(b"\n", 0, e.start) + 1
        end = data.find(b"\n", e.start)
        text = data[start: end if end >= 0 else len(data)].rstrip(b"\r")
        problems.append(Problem(table, line, None, f"file {path.name} is not UTF-8 text "
                                f"(byte {e.start}: 0x{data[e.start]:02x} in "
                                f"{_shorten(text.decode('utf-8', 'backslashreplace'))!r})",
                                None, str(path)))
        return None
    text_start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    first_line = data[text_start:].split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    header = next(iter(pd.read_csv(io.StringIO(first_line), header=None, dtype=str,
                                   keep_default_na=False).itertuples(index=False)), ())
    header = [str(h) for h in header]
    names = header if keep_headers else [normalise_header(h) for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1})
    for d in dupes:
        problems.append(Problem(table, 1, d, f"column '{d}' appears more than once in the header",
                                None, str(path)))
    if dupes or not names:
        return None
    invalid: list[tuple[int | None, int, int, str]] = []

    def on_invalid(row):
        invalid.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    # a quoted value may hold line breaks only when the file has a quote character; Arrow
    # then needs to know, or a value spanning its 16 MB block boundary breaks the read
    quoted = b'"' in data
    try:
        tbl = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1,
                                           block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid,
                                             ignore_empty_lines=False,
                                             newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        problems.append(Problem(table, None, None, f"cannot parse {path.name}: {e}", None,
                                str(path)))
        return None
    # Arrow numbers records (header = 1); a record holding a quoted line break spans
    # several lines of the file, so each record's first line is counted, not assumed
    numbered = [r for r in invalid if r[0] is not None]    # all of them, with one thread
    invalid_at = np.array([r[0] - 2 for r in numbered], dtype=np.int64)
    starts = _record_start_lines(data, tbl, numbered, invalid_at)
    kept = np.ones(len(starts), bool)
    kept[invalid_at] = False
    for number, expected, actual, text in invalid:
        msg = (f"row has {actual} of {expected} columns (truncated line?)" if actual < expected
               else f"row has {actual} columns, the header has {expected}")
        line = None if number is None or number - 2 >= len(starts) else int(starts[number - 2])
        problems.append(Problem(table, line, None, f"{msg}: {_shorten(text)!r}", None,
                                str(path)))
    lines = starts[kept]
    frame = tbl.to_pandas()
    # blank lines come through as rows of empty cells: skip them, keep the numbering
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.zeros(0, bool)
    if blank.any():
        report.blank_lines[table] = int(blank.sum())
        frame = frame[~blank].reset_index(drop=True)
        lines = lines[~blank]
    # a last line without its closing quote or cut mid-record is caught above; a file cut
    # mid-field without a newline is indistinguishable from a short last value.
    return RawTable(table, frame, lines, str(path))


def _shorten(text: str | None, width: int = 80) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _line_breaks(values) -> np.ndarray:
    """Line breaks inside each value (``\\n``, ``\\r\\n`` or a lone ``\\r``: one each)."""
    import pyarrow.compute as pc
    n = pc.count_substring(values, "\n")
    lone_cr = pc.subtract(pc.count_substring(values, "\r"), pc.count_substring(values, "\r\n"))
    return np.asarray(pc.add(n, lone_cr).to_numpy(zero_copy_only=False), dtype=np.int64)


def _record_start_lines(data: bytes, tbl: pa.Table, invalid: list, invalid_at: np.ndarray
                        ) -> np.ndarray:
    """The physical line (header = 1) where each record after the header starts, kept and
    skipped records alike, in file order.

    Each record takes one line plus the line breaks inside its quoted values. When the
    file's line ends are as many as its records (the usual case, decided by two byte
    counts) no value holds a line break and the lines are simply 2, 3, 4, ...
    """
    n_total = tbl.num_rows + len(invalid)
    line_ends = data.count(b"\n")
    if b"\r" in data:
        line_ends += data.count(b"\r") - data.count(b"\r\n")     # old Mac line ends
    ends_with_break = data.endswith((b"\n", b"\r"))
    if line_ends == n_total + (1 if ends_with_break else 0):
        return np.arange(2, 2 + n_total, dtype=np.int64)
    breaks = np.zeros(n_total, dtype=np.int64)
    kept = np.ones(n_total, bool)
    kept[invalid_at] = False
    per_row = np.zeros(tbl.num_rows, dtype=np.int64)
    for col in tbl.columns:
        per_row += _line_breaks(col.combine_chunks() if col.num_chunks != 1 else col.chunk(0))
    breaks[kept] = per_row
    if len(invalid_at):
        breaks[invalid_at] = _line_breaks(pa.array([t or "" for _, _, _, t in invalid],
                                                   pa.string()))
    return 2 + np.arange(n_total, dtype=np.int64) + np.cumsum(breaks) - breaks


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.datetime):
        if v.time() == dt.time(0) and v.tzinfo is None:
            return v.date().isoformat()
        return v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


#: a merged range in a sheet's XML: ``<mergeCell ref="B4:B6"/>``
_XL_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([^\"]+)\"")


def _may_hold_formulas(xml: bytes) -> bool:
    """Cheap and never wrong in the safe direction: a formula's element ends ``f>``
    (``<f>...</f>``; a shared formula's other cells point at one that does), a data
    table's says ``dataTable``. Plain byte searches (tens of ms on 100,000 rows)."""
    return b"f>" in xml or b"dataTable" in xml


def _sheet_xml(path: Path, sheet: str) -> bytes | None:
    """The XML of one worksheet of an .xlsx file, found through the workbook's
    relationships (None when the file is laid out otherwise)."""
    import posixpath
    import zipfile
    from xml.etree import ElementTree as ET

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    try:
        with zipfile.ZipFile(path) as z:
            book = ET.fromstring(z.read("xl/workbook.xml"))
            rid = next((next((v for k, v in el.attrib.items() if local(k) == "id"), None)
                        for el in book.iter() if local(el.tag) == "sheet"
                        and el.get("name") == sheet), None)
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
            if rid is None or target is None:
                return None
            member = (target.lstrip("/") if target.startswith("/")
                      else posixpath.normpath(posixpath.join("xl", target)))
            return z.read(member)
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return None


def _formula_text(value) -> str:
    if isinstance(value, str):
        return value
    text = getattr(value, "text", None)          # openpyxl's ArrayFormula
    if text:
        return str(text)
    return f"data table {getattr(value, 'ref', '') or ''}".strip()   # DataTableFormula


def _values_flagging_formulas(ws, found: list) -> object:
    """The sheet's rows as values, with each formula cell read as empty and recorded in
    ``found`` as (row, column, formula text): its saved result is never taken."""
    for r, row in enumerate(ws.iter_rows(), start=1):
        values = []
        for j, cell in enumerate(row, start=1):
            if cell.data_type == "f":
                found.append((r, j, _formula_text(cell.value)))
                values.append(None)
            else:
                values.append(cell.value)
        yield values


def _read_excel_sheet(path: Path, sheet: str, table: str, problems: list[Problem],
                      keep_headers: bool) -> RawTable | None:
    """One sheet as a raw table. A cell holding a formula and a merged range are named as
    problems (their cells read as empty): a formula's saved result may be stale and a
    merged range leaves every cell but its first empty. Both are found by a scan of the
    sheet's XML first, so a plain sheet is read at openpyxl's fastest (read-only, values)."""
    import openpyxl
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    file = f"{path}[{sheet}]"
    xml = _sheet_xml(path, sheet)
    may_hold_formulas = xml is None or _may_hold_formulas(xml)
    if xml is not None:
        merged = ([m.decode("ascii", "replace") for m in _XL_MERGE.findall(xml)]
                  if b"mergeCell" in xml else [])
    else:                                  # an unusual layout: openpyxl's full reader
        full = openpyxl.load_workbook(path)
        try:
            merged = [str(r) for r in full[sheet].merged_cells.ranges]
        finally:
            full.close()
    bounds = {ref: range_boundaries(ref) for ref in merged if ":" in ref}
    first_cells = {(b[1], b[0]) for b in bounds.values()}      # (row, column) top-left
    first_values: dict[tuple[int, int], str] = {}
    formulas: list[tuple[int, int, str]] = []
    beyond: list[tuple[int, int, str]] = []        # values right of the last header
    wb = openpyxl.load_workbook(path, read_only=True, data_only=not may_hold_formulas)
    try:
        ws = wb[sheet]
        rows = (_values_flagging_formulas(ws, formulas) if may_hold_formulas
                else ws.iter_rows(values_only=True))
        header = None
        header_line = 0
        for header_line, row in enumerate(rows, start=1):
            if any(v is not None and str(v).strip() for v in row):
                header = [_cell_text(v) for v in row]
                break
        if header is None:
            problems.append(Problem(table, None, None, f"sheet '{sheet}' of {path.name} is empty",
                                    None, file))
            return None
        while header and not header[-1].strip():
            header.pop()
        names = header if keep_headers else [normalise_header(h) for h in header]
        width = len(names)
        for (r, c) in first_cells:
            if r == header_line and c <= len(header):
                first_values[(r, c)] = header[c - 1]
        body, lines = [], []
        for line, row in enumerate(rows, start=header_line + 1):
            cells = [_cell_text(v) for v in row[:width]]
            if len(row) > width:
                beyond += [(line, j, _cell_text(v)) for j, v in enumerate(row[width:], width + 1)
                           if v is not None and str(v).strip()]
            if first_cells:
                first_values.update(((line, c), cells[c - 1]) for (r, c) in first_cells
                                    if r == line and c <= len(cells))
            if not any(c.strip() for c in cells):
                continue
            cells += [""] * (width - len(cells))
            body.append(cells)
            lines.append(line)
    finally:
        wb.close()
    frame = pd.DataFrame(body, columns=names, dtype="str") if body else pd.DataFrame(
        {n: pd.Series(dtype="str") for n in names})
    line_array = np.asarray(lines, dtype=np.int64)

    # what the sheet holds that is not a plain value: named, never read silently
    row_of = {ln: k for k, ln in enumerate(lines)}
    keys = [] if keep_headers else [k for k in TABLES[table].key if k in names]

    def row_id(line: int) -> str | None:
        k = row_of.get(line)
        if k is None or not keys:
            return None
        return ", ".join(f"{key}={body[k][names.index(key)]}" for key in keys)

    def column(line: int, col: int) -> str | None:
        return names[col - 1] if line >= header_line and col <= width else None

    named: set[tuple[int, str]] = set()
    for r, c, text in formulas:
        problems.append(Problem(
            table, r, column(r, c), f"cell {get_column_letter(c)}{r} holds the formula "
            f"{text!r}: formulas are not read (their saved result may be stale); enter the "
            "value itself", row_id(r), file))
        if column(r, c):
            named.add((r, names[c - 1]))
    for ref, (c0, r0, c1, r1) in bounds.items():
        if r1 < header_line or c0 > width:
            continue                    # outside the table: nothing of it is read
        value = first_values.get((r0, c0), "")
        problems.append(Problem(
            table, r0, column(r0, c0), f"merged cells {ref}: {value!r} is in "
            f"{get_column_letter(c0)}{r0} only and the other cells read as empty; unmerge "
            "and fill every cell", row_id(r0), file))
        named.update((r, names[c - 1]) for r in range(max(r0, header_line + 1), r1 + 1)
                     for c in range(c0, min(c1, width) + 1))
    for r, c, value in beyond:
        problems.append(Problem(
            table, r, None, f"cell {get_column_letter(c)}{r} holds {_shorten(value)!r} in a "
            "column without a header", row_id(r), file))
    return RawTable(table, frame, line_array, file, frozenset(named))


def _read_parquet(path: Path, table: str, problems: list[Problem],
                  keep_headers: bool) -> RawTable | None:
    try:
        tbl = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        problems.append(Problem(table, None, None, f"cannot read {path.name} (truncated or not "
                                f"Parquet): {e}", None, str(path)))
        return None
    cols, names = [], []
    for name, col in zip(tbl.column_names, tbl.columns):
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            if pa.types.is_timestamp(col.type) and col.type.tz is None:
                # a date stored as a timestamp at midnight
                col = col.cast(pa.date32()) if _all_midnight(col) else col
        cols.append(col.cast(pa.string()).fill_null(""))
        names.append(name if keep_headers else normalise_header(name))
    frame = pa.table(cols, names=names).to_pandas()
    return RawTable(table, frame, np.arange(1, tbl.num_rows + 1, dtype=np.int64), str(path))


def _all_midnight(col: pa.ChunkedArray) -> bool:
    arr = col.to_numpy()
    arr = arr[~np.isnat(arr)]
    return bool(len(arr) == 0 or (arr == arr.astype("datetime64[D]")).all())


def _find_sources(folder: Path, table: str, tmap: TableMap | None) -> list[tuple[str, Path, str | None]]:
    """Candidate sources for a table: (kind, path, sheet)."""
    found = []
    if tmap is not None and tmap.file:
        for p in sorted(folder.iterdir()):
            if fnmatch.fnmatch(p.name, tmap.file):
                kind = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}.get(p.suffix.lower())
                if kind == "xlsx":
                    found.append((kind, p, tmap.sheet or table))
                elif kind:
                    found.append((kind, p, None))
        return found
    for suffix, kind in ((".csv", "csv"), (".parquet", "parquet")):
        p = folder / f"{table}{suffix}"
        if p.exists():
            found.append((kind, p, None))
    return found


def _excel_sheets(folder: Path) -> dict[str, tuple[Path, str]]:
    import openpyxl

    sheets = {}
    for p in sorted(folder.glob("*.xlsx")):
        if p.name.startswith("~$"):
            continue
        wb = openpyxl.load_workbook(p, read_only=True)
        try:
            for name in wb.sheetnames:
                sheets.setdefault(normalise_header(name), (p, name))
        finally:
            wb.close()
    return sheets


def read_ledger_folder(folder: str | Path, column_map: ColumnMap | None = None
                       ) -> tuple[dict[str, RawTable], list[Problem], LoadReport]:
    """Read every canonical table present in ``folder`` as raw text.

    Returns the raw tables, the problems met while reading (never raised here), and a
    :class:`LoadReport`.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    report = LoadReport(column_map=column_map.path if column_map else None)
    if not folder.is_dir():
        raise FileNotFoundError(f"ledger folder {folder} does not exist")
    sheets = None
    raws: dict[str, RawTable] = {}
    for table in TABLES:
        tmap = column_map.tables.get(table) if column_map else None
        sources = _find_sources(folder, table, tmap)
        if not sources and (tmap is None or not tmap.file):
            if sheets is None:
                sheets = _excel_sheets(folder)
            if table in sheets:
                sources = [("xlsx", sheets[table][0], sheets[table][1])]
        if len(sources) > 1:
            names = ", ".join(p.name for _, p, _ in sources)
            problems.append(Problem(table, None, None, f"more than one file for table {table}: "
                                    f"{names} (keep one)", None, str(folder)))
            continue
        if not sources:
            continue
        kind, path, sheet = sources[0]
        keep_headers = tmap is not None
        if kind == "csv":
            raw = read_csv_table(path, table, problems, report, keep_headers)
        elif kind == "parquet":
            raw = _read_parquet(path, table, problems, keep_headers)
        else:
            raw = _read_excel_sheet(path, sheet, table, problems, keep_headers)
        if raw is None:
            continue
        if tmap is not None:
            raw = _apply_table_map(raw, tmap, report, problems)
        raws[table] = raw
        report.files[table] = raw.file
        report.rows[table] = len(raw.frame)
    return raws, problems, report
