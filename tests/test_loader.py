"""Reading ledger folders: CSV quirks, Excel sheets, Parquet, column maps."""

import pandas as pd
import pytest

from workbench import Ledger, validate_folder
from workbench.aging import aging_records, aging_table
from workbench.io.loader import load_column_map, normalise_header

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
