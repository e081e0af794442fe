"""Account briefs and the weekly manager summary on a hand-made ledger.

As of 2026-09-30, Acme Corp (C1, USD) owes:
  I1 1,000.00 due 2026-07-01, 400.00 paid 2026-09-05 -> 600.00 open, 91 days past due (91-120)
  I2   300.00 due 2026-09-14                        -> 300.00 open, 16 days (1-30)
  I3   200.00 due 2026-10-20, I4 100.00 due 2026-10-25 -> 300.00 current
  balance 1,200.00, past due 900.00.
Promises: 400.00 for 2026-09-05 (paid that day: kept); 300.00 for 2026-09-20 (nothing came:
broken). Dispute D1 on I2 (pricing: sales by policy) assigned to billing, Bea Biller, due
2026-10-10. Oldest item 91 days past due: the suspension stage, so escalated to the sales
representative, Sam Seller.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from tests.conftest import write_ledger
from pathlib import Path

from workbench.briefs import (account_brief, brief_html, summary_totals, team_summary,
                              write_briefs, write_summary)
from workbench.ledger import Ledger

CALL, PTP = "call", "promise_to_pay"
# the ledger's last dated row is 2026-09-28; the briefs are as of the month's end
pytestmark = pytest.mark.filterwarnings("ignore::workbench.ledger.AfterLedgerWarning")


def make_ledger(folder, **extra):
    write_ledger(
        folder, **extra,
        customers=[
            {"customer_id": "C1", "name": "Acme Corp", "currency": "USD",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": "Sam Seller"},
            {"customer_id": "C2", "name": "Beta Ltd", "currency": "USD",
             "payment_terms_days": 20, "collector": "Ana", "sales_rep": ""}],
        invoices=[
            {"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2026-06-01",
             "due_date": "2026-07-01", "amount": "1000.00"},
            {"invoice_id": "I2", "customer_id": "C1", "invoice_date": "2026-08-15",
             "due_date": "2026-09-14", "amount": "300.00"},
            {"invoice_id": "I3", "customer_id": "C1", "invoice_date": "2026-09-20",
             "due_date": "2026-10-20", "amount": "200.00"},
            {"invoice_id": "I4", "customer_id": "C1", "invoice_date": "2026-09-25",
             "due_date": "2026-10-25", "amount": "100.00"},
            {"invoice_id": "J1", "customer_id": "C2", "invoice_date": "2026-09-01",
             "due_date": "2026-09-21", "amount": "500.00"}],
        receipts=[
            {"receipt_id": "R1", "receipt_date": "2026-09-05", "amount": "400.00",
             "payer_name": "Acme Corp", "reference": "I1", "customer_id": "C1"},
            {"receipt_id": "R2", "receipt_date": "2026-09-28", "amount": "200.00",
             "payer_name": "Beta Ltd", "reference": "J1", "customer_id": "C2"}],
        applications=[
            {"receipt_id": "R1", "invoice_id": "I1", "amount": "400.00",
             "applied_date": "2026-09-05"},
            {"receipt_id": "R2", "invoice_id": "J1", "amount": "200.00",
             "applied_date": "2026-09-28"}],
        disputes=[
            {"dispute_id": "D1", "invoice_id": "I2", "opened_date": "2026-09-16",
             "reason_code": "pricing", "amount": "300.00"},
            {"dispute_id": "D2", "invoice_id": "J1", "opened_date": "2026-09-01",
             "reason_code": "duplicate_billing", "amount": "50.00"}],
        activities=[
            {"activity_id": "A1", "customer_id": "C1", "timestamp": "2026-08-20T10:00:00+00:00",
             "kind": CALL, "collector": "Ana", "note": "asked for payment of I1"},
            {"activity_id": "A2", "customer_id": "C1", "timestamp": "2026-08-25T10:00:00+00:00",
             "kind": PTP, "collector": "Ana", "invoice_id": "I1", "promise_date": "2026-09-05",
             "promise_amount": "400.00", "currency": "USD"},
            {"activity_id": "A3", "customer_id": "C1", "timestamp": "2026-09-10T10:00:00+00:00",
             "kind": PTP, "collector": "Ana", "invoice_id": "I2", "promise_date": "2026-09-20",
             "promise_amount": "300.00", "currency": "USD"},
            {"activity_id": "A4", "customer_id": "C2", "timestamp": "2026-09-29T10:00:00+00:00",
             "kind": PTP, "collector": "Ana", "invoice_id": "J1", "promise_date": "2026-10-03",
             "promise_amount": "300.00", "currency": "USD"}],
    )
    return Ledger.load(folder)


EVENTS = [{"id": 1, "recorded_at": "2026-09-18T09:00:00+00:00", "recorded_by": "bea",
           "dispute_id": "D1", "customer_id": "C1", "invoice_id": "I2", "event": "assigned",
           "owner": "billing", "owner_name": "Bea Biller", "due_date": "2026-10-10"}]


@pytest.fixture
def ledger(tmp_path):
    return make_ledger(tmp_path / "ledger")


def test_brief_data(ledger):
    b = account_brief(ledger, "C1", "2026-09-30", events=EVENTS)
    (s,) = b["sections"]
    assert (s["balance_minor"], s["past_due_minor"]) == (120000, 90000)
    assert {x["label"]: x["minor"] for x in s["buckets"]} == {
        "Current": 30000, "1-30 days": 30000, "31-60 days": 0, "61-90 days": 0,
        "91-120 days": 60000, "Over 120 days": 0}
    assert [(p["promise_date"], p["outcome"]) for p in b["promises"]] == \
        [("2026-09-20", "Broken"), ("2026-09-05", "Kept")]
    # the brief's window is labelled: twelve months by the day the promise was made
    assert b["promise_summary"] == ("Promises made in the last 12 months: 2; kept: 1; broken in "
                                    "the last 12 months: 1 (kept rate 50% of those decided).")
    # ... and the worklist's own count beside it, with its window (the policy's 180 days)
    assert (b["worklist_broken"], b["broken_window_days"]) == (1, 180)
    assert b["worklist_broken_text"].startswith(
        "The worklist counts 1 broken promise(s) in the last 180 days (by promise date)")
    # D1 is due 2026-10-10: not due on 09-30, so no "0 days overdue"
    assert [(d["dispute_id"], d["owner"], d["due"], d["overdue_days"], d["overdue"])
            for d in b["disputes"]] == [("D1", "Billing (Bea Biller)", "2026-10-10", None, "not due")]
    assert b["next_action"].startswith("Call: promise broken")
    assert b["escalation"] == "Escalate to the sales representative: Sam Seller."
    # oldest 91 days: the suspension stage; 900.00 past due: the collector tier
    assert (b["stage"], b["tier"]) == ("Suspension", "Collector")
    assert b["standing"].startswith("Dunning stage: Suspension · worklist tier: Collector")
    assert [(c["kind"], c["invoice_id"]) for c in b["contacts"]] == \
        [("Promise to pay", "I2"), ("Promise to pay", "I1"), ("Call", "")]
    other = account_brief(ledger, "C2", "2026-09-30", events=EVENTS)
    assert other["customer"]["sales_rep"] == "none on file"
    # D2 due 2026-09-06: 24 days overdue on 09-30
    (d2,) = other["disputes"]
    assert (d2["owner"], d2["overdue_days"], d2["overdue"]) == \
        ("Billing — by policy, not yet assigned", 24, "24 days overdue")
    assert other["escalation"].startswith("Not escalated to sales")
    assert (other["stage"], other["tier"]) == ("Friendly", "Collector")


def test_brief_files(ledger, tmp_path):
    from openpyxl import load_workbook
    files = write_briefs(ledger, ["C1"], "2026-09-30", tmp_path / "out", events=EVENTS)
    assert [f.name for f in files] == ["brief-C1.html", "brief-C1.xlsx"]
    html = files[0].read_text()
    for text in ("Acme Corp", "1,200.00 USD", "900.00 USD", "600.00 USD", "91-120 days",
                 "Broken", "Kept", "Billing (Bea Biller)", "Call: promise broken",
                 "Escalate to the sales representative: Sam Seller.",
                 "Dunning stage: Suspension · worklist tier: Collector",
                 "broken in the last 12 months: 1", "in the last 180 days",
                 "<td>2026-10-10</td><td class=\"muted\">not due</td>",
                 # the ledger's last date is 2026-09-28: the page says so
                 "The ledger ends on 2026-09-28; anything since is not in it"):
        assert text in html, text
    assert "0 days overdue" not in html
    for code in ("order_management", "promise_to_pay", "escalate_to_sales", "over_120"):
        assert code not in html, code
    ws = load_workbook(files[1])["Brief"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Account brief: Acme Corp"
    fields = {r[0]: r[1] for r in rows if r[0] and r[1] is not None}
    assert fields["Sales representative"] == "Sam Seller"
    assert fields["Next action"].startswith("Call: promise broken")
    assert fields["As of"] == dt.datetime(2026, 9, 30)        # an Excel date
    assert fields["Dunning stage"] == "Suspension" and fields["Worklist tier"] == "Collector"
    assert fields["Broken promises, last 180 days (worklist)"] == 1
    assert fields["Ledger"].startswith("The ledger ends on 2026-09-28")
    i = next(k for k, r in enumerate(rows) if r[0] == "Currency")
    assert rows[i][:9] == ("Currency", "Balance", "Past due", "Current", "1-30 days", "31-60 days",
                           "61-90 days", "91-120 days", "Over 120 days")
    assert rows[i + 1][:9] == ("USD", 1200.0, 900.0, 300.0, 300.0, 0.0, 0.0, 600.0, 0.0)
    assert {c.number_format for c in ws[i + 2][1:9]} == {"#,##0.00"}
    c = next(k for k, r in enumerate(rows) if r[0] == "Last contacts")
    assert rows[c + 1][:5] == ("Date", "Contact", "Invoice", "By", "Note")
    assert rows[c + 2][:4] == (dt.datetime(2026, 9, 10), "Promise to pay", "I2", "Ana")
    assert ws.cell(row=c + 3, column=1).is_date
    p = next(k for k, r in enumerate(rows) if r[0] == "Promises to pay")
    assert rows[p + 2][:6] == ("Made", "Promised for", "Amount", "Received", "Currency", "Outcome")
    assert rows[p + 3][:6] == (dt.datetime(2026, 9, 10), dt.datetime(2026, 9, 20), 300.0, 0.0,
                               "USD", "Broken")
    assert rows[p + 4][:6] == (dt.datetime(2026, 8, 25), dt.datetime(2026, 9, 5), 400.0, 400.0,
                               "USD", "Kept")
    assert [ws.cell(row=p + 4, column=k).number_format for k in (1, 2, 3, 4)] == \
        ["yyyy-mm-dd", "yyyy-mm-dd", "#,##0.00", "#,##0.00"]
    j = next(k for k, r in enumerate(rows) if r[0] == "Open disputes")
    assert rows[j + 1][:9] == ("Dispute", "Invoice", "Amount", "Currency", "Reason", "Owner", "Due",
                               "Days overdue", "Status")
    assert rows[j + 2][:9] == ("D1", "I2", 300.0, "USD", "Pricing", "Billing (Bea Biller)",
                               dt.datetime(2026, 10, 10), "not due", "Open")
    assert ws.cell(row=j + 3, column=3).number_format == "#,##0.00"


def test_weekly_summary(ledger, tmp_path):
    t = team_summary(ledger, ["C1", "C2"], "2026-09-30", events=EVENTS).set_index("customer_id")
    # C1: I4 (100.00) invoiced since 2026-09-23; past due unchanged
    assert (t.at["C1", "balance_minor"], t.at["C1", "balance_change_minor"],
            t.at["C1", "past_due_change_minor"]) == (120000, 10000, 0)
    # C2: 500.00 then (past due 2 days), 200.00 paid 09-28: 300.00 now
    assert (t.at["C2", "balance_minor"], t.at["C2", "past_due_minor"],
            t.at["C2", "balance_change_minor"], t.at["C2", "past_due_change_minor"]) == \
        (30000, 30000, -20000, -20000)
    assert (t.at["C2", "promises_due"], t.at["C2", "promises_due_minor"]) == (1, 30000)
    # D2: duplicate billing, billing's 5 days from 09-01: past due since 09-06
    assert (t.at["C2", "disputes_past_due"], t.at["C2", "disputes_past_due_minor"]) == (1, 5000)
    assert t.at["C1", "disputes_past_due"] == 0
    html, xlsx = write_summary(ledger, ["C1", "C2"], "2026-09-30", tmp_path / "out",
                               events=EVENTS)
    assert (html.name, xlsx.name) == ("summary-accounts-2026-09-30.html",
                                      "summary-accounts-2026-09-30.xlsx")
    text = html.read_text()
    # the total row fills every column, per currency: balance 1,500.00, past due 1,200.00,
    # changes -100.00 / -200.00, one promise of 300.00, one dispute of 50.00 past due
    total = text[text.index('<tr class="total">'):]
    total = total[:total.index("</tr>")]
    assert [c for c in re.findall(r'<td class="num">([^<]*)</td>', total)] == \
        ["1,500.00", "1,200.00", "-100.00", "-200.00", "1", "300.00", "1", "50.00"]
    assert "Total, 2 account(s)" in total
    assert "+100.00" in text and "C1</td>" in text
    from openpyxl import load_workbook
    ws = load_workbook(xlsx)["Summary"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][:5] == ("Worklist rank", "Account number", "Account", "Currency", "Balance")
    assert rows[3][:8] == (1, "C1", "Acme Corp", "USD", 1200.0, 900.0, 100.0, 0.0)
    assert rows[5][2:12] == ("Total (2 account(s))", "USD", 1500.0, 1200.0, -100.0, -200.0, 1,
                             300.0, 1, 50.0)
    assert ws.cell(row=6, column=5).number_format == "#,##0.00"


def test_weekly_summary_against_the_collectors_goals(ledger, tmp_path):
    """Ana has a quarterly DSO target only (no monthly one): the summary of 2026-09-30
    judges the quarter 2026Q3 against her quarterly targets; the actual DSO is the project's
    kpi_table figure for her accounts; no target at all says so."""
    from workbench.goals import load_goals
    from workbench.kpis import kpi_table

    goals = tmp_path / "goals.yaml"
    goals.write_text('name: t\nversion: "1"\nstatus: {at_risk_pct: 10}\ncollectors:\n  Ana:\n    quarterly: {dso: 30}\n')
    html, xlsx = write_summary(ledger, ["C1", "C2"], "2026-09-30", tmp_path / "out",
                               events=EVENTS, goals=load_goals(goals), collector="Ana")
    text = html.read_text()
    assert "Against Ana&#39;s quarterly goals, 2026Q3 (t 1)" in text
    dso = kpi_table(ledger, "2026Q3", by="collector")
    actual = float(dso.loc[dso["collector"] == "Ana", "dso"].iloc[0])
    assert f"{actual:.1f} days" in text and "30.0 days" in text
    from openpyxl import load_workbook
    wg = load_workbook(xlsx)["Goals"]
    g = list(wg.iter_rows(values_only=True))
    assert g[2] == ("Scope", "KPI", "Currency", "Unit", "Actual", "Target", "Variance",
                    "Variance %", "Status")
    # numbers with their unit (days in the column and the number format), not text
    assert g[3][:4] == ("Collector: Ana", "DSO", "USD", "days")
    assert g[3][4] == pytest.approx(actual, abs=1e-4) and g[3][5] == 30
    assert g[3][6] == pytest.approx(actual - 30, abs=1e-4)
    assert g[3][7] == pytest.approx((actual - 30) / 30, abs=1e-5)
    assert [wg.cell(row=4, column=k).number_format for k in (5, 6, 8)] == \
        ['0.0 "days"', '0.0 "days"', "+0.0%;-0.0%;0.0%"]
    none = tmp_path / "none.yaml"
    none.write_text('name: t\nversion: "1"\nstatus: {at_risk_pct: 10}\ncollectors:\n  Bob:\n    quarterly: {dso: 30}\n')
    html2, _ = write_summary(ledger, ["C1"], "2026-09-30", tmp_path / "out2", events=EVENTS,
                             goals=load_goals(none), collector="Ana")
    assert "No goal in the goals file applies" in html2.read_text()


# ---------------------------------------------------------------- review fixes

CHANGES = [
    {"customer_id": "C1", "effective_date": "2026-01-01", "field": "collector", "value": "Bo"},
    {"customer_id": "C1", "effective_date": "2026-09-20", "field": "collector", "value": "Ana"},
    {"customer_id": "C1", "effective_date": "2026-01-01", "field": "status", "value": "suspended"},
    {"customer_id": "C1", "effective_date": "2026-09-20", "field": "status", "value": "active"}]


def test_brief_uses_the_master_as_of_its_date(tmp_path):
    ledger = make_ledger(tmp_path / "hist", customer_changes=CHANGES)
    early = account_brief(ledger, "C1", "2026-09-15", events=EVENTS)["customer"]
    assert (early["collector"], early["status"]) == ("Bo", "Suspended")
    late = account_brief(ledger, "C1", "2026-09-30", events=EVENTS)["customer"]
    assert (late["collector"], late["status"]) == ("Ana", "Active")


def test_brief_without_master_history_does_not_show_todays_collector(ledger):
    # no customer_changes and a date before the ledger's last (09-28): not knowable
    c = account_brief(ledger, "C1", "2026-09-15", events=EVENTS)["customer"]
    assert c["collector"] == "unknown on 2026-09-15 (no customer master history)"
    c = account_brief(ledger, "C1", "2026-09-15", events=EVENTS,
                      without_history="assume_unchanged")["customer"]
    assert c["collector"] == "Ana"


def test_cli_accounts_of_a_collector_by_id_on_the_date(tmp_path):
    import argparse

    from workbench.briefs_cli import _accounts
    ledger = make_ledger(tmp_path / "hist", customer_changes=CHANGES)
    args = argparse.Namespace(customers=None, collector="Ana")
    assert _accounts(ledger, args, pd.Timestamp("2026-09-15")) == ["C2"]   # C1 was Bo's
    assert _accounts(ledger, args, pd.Timestamp("2026-09-30")) == ["C1", "C2"]


def test_brief_leaves_out_activities_recorded_after_its_date(ledger):
    from workbench.collections import activity_frame
    acts = activity_frame(ledger)
    late = {"activity_id": "S-1", "customer_id": "C1", "kind": CALL, "collector": "Ana",
            "timestamp": pd.Timestamp("2026-09-26T10:00:00+00:00"), "note": "backdated call",
            "source": "state", "recorded_at": "2026-10-02T08:00:00+00:00"}
    acts = pd.concat([acts, pd.DataFrame([late])], ignore_index=True)
    b = account_brief(ledger, "C1", "2026-09-30", activities=acts, events=EVENTS)
    assert "backdated call" not in [c["note"] for c in b["contacts"]]
    assert b["contacts"][0]["date"] == "2026-09-10"
    b = account_brief(ledger, "C1", "2026-10-02", activities=acts, events=EVENTS)
    assert b["contacts"][0]["note"] == "backdated call"


def test_brief_shows_an_unreadable_logged_dispute_amount_as_unknown(ledger):
    from workbench.collections import activity_frame
    acts = activity_frame(ledger)
    logged = {"activity_id": "S-3", "customer_id": "C1", "kind": "dispute", "collector": "Ana",
              "timestamp": pd.Timestamp("2026-09-26T10:00:00+00:00"), "invoice_id": "I3",
              "currency": "USD", "note": "disputed 150.00 EUR: wrong price",
              "source": "state", "recorded_at": "2026-09-26T10:05:00+00:00"}
    acts = pd.concat([acts, pd.DataFrame([logged])], ignore_index=True)
    b = account_brief(ledger, "C1", "2026-09-30", activities=acts, events=EVENTS)
    d = {x["dispute_id"]: x for x in b["disputes"]}["LOG-S-3"]
    assert (d["amount_minor"], d["amount"]) == (0, "amount unknown (see the dispute's notes)")


# ------------------------------------------------------- a manager's walkthrough (2026-11)

def make_currency_ledger(folder):
    """Ana's four accounts in three currencies, as of 2026-09-30 (the ledger's last day):

    Z9 Zulu Trading, USD: Z-1 20,000.00 due 09-10 (20 days: firm, senior collector tier).
    A1 Alpha GmbH, USD: A-1 500.00 due 09-20, A-2 250.25 invoiced 09-30 due 10-30; three
       e-mails on 09-26 (one per invoice and a long note).
    Y1 Yamato KK, JPY: Y-1 2,000,000 due 09-05 (firm; senior collector above 1,500,000 JPY);
       a promise of 300,000 for 10-03; dispute DY 150,000 (pricing, opened 09-01: past due).
    K1 Kuwait Trading, KWD: K-1 1,234.567 due 08-01 (60 days: escalate to sales); a promise
       of 100.125 for 09-10 (broken); dispute DK 12.345 opened 09-29 (not yet due).
    No fx rates: the worklist ranks within each currency, USD first.
    """
    write_ledger(
        folder,
        customers=[
            {"customer_id": "A1", "name": "Alpha GmbH", "currency": "USD",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": "Sam Seller"},
            {"customer_id": "K1", "name": "Kuwait Trading", "currency": "KWD",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": "Kai Rep"},
            {"customer_id": "Y1", "name": "Yamato KK", "currency": "JPY",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": "Yui Rep"},
            {"customer_id": "Z9", "name": "Zulu Trading", "currency": "USD",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": "Sam Seller"}],
        invoices=[
            {"invoice_id": "A-1", "customer_id": "A1", "invoice_date": "2026-08-21",
             "due_date": "2026-09-20", "amount": "500.00"},
            {"invoice_id": "A-2", "customer_id": "A1", "invoice_date": "2026-09-30",
             "due_date": "2026-10-30", "amount": "250.25"},
            {"invoice_id": "K-1", "customer_id": "K1", "invoice_date": "2026-07-02",
             "due_date": "2026-08-01", "amount": "1234.567"},
            {"invoice_id": "Y-1", "customer_id": "Y1", "invoice_date": "2026-08-06",
             "due_date": "2026-09-05", "amount": "2000000"},
            {"invoice_id": "Z-1", "customer_id": "Z9", "invoice_date": "2026-08-11",
             "due_date": "2026-09-10", "amount": "20000.00"}],
        disputes=[
            {"dispute_id": "DY", "invoice_id": "Y-1", "opened_date": "2026-09-01",
             "reason_code": "pricing", "amount": "150000"},
            {"dispute_id": "DK", "invoice_id": "K-1", "opened_date": "2026-09-29",
             "reason_code": "pricing", "amount": "12.345"}],
        activities=[
            {"activity_id": "E1", "customer_id": "A1", "timestamp": "2026-09-26T09:00:00+00:00",
             "kind": "email", "collector": "Ana", "invoice_id": "A-1", "note": "past-due reminder"},
            {"activity_id": "E2", "customer_id": "A1", "timestamp": "2026-09-26T09:00:00+00:00",
             "kind": "email", "collector": "Ana", "invoice_id": "A-2", "note": "copy of the invoice"},
            {"activity_id": "E3", "customer_id": "A1", "timestamp": "2026-09-26T09:00:00+00:00",
             "kind": "email", "collector": "Ana", "invoice_id": "A-1",
             "note": "second reminder with the statement attached, asking the accounts payable "
                     "team to confirm the payment run date and the remittance address"},
            {"activity_id": "P1", "customer_id": "Y1", "timestamp": "2026-09-25T09:00:00+00:00",
             "kind": "promise_to_pay", "collector": "Ana", "invoice_id": "Y-1",
             "promise_date": "2026-10-03", "promise_amount": "300000", "currency": "JPY"},
            {"activity_id": "P2", "customer_id": "K1", "timestamp": "2026-09-01T09:00:00+00:00",
             "kind": "promise_to_pay", "collector": "Ana", "invoice_id": "K-1",
             "promise_date": "2026-09-10", "promise_amount": "100.125", "currency": "KWD"}],
    )
    return Ledger.load(folder)


@pytest.fixture
def cledger(tmp_path):
    return make_currency_ledger(tmp_path / "cledger")


def test_brief_workbook_amounts_are_numbers_in_the_currencys_decimals(cledger, tmp_path):
    from openpyxl import load_workbook
    files = write_briefs(cledger, ["K1", "Y1"], "2026-09-30", tmp_path / "out")
    ws = load_workbook(tmp_path / "out" / "brief-K1.xlsx")["Brief"]
    rows = list(ws.iter_rows(values_only=True))
    i = next(k for k, r in enumerate(rows) if r[0] == "Currency")
    assert rows[i + 1][:3] == ("KWD", 1234.567, 1234.567)
    assert ws.cell(row=i + 2, column=2).number_format == "#,##0.000"
    p = next(k for k, r in enumerate(rows) if r[0] == "Made")
    assert rows[p + 1][:6] == (dt.datetime(2026, 9, 1), dt.datetime(2026, 9, 10), 100.125, 0,
                               "KWD", "Broken")
    assert [ws.cell(row=p + 2, column=k).number_format for k in (1, 2, 3, 4)] == \
        ["yyyy-mm-dd", "yyyy-mm-dd", "#,##0.000", "#,##0.000"]
    d = next(k for k, r in enumerate(rows) if r[0] == "Dispute")
    # DK: pricing, the policy's due date after 09-29 is still ahead: "not due", never 0
    assert rows[d + 1][:4] == ("DK", "K-1", 12.345, "KWD") and rows[d + 1][7] == "not due"
    assert ws.cell(row=d + 2, column=3).number_format == "#,##0.000"
    assert isinstance(rows[d + 1][6], dt.datetime)
    # the exact decimal digits are in the file, not a binary float's
    import zipfile
    with zipfile.ZipFile(tmp_path / "out" / "brief-K1.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>100.125</v>" in xml and "<v>12.345</v>" in xml
    wy = load_workbook(tmp_path / "out" / "brief-Y1.xlsx")["Brief"]
    rows = list(wy.iter_rows(values_only=True))
    i = next(k for k, r in enumerate(rows) if r[0] == "Currency")
    assert rows[i + 1][:3] == ("JPY", 2000000, 2000000)
    assert wy.cell(row=i + 2, column=2).number_format == "#,##0"
    d = next(k for k, r in enumerate(rows) if r[0] == "Dispute")
    assert rows[d + 1][:4] == ("DY", "Y-1", 150000, "JPY")
    assert isinstance(rows[d + 1][7], int) and rows[d + 1][7] > 0   # days overdue, a number
    assert len(files) == 4


def test_brief_contacts_are_told_apart_and_no_note_when_the_ledger_covers_the_date(cledger):
    b = account_brief(cledger, "A1", "2026-09-30")
    assert [(c["date"], c["kind"], c["invoice_id"]) for c in b["contacts"]] == [
        ("2026-09-26", "E-mail", "A-1"), ("2026-09-26", "E-mail", "A-2"),
        ("2026-09-26", "E-mail", "A-1")]
    long = b["contacts"][2]
    assert long["note_excerpt"] == ("second reminder with the statement attached, asking the "
                                    "accounts payable team…")
    assert len(long["note_excerpt"]) <= 80 and long["note"].endswith("remittance address")
    html = brief_html(b)
    assert "<td>A-2</td>" in html and "copy of the invoice" in html
    assert 'title="second reminder with the statement attached' in html
    # the ledger ends on the as-of date: nothing to warn about
    assert b["ledger_note"] == "" and "The ledger ends on" not in html


def test_brief_shows_tier_and_stage_beside_the_escalation(cledger):
    y = account_brief(cledger, "Y1", "2026-09-30")
    # 25 days past due: firm, not escalated; 2,000,000 JPY past due: the senior tier
    assert y["escalation"] == ("Not escalated to sales (that starts at the escalate-to-sales "
                               "dunning stage). Sales representative: Yui Rep.")
    assert (y["stage"], y["tier"]) == ("Firm", "Senior collector")
    assert "Dunning stage: Firm · worklist tier: Senior collector" in brief_html(y)
    k = account_brief(cledger, "K1", "2026-09-30")
    assert k["escalation"] == "Escalate to the sales representative: Kai Rep."
    assert (k["stage"], k["tier"]) == ("Escalate to sales", "Collector")


def test_summary_in_worklist_order_with_totals_per_currency_and_links(cledger, tmp_path):
    from openpyxl import load_workbook

    from workbench.collections import worklist
    t = team_summary(cledger, ["A1", "K1", "Y1", "Z9"], "2026-09-30")
    # most urgent first (the worklist's ranking: USD first, then within each currency)
    assert list(t["customer_id"]) == ["Z9", "A1", "Y1", "K1"]
    w = worklist(cledger, "2026-09-30").set_index("customer_id")["rank"]
    assert list(t["worklist_rank"]) == [w["Z9"], w["A1"], w["Y1"], w["K1"]]
    totals = summary_totals(t).set_index("currency")
    assert totals.loc["USD", ["accounts", "balance_minor", "past_due_minor"]].tolist() == \
        [2, 2075025, 2050000]
    assert totals.loc["JPY", ["promises_due", "promises_due_minor", "disputes_past_due",
                              "disputes_past_due_minor"]].tolist() == [1, 300000, 1, 150000]
    assert totals.loc["KWD", ["balance_minor", "disputes_past_due"]].tolist() == [1234567, 0]
    out = tmp_path / "team"
    write_briefs(cledger, ["A1", "Y1"], "2026-09-30", out)
    html, xlsx = write_summary(cledger, ["A1", "K1", "Y1", "Z9"], "2026-09-30", out,
                               collector="Ana")
    assert (html.name, xlsx.name) == ("summary-Ana-2026-09-30.html", "summary-Ana-2026-09-30.xlsx")
    text = html.read_text()
    # a link to each brief written to the folder (relative), none for the others
    assert '<a href="brief-A1.html">Alpha GmbH</a>' in text
    assert '<a href="brief-Y1.html">Yamato KK</a>' in text and "brief-Z9.html" not in text
    assert '<td class="id">Y1</td>' in text
    # totals rows, one per currency, every column filled in the currency's decimals
    totals_html = re.findall(r'<tr class="total">(.*?)</tr>', text, re.S)
    cells = [re.findall(r'<td class="num">([^<]*)</td>', r) for r in totals_html]
    # (a week earlier, 09-23, every invoice but A-2 was already open and past due)
    assert cells == [["2,000,000", "2,000,000", "0", "0", "1", "300,000", "1", "150,000"],
                     ["1,234.567", "1,234.567", "0.000", "0.000", "0", "0.000", "0", "0.000"],
                     ["20,750.25", "20,500.00", "+250.25", "0.00", "0", "0.00", "0", "0.00"]]
    # names stay on one line (ellipsis), the layout fits a 1280px screen
    assert "text-overflow: ellipsis" in text and "white-space: nowrap" in text
    ws = load_workbook(xlsx)["Summary"]
    rows = list(ws.iter_rows(values_only=True))
    assert [r[1] for r in rows[3:7]] == ["Z9", "A1", "Y1", "K1"]
    tot = {r[3]: r for r in rows[7:10]}
    assert tot["KWD"][2:12] == ("Total (1 account(s))", "KWD", 1234.567, 1234.567, 0, 0, 0, 0, 0, 0)
    assert tot["JPY"][4:12] == (2000000, 2000000, 0, 0, 1, 300000, 1, 150000)
    assert tot["USD"][4:8] == (20750.25, 20500, 250.25, 0)
    kwd_row = 8 + [r[3] for r in rows[7:10]].index("KWD")
    assert ws.cell(row=kwd_row, column=5).number_format == "#,##0.000"
    assert ws.cell(row=5, column=3).hyperlink.target == "brief-A1.xlsx"
    # a summary elsewhere links nothing (no briefs there)
    other, _ = write_summary(cledger, ["A1"], "2026-09-30", tmp_path / "alone", collector="Ana")
    assert "<a href=" not in other.read_text()


def test_two_collectors_summaries_of_one_date_do_not_overwrite(cledger, tmp_path, capsys):
    from workbench.briefs import summary_name
    from workbench.cli import main
    a, _ = write_summary(cledger, ["A1"], "2026-09-30", tmp_path, collector="Ana")
    b, _ = write_summary(cledger, ["K1"], "2026-09-30", tmp_path, collector="Bo Lee/Ops")
    assert a.name == "summary-Ana-2026-09-30.html" and b.name == "summary-Bo_Lee_Ops-2026-09-30.html"
    assert "Alpha GmbH" in a.read_text() and "Kuwait Trading" in b.read_text()
    assert summary_name("2026-09-30") == "summary-accounts-2026-09-30"
    # the command prints the files it wrote, under the same names
    out = tmp_path / "cli"
    assert main(["accounts", "summary", "--ledger", str(cledger.source), "--as-of", "2026-09-30",
                 "--collector", "Ana", "--out", str(out), "--no-log"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "summary-Ana-2026-09-30.html"),
                       str(out / "summary-Ana-2026-09-30.xlsx")]
    assert all((out / Path(f).name).exists() for f in printed)


def test_summary_goals_sheet_money_in_the_currencys_decimals(cledger, tmp_path):
    from openpyxl import load_workbook

    from workbench.goals import kpis_against_targets, load_goals
    goals = tmp_path / "goals.yaml"
    goals.write_text('name: t\nversion: "1"\nstatus: {at_risk_pct: 10}\ncollectors:\n  Ana:\n'
                     '    quarterly: {aging_over_60_amount: {KWD: "1000.000"}, cei: 80}\n')
    _, xlsx = write_summary(cledger, ["K1"], "2026-09-30", tmp_path, collector="Ana",
                            goals=load_goals(goals))
    wg = load_workbook(xlsx)["Goals"]
    rows = {(r[1], r[2]): (k + 1, r) for k, r in enumerate(wg.iter_rows(values_only=True))
            if r[0] and r[0].startswith("Collector")}
    frame = kpis_against_targets(cledger, "2026Q3", load_goals(goals), by="collector")
    frame = frame[frame["name"] == "Ana"].set_index(["goal_name", "currency"])
    k, r = rows[("Aging over 60 (amount)", "KWD")]
    actual = int(frame.loc[("Aging over 60 (amount)", "KWD"), "actual"])
    assert r[3:7] == ("KWD", actual / 1000, 1000, (actual - 1000000) / 1000)
    assert wg.cell(row=k, column=5).number_format == "#,##0.000"
    k, r = rows[("CEI", "KWD")]
    cei = frame.loc[("CEI", "KWD"), "actual"]
    assert r[3] == "%" and r[5] == 0.8 and wg.cell(row=k, column=6).number_format == "0.0%"
    if cei is not None and cei == cei:
        assert r[4] == pytest.approx(float(cei) / 100)
