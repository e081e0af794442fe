"""The credit scorecard (workbench.scorecard): weight of evidence and information value
against hand-computed values, categories (rare, unseen, missing), monotonic trends, IV
selection, the scikit-learn estimator contract and the error messages.

Hand-computed example (used by ``test_woe_and_iv_by_hand``). Convention (Siddiqi, *Credit
Risk Scorecards*): WoE = ln(%good / %bad), positive = safer than average; IV = sum over bins
of (%good - %bad) * WoE; no smoothing (``woe_smoothing=0``).

    grade   goods  bads   %good   %bad    WoE                     IV contribution
    A         50    10    0.50    1/6     ln(0.50 / (1/6)) = ln 3    (0.50 - 1/6) ln 3   = 0.366204
    B         30    20    0.30    1/3     ln(0.30 / (1/3)) = ln 0.9  (0.30 - 1/3) ln 0.9 = 0.003512
    C         20    30    0.20    1/2     ln(0.20 / 0.50)  = ln 0.4  (0.20 - 0.50) ln 0.4 = 0.274887
    total    100    60                                              IV = 0.644603

Bins are ordered by event rate (A 1/6, B 2/5, C 3/5); every grade holds at least 5 % of
the 160 rows, so none is pooled.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from workbench.scorecard import Scorecard, UnseenCategoryWarning, discrimination, woe_iv


def _grades():
    rows = [("A", 0)] * 50 + [("A", 1)] * 10 + [("B", 0)] * 30 + [("B", 1)] * 20 \
        + [("C", 0)] * 20 + [("C", 1)] * 30
    X = pd.DataFrame({"grade": [r[0] for r in rows]})
    return X, np.array([r[1] for r in rows])


def _signal(n=3000, shape="ascending", seed=0):
    """x uniform on [0, 1); bad probability rising, falling, or peaking in the middle."""
    rng = np.random.default_rng(seed)
    x = rng.random(n)
    z = {"ascending": 3 * x - 2, "descending": 1 - 3 * x,
         "peak": 1 - 12 * (x - 0.5) ** 2}[shape]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return pd.DataFrame({"x": x, "noise": rng.normal(size=n)}), y


def test_woe_and_iv_by_hand():
    X, y = _grades()
    sc = Scorecard(woe_smoothing=0, min_iv=0).fit(X, y)
    t = sc.binning_table("grade")
    assert t["bin"].tolist() == ["A", "B", "C", "missing"]
    assert t["count"].tolist() == [60, 50, 50, 0]
    assert t["events"].tolist() == [10, 20, 30, 0]
    assert t["event_rate"].iloc[:3].tolist() == pytest.approx([1 / 6, 0.4, 0.6])
    assert t["woe"].tolist() == pytest.approx([np.log(3), np.log(0.9), np.log(0.4), 0.0])
    assert t["iv"].tolist() == pytest.approx([0.366204, 0.003512, 0.274887, 0.0], abs=1e-6)
    assert sc.iv_["grade"] == pytest.approx(0.644603, abs=1e-6)
    # the same through the formula function, with the default 0.5 smoothing for a check
    woe, iv = woe_iv([50, 30, 20], [10, 20, 30], 100, 60, smoothing=0.5)
    assert woe[0] == pytest.approx(np.log((50.5 / 100) / (10.5 / 60)))
    assert iv[0] == pytest.approx((50.5 / 100 - 10.5 / 60) * woe[0])
    # the points of a bin: -factor * coef * WoE; the score adds them to base_points_
    pts = sc.feature_points(pd.DataFrame({"grade": ["A", "C"]}))["grade"].to_numpy()
    assert pts == pytest.approx(t["points"].iloc[[0, 2]].to_numpy())
    assert sc.score_points(pd.DataFrame({"grade": ["A", "C"]})) == pytest.approx(sc.base_points_ + pts)
    assert pts[0] > 0 > pts[1]                                  # A is safer than average


def test_unseen_category_is_neutral_and_reported():
    X, y = _grades()
    sc = Scorecard(min_iv=0).fit(X, y)
    with pytest.warns(UnseenCategoryWarning, match=r"column 'grade': 1 value\(s\) not seen in fit.*'Z'"):
        logit = sc.decision_function(pd.DataFrame({"grade": ["Z", "A"]}))
    assert logit[0] == pytest.approx(sc.model_.intercept_[0])    # WoE 0: the average applicant
    assert sc.feature_points(pd.DataFrame({"grade": ["A"]}))["grade"][0] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # seen values: no warning
        sc.predict_proba(X)


def test_missing_values_are_a_bin_of_their_own():
    rng = np.random.default_rng(1)
    x = rng.random(2000)
    y = (rng.random(2000) < 0.2).astype(int)
    miss = rng.random(2000) < 0.15
    x[miss] = np.nan
    y[miss] = (rng.random(miss.sum()) < 0.6).astype(int)        # missing is much riskier
    cat = np.where(rng.random(2000) < 0.5, "u", "v").astype(object)
    cat[miss] = None
    X = pd.DataFrame({"x": x, "c": cat})
    sc = Scorecard(woe_smoothing=0).fit(X, y)
    for f in ("x", "c"):
        t = sc.binning_table(f).set_index("bin")
        assert t.loc["missing", "count"] == miss.sum()
        g, b = (~y[miss].astype(bool)).sum(), y[miss].sum()
        G, B = (y == 0).sum(), y.sum()
        assert t.loc["missing", "woe"] == pytest.approx(np.log((g / G) / (b / B)))
        assert t.loc["missing", "woe"] < -1
    # a numeric column without missing values in fit: a missing value later scores 0
    sc2 = Scorecard().fit(pd.DataFrame({"x": np.nan_to_num(x)}), y)
    assert sc2.decision_function(pd.DataFrame({"x": [np.nan]}))[0] == pytest.approx(sc2.model_.intercept_[0])


def test_rare_categories_are_pooled_into_other():
    rng = np.random.default_rng(2)
    cats = rng.choice(["a", "b", "c", "r1", "r2"], p=[0.45, 0.3, 0.21, 0.02, 0.02], size=3000)
    p = pd.Series(cats).map({"a": 0.1, "b": 0.3, "c": 0.5, "r1": 0.3, "r2": 0.3}).to_numpy()
    y = (rng.random(3000) < p).astype(int)
    sc = Scorecard().fit(pd.DataFrame({"c": cats}), y)
    b = sc.bins_["c"]
    assert sorted(b["rare"]) == ["r1", "r2"] and b["map"]["r1"] == b["map"]["r2"]
    assert any(lbl.startswith("other (r1, r2)") or "other (r1, r2)" in lbl for lbl in b["labels"])
    assert (sc.binning_table("c")["share"].iloc[:-1] >= 0.05).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                          # a pooled category is not unseen
        sc.predict_proba(pd.DataFrame({"c": ["r2"]}))


@pytest.mark.parametrize("shape", ["ascending", "descending", "peak"])
def test_monotonic_trend_is_respected(shape):
    X, y = _signal(shape=shape)
    for trend in (shape, "auto"):
        sc = Scorecard(monotonic_trend={"x": trend}, max_bins=8, min_bin_size=0.05).fit(X, y)
        t = sc.binning_table("x")
        t = t[t["bin"] != "missing"]
        d = np.sign(np.diff(t["event_rate"].to_numpy()))
        assert len(t) >= 3 and (t["share"] >= 0.05 - 1e-12).all() and len(t) <= 8
        if shape == "ascending":
            assert (d > 0).all()
        elif shape == "descending":
            assert (d < 0).all()
        else:                                                   # up, then down, one turn
            top = int(np.argmax(t["event_rate"].to_numpy()))
            assert (d[:top] > 0).all() and (d[top:] < 0).all() and 0 < top < len(t) - 1
        assert sc.trend_["x"] == shape                          # auto finds the shape


def test_a_forced_trend_holds_against_the_data():
    """Ascending forced on a peak: the falling half is pooled, the rates still rise."""
    sc = Scorecard(monotonic_trend="ascending").fit(*_signal(shape="peak"))
    rates = sc.binning_table("x").query("bin != 'missing'")["event_rate"].to_numpy()
    assert len(rates) >= 2 and (np.diff(rates) > 0).all()


def test_information_value_selects_features():
    X, y = _signal()
    sc = Scorecard(min_iv=0.02).fit(X, y)
    assert sc.selected_features_ == ["x"]
    assert sc.iv_["x"] > 0.3 and sc.iv_["noise"] < 0.02
    assert list(sc.iv_.index) == ["x", "noise"]                 # largest first
    table = sc.binning_table_
    assert set(table["feature"]) == {"x", "noise"}
    assert (table.loc[table["feature"] == "noise", "points"] == 0).all()
    assert {"bin", "count", "share", "events", "event_rate", "woe", "iv", "points"} <= set(table)
    assert sc.model_.coef_.shape == (1, 1)


def test_sign_check_drops_a_feature_with_a_reversed_coefficient():
    """z1, z2 correlated (0.9), logit(bad) = 2 z1 - z2: alone z2 looks risky (its WoE falls
    as z2 rises), but given z1 it is protective, so its WoE coefficient comes out positive
    (a safer bin raising the odds of bad) and ``sign_check`` drops it."""
    rng = np.random.default_rng(4)
    z1 = rng.normal(size=4000)
    z2 = 0.9 * z1 + np.sqrt(1 - 0.81) * rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(2 * z1 - z2 - 1)))).astype(int)
    X = pd.DataFrame({"z1": z1, "z2": z2})
    loose = Scorecard(sign_check=False).fit(X, y)
    assert loose.model_.coef_[0][loose.selected_features_.index("z2")] > 0
    sc = Scorecard().fit(X, y)
    assert sc.selected_features_ == ["z1"] and (sc.model_.coef_ < 0).all()
    assert "wrong sign" in sc.removed_features_["z2"]


def test_probabilities_logit_and_classes():
    X, y = _signal(shape="ascending")
    X["grade"] = np.where(X["x"] > 0.5, "high", "low")
    sc = Scorecard().fit(X, y)
    p = sc.predict_proba(X)[:, 1]
    logit = sc.decision_function(X)
    assert logit == pytest.approx(np.log(p / (1 - p)))
    assert (sc.predict(X) == (p > 0.5)).all()
    assert discrimination(y, logit)["auc"] > 0.7
    # string labels: pos_label names the bad class, which becomes classes_[1]
    labels = np.where(y == 1, "bad", "good")
    sc2 = Scorecard(pos_label="bad").fit(X, labels)
    assert list(sc2.classes_) == ["good", "bad"]
    assert sc2.predict_proba(X)[:, 1] == pytest.approx(p)
    assert set(sc2.predict(X)) <= {"good", "bad"}
    # points: higher is safer; pdo points double the odds of good
    pts = sc.score_points(X)
    assert np.corrcoef(pts, logit)[0, 1] == pytest.approx(-1)
    assert sc.score_points(X.iloc[:1])[0] == pytest.approx(
        sc.offset_ + sc.pdo / np.log(2) * np.log((1 - p[0]) / p[0]))
    reasons = sc.reason_codes(X.iloc[:50], top=2)
    assert len(reasons) == 50 and all(len(r) <= 2 for r in reasons)
    assert all(r.endswith(" points)") and "(-" in r for rr in reasons for r in rr)


def test_errors_name_the_column_and_the_problem():
    X, y = _signal(n=400)
    with pytest.raises(ValueError, match=r"min_bin_size must be in \(0, 0.5\]; got 0.7."):
        Scorecard(min_bin_size=0.7).fit(X, y)
    with pytest.raises(ValueError, match="monotonic_trend must be one of"):
        Scorecard(monotonic_trend="up").fit(X, y)
    with pytest.raises(ValueError, match=r"one class only \(1\)"):
        Scorecard().fit(X, np.ones(len(y), dtype=int))
    with pytest.raises(ValueError, match="Only binary classification is supported"):
        Scorecard().fit(X, np.arange(len(y)) % 3)
    bad = X.copy()
    bad.loc[7, "noise"] = np.inf
    with pytest.raises(ValueError, match=r"column 'noise' holds infinite values \(1 rows, first at row 7\)"):
        Scorecard().fit(bad, y)
    empty = X.assign(blank=np.nan)
    with pytest.raises(ValueError, match=r"\['blank'\] hold only missing values"):
        Scorecard(on_all_missing="raise").fit(empty, y)
    with pytest.warns(UserWarning, match=r"\['blank'\] hold only missing values"):
        sc = Scorecard().fit(empty, y)
    assert "blank" not in sc.selected_features_
    with pytest.raises(ValueError, match=r"not in X: \['nope'\]"):
        Scorecard(categorical_features=["nope"]).fit(X, y)
    sc = Scorecard().fit(X, y)
    with pytest.raises(ValueError, match="noise"):             # a column missing at predict
        sc.predict_proba(X[["x"]])
    with pytest.raises(ValueError, match=r"column 'x' was numeric in fit but now holds text"):
        sc.predict_proba(X.assign(x="high"))
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        Scorecard().predict_proba(X)


def test_categorical_features_parameter_bins_codes_as_categories():
    rng = np.random.default_rng(3)
    code = rng.integers(0, 4, 2000)                              # 0..3, risk not ordered
    y = (rng.random(2000) < np.array([0.1, 0.5, 0.2, 0.4])[code]).astype(int)
    X = pd.DataFrame({"code": code})
    cat = Scorecard(categorical_features=["code"]).fit(X, y)
    num = Scorecard(monotonic_trend="ascending").fit(X, y)
    assert cat.bins_["code"]["kind"] == "categorical" and len(cat.bins_["code"]["labels"]) == 4
    assert cat.iv_["code"] > num.iv_["code"]


@parametrize_with_checks([Scorecard()])
def test_sklearn_estimator_contract(estimator, check):
    """scikit-learn's own checks; none is expected to fail (tags: allow_nan, categorical,
    binary only)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)
