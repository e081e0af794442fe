"""Bank statement import on real-format samples (tests/fixtures/bank)."""

import pytest

from workbench.io.bank import StatementError, read_statement, read_statements, statements_receipts
from workbench.io.bank_writers import write_bai2, write_bank_csv, write_camt053, write_mt940

from .conftest import FIXTURES

BANK = FIXTURES / "bank"


@pytest.mark.parametrize("name", ["camt053_v02.xml", "camt053_v08.xml"])
def test_camt053(name):
    [s] = read_statement(BANK / name)
    assert (s.format, s.statement_id, s.currency) == ("camt053", "STMT-USD-0930", "USD")
    assert (s.opening_balance_minor, s.closing_balance_minor) == (1000000, 1337500)
    assert (s.credits_minor, s.debits_count, s.debits_minor, s.balance_difference()) == (340000, 1, 2500, 0)
    r = s.receipts
    # receipt_id: AcctSvcrRef, else NtryRef; payer from RltdPties/Dbtr(/Pty)/Nm;
    # remittance from Ustrd and structured CdtrRefInf/Ref
    assert r["receipt_id"].tolist() == ["BK260930000101", "E2E-2"]
    assert r["payer_name"].tolist() == ["ACME CORP", "BETA INDUSTRIES"]
    assert r["reference"].tolist() == ["PAYMENT INV-2026-000101 INV-2026-000102", "inv 103"]
    assert r["amount_minor"].tolist() == [300000, 40000]
    assert str(r["value_date"].iloc[1].date()) == "2026-10-01"


def test_bai2_with_continuation_records():
    [s] = read_statement(BANK / "statement.bai")
    assert (s.format, s.currency, s.opening_balance_minor, s.closing_balance_minor) == ("bai2", "USD", 1000000, 1337500)
    assert s.receipts["receipt_id"].tolist() == ["BK260930000101", "BK260930000102"]
    # labelled text is split by its labels; unlabelled text is kept whole (never cut at a
    # comma): the matcher searches it for the payer and the invoice numbers
    assert s.receipts["payer_name"].tolist() == ["ACME CORP", ""]
    assert s.receipts["reference"].tolist() == ["INV-2026-000101 INV-2026-000102 ACME-0930",
                                                "BETA INDUSTRIES,inv 103"]
    assert (s.debits_count, s.debits_minor, s.balance_difference()) == (1, 2500, 0)


def test_mt940():
    [s] = read_statement(BANK / "statement.sta")
    assert (s.format, s.currency, s.opening_balance_minor, s.closing_balance_minor) == ("mt940", "EUR", 100000, 226950)
    assert s.receipts["receipt_id"].tolist() == ["BK260930000201", "BK260930000203"]
    assert s.receipts["payer_name"].tolist() == ["BETA GMBH", "LAMBDA LDA"]     # /ORDP/ and ?32
    # the :61: customer reference (BETA0930) is part of the remittance
    assert s.receipts["reference"].tolist() == ["INV-2026-000200 INV-2026-000201 BETA0930", "INV 000202"]
    assert s.balance_difference() == 0 and s.debits_count == 1


def test_bank_csv_with_column_map():
    [s] = read_statement(BANK / "statement.csv")
    assert s.receipts["amount_minor"].tolist() == [125000, 40000]      # "1,250.00" exactly
    assert s.receipts["receipt_date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-09-30", "2026-10-01"]
    assert (s.debits_count, s.debits_minor) == (1, 1250)


@pytest.mark.parametrize("name,message", [
    ("camt053_bad_totals.xml", "totals do not tie, nothing imported: TtlCdtNtries/Sum says 3400.10, "
                               "the entries add up to 3400.00"),
    ("statement_bad_totals.bai", "statement_bad_totals.bai line 8 (record 49): totals do not tie, "
                                 "nothing imported: the account control total says 3022600, the "
                                 "records add up to 3022500"),
])
def test_statements_that_do_not_tie_are_refused(name, message):
    with pytest.raises(StatementError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_statement(BANK / name)
    # several files: one bad file stops them all
    with pytest.raises(StatementError):
        read_statements([BANK / "camt053_v02.xml", BANK / name])


def test_importing_twice_adds_nothing():
    statements = read_statements([BANK / "camt053_v02.xml", BANK / "camt053_v02.xml", BANK / "statement.bai"])
    receipts, dupes = statements_receipts(statements)
    # the BAI2 file reports the same bank entry BK260930000101: once
    assert dupes == 3
    assert sorted(receipts["receipt_id"]) == ["BK260930000101", "BK260930000102", "E2E-2"]


def test_bad_files_are_clear_errors(tmp_path):
    (tmp_path / "x.xml").write_text("<Document><Nope/></Document>")
    with pytest.raises(StatementError, match="not a camt.053 statement"):
        read_statement(tmp_path / "x.xml")
    (tmp_path / "t.xml").write_text((BANK / "camt053_v02.xml").read_text()[:900])
    with pytest.raises(StatementError, match="not well-formed XML"):
        read_statement(tmp_path / "t.xml")
    with pytest.raises(StatementError, match="does not exist"):
        read_statement(tmp_path / "missing.sta")
    (tmp_path / "b.csv").write_text("Date,Bank Ref,Counterparty,Details,Amount,Currency,Account\n"
                                    "30/09/2026,R1,A,B,12.345,USD,X\n")
    with pytest.raises(StatementError, match=r"line 2: amount: '12.345' has more decimals than USD"):
        read_statement(tmp_path / "b.csv")


def test_writers_round_trip(tmp_path):
    [s] = read_statement(BANK / "camt053_v02.xml")
    r = s.receipts
    fee = [("FEE-9", "2026-09-30", 1999)]
    files = [write_camt053(r, tmp_path / "a.xml", "ACC", "USD", 5000, debits=fee),
             write_camt053(r, tmp_path / "b.xml", "ACC", "USD", 5000, version="001.08"),
             write_bai2(r, tmp_path / "c.bai", "ACC", "USD", "2026-09-30", 5000, debits=[("FEE-9", 1999)]),
             write_mt940(r, tmp_path / "d.sta", "ACC", "USD", 5000, debits=fee),
             write_bank_csv(r, tmp_path / "e.csv", "ACC", debits=[("FEE-9", "2026-09-30", 1999, "USD")])]
    for f in files:
        [back] = read_statement(f)
        assert back.receipts["receipt_id"].tolist() == r["receipt_id"].tolist(), f.name
        assert back.receipts["amount_minor"].tolist() == r["amount_minor"].tolist(), f.name
        assert back.receipts["payer_name"].tolist() == r["payer_name"].tolist(), f.name
        assert back.balance_difference() in (0, None), f.name
