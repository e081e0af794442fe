"""Disputes as work: state point in time, aging by owner, overdue, refusals, reconciliation.

Every expected figure below is computed by hand from the small ledger and events here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import write_ledger
from workbench.disputes import (CustomerViewError, DisputeBook, dispute_aging, dispute_states,
                                load_dispute_policy, overdue_disputes, read_customer_view,
                                reconcile_customer)
from workbench.ledger import Ledger
from workbench.policy import PolicyError


def make_ledger(folder):
    write_ledger(
        folder,
        customers=[
            {"customer_id": "C1", "name": "Acme Corp", "currency": "USD",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": "Sam Seller"},
            {"customer_id": "C2", "name": "Beta GmbH", "currency": "EUR",
             "payment_terms_days": 30, "collector": "Ana", "sales_rep": ""}],
        invoices=[
            {"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2026-06-01",
             "due_date": "2026-07-01", "amount": "1000.00"},
            {"invoice_id": "I2", "customer_id": "C1", "invoice_date": "2026-07-01",
             "due_date": "2026-07-31", "amount": "500.00"},
            {"invoice_id": "I3", "customer_id": "C1", "invoice_date": "2026-08-01",
             "due_date": "2026-08-31", "amount": "300.00"},
            {"invoice_id": "I4", "customer_id": "C2", "invoice_date": "2026-08-01",
             "due_date": "2026-08-31", "amount": "800.00", "currency": "EUR"},
            {"invoice_id": "I5", "customer_id": "C1", "invoice_date": "2026-09-01",
             "due_date": "2026-10-01", "amount": "400.00"},
            {"invoice_id": "I6", "customer_id": "C1", "invoice_date": "2026-09-15",
             "due_date": "2026-10-15", "amount": "250.00"}],
        credit_memos=[
            {"credit_memo_id": "CM1", "customer_id": "C1", "date": "2026-09-10",
             "amount": "50.00", "invoice_id": "I3"}],
        disputes=[
            {"dispute_id": "D1", "invoice_id": "I1", "opened_date": "2026-07-10",
             "reason_code": "pricing", "amount": "200.00"},
            {"dispute_id": "D2", "invoice_id": "I2", "opened_date": "2026-09-01",
             "reason_code": "damaged_goods", "amount": "100.00"},
            {"dispute_id": "D3", "invoice_id": "I4", "opened_date": "2026-08-20",
             "reason_code": "duplicate_billing", "amount": "800.00"},
            {"dispute_id": "D4", "invoice_id": "I3", "opened_date": "2026-08-05",
             "reason_code": "pricing", "amount": "50.00", "closed_date": "2026-09-10",
             "resolution": "credit_memo"},
            {"dispute_id": "D5", "invoice_id": "I5", "opened_date": "2026-09-25",
             "reason_code": "quantity_short", "amount": "40.00"}],
    )
    return Ledger.load(folder)


def ev(i, at, dispute_id, event, **kw):
    cust = {"D1": "C1", "D2": "C1", "D3": "C2", "D5": "C1"}[dispute_id]
    return {"id": i, "recorded_at": f"{at}T10:00:00+00:00", "recorded_by": "bea",
            "dispute_id": dispute_id, "customer_id": cust, "event": event, **kw}


EVENTS = [
    ev(1, "2026-09-05", "D1", "assigned", owner="billing", owner_name="Bea Biller",
       due_date="2026-10-15"),
    ev(2, "2026-09-20", "D1", "status", status="investigating", note="price list checked"),
    ev(3, "2026-10-02", "D1", "status", status="awaiting_customer"),
    ev(4, "2026-09-12", "D2", "assigned", owner="sales", due_date="2026-09-25"),
]


@pytest.fixture
def ledger(tmp_path):
    return make_ledger(tmp_path / "ledger")


def by_id(states):
    return states.set_index("dispute_id")


def test_state_point_in_time(ledger):
    s10 = by_id(dispute_states(ledger, "2026-09-10", EVENTS))
    s30 = by_id(dispute_states(ledger, "2026-09-30", EVENTS))
    s_oct = by_id(dispute_states(ledger, "2026-10-05", EVENTS))
    # D1: assigned on 09-05, investigating from 09-20, awaiting the customer from 10-02
    assert (s10.at["D1", "status"], s30.at["D1", "status"], s_oct.at["D1", "status"]) == \
        ("open", "investigating", "awaiting_customer")
    assert [h["event"] for h in s10.at["D1", "history"]] == ["assigned"]
    assert [h["event"] for h in s_oct.at["D1", "history"]] == ["assigned", "status", "status"]
    assert s30.at["D1", "notes"] == ["price list checked"]
    assert s30.at["D1", "owner"] == "billing" and s30.at["D1", "owner_name"] == "Bea Biller"
    assert s30.at["D1", "due_date"] == pd.Timestamp("2026-10-15")
    # D2 before its assignment (09-12): the policy's owner of damaged_goods, due 15 days on
    assert s10.at["D2", "owner"] == "order_management" and not s10.at["D2", "assigned"]
    assert s10.at["D2", "due_date"] == pd.Timestamp("2026-09-16")
    assert s30.at["D2", "owner"] == "sales" and s30.at["D2", "due_date"] == pd.Timestamp("2026-09-25")
    # D4 closed on 09-10 with a credit memo; D5 not opened before 09-25
    assert not s10.at["D4", "is_open"] and s10.at["D4", "status"] == "credit_memo"
    assert "D5" not in s10.index and "D5" in s30.index
    assert s30.at["D1", "age_days"] == 82         # 2026-07-10 .. 2026-09-30


def test_aging_by_owner(ledger):
    states = dispute_states(ledger, "2026-09-30", EVENTS)
    table = dispute_aging(states, "owner")
    got = {(r["owner"], r["currency"]): r for r in table.to_dict("records")}
    assert list(zip(table["owner"], table["currency"])) == [
        ("order_management", "USD"), ("billing", "EUR"), ("billing", "USD"), ("sales", "USD")]
    # D5: 40.00 USD, 5 days old, due 2026-10-05 (quantity_short: owner's 10 days)
    om = got[("order_management", "USD")]
    assert (om["disputes"], om["amount_minor"], om["0-30 days"], om["overdue"]) == (1, 4000, 4000, 0)
    # D3: 800.00 EUR, 41 days old, billing by policy (duplicate_billing, due 5 days: 08-25)
    be = got[("billing", "EUR")]
    assert (be["disputes"], be["amount_minor"], be["31-60 days"], be["31-60 days count"],
            be["overdue"], be["overdue_minor"]) == (1, 80000, 80000, 1, 1, 80000)
    # D1: 200.00 USD, 82 days old, assigned to billing, due 10-15: not overdue
    bu = got[("billing", "USD")]
    assert (bu["amount_minor"], bu["61-90 days"], bu["0-30 days"], bu["overdue"]) == (20000, 20000, 0, 0)
    # D2: 100.00 USD, 29 days old, sales, due 09-25: overdue
    sa = got[("sales", "USD")]
    assert (sa["amount_minor"], sa["0-30 days"], sa["overdue"], sa["overdue_minor"]) == \
        (10000, 10000, 1, 10000)
    by_reason = dispute_aging(states, "reason").set_index("reason")
    assert by_reason.at["pricing", "amount_minor"] == 20000       # D4 is closed
    assert by_reason.at["pricing", "label"] == "Pricing"


def test_overdue_list(ledger):
    over = overdue_disputes(dispute_states(ledger, "2026-09-30", EVENTS))
    assert over["dispute_id"].tolist() == ["D3", "D2"]
    assert over["days_overdue"].tolist() == [36, 5]    # 08-25 and 09-25 to 09-30


@pytest.fixture
def book(ledger, tmp_path):
    from workbench.state import StateDB
    db = StateDB(f"sqlite:///{tmp_path / 'state.db'}")
    yield DisputeBook(db, ledger, today="2026-10-01")
    db.close()


def test_recording_and_refusals(book):
    with pytest.raises(ValueError, match="due date 2026-09-30 is in the past"):
        book.assign("D1", "billing", actor="bea", due_date="2026-09-30")
    with pytest.raises(ValueError, match="owner must be one of"):
        book.assign("D1", "legal", actor="bea")
    with pytest.raises(ValueError, match="unknown dispute 'D9'"):
        book.add_note("D9", "x", actor="bea")
    with pytest.raises(ValueError, match="to close a dispute, resolve it"):
        book.set_status("D1", "paid", actor="bea")
    with pytest.raises(ValueError, match="who records this is required"):
        book.add_note("D1", "x", actor="")
    first = book.assign("D1", "order_management", actor="bea", owner_name="Olga",
                        idempotency_key="k1")
    again = book.assign("D1", "order_management", actor="bea", owner_name="Olga",
                        idempotency_key="k1")
    assert first == again and book.db.count("dispute_events") == 1
    s = book.state("D1")
    # pricing lists no days: order management's 10 days from today (2026-10-01)
    assert (s["owner"], s["owner_name"], s["due_date"]) == \
        ("order_management", "Olga", pd.Timestamp("2026-10-11"))
    assert s["history"][0]["by"] == "bea"
    book.resolve("D1", "credit_memo", actor="bea", note="CM to follow")
    assert book.state("D1")["status_label"] == "Resolved: credit memo"
    with pytest.raises(ValueError, match="already resolved: credit memo"):
        book.set_status("D1", "investigating", actor="bea")
    did = book.open("I6", "25.00", "pricing", actor="bea")
    s = book.state(did)
    assert (s["amount_minor"], s["owner"], s["source"]) == (2500, "sales", "workbench")
    with pytest.raises(ValueError, match="at most the invoice amount"):
        book.open("I6", "250.01", "pricing", actor="bea", dispute_id="X")


def test_reconcile_categories(ledger, tmp_path):
    theirs_csv = tmp_path / "theirs.csv"
    theirs_csv.write_text("invoice_id,amount,reason\nI1,200.00,price too high\n"
                          "I2,150.00,damaged\nI3,50.00,pricing\nI6,25.00,freight\n"
                          "X9,10.00,unknown\n")
    theirs = read_customer_view(theirs_csv, ledger, "C1")
    states = dispute_states(ledger, "2026-09-30", EVENTS)
    rec = reconcile_customer(ledger, "C1", theirs, "2026-09-30", states).set_index("invoice_id")
    assert rec["category"].to_dict() == {
        "I1": "matched", "I2": "amount differs", "I3": "already credited",
        "I5": "only ours", "I6": "only theirs", "X9": "only theirs"}
    assert rec.at["I2", "difference_minor"] == 5000            # 150.00 - 100.00
    assert rec.at["I5", "our_amount_minor"] == 4000 and rec.at["I5", "difference_minor"] == -4000
    assert rec.at["I6", "note"] == "open 250.00 USD, no dispute on our side"
    assert rec.at["X9", "note"] == "not an invoice in our ledger"
    assert rec.at["I3", "credited_minor"] == 5000


def test_customer_view_errors_name_file_line_column(ledger, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("invoice_id,amount,reason\nI1,200.00,x\nI2,12.345,y\n,5.00,z\n")
    with pytest.raises(CustomerViewError) as e:
        read_customer_view(bad, ledger, "C1")
    assert len(e.value.problems) == 2
    assert e.value.problems[0].startswith(f"{bad}: line 3, column amount: not an amount in USD")
    assert "(got '12.345')" in e.value.problems[0]
    assert e.value.problems[1] == f"{bad}: line 4, column invoice_id: empty (got '')"


def test_policy_errors_collected(tmp_path):
    p = tmp_path / "d.yaml"
    p.write_text("name: x\nowners:\n  billing: {label: B, due_days: 0}\n  legal: {label: L, "
                 "due_days: 3}\ndefault_owner: nobody\nage_bucket_days: [60, 30]\n")
    with pytest.raises(PolicyError) as e:
        load_dispute_policy(p)
    text = str(e.value)
    for part in ("version: missing", "owners.billing.due_days", "owners.legal: unknown owner",
                 "owners.sales: missing", "default_owner", "age_bucket_days must increase"):
        assert part in text, (part, text)
    assert load_dispute_policy().version == "2026.1"


def _cli(*argv):
    """Run ``workbench disputes ...`` through the module's own parser (workbench.cli wires it)."""
    import argparse

    from workbench import disputes_cli
    p = argparse.ArgumentParser(prog="workbench")
    disputes_cli.add_parser(p.add_subparsers(dest="command", required=True))
    return disputes_cli.run(p.parse_args(["disputes", *argv]))


def test_cli_aging_and_refusal(ledger, tmp_path, capsys):
    import json

    from workbench.cli import CLIError
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = str(tmp_path / "ledger")
    assert _cli("aging", "--ledger", folder, "--as-of", "2026-09-30", "--db", db,
                "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    # no events recorded: every owner from the policy (D1 pricing -> sales, D2 -> order mgmt)
    assert [(r["owner"], r["currency"], r["disputes"], r["amount"]) for r in rows] == [
        ("order_management", "USD", 2, "140.00"), ("billing", "EUR", 1, "800.00"),
        ("sales", "USD", 1, "200.00")]
    with pytest.raises(CLIError, match="is in the past"):
        _cli("assign", "D1", "--ledger", folder, "--db", db, "--owner", "billing",
             "--due", "2020-01-01")
    assert _cli("assign", "D1", "--ledger", folder, "--db", db, "--owner", "billing",
                "--owner-name", "Bea", "--due", "2099-01-01") == 0
    assert "owner Billing (Bea), due 2099-01-01" in capsys.readouterr().out


def test_open_twice_with_one_key_is_one_dispute(book):
    a = book.open("I6", "25.00", "freight", actor="bea", idempotency_key="form-1")
    b = book.open("I6", "25.00", "freight", actor="bea", idempotency_key="form-1")
    assert a == b == "WB-I6-freight" and book.db.count("dispute_events") == 1
    s = book.state(a)      # freight is not in the policy: the default owner, its 5 days
    assert (s["owner"], s["due_date"]) == ("collector", pd.Timestamp("2026-10-06"))


def test_an_open_erp_dispute_blocks_another_for_the_same_reason(book):
    # D2, a ledger dispute, is open: the workbench does not open a second for its reason
    st = by_id(book.states())
    inv, reason = st.at["D2", "invoice_id"], st.at["D2", "reason_code"]
    with pytest.raises(ValueError, match=f"dispute D2 on {inv} for this reason is still open"):
        book.open(inv, "1.00", reason, actor="bea")


def test_a_reason_disputed_again_after_it_was_resolved_gets_the_next_id(book):
    first = book.open("I6", "25.00", "pricing", actor="bea")
    with pytest.raises(ValueError, match="WB-I6-pricing on I6 for this reason is still open"):
        book.open("I6", "10.00", "pricing", actor="bea")
    book.resolve(first, "paid", actor="bea")
    assert book.open("I6", "10.00", "pricing", actor="bea") == "WB-I6-pricing-2"
    assert book.open("I6", "5.00", "freight", actor="bea") == "WB-I6-freight"
    with pytest.raises(ValueError, match="dispute WB-I6-freight already exists"):
        book.open("I6", "5.00", "freight", actor="bea", dispute_id="WB-I6-freight")
    s = by_id(book.states())
    assert (s.at["WB-I6-pricing", "is_open"], s.at["WB-I6-pricing-2", "amount_minor"]) == \
        (False, 1000)


def test_dispute_logged_in_the_app_is_worked_too(ledger):
    acts = pd.DataFrame([{
        "activity_id": "S-7", "customer_id": "C1", "kind": "dispute", "source": "state",
        "timestamp": pd.Timestamp("2026-09-28T09:00:00+00:00"), "invoice_id": "I6",
        "currency": "USD", "note": "disputed 60.00 USD: wrong unit price"}])
    s = by_id(dispute_states(ledger, "2026-09-30", EVENTS, acts))
    assert s.at["LOG-S-7", "amount_minor"] == 6000
    assert s.at["LOG-S-7", "notes"] == ["wrong unit price"]
    # no reason code: the policy's default owner (the collector), 5 days: due 2026-10-03
    assert (s.at["LOG-S-7", "owner"], s.at["LOG-S-7", "due_date"]) == \
        ("collector", pd.Timestamp("2026-10-03"))
    assert "LOG-S-7" not in by_id(dispute_states(ledger, "2026-09-27", EVENTS, acts)).index


# ---------------------------------------------------------------- review fixes

CORRECTED = [
    ev(1, "2026-09-05", "D1", "assigned", owner="billing", owner_name="Bea Biller",
       due_date="2026-10-15"),
    # recorded 10-03: corrects the assignment (another owner and due date)
    {**ev(5, "2026-10-03", "D1", "assigned", owner="sales", owner_name="Sam",
          due_date="2026-10-20"), "supersedes": 1},
]


def test_as_of_keeps_events_corrected_later_list(ledger):
    s30 = by_id(dispute_states(ledger, "2026-09-30", CORRECTED))
    # the correction was not known on 09-30: the assignment of 09-05 stands
    assert (s30.at["D1", "owner"], s30.at["D1", "owner_name"], s30.at["D1", "due_date"]) == \
        ("billing", "Bea Biller", pd.Timestamp("2026-10-15"))
    assert s30.at["D1", "assigned"]
    s_oct = by_id(dispute_states(ledger, "2026-10-05", CORRECTED))
    assert (s_oct.at["D1", "owner"], s_oct.at["D1", "due_date"]) == \
        ("sales", pd.Timestamp("2026-10-20"))
    assert [h["at"][:10] for h in s_oct.at["D1", "history"]] == ["2026-10-03"]


def test_as_of_keeps_events_corrected_later_statedb(ledger, tmp_path, monkeypatch):
    from workbench import state
    from workbench.state import StateDB
    db = StateDB(f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setattr(state, "_now", lambda: "2026-09-05T10:00:00+00:00")
    rid = db.append("dispute_events", {"dispute_id": "D1", "customer_id": "C1",
                                       "invoice_id": "I1", "event": "assigned",
                                       "owner": "billing", "due_date": "2026-10-15"},
                    actor="bea")
    monkeypatch.setattr(state, "_now", lambda: "2026-10-03T10:00:00+00:00")
    db.correct("dispute_events", rid, {"owner": "sales", "due_date": "2026-10-20"},
               "wrong team", actor="bea")
    s30 = by_id(dispute_states(ledger, "2026-09-30", db))
    assert (s30.at["D1", "owner"], s30.at["D1", "due_date"]) == \
        ("billing", pd.Timestamp("2026-10-15"))
    s_oct = by_id(dispute_states(ledger, "2026-10-05", db))
    assert (s_oct.at["D1", "owner"], s_oct.at["D1", "due_date"]) == \
        ("sales", pd.Timestamp("2026-10-20"))
    # the same rows as a plain list give the same states
    rows = db.rows("dispute_events")
    assert by_id(dispute_states(ledger, "2026-09-30", rows)).at["D1", "owner"] == "billing"
    db.close()


def _race(url, ledger, fn, n=4):
    import threading

    from workbench.state import StateDB
    results, errors = [], []
    barrier = threading.Barrier(n)

    def go(i):
        other = StateDB(url)                    # its own engine: its own connection
        try:
            book = DisputeBook(other, ledger, today="2026-10-01")
            barrier.wait()
            results.append(fn(book, i))
        except ValueError as e:
            errors.append(str(e))
        finally:
            other.close()
    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_concurrent_resolve_records_one_event(ledger, tmp_path):
    from workbench.state import StateDB
    url = f"sqlite:///{tmp_path / 'race.db'}"
    db = StateDB(url)
    results, errors = _race(url, ledger, lambda b, i: b.resolve("D1", "paid", actor=f"u{i}"))
    assert len(results) == 1 and len(errors) == 3
    assert all("already resolved: paid" in e for e in errors)
    assert len(db.rows("dispute_events", where={"event": "resolved"})) == 1
    db.close()


def test_concurrent_open_one_dispute_id(ledger, tmp_path):
    from workbench.state import StateDB
    url = f"sqlite:///{tmp_path / 'race.db'}"
    db = StateDB(url)
    results, errors = _race(url, ledger,
                            lambda b, i: b.open("I6", "25.00", "pricing", actor=f"u{i}"))
    assert results == ["WB-I6-pricing"] and len(errors) == 3
    assert all("dispute WB-I6-pricing on I6 for this reason is still open" in e for e in errors)
    assert db.count("dispute_events") == 1
    db.close()


def _logged(aid, note, invoice_id="I6", currency="USD", recorded_at="2026-09-28T09:05:00+00:00"):
    return {"activity_id": aid, "customer_id": "C1", "kind": "dispute", "source": "state",
            "timestamp": pd.Timestamp("2026-09-28T09:00:00+00:00"), "invoice_id": invoice_id,
            "currency": currency, "note": note, "recorded_at": recorded_at}


def test_logged_dispute_with_unreadable_amount_is_flagged(ledger):
    acts = pd.DataFrame([
        _logged("S-8", "disputed 150.00 EUR: wrong currency"),          # I6 is in USD
        _logged("S-9", "customer says the price is wrong"),              # no amount
        _logged("S-10", "disputed 12.5 JPY: yen", invoice_id=None, currency="JPY"),
        _logged("S-11", "disputed 60.00 USD: fine")])
    s = by_id(dispute_states(ledger, "2026-09-30", EVENTS, acts))
    assert s.at["LOG-S-11", "amount_minor"] == 6000 and s.at["LOG-S-11", "amount_known"]
    for aid in ("S-8", "S-9", "S-10"):
        assert s.at[f"LOG-{aid}", "amount_minor"] == 0          # never the invoice's 250.00
        assert not s.at[f"LOG-{aid}", "amount_known"]
        assert any(n.startswith(f"amount unknown: activity {aid}:")
                   for n in s.at[f"LOG-{aid}", "notes"])
    assert "EUR is not the invoice's USD" in s.at["LOG-S-8", "notes"][-1]
    assert s.at["LOG-S-9", "notes"][0] == "customer says the price is wrong"
    aging = dispute_aging(dispute_states(ledger, "2026-09-30", EVENTS, acts), "reason")
    logged = aging[aging["reason"] == "logged"]
    usd = logged[logged["currency"] == "USD"].iloc[0]
    assert (usd["disputes"], usd["amount_minor"], usd["amount_unknown"]) == (3, 6000, 2)


def test_logged_dispute_recorded_after_the_as_of_day_is_not_known(ledger):
    acts = pd.DataFrame([_logged("S-12", "disputed 60.00 USD: late",
                                 recorded_at="2026-10-02T08:00:00+00:00")])
    assert "LOG-S-12" not in by_id(dispute_states(ledger, "2026-09-30", EVENTS, acts)).index
    assert "LOG-S-12" in by_id(dispute_states(ledger, "2026-10-02", EVENTS, acts)).index


def test_cli_as_of_defaults_to_the_ledgers_last_date(ledger, tmp_path, capsys):
    import json
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert _cli("aging", "--ledger", str(tmp_path / "ledger"), "--db", db,
                "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    # last ledger date 2026-09-15 (invoice I6): D2 open, D4 closed 09-10, D5 not yet opened
    assert [(r["owner"], r["currency"], r["disputes"], r["amount"]) for r in rows] == [
        ("order_management", "USD", 1, "100.00"), ("billing", "EUR", 1, "800.00"),
        ("sales", "USD", 1, "200.00")]
    assert _cli("list", "--ledger", str(tmp_path / "ledger"), "--db", db,
                "--format", "json") == 0
    listed = {r["dispute_id"]: r["age_days"] for r in json.loads(capsys.readouterr().out)}
    assert listed == {"D1": 67, "D2": 14, "D3": 26}


def test_cli_as_of_reads_the_log_as_it_stood_that_day(ledger, tmp_path, capsys, monkeypatch):
    """A dispute logged in the app on 09-10 (60.00) and corrected on 10-03 (80.00): listed
    as of 09-30 it is the 60.00 known then; as of 10-05 the correction replaces it."""
    import json

    from workbench import state
    from workbench.collections import ActivityLog
    from workbench.state import StateDB
    url = f"sqlite:///{tmp_path / 'log.db'}"
    db = StateDB(url)
    monkeypatch.setattr(state, "_now", lambda: "2026-09-10T09:05:00+00:00")
    rid = ActivityLog(db, ledger).add("C1", "dispute", "ann", at="2026-09-10T09:00:00+00:00",
                                      invoice_id="I6", note="disputed 60.00 USD: price")
    monkeypatch.setattr(state, "_now", lambda: "2026-10-03T10:00:00+00:00")
    ActivityLog(db, ledger).correct(rid, {"note": "disputed 80.00 USD: price"}, "typed 60",
                                    actor="ann")
    db.close()

    def listed(as_of):
        assert _cli("list", "--ledger", str(tmp_path / "ledger"), "--db", url, "--as-of",
                    as_of, "--format", "json") == 0
        return {r["dispute_id"]: r["amount"] for r in json.loads(capsys.readouterr().out)
                if r["dispute_id"].startswith("LOG-")}
    assert listed("2026-09-30") == {f"LOG-S-{rid}": "60.00"}
    assert listed("2026-10-05") == {f"LOG-S-{rid + 1}": "80.00"}


@pytest.mark.parametrize("action, empty", [("list", "no disputes"),
                                           ("overdue", "no dispute is past its due date"),
                                           ("aging", "no open disputes")])
def test_cli_on_a_ledger_without_disputes(tmp_path, capsys, action, empty):
    """The hand ledger has no disputes table: every report says so and exits 0 (no crash)."""
    import json

    from .conftest import FIXTURES
    db = f"sqlite:///{tmp_path / 'none.db'}"
    assert _cli(action, "--ledger", str(FIXTURES / "hand"), "--db", db) == 0
    assert capsys.readouterr().out.strip().endswith(empty)
    assert _cli(action, "--ledger", str(FIXTURES / "hand"), "--db", db, "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == []
    states = dispute_states(Ledger.load(FIXTURES / "hand"), "2026-03-31")
    assert len(states) == 0 and states["is_open"].dtype == bool


def test_a_due_date_moved_after_it_passed_stays_on_record_as_missed(ledger):
    """WB-1 opened 09-01 (owner billing, due 09-08); on 09-05 the due date moves to 09-10
    (before it passed: not missed); on 09-20 it is reassigned to sales, due 10-01 (09-10
    had passed: missed). As of 09-25 it is not overdue, but the missed date is kept."""
    def ev(i, day, event, **kw):
        return {"id": i, "dispute_id": "WB-1", "customer_id": "C1", "invoice_id": "I6",
                "event": event, "recorded_at": f"{day}T10:00:00+00:00", "recorded_by": "bea",
                "reason_code": "pricing", "amount_minor": 1000, "currency": "USD", **kw}
    events = [ev(1, "2026-09-01", "opened", owner="billing", due_date="2026-09-08"),
              ev(2, "2026-09-05", "status", status="investigating", due_date="2026-09-10"),
              ev(3, "2026-09-20", "assigned", owner="sales", due_date="2026-10-01")]
    s = by_id(dispute_states(ledger, "2026-09-25", events))
    assert s.at["WB-1", "missed_due_dates"] == ["2026-09-10"]
    # for machines the due date stays a date; the missed ones are their own field
    from workbench.disputes_cli import _listing
    listed = _listing(s.reset_index()[s.reset_index()["dispute_id"] == "WB-1"], "json")
    assert listed["due"].tolist() == ["2026-10-01"]
    assert listed["missed_due_dates"].tolist() == [["2026-09-10"]]
    assert _listing(s.reset_index()[s.reset_index()["dispute_id"] == "WB-1"], "table")[
        "Due"].tolist() == ["2026-10-01 (missed 2026-09-10)"]
    assert (s.at["WB-1", "days_overdue"], s.at["WB-1", "owner"]) == (-6, "sales")
    assert by_id(dispute_states(ledger, "2026-09-15", events)).at["WB-1", "missed_due_dates"] == []
