"""The demo ledger: deterministic, valid, realistic, and its ground truth ties out."""

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.demo import BEHAVIOURS, DemoConfig, generate, write_demo
from workbench.money import parse_amount

from .conftest import folder_state, run_cli


def _load(folder):
    truth = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
             for p in (folder / "truth").glob("*.csv")}
    return Ledger.load(folder), truth


@pytest.fixture(scope="module")
def demo(demo_dir):
    return _load(demo_dir)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """A small noisy ledger: 100 customers, 3,000 invoices, two years."""
    out = tmp_path_factory.mktemp("noisy") / "ledger"
    write_demo(out, DemoConfig(invoices=3000, customers=100, seed=11, profile="noisy"), fmt="csv")
    return _load(out)


@pytest.fixture(params=["clean", "noisy"])
def either(request):
    """Each profile's ledger, for what both must guarantee."""
    return request.getfixturevalue("demo" if request.param == "clean" else "noisy")


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


def test_truth_ties_to_the_ledger(either):
    ledger, truth = either
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


def test_truth_is_consistent_for_every_kind(either):
    ledger, truth = either
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


# --------------------------------------------------------------------------- the noisy profile

def test_noisy_profile_is_valid_deterministic_and_its_own(tmp_path):
    cfg = DemoConfig(invoices=600, customers=40, seed=5, profile="noisy")
    a, b = tmp_path / "a", tmp_path / "b"
    write_demo(a, cfg, fmt="csv")
    write_demo(b, cfg, fmt="csv")
    assert folder_state(a) == folder_state(b)                  # same seed, same bytes
    Ledger.load(a)                                             # valid: raises on any problem
    write_demo(tmp_path / "c", DemoConfig(invoices=600, customers=40, seed=5), fmt="csv")
    clean = folder_state(tmp_path / "c")
    assert folder_state(a)["truth/invoices.csv"] != clean["truth/invoices.csv"]
    assert '"profile": "noisy"' in folder_state(a)["demo.json"].decode()
    assert b"profile" not in clean["demo.json"]                # a default demo's files as before
    assert b"## The noisy profile" in folder_state(a)["truth/README.md"]


def test_customers_months_invoices_size_a_small_ledger():
    for profile in ("clean", "noisy"):
        tables, _ = generate(DemoConfig(invoices=2500, customers=100, months=15, profile=profile))
        inv = tables["invoices"]
        assert len(tables["customers"]) == 100, profile
        assert abs(len(inv) - 2500) <= 50, (profile, len(inv))
        span = (inv["invoice_date"].max() - inv["invoice_date"].min()).days
        # `months` whole months before the end's month, and the end's month: 15 to 16
        assert 455 <= span <= 490, (profile, span)
    assert inv["customer_id"].nunique() == 100                # noisy: everyone buys something
    assert len(inv) == 2500                                   # exactly


def test_config_checks_customers_and_profile():
    with pytest.raises(ValueError, match=r"customers must be between 6 and invoices \(600\); got 601"):
        DemoConfig(invoices=600, customers=601)
    with pytest.raises(ValueError, match="customers must be between 6"):
        DemoConfig(customers=3)
    with pytest.raises(ValueError, match="profile must be one of clean, noisy; got 'messy'"):
        DemoConfig(profile="messy")


def test_cli_demo_takes_customers_and_profile(tmp_path):
    out = tmp_path / "demo"
    r = run_cli("demo", "--out", out, "--invoices", "300", "--customers", "20", "--months", "12",
                "--profile", "noisy", "--format", "csv", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "20 customers, 300 invoices" in r.stdout and "noisy" in r.stdout
    assert (out / "truth" / "customers.csv").read_text().count("\n") == 21
    r = run_cli("demo", "--out", tmp_path / "x", "--invoices", "300", "--profile", "messy")
    assert r.returncode == 2 and "invalid choice" in r.stderr


def _settled(ledger) -> pd.DataFrame:
    """Invoices with their days late as the ledger records them (settled ones only)."""
    from workbench.risk import settlement

    inv = ledger.invoices.assign(days_late=settlement(ledger)["days_late"].to_numpy())
    return inv.dropna(subset=["days_late"])


def test_noisy_customers_switch_habits_on_their_recorded_date(noisy):
    ledger, truth = noisy
    cust = truth["customers"]
    switched = cust[cust["habit_switch"] != ""]
    assert {"worse", "better"} <= set(switched["habit_switch"])
    assert (switched["habit_before"] != switched["habit_after"]).all()
    assert (cust.loc[cust["habit_switch"] == "", "habit_switch_date"] == "").all()
    inv = _settled(ledger)
    moved, measured = 0, 0
    for row in switched.itertuples():
        mine = inv[inv["customer_id"] == row.customer_id]
        after = mine["due_date"] >= pd.Timestamp(row.habit_switch_date)
        if after.sum() < 5 or (~after).sum() < 5:
            continue
        measured += 1
        sign = 1 if row.habit_switch == "worse" else -1
        before, since = mine.loc[~after, "days_late"], mine.loc[after, "days_late"]
        days = since.median() - before.median()
        # the share paid late: after due, over 15 or over 30 days (chronic -> slow stays
        # "after due", a prompt payer often pays a day or two after it)
        share = max(sign * ((since > k).mean() - (before > k).mean()) for k in (0, 15, 30))
        moved += sign * days > 5 and share > 0.15
    assert measured >= 4 and moved >= 0.75 * measured, (moved, measured)
    # the truth marks the invoices due on or after the switch
    ti = truth["invoices"].merge(cust[["customer_id", "habit_switch_date"]], on="customer_id")
    due = ledger.invoices.set_index("invoice_id")["due_date"].reindex(ti["invoice_id"]).to_numpy()
    on_or_after = (ti["habit_switch_date"] != "") & (
        due >= pd.to_datetime(ti["habit_switch_date"].replace("", None)).to_numpy())
    assert ((ti["after_switch"] == "True") == on_or_after).all()


def test_noisy_one_off_delays_early_payments_and_seasons(noisy):
    _, truth = noisy
    inv = truth["invoices"]
    assert set(inv["one_off_delay"]) == {"", "lost_invoice", "approval_loop", "holiday"}
    # an otherwise prompt customer pays a one-off delayed invoice weeks late
    prompt = inv[(inv["habit"] == "prompt") & (inv["disputed"] == "False")
                 & (inv["never_paid"] == "False")]
    late = prompt["days_late"].astype(float)
    one_off = prompt["one_off_delay"] != ""
    assert one_off.sum() >= 10
    assert late[one_off].median() >= 14 and late[~one_off].median() <= 2
    early = inv[(inv["early_payment"] == "True") & (inv["disputed"] == "False")
                & (inv["never_paid"] == "False")]
    assert len(early) >= 20 and (early["days_late"].astype(float) < 0).mean() >= 0.95
    seasonal = inv["seasonal_delay_days"].astype(int)
    assert (seasonal > 0).sum() >= 30 and (seasonal >= 0).all()
    # the noise is the invoice's own: spread around its habit, not a function of it
    noise = inv["noise_days"].astype(float)
    assert noise.std() > 3 and abs(noise.mean()) < 2
    # every habit in force pays as its kind does
    paid = inv[inv["never_paid"] == "False"]
    mean_late = paid.assign(d=paid["days_late"].astype(float)).groupby("habit")["d"].mean()
    assert mean_late["prompt"] < 3 < mean_late["slow"] < mean_late["chronic"]


def test_noisy_histories_are_thin_and_skewed(noisy):
    ledger, truth = noisy
    counts = ledger.invoices["customer_id"].value_counts()
    assert len(counts) == 100                                  # every customer buys something
    assert (counts <= 5).mean() >= 0.15                        # many thin customers
    assert counts.max() >= 8 * counts.median()                 # a few large ones
    assert counts.mean() > 1.5 * counts.median()               # skewed
    cust = truth["customers"].set_index("customer_id")
    first = ledger.invoices.groupby("customer_id")["invoice_date"].min()
    joiners = cust.index[cust["late_joiner"] == "True"]
    assert len(joiners) >= 10
    assert (first[joiners] >= pd.to_datetime(cust.loc[joiners, "first_active_date"])).all()
    assert (first[joiners] >= pd.Timestamp("2024-10-01") + pd.Timedelta(days=30)).all()   # 24 months
    last = ledger.invoices.groupby("customer_id")["invoice_date"].max()
    stopped = cust.index[cust["stopped_buying"] == "True"]
    assert len(stopped) and (last[stopped] <= pd.to_datetime(cust.loc[stopped, "last_active_date"])).all()
    # onboarded (the master's first record) before the first invoice, nothing changes before
    changes = ledger.customer_changes
    onboarded = changes.groupby("customer_id")["effective_date"].min()
    assert (onboarded[first.index] < first).all()
    assert (pd.to_datetime(cust["onboarding_date"]) == onboarded[cust.index]).all()


def test_noisy_profile_defaults_less_than_clean():
    out = {}
    for profile in ("clean", "noisy"):
        tables, truth = generate(DemoConfig(invoices=5000, customers=200, seed=3, profile=profile))
        wo = tables["write_offs"].merge(tables["invoices"][["invoice_id", "customer_id"]])
        out[profile] = (truth["customers"]["defaulted"].mean(),
                        wo.loc[wo["reason"] == "bankruptcy", "customer_id"].nunique())
    assert 0 < out["noisy"][0] < min(0.05, out["clean"][0]), out   # about 2 % + the guaranteed one
    assert 1 <= out["noisy"][1] < out["clean"][1], out              # a handful written off
