"""The presentation layer of the packs: text tables, the Styler HTML, the workbook, the
notebook HTML. Values are asserted exactly (amounts as the controller reads them)."""

from __future__ import annotations

import re
import warnings
import zipfile
from datetime import datetime
from decimal import Decimal

import nbformat
import numpy as np
import openpyxl
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from workbench.reporting import (
    LABELS,
    Table,
    display_frame,
    label_for,
    notebook_to_html,
    people_table,
    show_figure,
    summary_tiles,
    title_block,
    write_workbook,
)

from .conftest import ROOT

HASH = "0123456789abcdef" * 4


def _mixed() -> Table:
    frame = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "customer_name": ["Acme & Sons <Ltd>", "Nippon KK", "Kuwait Trading",
                          "Small One", "Small Two"],
        "currency": ["USD", "JPY", "KWD", "USD", "USD"],
        "open_minor": np.array([123456789, 1234567, 1234567, 10, 20], dtype="int64"),
        "aging_over_60_pct": [12.3456, np.nan, 0.0, 5.0, 100.0],
        "history_late_share": [0.123, 0.5, np.nan, 0.0, 1.0],
        "invoices": np.array([1234, 2, 3, 4, 5], dtype="int64"),
        "days_unapplied": [12.345, 0.0, 1.0, 2.0, 3.0],
        "due_date": pd.to_datetime(["2026-09-30", "2026-08-01", None, "2026-01-02",
                                    "2026-01-03"]),
        "reasons": ["a very long reason that must wrap " * 4, "short", "", "x", "y"],
    })
    return Table(name="aging_by_customer", title="Aging by customer as of 30 Sep 2026",
                 frame=frame, money=["open_minor"], pct=["aging_over_60_pct"],
                 ratio_pct=["history_late_share"], integers=["invoices"],
                 decimals={"days_unapplied": 1}, dates=["due_date"], totals=True,
                 note="Source: ledger snapshot; open = amount - applied - credited.")


# --- labels -------------------------------------------------------------------------------

def test_labels_cover_the_projects_columns():
    assert LABELS["currency"] == "Currency"
    assert label_for("open_minor") == "Open balance"
    assert label_for("amount_minor") == "Amount"
    assert label_for("unapplied_minor") == "Unapplied cash"
    assert label_for("past_due_ar") == "Past due AR"
    assert label_for("aging_over_60_pct") == "Aging over 60 (% of AR)"
    assert label_for("unapplied_cash_avg_age_days") == "Unapplied cash, average age (days)"
    assert label_for("countback_dso") == "Countback DSO (days)"
    assert label_for("add") == "Average days delinquent"
    assert label_for("cei") == "CEI (%)"
    assert label_for("1-30") == "1–30 days"
    assert label_for("over_120") == "Over 120 days"
    # other policies' buckets and unknown names
    assert label_for("1-15") == "1–15 days"
    assert label_for("over_90") == "Over 90 days"
    assert label_for("net_AR_change") == "Net AR change"
    # every column the pack's CSV files carry has a label of its own
    for name in ["current", "31-60", "61-90", "91-120", "total", "invoices", "segment",
                 "collector", "credit_sales", "ending_ar", "dso", "best_possible_dso",
                 "open_ar", "oldest_days_past_due", "next_action", "reasons", "open_balance",
                 "days_past_due", "promise_kept_rate", "open_dispute_amount"]:
        assert name in LABELS


# --- display_frame ------------------------------------------------------------------------

def test_display_frame_formats_each_row_in_its_currency():
    df = display_frame(_mixed())
    assert list(df.columns) == ["Customer", "Customer name", "Currency", "Open balance",
                                "Aging over 60 (% of AR)", "Paid late (share of invoices)",
                                "Open invoices", "Days unapplied", "Due date", "Reasons"]
    assert df["Open balance"].tolist()[:5] == ["1,234,567.89", "1,234,567", "1,234.567",
                                               "0.10", "0.20"]
    assert df["Aging over 60 (% of AR)"].tolist()[:5] == ["12.3 %", "n/a", "0.0 %", "5.0 %",
                                                          "100.0 %"]
    assert df["Paid late (share of invoices)"].tolist()[:5] == ["12.3 %", "50.0 %", "n/a",
                                                                "0.0 %", "100.0 %"]
    assert df["Open invoices"].tolist()[:2] == ["1,234", "2"]
    assert df["Days unapplied"].tolist()[0] == "12.3"
    assert df["Due date"].tolist()[:3] == ["2026-09-30", "2026-08-01", ""]
    assert df["Customer name"].iloc[0] == "Acme & Sons <Ltd>"      # text, escaped in HTML


def test_display_frame_totals_one_row_per_currency_exact():
    df = display_frame(_mixed())
    assert df.attrs["total_rows"] == 3
    totals = df.tail(3)
    assert totals["Customer"].tolist() == ["Total"] * 3
    assert totals["Currency"].tolist() == ["JPY", "KWD", "USD"]
    # 123456789 + 10 + 20 cents: exact, no float drift
    assert totals["Open balance"].tolist() == ["1,234,567", "1,234.567", "1,234,568.19"]
    assert totals["Open invoices"].tolist() == ["2", "3", "1,243"]
    assert totals["Aging over 60 (% of AR)"].tolist() == ["", "", ""]


def test_display_frame_fixed_currency_and_chosen_columns():
    frame = pd.DataFrame({"segment": ["Enterprise", "SMB"],
                          "past_due_ar": np.array([10, 20], dtype="int64"),
                          "secret": [1, 2]})
    t = Table("past_due", "Past due by segment", frame,
              columns={"segment": "Segment", "past_due_ar": "Past due"},
              money=["past_due_ar"], currency="USD", totals=True)
    df = display_frame(t)
    assert list(df.columns) == ["Segment", "Currency", "Past due"]   # currency is shown
    assert df.values.tolist() == [["Enterprise", "USD", "0.10"], ["SMB", "USD", "0.20"],
                                  ["Total", "USD", "0.30"]]


def test_display_frame_errors_name_the_table_and_column():
    frame = pd.DataFrame({"customer_id": ["C1"], "open_minor": [100]})
    with pytest.raises(ValueError, match=r"'open_items'.*'open_minor'.*no currency"):
        display_frame(Table("open_items", "Open items", frame, money=["open_minor"]))
    with pytest.raises(ValueError, match=r"'open_items'.*'nope' is not in the frame"):
        display_frame(Table("open_items", "Open items", frame, currency="USD",
                            columns={"customer_id": "Customer", "nope": "Nope"}))
    with pytest.raises(ValueError, match=r"'dso'.*not in the frame"):
        display_frame(Table("open_items", "Open items", frame, pct=["dso"]))
    with pytest.raises(ValueError, match=r"integer minor units"):
        display_frame(Table("t", "T", pd.DataFrame({"open_minor": [1.5]}), money=["open_minor"],
                            currency="USD"))
    with pytest.raises(ValueError, match=r"'XXX'.*ISO 4217"):
        display_frame(Table("t", "T", pd.DataFrame({"currency": ["XXX"], "open_minor": [1]}),
                            money=["open_minor"]))


def test_display_frame_of_an_empty_table():
    frame = pd.DataFrame({"currency": pd.Series([], dtype="str"),
                          "open_minor": pd.Series([], dtype="int64")})
    df = display_frame(Table("empty", "Nothing open", frame, money=["open_minor"], totals=True))
    assert list(df.columns) == ["Currency", "Open balance"] and len(df) == 0


# --- people_table -------------------------------------------------------------------------

def test_people_table_html_for_people():
    t = _mixed()
    t.max_rows = 2
    html = people_table(t)._repr_html_()
    assert "row_heading" not in html and 'class="blank' not in html      # no index column
    assert "<caption>Aging by customer as of 30 Sep 2026</caption>" in html
    assert 'class="wb-table"' in html
    assert "<tfoot>" in html and "Source: ledger snapshot; open = amount - applied" in html
    assert "First 2 of 5 rows; all rows in the workbook." in html
    assert "Acme &amp; Sons &lt;Ltd&gt;" in html                          # escaped text
    # 2 data rows, then the 3 total rows (bold, the first with a rule above)
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 5
    assert "1,234,568.19" in body and "Small Two" not in body
    css = html.split("</style>")[0]
    for row in (2, 3, 4):
        assert re.search(rf"td\.row{row} \{{\s*font-weight: 700;", css)
    # numbers right-aligned and never broken; text wraps instead of widening the table
    money_col = list(display_frame(t).columns).index("Open balance")
    reasons_col = list(display_frame(t).columns).index("Reasons")
    assert re.search(rf"td\.col{money_col} \{{\s*text-align: right;\s*white-space: nowrap;", css)
    assert re.search(rf"td\.col{reasons_col} \{{\s*text-align: left;\s*white-space: normal;"
                     rf"\s*overflow-wrap: anywhere;", css)


def test_people_table_warns_when_a_table_cannot_fit_a_printed_page():
    wide = pd.DataFrame({f"amount_{i}": [123456789012] for i in range(30)} | {"currency": ["USD"]})
    t = Table("wide", "Wide", wide, money=[f"amount_{i}" for i in range(30)])
    with pytest.warns(UserWarning, match="'wide' is about"):
        html = people_table(t).to_html()
    assert 'class="wb-table wb-wide"' in html
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        people_table(_mixed())


def test_summary_tiles_and_title_block():
    tiles = summary_tiles([("DSO", "41.5", "days"), ("Ending AR", "1,234.50 USD", "A&B")])
    assert tiles.count('class="wb-sum-tile"') == 2 and "flex-wrap:wrap" in tiles
    assert "A&amp;B" in tiles and "1,234.50 USD" in tiles
    block = title_block("Acme & Co", "Quarter-end pack", "2026Q3", "2026-09-30",
                        "2026-10-05 09:00 UTC", HASH)
    assert "Acme &amp; Co" in block and "<h1" in block and "Quarter-end pack" in block
    assert "2026Q3" in block and "2026-09-30" in block and "2026-10-05 09:00 UTC" in block
    assert f'<code title="{HASH}">{HASH[:16]}</code>' in block


def test_show_figure_requires_alt_text():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="alt"):
        show_figure(fig, "  ")
    plt.close(fig)


# --- the workbook -------------------------------------------------------------------------

def _workbook(path, tmp_path):
    t = _mixed()
    long1 = Table("collections_worklist_by_collector_and_currency", "Worklist",
                  pd.DataFrame({"collector": ["Ann"], "past_due_ar": [1050], "currency": ["EUR"]}),
                  money=["past_due_ar"])
    long2 = Table("collections_worklist_by_collector_and_segment", "Worklist by segment",
                  long1.frame, money=["past_due_ar"])
    summary = [("Open AR, USD", Decimal("1234.50")),
               ["Open AR, JPY", "JPY", Decimal(1234)],
               ("Ledger folder", str(tmp_path / "ledgers" / "q3")),
               ("Open invoices", 1234)]
    return write_workbook(path, [t, long1, long2], summary, title="Quarter-end pack",
                          company="Acme & Co", period_label="2026Q3",
                          prepared_at="2026-10-05T09:00:00+02:00", ledger_hash=HASH)


def test_write_workbook_for_the_controller(tmp_path):
    path = _workbook(tmp_path / "out" / "quarter_pack.xlsx", tmp_path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "aging_by_customer", "collections_worklist_by_collect",
                             "collections_worklist_by_colle~2"]
    assert all(len(n) <= 31 for n in wb.sheetnames)

    s = wb["Summary"]
    col_a = [c.value for c in s["A"]]
    assert col_a[:5] == ["Acme & Co", "Quarter-end pack", "Period", "Prepared at",
                         "Ledger (content hash)"]
    assert s["B5"].value == HASH
    row = col_a.index("Open AR, USD") + 1
    assert s.cell(row, 2).value == 1234.5 and s.cell(row, 2).number_format == "#,##0.00"
    assert s.cell(row + 1, 3).number_format == "#,##0"
    assert s.cell(row + 2, 2).value == "q3"                 # the folder, not the machine path
    listed = col_a.index("Sheet") + 1
    assert [s.cell(listed + i, 2).value for i in (1, 2, 3)] == [
        "Aging by customer as of 30 Sep 2026", "Worklist", "Worklist by segment"]
    assert s.cell(listed + 1, 3).value == 5
    assert s.cell(listed + 1, 1).hyperlink.location == "'aging_by_customer'!A1"

    ws = wb["aging_by_customer"]
    assert ws["A1"].value == "Aging by customer as of 30 Sep 2026" and ws["A1"].font.b
    header = [c.value for c in ws[3]]
    assert header == list(display_frame(_mixed()).columns)
    assert all(c.font.b for c in ws[3]) and ws["A3"].fill.fgColor.rgb.endswith("DDE4EE")
    col = {name: i + 1 for i, name in enumerate(header)}
    money = col["Open balance"]
    # number formats by each row's currency, digits from ISO 4217
    assert [(ws.cell(r, col["Currency"]).value, ws.cell(r, money).value,
             ws.cell(r, money).number_format) for r in range(4, 9)] == [
        ("USD", 1234567.89, "#,##0.00"), ("JPY", 1234567, "#,##0"), ("KWD", 1234.567, "#,##0.000"),
        ("USD", 0.1, "#,##0.00"), ("USD", 0.2, "#,##0.00")]
    pct = ws.cell(4, col["Aging over 60 (% of AR)"])
    assert pct.value == pytest.approx(0.123456) and pct.number_format == "0.0%"
    assert ws.cell(4, col["Paid late (share of invoices)"]).number_format == "0.0%"
    assert ws.cell(5, col["Aging over 60 (% of AR)"]).value is None            # NaN: blank
    assert ws.cell(4, col["Open invoices"]).number_format == "#,##0"
    assert ws.cell(4, col["Days unapplied"]).number_format == "#,##0.0"
    due = ws.cell(4, col["Due date"])
    assert due.value == datetime(2026, 9, 30) and due.number_format == "yyyy-mm-dd"
    # total rows per currency, exact: 0.10 + 0.20 + 1,234,567.89 is 1,234,568.19 exactly
    totals = [[ws.cell(r, c).value for c in (1, col["Currency"], money, col["Open invoices"])]
              for r in (9, 10, 11)]
    assert totals == [["Total", "JPY", 1234567, 2], ["Total", "KWD", 1234.567, 3],
                      ["Total", "USD", 1234568.19, 1243]]
    assert ws.cell(11, money).number_format == "#,##0.00" and ws.cell(9, 1).font.b
    assert 0.1 + 0.2 != 0.3 and ws.cell(11, money).value == 1234568.19
    assert ws.cell(13, 1).value.startswith("Source: ledger snapshot")           # the note
    # filter over header and data (not the totals), frozen header, print set-up
    assert ws.auto_filter.ref == f"A3:{openpyxl.utils.get_column_letter(len(header))}8"
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$1:$3"
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    # widths fit the longest text (capped at 60: longer text wraps)
    shown = display_frame(_mixed())
    for name, j in col.items():
        longest = max(len(name), *(len(v) for v in shown[name]))
        width = ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
        assert width >= min(longest, 60), name
    reasons = col["Reasons"]
    assert ws.column_dimensions[openpyxl.utils.get_column_letter(reasons)].width == 60
    assert ws.cell(4, reasons).alignment.wrap_text

    # no machine paths in any cell, header or footer
    for sheet in wb:
        texts = [str(c.value) for r in sheet.iter_rows() for c in r if c.value is not None]
        texts += [sheet.oddHeader.left.text or "", sheet.oddFooter.left.text or ""]
        for text in texts:
            assert str(tmp_path) not in text
            assert not re.search(r"/(home|tmp|work|Users|var)/", text), text
    assert wb.properties.created == wb.properties.modified == datetime(2026, 10, 5, 7, 0)


def test_write_workbook_keeps_references_and_drops_machine_paths(tmp_path):
    frame = pd.DataFrame({"receipt_id": ["R1"], "reference": ["/RFB/INV-2026-000123"],
                          "currency": ["EUR"], "unapplied_minor": [1999]})
    t = Table("unapplied_cash", "Unapplied cash", frame, money=["unapplied_minor"],
              note=f"Read from {tmp_path / 'bank' / 'camt053.xml'}")
    path = write_workbook(tmp_path / "p.xlsx", [t], [], title="Pack", company="Acme",
                          period_label="2026Q3", prepared_at="2026-10-05", ledger_hash=HASH)
    ws = openpyxl.load_workbook(path)["unapplied_cash"]
    assert [c.value for c in ws[4]] == ["R1", "/RFB/INV-2026-000123", "EUR", 19.99]
    assert ws["A6"].value == "Read from camt053.xml"


def test_write_workbook_is_deterministic_and_atomic(tmp_path):
    a = _workbook(tmp_path / "a.xlsx", tmp_path)
    b = _workbook(tmp_path / "b.xlsx", tmp_path)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 10, 5, 7, 0, 0)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx", "b.xlsx"]   # no temp files


# --- notebook to HTML ---------------------------------------------------------------------

def test_notebook_to_html_for_people(tmp_path):
    from nbclient import NotebookClient

    nb = new_notebook(cells=[
        new_markdown_cell("## Open AR\nAmounts of $1,000 and $2,000 stay text."),
        new_code_cell("import sys, warnings\nwarnings.warn('WARNING_NOT_FOR_THE_PACK')\n"
                      "print('STDERR_NOT_FOR_THE_PACK', file=sys.stderr)\nprint('stdout stays')"),
        new_code_cell("import pandas as pd\nfrom workbench.reporting import Table, show\n"
                      "show(Table('open_ar', 'Open AR by customer', pd.DataFrame({"
                      "'customer_name': ['A & B'], 'currency': ['USD'], 'open_minor': [12345]}),"
                      " money=['open_minor'], totals=True, note='Source: the ledger'))"),
        new_code_cell("import matplotlib.pyplot as plt\nfrom workbench.reporting import show_figure\n"
                      "fig, ax = plt.subplots(figsize=(4, 2))\nax.bar(['current', '1-30'], [10, 5])\n"
                      "show_figure(fig, 'Open AR by bucket: mostly current')"),
        new_code_cell("6 * 7"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    kept = nbformat.from_dict(nb)
    block = title_block("Acme & Co", "AR aging 2026Q3", "2026Q3", "2026-09-30",
                        "2026-10-05 09:00", HASH)
    html = notebook_to_html(nb, title_html=block)

    assert nb == kept                                          # the notebook is not modified
    assert "In&nbsp;[" not in html and "Out[" not in html                     # no prompts
    assert "warnings.warn" not in html and "plt.subplots" not in html          # no code
    assert "NOT_FOR_THE_PACK" not in html                                      # no stderr
    assert "stdout stays" in html and "42" in html
    assert "<title>AR aging 2026Q3</title>" in html
    body = html.split("<body", 1)[1]
    assert body.index('class="wb-title"') < body.index("Open AR by customer")   # title first
    assert f'title="{HASH}"' in body and "Acme &amp; Co" in body
    assert "@page { size: landscape; margin: 12mm; }" in html
    assert "thead { display: table-header-group; }" in html
    assert "img, svg { max-width: 100%; height: auto; }" in html
    assert "Source: the ledger" in body and "<caption>Open AR by customer</caption>" in body
    images = re.findall(r"<img\b[^>]*>", body)
    assert len(images) == 1 and 'src="data:image/png;base64,' in images[0]     # embedded
    assert 'alt="Open AR by bucket: mostly current"' in images[0]
    assert "<script" not in html                          # nothing fetched, nothing run
    assert "mathjax" not in html.lower() and "require.js" not in html


# --- views and plots in several currencies ------------------------------------------------

def _aging_frame() -> pd.DataFrame:
    labels = ["current", "1-30", "31-60", "61-90", "91-120", "over_120"]
    frame = pd.DataFrame({"currency": ["JPY", "KWD", "USD"],
                          "current": [80000, 250500, 9999], "1-30": [0, 612345, 25050],
                          "31-60": [3000, 0, 0], "61-90": [0, 1234, 0], "91-120": [0, 0, 60000],
                          "over_120": [75000, 0, 0]})
    frame["total"] = frame[labels].sum(axis=1)
    frame["aging_over_60_pct"] = [47.4684, 0.1428, 63.1253]
    frame["invoices"] = [3, 4, 3]
    frame.attrs.update({"buckets": labels, "as_of": "2026-09-30"})
    return frame


def test_aging_tiles_one_per_currency_and_conversion_named():
    from workbench.reports.views import aging_tiles, kpi_tiles
    tiles = aging_tiles(_aging_frame(), None)
    assert [(label, value) for label, value, _ in tiles if label.startswith("AR in")] == [
        ("AR in JPY", "158,000 JPY"), ("AR in KWD", "864.079 KWD"), ("AR in USD", "950.49 USD")]
    converted = aging_tiles(_aging_frame().iloc[[2]], None, converted="converted to USD at the "
                            "rates of 2026-09-30: 1 KWD = 3.25 USD")
    assert converted[0] == ("AR in USD (converted)", "950.49 USD", "3 open invoices; converted "
                            "to USD at the rates of 2026-09-30: 1 KWD = 3.25 USD")
    kpis = pd.DataFrame({"currency": ["JPY", "KWD"], "dso": [175.1325, 62.8817],
                         "cei": [39.0625, 39.4716], "unapplied_cash": [0, 100000]})
    assert [(label, value) for label, value, _ in kpi_tiles(kpis)] == [
        ("DSO (JPY)", "175.1 days"), ("CEI (JPY)", "39.1 %"), ("Unapplied cash (JPY)", "0 JPY"),
        ("DSO (KWD)", "62.9 days"), ("CEI (KWD)", "39.5 %"),
        ("Unapplied cash (KWD)", "100.000 KWD")]


def test_fx_note_names_the_rates_used(hand_dir):
    from workbench import Ledger
    from workbench.reports.views import fx_note
    ledger = Ledger.load(hand_dir)
    # hand fx_rates: EUR 1.0850 (2026-03-31), JPY 0.006700 (03-30) then 0.006800 (04-01)
    assert fx_note(ledger, "2026-03-31", "USD") == (
        "converted to USD at the rates of 2026-03-31: 1 EUR = 1.085 USD, 1 JPY = 0.0067 USD")
    assert fx_note(ledger, "2026-04-01", "USD", ["JPY", "USD"]) == (
        "converted to USD at the rates of 2026-04-01: 1 JPY = 0.0068 USD")
    assert fx_note(ledger, "2026-04-01", "USD", ["USD"]) == "all amounts in USD"


def test_plots_draw_major_units_per_currency_never_mixed():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.plots import aging_bars, forecast_chart
    table = _aging_frame()
    with pytest.raises(ValueError, match="pass currency="):
        aging_bars(table)
    ax = aging_bars(table, currency="KWD")
    widths = [round(p.get_width(), 6) for p in ax.patches]
    assert widths == [250.5, 612.345, 0.0, 1.234, 0.0, 0.0]       # KWD, three decimals
    assert ax.get_xlabel() == "Open AR (KWD)"
    assert ax.xaxis.get_major_formatter()(0.125, 0) == "0.125"
    assert ax.xaxis.get_major_formatter()(12500, 0) == "12,500"
    plt.close(ax.figure)
    ax = aging_bars(table, currency="JPY")
    assert [p.get_width() for p in ax.patches] == [80000, 0, 3000, 0, 0, 75000]
    plt.close(ax.figure)
    forecast = pd.DataFrame({"currency": ["KWD", "KWD", "JPY"], "week": [1, 2, 1],
                             "expected_minor": [1234, 2500, 125000],
                             "low_minor": [1000, 2000, 100000], "high_minor": [1500, 3000, 150000]})
    ax = forecast_chart(forecast, "KWD")
    assert list(ax.lines[0].get_ydata()) == [1.234, 2.5]
    assert ax.get_ylabel() == "Collections (KWD)" and ax.get_title() == "2-week cash forecast, KWD"
    plt.close(ax.figure)
