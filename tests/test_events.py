"""The one event model: ``Ledger.reductions()``, ``settlement_periods()`` and
``settlement(as_of)``, and every analysis reading the same settlement.

A hand-computed ledger, USD, terms 30 (amounts in dollars; "dl" = days late):

  cust  invoice  dated       due         amount   what happens
  C1    I1       2026-01-01  2026-01-31  1000.00  400 paid 01-20, 600 paid 02-10: settled 02-10, dl 10
  C1    I2       2026-01-05  2026-02-04   500.00  credit memo 500 01-25: settled 01-25, dl -10
  C2    I3       2026-01-10  2026-02-09   800.00  written off 05-10 (dl 90); recovery 300 on 07-01
                                                  reopens it (300 open 07-01 and 07-02); 300 paid
                                                  07-03: settled 07-03, dl 144
  C2    I7       2026-07-02  2026-08-01   100.00  paid 08-01, dl 0
  C3    I4       2026-02-01  2026-03-03  1200.00  200 written off 03-20, 1000 paid 04-15: dl 43
  C3    I5       2026-03-01  2026-03-31   300.00  100 paid 04-05: 200 open (183 days past due 09-30)
  C4    I6       2026-02-15  2026-03-17   250.00  written off 05-10 (dl 54); recovery 100 and 100
                                                  paid on 06-15, the same day: settled 06-15, dl 90

Before the event model, payment risk took I3 as settled on 05-10 for ever (dl 90: the first
day its reductions reached the amount) while credit and collections took the last
reduction (07-03, dl 144) and aging showed it open on 07-01 and 07-02. Now every analysis
reads one definition: the settlement date is the day the open balance last reached zero, on
or before the as-of date, a recovery reopening it until it is settled again.
"""

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.aging import aging_table
from workbench.credit import history_frame
from workbench.kpis import kpi_table
from workbench.ledger import REDUCTION_KINDS, LedgerCache
from workbench.risk import invoice_features, settlement as risk_settlement, training_frame


def _customer(cid):
    return {"customer_id": cid, "name": f"Customer {cid}", "currency": "USD",
            "payment_terms_days": 30}


def _invoice(iid, cid, date, due, amount):
    return {"invoice_id": iid, "customer_id": cid, "invoice_date": date, "due_date": due,
            "amount": amount}


def _receipt(rid, cid, date, amount):
    return {"receipt_id": rid, "receipt_date": date, "amount": amount, "payer_name": f"Customer {cid}",
            "reference": "", "customer_id": cid, "currency": "USD"}


def _app(rid, iid, amount, date):
    return {"receipt_id": rid, "invoice_id": iid, "amount": amount, "applied_date": date}


FRAMES = {
    "customers": pd.DataFrame([_customer(c) for c in ("C1", "C2", "C3", "C4")]),
    "invoices": pd.DataFrame([
        _invoice("I1", "C1", "2026-01-01", "2026-01-31", "1000.00"),
        _invoice("I2", "C1", "2026-01-05", "2026-02-04", "500.00"),
        _invoice("I3", "C2", "2026-01-10", "2026-02-09", "800.00"),
        _invoice("I4", "C3", "2026-02-01", "2026-03-03", "1200.00"),
        _invoice("I5", "C3", "2026-03-01", "2026-03-31", "300.00"),
        _invoice("I6", "C4", "2026-02-15", "2026-03-17", "250.00"),
        _invoice("I7", "C2", "2026-07-02", "2026-08-01", "100.00"),
    ]),
    "receipts": pd.DataFrame([
        _receipt("R1", "C1", "2026-01-20", "400.00"), _receipt("R2", "C1", "2026-02-10", "600.00"),
        _receipt("R3", "C2", "2026-07-03", "300.00"), _receipt("R4", "C3", "2026-04-15", "1000.00"),
        _receipt("R5", "C3", "2026-04-05", "100.00"), _receipt("R6", "C4", "2026-06-15", "100.00"),
        _receipt("R7", "C2", "2026-08-01", "100.00"),
    ]),
    "applications": pd.DataFrame([
        _app("R1", "I1", "400.00", "2026-01-20"), _app("R2", "I1", "600.00", "2026-02-10"),
        _app("R3", "I3", "300.00", "2026-07-03"), _app("R4", "I4", "1000.00", "2026-04-15"),
        _app("R5", "I5", "100.00", "2026-04-05"), _app("R6", "I6", "100.00", "2026-06-15"),
        _app("R7", "I7", "100.00", "2026-08-01"),
    ]),
    "credit_memos": pd.DataFrame([{"credit_memo_id": "CM1", "customer_id": "C1",
                                   "date": "2026-01-25", "amount": "500.00", "invoice_id": "I2"}]),
    "write_offs": pd.DataFrame([
        {"invoice_id": "I3", "date": "2026-05-10", "amount": "800.00", "reason": "bankruptcy"},
        {"invoice_id": "I3", "date": "2026-07-01", "amount": "-300.00", "reason": "recovery"},
        {"invoice_id": "I4", "date": "2026-03-20", "amount": "200.00", "reason": "dispute"},
        {"invoice_id": "I6", "date": "2026-05-10", "amount": "250.00", "reason": "bankruptcy"},
        {"invoice_id": "I6", "date": "2026-06-15", "amount": "-100.00", "reason": "recovery"},
    ]),
}


@pytest.fixture(scope="module")
def ledger():
    return Ledger.from_frames(FRAMES)


def _day(text):
    return int(np.datetime64(text, "D").astype(np.int64))


def test_reductions_are_one_sorted_stream(ledger):
    r = ledger.reductions()
    got = [(i, str(d.date()), k, a, o) for i, d, k, a, o in zip(
        r["invoice_id"], r["date"], r["kind"], r["amount_minor"], r["open_after_minor"])]
    assert got == [
        ("I1", "2026-01-20", "application", 40000, 60000),
        ("I1", "2026-02-10", "application", 60000, 0),
        ("I2", "2026-01-25", "credit_memo", 50000, 0),
        ("I3", "2026-05-10", "write_off", 80000, 0),
        ("I3", "2026-07-01", "recovery", -30000, 30000),
        ("I3", "2026-07-03", "application", 30000, 0),
        ("I4", "2026-03-20", "write_off", 20000, 100000),
        ("I4", "2026-04-15", "application", 100000, 0),
        ("I5", "2026-04-05", "application", 10000, 20000),
        # same day: the recovery is taken first (it reinstates what the cash then pays)
        ("I6", "2026-05-10", "write_off", 25000, 0),
        ("I6", "2026-06-15", "recovery", -10000, 10000),
        ("I6", "2026-06-15", "application", 10000, 0),
        ("I7", "2026-08-01", "application", 10000, 0),
    ]
    assert list(r["kind"].cat.categories) == list(REDUCTION_KINDS)
    assert r["invoice"].tolist() == [0, 0, 1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 6]
    assert ledger.reductions() is r                          # cached
    raw = ledger.reductions(sort=False)                      # table order, same events
    assert raw["row"].tolist()[:7] == list(range(7)) and "open_after_minor" not in raw
    assert sorted(zip(raw["invoice"], raw["date"], raw["amount_minor"])) == \
        sorted(zip(r["invoice"], r["date"], r["amount_minor"]))


def test_settlement_periods_and_dates(ledger):
    per = ledger.settlement_periods()
    got = [(i, str(s.date()), None if pd.isna(r) else str(r.date()), d) for i, s, r, d in zip(
        per["invoice_id"], per["settled_date"], per["reopened_date"], per["days_late"])]
    assert got == [("I1", "2026-02-10", None, 10), ("I2", "2026-01-25", None, -10),
                   ("I3", "2026-05-10", "2026-07-01", 90), ("I3", "2026-07-03", None, 144),
                   ("I4", "2026-04-15", None, 43),
                   ("I6", "2026-05-10", "2026-06-15", 54), ("I6", "2026-06-15", None, 90),
                   ("I7", "2026-08-01", None, 0)]

    def days_late(as_of):
        st = ledger.settlement(as_of).set_index("invoice_id")
        assert (st["settled"] == st["settled_date"].notna()).all()
        assert (st["settled"] == (st["open_minor"] == 0)).all()
        return {i: (None if np.isnan(v) else int(v)) for i, v in st["days_late"].items()}

    assert days_late("2026-09-30") == {"I1": 10, "I2": -10, "I3": 144, "I4": 43, "I5": None,
                                       "I6": 90, "I7": 0}
    assert days_late("2026-06-30")["I3"] == 90          # written off: settled then
    assert days_late("2026-07-01")["I3"] is None        # the recovery reopened it
    assert days_late("2026-07-02")["I3"] is None
    assert days_late("2026-07-03")["I3"] == 144         # settled again
    assert days_late("2026-06-14")["I6"] == 54
    assert days_late("2026-06-15")["I6"] == 90          # reinstated and paid the same day
    st = ledger.settlement("2026-07-02").set_index("invoice_id")
    assert st.loc["I3", ["application_minor", "credit_memo_minor", "write_off_minor",
                         "recovery_minor", "reduced_minor", "open_minor"]].tolist() == \
        [0, 0, 80000, -30000, 50000, 30000]
    assert st.loc["I4", ["application_minor", "write_off_minor", "open_minor"]].tolist() == \
        [100000, 20000, 0]
    assert "I7" in st.index and "I7" not in ledger.settlement("2026-07-01").index


def test_aging_kpis_credit_and_risk_agree(ledger):
    # aging: I3 is open on 07-02 (300.00, 143 days past due), settled on 07-03
    bal = ledger.balances("2026-07-02").set_index("invoice_id")
    assert bal.loc["I3", "open_minor"] == 30000 and bal.loc["I3", "written_off_minor"] == 50000
    t = aging_table(ledger, "2026-07-02", by="customer").set_index("customer_id")
    assert t.loc["C2", "over_120"] == 30000 and t.loc["C3", "91-120"] == 20000
    after = aging_table(ledger, "2026-07-03", by="customer").set_index("customer_id")
    assert after.loc["C2", ["current", "over_120", "total"]].tolist() == [10000, 0, 10000]   # I7
    # KPIs (CEI inputs): AR on 06-30 is I5 200.00; on 07-02 I3's 300.00 is back, with I7
    k = kpi_table(ledger, "2026-07-01..2026-07-02").iloc[0]
    assert (k["beginning_ar"], k["ending_ar"], k["credit_sales"]) == (20000, 60000, 10000)
    assert k["ending_current_ar"] == 10000 and k["ending_over_60_ar"] == 50000
    for D in ("2026-06-30", "2026-07-02", "2026-07-03", "2026-09-30"):
        st = ledger.settlement(D)
        assert ledger.ar_balance(D) == {"USD": int(st["open_minor"].sum())}
    # credit history: days late of settled invoices, days past due of open ones
    h = history_frame(ledger, "2026-09-30")
    assert h.loc["C2", "worst_days_past_due"] == 144 and h.loc["C2", "avg_days_past_due"] == 72.0
    assert h.loc["C1", "avg_days_past_due"] == 5.0 and h.loc["C1", "share_paid_late"] == 0.5
    assert h.loc["C3", "worst_days_past_due"] == 183 and h.loc["C4", "worst_days_past_due"] == 90
    assert history_frame(ledger, "2026-06-30").loc["C2", "worst_days_past_due"] == 90
    assert history_frame(ledger, "2026-07-02").loc["C2", "worst_days_past_due"] == 143
    # payment risk: the recorded settlement and the outcome of its training rows
    rs = risk_settlement(ledger)
    assert rs["days_late"].tolist()[:3] == [10.0, -10.0, 144.0]
    assert rs.loc[2, "settle_day"] == _day("2026-07-03")
    tf = training_frame(ledger, "2026-09-30").set_index(["invoice_id", "snapshot_day"])
    row = tf.loc[("I3", _day("2026-02-28"))]
    assert (row["late"], row["days_to_pay"]) == (1, 174)            # 07-03 - 01-10
    early = training_frame(ledger, "2026-06-30").set_index(["invoice_id", "snapshot_day"])
    assert early.loc[("I3", _day("2026-02-28")), "days_to_pay"] == 120   # 05-10, as known then
    mid = training_frame(ledger, "2026-07-02").set_index(["invoice_id", "snapshot_day"])
    assert mid.loc[("I3", _day("2026-02-28")), "late"] == 1          # open again, 143 dpd
    assert np.isnan(mid.loc[("I3", _day("2026-02-28")), "days_to_pay"])


def test_payment_history_features_see_the_reopening(ledger):
    """C2's history as of a day: I3 settled (dl 90) from 05-10, withdrawn by the recovery on
    07-01, settled again (dl 144) on 07-03; features count events strictly before the day."""
    pos = np.array([6, 6, 6, 6])                                       # I7
    days = np.array([_day(d) for d in ("2026-06-30", "2026-07-02", "2026-07-03", "2026-07-04")])
    X = invoice_features(ledger, pos, days)
    assert X["hist_settled"].tolist() == [1, 0, 0, 1]
    assert X["hist_max_days_late"].tolist()[0] == 90 and np.isnan(X["hist_max_days_late"][1])
    assert X["hist_last_days_late"].tolist()[3] == 144 and X["hist_max_days_late"][3] == 144
    assert X["hist_mean_days_late"].tolist()[3] == 144


def test_the_cache_is_explicit_and_invalidated(ledger):
    copy = Ledger(dict(ledger.tables), ledger.present)
    assert isinstance(copy.cache, LedgerCache) and copy.cache is not ledger.cache
    first = copy.reductions()
    assert ("reductions", ()) in copy.cache
    assert not [k for k in copy.__dict__ if k.startswith("_")]
    # replacing a table forgets everything computed from the old ones
    inv = copy.tables["invoices"].copy()
    copy.tables["invoices"] = inv
    assert ("reductions", ()) not in copy.cache or copy.reductions() is not first
    assert copy.reductions() is not first
    # changing a frame in place is not seen: clear() is the documented way
    copy.cache.clear()
    assert copy.cache.keys("reductions") == []
    import pickle
    back = pickle.loads(pickle.dumps(copy))
    assert back.cache.keys("positions") == [] and back.reductions().equals(copy.reductions())
