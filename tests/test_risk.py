"""Payment risk: no leakage, beats the baselines, guardrails, scores and the forecast."""

import warnings

import numpy as np
import pandas as pd
import pytest

from workbench import Ledger
from workbench.master import master_table_as_of
from workbench.cli import main
from workbench.demo import DemoConfig, write_demo
from workbench.risk import (FEATURES, _days, backtest_forecast, cash_forecast, invoice_features,
                            load_model, model_card, save_model, score_open_items, train)

AS_OF = "2026-09-30"


@pytest.fixture(scope="module")
def standard_demo(tmp_path_factory):
    """The demo `make report` uses: 20,000 invoices, seed 7."""
    out = tmp_path_factory.mktemp("risk") / "demo"
    write_demo(out, DemoConfig(invoices=20_000, seed=7), fmt="parquet")
    return Ledger.load(out)


@pytest.fixture(scope="module")
def trained(standard_demo):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(standard_demo, AS_OF)


def _cut(ledger: Ledger, day: pd.Timestamp) -> Ledger:
    """The ledger as it stood at the start of ``day``: only rows dated before it (and the
    invoices issued on it, which the features of those invoices may see)."""
    t = dict(ledger.tables)
    t["invoices"] = t["invoices"][t["invoices"]["invoice_date"] <= day]
    for name, col in (("applications", "applied_date"), ("credit_memos", "date"), ("write_offs", "date"),
                      ("receipts", "receipt_date"), ("disputes", "opened_date"), ("bureau", "report_date")):
        t[name] = t[name][t[name][col] < day]
    d = t["disputes"].copy()
    d.loc[d["closed_date"] >= day, ["closed_date", "resolution"]] = [pd.NaT, None]
    t["disputes"] = d
    acts = t["activities"]
    t["activities"] = acts[acts["timestamp"].dt.tz_convert(None) < day]
    # the customer master as it stood the day before, and its history up to then
    t["customers"] = master_table_as_of(ledger, day - pd.Timedelta(days=1))
    if ledger.has("customer_changes"):
        ch = t["customer_changes"]
        t["customer_changes"] = ch[ch["effective_date"] < day]
    return Ledger({k: v.reset_index(drop=True) for k, v in t.items()}, ledger.present)


def test_no_feature_uses_anything_dated_after_its_as_of_date(demo_dir):
    ledger = Ledger.load(demo_dir)
    inv = ledger.invoices
    rng = np.random.default_rng(1)
    sample = inv.iloc[rng.choice(len(inv), 25, replace=False)]
    full = invoice_features(ledger, sample.index.to_numpy(), _days(sample["invoice_date"].to_numpy()))
    for k, (i, row) in enumerate(sample.iterrows()):
        cut = _cut(ledger, row["invoice_date"])
        pos = np.flatnonzero(cut.invoices["invoice_id"].to_numpy() == row["invoice_id"])
        got = invoice_features(cut, pos, _days(np.array([row["invoice_date"]])))
        for f in FEATURES:
            if f == "currency_code":
                continue   # a code among the currencies seen so far
            a, b = full.iloc[k][f], got.iloc[0][f]
            assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b), (row["invoice_id"], f, a, b)


def test_beats_the_baselines_on_the_demo(trained):
    model, m = trained
    assert m["auc"] > m["baseline_auc"] and m["auc"] > m["logistic_auc"]
    assert m["brier"] < m["baseline_logistic"]["brier"]
    assert {"auc", "pr_auc", "brier", "baseline_auc", "n_train", "n_test"} <= set(m)
    assert 0.6 < m["days_to_pay"]["coverage_80"] < 0.95
    assert len(m["calibration"]) >= 5


def test_required_columns_only_ledger(standard_demo, tmp_path):
    led = standard_demo
    req = {"customers": ["customer_id", "name", "currency", "payment_terms_days"],
           "invoices": ["invoice_id", "customer_id", "invoice_date", "due_date", "amount_minor"],
           "receipts": ["receipt_id", "receipt_date", "amount_minor", "payer_name", "reference"],
           "applications": ["receipt_id", "invoice_id", "amount_minor", "applied_date"]}
    tables = {}
    for name, frame in led.tables.items():
        if name in req:
            keep = [c for c in frame.columns if c in req[name] or c == "currency"]
            tables[name] = frame[keep]
        else:
            tables[name] = frame.iloc[0:0]
    slim = Ledger(tables, frozenset(req), "required columns only")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, m = train(slim, AS_OF)
    assert m["auc"] > m["baseline_auc"]


def test_guardrails(trained, standard_demo, tmp_path):
    model, _ = trained
    path = save_model(model, tmp_path / "m.pkl")
    again = load_model(path, AS_OF)
    X = invoice_features(standard_demo, np.arange(5), np.full(5, 20000))
    assert np.allclose(again.p_late(X), model.p_late(X))
    with pytest.raises(ValueError, match=r"lacks feature\(s\) \['paydex'\]"):
        model.p_late(X.drop(columns=["paydex"]))
    with pytest.raises(ValueError, match="differently typed feature"):
        model.p_late(X.astype({"month": "int64"}))
    with pytest.warns(UserWarning, match="trained as of 2026-09-30, 366 days before 2027-10-01"):
        load_model(path, "2027-10-01")
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF
    (tmp_path / "bad.pkl").write_bytes(bytes(data))
    with pytest.raises(Exception):
        load_model(tmp_path / "bad.pkl")


def test_scores_and_forecast(trained, standard_demo):
    model, _ = trained
    sc = score_open_items(standard_demo, model, AS_OF)
    open_ = standard_demo.open_items(AS_OF)
    assert len(sc) == len(open_) and sc["p_late"].between(0, 1).all()
    assert (sc["pay_date_low"] <= sc["expected_pay_date"]).all()
    assert (sc["expected_pay_date"] <= sc["pay_date_high"]).all()
    assert (sc["pay_date_low"] > np.datetime64(AS_OF)).all()
    fc = cash_forecast(standard_demo, model, AS_OF, weeks=13)
    assert fc.groupby("currency").size().tolist() == [13, 13, 13]
    for cur, g in fc.groupby("currency"):
        assert g["expected_minor"].sum() <= open_[open_["currency"] == cur]["open_minor"].sum()
    assert all(isinstance(v, int) for c in ("expected_minor", "low_minor", "high_minor")
               for v in fc[c].tolist())                          # exact integers, no float
    bt = backtest_forecast(standard_demo, model, ["2026-06-30"], weeks=13)
    assert len(bt) == 39 and (bt["actual_minor"] >= 0).all()
    card = model_card(model, bt)
    assert "# Payment-risk model card" in card and "customer-history baseline" in card


def test_forecast_sums_are_exact_integers():
    """sum(open * share) with shares in billionths, exact, rounded once half to even: a
    float sum of 10**17 minor units loses the units."""
    from workbench.risk import _expected_minor
    assert _expected_minor(np.array([100, 300]), np.array([500_000_000, 250_000_000])) == 125
    assert _expected_minor(np.array([1]), np.array([500_000_000])) == 0       # 0.5 -> even 0
    assert _expected_minor(np.array([3]), np.array([500_000_000])) == 2       # 1.5 -> even 2
    assert _expected_minor(np.array([1, 1]), np.array([250_000_001, 250_000_000])) == 1  # 0.500000001
    big = np.array([10**17 + 1, 10**17 + 2, 3], dtype=np.int64)   # 1,000,000,000,000,000.01 USD
    share = np.array([10**9, 10**9, 333_333_333], dtype=np.int64)
    assert _expected_minor(big, share) == 2 * 10**17 + 3 + 1          # 0.999999999 -> 1
    assert int(round(float((big.astype(float) * (share / 1e9)).sum()))) != 2 * 10**17 + 4


def test_cli(standard_demo, tmp_path, capsys):
    import json
    led = standard_demo.source
    assert main(["risk", "train", "--ledger", led, "--as-of", AS_OF, "--model", str(tmp_path / "m.pkl"),
                 "--card", str(tmp_path / "card.md")]) == 0
    m = json.loads(capsys.readouterr().out)
    assert {"auc", "pr_auc", "brier", "baseline_auc", "n_train", "n_test"} <= set(m)
    assert main(["risk", "score", "--ledger", led, "--model", str(tmp_path / "m.pkl"), "--as-of", AS_OF,
                 "--out", str(tmp_path / "s.csv")]) == 0
    s = pd.read_csv(tmp_path / "s.csv")
    assert list(s.columns)[:5] == ["invoice_id", "p_late", "expected_pay_date", "pay_date_low", "pay_date_high"]
    capsys.readouterr()
    assert main(["risk", "forecast", "--ledger", led, "--model", str(tmp_path / "m.pkl"), "--as-of", AS_OF,
                 "--weeks", "13", "--format", "json"]) == 0
    f = json.loads(capsys.readouterr().out)
    assert f["weeks"] == 13 and len(f["forecast"]) == 39


def test_scores_feed_the_worklist(trained, standard_demo):
    from workbench.collections import worklist
    from workbench.risk import customer_risk
    model, _ = trained
    risk = customer_risk(score_open_items(standard_demo, model, AS_OF))
    assert risk.between(0, 1).all()
    wl = worklist(standard_demo, AS_OF, risk_scores=risk)
    assert (wl["risk_source"] == "payment-risk model").mean() > 0.9


def test_training_cap_keeps_the_newest_invoices(standard_demo, trained):
    """``max_train_rows`` cuts the training window from its old end; the test month ends
    are the same as uncapped, sampled down to half the cap; ``evaluate=False`` fits
    without metrics."""
    _, full = trained
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, m = train(standard_demo, AS_OF, max_train_rows=2_000, evaluate=False)
    assert (m["n_train"], m["n_test"], m["test_from"]) == (2_000, 1_000, full["test_from"])
    assert full["n_test"] > 1_000
    assert m["evaluated"] is False and "auc" not in m
    assert model.window[0] < full["test_from"] and model.quantile_models


def _history_frame(n: int, seed: int, signal: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Invoices in time order: ``hist_settled`` settled invoices of which a share
    ``hist_share_late_n`` were late, and noise features. ``signal="history"``: the outcome
    is drawn from the customer's true late rate, which its history estimates; ``"amount"``:
    the outcome follows ``log_amount`` alone (the history says nothing)."""
    rng = np.random.default_rng(seed)
    rate = rng.beta(1.2, 4.0, n)
    settled = rng.integers(0, 30, n)
    late_seen = rng.binomial(settled, rate)
    X = pd.DataFrame({"hist_settled": settled.astype(float),
                      "hist_share_late_n": np.where(settled > 0, late_seen / np.maximum(settled, 1), np.nan),
                      "log_amount": rng.normal(8, 1, n), "noise_a": rng.normal(size=n),
                      "noise_b": rng.normal(size=n)})
    if signal == "history":
        y = rng.binomial(1, rate)
    else:
        y = rng.binomial(1, 1 / (1 + np.exp(-2.5 * (X["log_amount"].to_numpy() - 8.5))))
    return X, y


def test_selection_keeps_the_baseline_when_nothing_beats_it():
    from workbench.risk_models import LatePaymentClassifier
    X, y = _history_frame(3000, 1, "history")
    clf = LatePaymentClassifier().fit(X, y)
    v = clf.comparison_.set_index("candidate")
    assert clf.selected_ == "history" and "the baseline is the model" in clf.reason_
    assert list(v.index) == ["history", "logistic", "gradient_boosting", "blend"]
    assert (v["validation_rows"] == 600).all() and (v["fitted_rows"] == 2400).all()
    # the model is the baseline: p = (late + 2 * prior) / (settled + 2), prior = late rate of y
    p = clf.predict_proba(X.iloc[:3])[:, 1]
    prior = y.mean()
    n, s = X["hist_settled"].to_numpy()[:3], np.nan_to_num(X["hist_share_late_n"].to_numpy()[:3])
    assert p == pytest.approx((s * n + 2 * prior) / (n + 2))


def test_selection_takes_a_model_that_beats_the_baseline():
    from sklearn.base import clone
    from workbench.risk_models import LatePaymentClassifier
    X, y = _history_frame(3000, 2, "amount")
    clf = LatePaymentClassifier().fit(X, y)
    v = clf.comparison_.set_index("candidate")
    assert clf.selected_ in ("logistic", "gradient_boosting", "blend")
    assert v.at[clf.selected_, "auc"] >= v.at["history", "auc"] + 0.002
    assert v.at[clf.selected_, "brier"] <= v.at["history", "brier"]
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(ValueError, match="unknown candidate"):
        LatePaymentClassifier(candidates=("forest",)).fit(X, y)


def test_never_below_the_baseline_on_the_validation_window(trained):
    _, m = trained
    v = {r["candidate"]: r for r in m["selection"]["validation"]}
    chosen = m["selection"]["selected"]
    assert chosen != "history" and v[chosen]["auc"] >= v["history"]["auc"]
    assert "Platt" in m["selection"]["calibration"] or chosen == "logistic"


def test_forecast_backtest_within_a_budget(trained, standard_demo, tmp_path, capsys):
    import json
    model, _ = trained
    bt = backtest_forecast(standard_demo, model, ["2026-06-30", "2026-03-31"], weeks=13,
                           time_budget_s=0.0)
    assert len(bt) == 0 and bt.attrs["skipped"] == ["2026-06-30", "2026-03-31"]
    path = save_model(model, tmp_path / "m.pkl")
    assert main(["risk", "forecast", "--ledger", standard_demo.source, "--model", str(path), "--as-of", AS_OF,
                 "--backtest", "2", "--time-budget", "0", "--format", "json"]) == 0
    got = capsys.readouterr()
    doc = json.loads(got.out)
    assert doc["backtest"] == [] and doc["backtest_skipped"] == ["2026-07-01", "2026-04-01"]
    assert "backtest as of 2026-07-01 skipped" in got.err


def test_without_master_history_utilization_is_left_out(standard_demo, trained):
    """Without customer_changes the credit limit on past invoice dates is unknown: the
    model is trained without utilization (today's limit would look ahead) and says so."""
    model, _ = trained
    assert "utilization" in model.features
    tables = dict(standard_demo.tables)
    tables["customer_changes"] = tables["customer_changes"].iloc[0:0]
    bare = Ledger(tables, frozenset(standard_demo.present) - {"customer_changes"}, "no history")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m, metrics = train(bare, AS_OF, evaluate=False)
    assert "utilization" not in m.features
    assert any(n.startswith("utilization left out") for n in metrics["selection"]["notes"])


@pytest.mark.parametrize("invoices,customers", [(2_500, 100), (20_000, None)])
def test_out_of_time_not_below_the_baseline_on_noisy_demos(tmp_path, invoices, customers):
    """The model tests' default ledger is the noisy demo (habit switches, one-off delays,
    thin histories). Trained as of 2025-12-31, it scores the open, not-yet-due invoices at
    the eight month ends after that as an analyst meets it: the chosen model is at least
    as good as the customer's own late share on those outcomes (AUC and Brier score), and
    on the validation window by construction."""
    from workbench.risk import evaluate_open_items
    write_demo(tmp_path / "d", DemoConfig(invoices=invoices, customers=customers, seed=7, profile="noisy"),
               fmt="parquet")
    ledger = Ledger.load(tmp_path / "d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, m = train(ledger, "2025-12-31")
    v = {r["candidate"]: r for r in m["selection"]["validation"]}
    assert v[m["selection"]["selected"]]["auc"] >= v["history"]["auc"]
    ends = pd.date_range("2025-12-31", periods=8, freq="ME")
    ev = evaluate_open_items(ledger, model, ends).set_index("date").loc["all"]
    assert ev["invoices"] > (900 if invoices < 10_000 else 7_000)
    assert ev["model_auc"] >= ev["history_auc"] and ev["model_brier"] <= ev["history_brier"]
