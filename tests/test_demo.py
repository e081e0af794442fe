"""The demo ledger: deterministic, valid, realistic, and its ground truth ties out."""

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.demo import BEHAVIOURS, DemoConfig, generate, write_demo
from workbench.money import parse_amount

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
    assert folder_state(a) == folder_state(b)          # the payment noise and its truth too
    assert {"truth/receipts.csv", "truth/applications.csv"} <= set(folder_state(a))
    assert folder_state(a)["invoices.csv"] != folder_state(c)["invoices.csv"]
    assert folder_state(a)["truth/receipts.csv"] != folder_state(c)["truth/receipts.csv"]


def test_demo_parquet_and_csv_hold_the_same_ledger(tmp_path):
    write_demo(tmp_path / "p", DemoConfig(invoices=500, seed=2), fmt="parquet")
    write_demo(tmp_path / "c", DemoConfig(invoices=500, seed=2), fmt="csv")
    assert Ledger.load(tmp_path / "p").content_hash() == Ledger.load(tmp_path / "c").content_hash()


def test_every_table_and_habit_is_there(demo):
    ledger, truth = demo
    assert ledger.present == frozenset(ledger.tables)          # all 14 tables
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
    assert set(rec["reference_form"]) == {"invoice_id", "lower_id", "no_separators", "inv_short",
                                          "hash_seq", "run_together", "po_and_inv", "po_only",
                                          "none"}
    assert set(rec["reference_separator"]) == {"", "space", "comma", "slash", "semicolon"}
    assert (rec["invoices_paid"].astype(int) >= 2).any()        # one receipt, several invoices
    assert (rec["overpayment"].astype(float) > 0).any()
    refs = ledger.receipts["reference"].fillna("")
    assert refs.str.contains(r"^inv \d+$").any() and refs.str.contains(r"^#\d{6}$").any()
    assert refs.str.contains(r"PMTINV\d{10}").any()
    assert refs.str.contains(r"^INV \d{1,5}/\d{1,5}").any()           # INV 4012/4015
    assert refs.str.contains(r"^INV\d{10}$").any()                     # INV2026004012
    assert refs.str.contains(r"^inv-\d{4}-\d{6}$").any()              # lower case
    assert refs.str.contains(r"^PO-\d{5} INV \d+").any()              # PO-12345 INV 4012
    assert refs.str.contains(r"INV-\d{4}-\d{6}; ?INV-\d{4}-\d{6}").any()
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


KINDS = ("one_invoice_ref", "several_invoices_ref", "no_ref_unique_amount", "several_no_ref",
         "bank_fee", "partial_ref", "overpayment_ref", "recovery", "unknown_payer")
_LEGAL = {"INC", "LLC", "CORPORATION", "LTD", "CO", "GROUP", "SA", "DE", "CV", "SL", "LTDA",
          "LDA", "GMBH", "AG", "KG", "KK"}


def _base(name: str) -> str:
    """A customer's name without its legal suffix, as a matcher would compare it."""
    words = "".join(c if c.isalnum() else " " for c in name.upper().replace(".", "")).split()
    while words and words[-1] in _LEGAL:
        words.pop()
    return " ".join(words)


def _minor(frame, column="amount"):
    return [parse_amount(a or "0", c) for a, c in zip(frame[column], frame["currency"])]


def test_every_kind_of_payment_occurs_often_enough_to_measure(demo):
    _, truth = demo
    rec = truth["receipts"]
    assert set(rec["kind"]) == set(KINDS)
    share = rec["kind"].value_counts(normalize=True)
    for kind in KINDS[:7]:                       # recoveries and unknown payers stay rare
        assert share[kind] >= 0.025, (kind, share[kind])
    assert (rec["truncated"] == "True").mean() >= 0.03
    assert 0.08 <= (rec["shared_name"] == "True").mean() <= 0.5
    kind = rec.set_index("receipt_id")["kind"]
    assert (rec.loc[rec["kind"] == "bank_fee", "bank_fee"].astype(float) > 0).all()
    assert (rec.loc[rec["kind"] != "bank_fee", "bank_fee"].astype(float) == 0).all()
    over = rec.set_index("receipt_id")["overpayment"].astype(float) > 0
    assert (kind[over] == "overpayment_ref").all()
    assert (rec.loc[rec["kind"].str.startswith("several"), "invoices_paid"].astype(int) >= 2).all()
    assert (rec.loc[rec["kind"].isin(["one_invoice_ref", "no_ref_unique_amount"]),
                    "invoices_paid"].astype(int) == 1).all()


def test_sister_companies_share_a_name_and_both_pay(demo):
    ledger, truth = demo
    cust = ledger.customers.assign(base=ledger.customers["name"].map(_base))
    payers = set(truth["receipts"]["customer_id"])
    shared = cust[cust["base"].duplicated(keep=False)]
    paying = shared[shared["customer_id"].isin(payers)].groupby("base")["customer_id"].nunique()
    assert (paying >= 2).sum() >= 2                     # "Acme Foods Inc." and "Acme Foods LLC"
    for base, group in shared.groupby("base"):
        assert group["name"].nunique() == len(group)    # same base, another legal suffix
    # the truth flag is exactly the customers whose base name is not theirs alone
    rec = truth["receipts"][truth["receipts"]["kind"] != "unknown_payer"]
    is_shared = rec["customer_id"].isin(shared["customer_id"])
    assert ((rec["shared_name"] == "True") == is_shared).all()
    # and names share words: many customers are "<word> Foods ...", "<word> Supply ..."
    second = cust["base"].str.split().str[1]
    assert second.value_counts().iloc[0] >= 3
    # wires cut long names at 35 characters
    names = ledger.receipts.set_index("receipt_id")["payer_name"]
    cut = truth["receipts"].loc[truth["receipts"]["truncated"] == "True", "receipt_id"]
    assert len(cut) and (names[cut].str.len() <= 35).all()


def test_truth_is_consistent_for_every_kind(demo):
    ledger, truth = demo
    ta = truth["applications"].assign(minor=lambda t: _minor(t))
    rec = truth["receipts"].set_index("receipt_id")
    rec["overpayment_minor"] = _minor(rec, "overpayment")
    rec["fee_minor"] = _minor(rec, "bank_fee")
    amount = ledger.receipts.set_index("receipt_id")["amount_minor"]
    reference = ledger.receipts.set_index("receipt_id")["reference"].fillna("")
    applied = ta.groupby("receipt_id")["minor"].sum()
    paid = applied.index
    # received = true applications + overpayment, for every kind (a fee is never received)
    assert ((applied + rec.loc[paid, "overpayment_minor"]) == amount[paid]).all()
    assert set(rec.index[rec["kind"] == "unknown_payer"]).isdisjoint(paid)
    # each invoice: amount - credit memos - true applications - write-offs (recoveries
    # reinstate) is what stays open; a fee-paid invoice keeps exactly the fee open
    inv = ledger.invoices.set_index("invoice_id")["amount_minor"]
    cm = ledger.credit_memos.groupby("invoice_id")["amount_minor"].sum()
    left = inv.sub(cm, fill_value=0).sub(ta.groupby("invoice_id")["minor"].sum(), fill_value=0)
    fee_rec = rec[rec["kind"] == "bank_fee"]
    assert len(fee_rec)
    for rid, fee in fee_rec["fee_minor"].items():
        invoices = ta.loc[ta["receipt_id"] == rid, "invoice_id"]
        assert sorted(left[invoices]) == sorted([0] * (len(invoices) - 1) + [fee]), rid
    # receipts that pay exactly leave their invoices settled
    exact = rec.index[rec["kind"].isin(["one_invoice_ref", "several_invoices_ref",
                                        "no_ref_unique_amount", "several_no_ref",
                                        "overpayment_ref"])]
    exact_invoices = ta.loc[ta["receipt_id"].isin(exact), "invoice_id"].unique()
    assert (left[exact_invoices] == 0).all()
    # partial payments are first instalments, and only they
    partial_ids = rec.index[rec["kind"] == "partial_ref"]
    assert set(ta.loc[ta["receipt_id"].isin(partial_ids), "kind"]) >= {"partial"}
    assert (ta.loc[~ta["receipt_id"].isin(partial_ids), "kind"] != "partial").all()
    # a receipt that quotes its invoices names each of them (number, short number or PO)
    po = ledger.invoices.set_index("invoice_id")["po_number"]
    quoting = ta[ta["receipt_id"].isin(rec.index[rec["kind"].isin(
        ["one_invoice_ref", "several_invoices_ref", "bank_fee", "partial_ref", "overpayment_ref"])])]
    for rid, iid in zip(quoting["receipt_id"], quoting["invoice_id"]):
        text = reference[rid].upper()
        digits = "".join(ch if ch.isdigit() else " " for ch in text).split()
        assert (str(int(iid[-6:])) in {str(int(d)) for d in digits}
                or iid[4:8] + iid[-6:] in digits or po[iid] in text), (rid, iid, text)
    # no reference means no invoice number in the remittance
    blank = rec.index[rec["kind"].isin(["no_ref_unique_amount", "several_no_ref"])]
    assert set(reference[blank]) <= {"", "REMITTANCE ADVICE TO FOLLOW"}
