"""The late-payment classifiers and the model selection that chooses between them.

Candidates, simplest first:

``history``
    The customer's own record: the share of its settled invoices paid late, shrunk toward
    the training late rate by ``prior_weight`` pseudo-invoices,
    ``p = (late + k * prior) / (settled + k)`` (a beta-binomial posterior mean; a new
    customer gets the prior). The one-line baseline every model must beat.
``logistic``
    An L2-regularised logistic regression on median-imputed, standardised features.
``gradient_boosting``
    Histogram gradient boosting, its probabilities mapped by Platt scaling (a logistic
    regression on the boosting's log-odds) fitted *out of time*, on a later window than the
    trees were fitted on (Platt 1999; scikit-learn's "sigmoid" calibration).
``blend``
    The mean of the calibrated boosting's and the logistic regression's probabilities.

:class:`LatePaymentClassifier` fits every candidate on the older part of the training window
and scores the newest ``validation_share`` of it (a time split: the rows must come in time
order). Selection: start from ``history``; a more complex candidate replaces the current
choice only when its validation ROC AUC is higher by at least ``min_auc_gain`` and its Brier
score is no worse than the history baseline's. When nothing qualifies, the baseline is the
model. The chosen candidate is then refitted on the whole training window (the boosting keeps
the Platt map learned on the validation window).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["HistoryBaseline", "PlattBoosting", "LatePaymentClassifier", "CANDIDATES", "scores",
           "logistic_model"]

CANDIDATES = ("history", "logistic", "gradient_boosting", "blend")

_NAMES = {"history": "the customer-history baseline", "logistic": "the logistic regression",
          "gradient_boosting": "gradient boosting", "blend": "the blend"}

CALIBRATION = {
    "history": "none needed: the customer's late share shrunk toward the training late rate",
    "logistic": "none: the logistic regression's own probabilities",
    "gradient_boosting": "Platt scaling (sigmoid) fitted out of time on the validation window",
    "blend": "mean of the Platt-scaled boosting and the logistic regression",
}


def scores(y, p) -> dict:
    """ROC AUC, Brier score and PR AUC of probabilities ``p`` for outcomes ``y`` (None when
    ``y`` has one class)."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y)
    p = np.clip(np.asarray(p, dtype=float), 0, 1)
    if len(np.unique(y)) < 2:
        return {"auc": None, "brier": None, "pr_auc": None}
    return {"auc": round(float(roc_auc_score(y, p)), 4),
            "brier": round(float(brier_score_loss(y, p)), 4),
            "pr_auc": round(float(average_precision_score(y, p)), 4)}


def _two_class(y) -> np.ndarray:
    y = np.asarray(y).astype(int)
    if not np.isin(y, (0, 1)).all():
        raise ValueError("the target must be 0 (on time) or 1 (late)")
    return y


class HistoryBaseline(ClassifierMixin, BaseEstimator):
    """The customer's late share so far, shrunk toward the training late rate.

    Parameters
    ----------
    share : str
        Column with the share of the customer's settled invoices paid late (NaN: none yet).
    count : str
        Column with the number of its settled invoices.
    prior_weight : float
        ``k``: pseudo-invoices at the training late rate added to every customer's record.
    """

    def __init__(self, share: str = "hist_share_late_n", count: str = "hist_settled",
                 prior_weight: float = 2.0):
        self.share = share
        self.count = count
        self.prior_weight = prior_weight

    def fit(self, X: pd.DataFrame, y):
        y = _two_class(y)
        for c in (self.share, self.count):
            if c not in X:
                raise ValueError(f"the history baseline needs column {c!r}")
        self.classes_ = np.array([0, 1])
        self.prior_ = float(y.mean()) if len(y) else 0.0
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def shrunk(share, count, prior: float, prior_weight: float) -> np.ndarray:
        """``(share * n + k * prior) / (n + k)``; no history (NaN) counts as none."""
        n = np.nan_to_num(np.asarray(count, dtype=float))
        share = np.nan_to_num(np.asarray(share, dtype=float))
        k = float(prior_weight)
        return (share * n + k * prior) / np.maximum(n + k, 1e-12)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "prior_")
        p = self.shrunk(X[self.share], X[self.count], self.prior_, self.prior_weight)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def logistic_model(seed: int):
    """The plain logistic regression (median imputation, standard scaling, L2): a
    candidate of :class:`LatePaymentClassifier` and the baseline the model card shows."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                         LogisticRegression(C=1.0, max_iter=1000, random_state=seed))


def _platt(p, y) -> tuple[float, float]:
    """(a, b) of ``sigmoid(a * logit(p) + b)`` fitted on outcomes ``y``; identity when ``y``
    has one class."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y)
    if len(np.unique(y)) < 2:
        return 1.0, 0.0
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    m = LogisticRegression(C=1e6, max_iter=1000).fit(np.log(p / (1 - p)).reshape(-1, 1), y)
    return float(m.coef_[0][0]), float(m.intercept_[0])


class PlattBoosting(ClassifierMixin, BaseEstimator):
    """Histogram gradient boosting with a Platt map; ``platt_`` is given (from a later
    window, out of time) or, when ``calibrate_share`` > 0, fitted on the newest
    ``calibrate_share`` of the rows by a twin fitted on the rest (rows in time order)."""

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 31,
                 l2_regularization: float = 1.0, calibrate_share: float = 0.0,
                 platt: tuple[float, float] | None = None, random_state: int = 0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.calibrate_share = calibrate_share
        self.platt = platt
        self.random_state = random_state

    def _trees(self):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes, l2_regularization=self.l2_regularization,
            random_state=self.random_state)

    def fit(self, X, y):
        y = _two_class(y)
        self.classes_ = np.array([0, 1])
        self.model_ = self._trees().fit(X, y)
        self.n_features_in_ = self.model_.n_features_in_
        if self.platt is not None:
            self.platt_ = tuple(self.platt)
        elif self.calibrate_share > 0:
            cut = int(len(y) * (1 - self.calibrate_share))
            twin = self._trees().fit(X.iloc[:cut] if hasattr(X, "iloc") else X[:cut], y[:cut])
            rest = X.iloc[cut:] if hasattr(X, "iloc") else X[cut:]
            self.platt_ = _platt(twin.predict_proba(rest)[:, 1], y[cut:])
        else:
            self.platt_ = (1.0, 0.0)
        return self

    def raw_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return self.model_.predict_proba(X)[:, 1]

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "platt_")
        p = np.clip(self.raw_proba(X), 1e-6, 1 - 1e-6)
        a, b = self.platt_
        q = 1 / (1 + np.exp(-(a * np.log(p / (1 - p)) + b)))
        return np.column_stack([1 - q, q])

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class _Blend(ClassifierMixin, BaseEstimator):
    """The mean of fitted classifiers' probabilities."""

    def __init__(self, estimators=()):
        self.estimators = estimators

    def fit(self, X, y):          # the parts come fitted
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.mean([e.predict_proba(X)[:, 1] for e in self.estimators], axis=0)
        return np.column_stack([1 - p, p])


class LatePaymentClassifier(ClassifierMixin, BaseEstimator):
    """Chooses between the candidates on a time split inside the training window (see the
    module's docstring for the rule) and refits the choice on every row.

    Parameters
    ----------
    candidates : tuple of str
        From :data:`CANDIDATES`; ``history`` is always included.
    validation_share : float
        The newest share of the rows (the rows must be in time order) scored to choose.
    min_auc_gain : float
        Validation AUC a more complex candidate must add over the current choice.
    prior_weight : float
        The history baseline's pseudo-invoices.
    random_state : int

    Attributes
    ----------
    selected_ : str
        The chosen candidate.
    comparison_ : DataFrame
        Per candidate: validation AUC, Brier score, PR AUC, rows fitted and scored, chosen.
    estimator_ : estimator
        The chosen candidate refitted on all rows.
    calibration_ : str
        How the chosen model's probabilities are calibrated.
    reason_ : str
        Why it was chosen, in words.
    """

    def __init__(self, candidates: tuple[str, ...] = CANDIDATES, validation_share: float = 0.2,
                 min_auc_gain: float = 0.002, prior_weight: float = 2.0, random_state: int = 0):
        self.candidates = candidates
        self.validation_share = validation_share
        self.min_auc_gain = min_auc_gain
        self.prior_weight = prior_weight
        self.random_state = random_state

    def _candidates(self) -> list[str]:
        unknown = [c for c in self.candidates if c not in CANDIDATES]
        if unknown:
            raise ValueError(f"unknown candidate(s) {unknown}; choose from {list(CANDIDATES)}")
        if not 0 < self.validation_share < 1:
            raise ValueError(f"validation_share must be in (0, 1); got {self.validation_share}")
        return [c for c in CANDIDATES if c in set(self.candidates) | {"history"}]

    def fit(self, X: pd.DataFrame, y, progress=None):
        say = progress or (lambda m: None)
        y = _two_class(y)
        names = self._candidates()
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        cut = int(round(len(y) * (1 - self.validation_share)))
        fit_X, fit_y, val_X, val_y = X.iloc[:cut], y[:cut], X.iloc[cut:], y[cut:]
        usable = len(np.unique(fit_y)) == 2 and len(np.unique(val_y)) == 2
        rows, fitted, p_val = [], {}, {}
        history = HistoryBaseline(prior_weight=self.prior_weight)
        if usable:
            for name in names:
                if name == "blend":
                    if "gradient_boosting" not in p_val or "logistic" not in p_val:
                        continue
                    p_val[name] = (p_val["gradient_boosting"] + p_val["logistic"]) / 2
                else:
                    say(f"fitting {name} on {len(fit_y):,} rows, scoring {len(val_y):,}")
                    if name == "history":
                        m = clone(history).fit(fit_X, fit_y)
                        p_val[name] = m.predict_proba(val_X)[:, 1]
                    elif name == "logistic":
                        m = logistic_model(self.random_state).fit(fit_X, fit_y)
                        p_val[name] = m.predict_proba(val_X)[:, 1]
                    else:
                        m = PlattBoosting(random_state=self.random_state).fit(fit_X, fit_y)
                        raw = m.raw_proba(val_X)
                        # Brier of the calibrated scores, each half mapped by the other's fit
                        half = len(val_y) // 2
                        cal = np.empty(len(val_y))
                        for a, b in ((slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))):
                            pa, pb = _platt(raw[a], val_y[a]), raw[b]
                            pb = np.clip(pb, 1e-6, 1 - 1e-6)
                            cal[b] = 1 / (1 + np.exp(-(pa[0] * np.log(pb / (1 - pb)) + pa[1])))
                        p_val[name] = cal
                        self.platt_ = _platt(raw, val_y)
                    fitted[name] = m
                rows.append({"candidate": name, **scores(val_y, p_val[name]),
                             "fitted_rows": int(len(fit_y)), "validation_rows": int(len(val_y))})
        table = pd.DataFrame(rows, columns=["candidate", "auc", "brier", "pr_auc", "fitted_rows",
                                            "validation_rows"])
        choice, reason = "history", ""
        if not usable:
            reason = ("the validation window or the rows before it hold one outcome only: "
                      "the history baseline is the model")
        else:
            by = table.set_index("candidate")
            base_brier = by.at["history", "brier"]
            for name in names[1:]:
                if name not in by.index:
                    continue
                better = by.at[name, "auc"] >= by.at[choice, "auc"] + self.min_auc_gain
                calibrated = by.at[name, "brier"] <= base_brier
                if better and calibrated:
                    choice = name
            if choice == "history":
                reason = ("no candidate beat the customer-history baseline on the validation "
                          f"window by {self.min_auc_gain} AUC with a Brier score no worse: the "
                          "baseline is the model")
            else:
                reason = (f"{_NAMES[choice]} has the highest validation AUC of the candidates "
                          f"that beat the simpler ones by {self.min_auc_gain} with a Brier score no "
                          "worse than the baseline's")
        table["selected"] = table["candidate"] == choice
        self.comparison_, self.selected_, self.reason_ = table, choice, reason
        self.calibration_ = CALIBRATION[choice]
        say(f"chosen: {choice}; refitting on {len(y):,} rows")
        self.estimator_ = self._refit(choice, X, y)
        return self

    def _refit(self, choice: str, X, y):
        if choice == "history":
            return HistoryBaseline(prior_weight=self.prior_weight).fit(X, y)
        parts = []
        if choice in ("logistic", "blend"):
            parts.append(logistic_model(self.random_state).fit(X, y))
        if choice in ("gradient_boosting", "blend"):
            parts.append(PlattBoosting(platt=self.platt_, random_state=self.random_state).fit(X, y))
        return parts[0] if len(parts) == 1 else _Blend(tuple(parts)).fit(X, y)

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
