"""Reading ledger folders: CSV quirks, Excel sheets, Parquet, column maps."""

import pandas as pd
import pytest

from workbench import Ledger, validate_folder
from workbench.aging import aging_records, aging_table
from workbench.io.loader import load_column_map, normalise_header
from workbench.ledger import AfterLedgerWarning

from .conftest import FIXTURES


def _reference(hand_dir):
    return aging_records(aging_table(Ledger.load(hand_dir), "2026-03-31"))


def test_bom_crlf_extra_columns_and_any_order(hand_dir):
    expected = _reference(hand_dir)
    inv = pd.read_csv(hand_dir / "invoices.csv", dtype=str)
    inv["po_number"] = "PO-1"
    inv["erp_internal_note"] = "kept"
    inv = inv[list(reversed(inv.columns))]
    data = inv.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    (hand_dir / "invoices.csv").write_bytes(b"\xef\xbb\xbf" + data + b"\r\n")   # BOM, CRLF, blank line
    ledger = Ledger.load(hand_dir)
    assert aging_records(aging_table(ledger, "2026-03-31")) == expected
    assert list(ledger.invoices["erp_internal_note"].unique()) == ["kept"]
    assert ledger.load_report.blank_lines == {"invoices": 1}


def test_headers_are_normalised(hand_dir):
    assert normalise_header("\ufeff Invoice ID ") == "invoice_id"
    text = (hand_dir / "customers.csv").read_text().replace(
        "customer_id,name,currency,payment_terms_days", "Customer ID,Name,CURRENCY,Payment Terms Days")
    (hand_dir / "customers.csv").write_text(text)
    assert Ledger.load(hand_dir).customers["customer_id"].tolist() == ["C1", "C2", "C3"]


def test_line_numbers_survive_blank_lines(hand_dir):
    text = (hand_dir / "invoices.csv").read_text().replace("I3,C1,2026-03-20,2026-04-19",
                                                           "\nI3,C1,2026-03-20,2026-03-19")
    (hand_dir / "invoices.csv").write_text(text)
    _, problems = validate_folder(hand_dir)
    assert [(p.line, p.column) for p in problems] == [(5, "due_date")]


def test_excel_workbook_with_sheets_named_like_tables(hand_dir, tmp_path):
    expected = _reference(hand_dir)
    folder = tmp_path / "xlsx"
    folder.mkdir()
    with pd.ExcelWriter(folder / "ledger.xlsx", engine="openpyxl") as xw:
        for name in ("customers", "invoices", "receipts", "applications", "credit_memos",
                     "write_offs", "fx_rates"):
            df = pd.read_csv(hand_dir / f"{name}.csv", dtype=str, keep_default_na=False)
            for col in df.columns:       # what Excel users have: real numbers and dates
                if col in ("amount",):
                    df[col] = pd.to_numeric(df[col])
                if col.endswith("date") or col == "date":
                    df[col] = pd.to_datetime(df[col].replace("", None))
            df.to_excel(xw, sheet_name=name.capitalize() if name == "invoices" else name, index=False)
    ledger = Ledger.load(folder)
    assert aging_records(aging_table(ledger, "2026-03-31")) == expected
    # a bad cell in Excel is named by its sheet row
    import openpyxl
    wb = openpyxl.load_workbook(folder / "ledger.xlsx")
    wb["Invoices"]["E4"] = 250.005
    wb.save(folder / "ledger.xlsx")
    _, problems = validate_folder(folder)
    assert [str(p) for p in problems] == [
        "invoices:4:amount: amount '250.005' has more decimals than USD allows (2) [invoice_id=I3]"]
    assert problems[0].file.endswith("ledger.xlsx[Invoices]")


def test_netsuite_export_with_column_map():
    folder = FIXTURES / "netsuite"
    cmap = load_column_map("netsuite_ar_aging")
    ledger = Ledger.load(folder, column_map=cmap)
    assert ledger.customers.set_index("customer_id")["payment_terms_days"].to_dict() == {
        "CUST-1001": 30, "CUST-1002": 45, "CUST-1003": 0}
    assert ledger.customers["credit_limit_minor"].fillna(-1).tolist() == [2500000, 1000000, -1]
    # the export's last entry is dated 2026-09-25: a later as-of date says so
    with pytest.warns(AfterLedgerWarning, match="after the ledger's last date 2026-09-25"):
        rec = aging_records(aging_table(ledger, "2026-09-30"))
    assert rec == [{"as_of": "2026-09-30", "currency": "USD",
                    "buckets": {"current": "3400.10", "1-30": "1250.00", "31-60": "5000.00",
                                "61-90": "0.00", "91-120": "0.00", "over_120": "99.99"},
                    "total": "9750.09", "aging_over_60_pct": 1.0255, "open_invoices": 4}]
    # the unapplied payment and the open credit memo are kept, not netted into AR
    assert ledger.unapplied_cash("2026-09-30")["unapplied_minor"].tolist() == [200000]
    assert ledger.credit_memos["amount_minor"].tolist() == [15000]
    # rows the map's filters set aside are counted, never silently lost: 7 rows, 4 invoices
    assert ledger.load_report.filtered_out == {"invoices": 3, "credit_memos": 6, "receipts": 6}
    assert ledger.invoices["age"].tolist() == ["16", "", "47", "151"]     # extra column kept


def test_column_map_errors_are_clear(tmp_path):
    bad = tmp_path / "map.yaml"
    bad.write_text("name: x\ntables:\n  invoice:\n    columns: {}\n  invoices:\n    columns:\n"
                   "      amount_usd: Amount\n")
    with pytest.raises(ValueError) as err:
        load_column_map(bad)
    assert "tables.invoice: unknown table" in str(err.value)
    assert "tables.invoices.columns.amount_usd: not a column of invoices" in str(err.value)


def test_column_map_naming_a_missing_header(tmp_path):
    folder = tmp_path / "ns"
    folder.mkdir()
    for f in (FIXTURES / "netsuite").iterdir():
        (folder / f.name).write_text(f.read_text().replace("Due Date,", "Due,", 1))
    _, problems = validate_folder(folder, column_map="netsuite_ar_aging")
    assert any(p.table == "invoices" and p.column == "due_date"
               and "names 'Due Date' for due_date" in p.message for p in problems)


def test_line_numbers_after_quoted_line_breaks_blank_lines_and_crlf(hand_dir):
    """A problem is reported on the line of the file where its row starts: a quoted value
    holding line breaks (LF, CRLF or a lone CR) takes several lines, a blank line one."""
    rows = (hand_dir / "invoices.csv").read_text().splitlines()
    rows[0] += ",description"
    rows[1] += ',"two-line\nnote"'                       # I1: lines 2-3
    rows[2] += ',"three\r\nline\rnote"'                  # I2: lines 4-6
    rows[3] = "\r\n" + rows[3] + ","                     # a blank line 7; I3: line 8
    rows[4] = rows[4].replace("300.00", "3OO.00") + ","  # I4: line 9
    rows[5:] = [r + "," for r in rows[5:]]
    rows[6] = rows[6][:12]                               # I6, line 11, cut short
    (hand_dir / "invoices.csv").write_bytes("\r\n".join(rows).encode() + b"\r\n")
    _, problems = validate_folder(hand_dir)
    got = [(p.table, p.line, p.column) for p in problems]
    assert ("invoices", 9, "amount") in got
    assert ("invoices", 11, None) in got
    bad = next(p for p in problems if p.line == 9)
    assert str(bad) == "invoices:9:amount: amount '3OO.00' is not a decimal amount [invoice_id=I4]"
    cut = next(p for p in problems if p.line == 11)
    assert cut.message == "row has 3 of 7 columns (truncated line?): 'I6,C2,2026-0'"


def test_quoted_line_breaks_in_a_file_larger_than_a_read_block(tmp_path):
    """Arrow reads a CSV in 16 MB blocks; a quoted line break must neither break the read
    at a block's edge nor shift the lines after it (here 2 lines a row, 150,000 rows)."""
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "customers.csv").write_text(
        "customer_id,name,currency,payment_terms_days\nC1,Acme Corp,USD,30\n")
    n = 150_000
    note = '"first line of a description long enough to make the file large\nsecond line"'
    body = "".join(f"I{i},C1,2026-01-05,2026-02-04,10.00,{note}\n" for i in range(n - 1))
    last = f"I{n - 1},C1,2026-01-05,2026-02-04,1O.00,{note}\n"
    data = ("invoice_id,customer_id,invoice_date,due_date,amount,description\n" + body + last)
    assert len(data) > (1 << 24)
    (folder / "invoices.csv").write_text(data)
    _, problems = validate_folder(folder)
    assert [str(p) for p in problems] == [
        f"invoices:{2 * n}:amount: amount '1O.00' is not a decimal amount [invoice_id=I{n - 1}]"]


def test_excel_formulas_and_merged_cells_through_a_column_map(tmp_path):
    """Through a column map the problems name the export's own headers; a formula filled
    down (Excel writes it once, shared by the cells below) is named in every cell, and the
    cells a merged range empties are not named a second time as empty."""
    import shutil
    import zipfile

    import openpyxl

    from .conftest import FIXTURES
    folder = tmp_path / "xl"
    folder.mkdir()
    shutil.copy(FIXTURES / "hand" / "customers.csv", folder)
    (folder / "map.yaml").write_text(
        "name: test\ntables:\n  invoices:\n    file: 'ar*.xlsx'\n    sheet: Open\n    columns:\n"
        "      invoice_id: Doc\n      customer_id: Cust\n      invoice_date: Date\n"
        "      due_date: Due\n      amount: Amt\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Open"
    ws.append(["Doc", "Cust", "Date", "Due", "Amt", "Memo"])
    for i in range(1, 6):
        ws.append([f"I{i}", "C1", "2026-01-05", "2026-02-04", 10, "m"])
    ws.merge_cells("B4:B5")
    ws.merge_cells("F4:F6")
    path = folder / "ar_export.xlsx"
    wb.save(path)
    # E5:E6 = E4*2 filled down, as Excel writes it: one shared formula, saved results beside
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"]
    for ref, f in (("E5", b'<f t="shared" ref="E5:E6" si="0">E4*2</f>'),
                   ("E6", b'<f t="shared" si="0"/>')):
        old = f'<c r="{ref}" t="n"><v>10</v></c>'.encode()
        assert xml.count(old) == 1
        xml = xml.replace(old, f'<c r="{ref}">'.encode() + f + b"<v>20</v></c>")
    parts["xl/worksheets/sheet1.xml"] = xml
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    _, problems = validate_folder(folder, column_map=folder / "map.yaml")
    assert [str(p) for p in problems] == [
        "invoices:4:Cust: merged cells B4:B5: 'C1' is in B4 only and the other cells read as "
        "empty; unmerge and fill every cell",
        "invoices:4:Memo: merged cells F4:F6: 'm' is in F4 only and the other cells read as "
        "empty; unmerge and fill every cell",
        "invoices:5:Amt: cell E5 holds the formula '=E4*2': formulas are not read (their saved "
        "result may be stale); enter the value itself",
        "invoices:6:Amt: cell E6 holds the formula '=E5*2': formulas are not read (their saved "
        "result may be stale); enter the value itself"]
