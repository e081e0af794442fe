"""The cash-application review page, driven in Python (no browser), and the posting
functions it records through: approve, reject and re-point post exactly what was chosen,
once, with the signed-in user; what cannot be posted is refused in plain words."""

import threading

import pandas as pd
import pytest

from workbench.cashapp import posting
from workbench.cashapp.posting import PostingError, post_manual, post_matches, reject_matches
from workbench.cli import main
from workbench.ledger import Ledger
from workbench.money import parse_amount
from workbench.state import StateDB

from .conftest import write_ledger


def _cust(cid, name, cur="USD"):
    return {"customer_id": cid, "name": name, "currency": cur, "payment_terms_days": 30}


def _inv(iid, cid, amount, cur="USD"):
    return {"invoice_id": iid, "customer_id": cid, "invoice_date": "2026-08-20",
            "due_date": "2026-09-19", "amount": amount, "currency": cur}


def _rc(rid, payer, ref, amount):
    return {"receipt_id": rid, "receipt_date": pd.Timestamp("2026-09-30"),
            "amount_minor": parse_amount(amount, "USD"), "payer_name": payer, "reference": ref,
            "customer_id": None, "currency": "USD"}


@pytest.fixture
def setup(tmp_path):
    """A ledger of three customers (one in EUR), a camt.053 of four USD payments, and a run
    as of Wednesday 2026-10-07 with auto-post threshold 0.95: BKX1 pays INV-101 by reference
    (auto), BKX4 pays INV-102 + INV-105 by amount (suggested), BKX2 and BKX3 unapplied."""
    from workbench.io.bank_writers import write_camt053

    led = write_ledger(tmp_path / "ledger",
                       customers=[_cust("A1", "Acme Corp"), _cust("B1", "Beta Industries Inc."),
                                  _cust("E1", "Euro Parts GmbH", "EUR")],
                       invoices=[_inv("INV-2026-000101", "A1", "1000.00"),
                                 _inv("INV-2026-000102", "A1", "300.00"),
                                 _inv("INV-2026-000103", "B1", "250.00"),
                                 _inv("INV-2026-000104", "B1", "400.00"),
                                 _inv("INV-2026-000105", "A1", "200.00"),
                                 _inv("INV-2026-000201", "E1", "500.00", "EUR")])
    rs = pd.DataFrame([_rc("BKX1", "ACME CORP", "INV-2026-000101", "1000.00"),
                       _rc("BKX2", "BTEA INDUSTRES", "", "250.00"),
                       _rc("BKX4", "ACME CORP", "", "500.00"),
                       _rc("BKX3", "NOBODY LTD", "", "10.00")])
    write_camt053(rs, tmp_path / "stmt.xml", "US-OPER-0001", "USD", 100000)
    out = tmp_path / "runs" / "r1"
    assert main(["cashapp", "--ledger", str(led), "--bank", str(tmp_path / "stmt.xml"),
                 "--out", str(out), "--as-of", "2026-10-07", "--threshold", "0.95",
                 "--quiet"]) == 0
    apps = pd.read_csv(out / "applications.csv", dtype=str)
    assert apps[["receipt_id", "invoice_id", "amount", "status"]].values.tolist() == [
        ["BKX1", "INV-2026-000101", "1000.00", "auto"],
        ["BKX4", "INV-2026-000102", "300.00", "suggested"],
        ["BKX4", "INV-2026-000105", "200.00", "suggested"]]
    return {"ledger": led, "runs": tmp_path / "runs", "run": out, "url": f"sqlite:///{tmp_path}/s.db",
            "stmt": tmp_path / "stmt.xml"}


@pytest.fixture
def ann(monkeypatch):
    for k, v in (("WORKBENCH_USER", "ann"), ("WORKBENCH_ROLE", "analyst"),
                 ("WORKBENCH_AUTHORITY", "analyst")):
        monkeypatch.setenv(k, v)


def _app(setup):
    from workbench.apps import CashReviewApp

    return CashReviewApp(str(setup["ledger"]), str(setup["runs"]), db_url=setup["url"])


def _rows(setup):
    return [(r["receipt_id"], r["invoice_id"], r["amount_minor"], r["currency"], r["rule"],
             r["status"], r["approved_by"], r["recorded_by"])
            for r in StateDB(setup["url"]).rows("cash_matches")]


def _row_of(app, receipt, invoice):
    pairs = list(zip(app.lines["receipt_id"], app.lines["invoice_id"]))
    return pairs.index((receipt, invoice))


def _text(w):
    import html
    import re
    return html.unescape(re.sub("<[^>]+>", " ", w.value))


def test_matches_and_unapplied_with_age_against_the_sla(setup, ann):
    app = _app(setup)
    assert "ann" in app.who.widget.value and not app.approve_btn.disabled
    v = app.view
    # pending suggestions first, then the pending auto line
    assert v[["Status", "Receipt", "Invoice", "Customer", "Apply", "Open on invoice", "Currency",
              "Rule", "Conf."]].values.tolist() == [
        ["pending (suggested)", "BKX4", "INV-2026-000102", "Acme Corp", "300.00", "300.00", "USD",
         "subset_sum", "92%"],
        ["pending (suggested)", "BKX4", "INV-2026-000105", "Acme Corp", "200.00", "200.00", "USD",
         "subset_sum", "92%"],
        ["pending (auto)", "BKX1", "INV-2026-000101", "Acme Corp", "1,000.00", "1,000.00", "USD",
         "reference_exact", "99%"]]
    assert v[["Received", "Payer", "Receipt amount"]].values.tolist()[2] == [
        "2026-09-30", "ACME CORP", "1,000.00"]
    u = app._unapplied_view(app.unapplied_frame)
    # 2026-09-30 (Wed) to 2026-10-07 (Wed): Sep 30, Oct 1, 2, 5, 6 = 5 business days > SLA 2
    assert u[["Receipt", "Unapplied", "Awaiting review", "Age (business days)", "Over SLA"]
             ].values.tolist() == [["BKX2", "250.00", "0.00", 5, "OVER SLA"],
                                   ["BKX3", "10.00", "0.00", 5, "OVER SLA"],
                                   ["BKX4", "500.00", "500.00", 5, "OVER SLA"]]
    # the same cash as the run's own unapplied list
    listed = pd.read_csv(setup["run"] / "unapplied.csv", dtype=str)
    assert sorted(zip(listed["receipt_id"], listed["unapplied"])) == \
        sorted(zip(u["Receipt"], u["Unapplied"]))
    assert "posting SLA 2 business day(s)" in app.unapplied_info.value


def test_approve_posts_exactly_the_selected_lines_once(setup, ann):
    app = _app(setup)
    app.table.selected_rows = [_row_of(app, "BKX4", "INV-2026-000102")]
    app.approve_btn.click()
    assert "1 line(s) posted, approved by ann" in _text(app.form_status)
    assert _rows(setup) == [("BKX4", "INV-2026-000102", 30000, "USD", "subset_sum", "posted",
                             "ann", "ann")]
    # the posted line leaves the selection; a double-click, and approving it again: nothing
    assert app.table.selected_rows == []
    app.approve_btn.click()
    assert "Select the lines to approve first" in _text(app.form_status)
    app.table.selected_rows = [_row_of(app, "BKX4", "INV-2026-000102")]
    app.approve_btn.click()
    assert "posted or rejected already: nothing to approve" in _text(app.form_status)
    app.reason.value = "wrong customer"
    app.reject_btn.click()
    assert "a posted line is reversed in the ERP, not rejected here" in _text(app.form_status)
    assert len(_rows(setup)) == 1
    i = _row_of(app, "BKX4", "INV-2026-000102")
    assert app.view.loc[i, "Status"] == "posted" and app.view.loc[i, "By, when"].startswith("ann, ")
    u = app.unapplied_frame.set_index("receipt_id")
    assert int(u.at["BKX4", "unapplied_minor"]) == 20000 and int(u.at["BKX4", "waiting_minor"]) == 20000


def test_reject_keeps_the_cash_unapplied_and_leaves_the_pending_list(setup, ann):
    app = _app(setup)
    app.table.selected_rows = [0, 1]                     # both BKX4 suggestions
    app.reject_btn.click()
    assert "Say why" in _text(app.form_status) and _rows(setup) == []
    app.reason.value = "payer disputes these invoices"
    app.reject_btn.click()
    assert "2 line(s) rejected by ann" in _text(app.form_status)
    rows = StateDB(setup["url"]).rows("cash_matches")
    assert [(r["receipt_id"], r["invoice_id"], r["amount_minor"], r["status"], r["approved_by"],
             r["correction_reason"]) for r in rows] == [
        ("BKX4", "INV-2026-000102", 30000, "rejected", "ann", "payer disputes these invoices"),
        ("BKX4", "INV-2026-000105", 20000, "rejected", "ann", "payer disputes these invoices")]
    app.reject_btn.click()                               # double-click: nothing more
    assert len(StateDB(setup["url"]).rows("cash_matches")) == 2
    assert app.view["Status"].tolist() == ["pending (auto)", "rejected", "rejected"]
    u = app.unapplied_frame.set_index("receipt_id")
    assert int(u.at["BKX4", "unapplied_minor"]) == 50000 and int(u.at["BKX4", "waiting_minor"]) == 0
    # the CLI's posting does not post a rejected line, and a rejection is no cash
    res = post_matches(setup["run"], Ledger.load(setup["ledger"]), "bob", StateDB(setup["url"]),
                       ("suggested",))
    assert (res["posted"], res["rejected"]) == (0, 2)
    # approving a rejected line from the page records nothing
    app.table.selected_rows = [1]
    app.approve_btn.click()
    assert "2 rejected earlier" not in _text(app.form_status) and len(_rows(setup)) == 2


def test_repoint_posts_the_chosen_invoices_with_exact_amounts(setup, ann):
    app = _app(setup)
    app.table.selected_rows = [_row_of(app, "BKX4", "INV-2026-000102")]
    # the customer's open invoices, largest first
    assert [v for _, v in app.invoice_pick.options] == ["INV-2026-000101", "INV-2026-000102",
                                                        "INV-2026-000105"]
    app.invoice_pick.value = "INV-2026-000101"
    app.amount.value = "450.00"
    app.add_btn.click()
    app.invoice_pick.value = "INV-2026-000105"
    app.amount.value = "50.00"
    app.add_btn.click()
    assert [(x["invoice_id"], x["amount"]) for x in app.repoint_lines] == [
        ("INV-2026-000101", "450.00"), ("INV-2026-000105", "50.00")]
    app.repoint_btn.click()
    assert "Say why" in _text(app.form_status)
    app.reason.value = "remittance advice by e-mail"
    app.repoint_btn.click()
    assert "Receipt BKX4 re-pointed: 2 line(s) posted by ann" in _text(app.form_status)
    app.repoint_btn.click()                              # double-click: nothing more
    assert _rows(setup) == [
        ("BKX4", "INV-2026-000101", 45000, "USD", "manual", "posted", "ann", "ann"),
        ("BKX4", "INV-2026-000105", 5000, "USD", "manual", "posted", "ann", "ann"),
        ("BKX4", "INV-2026-000102", 30000, "USD", "subset_sum", "rejected", "ann", "ann"),
        ("BKX4", "INV-2026-000105", 20000, "USD", "subset_sum", "rejected", "ann", "ann")]
    assert "BKX4" not in set(app.unapplied_frame["receipt_id"])
    # BKX1's auto line no longer fits INV-101 (1,000.00 - 450.00 open): refused, listed
    app.table.selected_rows = [_row_of(app, "BKX1", "INV-2026-000101")]
    app.approve_btn.click()
    msg = _text(app.form_status)
    assert "Nothing posted: 1 line(s) cannot be recorded" in msg
    assert "1000.00 exceeds the 550.00 USD still open on the invoice" in msg
    assert len(_rows(setup)) == 4


def test_repoint_refusals(setup, ann):
    app = _app(setup)
    # BKX3 (10.00, no suggestion) picked in the unapplied list
    app.unapplied.selected_rows = [list(app.unapplied_frame["receipt_id"]).index("BKX3")]
    app.search.value = "INV-2026-000104"
    assert [v for _, v in app.invoice_pick.options] == ["INV-2026-000104"]
    for amount, why in (("10.01", "10.01 USD is more than the 10.00 USD left of receipt BKX3"),
                        ("1.005", "amount '1.005':"), ("0", "more than zero")):
        app.amount.value = amount
        app.add_btn.click()
        assert why in _text(app.form_status), _text(app.form_status)
    app.search.value = "000201"                          # Euro Parts GmbH, EUR
    app.amount.value = "5.00"
    app.add_btn.click()
    assert ("the receipt is in USD, invoice INV-2026-000201 in EUR: currencies must agree"
            in _text(app.form_status))
    # above what is open on the invoice
    app.table.selected_rows = [_row_of(app, "BKX4", "INV-2026-000105")]
    app.search.value = ""
    app.invoice_pick.value = "INV-2026-000105"
    app.amount.value = "200.01"
    app.add_btn.click()
    assert "200.01 USD is more than the 200.00 USD open on invoice INV-2026-000105" in \
        _text(app.form_status)
    assert app.repoint_lines == [] and _rows(setup) == []


def test_without_a_signed_in_user_the_page_is_read_only(setup, monkeypatch):
    for k in ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY"):
        monkeypatch.delenv(k, raising=False)
    app = _app(setup)
    assert "Read only" in app.who.widget.value
    assert all(b.disabled for b in (app.approve_btn, app.reject_btn, app.add_btn, app.repoint_btn))
    app.table.selected_rows = [0]
    app.approve_btn.click()
    assert "Read only" in _text(app.form_status) and _rows(setup) == []


def test_no_run_says_how_to_make_one(setup, ann, tmp_path):
    from workbench.apps import CashReviewApp

    app = CashReviewApp(str(setup["ledger"]), str(tmp_path / "none"), db_url=setup["url"])
    assert "No cash application run" in app.status.value and "workbench cashapp" in app.status.value


def test_the_latest_run_is_shown_and_another_can_be_picked(setup, ann):
    import os
    import shutil

    old = setup["runs"] / "r0"
    shutil.copytree(setup["run"], old)
    os.utime(old / "summary.json", (1_000_000_000, 1_000_000_000))
    app = _app(setup)
    assert app.run_pick.value == str(setup["run"]) and [n for n, _ in app.run_pick.options] == ["r1", "r0"]
    app.run_pick.value = str(old)
    assert app.run["dir"] == old and len(app.view) == 3


# ---------------------------------------------------------------- posting functions
def test_post_manual_checks_every_line(setup):
    led, db = Ledger.load(setup["ledger"]), StateDB(setup["url"])

    def refused(lines, why):
        with pytest.raises(PostingError) as e:
            post_manual(setup["run"], led, "ann", lines, db, "test")
        assert any(why in p for p in e.value.problems), e.value.problems

    line = lambda r, i, a: {"receipt_id": r, "invoice_id": i, "amount": a}  # noqa: E731
    refused([line("BKX3", "INV-2026-000104", "10.01")], "exceeds the 10.00 USD left of the receipt")
    refused([line("BKX3", "INV-2026-000104", "6.00"), line("BKX3", "INV-2026-000103", "4.01")],
            "line 2 (BKX3 -> INV-2026-000103 4.01): exceeds the 4.00 USD left of the receipt")
    refused([line("BKX4", "INV-2026-000105", "200.01")], "exceeds the 200.00 USD still open")
    refused([line("BKX3", "INV-2026-000104", "1.005")], "amount:")
    refused([line("BKX3", "INV-2026-000201", "1.00")], "the receipt is in USD, the invoice in EUR")
    refused([line("BKX9", "INV-2026-000104", "1.00")], "receipt BKX9 is in none of the run's")
    refused([line("BKX3", "INV-9", "1.00")], "invoice INV-9 is not in the ledger")
    with pytest.raises(PostingError, match="needs a reason"):
        post_manual(setup["run"], led, "ann", [line("BKX3", "INV-2026-000104", "1.00")], db, " ")
    assert db.rows("cash_matches") == []
    res = post_manual(setup["run"], led, "ann", [line("BKX3", "INV-2026-000104", "10.00")], db,
                      "phone call", idempotency_key="k1")
    assert res == {"posted": 1, "rejected": 0, "already_recorded": False}
    again = post_manual(setup["run"], led, "ann", [line("BKX3", "INV-2026-000104", "10.00")], db,
                        "phone call", idempotency_key="k1")
    assert again["already_recorded"] and again["posted"] == 0
    rows = db.rows("cash_matches")
    assert [(r["amount_minor"], r["rule"], r["status"], r["correction_reason"]) for r in rows] == [
        (1000, "manual", "posted", "phone call")]
    assert len(rows[0]["ledger_hash"]) == 64 and rows[0]["idempotency_key"].startswith("k1:")
    assert db.verify_audit_chain() == (True, "")


def test_rejected_rows_are_no_cash_and_posted_lines_cannot_be_rejected(setup):
    led, db = Ledger.load(setup["ledger"]), StateDB(setup["url"])
    assert reject_matches(setup["run"], "ann", [("BKX4", "INV-2026-000102")], db, "wrong",
                          led) == {"rejected": 1, "already_rejected": 0}
    # the rejected 300.00 does not use up the receipt: 500.00 can still be posted by hand
    post_manual(setup["run"], led, "ann", [
        {"receipt_id": "BKX4", "invoice_id": "INV-2026-000104", "amount": "400.00"},
        {"receipt_id": "BKX4", "invoice_id": "INV-2026-000105", "amount": "100.00"}], db, "remittance")
    post_matches(setup["run"], led, "ann", db, ("auto",))       # BKX1 -> INV-101 1000.00
    with pytest.raises(PostingError, match="a posted line is reversed, not rejected"):
        reject_matches(setup["run"], "ann", [("BKX1", "INV-2026-000101")], db, "x", led)
    with pytest.raises(PostingError, match="not a line of the run"):
        reject_matches(setup["run"], "ann", [("BKX3", "INV-2026-000104")], db, "x", led)
    assert [(r["receipt_id"], r["status"]) for r in db.rows("cash_matches")] == [
        ("BKX4", "rejected"), ("BKX4", "posted"), ("BKX4", "posted"), ("BKX1", "posted")]


def test_two_concurrent_repoints_that_together_exceed_the_receipt(setup):
    """Two analysts re-point BKX4 (500.00) at the same moment, 300.00 each, through two
    connections: one is posted, the other refused (check and write are one transaction)."""
    StateDB(setup["url"]).close()
    barrier, results = threading.Barrier(2), {}

    def repoint(who, invoice):
        db, led = StateDB(setup["url"]), Ledger.load(setup["ledger"])   # one page each
        barrier.wait()
        try:
            results[who] = post_manual(setup["run"], led, who, [
                {"receipt_id": "BKX4", "invoice_id": invoice, "amount": "300.00"}], db, "race")
        except PostingError as e:
            results[who] = e

    threads = [threading.Thread(target=repoint, args=a)
               for a in (("ann", "INV-2026-000101"), ("bob", "INV-2026-000102"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    errors = [r for r in results.values() if isinstance(r, PostingError)]
    assert len(results) == 2 and len(errors) == 1
    assert "exceeds the 200.00 USD left of the receipt" in errors[0].problems[0]
    rows = StateDB(setup["url"]).rows("cash_matches")
    assert [(r["receipt_id"], r["amount_minor"], r["status"]) for r in rows] == [("BKX4", 30000, "posted")]


def test_a_page_cache_reuses_the_repeated_run_but_still_checks_the_statements(setup, monkeypatch):
    import workbench.cashapp.run as run_mod

    led, db, cache = Ledger.load(setup["ledger"]), StateDB(setup["url"]), {}
    calls = []
    real = run_mod.run_cashapp
    monkeypatch.setattr(run_mod, "run_cashapp", lambda *a, **k: calls.append(1) or real(*a, **k))
    post_matches(setup["run"], led, "ann", db, ("suggested",), lines=[("BKX4", "INV-2026-000102")],
                 cache=cache)
    post_matches(setup["run"], led, "ann", db, ("suggested",), lines=[("BKX4", "INV-2026-000105")],
                 cache=cache)
    assert len(calls) == 1 and len(db.rows("cash_matches")) == 2
    setup["stmt"].write_text(setup["stmt"].read_text().replace("NOBODY LTD", "SOMEBODY LTD"))
    with pytest.raises(PostingError, match="changed since the run"):
        post_matches(setup["run"], led, "ann", db, ("auto",), cache=cache)
    assert posting.POSTED == "posted" and len(db.rows("cash_matches")) == 2
