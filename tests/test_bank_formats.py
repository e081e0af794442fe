"""Each class of real-world statement the importers must read or refuse, on small files
written here (the shapes seen in other parsers' test suites and in banks' files)."""

import pandas as pd
import pytest

from workbench.io.bank import StatementError, combine, read_statement, read_statements


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


# --------------------------------------------------------------------------- MT940

MT = """:20:STMT{n}
:25:NL91ABNA0417164300
:28C:{n}/1
:60F:C261001EUR1000,00
:61:2610011001C250,00NTRFNONREF
:86:?00GUTSCHRIFT?20EREF+E2E-77?21SVWZ+INV 4012/4015 PO 8812?32ACME FOODS?33 INC
:61:2610011001D10,00NCHGNONREF//BK-FEE-{n}
:86:BANK CHARGES
:61:2610011001C100,00NTRFREF1//BK-{n}-2
:86:/ORDP//ID/NL02RABO0123456789/NAME/BETA GMBH/REMI/USTD//INV-2026-000200/EREF/NOTPROVIDED
:62F:C261001EUR1340,00
-"""


def test_mt940_credit_without_a_bank_reference_gets_a_stable_key(tmp_path):
    f = write(tmp_path, "a.sta", MT.format(n=1))
    [s] = read_statement(f)
    r = s.receipts
    assert r["amount_minor"].tolist() == [25000, 10000]
    assert r["receipt_id"].iloc[0].startswith("NOREF-") and r["receipt_id"].iloc[1] == "BK-1-2"
    # the same statement again: the same ids (a re-import adds nothing)
    [again] = read_statement(write(tmp_path, "b.sta", MT.format(n=1)))
    assert again.receipts["receipt_id"].tolist() == r["receipt_id"].tolist()
    receipts, skipped = combine([s, again])
    assert len(receipts) == 2 and len(skipped) == 2
    assert set(skipped["reason"]) == {"duplicate: the same statement was imported from a.sta"}
    # another statement (number 2) with the same entries: different keys, both kept
    [other] = read_statement(write(tmp_path, "c.sta", MT.format(n=2)))
    assert other.receipts["receipt_id"].iloc[0] != r["receipt_id"].iloc[0]
    receipts, skipped = combine([s, other])
    assert len(receipts) == 4 and len(skipped) == 0


def test_mt940_86_subfields_reach_payer_and_reference(tmp_path):
    [s] = read_statement(write(tmp_path, "a.sta", MT.format(n=1)))
    r = s.receipts
    # German structured: ?32/?33 name, SVWZ+ purpose, EREF+ end-to-end reference
    assert r["payer_name"].iloc[0] == "ACME FOODS INC"
    assert r["reference"].iloc[0] == "INV 4012/4015 PO 8812 E2E-77"
    # SWIFT codes: /ORDP/ holds an account and a /NAME/; /REMI/USTD// the remittance;
    # the :61: customer reference REF1 joins the remittance
    assert r["payer_name"].iloc[1] == "BETA GMBH"
    assert r["reference"].iloc[1] == "INV-2026-000200 REF1"
    assert s.balance_difference() == 0 and s.tie_checked and s.debits_minor == 1000


@pytest.mark.parametrize("wrap", [
    "{1:F01ABNANL2AXXXX0000000000}{2:O940ABNANL2AXXXXN}{3:}{4:\n%s\n-}{5:}",
    ":940:\n%s",
    "ABNANL2A\n940\nABNANL2A\n%s",
    "0000 01INGBNL2AXXXX00001\n0000 01INGBNL2AXXXX00001\n940 00\n%s",
    "\x01\n%s\n\x03",
])
def test_mt940_bank_headers_are_read_as_mt940(tmp_path, wrap):
    f = write(tmp_path, "h.sta", wrap % MT.format(n=1))
    [s] = read_statement(f)
    assert (s.format, s.account, len(s.receipts)) == ("mt940", "NL91ABNA0417164300", 2)


def test_mt940_several_statements_each_with_its_own_account_and_balances(tmp_path):
    second = MT.format(n=2).replace("NL91ABNA0417164300", "NL20INGB0001234567").replace(
        "C261001EUR1000,00", "C261001EUR5000,00").replace("C261001EUR1340,00", "C261001EUR5340,00")
    stmts = read_statement(write(tmp_path, "m.sta", MT.format(n=1) + "\n" + second))
    assert [(s.statement_id, s.account, s.opening_balance_minor, s.closing_balance_minor, len(s.receipts))
            for s in stmts] == [("STMT1", "NL91ABNA0417164300", 100000, 134000, 2),
                                ("STMT2", "NL20INGB0001234567", 500000, 534000, 2)]


def test_mt940_that_does_not_tie_is_refused_whole_with_the_figures(tmp_path):
    f = write(tmp_path, "x.sta", MT.format(n=1).replace("EUR1340,00", "EUR1340,01"))
    with pytest.raises(StatementError, match=r"x.sta statement 1 of 1 \(:20:STMT1, line 1\): balances "
                       r"do not tie, nothing imported: opening 1000.00 EUR \+ credits 350.00 EUR - debits "
                       r"10.00 EUR = 1340.00 EUR, but the closing balance is 1340.01 EUR \(difference "
                       r"0.01 EUR\)"):
        read_statement(f)


def test_mt940_latin1_and_mt942(tmp_path):
    text = MT.format(n=1).replace("ACME FOODS", "MÜLLER GMBH")
    [s] = read_statement(write(tmp_path, "l.sta", text, encoding="latin-1"))
    assert s.receipts["payer_name"].iloc[0] == "MÜLLER GMBH INC" and s.encoding == "cp1252"
    assert "read as cp1252 (not valid UTF-8)" in s.notes
    mt942 = MT.format(n=1).replace(":60F:C261001EUR1000,00", ":34F:EUR0,00\n:13D:2610011200+0100")
    with pytest.raises(StatementError, match="an MT942 interim transaction report, not a statement"):
        read_statement(write(tmp_path, "i.sta", mt942))


def test_mt940_impossible_value_date_is_never_rolled_over(tmp_path):
    text = MT.format(n=1).replace(":61:2610011001C250,00", ":61:2602300301C250,00")
    [s] = read_statement(write(tmp_path, "f.sta", text))
    line = s.lines.iloc[0]
    assert line["booking_date"] == "2026-03-01" and pd.isna(line["value_date"])
    assert "value date 260230 is not a calendar date" in line["note"]


def test_mt940_reversals_keep_their_direction(tmp_path):
    # RC: a reversal of a credit (a returned payment) is a debit; RD: money back, a credit
    # that is not a customer's payment
    text = MT.format(n=1).replace(":61:2610011001C100,00NTRFREF1//BK-1-2", ":61:2610011001RD100,00NTRFREF1//BK-1-2")
    [s] = read_statement(write(tmp_path, "r.sta", text))
    assert s.receipts["receipt_id"].tolist()[1:] == []
    assert (s.other_credits_minor, s.balance_difference()) == (10000, 0)
    text = MT.format(n=1).replace("D10,00NCHG", "RC10,00NCHG")
    [s] = read_statement(write(tmp_path, "r2.sta", text))
    assert (s.debits_minor, s.lines["reversal"].tolist()) == (1000, [False, True, False])


@pytest.mark.parametrize("text,message", [
    (":61:2610011001C250,00NTRFNONREF\n:86:x\n", "no :20: \\(transaction reference\\): a fragment"),
    (":20:X\n:25:A\n:61:2610011001C250,00NTRFNONREF\n", "no opening balance :60F:/:60M:, no closing"),
    (":20:X\n:25:A\n:60F:C261001EUR1,00\n:61:26100X\n:62F:C261001EUR1,00\n", "cannot read the :61: line"),
    ("1\n2\n3\n", "not a recognised bank statement"),
])
def test_mt940_fragments_and_garbage_are_clear_errors(tmp_path, text, message):
    with pytest.raises(StatementError, match=message):
        read_statement(write(tmp_path, "g.sta", text))


# --------------------------------------------------------------------------- camt.053

def camt(entries, opening="1000.00", closing="1000.00", ccy="EUR"):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-10-01T20:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2026-10-01T20:00:00</CreDtTm>
<Acct><Id><IBAN>DE02100100100006820101</IBAN></Id><Ccy>{ccy}</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{opening}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-09-30</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-10-01</Dt></Dt></Bal>
{entries}</Stmt></BkToCstmrStmt></Document>"""


def entry(amount, ind="CRDT", ref=None, rvsl=False, ccy="EUR", txs="", extra=""):
    refs = f"<AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else ""
    return (f"<Ntry><Amt Ccy=\"{ccy}\">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd>"
            f"{'<RvslInd>true</RvslInd>' if rvsl else ''}<Sts>BOOK</Sts>"
            f"<BookgDt><Dt>2026-10-01</Dt></BookgDt><ValDt><Dt>2026-10-01</Dt></ValDt>{refs}{extra}"
            f"<NtryDtls>{txs or tx()}</NtryDtls></Ntry>")


def tx(name="ACME FOODS", remit="INV-2026-004012", amount=None, ccy="EUR"):
    amt = f"<AmtDtls><TxAmt><Amt Ccy=\"{ccy}\">{amount}</Amt></TxAmt></AmtDtls>" if amount else ""
    return (f"<TxDtls>{amt}<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr></RltdPties>"
            f"<RmtInf><Ustrd>{remit}</Ustrd></RmtInf></TxDtls>")


def test_camt_credit_without_references_and_utf8_bom(tmp_path):
    xml = camt(entry("50.00"), closing="1050.00")
    [s] = read_statement(write(tmp_path, "a.xml", "\ufeff" + xml))
    assert s.receipts["receipt_id"].iloc[0].startswith("NOREF-") and s.encoding == "utf-8-sig"
    assert s.receipts[["payer_name", "reference"]].values.tolist() == [["ACME FOODS", "INV-2026-004012"]]


def test_camt_reversals_in_the_direction_booked(tmp_path):
    # a reversed credit (a returned payment) is booked DBIT: a debit, never a receipt
    xml = camt(entry("50.00", "CRDT", "R1") + entry("50.00", "DBIT", "R2", rvsl=True))
    [s] = read_statement(write(tmp_path, "r.xml", xml))
    assert s.receipts["receipt_id"].tolist() == ["R1"] and s.debits_minor == 5000
    assert s.lines["note"].iloc[1] == "reversal of an earlier credit (a returned payment)"
    # a reversed debit booked CRDT: money back, not a customer's payment
    xml = camt(entry("20.00", "CRDT", "R3", rvsl=True), closing="1020.00")
    [s] = read_statement(write(tmp_path, "r2.xml", xml))
    assert len(s.receipts) == 0 and s.other_credits_minor == 2000 and s.balance_difference() == 0


def test_camt_batch_becomes_one_receipt_per_transaction(tmp_path):
    txs = (tx("ACME FOODS", "INV-1", "30.00") + tx("BETA GMBH", "INV-2", "45.50")
           + tx("GAMMA SA", "INV-3", "24.50"))
    [s] = read_statement(write(tmp_path, "b.xml", camt(entry("100.00", ref="B1", txs=txs),
                                                        closing="1100.00")))
    assert s.receipts[["receipt_id", "amount_minor", "payer_name"]].values.tolist() == [
        ["B1-1", 3000, "ACME FOODS"], ["B1-2", 4550, "BETA GMBH"], ["B1-3", 2450, "GAMMA SA"]]
    bad = camt(entry("100.00", ref="B1", txs=txs.replace("24.50", "24.40")), closing="1100.00")
    with pytest.raises(StatementError, match=r"entry 1: its 3 transactions add up to 99.90 EUR, the "
                                             r"entry says 100.00 EUR"):
        read_statement(write(tmp_path, "b2.xml", bad))


def test_camt_foreign_currency_entries(tmp_path):
    counter = ("<AmtDtls><CntrValAmt><Amt Ccy=\"EUR\">9.10</Amt></CntrValAmt></AmtDtls>")
    xml = camt(entry("10.00", "DBIT", "F1", ccy="USD", extra=counter), closing="990.90")
    [s] = read_statement(write(tmp_path, "f.xml", xml))
    assert s.debits_minor == 910 and s.balance_difference() == 0
    # without a counter-value: imported in its own currency, outside the balance check
    xml = camt(entry("10.00", "CRDT", "F2", ccy="USD"))
    [s] = read_statement(write(tmp_path, "f2.xml", xml))
    assert s.receipts[["currency", "amount_minor"]].values.tolist() == [["USD", 1000]]
    assert s.balance_difference() == 0 and any("another currency" in n for n in s.notes)


@pytest.mark.parametrize("root,message", [
    ("BkToCstmrAcctRpt", "an ISO 20022 account report \\(camt.052"),
    ("BkToCstmrDbtCdtNtfctn", "debit/credit notification \\(camt.054\\), not a statement"),
])
def test_camt_reports_and_notifications_are_not_statements(tmp_path, root, message):
    xml = camt(entry("1.00")).replace("BkToCstmrStmt", root)
    with pytest.raises(StatementError, match=message):
        read_statement(write(tmp_path, "n.xml", xml))


def test_camt_balances_that_do_not_tie(tmp_path):
    with pytest.raises(StatementError, match=r"balances do not tie, nothing imported: opening "
                                             r"1000.00 EUR \+ credits 50.00 EUR - debits 0.00 EUR = "
                                             r"1050.00 EUR, but the closing balance is 1000.00 EUR"):
        read_statement(write(tmp_path, "t.xml", camt(entry("50.00", ref="T1"))))


# --------------------------------------------------------------------------- BAI2

def bai(details, opening=100000, closing=None, credits=None, records=None):
    body = [f"03,123456789,USD,010,{opening},,,015,{closing},,/"] + details
    amounts = [opening, closing] + [int(d.split(",")[2]) for d in details if d.startswith("16,")]
    total = sum(amounts)
    body.append(f"49,{total},{len(body) + 1}/")
    group = ["02,WB,BANK,1,261001,2359,USD,2/"] + body + [f"98,{total},1,{len(body) + 2}/"]
    return "\n".join(["01,BANK,WB,261001,2359,1,80,,2/"] + group + [f"99,{total},1,{len(group) + 2}/"]) + "\n"


def test_bai2_without_bank_reference_custom_codes_and_free_text(tmp_path):
    lines = ["16,195,5000,Z,,,ACME FOODS INC INV 4012/4015, PO 8812",
             "88,THANK YOU",
             "16,935,2500,Z,BR2,,CUSTOM CREDIT/",      # 930-959: custom credits
             "16,965,700,Z,BR3,,CUSTOM DEBIT/"]       # 960-999: custom debits
    f = write(tmp_path, "a.bai", bai(lines, closing=100000 + 5000 + 2500 - 700))
    [s] = read_statement(f)
    r = s.receipts
    assert r["receipt_id"].iloc[0].startswith("NOREF-") and r["receipt_id"].iloc[1] == "BR2"
    # unlabelled text is kept whole: commas and the 88 continuation included
    assert r["reference"].iloc[0] == "ACME FOODS INC INV 4012/4015, PO 8812 THANK YOU"
    assert (s.debits_minor, s.balance_difference()) == (700, 0)


def test_bai2_unknown_direction_and_trailers_are_clear_errors(tmp_path):
    f = write(tmp_path, "l.bai", bai(["16,777,100,Z,X1,,LOAN/"], closing=100100))
    with pytest.raises(StatementError, match=r"l.bai line 4 \(record 16\): type code 777 is neither "
                                             r"a credit nor a debit"):
        read_statement(f)
    text = bai(["16,195,100,Z,X1,,A/"], closing=100100).replace("99,", "99,1")
    with pytest.raises(StatementError, match=r"record 99\): totals do not tie, nothing imported: the "
                                             r"file control total says"):
        read_statement(write(tmp_path, "t.bai", text))
    with pytest.raises(StatementError, match="balances do not tie"):
        read_statement(write(tmp_path, "b.bai", bai(["16,195,100,Z,X1,,A/"], closing=100000)))
    with pytest.raises(StatementError, match="no file trailer \\(99\\)"):
        read_statement(write(tmp_path, "c.bai", bai(["16,195,100,Z,X1,,A/"], closing=100100)
                             .rsplit("99,", 1)[0]))


# --------------------------------------------------------------------------- duplicates

def test_duplicates_are_judged_by_the_whole_entry_not_the_reference(tmp_path):
    usd = bai(["16,195,5000,Z,REF-1,,ACME/"], closing=105000)
    jpy = usd.replace("USD", "JPY")
    a, b = read_statements([write(tmp_path, "usd.bai", usd), write(tmp_path, "jpy.bai", jpy)])
    receipts, skipped = combine([a, b])
    # a genuine JPY credit whose bank reference equals a USD entry's is kept: both under ids
    # that tell them apart, whichever other files are in the run
    assert sorted(zip(receipts["currency"], receipts["receipt_id"])) == [
        ("JPY", "REF-1~123456789~JPY~20261001~5000"), ("USD", "REF-1~123456789~USD~20261001~5000")]
    assert len(skipped) == 0
    # the same reference with another amount on the same account: kept too
    other = bai(["16,195,7000,Z,REF-1,,ACME/"], closing=107000).replace("261001", "261002")
    receipts, skipped = combine(read_statements([tmp_path / "usd.bai", write(tmp_path, "o.bai", other)]))
    assert len(receipts) == 2 and len(skipped) == 0
    # the same entry in two statements (overlapping periods): once, the copy named
    again = write(tmp_path, "again.bai", usd.replace("01,BANK,WB,261001,2359,1", "01,BANK,WB,261001,2359,2")
                  .replace("03,123456789,USD,010,100000", "03,123456789,USD,010,100000"))
    s1, s2 = read_statements([tmp_path / "usd.bai", again])
    s2.statement_key = "another"         # a different statement reporting the same entry
    receipts, skipped = combine([s1, s2])
    assert len(receipts) == 1
    assert skipped[["receipt_id", "file", "reason"]].values.tolist() == [
        ["REF-1", "again.bai", "duplicate: the same entry is in usd.bai"]]


def test_a_reference_repeated_inside_a_statement_keeps_every_entry(tmp_path):
    text = MT.format(n=1).replace("NTRFREF1//BK-1-2", "NTRFREF1//BATCH77").replace(
        ":61:2610011001C250,00NTRFNONREF", ":61:2610011001C250,00NTRFNONREF//BATCH77")
    [s] = read_statement(write(tmp_path, "r.sta", text))
    receipts, skipped = combine([s])
    assert receipts["receipt_id"].tolist() == ["BATCH77#1", "BATCH77#3"] and len(skipped) == 0


def test_statement_identity_is_its_content(tmp_path):
    """A CSV export saved under two names is one statement; two days' exports with the same
    file name are two."""
    rows = "Date,Bank Ref,Counterparty,Details,Amount,Currency,Account\n30/09/2026,,ACME,INV 1,100.00,USD,A\n"
    a = write(tmp_path, "export.csv", rows)
    (tmp_path / "copy").mkdir()
    b = write(tmp_path / "copy", "renamed.csv", rows)
    receipts, skipped = combine(read_statements([a, b]))
    assert len(receipts) == 1 and len(skipped) == 1
    (tmp_path / "tue").mkdir()
    c = write(tmp_path / "tue", "export.csv", rows.replace("30/09/2026", "01/10/2026"))
    receipts, skipped = combine(read_statements([a, c]))
    assert len(receipts) == 2 and len(skipped) == 0


def test_never_a_traceback(tmp_path):
    for name, data in [("e.xml", b"<?xml version='1.0'?><Document><BkToCstmrStmt><Stmt><Ntry>"),
                       ("z.bai", b"01,A,B,261301,2359,1,,,2/\n"), ("bin.sta", bytes(range(256))),
                       ("empty.csv", b"")]:
        with pytest.raises(StatementError):
            read_statement(write(tmp_path, name, data))
