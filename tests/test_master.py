"""The customer master as of a date (workbench.master) and the customer_changes table:
validation, loading, snapshot, the as-of views that use it, and the demo's history.

The hand ledger (every figure below worked out by hand):

- C1 Acme (USD). History: onboarded 2025-01-02 with limit 10,000.00, active, Mid-Market,
  collector Bob Stone, 45 days; 2026-02-01 limit 15,000.00 and collector Ann Lee;
  2026-03-15 segment Enterprise; 2026-04-01 limit 20,000.00 and 30 days; suspended
  2026-05-10. The customers row holds the values at the end (20,000.00, suspended,
  Enterprise, Ann Lee, 30).
- C2 Beta (EUR): no history at all -> the customers row on every date.
- C3 Gamma (JPY): only a limit change on 2026-04-01 (800,000) -> its limit before that
  day is unknown (the customers row shows the value after the change).
- The ledger's last business date is 2026-06-30 (C2's invoice): on and after it the
  customers row is the answer.
- I1 (C1) 6,000.00 due 2025-12-31, unpaid: 120 days past due on 2026-04-30 -> the
  suspension rule (>= 90 days and >= 5,000.00) proposes C1 on 2026-04-30, when it was
  active; not on 2026-05-31 (suspended since 05-10).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.aging import aging_table
from workbench.collections import suspension_proposals, worklist
from workbench.io.snapshot import read_snapshot, write_snapshot
from workbench.ledger import validate_folder
from workbench.master import (MASTER_FIELDS, customers_as_of, master_as_of, master_table_as_of,
                              master_values)

from .conftest import write_ledger

CUSTOMERS = [
    {"customer_id": "C1", "name": "Acme Corp", "currency": "USD", "payment_terms_days": "30",
     "segment": "Enterprise", "collector": "Ann Lee", "credit_limit": "20000.00",
     "status": "suspended"},
    {"customer_id": "C2", "name": "Beta GmbH", "currency": "EUR", "payment_terms_days": "30",
     "segment": "SMB", "collector": "Bob Stone", "credit_limit": "5000.00", "status": "active"},
    {"customer_id": "C3", "name": "Gamma KK", "currency": "JPY", "payment_terms_days": "60",
     "segment": "SMB", "collector": "Ann Lee", "credit_limit": "800000", "status": "active"},
]
INVOICES = [
    {"invoice_id": "I1", "customer_id": "C1", "invoice_date": "2025-12-01",
     "due_date": "2025-12-31", "amount": "6000.00"},
    {"invoice_id": "I2", "customer_id": "C2", "invoice_date": "2026-01-10",
     "due_date": "2026-02-09", "amount": "300.00"},
    {"invoice_id": "I3", "customer_id": "C3", "invoice_date": "2026-02-10",
     "due_date": "2026-04-11", "amount": "70000"},
    {"invoice_id": "I4", "customer_id": "C2", "invoice_date": "2026-06-30",
     "due_date": "2026-07-30", "amount": "100.00"},
]


def _change(cid, date, field, value):
    return {"customer_id": cid, "effective_date": date, "field": field, "value": value}


CHANGES = [
    _change("C1", "2025-01-02", "credit_limit", "10000.00"),
    _change("C1", "2025-01-02", "status", "active"),
    _change("C1", "2025-01-02", "segment", "Mid-Market"),
    _change("C1", "2025-01-02", "collector", "Bob Stone"),
    _change("C1", "2025-01-02", "payment_terms_days", "45"),
    _change("C1", "2026-02-01", "credit_limit", "15000"),
    _change("C1", "2026-02-01", "collector", "Ann Lee"),
    _change("C1", "2026-03-15", "segment", "Enterprise"),
    _change("C1", "2026-04-01", "credit_limit", "20000.00"),
    _change("C1", "2026-04-01", "payment_terms_days", "30"),
    _change("C1", "2026-05-10", "status", "suspended"),
    _change("C3", "2026-04-01", "credit_limit", "800000"),
]


@pytest.fixture
def hist(tmp_path) -> Ledger:
    """The hand ledger with its customer_changes history."""
    return Ledger.load(write_ledger(tmp_path / "hist", customers=CUSTOMERS, invoices=INVOICES,
                                    customer_changes=CHANGES))


@pytest.fixture
def bare(tmp_path) -> Ledger:
    """The same ledger without a customer_changes table."""
    return Ledger.load(write_ledger(tmp_path / "bare", customers=CUSTOMERS, invoices=INVOICES))


def _row(ledger, as_of, cid="C1", **kw):
    m, notes = customers_as_of(ledger, as_of, **kw)
    return m.set_index("customer_id").loc[cid], notes


# ----------------------------------------------------------------------------- the as-of view

@pytest.mark.parametrize("as_of,limit,status,segment,collector,terms", [
    ("2025-01-02", 1000000, "active", "Mid-Market", "Bob Stone", 45),    # onboarding day
    ("2026-01-31", 1000000, "active", "Mid-Market", "Bob Stone", 45),    # the day before
    ("2026-02-01", 1500000, "active", "Mid-Market", "Ann Lee", 45),      # on the change
    ("2026-03-14", 1500000, "active", "Mid-Market", "Ann Lee", 45),
    ("2026-03-15", 1500000, "active", "Enterprise", "Ann Lee", 45),
    ("2026-03-31", 1500000, "active", "Enterprise", "Ann Lee", 45),
    ("2026-04-01", 2000000, "active", "Enterprise", "Ann Lee", 30),
    ("2026-05-09", 2000000, "active", "Enterprise", "Ann Lee", 30),
    ("2026-05-10", 2000000, "suspended", "Enterprise", "Ann Lee", 30),
    ("2026-06-30", 2000000, "suspended", "Enterprise", "Ann Lee", 30),   # the current date
])
def test_values_before_on_and_after_each_change(hist, as_of, limit, status, segment, collector,
                                                 terms):
    row, notes = _row(hist, as_of)
    assert row["credit_limit_minor"] == limit
    assert (row["status"], row["segment"], row["collector"]) == (status, segment, collector)
    assert row["payment_terms_days"] == terms
    assert row["currency"] == "USD"


def test_types_are_exact(hist):
    m, _ = customers_as_of(hist, "2026-03-31")
    assert list(m.columns) == ["customer_id", "currency", "credit_limit_minor", "status",
                               "segment", "collector", "payment_terms_days"]
    assert str(m["credit_limit_minor"].dtype) == "Int64"        # minor units, never a float
    assert str(m["payment_terms_days"].dtype) == "Int64"
    # "15000" for USD is 15,000.00: 1,500,000 minor units; JPY has no minor digits
    assert m.set_index("customer_id").loc["C2", "credit_limit_minor"] == 500000
    assert customers_as_of(hist, "2026-04-01")[0].set_index("customer_id").loc[
        "C3", "credit_limit_minor"] == 800000


def test_no_history_means_the_customers_row(hist):
    # C2 has no change at all: its customers row holds on every date
    for as_of in ("2025-06-30", "2026-03-31"):
        row, _ = _row(hist, as_of, "C2")
        assert (row["credit_limit_minor"], row["status"], row["segment"]) == (500000, "active", "SMB")


def test_only_later_changes_leave_the_value_unknown(hist):
    m, notes = customers_as_of(hist, "2026-03-31", ("credit_limit",))
    m = m.set_index("customer_id")
    assert pd.isna(m.loc["C3", "credit_limit_minor"])          # changed 04-01, nothing before
    assert notes == ["1 customer(s)' credit_limit on 2026-03-31 is unknown: customer_changes "
                     "shows a change after that date and none before"]
    # before C1's onboarding, C1 is unknown too
    m, notes = customers_as_of(hist, "2024-12-31", ("status", "credit_limit"))
    m = m.set_index("customer_id")
    assert pd.isna(m.loc["C1", "status"]) and pd.isna(m.loc["C1", "credit_limit_minor"])
    assert m.loc["C2", "status"] == "active"
    assert "1 customer(s)' status on 2024-12-31 is unknown" in notes[0]
    assert "2 customer(s)' credit_limit on 2024-12-31 is unknown" in notes[1]     # C1 and C3


def test_without_the_table_strict_and_assume_unchanged(bare):
    # a past date: nothing of today's master is used ...
    m, notes = customers_as_of(bare, "2026-04-30")
    assert m[["credit_limit_minor", "status", "segment", "collector",
              "payment_terms_days"]].isna().all().all()
    assert notes == ["no customer_changes table: customer credit_limit and status and segment "
                     "and collector and payment_terms_days on 2026-04-30 unknown (the master is "
                     "as of 2026-06-30; strict: not used)"]
    # ... unless assumed unchanged, which says so
    m, notes = customers_as_of(bare, "2026-04-30", ("status", "credit_limit"),
                               without_history="assume_unchanged")
    m = m.set_index("customer_id")
    assert m.loc["C1", "status"] == "suspended" and m.loc["C1", "credit_limit_minor"] == 2000000
    assert notes == ["no customer_changes table: customer status and credit_limit on 2026-04-30 "
                     "taken from today's master (the master is as of 2026-06-30; "
                     "assume_unchanged)"]
    # on and after the ledger's last date the customers row is today's master
    for as_of in ("2026-06-30", "2026-12-31"):
        m, notes = customers_as_of(bare, as_of)
        assert m.set_index("customer_id").loc["C1", "status"] == "suspended" and notes == []


def test_arguments_are_checked(hist):
    with pytest.raises(ValueError, match="fields must be among credit_limit, status, segment, "
                                         "collector, payment_terms_days; got 'region'"):
        customers_as_of(hist, "2026-03-31", ("region",))
    with pytest.raises(ValueError, match="without_history must be one of strict, "
                                         "assume_unchanged; got 'guess'"):
        customers_as_of(hist, "2026-03-31", without_history="guess")


def test_cached_and_copied(hist):
    a, _ = customers_as_of(hist, "2026-03-31")
    a.loc[0, "status"] = "closed"                    # the caller's copy, not the cache
    b, _ = customers_as_of(hist, "2026-03-31")
    assert b.loc[0, "status"] == "active"
    assert any(k[0] == "as_of" for k in hist.cache.keys("master"))
    assert "_master_cache" not in hist.__dict__
    hist.cache.clear()                               # forgotten, computed again the same
    assert not hist.cache.keys("master")
    c, _ = customers_as_of(hist, "2026-03-31")
    assert c.loc[0, "status"] == "active"


def test_values_for_many_dates_at_once(hist):
    # the credit limit in force on each invoice's date (a feature's denominator)
    inv = hist.invoices
    vals, known, notes = master_values(hist, "credit_limit", inv["customer_id"],
                                       inv["invoice_date"])
    assert known.tolist() == [True, True, False, True]   # I3: C3's limit before 04-01
    assert vals[known].tolist() == [1000000, 500000, 500000]
    assert "1 customer(s)' credit_limit unknown on some dates" in notes[0]
    vals, known, _ = master_values(hist, "status", ["C1", "C1", "C9"],
                                   ["2026-05-09", "2026-05-10", "2026-05-10"])
    assert vals[:2].tolist() == ["active", "suspended"] and not known[2]   # C9: no such customer


def test_frame_level_function_matches_the_ledger(hist):
    got, notes = master_as_of(hist.customers, "2026-03-31", hist.customer_changes,
                              hist.last_date)
    want, wnotes = customers_as_of(hist, "2026-03-31")
    pd.testing.assert_frame_equal(got, want)
    assert notes == wnotes


def test_master_table_as_of_is_the_cut_master(hist):
    t = master_table_as_of(hist, "2026-01-31")
    c1 = t.set_index("customer_id").loc["C1"]
    assert (c1["segment"], c1["collector"], c1["credit_limit_minor"], c1["status"],
            c1["payment_terms_days"]) == ("Mid-Market", "Bob Stone", 1000000, "active", 45)
    assert c1["name"] == "Acme Corp"
    # C3's limit unknown then: empty, never today's 800,000
    assert pd.isna(t.set_index("customer_id").loc["C3", "credit_limit_minor"])


# ----------------------------------------------------------------------------- as-of views

def test_suspension_proposal_at_a_past_date(hist):
    """An account suspended later IS proposed at a date when it was still active."""
    s = suspension_proposals(hist, "2026-04-30").set_index("customer_id")
    assert s.index.tolist() == ["C1"]
    assert s.loc["C1", "past_due_ar"] == 600000 and s.loc["C1", "oldest_days_past_due"] == 120
    assert s.loc["C1", "rules"] == "days and amount past due"
    assert s.attrs["notes"] == []
    # once suspended (05-10) it is not proposed again; nor on the current date
    assert suspension_proposals(hist, "2026-05-31").empty
    assert suspension_proposals(hist, "2026-06-30").empty


def test_suspension_proposal_without_history(bare):
    # strict: the status on 04-30 is unknown: judged on the evidence, and said so
    s = suspension_proposals(bare, "2026-04-30")
    assert s["customer_id"].tolist() == ["C1"]
    assert any("1 proposed account(s) have no known status on 2026-04-30" in n
               for n in s.attrs["notes"])
    # assume_unchanged takes today's "suspended": not proposed, and the note says why
    s = suspension_proposals(bare, "2026-04-30", without_history="assume_unchanged")
    assert s.empty and "assume_unchanged" in s.attrs["notes"][0]


def test_worklist_uses_status_and_collector_on_the_date(hist, bare):
    wl = worklist(hist, "2026-01-15").set_index("customer_id")
    assert wl.loc["C1", "collector"] == "Bob Stone"            # reassigned 2026-02-01
    assert wl.loc["C1", "status"] == "active"
    assert worklist(hist, "2026-01-15", collector="Bob Stone")["customer_id"].tolist() == ["C1", "C2"]
    wl = worklist(hist, "2026-05-31").set_index("customer_id")
    assert wl.loc["C1", "collector"] == "Ann Lee" and wl.loc["C1", "status"] == "suspended"
    assert wl.loc["C1", "next_action"] != "recommend suspension (see suspension proposals)"
    # on 04-30, active and past the thresholds: the worklist recommends the suspension
    wl = worklist(hist, "2026-04-30").set_index("customer_id")
    assert wl.loc["C1", "next_action"] == "recommend suspension (see suspension proposals)"
    # without history, the collector on a past date is unknown (not today's), and said so
    wl = worklist(bare, "2026-01-15")
    assert wl["collector"].isna().all()
    assert any("unknown" in n for n in wl.attrs["notes"])
    mine = worklist(bare, "2026-01-15", collector="Ann Lee")
    assert mine.empty and any("no known collector on 2026-01-15" in n for n in mine.attrs["notes"])


def test_aging_by_segment_and_collector_on_the_date(hist, bare):
    t = aging_table(hist, "2026-03-14", by="segment").set_index(["segment", "currency"])
    assert t.loc[("Mid-Market", "USD"), "total"] == 600000
    assert t.loc[("SMB", "EUR"), "total"] == 30000
    t = aging_table(hist, "2026-03-15", by="segment").set_index(["segment", "currency"])
    assert t.loc[("Enterprise", "USD"), "total"] == 600000 and t.attrs["notes"] == []
    t = aging_table(hist, "2026-01-31", by="collector").set_index(["collector", "currency"])
    assert t.loc[("Bob Stone", "USD"), "total"] == 600000
    # no history: '(unknown)', with a note; on the current date, today's master
    t = aging_table(bare, "2026-03-15", by="segment")
    assert set(t["segment"]) == {"(unknown)"}
    assert t.attrs["notes"][-1] == ("3 open invoice(s) of 3 customer(s) are aged under "
                                    "'(unknown)': their segment on 2026-03-15 is not known")
    t = aging_table(bare, "2026-03-15", by="segment", without_history="assume_unchanged")
    assert set(t["segment"]) == {"Enterprise", "SMB"}
    t = aging_table(bare, "2026-06-30", by="segment")
    assert "(unknown)" not in set(t["segment"]) and t.attrs["notes"] == []


def test_open_items_join_the_master_of_the_date(hist):
    items = hist.open_items("2026-03-14").set_index("invoice_id")
    assert items.loc["I1", "segment"] == "Mid-Market" and items.loc["I1", "collector"] == "Ann Lee"
    items = hist.open_items("2026-03-14", customer_columns=("name", "credit_limit_minor",
                                                            "status"))
    assert items.loc[0, "credit_limit_minor"] == 1500000 and items.loc[0, "status"] == "active"


def test_reserve_reads_status_through_the_master(hist):
    from workbench.reserve.common import ledger_customers_as_of
    m, _ = ledger_customers_as_of(hist, "2026-04-30")
    assert m.set_index("customer_id").loc["C1", "status"] == "active"
    m, _ = ledger_customers_as_of(hist, "2026-05-10")
    assert m.set_index("customer_id").loc["C1", "status"] == "suspended"


# ----------------------------------------------------------------------------- validation

def test_customer_changes_validation_names_file_line_column_and_value(tmp_path):
    rows = [
        _change("C9", "2026-01-01", "status", "active"),            # 2 unknown customer
        _change("C1", "2026-02-30", "status", "active"),            # 3 not a date
        _change("C1", "2026-01-01", "region", "West"),              # 4 unknown field
        _change("C1", "2026-01-02", "credit_limit", "12.345"),      # 5 USD: 2 decimals
        _change("C3", "2026-01-02", "credit_limit", "100.5"),       # 6 JPY: none
        _change("C1", "2026-01-03", "credit_limit", "lots"),        # 7 not an amount
        _change("C1", "2026-01-04", "status", "frozen"),            # 8 not a status
        _change("C1", "2026-01-05", "payment_terms_days", "thirty"),  # 9
        _change("C1", "2026-01-06", "segment", "Enterprise"),       # 10
        _change("C1", "2026-01-06", "segment", "SMB"),              # 11 clashes with 10
        _change("C1", "2026-01-07", "collector", "Ann Lee"),        # 12
        _change("C1", "2026-01-07", "collector", "Ann Lee"),        # 13 same value: fine
        _change("C1", "2026-01-08", "credit_limit", "-5.00"),       # 14 negative
        _change("C1", "2026-01-09", "collector", ""),               # 15 empty value
        _change("C2", "2026-01-10", "credit_limit", "2500.50"),     # 16 fine (EUR)
    ]
    folder = write_ledger(tmp_path / "bad", customers=CUSTOMERS, invoices=INVOICES,
                          customer_changes=rows)
    ledger, problems = validate_folder(folder)
    assert ledger is None
    got = {(p.line, p.column): p.message for p in problems}
    assert all(p.table == "customer_changes" and p.file.endswith("customer_changes.csv")
               for p in problems)
    assert got == {
        (2, "customer_id"): "unknown customer 'C9'",
        (3, "effective_date"): "effective_date '2026-02-30' is not a date (YYYY-MM-DD)",
        (4, "field"): ("'region' is not one of credit_limit, status, segment, collector, "
                       "payment_terms_days"),
        (5, "value"): "credit_limit '12.345' has more decimals than USD allows (2)",
        (6, "value"): "credit_limit '100.5' has more decimals than JPY allows (0)",
        (7, "value"): "credit_limit 'lots' is not a decimal amount in USD (the customer's currency)",
        (8, "value"): "status 'frozen' is not one of active, suspended, closed",
        (9, "value"): "payment_terms_days 'thirty' is not a whole number of days",
        (11, "value"): ("segment of customer 'C1' on 2026-01-06 is 'SMB' here but 'Enterprise' "
                        "on line 10: one value per customer, date and field"),
        (14, "value"): "credit_limit '-5.00' must be at least 0",
        (15, "value"): "empty value in a required column: value ''",
    }
    text = {str(p) for p in problems}
    assert ("customer_changes:5:value: credit_limit '12.345' has more decimals than USD allows "
            "(2) [customer_id=C1, effective_date=2026-01-02, field=credit_limit]") in text


def test_customer_changes_from_parquet_and_csv_alike(tmp_path, hist):
    folder = hist.to_parquet(tmp_path / "pq")
    assert (folder / "customer_changes.parquet").exists()
    again = Ledger.load(folder)
    assert again.has("customer_changes")
    pd.testing.assert_frame_equal(again.customer_changes, hist.customer_changes, check_dtype=False)
    assert again.content_hash() == hist.content_hash()
    pd.testing.assert_frame_equal(customers_as_of(again, "2026-03-31")[0],
                                  customers_as_of(hist, "2026-03-31")[0])


def test_snapshot_keeps_the_history(tmp_path, hist):
    digest, folder, _ = write_snapshot(hist, tmp_path / "snaps")
    assert (folder / "tables" / "customer_changes.parquet").exists()
    snap = read_snapshot(folder)
    assert snap.has("customer_changes") and len(snap.customer_changes) == len(CHANGES)
    assert snap.content_hash() == digest
    # the past date reads the history from the snapshot as from the folder
    s = suspension_proposals(snap, "2026-04-30")
    assert s["customer_id"].tolist() == ["C1"]
    row, _ = _row(snap, "2026-02-01")
    assert (row["credit_limit_minor"], row["collector"]) == (1500000, "Ann Lee")


def test_old_snapshot_without_the_table_is_read_as_no_history(tmp_path, bare):
    _, folder, _ = write_snapshot(bare, tmp_path / "snaps")
    (folder / "tables" / "customer_changes.parquet").unlink()     # written before the table
    import json
    meta = json.loads((folder / "snapshot.json").read_text())
    snap = read_snapshot(folder, verify=False)
    assert "customer_changes" not in meta["present"] and not snap.has("customer_changes")
    m, notes = customers_as_of(snap, "2026-04-30", ("status",))
    assert m["status"].isna().all() and "no customer_changes table" in notes[0]


# ----------------------------------------------------------------------------- the demo

@pytest.fixture(scope="module")
def demo(demo_dir):
    truth = pd.read_csv(demo_dir / "truth" / "customers.csv", dtype=str, keep_default_na=False)
    return Ledger.load(demo_dir), truth


def test_demo_history_ends_in_the_customers_row(demo):
    ledger, _ = demo
    ch = ledger.customer_changes
    assert set(ch["field"]) == set(MASTER_FIELDS)
    # every customer is recorded at onboarding, before the history starts
    first = ch.groupby("customer_id")["effective_date"].min()
    assert len(first) == len(ledger.customers) and (first < ledger.first_date).all()
    # the latest change of every field is the customers row (the master at the end)
    end, _ = master_as_of(ledger.customers, ledger.last_date - pd.Timedelta(days=1),
                          ch, None)
    now, _ = customers_as_of(ledger, ledger.last_date)
    pd.testing.assert_frame_equal(end.drop(columns="currency"), now.drop(columns="currency"),
                                  check_dtype=False)


def test_demo_statuses_have_their_dates(demo):
    ledger, truth = demo
    ch = ledger.customer_changes
    sus = ch[(ch["field"] == "status") & (ch["value"] == "suspended")]
    # every defaulted customer's suspension is dated like its suspension activity
    acts = ledger.activities[ledger.activities["kind"] == "suspension"]
    act_day = acts.set_index("customer_id")["timestamp"].dt.tz_convert(None).dt.normalize()
    for cid, day in act_day.items():
        assert day in set(sus.loc[sus["customer_id"] == cid, "effective_date"]), cid
    closed = ledger.customers.loc[ledger.customers["status"] == "closed", "customer_id"]
    assert len(closed) and (ledger.customers.set_index("customer_id").loc[
        closed, "credit_limit_minor"] == 0).all()
    wo = truth.set_index("customer_id")["write_off_date"]
    for cid in closed:
        day = ch[(ch["customer_id"] == cid) & (ch["field"] == "status") & (ch["value"] == "closed")
                 ]["effective_date"]
        assert [str(d.date()) for d in day] == [wo[cid]]
    # an account suspended at the end was active before its suspension
    cid = sus["customer_id"].iloc[0]
    day = sus["effective_date"].iloc[0]
    row, _ = _row(ledger, day - pd.Timedelta(days=1), cid, fields=("status",))
    assert row["status"] == "active"


def test_demo_limits_are_not_derived_from_future_sales(demo):
    """Each review's limit is 2.5 months of the purchases of the 12 months before it (those in
    the ledger by then), recomputed here for the customers whose limit was not cut for risk."""
    from workbench.demo import _limit_minor
    ledger, truth = demo
    ch = ledger.customer_changes
    lim = ch[ch["field"] == "credit_limit"]
    assert lim.groupby("customer_id").size().max() >= 3        # onboarding and reviews
    onboard = lim.groupby("customer_id")["effective_date"].min()
    assert (onboard < ledger.first_date).all()                  # set before any sale
    steady = set(truth.loc[truth["behaviour"].isin(["prompt", "slow"]), "customer_id"])
    reviews = lim[lim["customer_id"].isin(steady) & (lim["effective_date"] > ledger.first_date)]
    assert len(reviews) >= 10
    start = pd.Timestamp("2024-10-01")                          # 24 months before 2026-10
    cust = ledger.customers.set_index("customer_id")
    inv = ledger.invoices
    scale = {"USD": 1.0, "EUR": 0.9, "JPY": 150.0}
    digits = {"USD": 2, "EUR": 2, "JPY": 0}
    for r in reviews.itertuples():
        cur = cust.loc[r.customer_id, "currency"]
        mine = inv[(inv["customer_id"] == r.customer_id)
                   & (inv["invoice_date"] > r.effective_date - pd.Timedelta(days=365))
                   & (inv["invoice_date"] <= r.effective_date)]
        months = min(max((r.effective_date - start).days / 30.4375, 3), 12)
        want = _limit_minor(np.array([mine["amount_minor"].sum() / months]),
                            np.array([digits[cur]]), np.array([scale[cur]]))[0]
        assert int(want) == master_values(ledger, "credit_limit", [r.customer_id],
                                          [r.effective_date])[0][0], r


def test_demo_as_of_view_is_fast(demo):
    ledger, _ = demo
    t0 = time.perf_counter()
    for d in pd.date_range("2025-06-30", "2026-09-30", freq="ME"):
        customers_as_of(ledger, d)
    assert time.perf_counter() - t0 < 5
    # every customer is known on every date of the ledger (the demo records onboarding)
    m, notes = customers_as_of(ledger, "2025-06-30")
    assert notes == [] and m[["status", "segment", "collector"]].notna().all().all()
    assert np.all(m["credit_limit_minor"].to_numpy() >= 0)


def test_demo_activities_show_the_collector_of_their_day(demo):
    ledger, _ = demo
    acts = ledger.activities
    day = acts["timestamp"].dt.tz_convert(None).dt.normalize()
    vals, known, _ = master_values(ledger, "collector", acts["customer_id"], day)
    assert known.all()
    assert (vals == acts["collector"].to_numpy(dtype=object)).all()
    moved = ledger.customer_changes
    moved = moved[(moved["field"] == "collector") & (moved["effective_date"] > ledger.first_date)]
    assert len(moved) >= 1                              # some accounts were reassigned


def test_values_by_day_numbers_and_positions(hist):
    # risk features hold days as int64 day numbers and customers as row positions
    days = np.array(["2026-01-31", "2026-02-01"], dtype="datetime64[D]").astype(np.int64)
    vals, known, _ = master_values(hist, "credit_limit", np.array([0, 0]), days)
    assert known.all() and vals.tolist() == [1000000, 1500000]


def test_letter_signed_by_the_collector_of_its_date(hist, bare):
    """C1's collector is Bob Stone until 2026-01-31 and Ann Lee from 2026-02-01: a letter
    dated 2026-01-20 is signed by Bob Stone; without history a past date's is unknown
    (no name rather than today's)."""
    from workbench.documents import dunning_letter
    assert "Bob Stone" in dunning_letter(hist, "C1", "2026-01-20")
    assert "Ann Lee" in dunning_letter(hist, "C1", "2026-02-20")
    old = dunning_letter(bare, "C1", "2026-01-20")
    assert "Ann Lee" not in old and "Bob Stone" not in old
