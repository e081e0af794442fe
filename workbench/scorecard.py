"""A credit scorecard as a scikit-learn estimator: monotonic binning with weight of
evidence, a logistic regression on the WoE values, scaled to points.

Built on scikit-learn and numpy rather than ``optbinning``: optbinning installs here but
pulls in Google OR-Tools (a large native solver) for what a scorecard of a few dozen
features needs, a monotonic merge of quantile bins; the binning below is the classic
approach (quantile pre-bins, then adjacent bins pooled until the event rate is monotonic
in the direction of the feature's correlation with the target, with a minimum bin share),
small enough to read and test.

>>> sc = Scorecard().fit(X, y)                          # doctest: +SKIP
>>> sc.binning_table_                                   # doctest: +SKIP
>>> sc.score_points(X_new)                              # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.utils.validation import check_is_fitted

__all__ = ["Scorecard", "discrimination"]


def discrimination(y_true, score) -> dict:
    """AUC, Gini (2 AUC - 1) and the Kolmogorov-Smirnov statistic of a score."""
    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return {"auc": None, "gini": None, "ks": None}
    auc = roc_auc_score(y_true, score)
    fpr, tpr, _ = roc_curve(y_true, score)
    return {"auc": round(float(auc), 4), "gini": round(float(2 * auc - 1), 4),
            "ks": round(float(np.max(tpr - fpr)), 4)}


class Scorecard(ClassifierMixin, BaseEstimator):
    """Monotonic WoE binning + logistic regression, scaled to points.

    Parameters
    ----------
    max_bins : int
        Quantile pre-bins per feature before merging.
    min_bin_size : float
        Smallest share of rows a bin may hold, in (0, 0.5].
    pdo : float
        Points to double the odds (of being good).
    base_score : float
        Points at ``base_odds``.
    base_odds : float
        Good:bad odds that score ``base_score``.
    C : float
        Inverse regularisation strength of the logistic regression.
    """

    def __init__(self, max_bins: int = 10, min_bin_size: float = 0.05, pdo: float = 20.0,
                 base_score: float = 600.0, base_odds: float = 50.0, C: float = 1.0):
        self.max_bins = max_bins
        self.min_bin_size = min_bin_size
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.C = C

    # -------------------------------------------------------------- binning
    def _check_params(self):
        if not 0 < self.min_bin_size <= 0.5:
            raise ValueError(f"min_bin_size must be in (0, 0.5]; got {self.min_bin_size}.")
        if int(self.max_bins) < 2:
            raise ValueError(f"max_bins must be >= 2; got {self.max_bins}.")
        if self.pdo <= 0:
            raise ValueError(f"pdo must be > 0; got {self.pdo}.")
        if self.base_odds <= 0:
            raise ValueError(f"base_odds must be > 0; got {self.base_odds}.")

    def _bin_feature(self, x: np.ndarray, y: np.ndarray) -> dict:
        finite = ~np.isnan(x)
        xs, ys = x[finite], y[finite]
        qs = np.unique(np.quantile(xs, np.linspace(0, 1, int(self.max_bins) + 1)[1:-1])) if len(xs) else []
        edges = list(qs)
        # merge adjacent bins until event rates are monotonic and bins are large enough
        direction = np.sign(np.corrcoef(xs, ys)[0, 1]) if len(xs) > 2 and xs.std() > 0 and ys.std() > 0 else 1
        while True:
            idx = np.searchsorted(edges, xs, side="right")
            counts = np.bincount(idx, minlength=len(edges) + 1)
            events = np.bincount(idx, weights=ys, minlength=len(edges) + 1)
            rate = np.divide(events, counts, out=np.zeros_like(events, dtype=float), where=counts > 0)
            small = counts < self.min_bin_size * max(len(x), 1)
            diffs = np.diff(rate) * direction
            bad = np.flatnonzero(diffs < 0)
            if not edges:
                break
            if small.any():
                i = int(np.flatnonzero(small)[0])
                drop = min(i, len(edges) - 1)
            elif len(bad):
                drop = int(bad[0])
            else:
                break
            edges.pop(drop)
        idx_all = np.where(finite, np.searchsorted(edges, np.nan_to_num(x), side="right"), len(edges) + 1)
        n_bins = len(edges) + 2          # the last bin holds missing values
        counts = np.bincount(idx_all, minlength=n_bins).astype(float)
        events = np.bincount(idx_all, weights=y, minlength=n_bins)
        goods, bads = counts - events, events
        tg, tb = max(goods.sum(), 1), max(bads.sum(), 1)
        # WoE = ln(share of goods / share of bads), smoothed by 0.5 per cell
        woe = np.log(((goods + 0.5) / (tg + 0.5 * n_bins)) / ((bads + 0.5) / (tb + 0.5 * n_bins)))
        iv = float(np.sum(((goods + 0.5) / (tg + 0.5 * n_bins) - (bads + 0.5) / (tb + 0.5 * n_bins)) * woe))
        return {"edges": np.asarray(edges, dtype=float), "woe": woe, "counts": counts,
                "events": events, "iv": iv}

    def _woe(self, X: pd.DataFrame) -> np.ndarray:
        cols = []
        for name in self.feature_names_in_:
            b = self.bins_[name]
            x = X[name].to_numpy(dtype=float)
            idx = np.where(np.isnan(x), len(b["edges"]) + 1,
                           np.searchsorted(b["edges"], np.nan_to_num(x), side="right"))
            cols.append(b["woe"][idx])
        return np.column_stack(cols) if cols else np.zeros((len(X), 0))

    # -------------------------------------------------------------- estimator API
    def fit(self, X, y):
        """Bin each column of ``X`` (a DataFrame of numbers; NaN is its own bin) against the
        binary target ``y`` (1 = bad), then fit the logistic regression on WoE values."""
        self._check_params()
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=float), columns=[f"x{i}" for i in range(np.shape(X)[1])])
        y = np.asarray(y, dtype=float)
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
        if set(np.unique(y)) - {0.0, 1.0}:
            raise ValueError("y must be binary (0 = good, 1 = bad).")
        if len(np.unique(y)) < 2:
            raise ValueError("y holds one class only: a scorecard needs goods and bads.")
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.bins_ = {name: self._bin_feature(X[name].to_numpy(dtype=float), y)
                      for name in self.feature_names_in_}
        self.model_ = LogisticRegression(C=self.C, max_iter=1000)
        self.model_.fit(self._woe(X), y)
        self.classes_ = self.model_.classes_
        # points = offset + factor * ln(odds of good); odds of good = exp(-logit(bad))
        self.factor_ = self.pdo / np.log(2)
        self.offset_ = self.base_score - self.factor_ * np.log(self.base_odds)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "model_")
        X = self._frame(X)
        return self.model_.predict_proba(self._woe(X))

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def decision_function(self, X):
        return self.predict_proba(X)[:, 1]

    def score_points(self, X) -> np.ndarray:
        """Points (higher is safer): offset + factor * ln(odds of good)."""
        check_is_fitted(self, "model_")
        X = self._frame(X)
        logit_bad = self.model_.decision_function(self._woe(X))
        return self.offset_ + self.factor_ * (-logit_bad)

    def reason_codes(self, X, top: int = 3) -> list[list[str]]:
        """Per row, the features that cost the most points against the average applicant."""
        check_is_fitted(self, "model_")
        X = self._frame(X)
        contrib = -self._woe(X) * self.model_.coef_[0] * self.factor_      # points per feature
        out = []
        for row in contrib:
            order = np.argsort(row)[:top]
            out.append([f"{self.feature_names_in_[i]} ({row[i]:+.0f} points)" for i in order if row[i] < 0])
        return out

    def _frame(self, X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=float), columns=list(self.feature_names_in_))
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"X is missing feature(s) {missing}")
        return X

    @property
    def binning_table_(self) -> pd.DataFrame:
        """One row per (feature, bin): range, count, event rate, WoE, IV, points."""
        check_is_fitted(self, "model_")
        rows = []
        coef = dict(zip(self.feature_names_in_, self.model_.coef_[0]))
        for name in self.feature_names_in_:
            b = self.bins_[name]
            edges = [-np.inf, *b["edges"], np.inf]
            for i in range(len(b["woe"])):
                label = "missing" if i == len(b["woe"]) - 1 else f"[{edges[i]:.4g}, {edges[i + 1]:.4g})"
                n = b["counts"][i]
                rows.append({"feature": name, "bin": label, "count": int(n),
                             "event_rate": (b["events"][i] / n) if n else np.nan,
                             "woe": b["woe"][i], "iv": b["iv"],
                             "points": -b["woe"][i] * coef[name] * self.factor_})
        return pd.DataFrame(rows)
