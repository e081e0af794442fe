"""Credit: hand-computed ratios and limits, every policy exception and approval level,
decisions with authority, the scorecard against a plain logistic regression."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.cli import main
from workbench.credit import (financial_ratios, limit_history, load_credit_policy, portfolio,
                              recommend, record_decision, review_queue, train_scorecard)
from workbench.scorecard import Scorecard, discrimination
from workbench.state import StateDB

from .conftest import write_ledger

AS_OF = "2026-09-30"


def test_ratios_hand_computed():
    """CA 500, CL 250, inventory 100, TA 1000, TL 600, intangibles 50, revenue 2000,
    NI 80, EBIT 150, interest 30, OCF 120, receivables 250 (all thousands, minor units).
    current 2.0; quick (500-100)/250 = 1.6; WC 250; D/E 600/400 = 1.5; debt ratio 0.6;
    TNW 1000-600-50 = 350; margin 0.04; coverage 5.0; OCF/CL 0.48; DSO 250/2000*365 = 45.625."""
    k = 100_000  # 1,000.00 in minor units
    r = financial_ratios({"current_assets_minor": 500 * k, "current_liabilities_minor": 250 * k,
                          "inventory_minor": 100 * k, "total_assets_minor": 1000 * k,
                          "total_liabilities_minor": 600 * k, "intangibles_minor": 50 * k,
                          "revenue_minor": 2000 * k, "net_income_minor": 80 * k,
                          "ebit_minor": 150 * k, "interest_expense_minor": 30 * k,
                          "operating_cash_flow_minor": 120 * k, "receivables_minor": 250 * k})
    assert r == {"current_ratio": 2.0, "quick_ratio": 1.6, "working_capital_minor": 250 * k,
                 "debt_to_equity": 1.5, "debt_ratio": 0.6, "tangible_net_worth_minor": 350 * k,
                 "net_margin": 0.04, "interest_coverage": 5.0, "ocf_to_current_liabilities": 0.48,
                 "customer_dso": pytest.approx(45.625)}
    assert financial_ratios({"current_assets_minor": 1, "current_liabilities_minor": 0})["current_ratio"] is None


@pytest.fixture
def credit_ledger(tmp_path):
    """K: financials FY2025 (known 2026-03-31 with a 90-day lag): CA 400,000, CL 200,000,
    TA 900,000, TL 500,000, intangibles 100,000 -> TNW 300,000, WC 200,000; bureau
    2026-08-15 recommends 60,000; purchases: 12 invoices of 5,000 since 2025-10-15, a
    customer for 350 days = 11.5 months -> 60,000 / 11.5 = 5,217.39 a month; exposure
    10,000 of a 20,000 limit.
    Limits: 10% TNW = 30,000; 20% WC = 40,000; bureau 60,000; 3 months = 15,652.17
    (binding); class C cap 100,000 (the policy's class for unscored customers) -> rounded down to a whole 1,000:
    15,000, approver analyst (<= 25,000).
    S: no financials, no bureau, stale everything -> exceptions; exposure 30,000 > limit 20,000."""
    inv = []
    for m in range(12):
        d = pd.Timestamp("2025-10-15") + pd.DateOffset(months=m)
        inv.append({"invoice_id": f"K-{m}", "customer_id": "K", "invoice_date": str(d.date()),
                    "due_date": str((d + pd.Timedelta(days=30)).date()), "amount": "5000.00"})
    inv.append({"invoice_id": "S-1", "customer_id": "S", "invoice_date": "2026-08-01",
                "due_date": "2026-08-31", "amount": "30000.00"})
    apps = [{"receipt_id": f"R{m}", "invoice_id": f"K-{m}", "amount": "5000.00",
             "applied_date": str((pd.Timestamp("2025-10-15") + pd.DateOffset(months=m) + pd.Timedelta(days=30)).date())}
            for m in range(10)]
    rec = [{"receipt_id": a["receipt_id"], "receipt_date": a["applied_date"], "amount": "5000.00",
            "payer_name": "K", "reference": ""} for a in apps]
    folder = write_ledger(
        tmp_path / "credit",
        customers=[{"customer_id": "K", "name": "Kappa", "currency": "USD", "payment_terms_days": 30,
                    "credit_limit": "20000.00"},
                   {"customer_id": "S", "name": "Sigma", "currency": "USD", "payment_terms_days": 30,
                    "credit_limit": "20000.00"}],
        invoices=inv, receipts=rec, applications=apps,
        financials=[{"customer_id": "K", "period_end": "2025-12-31", "current_assets": "400000.00",
                     "current_liabilities": "200000.00", "total_assets": "900000.00",
                     "total_liabilities": "500000.00", "revenue": "2000000.00", "net_income": "50000.00",
                     "intangibles": "100000.00"},
                    {"customer_id": "S", "period_end": "2024-06-30", "current_assets": "10.00",
                     "current_liabilities": "10.00", "total_assets": "10.00",
                     "total_liabilities": "5.00", "revenue": "10.00", "net_income": "1.00"}],
        bureau=[{"customer_id": "K", "report_date": "2026-08-15", "paydex": "78",
                 "recommended_limit": "60000.00"},
                {"customer_id": "S", "report_date": "2025-01-15", "paydex": "40"}])
    return Ledger.load(folder)


def test_limit_formulas_and_binding_rule(credit_ledger):
    r = recommend(credit_ledger, "K", AS_OF)
    assert r["candidates"] == {"tangible_net_worth": "30000.00", "working_capital": "40000.00",
                               "bureau_recommended": "60000.00", "months_of_purchases": "15652.17",
                               "class C cap": "100000.00"}
    assert (r["recommended_limit"], r["binding_rule"], r["risk_class"], r["approver_level"]) == (
        "15000.00", "months_of_purchases", "C", "analyst")
    assert r["exceptions"] == ["no scorecard fitted: the neutral class C is used",
                               "class C requires trade_references: missing"]
    h = r["analysis"]["history"]
    assert (h["exposure_minor"], h["credit_limit_minor"], h["utilization"]) == (1000000, 2000000, 0.5)
    assert h["purchases_per_month_minor"] == 521739


def test_every_exception(credit_ledger):
    ex = recommend(credit_ledger, "S", AS_OF)["exceptions"]
    assert any(e.startswith("stale financials: latest period end 2024-06-30") for e in ex)
    assert any(e.startswith("stale bureau report from 2025-01-15") for e in ex)
    assert "utilization above 100% (150% of the current limit)" in ex
    # before the statement's lag has passed it is not known: no financials at all
    early = recommend(credit_ledger, "K", "2026-03-30")["exceptions"]
    assert "no financial statements known on the review date" in early
    assert "missing bureau report" in early                   # bureau dated 2026-08-15
    assert "class C requires bureau: missing" in early and "class C requires financials: missing" in early


def test_portfolio_rows_are_the_recommendations(credit_ledger):
    """The portfolio scores every customer in one pass; each row is what ``recommend``
    (the CLI, the credit file, the Voila page) says for that customer on that date."""
    book = portfolio(credit_ledger, AS_OF).set_index("customer_id")
    assert len(book) >= 2
    for cid, row in book.iterrows():
        r = recommend(credit_ledger, cid, AS_OF)
        assert (row["score"], row["risk_class"], row["recommended_limit_minor"], row["binding_rule"],
                row["approver_level"], row["exceptions"]) == (
            r["score"], r["risk_class"], r["recommended_limit_minor"], r["binding_rule"],
            r["approver_level"], len(r["exceptions"]))
    assert book.loc["K", "recommended_limit_minor"] == 1_500_000        # 15,000.00 as above


@pytest.mark.parametrize("limit,level", [("25000.00", "analyst"), ("25000.01", "manager"),
                                         ("100000.00", "manager"), ("100000.01", "director"),
                                         ("500000.00", "director"), ("500000.01", "cfo")])
def test_approval_levels(limit, level):
    from workbench.money import parse_amount
    policy = load_credit_policy()
    assert policy.approver_for(parse_amount(limit, "USD")) == level


def test_decisions_with_authority_and_history(credit_ledger, tmp_path):
    db = StateDB(f"sqlite:///{tmp_path / 's.db'}")
    r = recommend(credit_ledger, "K", AS_OF)
    with pytest.raises(PermissionError, match=r"Ann \(analyst\) may not approve a limit of 30,000.00 USD: "
                                              r"policy default-credit 2026.2 requires manager or above"):
        record_decision(db, credit_ledger, r, "approve_other", "Ann", "analyst", "more room", "30000.00")
    record_decision(db, credit_ledger, r, "approve", "Ann", "analyst", "as recommended")
    record_decision(db, credit_ledger, r, "approve_other", "Max", "manager", "seasonal peak", "30000.00")
    record_decision(db, credit_ledger, r, "hold", "Max", "manager", "awaiting audited accounts")
    with pytest.raises(ValueError, match="needs a reason"):
        record_decision(db, credit_ledger, r, "decline", "Max", "manager", " ")
    h = limit_history(db, "K")
    assert h["decision"].tolist() == ["approve", "approve_other", "hold"]
    assert h["limit_in_force"].tolist() == ["15000.00", "30000.00", "30000.00"]
    assert set(h["policy_version"]) == {"default-credit 2026.2"}
    q = review_queue(credit_ledger, AS_OF, db)
    assert q["customer_id"].tolist() == ["S"] and "exposure 150% of the limit" in q["why"].iloc[0]


def test_cli_review_json_contract(credit_ledger, capsys, tmp_path, cli_user):
    assert main(["credit", "review", "--ledger", credit_ledger.source, "--customer", "K",
                 "--as-of", AS_OF, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for k in ("customer_id", "as_of", "score", "risk_class", "recommended_limit", "binding_rule",
              "exceptions", "approver_level", "reasons"):
        assert k in out
    assert out["recommended_limit"] == "15000.00"
    db = f"sqlite:///{tmp_path / 'c.db'}"
    cli_user("director", "dan")
    assert main(["credit", "decide", "--ledger", credit_ledger.source, "--customer", "K", "--as-of",
                 AS_OF, "--decision", "approve_other", "--limit", "600000.00",
                 "--reason", "x", "--db", db]) == 1
    assert "requires cfo or above" in capsys.readouterr().err
    assert main(["credit", "file", "--ledger", credit_ledger.source, "--customer", "K", "--as-of", AS_OF,
                 "--out", str(tmp_path / "k.html"), "--db", db]) == 0
    html = (tmp_path / "k.html").read_text()
    assert "Credit file: Kappa (K)" in html and "months_of_purchases" in html


def test_cli_decide_takes_who_and_authority_from_the_users_file(credit_ledger, capsys, tmp_path,
                                                                 cli_user, monkeypatch):
    """The command line's sign-in is the OS login's users-file entry: a typed approver or level
    that differs is refused and nothing is recorded; without an entry, the command says how to
    add one."""
    db_url = f"sqlite:///{tmp_path / 'c.db'}"
    base = ["credit", "decide", "--ledger", credit_ledger.source, "--customer", "K", "--as-of", AS_OF,
            "--decision", "approve_other", "--limit", "30000.00", "--reason", "seasonal", "--db", db_url]
    monkeypatch.setenv("WORKBENCH_USERS_FILE", str(tmp_path / "nobody.toml"))
    assert main(base) == 2
    err = capsys.readouterr().err
    assert "is not a workbench user" in err and "adduser NAME --role ROLE --os-login" in err
    cli_user("manager", "mia")
    assert main(base + ["--approver", "anyone"]) == 2
    assert "'anyone' is not who runs this command" in capsys.readouterr().err
    assert main(base + ["--level", "cfo"]) == 2
    assert "--level cfo is not mia's authority: the role manager has authority manager" in \
        capsys.readouterr().err
    assert not (tmp_path / "c.db").exists() or StateDB(db_url).count("credit_decisions") == 0
    assert main(base + ["--approver", "mia", "--level", "manager"]) == 0
    assert "by mia (authority manager)" in capsys.readouterr().out
    rows = StateDB(db_url).rows("credit_decisions")
    assert [(r["approver"], r["approver_level"], r["recorded_by"], r["limit_minor"]) for r in rows] == [
        ("mia", "manager", "mia", 3_000_000)]


def test_scorecard_estimator_basics():
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x * 1.5 - 1)))).astype(int)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=4000)})
    sc = Scorecard().fit(X, y)
    proba = sc.predict_proba(X)[:, 1]
    assert discrimination(y, proba)["auc"] > 0.75
    table = sc.binning_table_
    rates = table[(table["feature"] == "x") & (table["bin"] != "missing")]["event_rate"].to_numpy()
    assert np.all(np.diff(rates) >= 0)                      # monotonic in x
    pts = sc.score_points(X)
    assert pd.Series(pts).corr(pd.Series(proba), method="spearman") < -0.999   # more points = safer
    assert sc.score_points(pd.DataFrame({"x": [0.0], "noise": [0.0]}))[0] == pytest.approx(
        sc.offset_ + sc.factor_ * -sc.model_.decision_function(sc._woe(pd.DataFrame({"x": [0.0], "noise": [0.0]})))[0])
    with pytest.raises(ValueError, match=r"min_bin_size must be in \(0, 0.5\]; got 0.7."):
        Scorecard(min_bin_size=0.7).fit(X, y)
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        Scorecard().predict_proba(X)


def test_scorecard_on_the_demo_history(demo_dir):
    ledger = Ledger.load(demo_dir)
    dates = ["2025-01-01", "2025-04-01", "2025-07-01", "2025-10-01"]
    sc, report, data = train_scorecard(ledger, dates, "2025-07-01")
    assert report["train_rows"] > 20 and report["test_rows"] > 20
    assert 0 < report["train_bad_rate"] < 1
    assert report["scorecard"]["auc"] is not None and report["logistic_regression"]["auc"] is not None
    # no feature of a review row uses data dated after it
    assert (data["review_date"] <= pd.Timestamp("2025-10-01")).all()


def test_risk_classes_by_probability_of_default(tmp_path):
    """Policy 2026.2 sets classes on PD: A <= 5 %, B <= 10 %, C <= 20 %, D <= 35 %, E the
    rest (bounds belong to the better class); unscored customers are class C. A policy whose
    bands do not increase, or lack a bound, is refused with the reason."""
    from workbench.policy import PolicyError
    p = load_credit_policy()
    assert (p.label, p.classes_by) == ("default-credit 2026.2", "pd")
    got = [p.risk_class(pd=v).name for v in (0.01, 0.05, 0.0501, 0.10, 0.2, 0.35, 0.3501, 0.9)]
    assert got == ["A", "A", "B", "B", "C", "D", "E", "E"]
    assert p.neutral_class().name == "C" and p.risk_class(pd=None).name == "C"
    bad = tmp_path / "credit.yaml"
    text = (Path(__file__).resolve().parent.parent / "workbench" / "policies" / "credit.yaml").read_text()
    bad.write_text(text.replace("max_pd: 0.10", "max_pd: 0.04"))
    with pytest.raises(PolicyError, match=r"max_pd must increase class by class; got \[0.05, 0.04, 0.2, 0.35\]"):
        load_credit_policy(bad)
    bad.write_text(text.replace("{class: C, max_pd: 0.20,", "{class: C,"))
    with pytest.raises(PolicyError, match="every class but the last needs max_pd"):
        load_credit_policy(bad)


def test_standard_scorecard_reaches_every_class_on_the_demo(tmp_path):
    """Monthly reviews give the scorecard enough rows; the portfolio of the demo `make
    report` uses (20,000 invoices, seed 7) spreads over the classes instead of sitting in D
    and E (issue 11), and the scorecard only uses outcomes known by its date."""
    from workbench.credit import portfolio, review_dates, standard_scorecard
    from workbench.demo import DemoConfig, write_demo
    write_demo(tmp_path / "demo", DemoConfig(invoices=20_000, seed=7), fmt="parquet")
    ledger = Ledger.load(tmp_path / "demo")
    sc, report, note = standard_scorecard(ledger, AS_OF)
    assert note is None and report["train_rows"] > 500 and report["scorecard"]["auc"] > 0.6
    reviews = review_dates(ledger, AS_OF)
    assert reviews[0] == "2025-01-31" and reviews[-1] == "2025-09-30"
    assert standard_scorecard(ledger, AS_OF)[0] is sc                     # cached: one answer
    book = portfolio(ledger, AS_OF, sc)
    share = book["risk_class"].value_counts(normalize=True)
    assert share.reindex(list("BCD")).fillna(0).sum() > 0.6 and share.get("E", 0) < 0.2
    assert book["pd"].between(0, 1).all()


def test_purchases_per_month_is_exact_integer_division(tmp_path):
    """Purchases per month (the ``months_of_purchases`` limit) divide integers: 330.00 USD
    over 1.1 months (first invoice 33 days before: 33 * 160 / 487 = 10.84 tenths -> 11) is
    300.00 exactly; a float gave 33000 / 1.1 = 29999.999... and truncated it to 299.99."""
    from workbench.credit import history_frame, recommendations
    ledger = Ledger.from_frames({
        "customers": pd.DataFrame([{"customer_id": "X1", "name": "X", "currency": "USD",
                                    "payment_terms_days": 30}]),
        "invoices": pd.DataFrame([
            {"invoice_id": "X-1", "customer_id": "X1", "invoice_date": "2026-08-28",
             "due_date": "2026-09-27", "amount": "110.00"},
            {"invoice_id": "X-2", "customer_id": "X1", "invoice_date": "2026-09-10",
             "due_date": "2026-10-10", "amount": "220.00"}]),
    })
    h = history_frame(ledger, "2026-09-30")
    assert h.loc["X1", "months_as_customer"] == 1.1
    assert h.loc["X1", "purchases_per_month_minor"] == 30000
    assert int(33000 / 1.1) == 29999                      # what the float division gave
    rec = recommendations(ledger, ["X1"], "2026-09-30").iloc[0]
    assert rec["candidates"]["months_of_purchases"] == 90000          # 3 x 300.00
    assert rec["binding_rule"] == "months_of_purchases"
    # a customer of 637 days (20.9 months): 12 months of purchases / 12, rounded down
    ledger2 = Ledger.from_frames({
        "customers": pd.DataFrame([{"customer_id": "Y1", "name": "Y", "currency": "JPY",
                                    "payment_terms_days": 30}]),
        "invoices": pd.DataFrame([
            {"invoice_id": "Y-1", "customer_id": "Y1", "invoice_date": "2025-01-01",
             "due_date": "2025-01-31", "amount": "1000"},
            {"invoice_id": "Y-2", "customer_id": "Y1", "invoice_date": "2026-09-01",
             "due_date": "2026-10-01", "amount": "100001"}]),
    })
    y = history_frame(ledger2, "2026-09-30").loc["Y1"]
    assert y["months_as_customer"] == 20.9
    assert y["purchases_per_month_minor"] == 8333          # 100001 JPY / 12 = 8333.4 -> 8333
