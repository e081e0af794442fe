"""Every kind of bad input gets a clear error naming table, line, row, column and value,
every problem is collected (not only the first), and nothing is written: the ledger folder
keeps its files and bytes, and the ledger store holds no entry for it."""

import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workbench import Ledger, LedgerError, validate_folder
from workbench.cli import main

from .conftest import folder_state


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """The ledger store of this test (``WORKBENCH_STORE``), empty to begin with."""
    root = tmp_path / "store"
    monkeypatch.setenv("WORKBENCH_STORE", str(root))
    return root


def assert_nothing_stored(root: Path) -> None:
    """No ledger-store entry was written: the store is absent, or holds at most its index
    of file hashes (``.index/``, which only saves re-hashing unchanged files)."""
    if not root.exists():
        return
    written = [str(p.relative_to(root)) for p in root.rglob("*")
               if p.is_file() and p.relative_to(root).parts[0] != ".index"]
    assert written == [], written


def refused(folder: Path, store: Path) -> list:
    """Validate, load and ``workbench validate`` a bad folder: every way refuses it, the
    same problems each time, and nothing is written. Returns the problems."""
    before = folder_state(folder)
    ledger, problems = validate_folder(folder)
    assert ledger is None and problems
    with pytest.raises(LedgerError) as err:
        Ledger.load(folder)
    assert [str(p) for p in err.value.problems] == [str(p) for p in problems]
    assert main(["validate", str(folder)]) == 1
    assert folder_state(folder) == before
    assert_nothing_stored(store)
    return problems


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
     "invoices", 4, "due_date", r"^due date 2026-03-19 is before the invoice date 2026-03-20$",
     "invoice_id=I3"),
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
     "invoices", 4, "customer_id", r"^empty value in a required column: customer_id ''$",
     "invoice_id=I3"),
    ("blank customer name", lambda d: _replace(d / "customers.csv", "Acme Corp", "   "),
     "customers", 2, "name", r"^empty value in a required column: name '   '$", "customer_id=C1"),
    ("empty write-off reason", lambda d: _replace(d / "write_offs.csv", "small_balance", ""),
     "write_offs", 2, "reason", r"^empty value in a required column: reason ''$",
     "invoice_id=I8, date=2026-03-25"),
    ("empty collector", lambda d: (d / "activities.csv").write_text(
        "activity_id,customer_id,timestamp,kind,collector,note\n"
        "A1,C1,2026-03-02T10:00:00+01:00,call,Ann Lee,\nA2,C1,2026-03-03T10:00:00+01:00,call,,\n"),
     "activities", 3, "collector", r"^empty value in a required column: collector ''$",
     "activity_id=A2"),
    ("impossible date in a file", lambda d: _replace(d / "invoices.csv", "I3,C1,2026-03-20,2026-04-19",
                                                     "I3,C1,2026-03-20,2026-04-31"),
     "invoices", 4, "due_date", r"^due_date '2026-04-31' is not a date \(YYYY-MM-DD\)$", "invoice_id=I3"),
    ("February 30 in a file", lambda d: _replace(d / "receipts.csv", "R2,2026-03-15", "R2,2026-02-30"),
     "receipts", 3, "receipt_date", r"^receipt_date '2026-02-30' is not a date \(YYYY-MM-DD\)$",
     "receipt_id=R2"),
    ("bad amount after a quoted line break", lambda d: (
        _replace(d / "credit_memos.csv", "I1,pricing", 'I1,"pricing error\nsee the call of 9 March"'),
        _replace(d / "credit_memos.csv", "CM2,C2,2026-04-01,50.00", "CM2,C2,2026-04-01,5O.00")),
     "credit_memos", 4, "amount", r"^amount '5O.00' is not a decimal amount$", "credit_memo_id=CM2"),
    ("unknown invoice after quoted line breaks", lambda d: (
        _replace(d / "credit_memos.csv", "I1,pricing", 'I1,"pricing error\r\nline two\r\nline three"'),
        _replace(d / "credit_memos.csv", ",,rebate", ",I42,rebate")),
     "credit_memos", 6, "invoice_id", r"^unknown invoice 'I42'$", "credit_memo_id=CM3"),
    ("truncated row after a quoted line break", lambda d: (
        _replace(d / "credit_memos.csv", "I1,pricing", '"I1","pricing\nerror"'),
        _append(d / "credit_memos.csv", "CM9,C1")),
     "credit_memos", 6, None, r"^row has 2 of 6 columns \(truncated line\?\): 'CM9,C1'$", None),
    ("a sign twice", lambda d: _replace(d / "applications.csv", "R1,I1,600.00", "R1,I1,++600.00"),
     "applications", 2, "amount", r"^amount '\+\+600.00' is not a decimal amount$",
     "receipt_id=R1, invoice_id=I1"),
    ("empty file", lambda d: (d / "receipts.csv").write_text(""),
     "receipts", None, None, r"file receipts.csv is empty", None),
    ("truncated file", lambda d: (d / "invoices.csv").write_text((d / "invoices.csv").read_text()[:-20]),
     "invoices", 9, None, r"^row has 4 of 6 columns \(truncated line\?\): 'I8,C1,2025-11-20,20'$", None),
    ("missing required column", lambda d: (d / "receipts.csv").write_text(
        "\n".join(",".join(line.split(",")[:2] + line.split(",")[3:]) for line in (d / "receipts.csv").read_text().splitlines()) + "\n"),
     "receipts", None, "amount", r"required column 'amount' is missing", None),
    ("missing required table", lambda d: (d / "customers.csv").unlink(),
     "customers", None, None, r"required table customers is missing", None),
    ("not UTF-8", lambda d: (d / "customers.csv").write_bytes((d / "customers.csv").read_bytes().replace(b"Beta GmbH", b"Beta G\xe9mbH")),
     "customers", 3, None, r"is not UTF-8 text \(byte 111: 0xe9 in 'C2,Beta G\\\\xe9mbH,EUR", None),
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
     "reserve_gl", 3, "ending_balance", r"^does not roll forward: beginning 135.00 \+ provision "
     r"10.00 - write_offs 0.00 \+ recoveries 0.00 = 145.00, not the ending balance 146.00$",
     "period_end=2026-03-31"),
    ("reserve does not begin where it ended", lambda d: (d / "reserve_gl.csv").write_text(
        "period_end,beginning_balance,provision,write_offs,recoveries,ending_balance\n"
        "2025-12-31,100.00,50.00,20.00,5.00,135.00\n2026-03-31,130.00,10.00,0.00,0.00,140.00\n"),
     "reserve_gl", 3, "beginning_balance", r"^beginning balance 130.00 does not equal the previous "
     r"period's ending balance 135.00 \(2025-12-31\)$", "period_end=2026-03-31"),
    ("dispute above its invoice", lambda d: (d / "disputes.csv").write_text(
        "dispute_id,invoice_id,opened_date,reason_code,amount\nD1,I3,2026-03-25,pricing,300.00\n"),
     "disputes", 2, "amount", r"^disputed amount 300.00 is above the invoice amount 250.00$",
     "dispute_id=D1"),
    ("negative write-off not a recovery", lambda d: _append(d / "write_offs.csv",
                                                            "I3,2026-03-28,-10.00,goodwill,controller"),
     "write_offs", 4, "amount", r"^amount -10.00 with reason 'goodwill': a negative write-off must "
     r"have reason 'recovery'$", "invoice_id=I3, date=2026-03-28"),
    ("promise without a date", lambda d: (d / "activities.csv").write_text(
        "activity_id,customer_id,timestamp,kind,collector,promise_date,promise_amount\n"
        "A1,C1,2026-03-02T10:00:00+01:00,promise_to_pay,Ann Lee,,50.00\n"),
     "activities", 2, "promise_date", r"^a promise_to_pay needs promise_date and promise_amount "
     r"\(promise_date '', promise_amount '50.00'\)$", "activity_id=A1"),
    ("credit memo in another currency", lambda d: (d / "credit_memos.csv").write_text(
        "credit_memo_id,customer_id,date,amount,invoice_id,reason,currency\n"
        "CM1,C1,2026-03-10,100.00,I1,pricing,EUR\n"),
     "credit_memos", 2, "currency", r"^currency EUR differs from its invoice's \(USD\)$",
     "credit_memo_id=CM1"),
    ("sums past int64", lambda d: [_append(d / "invoices.csv", f"X{i},C1,2026-01-05,2026-02-04,9999999999999999.99,USD")
                                   for i in range(11)],
     "invoices", 14, "amount", r"add up past 4,611,686,018,427,387,904 minor units \(2\^62\)", "invoice_id=X4"),
    ("NUL in a name", lambda d: _replace(d / "customers.csv", "Acme Corp", "Acme\x00Corp"),
     "customers", 2, "name", r"name 'Acme\\x00Corp' holds a control character \(U\+0000\)", "customer_id=C1"),
    ("NUL in an id", lambda d: _replace(d / "invoices.csv", "I2,C1,", "I\x002,C1,"),
     "invoices", 3, "invoice_id", r"^invoice_id 'I\\x002' holds a control character \(U\+0000\)$",
     "invoice_id=I\\x002"),                  # the row id is shown escaped too
    ("tab in a code", lambda d: _replace(d / "customers.csv", "EUR,30,Small Business", "EUR,30,Small\tBusiness"),
     "customers", 3, "segment", r"segment 'Small\\tBusiness' holds a control character \(U\+0009\)", "customer_id=C2"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named_precisely(hand_dir, tmp_path, capsys, store, case):
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
    assert any(o.startswith(expected_prefix) and o == str(h) for h in hits for o in out), out
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
    assert_nothing_stored(store)


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
def test_dates_given_as_arguments_are_iso_and_real(hand_dir, capsys, store, as_of):
    """A date argument is ISO and a real day, or a usage error (exit 2) naming the argument
    and the value; 01/02/2026 is never read as 2 January, 2026-02-30 never as 2 March."""
    before = folder_state(hand_dir)
    try:
        code = main(["aging", "--ledger", str(hand_dir), "--as-of", as_of, "--format", "json"])
    except SystemExit as exit_:               # argparse's own exit, whichever main uses
        code = exit_.code
    assert code == 2
    got = capsys.readouterr()
    assert f"argument --as-of: not a date: '{as_of}' (use YYYY-MM-DD)" in got.err
    assert got.out == ""
    assert folder_state(hand_dir) == before
    assert_nothing_stored(store)


def test_a_date_argument_refused_from_the_command_line(hand_dir, store):
    """The same through a real process: exit 2, the argument and value on stderr."""
    from .conftest import run_cli
    got = run_cli("aging", "--ledger", hand_dir, "--as-of", "2026-02-30",
                  env={"WORKBENCH_STORE": str(store)})
    assert got.returncode == 2
    assert "argument --as-of: not a date: '2026-02-30' (use YYYY-MM-DD)" in got.stderr
    assert got.stdout == ""
    assert_nothing_stored(store)


def test_an_as_of_after_the_ledger_warns(hand_dir, capsys):
    """The hand ledger ends 2026-04-05: a later as-of date runs on the ledger as it stands,
    and says so once, in words (the pack refuses an open period instead)."""
    import json
    before = folder_state(hand_dir)
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2027-01-01", "--format", "json"]) == 0
    got = capsys.readouterr()
    assert json.loads(got.out)
    assert got.err.count("warning: as-of date 2027-01-01 is after the ledger's last date 2026-04-05") == 1
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--format", "json"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert folder_state(hand_dir) == before


def test_only_declared_columns_may_be_empty(hand_dir, store):
    """DATA_MODEL.md: a required column's value is never empty, except receipts' payer_name
    and reference (a bank line may lack them), declared ``nullable`` in the specs; an
    optional column may be empty (a value not given)."""
    from workbench.schema import TABLES
    assert {t.name: t.may_be_empty for t in TABLES.values() if t.may_be_empty} == {
        "receipts": ["payer_name", "reference"]}
    _replace(hand_dir / "receipts.csv", "R3,2026-04-03,500.00,ACME,I2,", "R3,2026-04-03,500.00,,,")
    _replace(hand_dir / "customers.csv", "C2,Beta GmbH,EUR,30,Small Business,Bob Stone",
             "C2,Beta GmbH,EUR,30,,")                      # optional segment and collector
    led = Ledger.load(hand_dir)
    r3 = led.receipts.set_index("receipt_id").loc["R3"]
    assert pd.isna(r3["payer_name"]) and pd.isna(r3["reference"])
    assert r3["amount_minor"] == 50000
    c2 = led.customers.set_index("customer_id").loc["C2"]
    assert pd.isna(c2["segment"]) and pd.isna(c2["collector"])


def test_impossible_date_in_parquet_text(hand_dir, tmp_path, store):
    """A Parquet file whose dates are text: 2026-02-30 is named by its row number, never
    stored as 2026-03-02."""
    folder = tmp_path / "pq"
    folder.mkdir()
    shutil.copy(hand_dir / "customers.csv", folder)
    pq.write_table(pa.table({"invoice_id": ["X1", "X2"], "customer_id": ["C1", "C1"],
                             "invoice_date": ["2026-01-31", "2026-02-30"],
                             "due_date": ["2026-03-02", "2026-03-30"],
                             "amount": ["10.00", "20.00"]}), folder / "invoices.parquet")
    problems = refused(folder, store)
    assert [str(p) for p in problems] == [
        "invoices:2:invoice_date: invoice_date '2026-02-30' is not a date (YYYY-MM-DD) "
        "[invoice_id=X2]"]


def _hand_workbook(hand_dir: Path, folder: Path, tables=("customers", "invoices")) -> Path:
    """The hand ledger's tables as sheets of one workbook, amounts as numbers."""
    folder.mkdir()
    with pd.ExcelWriter(folder / "ledger.xlsx", engine="openpyxl") as xw:
        for name in tables:
            df = pd.read_csv(hand_dir / f"{name}.csv", dtype=str, keep_default_na=False)
            if "amount" in df:
                df["amount"] = pd.to_numeric(df["amount"])
            df.to_excel(xw, sheet_name=name, index=False)
    return folder / "ledger.xlsx"


def test_impossible_date_in_excel_text(hand_dir, tmp_path, store):
    import openpyxl
    path = _hand_workbook(hand_dir, tmp_path / "xl")
    wb = openpyxl.load_workbook(path)
    wb["invoices"]["D4"] = "2026-04-31"          # typed as text: Excel has no such day
    wb.save(path)
    problems = refused(path.parent, store)
    assert [str(p) for p in problems] == [
        "invoices:4:due_date: due_date '2026-04-31' is not a date (YYYY-MM-DD) [invoice_id=I3]"]
    assert problems[0].file.endswith("ledger.xlsx[invoices]")


def _rewrite_member(path: Path, member: str, old: bytes, new: bytes) -> None:
    """Edit one part of an .xlsx (a zip) in place, as Excel itself would have written it."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    assert parts[member].count(old) == 1, parts[member]
    parts[member] = parts[member].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_excel_formula_is_named_not_its_saved_result(hand_dir, tmp_path, store, capsys):
    """Excel saves a formula's last result beside it; that result may be stale (the sheet
    it summed has changed since). The cell is named with its formula, the saved 250 never
    taken as the amount."""
    import openpyxl
    path = _hand_workbook(hand_dir, tmp_path / "xl")
    wb = openpyxl.load_workbook(path)
    wb["invoices"]["E4"] = "=E2/4"
    wb.save(path)
    sheet = "xl/worksheets/sheet2.xml"
    _rewrite_member(path, sheet, b"<f>E2/4</f><v /></c>", b"<f>E2/4</f><v>250</v></c>")
    # what a reader taking saved results sees: a plausible amount
    assert openpyxl.load_workbook(path, data_only=True)["invoices"]["E4"].value == 250
    problems = refused(path.parent, store)
    assert [str(p) for p in problems] == [
        "invoices:4:amount: cell E4 holds the formula '=E2/4': formulas are not read (their "
        "saved result may be stale); enter the value itself [invoice_id=I3]"]
    out = capsys.readouterr().out
    assert "invoices:4:amount: cell E4 holds the formula '=E2/4'" in out
    # the formula's cell is one problem, not also "empty value in a required column"
    assert "empty value" not in out


def test_excel_merged_cells_are_named(hand_dir, tmp_path, store):
    """A merged range keeps its value in its first cell only: the others would read as
    empty, an optional column's silently. The range is named; a value right of the last
    header is named too (never dropped)."""
    import openpyxl
    path = _hand_workbook(hand_dir, tmp_path / "xl")
    wb = openpyxl.load_workbook(path)
    ws = wb["invoices"]
    ws["G1"] = "po_number"
    for row in range(2, 10):
        ws[f"G{row}"] = "PO-77" if row in (2, 3, 4) else f"PO-{row}"
    ws.merge_cells("G2:G4")                  # an optional column, the same PO on 3 rows
    ws.merge_cells("B6:B7")                  # I5 and I6 are both C2's
    ws["I5"] = "checked"                     # no header above it
    wb.save(path)
    problems = refused(path.parent, store)
    assert [str(p) for p in problems] == [
        "invoices:2:po_number: merged cells G2:G4: 'PO-77' is in G2 only and the other cells "
        "read as empty; unmerge and fill every cell [invoice_id=I1]",
        "invoices:5:: cell I5 holds 'checked' in a column without a header [invoice_id=I4]",
        "invoices:6:customer_id: merged cells B6:B7: 'C2' is in B6 only and the other cells "
        "read as empty; unmerge and fill every cell [invoice_id=I5]"]
    # unmerged and filled, the same workbook loads
    ws.unmerge_cells("G2:G4")
    ws.unmerge_cells("B6:B7")
    ws["G3"], ws["G4"], ws["B7"], ws["I5"] = "PO-77", "PO-77", "C2", None
    wb.save(path)
    led = Ledger.load(path.parent)
    assert led.invoices["po_number"].tolist()[:3] == ["PO-77"] * 3


def test_an_unreadable_amount_is_one_problem_not_a_cascade(hand_dir, store):
    """An amount that cannot be read is named once; the balances that would be built on
    it (I4's write-off of 300.00, R2's applications of 300.00) are not judged against a
    placeholder and reported as over-applications."""
    _replace(hand_dir / "invoices.csv", "I4,C1,2025-10-01,2025-10-31,300.00", "I4,C1,2025-10-01,2025-10-31,3OO.00")
    _replace(hand_dir / "receipts.csv", "R2,2026-03-15,300.00", "R2,2026-03-15,30O.00")
    problems = refused(hand_dir, store)
    assert [str(p) for p in problems] == [
        "invoices:5:amount: amount '3OO.00' is not a decimal amount [invoice_id=I4]",
        "receipts:3:amount: amount '30O.00' is not a decimal amount [receipt_id=R2]"]


def test_data_model_md_says_what_the_code_enforces():
    """DATA_MODEL.md ships at the repository's root (README points to it) and agrees with
    the specs: each table's required columns, the two that may be empty, the sum limit."""
    from workbench.schema import SUM_LIMIT_MINOR, TABLES
    doc = (Path(__file__).resolve().parent.parent / "DATA_MODEL.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]+) \|", doc, re.M))
    assert set(rows) == set(TABLES)
    for name, cols in rows.items():
        assert [c.strip() for c in cols.split(",")] == TABLES[name].required, name
    for name, spec in TABLES.items():
        for col in spec.may_be_empty:
            assert f"`{name}.{col}`" in doc
    assert f"{SUM_LIMIT_MINOR:,}" in doc and "2^62" in doc
    assert "merged cells" in doc and "formula" in doc and "2026-02-30" in doc
