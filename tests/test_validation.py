"""Every kind of bad input gets a clear error naming table, line, row and column, every
problem is collected (not only the first), and nothing is written."""

import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench import Ledger, LedgerError, validate_folder
from workbench.cli import main

from .conftest import folder_state


def _append(path, line):
    text = path.read_text()
    path.write_text(text + ("" if text.endswith("\n") else "\n") + line + "\n")


def _replace(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


# (id, edit(folder), table, line, column, message regex, row id)
CASES = [
    ("unknown customer", lambda d: _append(d / "invoices.csv", "I9,C42,2026-01-01,2026-01-31,10.00,USD"),
     "invoices", 10, "customer_id", r"unknown customer 'C42'", "invoice_id=I9"),
    ("unknown invoice in applications", lambda d: _append(d / "applications.csv", "R2,I99,10.00,2026-03-16"),
     "applications", 7, "invoice_id", r"unknown invoice 'I99'", "receipt_id=R2, invoice_id=I99"),
    ("unknown invoice in credit memo", lambda d: _append(d / "credit_memos.csv", "CM9,C1,2026-03-01,5.00,I77,x"),
     "credit_memos", 5, "invoice_id", r"unknown invoice 'I77'", "credit_memo_id=CM9"),
    ("unknown invoice in write-off", lambda d: _append(d / "write_offs.csv", "I55,2026-03-01,5.00,x,y"),
     "write_offs", 4, "invoice_id", r"unknown invoice 'I55'", "invoice_id=I55, date=2026-03-01"),
    ("unknown receipt", lambda d: _append(d / "applications.csv", "R77,I3,10.00,2026-03-16"),
     "applications", 7, "receipt_id", r"unknown receipt 'R77'", "receipt_id=R77, invoice_id=I3"),
    ("duplicate id", lambda d: _append(d / "invoices.csv", "I3,C1,2026-03-21,2026-04-20,10.00,USD"),
     "invoices", 10, "invoice_id", r"duplicate id 'I3'", "invoice_id=I3"),
    ("due before invoice date", lambda d: _replace(d / "invoices.csv", "I3,C1,2026-03-20,2026-04-19",
                                                   "I3,C1,2026-03-20,2026-03-19"),
     "invoices", 4, "due_date", r"due date is before the invoice date", "invoice_id=I3"),
    ("over-applied receipt", lambda d: _append(d / "applications.csv", "R2,I3,150.00,2026-03-20"),
     "applications", 7, "amount", r"over-applies receipt 'R2': applications reach 350.00 of its 300.00",
     "receipt_id=R2, invoice_id=I3"),
    ("over-applied invoice by cash", lambda d: _replace(d / "applications.csv", "R1,I1,600.00", "R1,I8,600.00"),
     "applications", 2, "amount", r"over-applies invoice 'I8' beyond its open balance: 600.00 against 200.00 open on 2026-02-02",
     "receipt_id=R1, invoice_id=I8"),
    ("applied before receipt", lambda d: _replace(d / "applications.csv", "R2,I2,200.00,2026-03-16", "R2,I2,200.00,2026-03-14"),
     "applications", 3, "applied_date", r"applied 2026-03-14, before its receipt dated 2026-03-15",
     "receipt_id=R2, invoice_id=I2"),
    ("write-off above open balance", lambda d: _replace(d / "write_offs.csv", "I8,2026-03-25,150.00", "I8,2026-03-25,250.00"),
     "write_offs", 2, "amount", r"writes off invoice 'I8' beyond its open balance: 250.00 against 200.00 open on 2026-03-25",
     "invoice_id=I8, date=2026-03-25"),
    ("bad currency code", lambda d: _replace(d / "invoices.csv", "I2,C1,2026-02-10,2026-03-12,500.00,USD", "I2,C1,2026-02-10,2026-03-12,500.00,US$"),
     "invoices", 3, "currency", r"'US\$' is not an ISO 4217 currency code", "invoice_id=I2"),
    ("too many decimals", lambda d: _replace(d / "invoices.csv", "250.00,USD", "250.005,USD"),
     "invoices", 4, "amount", r"amount '250.005' has more decimals than USD allows \(2\)", "invoice_id=I3"),
    ("yen with decimals", lambda d: _replace(d / "invoices.csv", "120000,JPY", "120000.5,JPY"),
     "invoices", 8, "amount", r"more decimals than JPY allows \(0\)", "invoice_id=I7"),
    ("not a date", lambda d: _replace(d / "receipts.csv", "R2,2026-03-15", "R2,15/03/2026"),
     "receipts", 3, "receipt_date", r"receipt_date '15/03/2026' is not a date \(YYYY-MM-DD\)", "receipt_id=R2"),
    ("not an amount", lambda d: _replace(d / "receipts.csv", "R2,2026-03-15,300.00", "R2,2026-03-15,3OO.00"),
     "receipts", 3, "amount", r"amount '3OO.00' is not a decimal amount", "receipt_id=R2"),
    ("empty required cell", lambda d: _replace(d / "invoices.csv", "I3,C1,", "I3,,"),
     "invoices", 4, "customer_id", r"customer_id is empty", "invoice_id=I3"),
    ("empty file", lambda d: (d / "receipts.csv").write_text(""),
     "receipts", None, None, r"file receipts.csv is empty", None),
    ("truncated file", lambda d: (d / "invoices.csv").write_text((d / "invoices.csv").read_text()[:-20]),
     "invoices", 9, None, r"row has 4 of 6 columns \(truncated line\?\)", None),
    ("missing required column", lambda d: (d / "receipts.csv").write_text(
        "\n".join(",".join(line.split(",")[:2] + line.split(",")[3:]) for line in (d / "receipts.csv").read_text().splitlines()) + "\n"),
     "receipts", None, "amount", r"required column 'amount' is missing", None),
    ("missing required table", lambda d: (d / "customers.csv").unlink(),
     "customers", None, None, r"required table customers is missing", None),
    ("not UTF-8", lambda d: (d / "customers.csv").write_bytes((d / "customers.csv").read_bytes().replace(b"Beta GmbH", b"Beta G\xe9mbH")),
     "customers", 3, None, r"is not UTF-8 text", None),
    ("negative amount", lambda d: _replace(d / "invoices.csv", "500.00,USD", "-500.00,USD"),
     "invoices", 3, "amount", r"must be greater than 0; got -500.00", "invoice_id=I2"),
    ("application currency differs", lambda d: (_append(d / "invoices.csv", "I9,C2,2026-01-01,2026-01-31,10.00,EUR"),
                                                _append(d / "applications.csv", "R2,I9,10.00,2026-03-16")),
     "applications", 7, "currency", r"applies a USD receipt to a EUR invoice", "receipt_id=R2, invoice_id=I9"),
    ("recovery above write-offs", lambda d: _append(d / "write_offs.csv", "I3,2026-03-28,-10.00,recovery,controller"),
     "write_offs", 4, "amount", r"recovery of 10.00 exceeds what was written off on invoice 'I3'", "invoice_id=I3, date=2026-03-28"),
    ("unknown activity kind", lambda d: (d / "activities.csv").write_text(
        "activity_id,customer_id,timestamp,kind,collector\nA1,C1,2026-03-02T10:00:00+01:00,visit,Ann\n"),
     "activities", 2, "kind", r"'visit' is not one of call, email", "activity_id=A1"),
    ("timestamp without offset", lambda d: (d / "activities.csv").write_text(
        "activity_id,customer_id,timestamp,kind,collector\nA1,C1,2026-03-02T10:00:00,call,Ann\n"),
     "activities", 2, "timestamp", r"is not an ISO 8601 timestamp with offset", "activity_id=A1"),
    ("reserve does not roll forward", lambda d: (d / "reserve_gl.csv").write_text(
        "period_end,beginning_balance,provision,write_offs,recoveries,ending_balance\n"
        "2025-12-31,100.00,50.00,20.00,5.00,135.00\n2026-03-31,135.00,10.00,0.00,0.00,146.00\n"),
     "reserve_gl", 3, "ending_balance", r"does not roll forward", "period_end=2026-03-31"),
    ("sums past int64", lambda d: [_append(d / "invoices.csv", f"X{i},C1,2026-01-05,2026-02-04,9999999999999999.99,USD")
                                   for i in range(11)],
     "invoices", 14, "amount", r"add up past 4,611,686,018,427,387,904 minor units \(2\^62\)", "invoice_id=X4"),
    ("NUL in a name", lambda d: _replace(d / "customers.csv", "Acme Corp", "Acme\x00Corp"),
     "customers", 2, "name", r"name 'Acme\\x00Corp' holds a control character \(U\+0000\)", "customer_id=C1"),
    ("tab in a code", lambda d: _replace(d / "customers.csv", "EUR,30,Small Business", "EUR,30,Small\tBusiness"),
     "customers", 3, "segment", r"segment 'Small\\tBusiness' holds a control character \(U\+0009\)", "customer_id=C2"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named_precisely(hand_dir, tmp_path, capsys, case):
    _, edit, table, line, column, message, row_id = case
    edit(hand_dir)
    before = folder_state(hand_dir)
    ledger, problems = validate_folder(hand_dir)
    assert ledger is None
    hits = [p for p in problems if p.table == table and p.line == line and p.column == column
            and re.search(message, p.message) and p.row_id == row_id]
    assert hits, "\n".join(map(str, problems))
    # the CLI prints every problem as table:line:column: message and exits 1
    assert main(["validate", str(hand_dir)]) == 1
    out = capsys.readouterr().out.splitlines()
    expected_prefix = f"{table}:{'' if line is None else line}:{column or ''}: "
    assert any(o.startswith(expected_prefix) and re.search(message, o) for o in out), out
    assert len(out) == len(problems)
    # loading raises with all problems; nothing was written anywhere
    with pytest.raises(LedgerError) as err:
        Ledger.load(hand_dir)
    assert len(err.value.problems) == len(problems)
    reports = tmp_path / "reports"
    assert main(["report", "--ledger", str(hand_dir), "--out", str(reports), "--no-notebooks",
                 "--quiet"]) == 2          # bad input: the scheduler's exit code 2
    assert not reports.exists() or not any(reports.iterdir())
    assert folder_state(hand_dir) == before


def test_every_problem_is_collected_not_only_the_first(hand_dir):
    for edit in (CASES[0][1], CASES[5][1], CASES[6][1], CASES[10][1], CASES[12][1]):
        edit(hand_dir)
    _, problems = validate_folder(hand_dir)
    kinds = {(p.table, p.column) for p in problems}
    assert {("invoices", "customer_id"), ("invoices", "invoice_id"), ("invoices", "due_date"),
            ("write_offs", "amount"), ("invoices", "amount")} <= kinds


def test_truncated_parquet_is_a_clear_error(hand_dir):
    Ledger.load(hand_dir).to_parquet(hand_dir / "pq")
    data = (hand_dir / "pq" / "invoices.parquet").read_bytes()
    (hand_dir / "pq" / "invoices.parquet").write_bytes(data[: len(data) // 2])
    _, problems = validate_folder(hand_dir / "pq")
    assert any(p.table == "invoices" and "truncated or not Parquet" in p.message for p in problems)


def test_parquet_float_amounts_are_checked_exactly(hand_dir, tmp_path):
    folder = tmp_path / "pqf"
    folder.mkdir()
    for name in ("customers",):
        (folder / f"{name}.csv").write_bytes((hand_dir / f"{name}.csv").read_bytes())
    pq.write_table(pa.table({"invoice_id": ["X1", "X2"], "customer_id": ["C1", "C1"],
                             "invoice_date": ["2026-01-01", "2026-01-01"],
                             "due_date": ["2026-01-31", "2026-01-31"],
                             "amount": [10.25, 0.125]}), folder / "invoices.parquet")
    _, problems = validate_folder(folder)
    assert [str(p) for p in problems] == [
        "invoices:2:amount: amount '0.125' has more decimals than USD allows (2) [invoice_id=X2]"]


def test_two_files_for_one_table(hand_dir):
    Ledger.load(hand_dir).to_parquet(hand_dir / "pq")
    (hand_dir / "invoices.parquet").write_bytes((hand_dir / "pq" / "invoices.parquet").read_bytes())
    _, problems = validate_folder(hand_dir)
    assert any("more than one file for table invoices" in p.message for p in problems)


def test_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_leading_plus_is_a_positive_amount_or_number(hand_dir):
    """``+600.00`` and ``+30`` are read as 600.00 and 30 (Arrow's cast refused the sign and
    the loader crashed without a line number)."""
    _replace(hand_dir / "applications.csv", "R1,I1,600.00", "R1,I1,+600.00")
    _replace(hand_dir / "customers.csv", "C1,Acme Corp,USD,30", "C1,Acme Corp,USD,+30")
    led = Ledger.load(hand_dir)
    assert led.applications["amount_minor"].iloc[0] == 60000
    assert led.customers.set_index("customer_id").at["C1", "payment_terms_days"] == 30


@pytest.mark.parametrize("as_of", ["01/02/2026", "2026-02-30", "2026-04-31", "30.09.2026"])
def test_dates_given_as_arguments_are_iso_and_real(hand_dir, capsys, as_of):
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", as_of, "--format", "json"]) == 2
    assert f"not a date: '{as_of}' (use YYYY-MM-DD)" in capsys.readouterr().err


def test_an_as_of_after_the_ledger_warns(hand_dir, capsys):
    """The hand ledger ends 2026-04-05: a later as-of date runs on the ledger as it stands,
    and says so once, in words (the pack refuses an open period instead)."""
    import json
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2027-01-01", "--format", "json"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out)
    assert got.err.count("warning: as-of date 2027-01-01 is after the ledger's last date 2026-04-05") == 1
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--format", "json"]) == 0
    assert "warning" not in capsys.readouterr().err
