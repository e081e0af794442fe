"""The credit-review page driven in Python (the widgets, without a browser), on the
hand-computed credit ledger of tests/test_credit.py: K (Kappa) exposure 10,000.00 of a
20,000.00 limit, never reviewed, recommended 15,000.00; S (Sigma) exposure 30,000.00 of
20,000.00 (150 %), never reviewed. The signed-in user comes from the environment
``workbench serve`` sets; nothing typed on the page says who decides."""

import pytest

from workbench.apps.credit_review import CreditReviewApp, queue_view
from workbench.apps.common import local_time
from workbench.state import StateDB

from .test_credit import AS_OF, credit_ledger  # noqa: F401 - the fixture


@pytest.fixture
def as_mia(monkeypatch):
    monkeypatch.setenv("WORKBENCH_USER", "mia")
    monkeypatch.setenv("WORKBENCH_ROLE", "manager")
    monkeypatch.setenv("WORKBENCH_AUTHORITY", "manager")
    monkeypatch.setenv("WORKBENCH_TIMEZONE", "Europe/Berlin")
    monkeypatch.delenv("WORKBENCH_APP_LEDGER", raising=False)
    monkeypatch.delenv("WORKBENCH_APP_SCORECARD", raising=False)


def _app(credit_ledger, tmp_path):  # noqa: F811
    return CreditReviewApp(credit_ledger.source, as_of=AS_OF, db_url=f"sqlite:///{tmp_path / 's.db'}")


def test_queue_with_exposure_utilisation_filters(credit_ledger, tmp_path, as_mia):  # noqa: F811
    app = _app(credit_ledger, tmp_path)
    assert "2 customer(s) due" in app.heading.value
    v = app.view
    assert v.columns.tolist() == ["Customer", "Name", "Currency", "Exposure", "Credit limit",
                                  "Limit from", "Utilisation", "Why due"]
    assert v.values.tolist() == [
        ["S", "Sigma", "USD", "30,000.00", "20,000.00", "customer master", "150%",
         "exposure 150% of the limit; never reviewed"],
        ["K", "Kappa", "USD", "10,000.00", "20,000.00", "customer master", "50%", "never reviewed"]]
    app.reason_filter.value = "of the limit"
    assert app.view["Customer"].tolist() == ["S"] and "1 of 2 shown" in app.queue_note.value
    app.reason_filter.value = ""
    app.currency_filter.value = "USD"
    assert app.view["Customer"].tolist() == ["S", "K"]
    assert queue_view(app.queue, currency="EUR").empty


def test_decide_within_authority_profile_and_queue_refresh(credit_ledger, tmp_path, as_mia):  # noqa: F811
    app = _app(credit_ledger, tmp_path)
    db = StateDB(f"sqlite:///{tmp_path / 's.db'}")
    assert "mia" in app.who.widget.value and not app.submit.disabled
    assert "Your authority (manager): limits up to 100,000.00 USD" in app.children[-3].children[1].value
    app.table.selected_rows = [1]                          # Kappa
    assert app.customer_id == "K"
    assert "15,000.00 USD" in app.profile.value            # the recommended limit, with currency
    # above a manager's authority: refused, nothing recorded
    app.decision.value = "approve_other"
    app.limit.value = "900000.00"
    app.reason.value = "too much for a manager"
    app.submit.click()
    assert "Refused" in app.form_status.value and "wb-error" in app.form_status.value
    assert db.count("credit_decisions") == 0
    # within it: recorded as the signed-in user with the role's authority
    app.decision.value = "approve"
    app.limit.value = ""
    app.reason.value = "as recommended"
    app.submit.click()
    assert "wb-ok" in app.form_status.value and "by mia" in app.form_status.value
    rows = db.rows("credit_decisions")
    assert [(r["customer_id"], r["decision"], r["limit_minor"], r["currency"], r["approver"],
             r["approver_level"], r["recorded_by"]) for r in rows] == [
        ("K", "approve", 1_500_000, "USD", "mia", "manager", "mia")]
    # the profile shows the limit decided at once, with its currency and the new utilisation
    assert "15,000.00 USD (approved as recommended by mia" in app.profile.value
    assert "67%" in app.profile.value                      # 10,000 / 15,000
    # history in words and local time (Europe/Berlin: CET in November)
    when = local_time(rows[0]["recorded_at"])
    assert "Approved as recommended" in app.history.value and when in app.history.value
    assert "approve_other" not in app.history.value
    # Kappa was due only for never having been reviewed: it leaves the queue
    assert app.queue["customer_id"].tolist() == ["S"] and "1 customer(s) due" in app.heading.value
    assert "Deciding for <strong>Kappa</strong> (K): recommended 15,000.00 USD" in app.deciding_for.value
    # a second click on the same form records nothing
    app.submit.click()
    assert db.count("credit_decisions") == 1 and "already recorded" in app.form_status.value
    # a changed form is a new decision
    app.reason.value = "confirmed after the call"
    app.submit.click()
    assert db.count("credit_decisions") == 2


def test_the_queue_uses_the_limit_decided_here(credit_ledger, tmp_path, as_mia):  # noqa: F811
    """Sigma is over its master limit (30,000 of 20,000); a manager approves 25,000: Sigma
    stays due (120 % of the limit decided), with the decided limit shown as such; after a
    decision of 40,000 (75 %) it leaves the queue (Kappa, never reviewed, stays)."""
    app = _app(credit_ledger, tmp_path)
    app.pick("S")
    app.decision.value = "approve_other"
    app.limit.value = "25000.00"
    app.reason.value = "seasonal"
    app.submit.click()
    assert "wb-ok" in app.form_status.value, app.form_status.value
    assert app.view.values.tolist()[0] == [
        "S", "Sigma", "USD", "30,000.00", "25,000.00", "decided here", "120%",
        "exposure 120% of the limit"]
    app.limit.value = "40000.00"
    app.submit.click()
    assert app.queue["customer_id"].tolist() == ["K"]        # Kappa: never reviewed


def test_read_only_without_a_signed_in_user(credit_ledger, tmp_path, monkeypatch):  # noqa: F811
    for v in ("WORKBENCH_USER", "WORKBENCH_ROLE", "WORKBENCH_AUTHORITY", "VOILA_PREHEAT"):
        monkeypatch.delenv(v, raising=False)
    app = _app(credit_ledger, tmp_path)
    assert app.submit.disabled and "Read only" in app.who.widget.value
    app.pick("K")
    app.reason.value = "anything"
    app._on_submit(None)
    assert "No signed-in user" in app.form_status.value
    assert StateDB(f"sqlite:///{tmp_path / 's.db'}").count("credit_decisions") == 0


def test_a_page_that_cannot_start_says_why(tmp_path, as_mia):
    app = CreditReviewApp(str(tmp_path / "missing"), db_url=f"sqlite:///{tmp_path / 's.db'}")
    assert "could not start" in app.status.value and "wb-error" in app.status.value
