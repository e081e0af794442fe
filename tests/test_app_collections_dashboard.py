"""The collections dashboard driven in Python (no browser): filters, KPI tiles against the
project's KPI functions, aging, the worklist, an account's open items, history, promises and
disputes, and the log form: validation messages, what is recorded (the signed-in user, never
a typed name; amounts in minor units), a double-click recorded once, read only without a user;
a dispute opened through the dispute book (``dispute_events``) with the policy's owner and due
date (``policies/disputes.yaml``: pricing -> Sales 14 days, damaged goods -> Order management
15 days whoever owns it, goods not received -> Order management, its owner's days; Billing 7).

The ledger is hand-made; as of 2026-03-31 (its last date):

- C1 Acme Corp, USD, Enterprise, Ann Lee: I1 1,000.00 due 02-04, 600.00 paid 02-02 -> open
  400.00, 55 days past due; I2 500.00 due 03-12 -> open, 19 days, disputed (D1 200.00 open);
  I3 250.00 due 04-19 -> not yet due (-19). Open AR 1,150.00. R3 100.00 received 03-31,
  unapplied. A promise of 300.00 made 03-01 for 03-10, no cash in its window: broken.
- C2 Beta GmbH, EUR, Small Business, Bob Stone: I4 800.00 due 01-14 -> 76 days past due.
- C3 Gamma KK, JPY, Small Business, Ann Lee: I5 120,000 due 03-01, 50,000 paid 03-16 ->
  open 70,000, 30 days past due.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import pytest

from workbench.apps import CollectionsDashboardApp
from workbench.apps.dashboard_view import kpi_period
from workbench.kpis import kpi_table
from workbench.ledger import Ledger
from workbench.state import StateDB

from .conftest import write_ledger

AS_OF = "2026-03-31"


def _ledger(folder):
    return write_ledger(
        folder,
        customers=[
            {"customer_id": "C1", "name": "Acme Corp", "currency": "USD", "payment_terms_days": 30,
             "segment": "Enterprise", "collector": "Ann Lee"},
            {"customer_id": "C2", "name": "Beta GmbH", "currency": "EUR", "payment_terms_days": 30,
             "segment": "Small Business", "collector": "Bob Stone"},
            {"customer_id": "C3", "name": "Gamma KK", "currency": "JPY", "payment_terms_days": 30,
             "segment": "Small Business", "collector": "Ann Lee"}],
        invoices=[
            {"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2026-01-05",
             "due_date": "2026-02-04", "amount": "1000.00", "currency": "USD"},
            {"invoice_id": "I2", "customer_id": "C1", "invoice_date": "2026-02-10",
             "due_date": "2026-03-12", "amount": "500.00", "currency": "USD"},
            {"invoice_id": "I3", "customer_id": "C1", "invoice_date": "2026-03-20",
             "due_date": "2026-04-19", "amount": "250.00", "currency": "USD"},
            {"invoice_id": "I4", "customer_id": "C2", "invoice_date": "2025-12-15",
             "due_date": "2026-01-14", "amount": "800.00", "currency": "EUR"},
            {"invoice_id": "I5", "customer_id": "C3", "invoice_date": "2026-01-30",
             "due_date": "2026-03-01", "amount": "120000", "currency": "JPY"}],
        receipts=[
            {"receipt_id": "R1", "receipt_date": "2026-02-01", "amount": "600.00",
             "payer_name": "ACME", "reference": "I1", "customer_id": "C1", "currency": "USD"},
            {"receipt_id": "R2", "receipt_date": "2026-03-15", "amount": "50000",
             "payer_name": "GAMMA", "reference": "I5", "customer_id": "C3", "currency": "JPY"},
            {"receipt_id": "R3", "receipt_date": "2026-03-31", "amount": "100.00",
             "payer_name": "ACME", "reference": "", "customer_id": "C1", "currency": "USD"}],
        applications=[
            {"receipt_id": "R1", "invoice_id": "I1", "amount": "600.00", "applied_date": "2026-02-02"},
            {"receipt_id": "R2", "invoice_id": "I5", "amount": "50000", "applied_date": "2026-03-16"}],
        disputes=[
            {"dispute_id": "D1", "invoice_id": "I2", "opened_date": "2026-03-20",
             "reason_code": "pricing", "amount": "200.00"}],
        activities=[
            {"activity_id": "A1", "customer_id": "C1", "timestamp": "2026-03-01T09:00:00+00:00",
             "kind": "promise_to_pay", "collector": "Ann Lee", "promise_date": "2026-03-10",
             "promise_amount": "300.00", "note": "will pay part"},
            {"activity_id": "A2", "customer_id": "C1", "timestamp": "2026-03-10T10:00:00+00:00",
             "kind": "call", "collector": "Ann Lee", "note": "left a message"}],
        fx_rates=[{"date": "2026-03-31", "currency": "EUR", "rate_to_report": "1.0850"},
                  {"date": "2026-03-31", "currency": "JPY", "rate_to_report": "0.0067"}])


@pytest.fixture
def ledger_dir(tmp_path):
    return _ledger(tmp_path / "ledger")


@pytest.fixture
def user(monkeypatch):
    monkeypatch.setenv("WORKBENCH_USER", "ann")
    monkeypatch.setenv("WORKBENCH_ROLE", "analyst")
    monkeypatch.setenv("WORKBENCH_AUTHORITY", "analyst")
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "UTC")
    monkeypatch.delenv("WORKBENCH_APP_LEDGER", raising=False)
    return "ann"


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path}/s.db"


def _app(ledger_dir, db_url):
    app = CollectionsDashboardApp(str(ledger_dir), db_url=db_url)
    assert app.status.value == "", app.status.value
    return app


def _pick(app, cid):
    pos = app.visible.index[app.visible["customer_id"] == cid][0]
    app.worklist_table.selected_rows = [int(pos)]
    assert app.customer_id == cid


def _message(app):
    return html.unescape(app.form_status.value)


def _future(days=7):
    return str(dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=days))


# ------------------------------------------------------------------ the view

def test_kpi_tiles_equal_the_kpi_functions(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    led = Ledger.load(ledger_dir)
    assert str(app.view.D.date()) == AS_OF and kpi_period(AS_OF) == "2026-01-01..2026-03-31"
    want = kpi_table(led, "2026-01-01..2026-03-31").set_index("currency")
    got = app.kpi_values.set_index("currency")
    assert list(got.index) == ["EUR", "JPY", "USD"]
    for c in ("ending_ar", "unapplied_cash", "dso", "cei", "aging_over_60_pct"):
        pd.testing.assert_series_equal(got[c], want[c], check_dtype=False, obj=c)
    assert pd.isna(got.loc["EUR", "dso"])            # no EUR sales in the period: n/a
    # by hand: open AR 1,150.00 USD, 800.00 EUR, 70,000 JPY; R3 unapplied 100.00 USD
    assert got.loc["USD", "ending_ar"] == 115000 and got.loc["EUR", "ending_ar"] == 80000
    assert got.loc["JPY", "ending_ar"] == 70000 and got.loc["USD", "unapplied_cash"] == 10000
    # DSO USD = 1,150.00 / 1,750.00 sales * 90 days
    assert got.loc["USD", "dso"] == pytest.approx(115000 / 175000 * 90, abs=1e-4)
    assert got.loc["USD", "aging_over_60_pct"] == 0.0 and got.loc["EUR", "aging_over_60_pct"] == 100.0
    tiles = app.tiles.value
    assert "1,150.00 USD" in tiles and "800.00 EUR" in tiles and "70,000 JPY" in tiles
    assert f"{want.loc['USD', 'dso']:.1f} days" in tiles and "100.00 USD" in tiles
    assert f"{want.loc['EUR', 'cei']:.1f} %" in tiles


def test_filters_recompute_kpis_worklist_and_aging(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    led = Ledger.load(ledger_dir)
    period = "2026-01-01..2026-03-31"
    assert sorted(app.visible["customer_id"]) == ["C1", "C2", "C3"]
    # aging, all: USD current 250.00, 1-30 500.00, 31-60 400.00; EUR 61-90 800.00; JPY 1-30
    ag = app.aging_values
    assert ag.loc["USD"].tolist() == [25000, 50000, 40000, 0, 0, 0]
    assert ag.loc["EUR"].tolist() == [0, 0, 0, 80000, 0, 0]
    assert ag.loc["JPY"].tolist() == [0, 70000, 0, 0, 0, 0]
    app.collector.value = "Ann Lee"
    assert sorted(app.visible["customer_id"]) == ["C1", "C3"]
    by_col = kpi_table(led, period, by="collector")
    want = by_col[by_col["collector"] == "Ann Lee"].set_index("currency")
    got = app.kpi_values.set_index("currency")
    assert list(got.index) == ["JPY", "USD"]
    assert got["ending_ar"].tolist() == want["ending_ar"].tolist() == [70000, 115000]
    pd.testing.assert_series_equal(got["dso"], want["dso"], check_dtype=False)
    assert list(app.aging_values.index) == ["JPY", "USD"]
    app.segment.value = "Small Business"                    # both: C3 only, summed per customer
    assert app.visible["customer_id"].tolist() == ["C3"]
    by_cust = kpi_table(led, period, by="customer").set_index("customer_id")
    got = app.kpi_values.set_index("currency")
    assert list(got.index) == ["JPY"] and got.loc["JPY", "ending_ar"] == 70000
    assert got.loc["JPY", "dso"] == by_cust.loc["C3", "dso"]
    assert got.loc["JPY", "cei"] == by_cust.loc["C3", "cei"]
    app.collector.value = "All"
    app.segment.value = "All"
    app.currency.value = "EUR"
    assert app.visible["customer_id"].tolist() == ["C2"]
    assert app.kpi_values["currency"].tolist() == ["EUR"] and "1,150.00 USD" not in app.tiles.value
    # the worklist table shows the filtered rows, formatted for people
    shown = app.worklist_table.df
    assert shown["Customer"].tolist() == ["C2"] and shown["Open AR"].tolist() == ["800.00"]
    assert shown["Currency"].tolist() == ["EUR"] and "open_ar" not in shown.columns


def test_as_of_change_and_bad_date(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    app.as_of_input.value = "2026-02-28"
    assert str(app.view.D.date()) == "2026-02-28" and app.status.value == ""
    # on 02-28: I1 open 400.00 (24 days), I2 500.00 not yet due; I4 45 days; I5 not yet due
    assert app.aging_values.loc["USD"].tolist() == [50000, 40000, 0, 0, 0, 0]
    assert "KPIs for 2025-12-01..2026-02-28" in app.head.value     # three whole months
    app.as_of_input.value = "2026-02-30"
    assert "As of: enter a date as YYYY-MM-DD; got '2026-02-30'." in html.unescape(app.status.value)
    assert str(app.view.D.date()) == "2026-02-28"


def test_selected_account_shows_open_items_history_promises_disputes(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    _pick(app, "C1")
    items = app.open_items("C1")
    assert items.to_dict("records") == [
        {"Invoice": "I1", "Invoice date": "2026-01-05", "Due": "2026-02-04", "Days past due": 55,
         "Amount": "1,000.00", "Open amount": "400.00", "Currency": "USD", "In dispute": ""},
        {"Invoice": "I2", "Invoice date": "2026-02-10", "Due": "2026-03-12", "Days past due": 19,
         "Amount": "500.00", "Open amount": "500.00", "Currency": "USD", "In dispute": "yes"},
        {"Invoice": "I3", "Invoice date": "2026-03-20", "Due": "2026-04-19", "Days past due": -19,
         "Amount": "250.00", "Open amount": "250.00", "Currency": "USD", "In dispute": ""}]
    assert "wb-open-items" in app.account.value and "1,150.00 USD" in app.account.value
    assert app.promises("C1").values.tolist() == [
        ["2026-03-01", "2026-03-10", "300.00", "USD", "0.00", "broken"]]
    # D1: pricing -> Sales by the policy (nobody assigned it), due 03-20 + 14 days = 04-03
    assert app.disputes("C1").values.tolist() == [
        ["D1", "I2", "2026-03-20", "Pricing", "200.00", "USD", "Sales (policy default)",
         "2026-04-03", "Open", "no"]]
    assert "wb-disputes" in app.history.value and "Sales (policy default)" in app.history.value
    assert app.view.display.set_index("Customer")["Open disputes"].to_dict() == {
        "C1": 1, "C2": 0, "C3": 0}
    hist = app.history.value
    assert "10 Mar 2026, 10:00 UTC" in hist and "left a message" in hist
    assert hist.index("left a message") < hist.index("will pay part")      # newest first
    assert [o[1] for o in app.invoice.options] == ["", "I1", "I2", "I3"]


# ------------------------------------------------------------------ the form

def test_validation_messages(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    app.submit.click()
    assert "Pick an account in the worklist first." in _message(app)
    _pick(app, "C1")
    app.kind.value = "call"
    app.submit.click()
    assert "Write a note: what was said on the call." in _message(app)
    assert "wb-error" in _message(app)
    app.kind.value = "promise_to_pay"
    app.amount.value = "100.00"
    app.promise_date.value = "2026-03-01"
    app.submit.click()
    today = dt.datetime.now(dt.timezone.utc).date()
    assert f"Promise date 2026-03-01 is in the past (today is {today})." in _message(app)
    app.promise_date.value = "1 April"
    app.submit.click()
    assert "Promise date: enter a date as YYYY-MM-DD; got '1 April'." in _message(app)
    app.promise_date.value = _future()
    app.amount.value = "10.001"
    app.submit.click()
    assert "Amount: '10.001' has more decimals than USD allows (2)." in _message(app)
    app.amount.value = ""
    app.submit.click()
    assert "Amount: enter the promised amount in USD." in _message(app)
    app.amount.value = "1150.01"
    app.submit.click()
    assert ("Amount 1,150.01 USD is more than the open balance of the account: 1,150.00 USD."
            in _message(app))
    app.invoice.value = "I1"
    app.amount.value = "400.01"
    app.submit.click()
    assert "Amount 400.01 USD is more than the open balance of invoice I1: 400.00 USD." in _message(app)
    app.amount.value = "0"
    app.submit.click()
    assert "Amount: must be more than zero." in _message(app)
    app.kind.value = "dispute"
    app.invoice.value = ""
    app.submit.click()
    assert "Pick the disputed invoice." in _message(app)
    app.invoice.value = "I2"
    app.amount.value = ""
    app.submit.click()
    assert "Amount: enter the disputed amount in USD." in _message(app)
    app.amount.value = "500.01"
    app.submit.click()
    assert "Amount 500.01 USD is more than the open balance of invoice I2: 500.00 USD." in _message(app)
    app.amount.value = "50.00"
    app.due.value = "2020-01-31"
    app.submit.click()
    assert f"Due date 2020-01-31 is in the past (today is {today})." in _message(app)
    app.due.value = "next week"
    app.submit.click()
    assert "Due date: enter a date as YYYY-MM-DD; got 'next week'." in _message(app)
    _pick(app, "C3")                                        # JPY has no decimals
    app.kind.value = "promise_to_pay"
    app.promise_date.value = _future()
    app.amount.value = "5.5"
    app.submit.click()
    assert "Amount: '5.5' has more decimals than JPY allows (0)." in _message(app)
    app.kind.value = "dispute"
    app.invoice.value = "I5"
    app.submit.click()
    assert "Amount: '5.5' has more decimals than JPY allows (0)." in _message(app)
    assert StateDB(db_url).rows("activities") == []
    assert StateDB(db_url).rows("dispute_events") == []


def test_promise_recorded_once_with_the_signed_in_user(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    _pick(app, "C1")
    app.kind.value = "promise_to_pay"
    app.invoice.value = "I1"
    app.promise_date.value = day = _future(10)
    app.amount.value = "300.50"
    app.note.value = "CFO confirmed"
    app.submit.click()
    app.submit.click()                                      # a double-click
    rows = StateDB(db_url).rows("activities")
    assert len(rows) == 1, rows
    r = rows[0]
    assert (r["customer_id"], r["kind"], r["invoice_id"], r["currency"]) == ("C1", "promise_to_pay", "I1", "USD")
    assert r["collector"] == "ann" and r["recorded_by"] == "ann"
    assert r["promise_amount_minor"] == 30050 and r["promise_date"] == day
    assert r["note"] == "CFO confirmed" and len(r["idempotency_key"]) == 32
    assert f"Already recorded as activity {r['id']}" in _message(app)
    # the page shows it: history (logged here) and an open promise
    assert "logged here" in app.history.value and "300.50 USD by " + day in app.history.value
    assert app.promises("C1").values.tolist()[0][1:] == [day, "300.50", "USD", "", "open"]
    # a new entry is a new submission (a new key)
    app.kind.value = "call"
    app.note.value = "confirmed the promise by phone"
    app.submit.click()
    rows = StateDB(db_url).rows("activities")
    assert [x["kind"] for x in rows] == ["promise_to_pay", "call"]
    assert rows[1]["collector"] == "ann" and rows[1]["invoice_id"] == "I1"
    assert rows[1]["idempotency_key"] != rows[0]["idempotency_key"]
    assert f"Recorded call for C1 (activity {rows[1]['id']}), by ann." in _message(app)


def test_dispute_is_opened_through_the_dispute_book_once(ledger_dir, db_url, user):
    app = _app(ledger_dir, db_url)
    today = dt.datetime.now(dt.timezone.utc).date()
    day = lambda n: str(today + dt.timedelta(days=n))  # noqa: E731
    _pick(app, "C1")
    app.kind.value = "dispute"
    assert app.reason.layout.display is None and app.due.layout.display is None
    assert app.reason.options[:3] == (("Pricing", "pricing"), ("Damaged goods", "damaged_goods"),
                                      ("Goods not received", "not_received"))
    assert [o[0] for o in app.owner.options] == ["Order management", "Billing", "Sales",
                                                 "Collector"]
    # the policy's defaults, shown before anything is recorded
    assert (app.reason.value, app.owner.value, app.due.value) == ("pricing", "sales", day(14))
    assert f"due 14 days after it is opened: {day(14)}" in app.dispute_hint.value
    app.reason.value = "damaged_goods"           # the reason's owner and the reason's 15 days
    assert (app.owner.value, app.due.value) == ("order_management", day(15))
    app.owner.value = "billing"                  # another owner: the reason's days still win
    assert app.due.value == day(15)
    app.reason.value = "not_received"            # no days of its own: its owner's 10 days
    assert (app.owner.value, app.due.value) == ("order_management", day(10))
    app.owner.value = "billing"                  # Billing's 7 days
    assert app.due.value == day(7) and "changed from Order management" in app.dispute_hint.value
    app.invoice.value = "I1"
    app.amount.value = "100"
    app.note.value = "pallet never arrived"
    app.submit.click()
    assert ("Opened dispute WB-I1-not_received on invoice I1 for 100.00 USD (Goods not "
            f"received), owner Billing, due {day(7)}, by ann." in _message(app)), _message(app)
    app.submit.click()                                      # a double-click
    db = StateDB(db_url)
    [r] = db.rows("dispute_events")
    assert (r["event"], r["dispute_id"], r["customer_id"], r["invoice_id"]) == (
        "opened", "WB-I1-not_received", "C1", "I1")
    assert (r["amount_minor"], r["currency"], r["reason_code"], r["status"]) == (
        10000, "USD", "not_received", "open")
    # opened today (UTC): due = opened + Billing's 7 days
    assert r["recorded_by"] == "ann" and r["owner"] == "billing" and r["owner_name"] is None
    assert pd.Timestamp(r["recorded_at"]).date() == today and r["due_date"] == day(7)
    assert r["note"] == "pallet never arrived" and len(r["idempotency_key"]) == 32
    assert db.rows("activities") == []                      # no activity any more
    assert "Already recorded as dispute WB-I1-not_received" in _message(app)
    # as of 03-31 (the page's date) it was not yet known: listed first, marked so
    assert app.disputes("C1").values.tolist() == [
        ["WB-I1-not_received", "I1", str(today), "Goods not received", "100.00", "USD",
         "Billing", day(7), "Open (recorded after 2026-03-31)", "no"],
        ["D1", "I2", "2026-03-20", "Pricing", "200.00", "USD", "Sales (policy default)",
         "2026-04-03", "Open", "no"]]
    assert "WB-I1-not_received" in app.history.value and day(7) in app.history.value
    assert app.open_items("C1")["In dispute"].tolist() == ["", "yes", ""]
    # a new submission on the same invoice and reason: the book refuses it, nothing recorded
    app.note.value = "again"
    app.submit.click()
    assert "Not recorded: dispute WB-I1-not_received on I1 for this reason is still open" \
        in _message(app)
    assert db.count("dispute_events") == 1
    # as of today the dispute is known: in the table unmarked, its invoice in dispute, counted
    app.as_of_input.value = str(today)
    assert "after the ledger's last date 2026-03-31" in html.unescape(app.status.value)
    _pick(app, "C1")
    d1_late = (today - dt.date(2026, 4, 3)).days
    assert app.disputes("C1").values.tolist() == [
        ["WB-I1-not_received", "I1", str(today), "Goods not received", "100.00", "USD",
         "Billing", day(7), "Open", "no"],
        ["D1", "I2", "2026-03-20", "Pricing", "200.00", "USD", "Sales (policy default)",
         "2026-04-03", "Open", f"yes, {d1_late} days"]]
    assert app.open_items("C1")["In dispute"].tolist() == ["yes", "yes", ""]
    assert app.view.display.set_index("Customer").at["C1", "Open disputes"] == 2


def test_disputes_opened_before_the_page_started_and_logged_as_activities(ledger_dir, db_url,
                                                                        user):
    from workbench.collections import ActivityLog
    from workbench.disputes import DisputeBook

    led, db = Ledger.load(ledger_dir), StateDB(db_url)
    today = dt.datetime.now(dt.timezone.utc).date()
    # the old way: an activity of kind dispute, its amount in the note (opened 03-25)
    ActivityLog(db, led).add("C1", "dispute", "bob", at="2026-03-25T09:00:00+00:00",
                             invoice_id="I1", note="disputed 100.00 USD: wrong unit price",
                             actor="bob")
    DisputeBook(db, led).open("I3", "50.00", "duplicate_billing", actor="bob",
                              owner_name="Kim Park")
    app = _app(ledger_dir, db_url)
    _pick(app, "C1")
    [aid] = app.activities.loc[app.activities["kind"] == "dispute", "activity_id"]
    # recorded today: after 03-31. "logged" is no policy reason: the default owner, Collector
    # (5 days): due 03-30, overdue today; duplicate billing: Billing, its own 5 days
    rows = app.disputes("C1").values.tolist()
    assert rows[:2] == [
        ["WB-I3-duplicate_billing", "I3", str(today), "Duplicate billing", "50.00", "USD",
         "Billing · Kim Park", str(today + dt.timedelta(days=5)),
         "Open (recorded after 2026-03-31)", "no"],
        [f"LOG-{aid}", "I1", "2026-03-25", "Logged in the app (not coded)", "100.00", "USD",
         "Collector (policy default)", "2026-03-30", "Open (recorded after 2026-03-31)",
         f"yes, {(today - dt.date(2026, 3, 30)).days} days"]]
    assert rows[2][0] == "D1" and len(rows) == 3


def test_state_activities_are_read_at_start(ledger_dir, db_url, user):
    from workbench.collections import ActivityLog

    led = Ledger.load(ledger_dir)
    ActivityLog(StateDB(db_url), led).add("C3", "call", "bob", at="2026-03-30T08:00:00+00:00",
                                          note="asked for the remittance", actor="bob")
    app = _app(ledger_dir, db_url)
    _pick(app, "C3")
    assert "asked for the remittance" in app.history.value and "logged here" in app.history.value


def test_no_user_is_read_only(ledger_dir, tmp_path, monkeypatch):
    for var in ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY"):
        monkeypatch.delenv(var, raising=False)
    url = f"sqlite:///{tmp_path}/none.db"
    app = _app(ledger_dir, url)
    assert app.user is None and app.submit.disabled
    assert all(w.disabled for w in (app.kind, app.invoice, app.promise_date, app.amount, app.note))
    assert "Read only" in app.who.widget.value and "Read only" in _message(app)
    _pick(app, "C1")
    app.note.value = "typed"
    app.submit.click()                     # a forged click is refused too
    assert "Read only: no signed-in user" in _message(app)
    assert not (tmp_path / "none.db").exists()            # nothing created


def test_start_failure_is_shown_in_words(tmp_path, user, db_url):
    app = CollectionsDashboardApp(str(tmp_path / "missing"), db_url=db_url)
    assert "The page could not start:" in app.status.value and "wb-error" in app.status.value
    assert "Collections dashboard" in app.children[0].value


def test_demo_interactions_are_fast(demo_dir, db_url, user):
    """Interactions look up what start-up computed (timed in the report on data/demo)."""
    import time

    app = _app(demo_dir, db_url)
    t = time.perf_counter()
    app.worklist_table.selected_rows = [3]
    assert time.perf_counter() - t < 1.0 and app.customer_id == app.visible["customer_id"][3]
    frame = pd.read_csv(demo_dir / "customers.csv")
    app.collector.value = sorted(frame["collector"].dropna())[0]
    assert set(app.visible["collector"]) == {app.collector.value}


def test_a_far_promise_is_refused_and_another_account_starts_a_clean_form(ledger_dir, db_url, user):
    from workbench.apps.collections_dashboard import PROMISE_HORIZON_DAYS

    app = _app(ledger_dir, db_url)
    _pick(app, "C1")
    app.kind.value = "promise_to_pay"
    app.amount.value = "100.00"
    app.note.value = "will pay in five years"
    app.promise_date.value = _future(PROMISE_HORIZON_DAYS + 1)
    app.submit.click()
    assert f"more than {PROMISE_HORIZON_DAYS} days ahead" in _message(app)
    assert StateDB(db_url).count("activities") == 0
    app.promise_date.value = _future(PROMISE_HORIZON_DAYS)
    app.submit.click()
    assert "Recorded promise to pay" in _message(app), _message(app)
    # a filter that hides the account: the answer and the inputs about it are gone
    app.promise_date.value = "2020-01-01"
    app.submit.click()
    assert "in the past" in _message(app)
    app.currency.value = "EUR"
    assert app.customer_id is None and _message(app) == ""
    assert (app.note.value, app.amount.value, app.promise_date.value) == ("", "", "")
