"""End to end in three currencies: USD (2 decimals), KWD (3) and JPY (0) side by side.

One small hand-built ledger, every figure below computed by hand from the rows in
``three_currency_ledger``; nothing is ever added across currencies unless converted at a
named rate.

Open items on 2026-09-30 (days past due = 2026-09-30 - due date):

=====  ====  ==========  ============  ========================================  ===  ========
inv    cust  due         amount        reductions                                dpd  bucket
=====  ====  ==========  ============  ========================================  ===  ========
IU1    U1    2026-07-01  1000.00 USD   RU1 400.00 applied 2026-07-15             91   91-120
IU2    U1    2026-09-14   250.50 USD                                             16   1-30
IU3    U1    2026-10-30    99.99 USD                                             -30  current
IK1    K1    2026-07-31     1.234 KWD                                            61   61-90
IK2    K1    2026-10-01   250.500 KWD                                            -1   current
IK3    K1    2026-08-31  1000.125 KWD  CMK1 0.125 (2026-09-10), RK1 400.000       30   1-30
IM1    M1    2026-08-31    12.345 KWD                                            30   1-30
IJ1    J1    2026-05-31    125000 JPY  RJ1 50000 applied 2026-08-20             122  over_120
IJ2    J1    2026-10-10     80000 JPY                                            -10  current
IM2    M1    2026-08-14      3000 JPY                                            47   31-60
=====  ====  ==========  ============  ========================================  ===  ========

RK1 received 500.000 KWD and 400.000 of it was applied: 100.000 KWD unapplied on K1's
account. M1 (a KWD customer) also owes a JPY invoice: its statement has two sections.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stdout
from html import unescape

import openpyxl
import pandas as pd
import pytest

from workbench import Ledger
from workbench.cli import main
from workbench.documents import dunning_letter, statement_data, statement_excel, statement_html

from .conftest import write_ledger

AS_OF = "2026-09-30"


def _customer(cid, name, currency, segment, collector):
    return {"customer_id": cid, "name": name, "currency": currency, "payment_terms_days": 30,
            "segment": segment, "collector": collector}


def _invoice(iid, cid, date, due, amount, currency):
    return {"invoice_id": iid, "customer_id": cid, "invoice_date": date, "due_date": due,
            "amount": amount, "currency": currency}


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("currencies") / "ledger"
    write_ledger(
        folder,
        customers=[_customer("U1", "Union Tools", "USD", "Enterprise", "Ann Lee"),
                   _customer("K1", "Kuwait Trading Co", "KWD", "Enterprise", "Bob Stone"),
                   _customer("J1", "Jomon KK", "JPY", "Small Business", "Ann Lee"),
                   _customer("M1", "Multi Corp", "KWD", "Small Business", "Bob Stone")],
        invoices=[_invoice("IU1", "U1", "2026-06-01", "2026-07-01", "1000.00", "USD"),
                  _invoice("IU2", "U1", "2026-08-15", "2026-09-14", "250.50", "USD"),
                  _invoice("IU3", "U1", "2026-09-30", "2026-10-30", "99.99", "USD"),
                  _invoice("IK1", "K1", "2026-07-01", "2026-07-31", "1.234", "KWD"),
                  _invoice("IK2", "K1", "2026-09-01", "2026-10-01", "250.500", "KWD"),
                  _invoice("IK3", "K1", "2026-08-01", "2026-08-31", "1000.125", "KWD"),
                  _invoice("IJ1", "J1", "2026-05-01", "2026-05-31", "125000", "JPY"),
                  _invoice("IJ2", "J1", "2026-09-10", "2026-10-10", "80000", "JPY"),
                  _invoice("IM1", "M1", "2026-08-01", "2026-08-31", "12.345", "KWD"),
                  _invoice("IM2", "M1", "2026-07-15", "2026-08-14", "3000", "JPY")],
        receipts=[{"receipt_id": "RU1", "receipt_date": "2026-07-15", "amount": "400.00",
                   "payer_name": "UNION TOOLS", "reference": "IU1", "customer_id": "U1",
                   "currency": "USD"},
                  {"receipt_id": "RK1", "receipt_date": "2026-09-15", "amount": "500.000",
                   "payer_name": "KUWAIT TRADING", "reference": "IK3", "customer_id": "K1",
                   "currency": "KWD"},
                  {"receipt_id": "RJ1", "receipt_date": "2026-08-20", "amount": "50000",
                   "payer_name": "JOMON KK", "reference": "IJ1", "customer_id": "J1",
                   "currency": "JPY"}],
        applications=[{"receipt_id": "RU1", "invoice_id": "IU1", "amount": "400.00",
                       "applied_date": "2026-07-15"},
                      {"receipt_id": "RK1", "invoice_id": "IK3", "amount": "400.000",
                       "applied_date": "2026-09-15"},
                      {"receipt_id": "RJ1", "invoice_id": "IJ1", "amount": "50000",
                       "applied_date": "2026-08-20"}],
        credit_memos=[{"credit_memo_id": "CMK1", "customer_id": "K1", "date": "2026-09-10",
                       "amount": "0.125", "invoice_id": "IK3", "reason": "pricing"}],
        fx_rates=[{"date": "2026-06-30", "currency": "KWD", "rate_to_report": "3.26"},
                  {"date": "2026-06-30", "currency": "JPY", "rate_to_report": "0.0069"},
                  {"date": "2026-09-30", "currency": "KWD", "rate_to_report": "3.25"},
                  {"date": "2026-09-30", "currency": "JPY", "rate_to_report": "0.0068"}],
    )
    return folder


@pytest.fixture(scope="module")
def ledger(ledger_dir):
    return Ledger.load(ledger_dir)


def _json(args) -> object:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(args) == 0
    return json.loads(buf.getvalue())


def _text(html: str) -> str:
    """The visible text of an HTML page, one space between words."""
    html = re.sub(r"<style.*?</style>|<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# ---------------------------------------------------------------------------- aging

def test_aging_per_currency_exact_in_each_currencys_decimals(ledger_dir):
    records = _json(["aging", "--ledger", str(ledger_dir), "--as-of", AS_OF, "--format", "json"])
    assert records == [
        {"as_of": AS_OF, "currency": "JPY",
         "buckets": {"current": "80000", "1-30": "0", "31-60": "3000", "61-90": "0",
                     "91-120": "0", "over_120": "75000"},
         # over 60: 75000 / 158000 = 47.4684 %
         "total": "158000", "aging_over_60_pct": 47.4684, "open_invoices": 3},
        {"as_of": AS_OF, "currency": "KWD",
         # 1-30: IK3 1000.125 - 0.125 - 400.000 = 600.000, + IM1 12.345 = 612.345
         "buckets": {"current": "250.500", "1-30": "612.345", "31-60": "0.000",
                     "61-90": "1.234", "91-120": "0.000", "over_120": "0.000"},
         # 1.234 / 864.079 = 0.1428 %
         "total": "864.079", "aging_over_60_pct": 0.1428, "open_invoices": 4},
        {"as_of": AS_OF, "currency": "USD",
         "buckets": {"current": "99.99", "1-30": "250.50", "31-60": "0.00", "61-90": "0.00",
                     "91-120": "600.00", "over_120": "0.00"},
         # 600.00 / 950.49 = 63.1253 %
         "total": "950.49", "aging_over_60_pct": 63.1253, "open_invoices": 3},
    ]


def test_aging_in_the_reporting_currency_converts_each_bucket_half_even(ledger_dir):
    rec = _json(["aging", "--ledger", str(ledger_dir), "--as-of", AS_OF, "--format", "json",
                 "--report-currency", "USD"])
    # at 2026-09-30: 1 KWD = 3.25 USD, 1 JPY = 0.0068 USD, each bucket rounded half to even:
    # current 99.99 + 250.500 * 3.25 (814.125 -> 814.12) + 80000 * 0.0068 (544.00) = 1458.11
    # 1-30    250.50 + 612.345 * 3.25 (1990.12125 -> 1990.12)                    = 2240.62
    # 31-60   3000 * 0.0068 = 20.40; 61-90 1.234 * 3.25 = 4.0105 -> 4.01
    # 91-120  600.00; over_120 75000 * 0.0068 = 510.00
    assert rec["buckets"] == {"current": "1458.11", "1-30": "2240.62", "31-60": "20.40",
                              "61-90": "4.01", "91-120": "600.00", "over_120": "510.00"}
    assert rec["currency"] == "USD" and rec["total"] == "4833.14"
    # (4.01 + 600.00 + 510.00) / 4833.14 = 23.0494 %
    assert rec["aging_over_60_pct"] == 23.0494 and rec["open_invoices"] == 10


# ---------------------------------------------------------------------------- KPIs

def test_kpis_per_currency(ledger_dir):
    rows = {r["currency"]: r for r in _json(["kpis", "--ledger", str(ledger_dir), "--period",
                                             "2026Q3", "--format", "json"])}
    money = ("credit_sales", "beginning_ar", "ending_ar", "ending_current_ar", "cash_collected",
             "unapplied_cash", "ending_over_60_ar")
    assert {c: {k: r[k] for k in money} for c, r in rows.items()} == {
        # sales in Q3: IJ2 80000 + IM2 3000; beginning AR (2026-06-30): IJ1 125000
        "JPY": {"credit_sales": "83000", "beginning_ar": "125000", "ending_ar": "158000",
                "ending_current_ar": "80000", "cash_collected": "50000", "unapplied_cash": "0",
                "ending_over_60_ar": "75000"},
        # sales: 1.234 + 250.500 + 1000.125 + 12.345; RK1 500.000 received, 100.000 unapplied
        "KWD": {"credit_sales": "1264.204", "beginning_ar": "0.000", "ending_ar": "864.079",
                "ending_current_ar": "250.500", "cash_collected": "500.000",
                "unapplied_cash": "100.000", "ending_over_60_ar": "1.234"},
        "USD": {"credit_sales": "350.49", "beginning_ar": "1000.00", "ending_ar": "950.49",
                "ending_current_ar": "99.99", "cash_collected": "400.00",
                "unapplied_cash": "0.00", "ending_over_60_ar": "600.00"},
    }
    # DSO = ending AR / credit sales * 92: 158000/83000*92, 864.079/1264.204*92, 950.49/350.49*92
    assert {c: r["dso"] for c, r in rows.items()} == {"JPY": 175.1325, "KWD": 62.8817,
                                                     "USD": 249.4938}
    # CEI = (beginning + sales - ending) / (beginning + sales - ending current) * 100
    # JPY 50000/128000; KWD 400.125/1013.704; USD 400.00/1250.50
    assert {c: r["cei"] for c, r in rows.items()} == {"JPY": 39.0625, "KWD": 39.4716,
                                                     "USD": 31.9872}
    # countback USD: Sep 99.99 (30 d), Aug 250.50 (31 d), Jul 0 (31 d), Jun 600/1000 of 30 d
    assert rows["USD"]["countback_dso"] == 110.0


# ---------------------------------------------------------------------------- documents

def test_statement_has_one_section_and_one_total_per_currency(ledger):
    data = statement_data(ledger, "M1", AS_OF)
    # the customer's own currency first; each section's total is its own integers' sum
    assert data["currencies"] == ["KWD", "JPY"]
    assert [(s["currency"], s["total_open_minor"], s["total_open"]) for s in data["sections"]] \
        == [("KWD", 12345, "12.345"), ("JPY", 3000, "3,000")]
    assert [[(b["label"], b["amount"]) for b in s["buckets"] if b["minor"]]
            for s in data["sections"]] == [[("1-30", "12.345")], [("31-60", "3,000")]]
    text = _text(statement_html(ledger, "M1", AS_OF))
    assert "Currency: KWD, JPY" in text
    assert "Total open (KWD) 12.345" in text and "Total open (JPY) 3,000" in text
    assert "IM1 2026-08-01 2026-08-31 12.345 12.345 30 1-30" in text
    assert "IM2 2026-07-15 2026-08-14 3,000 3,000 47 31-60" in text
    assert "amounts in different currencies are not added" in text
    # the mixed sum (3000 yen + 12345 fils read as one number) is nowhere
    for mixed in ("15,345", "15.345", "15345", "3,012", "3012"):
        assert mixed not in text


def test_statement_in_kwd_prints_three_decimals(ledger):
    text = _text(statement_html(ledger, "K1", AS_OF))
    assert "Currency: KWD" in text and "Currency: KWD," not in text
    # IK1 1.234, IK2 250.500, IK3 1000.125 - 0.125 - 400.000 = 600.000
    assert "IK1 2026-07-01 2026-07-31 1.234 1.234 61 61-90" in text
    assert "IK3 2026-08-01 2026-08-31 1,000.125 600.000 30 1-30" in text
    assert "Total open (KWD) 851.734" in text            # 1.234 + 250.500 + 600.000
    assert "250.500 600.000 0.000 1.234 0.000 0.000" in text       # the aging row
    assert "RK1 2026-09-15 500.000 400.000" in text
    assert "Unapplied payments on your account: 100.000 KWD" in text
    assert "12.34 " not in text and "1.23 " not in text


def test_statement_excel_formats_each_currency(ledger, tmp_path):
    path = statement_excel(ledger, "M1", AS_OF, tmp_path / "m1.xlsx")
    ws = openpyxl.load_workbook(path).active
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    assert "Currency: KWD" in cells and "Currency: JPY" in cells
    rows = [[c for c in row if c.value is not None] for row in ws.iter_rows()]
    totals = {r[0].value: (r[1].value, r[1].number_format) for r in rows
              if r and str(r[0].value).startswith("Total open")}
    assert totals == {"Total open (KWD)": (12.345, "#,##0.000"),
                      "Total open (JPY)": (3000, "#,##0")}


def test_dunning_letter_totals_past_due_per_currency(ledger):
    text = _text(dunning_letter(ledger, "M1", AS_OF, "friendly"))
    assert "Total past due (KWD) 12.345" in text and "Total past due (JPY) 3,000" in text
    assert "15,345" not in text and "15.345" not in text
    # K1: IK1 1.234 (61 days) + IK3 600.000 (30 days); IK2 is not yet due
    text = _text(dunning_letter(ledger, "K1", AS_OF, "firm"))
    assert "IK1 2026-07-31 61 1.234" in text and "IK3 2026-08-31 30 600.000" in text
    assert "Total past due (KWD) 601.234" in text and "IK2" not in text
    # J1: IJ1 125000 - 50000 = 75,000 yen, no decimals
    text = _text(dunning_letter(ledger, "J1", AS_OF, "final", language="es"))
    assert "IJ1 2026-05-31 122 75,000" in text and "Total vencido (JPY) 75,000" in text


def test_statement_and_letter_from_the_command_line(ledger_dir, tmp_path, capsys):
    st = tmp_path / "m1.html"
    assert main(["statement", "--ledger", str(ledger_dir), "--customer", "M1", "--as-of", AS_OF,
                 "--out", str(st), "--no-log"]) == 0
    text = _text(st.read_text())
    assert "Total open (KWD) 12.345" in text and "Total open (JPY) 3,000" in text
    letter = tmp_path / "k1.html"
    assert main(["letter", "--ledger", str(ledger_dir), "--customer", "K1", "--as-of", AS_OF,
                 "--stage", "firm", "--out", str(letter), "--no-log"]) == 0
    assert "Total past due (KWD) 601.234" in _text(letter.read_text())


# ---------------------------------------------------------------------------- worklist

def test_worklist_amounts_in_their_currency(ledger_dir):
    rows = _json(["worklist", "--ledger", str(ledger_dir), "--as-of", AS_OF, "--format", "json",
                  "--no-log"])
    got = {(r["customer_id"], r["currency"]): (r["open_ar"], r["past_due_ar"],
                                               r["oldest_days_past_due"]) for r in rows}
    # a customer owing in two currencies has one row per currency, never a sum
    assert got == {("K1", "KWD"): ("851.734", "601.234", 61),
                   ("U1", "USD"): ("950.49", "850.50", 91),
                   ("J1", "JPY"): ("155000", "75000", 122),
                   ("M1", "KWD"): ("12.345", "12.345", 30),
                   ("M1", "JPY"): ("3000", "3000", 47)}
    reasons = {(r["customer_id"], r["currency"]): r["reasons"] for r in rows}
    assert reasons[("K1", "KWD")].startswith("601.234 KWD past due (oldest 61 days)")
    assert reasons[("J1", "JPY")].startswith("75,000 JPY past due (oldest 122 days)")


# ---------------------------------------------------------------------------- the pack

def _run_pack(ledger_dir, root):
    """The quarter-end pack with its notebooks (about 45 s on two cores)."""
    from workbench.reports import run_pack

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_DB_URL", f"sqlite:///{root / 'none.db'}")      # no activity log
        mp.setenv("WORKBENCH_DATA_DIR", str(root / "data"))
        return run_pack("quarter-end", ledger_dir, "2026Q3", root / "reports",
                        snapshots_root=root / "snapshots")


def test_quarter_end_pack_is_exact_and_formatted_per_currency(ledger_dir, tmp_path):
    """One pack run (the notebooks are the slow part), three views of it: the machine
    tables exact per currency, the HTML and the workbook formatted for people."""
    pack = _run_pack(ledger_dir, tmp_path)
    assert json.loads((pack / "manifest.json").read_text())["status"] == "complete"

    # the machine tables: exact decimal text in each currency's minor units
    aging = pd.read_csv(pack / "aging_by_currency.csv", dtype=str).set_index("currency")
    assert aging.loc["KWD", ["current", "1-30", "61-90", "total"]].tolist() == [
        "250.500", "612.345", "1.234", "864.079"]
    assert aging.loc["JPY", ["current", "31-60", "over_120", "total"]].tolist() == [
        "80000", "3000", "75000", "158000"]
    assert aging.loc["USD", ["current", "1-30", "91-120", "total"]].tolist() == [
        "99.99", "250.50", "600.00", "950.49"]
    kpis = pd.read_csv(pack / "kpis_by_currency.csv", dtype=str).set_index("currency")
    assert kpis.loc[["JPY", "KWD", "USD"], "ending_ar"].tolist() == ["158000", "864.079", "950.49"]
    assert kpis.loc[["JPY", "KWD", "USD"], "credit_sales"].tolist() == ["83000", "1264.204",
                                                                         "350.49"]
    assert kpis.loc["KWD", "unapplied_cash"] == "100.000"
    wl = pd.read_csv(pack / "worklist.csv", dtype=str)
    assert sorted(zip(wl["customer_id"], wl["currency"], wl["past_due_ar"])) == [
        ("J1", "JPY", "75000"), ("K1", "KWD", "601.234"), ("M1", "JPY", "3000"),
        ("M1", "KWD", "12.345"), ("U1", "USD", "850.50")]
    summary = json.loads((pack / "ledger_summary.json").read_text())
    assert summary["ar"] == {"JPY": "158000", "KWD": "864.079", "USD": "950.49"}
    assert summary["unapplied_cash"] == {"KWD": "100.000"}

    # the HTML for people: KWD with three decimals, JPY with none, one total per currency
    aging = _text((pack / "ar_aging.html").read_text())
    assert "AR in KWD 864.079 KWD" in aging and "AR in JPY 158,000 JPY" in aging
    assert "AR in USD 950.49 USD" in aging
    assert "KWD 250.500 612.345 0.000 1.234 0.000 0.000 864.079" in aging
    assert "JPY 80,000 0 3,000 0 0 75,000 158,000" in aging
    assert "Total KWD 250.500 612.345" in aging
    overview = _text((pack / "collections_overview.html").read_text())
    assert "Unapplied cash (KWD) 100.000 KWD" in overview
    assert "KWD 2026Q3 864.079 1,264.204" in overview
    assert "K1 Kuwait Trading Co Bob Stone KWD 601.234 61" in overview
    assert "J1 Jomon KK Ann Lee JPY 75,000 122" in overview
    reserve = _text((pack / "quarterly_reserve.html").read_text())
    # the reserve in the reporting currency names the rates it was converted at
    assert "converted to USD at the rates of 2026-09-30: 1 JPY = 0.0068 USD, 1 KWD = 3.25 USD" \
        in reserve

    # the workbook: numbers in each row's currency format
    wb = openpyxl.load_workbook(pack / "quarter_pack.xlsx")
    ws = wb["aging_by_currency"]
    rows = {r[0].value: r for r in ws.iter_rows(min_row=4) if r[0].value in ("JPY", "KWD", "USD")}
    assert [(c.value, c.number_format) for c in rows["KWD"][1:3]] == [
        (250.5, "#,##0.000"), (612.345, "#,##0.000")]
    assert (rows["KWD"][7].value, rows["KWD"][7].number_format) == (864.079, "#,##0.000")
    assert (rows["JPY"][7].value, rows["JPY"][7].number_format) == (158000, "#,##0")
    assert (rows["USD"][7].value, rows["USD"][7].number_format) == (950.49, "#,##0.00")
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows() if r[0].value}
    assert summary["AR aging: AR in KWD"] == "864.079 KWD (4 open invoices)"
    assert summary["Collections overview: Unapplied cash (KWD)"].startswith("100.000 KWD")


def test_credit_exposure_is_in_the_customers_currency_never_mixed(ledger):
    """M1 (a KWD customer, its limit in KWD) owes 12.345 KWD and 3,000 JPY: its exposure is
    12.345 KWD + 3,000 JPY at the 2026-09-30 cross rate 0.0068 / 3.25 KWD per JPY
    (= 6.27692... -> 6.277 KWD, half to even), not 12.345 + 3.000 as if yen were fils."""
    from workbench.credit import history_frame, in_customer_currency

    h = history_frame(ledger, "2026-09-30")
    assert int(h.loc["M1", "exposure_minor"]) == 12345 + 6277
    assert int(h.loc["K1", "exposure_minor"]) == 1234 + 250500 + 1000125 - 125 - 400000
    assert int(h.loc["J1", "exposure_minor"]) == 125000 - 50000 + 80000
    items = ledger.open_items("2026-09-30")
    got = in_customer_currency(ledger, pd.Timestamp("2026-09-30"), items, "open_minor")
    assert got.to_dict() == {"J1": 155000, "K1": 851734, "M1": 18622, "U1": 95049}
