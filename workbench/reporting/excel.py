"""The pack's workbook for people: a Summary sheet first, then one sheet per table.

Amounts are numbers in the workbook (floats, for display and filtering) with the number
format of each row's currency (decimals from :func:`workbench.money.minor_units`); the
exact values are in the pack's CSV files. Totals are computed in Python from integer minor
units, so they are exact to the minor unit (no float sums, no formulas without cached
values). The file is written atomically and is byte-for-byte the same for the same inputs:
document properties and zip entry times come from ``prepared_at``.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..io.writer import atomic_path
from ..money import minor_units, to_major_float
from .cells import _BLANK, Column, format_cell, prepare
from .labels import Table

__all__ = ["amount_format", "write_workbook"]

HEADER_ROW = 3          # the table title is in row 1, the header in row 3, data from row 4
MAX_WIDTH = 60          # column width cap (characters); longer text wraps
_HEADER_FILL = "DDE4EE"

# absolute paths of this or another machine (/home/x/..., C:\Users\..., ~/..., \\server\share):
# never in a pack. Only well-known roots, so that bank references such as "/RFB/INV-1" stay.
_PATH_RE = re.compile(r"""(?x)
    (?<![\w.:/~\\])
    (?: ~[/\\] | [A-Za-z]:[/\\] | \\\\
      | /(?:home|tmp|work|Users|var|opt|mnt|srv|media|root|private|Volumes|data|run|scratch)
        (?=[/\\]|$|\s) )
    [^\s'"]*""")


def amount_format(currency: str) -> str:
    """Excel number format of an amount in ``currency``: ``#,##0.00`` (USD), ``#,##0`` (JPY),
    ``#,##0.000`` (KWD), from the currency's ISO 4217 minor units."""
    return _decimals_format(minor_units(currency))


def _decimals_format(digits: int) -> str:
    return "#,##0" if digits <= 0 else "#,##0." + "0" * digits


def _scrub(text: str) -> str:
    """Replace machine paths in a text by their last part (``/home/a/ledgers/q3`` -> ``q3``)."""
    def last_part(m: re.Match) -> str:
        parts = [p for p in re.split(r"[/\\]", m.group(0)) if p]
        return parts[-1] if parts else ""

    return _PATH_RE.sub(last_part, text)


def _excel_datetime(value) -> datetime:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)       # Excel has no time zones: the local wall time
    return ts.to_pydatetime()


def _cell(col: Column, value, currency: str | None) -> tuple[object, str | None]:
    """(value, number format) of one raw value in the workbook."""
    if value is None or value is _BLANK:
        return None, None
    kind = col.kind
    if kind == "money":
        # a float for display and filtering; the exact value is in the pack's CSV
        return to_major_float(int(value), currency), amount_format(currency)
    if kind == "pct":
        return value / 100.0, "0.0%"
    if kind == "ratio":
        return float(value), "0.0%"
    if kind == "int":
        return int(value), "#,##0"
    if kind == "dec":
        return float(value), _decimals_format(col.digits)
    if kind == "date":
        ts = pd.Timestamp(value)
        fmt = "yyyy-mm-dd" if ts == ts.normalize() else "yyyy-mm-dd hh:mm"
        return _excel_datetime(ts), fmt
    if isinstance(value, bool):
        return ("Yes" if value else "No"), None
    if kind == "number" and isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None, None
        return value, ("#,##0" if isinstance(value, int) else "#,##0.00")
    return _scrub(str(value)), None


def _summary_cell(value) -> tuple[object, str | None]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None, None
    if isinstance(value, bool):
        return ("Yes" if value else "No"), None
    if isinstance(value, Decimal):
        exp = value.as_tuple().exponent
        digits = -exp if isinstance(exp, int) and exp < 0 else 0
        return float(value), _decimals_format(digits)
    if isinstance(value, int):
        return value, "#,##0"
    if isinstance(value, float):
        return value, "#,##0.00"
    if isinstance(value, (pd.Timestamp, datetime, date)):
        ts = pd.Timestamp(value)
        fmt = "yyyy-mm-dd" if ts == ts.normalize() else "yyyy-mm-dd hh:mm"
        return _excel_datetime(ts), fmt
    return _scrub(str(value)), None


def _sheet_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", str(name)).strip("'") or "Table"
    base = base[:31]
    candidate, k = base, 1
    while candidate.lower() in taken:
        k += 1
        suffix = f"~{k}"
        candidate = base[: 31 - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _stamp(prepared_at: str) -> datetime:
    """The document time of the workbook: ``prepared_at`` in UTC, without time zone."""
    try:
        ts = pd.Timestamp(prepared_at)
    except (ValueError, TypeError):
        ts = pd.NaT
    if ts is pd.NaT or pd.isna(ts):
        return datetime(2000, 1, 1)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(UTC).tz_localize(None)
    ts = max(ts, pd.Timestamp(1980, 1, 1))          # zip times start in 1980
    return ts.to_pydatetime().replace(microsecond=0)


def _header_footer(ws, company: str, period_label: str, title: str) -> None:
    def esc(text: str) -> str:          # "&" starts a header/footer code
        return _scrub(str(text)).replace("&", "&&")

    ws.oddHeader.left.text = esc(company)
    ws.oddHeader.right.text = esc(period_label)
    ws.oddFooter.left.text = esc(title)
    ws.oddFooter.right.text = "Page &P of &N"


def _page_setup(ws, landscape: bool = True) -> None:
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6


def _write_table(ws, table: Table, *, company: str, period_label: str) -> int:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    p = prepare(table)
    ncols = max(1, len(p.columns))
    last = get_column_letter(ncols)
    ws.cell(row=1, column=1, value=_scrub(table.title)).font = Font(bold=True, size=13)

    thin = Side(style="thin", color="57606A")
    fill = PatternFill("solid", fgColor=_HEADER_FILL)
    widths = []
    for j, col in enumerate(p.columns, start=1):
        c = ws.cell(row=HEADER_ROW, column=j, value=_scrub(col.label))
        c.font = Font(bold=True)
        c.fill = fill
        c.border = Border(bottom=thin)
        c.alignment = Alignment(wrap_text=True, vertical="bottom",
                                horizontal="right" if col.numeric else "left")
        # bold text is about a tenth wider than the widths Excel counts in
        widths.append(math.ceil(len(col.label) * 1.1))

    r = HEADER_ROW
    for row, cur in zip(p.rows, p.currencies):
        r += 1
        for j, (col, value) in enumerate(zip(p.columns, row), start=1):
            v, fmt = _cell(col, value, cur)
            c = ws.cell(row=r, column=j, value=v)
            if fmt:
                c.number_format = fmt
            widths[j - 1] = max(widths[j - 1], len(format_cell(col, value, cur)))
    last_data = r

    bold = Font(bold=True)
    for k, (row, cur) in enumerate(p.totals):
        r += 1
        for j, (col, value) in enumerate(zip(p.columns, row), start=1):
            v, fmt = _cell(col, value, cur)
            if j - 1 == p.label_at and isinstance(value, str):
                v, fmt = value, None
            c = ws.cell(row=r, column=j, value=v)
            c.font = bold
            if fmt:
                c.number_format = fmt
            if k == 0:
                c.border = Border(top=thin)
            widths[j - 1] = max(widths[j - 1], math.ceil(len(format_cell(col, value, cur)) * 1.1))

    for j, w in enumerate(widths, start=1):
        width = min(MAX_WIDTH, max(8, w + 2))
        ws.column_dimensions[get_column_letter(j)].width = width
        if w + 2 > MAX_WIDTH:
            for (cell,) in ws.iter_rows(min_row=HEADER_ROW + 1, max_row=r, min_col=j, max_col=j):
                cell.alignment = Alignment(wrap_text=True, vertical="top")

    if table.note:
        r += 2
        c = ws.cell(row=r, column=1, value=_scrub(table.note))
        c.font = Font(italic=True, color="57606A")
        c.alignment = Alignment(wrap_text=True, vertical="top")
        if ncols > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        total_width = sum(min(MAX_WIDTH, max(8, w + 2)) for w in widths) or MAX_WIDTH
        lines = max(1, math.ceil(len(table.note) * 1.05 / total_width))
        ws.row_dimensions[r].height = 15 * lines

    ws.auto_filter.ref = f"A{HEADER_ROW}:{last}{max(last_data, HEADER_ROW)}"
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"1:{HEADER_ROW}"
    _page_setup(ws)
    _header_footer(ws, company, period_label, table.title)
    return len(p.rows)


def write_workbook(path: str | Path, tables: list[Table], summary: list, *, title: str,
                   company: str, period_label: str, prepared_at: str,
                   ledger_hash: str) -> Path:
    """Write the pack's Excel workbook for people, atomically.

    Parameters
    ----------
    path : str or Path
        The ``.xlsx`` file to write.
    tables : list of Table
        One sheet each, in order (sheet name: the table's name, first 31 characters, made
        unique).
    summary : list of rows
        Key figures for the Summary sheet: ``[(label, value), ...]`` or longer rows
        (``["AR", "USD", Decimal("1234.50")]``). Decimals keep their decimals in the number
        format; machine paths in texts are reduced to their last part.
    title, company, period_label, prepared_at, ledger_hash : str
        The title block; ``prepared_at`` (ISO time) also fixes the document times, so the
        same inputs give the same file.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    Each table sheet: the title in row 1, the header in row 3 (bold, filled, autofilter,
    frozen, repeated on every printed page with the title), data from row 4, total rows
    after the data (outside the filter range, so sorting leaves them last), the note two
    rows below. Pages print landscape, one page wide.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink
    from openpyxl.writer.excel import ExcelWriter

    path = Path(path)
    stamp = _stamp(prepared_at)
    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    taken = {"summary"}

    head = Font(bold=True)
    ws["A1"] = _scrub(str(company))
    ws["A1"].font = Font(bold=True, color="57606A")
    ws["A2"] = _scrub(str(title))
    ws["A2"].font = Font(bold=True, size=14)
    block = [("Period", period_label), ("Prepared at", prepared_at),
             ("Ledger (content hash)", ledger_hash)]
    for i, (k, v) in enumerate(block, start=3):
        ws.cell(row=i, column=1, value=k).font = head
        ws.cell(row=i, column=2, value=_scrub(str(v)))
    r = 3 + len(block)
    widths: dict[int, int] = {1: 24, 2: 12}

    def note_width(col: int, text) -> None:
        widths[col] = max(widths.get(col, 8), len(str(text)) + 2)

    for k, v in block:
        note_width(1, k)
        note_width(2, v)

    fill = PatternFill("solid", fgColor=_HEADER_FILL)
    if summary:
        r += 1
        ws.cell(row=r, column=1, value="Key figures").font = Font(bold=True, size=12)
        for row in summary:
            r += 1
            for j, value in enumerate(list(row), start=1):
                v, fmt = _summary_cell(value)
                c = ws.cell(row=r, column=j, value=v)
                if fmt:
                    c.number_format = fmt
                if j == 1:
                    c.font = head
                shown = v if fmt is None else (f"{v:,.2f}" if isinstance(v, float) else v)
                if v is not None:
                    note_width(j, shown)

    names = [_sheet_name(t.name, taken) for t in tables]
    r += 2
    for j, h in enumerate(["Sheet", "Contents", "Rows"], start=1):
        c = ws.cell(row=r, column=j, value=h)
        c.font = head
        c.fill = fill
    sheet_rows = []
    for t, name in zip(tables, names):
        sheet = wb.create_sheet(name)
        sheet_rows.append(_write_table(sheet, t, company=company, period_label=period_label))
    for t, name, n in zip(tables, names, sheet_rows):
        r += 1
        c = ws.cell(row=r, column=1, value=name)
        c.hyperlink = Hyperlink(ref=c.coordinate, location=f"'{name}'!A1", display=name)
        c.style = "Hyperlink"
        ws.cell(row=r, column=2, value=_scrub(t.title))
        ws.cell(row=r, column=3, value=n).number_format = "#,##0"
        note_width(1, name)
        note_width(2, t.title)
    for col, w in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, max(8, w))
    _page_setup(ws, landscape=False)
    _header_footer(ws, company, period_label, title)

    wb.properties.creator = "Collections Workbench"
    wb.properties.lastModifiedBy = "Collections Workbench"
    wb.properties.title = _scrub(str(title))
    wb.properties.subject = _scrub(str(period_label))
    wb.properties.created = stamp
    wb.properties.modified = stamp

    # openpyxl's save_workbook stamps the current time: write through ExcelWriter, then
    # copy the zip entries with a fixed time so equal inputs give equal bytes
    buf = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)).save()
    zip_time = stamp.timetuple()[:6]
    with atomic_path(path) as tmp, zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, \
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=zip_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return path
