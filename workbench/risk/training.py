"""Training the payment-risk model on a time split against its baselines; saving and
loading it."""

from __future__ import annotations

import hashlib
import pickle
import platform
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from .features import FEATURES, _Streams, invoice_features


def training_frame(ledger: Ledger, as_of, late_days: int = 30,
                   streams: _Streams | None = None) -> pd.DataFrame:
    """Training rows as the model is used: at each month end before ``as_of`` (from the
    first full month of the ledger), every open invoice whose lateness is not yet decided
    (not yet due, or at most ``late_days`` past due) and whose outcome is known on
    ``as_of``; features as of that month end (events up to and including it), ``late``
    (paid more than ``late_days`` after due, or still unpaid that long after due),
    ``days_to_pay`` from the invoice date (settled ones), ``snapshot_day`` and
    ``invoice_day``.

    Why snapshots rather than one row per invoice at its issue date: the model scores open
    items at a date (the worklist, the forecast); trained at issue dates it never saw an
    invoice that has been open for weeks, nor the fast payers' absence from the open book,
    and out of time it lost to the customer's own late share (issue 11)."""
    D = to_date(as_of)
    d = int(np.datetime64(D.date(), "D").astype(np.int64))
    s = streams or _Streams(ledger, late_days)
    inv_day = s.inv_day
    inv_ids = ledger.invoices["invoice_id"].to_numpy(dtype=object)
    cust_ids = ledger.invoices["customer_id"].to_numpy(dtype=object)
    start = ledger.first_date + pd.offsets.MonthEnd(1) if ledger.first_date is not None else D
    frames = []
    for M in pd.date_range(start, D, freq="ME"):
        day, pos, late, settled_by, settle = _open_with_outcome(ledger, s, M, d, late_days,
                                                                late_days)
        if not len(pos):
            continue
        X = invoice_features(ledger, pos, np.full(len(pos), day + 1), s)
        X["late"] = late
        X["days_to_pay"] = np.where(settled_by, settle - inv_day[pos], np.nan)
        X["snapshot_day"] = day
        X["invoice_day"] = inv_day[pos]
        X["invoice_id"] = inv_ids[pos]
        X["customer_id"] = cust_ids[pos]
        frames.append(X)
    if not frames:
        return pd.DataFrame(columns=[*FEATURES, "late", "days_to_pay", "snapshot_day", "invoice_day",
                                     "invoice_id", "customer_id"])
    return pd.concat(frames, ignore_index=True)


def _open_with_outcome(ledger: Ledger, s: _Streams, at, known_by: int, late_days: int,
                       max_days_past_due: int):
    """The open invoices on ``at`` at most ``max_days_past_due`` days past due whose outcome
    is known on day ``known_by`` (settled by then, or more than ``late_days`` past due):
    ``(day of at, positions, late 0/1, settled, settlement day)``. Settled and days late
    are the ledger's settlement as known on ``known_by`` (:meth:`Ledger.settlement`: a
    recovery not yet re-settled leaves the invoice open). Shared by the training rows and
    the out-of-time evaluation, so both read one definition of late."""
    day = int(np.datetime64(to_date(at).date(), "D").astype(np.int64))
    items = ledger.open_items(at, customer_columns=())
    pos = pd.Index(ledger.invoices["invoice_id"]).get_indexer(items["invoice_id"])
    pos = pos[day - s.due_day[pos] <= max_days_past_due]
    settle = s.settled_days_at(known_by)[pos]
    settled = settle <= known_by
    known = settled | (known_by - s.due_day[pos] > late_days)
    pos, settled, settle = pos[known], settled[known], settle[known]
    days_late = np.where(settled, settle - s.due_day[pos], known_by - s.due_day[pos])
    return day, pos, (days_late > late_days).astype(int), settled, settle


def _metrics(y, p) -> dict:
    """:func:`workbench.risk_models.scores` and the lift of the top decile."""
    from ..risk_models import scores

    y = np.asarray(y)
    p = np.clip(np.asarray(p, dtype=float), 0, 1)
    out = scores(y, p)
    if out["auc"] is None:
        return {**out, "lift_top_decile": None}
    top = np.argsort(-p)[: max(len(p) // 10, 1)]
    return {**out, "lift_top_decile": round(float(y[top].mean() / max(y.mean(), 1e-9)), 3)}


def _calibration(y, p, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                        "predicted": round(float(p[m].mean()), 4), "observed": round(float(np.mean(y[m])), 4)})
    return out


@dataclass
class RiskModel:
    """A trained payment-risk model with what it needs to be trusted and checked."""

    classifier: object
    quantile_models: dict
    features: list
    dtypes: dict
    late_days: int
    trained_as_of: str
    window: tuple
    metrics: dict
    versions: dict
    sha256: str = ""

    def check(self, X: pd.DataFrame) -> None:
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise ValueError(f"scoring data lacks feature(s) {missing}")
        wrong = [f"{f} ({X[f].dtype}, model {self.dtypes[f]})" for f in self.features
                 if str(X[f].dtype) != self.dtypes[f]]
        if wrong:
            raise ValueError(f"scoring data has differently typed feature(s): {', '.join(wrong)}")

    def p_late(self, X: pd.DataFrame) -> np.ndarray:
        self.check(X)
        return self.classifier.predict_proba(X[self.features])[:, 1]

    def days_to_pay(self, X: pd.DataFrame) -> dict:
        self.check(X)
        out = {q: m.predict(X[self.features]) for q, m in self.quantile_models.items()}
        lo, mid, hi = np.sort(np.column_stack([out[0.1], out[0.5], out[0.9]]), axis=1).T
        return {0.1: lo, 0.5: mid, 0.9: hi}


MAX_TRAIN_ROWS = 250_000


def train(ledger: Ledger, as_of, late_days: int = 30, test_share: float = 0.25,
          seed: int = 0, max_train_rows: int | None = MAX_TRAIN_ROWS,
          evaluate: bool = True, progress=None) -> tuple[RiskModel, dict]:
    """Train the late-payment model as of a date, chosen against the baselines.

    Rows: invoices issued before ``as_of`` whose outcome is known then, in issue order. The
    newest ``test_share`` are held out (the test set, reported only). On the rest,
    :class:`workbench.risk_models.LatePaymentClassifier` fits the customer-history baseline,
    a logistic regression, gradient boosting and their blend on the older 80 %, scores the
    newest 20 % (the validation window) and keeps the simplest candidate that beats the
    baseline there (AUC and Brier score); when none does, the baseline is the model. Days to
    pay: quantile gradient boosting (10th, 50th, 90th percentiles) on the settled invoices.

    ``max_train_rows``: train on at most this many of the newest training invoices (None:
    all). On the 1M-invoice demo (669 k training rows, one thread) 250 k rows train in
    32 s instead of 77 s for the same test AUC (0.8867 against 0.8866; benchmarks/README.md);
    the test set is never cut. ``evaluate=False`` fits only (the forecast backtest's retrains
    at past dates): no test metrics or importance. ``progress``: a callable taking a message.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    from ..risk_models import HistoryBaseline, LatePaymentClassifier, logistic_model

    say = progress or (lambda m: None)
    D = to_date(as_of)
    say(f"training data as of {D.date()}")
    data = training_frame(ledger, D, late_days)
    if len(data) < 200 or data["late"].nunique() < 2:
        raise ValueError(f"too little history to train on before {D.date()}: {len(data)} invoices "
                         f"with a known outcome, {int(data['late'].sum())} late")
    data = data.sort_values(["snapshot_day", "invoice_day"], kind="stable")
    split = data["snapshot_day"].quantile(1 - test_share)
    tr, te = data[data["snapshot_day"] < split], data[data["snapshot_day"] >= split]
    if not len(tr) or not len(te):
        raise ValueError(f"too little history to train on before {D.date()}: {len(data)} open "
                         "invoices at month ends with a known outcome, all in one month")
    if max_train_rows is not None and len(tr) > max_train_rows:
        tr = tr.iloc[len(tr) - int(max_train_rows):]       # the newest, as sorted above
    if max_train_rows is not None and len(te) > max_train_rows // 2:
        # a sample of the test month ends (in order) is enough to measure the model
        te = te.sample(max_train_rows // 2, random_state=seed).sort_index()
    # a feature the ledger cannot provide (no bureau table, say) is left out of the model
    cols = [f for f in FEATURES if tr[f].notna().any()]
    notes = []
    if "utilization" not in cols and "credit_limit_minor" in ledger.customers:
        notes.append("utilization left out: the ledger has no customer_changes history, so the "
                     "credit limit in force on past invoice dates is unknown (today's limit "
                     "would look ahead)")
    for n in notes:
        say(n)
    clf = LatePaymentClassifier(random_state=seed).fit(tr[cols], tr["late"].to_numpy(), progress=say)
    say("days-to-pay quantiles")
    settled = tr[tr["days_to_pay"].notna()]
    if len(settled) > 100_000:          # three quantile models: the newest 100,000 are plenty
        settled = settled.iloc[len(settled) - 100_000:]
    qm = {}
    for q in (0.1, 0.5, 0.9):
        qm[q] = HistGradientBoostingRegressor(loss="quantile", quantile=q, max_iter=60, learning_rate=0.15,
                                              random_state=seed).fit(settled[cols], settled["days_to_pay"])
    import sklearn
    versions = {"python": platform.python_version(), "scikit-learn": sklearn.__version__,
                "pandas": pd.__version__, "numpy": np.__version__}
    window = (str(np.datetime64(int(data["snapshot_day"].min()), "D")), str(D.date()))
    selection = {"selected": clf.selected_, "reason": clf.reason_, "calibration": clf.calibration_,
                 "validation": clf.comparison_.to_dict("records")}
    selection["notes"] = notes
    if not evaluate:
        metrics = {"n_train": int(len(tr)), "n_test": int(len(te)), "late_days": late_days,
                   "test_from": str(np.datetime64(int(split), "D")), "evaluated": False,
                   "selection": selection}
        return RiskModel(clf, qm, cols, {c: str(tr[c].dtype) for c in cols}, late_days,
                         str(D.date()), window, metrics, versions), metrics
    say(f"evaluating on the {len(te):,} newest invoices")
    p_model = clf.predict_proba(te[cols])[:, 1]
    p_hist = HistoryBaseline(prior_weight=clf.prior_weight).fit(tr[cols], tr["late"]).predict_proba(te[cols])[:, 1]
    lr = clf.estimator_ if clf.selected_ == "logistic" else logistic_model(seed).fit(tr[cols], tr["late"])
    p_lr = lr.predict_proba(te[cols])[:, 1]
    te_s = te[te["days_to_pay"].notna()]
    preds = {q: m.predict(te_s[cols]) for q, m in qm.items()}
    lo, mid, hi = np.sort(np.column_stack([preds[0.1], preds[0.5], preds[0.9]]), axis=1).T
    y_days = te_s["days_to_pay"].to_numpy()
    metrics = {
        "n_train": int(len(tr)), "n_test": int(len(te)), "late_days": late_days,
        "late_rate_train": round(float(tr["late"].mean()), 4), "late_rate_test": round(float(te["late"].mean()), 4),
        "model": _metrics(te["late"], p_model), "baseline_history": _metrics(te["late"], p_hist),
        "baseline_logistic": _metrics(te["late"], p_lr),
        "calibration": _calibration(te["late"].to_numpy(), p_model),
        "days_to_pay": {"mae_median": round(float(np.mean(np.abs(mid - y_days))), 2) if len(y_days) else None,
                        "coverage_80": round(float(np.mean((y_days >= lo) & (y_days <= hi))), 4) if len(y_days) else None},
        "test_from": str(np.datetime64(int(split), "D")),
        "selection": selection,
    }
    metrics.update({"auc": metrics["model"]["auc"], "pr_auc": metrics["model"]["pr_auc"],
                    "brier": metrics["model"]["brier"], "baseline_auc": metrics["baseline_history"]["auc"],
                    "logistic_auc": metrics["baseline_logistic"]["auc"]})
    # importance: permutation on the test set (the model card shows it)
    from sklearn.inspection import permutation_importance
    sample = te.sample(min(len(te), 2500), random_state=seed)
    if sample["late"].nunique() == 2:
        say("permutation importance")
        imp = permutation_importance(clf, sample[cols], sample["late"], scoring="roc_auc",
                                     n_repeats=3, random_state=seed)
        metrics["importance"] = sorted(({"feature": f, "auc_drop": round(float(v), 4)}
                                        for f, v in zip(cols, imp.importances_mean)),
                                       key=lambda r: -r["auc_drop"])
    else:
        metrics["importance"] = []
    model = RiskModel(clf, qm, cols, {c: str(tr[c].dtype) for c in cols}, late_days, str(D.date()),
                      window, metrics, versions)
    model.evaluation = pd.DataFrame({"late": te["late"].to_numpy(), "model": p_model,
                                     "logistic": p_lr, "history": p_hist})
    return model, metrics


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Pickle the model with a SHA-256 of its content (checked on load)."""
    from ..io.writer import atomic_path

    model.sha256 = ""
    body = pickle.dumps(model)
    model.sha256 = hashlib.sha256(body).hexdigest()
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(pickle.dumps({"kind": "workbench-risk-model", "body": body,
                                            "sha256": model.sha256}))
    return Path(path)


def _risk_spec():
    """The payment-risk policy's keys (beside name, version, description)."""
    from ..policy import PolicySpec, Whole

    return PolicySpec("payment risk", {
        "late_days": Whole(minimum=1, doc="paid more than this many days after due = late"),
        "model_max_age_days": Whole(minimum=1, doc="a saved model older than this warns"),
    })


def risk_policy(path: str | Path = "risk") -> dict:
    """The payment-risk policy (``policies/risk.yaml``): ``late_days``,
    ``model_max_age_days`` (whole numbers >= 1), with ``name`` and ``version``; every
    problem reported together (:mod:`workbench.policy`)."""
    doc = _risk_spec().read(path)
    doc.check()
    return dict(doc.values)


def load_model(path: str | Path, as_of=None, max_age_days: int | None = None) -> RiskModel:
    """Load a saved model; refuse a corrupted file; warn when it is older than the policy's
    ``model_max_age_days`` at ``as_of``."""
    if max_age_days is None:
        max_age_days = risk_policy()["model_max_age_days"]
    with open(path, "rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, dict) or obj.get("kind") != "workbench-risk-model":
        raise ValueError(f"{path} is not a payment-risk model saved by 'workbench risk train'")
    if hashlib.sha256(obj["body"]).hexdigest() != obj["sha256"]:
        raise ValueError(f"{path}: content does not match its hash (corrupted or edited)")
    model = pickle.loads(obj["body"])
    model.sha256 = obj["sha256"]
    if as_of is not None:
        age = (to_date(as_of) - to_date(model.trained_as_of)).days
        if age > max_age_days:
            warnings.warn(f"the payment-risk model was trained as of {model.trained_as_of}, "
                          f"{age} days before {to_date(as_of).date()} (policy: {max_age_days}); retrain",
                          stacklevel=2)
    return model


