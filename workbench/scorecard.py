"""A credit scorecard as a scikit-learn estimator: optimal monotonic binning with weight of
evidence (numeric and categorical columns, missing values in their own bin), selection by
information value, a logistic regression on the WoE values, scaled to points.

Built on scikit-learn and numpy rather than ``optbinning``: optbinning pulls in Google
OR-Tools (a large native solver) for what a scorecard of a few dozen features needs. The
binning below is exact all the same: a column is cut into at most ``n_prebins`` quantile
pre-bins, then a dynamic programme over the cut points finds the grouping of adjacent
pre-bins with the largest information value such that every bin holds at least
``min_bin_size`` of the rows, there are at most ``max_bins`` bins and the event rate follows
the trend (ascending, descending, peak or valley). With 20 pre-bins that is a few thousand
candidate bins, enumerated with numpy.

Conventions (Siddiqi, *Credit Risk Scorecards*, 2nd ed., Wiley 2017, ch. 6-8; Thomas,
Edelman & Crook, *Credit Scoring and Its Applications*, SIAM 2002, ch. 8): the event is
"bad" (the positive class, y = 1); in a bin with g goods and b bads, out of G goods and B
bads in all,

    WoE = ln( ((g + s) / G) / ((b + s) / B) )          (positive = safer than average)
    IV  = sum over bins of ((g + s) / G - (b + s) / B) * WoE

with ``s = woe_smoothing`` (0.5 by default, so that a bin without goods or bads stays
finite; ``s = 0`` gives the textbook values). An empty bin (e.g. no missing values in fit)
and a category never seen in fit get WoE 0, the population average. Points follow the usual
scaling: factor = pdo / ln 2, offset = base_score - factor * ln(base_odds), and
score = offset + factor * ln(odds of good) = offset - factor * logit(bad).

>>> sc = Scorecard().fit(X, y)                          # doctest: +SKIP
>>> sc.binning_table_                                   # doctest: +SKIP
>>> sc.score_points(X_new)                              # doctest: +SKIP
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (_assert_all_finite, check_is_fitted, column_or_1d,
                                      validate_data)

__all__ = ["Scorecard", "discrimination", "woe_iv", "optimal_groups", "UnseenCategoryWarning"]

TRENDS = ("auto", "ascending", "descending", "peak", "valley")
_PHASES = {"ascending": (1,), "descending": (-1,), "peak": (1, -1), "valley": (-1, 1)}


class UnseenCategoryWarning(UserWarning):
    """A categorical column holds values never seen in fit; they are scored WoE 0."""


def discrimination(y_true, score) -> dict:
    """AUC, Gini and the Kolmogorov-Smirnov statistic of a score (higher = more likely bad).

    Notes
    -----
    AUC = P(score of a random bad > score of a random good); Gini = 2 AUC - 1;
    KS = max over thresholds of (true positive rate - false positive rate)
    (Siddiqi 2017, ch. 10). ``None`` each when ``y_true`` holds one class.
    """
    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return {"auc": None, "gini": None, "ks": None}
    auc = roc_auc_score(y_true, score)
    fpr, tpr, _ = roc_curve(y_true, score)
    return {"auc": round(float(auc), 4), "gini": round(float(2 * auc - 1), 4),
            "ks": round(float(np.max(tpr - fpr)), 4)}


# ============================================================================ binning

def woe_iv(goods, bads, total_goods, total_bads, smoothing=0.5):
    """WoE and IV contribution per bin: ``ln(((g+s)/G) / ((b+s)/B))`` and
    ``((g+s)/G - (b+s)/B) * WoE``; bins with no rows get 0 for both."""
    goods, bads = np.asarray(goods, dtype=float), np.asarray(bads, dtype=float)
    dg = (goods + smoothing) / max(total_goods, 1)
    db = (bads + smoothing) / max(total_bads, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        woe = np.log(dg / db)
        iv = (dg - db) * woe
    empty = goods + bads == 0
    return np.where(empty, 0.0, woe), np.where(empty, 0.0, iv)


def optimal_groups(n, e, total_goods, total_bads, *, min_n, max_bins, trend, smoothing=0.5):
    """Group adjacent pre-bins (counts ``n``, events ``e``) to maximise the information
    value, each group holding at least ``min_n`` rows, at most ``max_bins`` groups, the event
    rate strictly following ``trend`` ("ascending", "descending", "peak": up then down,
    "valley": down then up; a peak or valley may also stay monotonic).

    Exact dynamic programme over (groups so far, phase of the trend, last group [i, j)),
    in the spirit of the mixed-integer formulation of Navas-Palencia, "Optimal binning:
    mathematical programming formulation", arXiv:2001.08025 (2020). Returns the group
    boundaries as pre-bin indices ``[0, ..., m]`` and the IV; one group when no grouping
    meets ``min_n``.
    """
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    m = len(n)
    cn, ce = np.concatenate([[0.0], np.cumsum(n)]), np.concatenate([[0.0], np.cumsum(e)])
    N = cn[None, :] - cn[:, None]                       # N[i, j]: rows in pre-bins [i, j)
    E = ce[None, :] - ce[:, None]
    _, iv = woe_iv(N - E, E, total_goods, total_bads, smoothing)
    idx = np.arange(m + 1)
    valid = (idx[:, None] < idx[None, :]) & (N >= min_n)
    gain = np.where(valid, iv, -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(N > 0, E / np.where(N > 0, N, 1), np.nan)
    # step[h, i, j]: sign of the change in event rate from group [h, i) to group [i, j)
    step = np.nan_to_num(np.sign(rate[None, :, :] - rate[:, :, None]), nan=0.0)
    phases = _PHASES[trend]
    K, P = max(1, min(int(max_bins), m)), len(phases)
    dp = np.full((K + 1, P, m + 1, m + 1), -np.inf)
    back = np.zeros((K + 1, P, m + 1, m + 1, 2), dtype=int)
    dp[1, 0, 0, :] = gain[0, :]
    for k in range(2, K + 1):
        for p in range(P):
            for q in {p, max(p - 1, 0)}:                 # stay in phase p or enter it
                cand = np.where(step == phases[p], dp[k - 1, q][:, :, None], -np.inf)
                h = np.argmax(cand, axis=0)
                best = np.take_along_axis(cand, h[None], axis=0)[0] + gain
                better = best > dp[k, p]
                dp[k, p] = np.where(better, best, dp[k, p])
                back[k, p][better] = np.stack([h, np.full_like(h, q)], axis=-1)[better]
    end = dp[:, :, :, m]                                 # (k, p, i) of groups ending at m
    if not np.isfinite(end).any():
        return [0, m], float(iv[0, m])
    k, p, i = np.unravel_index(np.argmax(end), end.shape)
    value, cuts, j = float(end[k, p, i]), [m], m
    while k >= 1:
        cuts.append(int(i))
        h, q = back[k, p, i, j]
        k, p, i, j = k - 1, q, h, i
    return sorted(set(cuts)), value


def _bic(n, e) -> float:
    """BIC of a binned event rate: -2 log-likelihood (binomial per bin) + bins * ln(rows)."""
    n, e = np.asarray(n, dtype=float), np.asarray(e, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = np.nansum(e * np.log(e / n)) + np.nansum((n - e) * np.log((n - e) / n))
    return float(-2 * ll + len(n) * np.log(max(n.sum(), 1)))


# ============================================================================ estimator

class Scorecard(ClassifierMixin, BaseEstimator):
    """Optimal WoE binning (numeric and categorical) + IV selection + logistic regression,
    scaled to points.

    Parameters
    ----------
    max_bins : int, default 10
        Most bins per feature, the missing bin not counted.
    min_bin_size : float, default 0.05
        Smallest share of the rows a bin may hold, in (0, 0.5]; categories below it are
        pooled into an "other" bin.
    pdo, base_score, base_odds : float, default 20, 600, 50
        Points to double the odds of good; points at ``base_odds`` (good:bad).
    C : float, default 1.0
        Inverse L2 regularisation strength of the logistic regression.
    categorical_features : list of str or int, optional
        Columns to bin as categories; object, string and category columns always are.
    monotonic_trend : str or dict, default "auto"
        Trend of the event (bad) rate against a numeric feature: "ascending", "descending",
        "peak", "valley" or "auto" (the best of ascending and descending by IV, replaced by
        the best peak or valley only when that lowers the BIC of the binned event rate by
        more than ln(rows), i.e. the turn counts as one more parameter); a dict maps
        feature names to trends ("auto" for the others). Categories are ordered by event rate.
    min_iv : float, default 0.02
        Features with a smaller information value are left out of the model (Siddiqi: below
        0.02 "not useful for prediction"); if none reaches it, the best one is kept.
    n_prebins : int, default 20
        Quantile pre-bins per numeric feature (each distinct value when there are fewer).
    woe_smoothing : float, default 0.5
        Pseudo-count added to goods and bads of each bin (``s`` in the module formulas).
    sign_check : bool, default True
        Drop, one at a time and refitting, features whose coefficient has the wrong sign
        (a higher WoE, i.e. a safer bin, raising the odds of bad), which correlated features
        produce; their points would contradict their binning table.
    pos_label : label, optional
        The "bad" class; by default the larger of the two labels (1 of 0/1).
    on_all_missing : {"warn", "raise"}, default "warn"
        A column with no values: left out with a warning naming it, or an error.

    Attributes
    ----------
    classes_ : ndarray, [negative (good), positive (bad)]
    n_features_in_, feature_names_in_ : fitted columns (names only for a DataFrame)
    bins_ : dict name -> binning (kind, edges or category map, counts, events, woe, iv)
    iv_ : pandas.Series, information value per feature, largest first
    trend_ : dict numeric feature -> trend used
    selected_features_ : list of the features in the model
    removed_features_ : dict feature -> why it is not in the model
    model_ : the LogisticRegression on the selected features' WoE
    factor_, offset_, base_points_ : points scaling; score = base_points_ + sum of points
    """

    def __init__(self, max_bins: int = 10, min_bin_size: float = 0.05, pdo: float = 20.0,
                 base_score: float = 600.0, base_odds: float = 50.0, C: float = 1.0,
                 categorical_features=None, monotonic_trend="auto", min_iv: float = 0.02,
                 n_prebins: int = 20, woe_smoothing: float = 0.5, sign_check: bool = True,
                 pos_label=None, on_all_missing: str = "warn"):
        self.max_bins = max_bins
        self.min_bin_size = min_bin_size
        self.pdo = pdo
        self.base_score = base_score
        self.base_odds = base_odds
        self.C = C
        self.categorical_features = categorical_features
        self.monotonic_trend = monotonic_trend
        self.min_iv = min_iv
        self.n_prebins = n_prebins
        self.woe_smoothing = woe_smoothing
        self.sign_check = sign_check
        self.pos_label = pos_label
        self.on_all_missing = on_all_missing

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True        # missing values are a bin of their own
        tags.input_tags.categorical = True      # object / string / category columns
        tags.classifier_tags.multi_class = False
        return tags

    # -------------------------------------------------------------- checks
    def _check_params(self):
        def bad(name, rule):
            return ValueError(f"{name} must be {rule}; got {getattr(self, name)!r}.")
        if not 0 < self.min_bin_size <= 0.5:
            raise bad("min_bin_size", "in (0, 0.5]")
        for name in ("max_bins", "n_prebins"):
            if int(getattr(self, name)) < 2:
                raise bad(name, ">= 2")
        for name in ("pdo", "base_odds", "C"):
            if not getattr(self, name) > 0:
                raise bad(name, "> 0")
        if not self.min_iv >= 0:
            raise bad("min_iv", ">= 0")
        if not self.woe_smoothing >= 0:
            raise bad("woe_smoothing", ">= 0")
        if isinstance(self.categorical_features, (str, int)):
            raise bad("categorical_features", "a list of column names or positions")
        if self.on_all_missing not in ("warn", "raise"):
            raise bad("on_all_missing", "'warn' or 'raise'")
        trends = self.monotonic_trend.values() if isinstance(self.monotonic_trend, dict) \
            else [self.monotonic_trend]
        if any(t not in TRENDS for t in trends):
            raise bad("monotonic_trend", f"one of {', '.join(TRENDS)} (or a dict of them)")

    def _frame(self, X, reset: bool) -> pd.DataFrame:
        """Validate X (column count and names against fit) and return it as a DataFrame."""
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[1] == 0 or X.shape[0] == 0:
                what = "feature(s)" if X.shape[1] == 0 else "sample(s)"
                raise ValueError(f"Found array with 0 {what} (shape={X.shape}) while a minimum "
                                 "of 1 is required.")
            return X
        arr = validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False)
        return pd.DataFrame(arr)

    def _target(self, y) -> np.ndarray:
        if y is None:
            raise ValueError("Scorecard requires y to be passed, but the target y is None.")
        y = column_or_1d(y, warn=True)
        if y.dtype.kind in "fc":
            _assert_all_finite(y, input_name="y", allow_nan=False)
        elif y.dtype.kind == "O" and pd.isna(y).any():
            raise ValueError("Input y contains NaN.")
        check_classification_targets(y)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        labels = np.unique(y)
        if y_type != "binary":
            raise ValueError(f"Only binary classification is supported. The type of the target "
                             f"is {y_type}: a scorecard needs goods and bads; got classes "
                             f"{labels.tolist()[:10]}.")
        if len(labels) < 2:
            raise ValueError(f"y holds one class only ({labels.tolist()[0]!r}): a scorecard "
                             "needs goods and bads (two classes).")
        if self.pos_label is None:
            self.classes_ = labels
        elif self.pos_label in labels:
            self.classes_ = np.array([labels[labels != self.pos_label][0], self.pos_label],
                                     dtype=labels.dtype)
        else:
            raise ValueError(f"pos_label={self.pos_label!r} is not a class of y "
                             f"{labels.tolist()}.")
        return (y == self.classes_[1]).astype(float)

    @staticmethod
    def _numbers(col: pd.Series, name) -> np.ndarray:
        if pd.api.types.is_complex_dtype(col):
            raise ValueError(f"Complex data not supported (column {name!r}).")
        if pd.api.types.is_datetime64_any_dtype(col) or pd.api.types.is_timedelta64_dtype(col):
            raise ValueError(f"column {name!r} holds dates ({col.dtype}); convert them to "
                             "numbers (e.g. days) first.")
        try:
            x = col.to_numpy(dtype=float, na_value=np.nan)
        except TypeError as exc:
            raise TypeError(f"column {name!r}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"column {name!r} was numeric in fit but now holds text: {exc}"
                             ) from None
        inf = np.isinf(x)
        if inf.any():
            raise ValueError(f"column {name!r} holds infinite values ({int(inf.sum())} rows, "
                             f"first at row {int(np.flatnonzero(inf)[0])}); replace them by a "
                             "number or by NaN (missing).")
        return x

    def _is_categorical(self, col: pd.Series, j: int, name) -> bool:
        named = self.categorical_features or ()
        if name in named or j in named:
            return True
        if isinstance(col.dtype, (pd.CategoricalDtype, pd.StringDtype)):
            return True
        if col.dtype == object:
            if pd.api.types.infer_dtype(col, skipna=True) == "string":
                return True
            try:
                self._numbers(col, name)
            except ValueError as exc:
                return "holds text" in str(exc)
        return False

    # -------------------------------------------------------------- binning one column
    def _bin_numeric(self, name, x, y, trend, min_n, totals) -> dict:
        ok = ~np.isnan(x)
        xs, ys = x[ok], y[ok]
        u = np.unique(xs)
        if len(u) <= int(self.n_prebins):
            edges = u[1:]
        else:
            q = np.quantile(xs, np.linspace(0, 1, int(self.n_prebins) + 1)[1:-1], method="lower")
            edges = np.unique(q[q > u[0]])
        idx = np.searchsorted(edges, xs, side="right")
        n = np.bincount(idx, minlength=len(edges) + 1).astype(float)
        e = np.bincount(idx, weights=ys, minlength=len(edges) + 1)
        s = float(self.woe_smoothing)
        options = {}
        for t in (["ascending", "descending", "peak", "valley"] if trend == "auto" else [trend]):
            cuts, value = optimal_groups(n, e, *totals, min_n=min_n, max_bins=self.max_bins,
                                         trend=t, smoothing=s)
            options[t] = (value, cuts)
        if trend == "auto":
            mono = max(("ascending", "descending"), key=lambda t: options[t][0])
            turn = max(("peak", "valley"), key=lambda t: options[t][0])

            def bic(t):
                c = options[t][1]
                return _bic(np.add.reduceat(n, c[:-1]), np.add.reduceat(e, c[:-1]))
            trend = turn if bic(turn) + np.log(max(len(xs), 1)) < bic(mono) - 1e-9 else mono
        cuts = options[trend][1]
        kept = edges[np.asarray(cuts[1:-1], dtype=int) - 1] if len(cuts) > 2 else edges[:0]
        b = {"kind": "numeric", "edges": np.asarray(kept, dtype=float), "trend": trend}
        return self._finish(name, b, self._index(b, x), y, totals)

    def _bin_categorical(self, name, col, y, min_n, totals) -> dict:
        keys = col.astype(object)
        miss = pd.isna(keys).to_numpy()
        try:
            stats = pd.DataFrame({"k": keys[~miss].to_numpy(), "y": y[~miss]}).groupby(
                "k", sort=False)["y"].agg(["size", "sum"])
        except TypeError as exc:
            raise TypeError(f"column {name!r}: a categorical argument must be a string or a "
                            f"number (hashable): {exc}") from None
        small = (stats["size"] < min_n).to_numpy()
        rare = stats.index[small].tolist()
        groups = [[k] for k in stats.index[~small]] + ([rare] if rare else [])
        n = np.array([stats.loc[g, "size"].sum() for g in groups], dtype=float)
        e = np.array([stats.loc[g, "sum"].sum() for g in groups], dtype=float)
        order = sorted(range(len(groups)), key=lambda i: (e[i] / n[i], str(groups[i])))
        cuts = optimal_groups(n[order], e[order], *totals, min_n=min_n, max_bins=self.max_bins,
                              trend="ascending", smoothing=float(self.woe_smoothing))[0] \
            if groups else [0]
        mapping, labels = {}, []
        for b, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
            parts = [f"other ({', '.join(map(str, rare))})" if groups[i] is rare
                     else str(groups[i][0]) for i in order[lo:hi]]
            mapping.update({k: b for i in order[lo:hi] for k in groups[i]})
            labels.append(", ".join(parts))
        b = {"kind": "categorical", "map": mapping, "labels": labels, "rare": rare}
        return self._finish(name, b, self._index(b, col), y, totals)

    def _finish(self, name, b, idx, y, totals) -> dict:
        nb = (len(b["edges"]) + 1) if b["kind"] == "numeric" else len(b["labels"])
        b["counts"] = np.bincount(idx, minlength=nb + 1).astype(float)
        b["events"] = np.bincount(idx, weights=y, minlength=nb + 1)
        b["woe"], b["iv_bins"] = woe_iv(b["counts"] - b["events"], b["events"], *totals,
                                        float(self.woe_smoothing))
        if not np.isfinite(b["woe"]).all():
            raise ValueError(f"column {name!r}: a bin has no goods or no bads, so its WoE is "
                             "infinite; set woe_smoothing > 0.")
        b["iv"] = float(b["iv_bins"].sum())
        return b

    @staticmethod
    def _index(b, col) -> np.ndarray:
        """Bin index per row; the last index (one past the bins) is the missing bin, -1 an
        unseen category."""
        if b["kind"] == "numeric":
            x = np.asarray(col, dtype=float)
            return np.where(np.isnan(x), len(b["edges"]) + 1,
                            np.searchsorted(b["edges"], np.nan_to_num(x), side="right"))
        keys = pd.Series(col).astype(object)
        idx = keys.map(b["map"]).to_numpy(dtype=float, na_value=np.nan)
        miss = pd.isna(keys).to_numpy()
        return np.where(miss, len(b["labels"]), np.where(np.isnan(idx), -1, idx)).astype(int)

    # -------------------------------------------------------------- estimator API
    def fit(self, X, y):
        """Bin every column of ``X`` against the binary target ``y`` (``pos_label`` or the
        larger label = bad), keep the features with IV >= ``min_iv`` and fit the logistic
        regression on their WoE. Returns self."""
        self._check_params()
        X = self._frame(X, reset=True)
        y01 = self._target(y)
        if len(y01) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y01)}.")
        self.columns_ = (list(self.feature_names_in_) if hasattr(self, "feature_names_in_")
                         else [f"x{j}" for j in range(X.shape[1])])
        unknown = [c for c in (self.categorical_features or ())
                   if c not in self.columns_ and not (isinstance(c, (int, np.integer))
                                                      and 0 <= c < X.shape[1])]
        trends = self.monotonic_trend if isinstance(self.monotonic_trend, dict) else {}
        unknown += [c for c in trends if c not in self.columns_]
        if unknown:
            raise ValueError(f"categorical_features / monotonic_trend name column(s) not in X: "
                             f"{unknown}; X has {self.columns_[:20]}.")
        default = "auto" if isinstance(self.monotonic_trend, dict) else self.monotonic_trend
        totals = (float(len(y01) - y01.sum()), float(y01.sum()))
        min_n = self.min_bin_size * len(y01)
        self.bins_, empty = {}, []
        for j, name in enumerate(self.columns_):
            col = X.iloc[:, j]
            if self._is_categorical(col, j, name):
                self.bins_[name] = self._bin_categorical(name, col, y01, min_n, totals)
            else:
                x = self._numbers(col, name)
                if np.isnan(x).all():
                    empty.append(name)
                self.bins_[name] = self._bin_numeric(name, x, y01, trends.get(name, default),
                                                     min_n, totals)
        empty += [n for n, b in self.bins_.items() if b["kind"] == "categorical"
                  and not b["labels"]]
        if empty:
            msg = f"column(s) {empty} hold only missing values: no information to bin"
            if self.on_all_missing == "raise":
                raise ValueError(msg + ".")
            warnings.warn(msg + "; left out of the model.", UserWarning, stacklevel=2)
        self.iv_ = pd.Series({n: b["iv"] for n, b in self.bins_.items()},
                             name="iv").sort_values(ascending=False, kind="stable")
        self.trend_ = {n: b["trend"] for n, b in self.bins_.items() if b["kind"] == "numeric"}
        chosen = [n for n in self.columns_ if self.iv_[n] >= self.min_iv and n not in empty]
        if not chosen:
            chosen = [([n for n in self.iv_.index if n not in empty] or list(self.iv_.index))[0]]
            warnings.warn(f"no feature reaches min_iv={self.min_iv}; kept the best one, "
                          f"{chosen[0]!r} (IV {self.iv_[chosen[0]]:.4f}).", UserWarning,
                          stacklevel=2)
        self.removed_features_ = {
            n: "only missing values" if n in empty else f"IV {self.iv_[n]:.4f} < min_iv"
            for n in self.columns_ if n not in chosen}
        self.selected_features_ = chosen
        W = self._woe_matrix(X, warn=False)
        while True:
            self.model_ = LogisticRegression(C=self.C, max_iter=1000).fit(W, y01)
            coef = self.model_.coef_[0]
            if not (self.sign_check and len(chosen) > 1 and (coef > 0).any()):
                break
            # a safer bin (higher WoE) raising the odds of bad: the points would contradict
            # the binning table; drop the worst such feature and refit (Siddiqi, ch. 7)
            worst = int(np.argmax(coef))
            self.removed_features_[chosen[worst]] = f"coefficient {coef[worst]:+.3f}: wrong sign"
            chosen = chosen[:worst] + chosen[worst + 1:]
            W = np.delete(W, worst, axis=1)
        self.selected_features_ = chosen
        self.factor_ = self.pdo / np.log(2)
        self.offset_ = self.base_score - self.factor_ * np.log(self.base_odds)
        self.base_points_ = float(self.offset_ - self.factor_ * self.model_.intercept_[0])
        return self

    def _woe_matrix(self, X: pd.DataFrame, warn: bool = True) -> np.ndarray:
        cols = []
        for name in self.selected_features_:
            b, col = self.bins_[name], X.iloc[:, self.columns_.index(name)]
            if b["kind"] == "numeric":
                col = self._numbers(col, name)
            idx = self._index(b, col)
            unseen = idx < 0
            if warn and unseen.any():
                values = pd.unique(pd.Series(col).astype(object)[unseen])
                warnings.warn(f"column {name!r}: {len(values)} value(s) not seen in fit, scored "
                              f"as neutral (WoE 0): {', '.join(map(repr, values[:10]))}"
                              f"{' ...' if len(values) > 10 else ''}", UnseenCategoryWarning,
                              stacklevel=3)
            cols.append(np.where(unseen, 0.0, b["woe"][idx]))
        return np.column_stack(cols)

    def _woe(self, X) -> np.ndarray:
        """WoE of the selected features (the design matrix of ``model_``)."""
        check_is_fitted(self, "model_")
        return self._woe_matrix(self._frame(X, reset=False))

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of the positive class (bad): intercept + sum of coef * WoE."""
        w = self._woe(X)
        return self.model_.decision_function(w)

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities in the order of ``classes_``: [:, 1] is the probability of bad."""
        w = self._woe(X)
        return self.model_.predict_proba(w)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The class: bad (``classes_[1]``) where the log-odds of bad are above 0."""
        bad = self.decision_function(X) > 0
        return self.classes_[bad.astype(int)]

    def feature_points(self, X) -> pd.DataFrame:
        """Points per selected feature and row: -factor * coef * WoE (0 = average)."""
        pts = -self._woe(X) * self.model_.coef_[0] * self.factor_
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(pts, columns=self.selected_features_, index=index)

    def score_points(self, X) -> np.ndarray:
        """Points (higher is safer): offset - factor * logit(bad) = base_points_ + sum of
        the feature points."""
        return self.offset_ - self.factor_ * self.decision_function(X)

    def reason_codes(self, X, top: int = 3) -> list[list[str]]:
        """Per row, up to ``top`` features that cost the most points against the average
        applicant (WoE 0), as "feature (-12 points)"."""
        pts = self.feature_points(X).to_numpy()
        out = []
        for row in pts:
            order = np.argsort(row, kind="stable")[:top]
            out.append([f"{self.selected_features_[i]} ({row[i]:+.0f} points)"
                        for i in order if row[i] < 0])
        return out

    # -------------------------------------------------------------- tables
    def binning_table(self, feature) -> pd.DataFrame:
        """The binning of one feature: bin, count, share, events (bads), non-events, event
        rate, WoE, IV contribution, points (0 when the feature is not selected)."""
        check_is_fitted(self, "model_")
        if feature not in self.bins_:
            raise KeyError(f"no feature {feature!r}; features: {self.columns_}")
        b = self.bins_[feature]
        if b["kind"] == "numeric":
            edges = [-np.inf, *b["edges"], np.inf]
            labels = [f"[{lo:.6g}, {hi:.6g})" for lo, hi in zip(edges[:-1], edges[1:])]
        else:
            labels = list(b["labels"])
        sel = feature in self.selected_features_
        coef = self.model_.coef_[0][self.selected_features_.index(feature)] if sel else 0.0
        n, ev = b["counts"], b["events"]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, ev / np.where(n > 0, n, 1), np.nan)
        return pd.DataFrame({
            "feature": feature, "bin": labels + ["missing"], "count": n.astype(int),
            "share": n / n.sum(), "events": ev.astype(int), "non_events": (n - ev).astype(int),
            "event_rate": rate, "woe": b["woe"], "iv": b["iv_bins"],
            "points": -b["woe"] * coef * self.factor_ + 0.0, "selected": sel})

    @property
    def binning_table_(self) -> pd.DataFrame:
        """Every feature's binning table, one row per (feature, bin), in column order."""
        check_is_fitted(self, "model_")
        return pd.concat([self.binning_table(f) for f in self.columns_], ignore_index=True)
