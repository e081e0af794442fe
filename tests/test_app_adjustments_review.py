"""The adjustments review page driven in Python (the widgets, without a browser), on a
hand-made ledger as of 2026-09-30 (default adjustments policy: analyst up to 500.00 USD /
150.000 KWD, manager up to 10,000.00 USD / 3,000.000 KWD, director up to 100,000.00 USD):

* I1 Acme 1,000.00 USD, dispute D1 800.00 closed credit_memo -> credit memo 800.00 USD
  (needs manager);
* I2 Acme 20,000.00 USD, dispute D2 12,000.00 closed credit_memo -> credit memo 12,000.00 USD
  (above 10,000.00: needs director);
* I3 Acme 500.00 USD paid 490.00: short by 10.00 (<= 50.00 and 2 %) -> write-off 10.00 USD
  (analyst);
* I4 Gulf 100.000 KWD, note "PRICING ERROR 12.345: ..." -> credit memo 12.345 KWD (analyst);
* I5 Acme 300.00 USD dated 2026-09-30, not due: nothing (it makes 2026-09-30 the last date).

Proposals are recorded by ann (an analyst); mia (a manager) decides. Who decides and with
what authority comes from the environment ``workbench serve`` sets, never from the page."""

import html
import re

import pytest

from workbench.adjustments import approve, propose_adjustments, record_proposals
from workbench.apps.adjustments_review import PROPOSED_COLUMNS, AdjustmentsReviewApp
from workbench.ledger import Ledger
from workbench.state import StateDB

from .conftest import write_ledger

C1 = {"customer_id": "C1", "name": "Acme Corp", "currency": "USD", "payment_terms_days": 30}
C2 = {"customer_id": "C2", "name": "Gulf Trading", "currency": "KWD", "payment_terms_days": 30}


def _inv(iid, cid, date, due, amount):
    return {"invoice_id": iid, "customer_id": cid, "invoice_date": date, "due_date": due,
            "amount": amount}


def _dispute(did, iid, amount):
    return {"dispute_id": did, "invoice_id": iid, "opened_date": "2026-02-20",
            "reason_code": "pricing", "amount": amount, "closed_date": "2026-03-20",
            "resolution": "credit_memo"}


LEDGER = dict(  # noqa: C408 - one keyword per table, as write_ledger takes them
    customers=[C1, C2],
    invoices=[_inv("I1", "C1", "2026-01-05", "2026-02-04", "1000.00"),
              _inv("I2", "C1", "2026-01-06", "2026-02-05", "20000.00"),
              _inv("I3", "C1", "2026-02-10", "2026-03-12", "500.00"),
              _inv("I4", "C2", "2026-01-10", "2026-02-09", "100.000"),
              _inv("I5", "C1", "2026-09-30", "2026-10-30", "300.00")],
    receipts=[{"receipt_id": "R1", "receipt_date": "2026-03-10", "amount": "490.00",
               "payer_name": "ACME CORP", "reference": "I3", "customer_id": "C1"}],
    applications=[{"receipt_id": "R1", "invoice_id": "I3", "amount": "490.00",
                   "applied_date": "2026-03-10"}],
    disputes=[_dispute("D1", "I1", "800.00"), _dispute("D2", "I2", "12000.00")],
    activities=[{"activity_id": "A1", "customer_id": "C2", "timestamp": "2026-04-01T10:00:00+00:00",
                 "kind": "note", "collector": "Ann Lee", "invoice_id": "I4",
                 "note": "PRICING ERROR 12.345: billed 1.250/unit, contract 1.125"}],
)
IDS = ["ADJ-DISPUTE-D1", "ADJ-DISPUTE-D2", "ADJ-PRICINGERROR-A1", "ADJ-SHORTPAY-I3"]


@pytest.fixture
def setup(tmp_path):
    led = write_ledger(tmp_path / "ledger", **LEDGER)
    return {"ledger": led, "url": f"sqlite:///{tmp_path / 'state.db'}"}


def _propose(setup, actor="ann"):
    ledger = Ledger.load(setup["ledger"])
    db = StateDB(setup["url"])
    props = propose_adjustments(ledger, "2026-09-30", db=db, ledger_dir=setup["ledger"])
    assert record_proposals(db, props, actor=actor, ledger=ledger) == IDS
    return db


def _as(monkeypatch, user, role):
    for k, v in (("WORKBENCH_USER", user), ("WORKBENCH_ROLE", role), ("WORKBENCH_AUTHORITY", role)):
        monkeypatch.setenv(k, v)


@pytest.fixture
def as_mia(monkeypatch):
    _as(monkeypatch, "mia", "manager")
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "Europe/Berlin")
    monkeypatch.delenv("WORKBENCH_APP_LEDGER", raising=False)
    monkeypatch.delenv("WORKBENCH_APP_ADJUSTMENTS_POLICY", raising=False)


def _app(setup):
    return AdjustmentsReviewApp(str(setup["ledger"]), db_url=setup["url"])


def _text(w) -> str:
    return " ".join(html.unescape(re.sub("<[^>]+>", " ", w.value)).split())


def _events(db):
    return [(r["adjustment_id"], r["event"], r["recorded_by"], r["authority"], r["note"])
            for r in db.rows("adjustments") if r["event"] != "proposed"]


def _pick(app, adjustment_id):
    """Click the adjustment's row in the table of those awaiting a decision."""
    app.table.selected_rows = [app.view["Adjustment"].tolist().index(adjustment_id)]
    assert app.selected_id == adjustment_id


def test_proposals_with_evidence_and_the_approval_each_needs(setup, as_mia):
    _propose(setup)
    app = _app(setup)
    assert "mia" in app.who.widget.value and not app.approve_btn.disabled
    assert app.status.value == ""
    v = app.view
    assert v.columns.tolist() == PROPOSED_COLUMNS
    assert v[["Adjustment", "Kind", "Customer", "Invoice", "Amount", "Currency", "Source, reason",
              "Proposed by", "Approval needed", "For you"]].values.tolist() == [
        ["ADJ-DISPUTE-D1", "Credit memo", "Acme Corp (C1)", "I1", "800.00", "USD",
         "Dispute resolved", "ann", "manager", "within your authority"],
        ["ADJ-DISPUTE-D2", "Credit memo", "Acme Corp (C1)", "I2", "12,000.00", "USD",
         "Dispute resolved", "ann", "director", "needs director"],
        ["ADJ-PRICINGERROR-A1", "Credit memo", "Gulf Trading (C2)", "I4", "12.345", "KWD",
         "Pricing error", "ann", "analyst", "within your authority"],
        ["ADJ-SHORTPAY-I3", "Write-off", "Acme Corp (C1)", "I3", "10.00", "USD", "Short pay",
         "ann", "analyst", "within your authority"]]
    # the evidence in words, as the proposal recorded it; proposed in local time
    assert "closed 2026-03-20 with resolution credit_memo" in v.loc[0, "Evidence"]
    assert "PRICING ERROR 12.345" in v.loc[2, "Evidence"]
    assert "short by 10.00 USD" in v.loc[3, "Evidence"]
    assert v.loc[0, "Proposed on"].endswith(("CET", "CEST"))
    assert "4 adjustment(s) awaiting a decision" in _text(app.heading)
    assert "open balances as of 2026-09-30" in _text(app.heading)
    assert _text(app.authority) == ("Your authority (manager): adjustments up to 3,000.000 KWD, "
                                    "10,000.00 USD. You may not approve an adjustment you proposed.")
    assert app.decided_rows.empty
    _pick(app, "ADJ-DISPUTE-D2")
    d = _text(app.details)
    assert "Amount 12,000.00 USD" in d and "Approval needed director (needs director)" in d
    assert "From disputes (dispute D2)" in d


def test_manager_approves_within_authority_once(setup, as_mia):
    db = _propose(setup)
    app = _app(setup)
    _pick(app, "ADJ-DISPUTE-D1")
    app.note.value = "credit agreed with sales"
    app.approve_btn.click()
    assert _text(app.form_status) == "ADJ-DISPUTE-D1 approved by mia (manager authority)."
    assert _events(db) == [("ADJ-DISPUTE-D1", "approved", "mia", "manager",
                            "credit agreed with sales")]
    # a double-click: the second click records nothing
    app.approve_btn.click()
    assert "already (recorded from this page): nothing recorded again" in _text(app.form_status)
    assert len(_events(db)) == 1
    # the tables refresh: it left the proposals and shows as approved, by whom and when
    assert "ADJ-DISPUTE-D1" not in app.view["Adjustment"].tolist() and len(app.view) == 3
    d = app.decided_rows
    assert d[["Adjustment", "Status", "Amount", "Currency", "Proposed by", "By", "Authority",
              "Note"]].values.tolist() == [["ADJ-DISPUTE-D1", "Approved", "800.00", "USD", "ann",
                                            "mia", "manager", "credit agreed with sales"]]
    assert d.loc[0, "When"].endswith(("CET", "CEST"))
    assert "3 adjustment(s) awaiting a decision · 1 approved" in _text(app.heading)
    # the status filter of the decided table
    app.show.value = "refused"
    assert app.decided_rows.empty and "0 of 1 shown" in app.decided_note.value
    app.show.value = "approved"
    assert app.decided_rows["Adjustment"].tolist() == ["ADJ-DISPUTE-D1"]


def test_above_the_managers_limit_is_refused_on_the_page(setup, as_mia):
    db = _propose(setup)
    app = _app(setup)
    _pick(app, "ADJ-DISPUTE-D2")
    app.approve_btn.click()
    msg = _text(app.form_status)
    assert msg == ("Not recorded: ADJ-DISPUTE-D2: 12,000.00 USD is above the manager limit of "
                   "10,000.00 USD (policy default-adjustments 2026.1, approval_levels); it needs "
                   "director authority")
    assert "wb-error" in app.form_status.value and "Traceback" not in app.form_status.value
    assert _events(db) == [] and db.count("adjustments") == 4
    assert "ADJ-DISPUTE-D2" in app.view["Adjustment"].tolist()


def test_refuse_and_withdraw_need_a_note(setup, as_mia):
    db = _propose(setup)
    app = _app(setup)
    _pick(app, "ADJ-SHORTPAY-I3")
    app.note.value = "   "
    app.refuse_btn.click()
    assert _text(app.form_status) == ("Say why you refuse ADJ-SHORTPAY-I3 (Note): a note is "
                                      "required to refuse.")
    app.withdraw_btn.click()
    assert "a note is required to withdraw" in _text(app.form_status)
    assert _events(db) == []
    app.note.value = "customer will pay the bank fee"
    app.refuse_btn.click()
    assert _text(app.form_status) == "ADJ-SHORTPAY-I3 refused by mia (manager authority)."
    assert _events(db) == [("ADJ-SHORTPAY-I3", "refused", "mia", "manager",
                            "customer will pay the bank fee")]
    # an approved adjustment, picked in the decided table, may be withdrawn (not refused)
    _pick(app, "ADJ-PRICINGERROR-A1")
    app.approve_btn.click()
    app.show.value = "approved"
    app.decided.selected_rows = [0]
    assert app.selected_id == "ADJ-PRICINGERROR-A1" and app.table.selected_rows == []
    app.note.value = "wrong contract price"
    app.refuse_btn.click()
    assert "ADJ-PRICINGERROR-A1 was already approved by mia" in _text(app.form_status)
    app.withdraw_btn.click()
    assert _text(app.form_status) == "ADJ-PRICINGERROR-A1 withdrawn by mia (manager authority)."
    assert _events(db)[-2:] == [
        ("ADJ-PRICINGERROR-A1", "approved", "mia", "manager", None),
        ("ADJ-PRICINGERROR-A1", "withdrawn", "mia", "manager", "wrong contract price")]


def test_self_approval_is_refused_with_the_policys_reason(setup, as_mia):
    db = _propose(setup, actor="mia")
    app = _app(setup)
    assert set(app.view["For you"]) == {"your own proposal: someone else approves it"}
    _pick(app, "ADJ-SHORTPAY-I3")
    app.approve_btn.click()
    msg = _text(app.form_status)
    assert msg.startswith("Not recorded: ADJ-SHORTPAY-I3 was proposed by mia: someone else "
                          "approves it (segregation of duties"), msg
    assert _events(db) == []


def test_decided_by_someone_else_meanwhile(setup, as_mia):
    db = _propose(setup)
    app = _app(setup)                               # the page shows D1 proposed
    approve(db, "ADJ-DISPUTE-D1", "dan", "director", Ledger.load(setup["ledger"]), "agreed")
    _pick(app, "ADJ-DISPUTE-D1")
    app.approve_btn.click()
    msg = _text(app.form_status)
    assert msg.startswith("ADJ-DISPUTE-D1 was already approved by dan (") and \
        msg.endswith("): agreed. Nothing recorded; the tables show it as it stands now."), msg
    assert [e[:3] for e in _events(db)] == [("ADJ-DISPUTE-D1", "approved", "dan")]
    assert "ADJ-DISPUTE-D1" not in app.view["Adjustment"].tolist()
    assert app.decided_rows["By"].tolist() == ["dan"]


def test_decided_by_someone_else_in_the_same_instant(setup, as_mia, monkeypatch):
    """dan's approval lands between the page's fresh read and mia's write: the write's own
    check refuses, and the page says who decided, not the raw error."""
    import workbench.adjustments as adj

    db = _propose(setup)
    app = _app(setup)
    real = adj.approve

    def dan_first(db_, a, *args, **kwargs):
        real(db_, a, "dan", "director", Ledger.load(setup["ledger"]))
        return real(db_, a, *args, **kwargs)
    monkeypatch.setattr(adj, "approve", dan_first)
    _pick(app, "ADJ-SHORTPAY-I3")
    app.approve_btn.click()
    msg = _text(app.form_status)
    assert msg.startswith("ADJ-SHORTPAY-I3 was already approved by dan (") and \
        msg.endswith("). Nothing recorded; the tables show it as it stands now."), msg
    assert [e[:3] for e in _events(db)] == [("ADJ-SHORTPAY-I3", "approved", "dan")]


def test_no_longer_open_on_the_ledger(setup, as_mia, tmp_path):
    _propose(setup)
    # the ERP booked a 900.00 credit memo on I1 since: 100.00 open, less than the 800.00
    later = write_ledger(tmp_path / "later", **{
        **LEDGER, "credit_memos": [{"credit_memo_id": "CM9", "customer_id": "C1",
                                    "date": "2026-09-30", "amount": "900.00", "invoice_id": "I1",
                                    "reason": "booked in the ERP"}]})
    app = AdjustmentsReviewApp(str(later), db_url=setup["url"])
    _pick(app, "ADJ-DISPUTE-D1")
    app.approve_btn.click()
    assert _text(app.form_status) == (
        "Not recorded: ADJ-DISPUTE-D1: 800.00 USD is more than is still open on I1 (100.00 USD "
        "open, 0.00 USD pending in other adjustments)")
    assert _events(StateDB(setup["url"])) == []


def test_nothing_selected_and_read_only_without_a_sign_in(setup, as_mia, monkeypatch):
    db = _propose(setup)
    app = _app(setup)
    app.approve_btn.click()
    assert _text(app.form_status) == "Select an adjustment to approve first."
    for k in ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY"):
        monkeypatch.delenv(k)
    app = _app(setup)
    assert "Read only" in app.who.widget.value and app.approve_btn.disabled
    assert set(app.view["For you"]) == {""} and app.authority.value.count("Your authority") == 0
    app.select("ADJ-DISPUTE-D1")
    app.act("approved")
    assert "Read only: no signed-in user" in _text(app.form_status)
    assert _events(db) == []


def test_empty_state_and_a_ledger_that_cannot_be_read(setup, as_mia, tmp_path):
    app = _app(setup)
    assert "No adjustment has been proposed yet" in _text(app.status)
    app = AdjustmentsReviewApp(str(tmp_path / "nowhere"), db_url=setup["url"])
    assert "The page could not start" in _text(app.status)
