"""Payment-risk benchmark: train on N invoices, score N open items.

    .venv/bin/python benchmarks/bench_risk.py --invoices 1000000 [--ledger DIR]

Training: features for every invoice with a known outcome (as of its issue date), the
calibrated gradient boosting, two baselines, quantile models, permutation importance.
Scoring: every invoice of the ledger treated as open (features as of the as-of date) and
scored, so N open items. Prints seconds and peak RSS; the baseline in the same run is the
customer-history rule (a lookup, no model). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.demo import DemoConfig, write_demo  # noqa: E402
from workbench.ledger import Ledger  # noqa: E402
from workbench.risk import _Streams, invoice_features, train  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--ledger", type=Path)
    ap.add_argument("--as-of", default="2026-09-30")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    out = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-risk-") as tmp:
        folder = args.ledger
        if folder is None:
            folder = Path(tmp) / "demo"
            write_demo(folder, DemoConfig(invoices=args.invoices, seed=7), fmt="parquet")
        ledger = Ledger.load(folder)
        out["invoices"] = int(len(ledger.invoices))
        t0 = time.perf_counter()
        model, metrics = train(ledger, args.as_of)
        out["train_seconds"] = round(time.perf_counter() - t0, 1)
        out.update({k: metrics[k] for k in ("n_train", "n_test", "auc", "baseline_auc", "logistic_auc", "brier")})
        out["peak_mb_after_train"] = round(peak_mb())
        d = int(np.datetime64(args.as_of, "D").astype(np.int64)) + 1
        pos = np.arange(len(ledger.invoices))
        t0 = time.perf_counter()
        streams = _Streams(ledger)
        X = invoice_features(ledger, pos, np.full(len(pos), d), streams)
        p = model.p_late(X)
        q = model.days_to_pay(X)
        out["score_seconds"] = round(time.perf_counter() - t0, 1)
        out["scored_rows"] = int(len(p))
        t0 = time.perf_counter()
        base = X["hist_share_late_n"].fillna(0.2).to_numpy()
        out["baseline_history_seconds"] = round(time.perf_counter() - t0, 3)
        out["score_rows_per_s"] = round(len(p) / max(out["score_seconds"], 1e-9))
        out["peak_mb"] = round(peak_mb())
        assert len(q[0.5]) == len(p) == len(base)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
