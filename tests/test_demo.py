"""The demo ledger: deterministic, valid, realistic, and its ground truth ties out."""

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.demo import BEHAVIOURS, DemoConfig, generate, write_demo

from .conftest import folder_state


@pytest.fixture(scope="module")
def demo(demo_dir):
    truth = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
             for p in (demo_dir / "truth").glob("*.csv")}
    return Ledger.load(demo_dir), truth


def test_same_seed_same_bytes_other_seed_other_ledger(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_demo(a, DemoConfig(invoices=600, seed=5), fmt="csv")
    write_demo(b, DemoConfig(invoices=600, seed=5), fmt="csv")
    write_demo(c, DemoConfig(invoices=600, seed=6), fmt="csv")
    assert folder_state(a) == folder_state(b)
    assert folder_state(a)["invoices.csv"] != folder_state(c)["invoices.csv"]


def test_demo_parquet_and_csv_hold_the_same_ledger(tmp_path):
    write_demo(tmp_path / "p", DemoConfig(invoices=500, seed=2), fmt="parquet")
    write_demo(tmp_path / "c", DemoConfig(invoices=500, seed=2), fmt="csv")
    assert Ledger.load(tmp_path / "p").content_hash() == Ledger.load(tmp_path / "c").content_hash()


def test_every_table_and_habit_is_there(demo):
    ledger, truth = demo
    assert ledger.present == frozenset(ledger.tables)          # all 13 tables
    assert set(truth["customers"]["behaviour"]) == set(BEHAVIOURS)
    assert ledger.currencies == ["EUR", "JPY", "USD"]
    assert set(ledger.customers["language"]) == {"en", "es", "pt"}
    assert set(ledger.disputes["resolution"].dropna()) == {"credit_memo", "paid", "withdrawn",
                                                          "written_off"}
    assert ledger.disputes["closed_date"].isna().any()         # some still open
    assert {"bankruptcy", "small_balance", "recovery"} <= set(ledger.write_offs["reason"])
    assert (ledger.write_offs["amount_minor"] < 0).any()        # recoveries reinstate
    assert set(ledger.activities["kind"]) >= {"email", "call", "promise_to_pay", "letter",
                                              "escalation", "dispute", "suspension"}
    kept = truth["promises"]["kept"].value_counts()
    assert kept.get("True", 0) > 0 and kept.get("False", 0) > 0


def test_habits_differ_as_designed(demo):
    _, truth = demo
    inv = truth["invoices"]
    paid = inv[inv["never_paid"] == "False"].copy()
    paid["days_late"] = paid["days_late"].astype(float)
    mean_late = paid.groupby("behaviour")["days_late"].mean()
    assert mean_late["prompt"] < 3 < mean_late["slow"] < mean_late["chronic"]
    defaulted = truth["customers"][truth["customers"]["defaulted"] == "True"]
    assert len(defaulted) >= 1
    assert (defaulted["behaviour"] == "defaulting").all()


def test_bank_side_is_messy(demo):
    ledger, truth = demo
    rec = truth["receipts"]
    assert set(rec["payer_variant"]) == {"exact", "upper", "abbreviation", "typo", "payment_from",
                                         "parent_or_truncated", "unknown"}
    assert set(rec["reference_form"]) >= {"invoice_id", "inv_short", "hash_seq", "run_together",
                                          "two_ids", "none"}
    assert (rec["invoices_paid"].astype(int) >= 2).any()        # one receipt, several invoices
    assert (rec["overpayment"].astype(float) > 0).any()
    refs = ledger.receipts["reference"].fillna("")
    assert refs.str.contains(r"^inv \d+$").any() and refs.str.contains(r"^#\d{6}$").any()
    assert refs.str.contains(r"PMTINV\d{10}").any()
    assert ledger.receipts["payer_name"].str.startswith("PAYMENT FROM ").any()
    assert ledger.receipts["customer_id"].isna().mean() > 0.4    # most wires name no customer


def test_truth_ties_to_the_ledger(demo):
    ledger, truth = demo
    ta = truth["applications"]
    posted = ta[ta["posted"] == "True"]
    got = set(zip(ledger.applications["receipt_id"], ledger.applications["invoice_id"],
                  ledger.applications["amount_minor"]))
    digits = {"USD": 2, "EUR": 2, "JPY": 0}
    want = {(r, i, int(round(float(a) * 10 ** digits[c])))
            for r, i, a, c in zip(posted["receipt_id"], posted["invoice_id"], posted["amount"],
                                  posted["currency"])}
    assert got == want
    assert (~ta["posted"].eq("True")).sum() > 0                  # a backlog to apply
    # each known payer's receipt = true applications + overpayment, to the cent
    amt = ledger.receipts.set_index("receipt_id")["amount_minor"]
    cur = ledger.receipts.set_index("receipt_id")["currency"]
    applied = ta.assign(minor=[int(round(float(a) * 10 ** digits[c])) for a, c in
                               zip(ta["amount"], ta["currency"])]).groupby("receipt_id")["minor"].sum()
    over = truth["receipts"].set_index("receipt_id")["overpayment"]
    for rid in applied.index:
        extra = int(round(float(over[rid]) * 10 ** digits[cur[rid]]))
        assert applied[rid] + extra == amt[rid], rid
    # an invoice paid in full by the end, all of it applied, short of nothing, is closed
    inv = truth["invoices"].set_index("invoice_id")
    unposted = set(ta.loc[ta["posted"] != "True", "invoice_id"])
    settled = inv[(inv["paid_by_end"] == "True") & (inv["short_paid"] == "False")
                  & ~inv.index.isin(unposted)].index
    open_end = ledger.balances("2026-10-30").set_index("invoice_id")["open_minor"]
    assert (open_end.reindex(settled) == 0).all()
    # the true pay date is the date of the last payment
    last = ta[ta["kind"] == "payment"].groupby("invoice_id")["receipt_date"].max()
    paid = inv.loc[last.index]
    assert (paid["true_pay_date"] == last).all()


def test_one_million_invoices_config_is_accepted():
    # not generated here (see benchmarks/); the config and the customer count scale
    cfg = DemoConfig(invoices=1_000_000)
    assert cfg.invoices == 1_000_000


def test_generate_is_vectorised_and_sizes_scale():
    tables, truth = generate(DemoConfig(invoices=5000, seed=1))
    assert len(tables["invoices"]) == 5000
    assert len(truth["invoices"]) == 5000
    assert np.issubdtype(tables["invoices"]["amount_minor"].dtype, np.integer)
