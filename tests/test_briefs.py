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

import pandas as pd
import pytest

from tests.conftest import write_ledger
from workbench.briefs import account_brief, team_summary, write_briefs, write_summary
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
    assert b["promise_summary"] == ("Last 12 months: 2 promise(s), 1 kept, 1 broken (kept rate "
                                    "50% of those decided).")
    assert [(d["dispute_id"], d["owner"], d["due"]) for d in b["disputes"]] == \
        [("D1", "Billing (Bea Biller)", "2026-10-10")]
    assert b["next_action"].startswith("Call: promise broken")
    assert b["escalation"] == "Escalate to the sales representative: Sam Seller."
    assert b["contacts"][0]["kind"] == "Promise to pay" and b["contacts"][-1]["kind"] == "Call"
    other = account_brief(ledger, "C2", "2026-09-30", events=EVENTS)
    assert other["customer"]["sales_rep"] == "none on file"
    assert other["disputes"][0]["owner"] == "Billing — by policy, not yet assigned"


def test_brief_files(ledger, tmp_path):
    from openpyxl import load_workbook
    files = write_briefs(ledger, ["C1"], "2026-09-30", tmp_path / "out", events=EVENTS)
    assert [f.name for f in files] == ["brief-C1.html", "brief-C1.xlsx"]
    html = files[0].read_text()
    for text in ("Acme Corp", "1,200.00 USD", "900.00 USD", "600.00 USD", "91-120 days",
                 "Broken", "Kept", "Billing (Bea Biller)", "Call: promise broken",
                 "Escalate to the sales representative: Sam Seller."):
        assert text in html, text
    for code in ("order_management", "promise_to_pay", "escalate_to_sales", "over_120"):
        assert code not in html, code
    ws = load_workbook(files[1])["Brief"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Account brief: Acme Corp"
    fields = {r[0]: r[1] for r in rows if r[0] and r[1] is not None}
    assert fields["Sales representative"] == "Sam Seller"
    assert fields["Next action"].startswith("Call: promise broken")
    i = next(k for k, r in enumerate(rows) if r[0] == "Balance (USD)")
    assert rows[i][:8] == ("Balance (USD)", "Past due", "Current", "1-30 days", "31-60 days",
                           "61-90 days", "91-120 days", "Over 120 days")
    assert rows[i + 1][:8] == (1200.0, 900.0, 300.0, 300.0, 0.0, 0.0, 600.0, 0.0)
    j = next(k for k, r in enumerate(rows) if r[0] == "Open disputes")
    assert rows[j + 2][:5] == ("D1", "I2", "300.00 USD", "Pricing", "Billing (Bea Biller)")


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
    text = html.read_text()
    assert "+100.00 USD" in text and "-200.00 USD" in text and "1,500.00 USD" in text
    from openpyxl import load_workbook
    ws = load_workbook(xlsx)["Summary"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[3][:6] == ("Acme Corp", "USD", 1200.0, 900.0, 100.0, 0.0)


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
    g = list(load_workbook(xlsx)["Goals"].iter_rows(values_only=True))
    assert g[2] == ("Scope", "KPI", "Currency", "Actual", "Target", "Variance", "Variance %", "Status")
    assert g[3][:5] == ("Collector: Ana", "DSO", "USD", f"{actual:.1f} days", "30.0 days")
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
