"""Payment-risk benchmark: train on N invoices, score N open items.

    .venv/bin/python benchmarks/bench_risk.py --invoices 1000000 [--ledger DIR]

Training: features for every invoice with a known outcome (as of its issue date), the
calibrated gradient boosting, two baselines, quantile models, permutation importance.
Scoring: every invoice of the ledger treated as open (features as of the as-of date) and
scored, so N open items. Prints seconds and peak RSS; the baseline in the same run is the
customer-history rule (a lookup, no model). Not part of the test suite.

``--evaluate K`` also scores, at the K month ends from ``--as-of`` on, the open invoices not
yet due (``risk.evaluate_open_items``) and compares the model with the customer's late share
so far on their outcomes, as an analyst meets the model (pooled ROC AUC and Brier score).
``--customers`` / ``--months`` shape the generated demo (a small ledger: ``--invoices 2500
--customers 100 --months 24 --as-of`` 15 months in).
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
from workbench.risk import _Streams, evaluate_open_items, invoice_features, train  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--ledger", type=Path)
    ap.add_argument("--as-of", default="2026-09-30")
    ap.add_argument("--evaluate", type=int, default=0, metavar="K",
                    help="evaluate on the open, not-yet-due invoices at K month ends from --as-of")
    ap.add_argument("--customers", type=int, help="customers of the generated demo")
    ap.add_argument("--months", type=int, default=24, help="months of the generated demo")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    out = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-risk-") as tmp:
        folder = args.ledger
        if folder is None:
            folder = Path(tmp) / "demo"
            kw = {"customers": args.customers} if args.customers else {}
            write_demo(folder, DemoConfig(invoices=args.invoices, seed=args.seed, months=args.months, **kw),
                       fmt="parquet")
        ledger = Ledger.load(folder)
        out["invoices"] = int(len(ledger.invoices))
        t0 = time.perf_counter()
        model, metrics = train(ledger, args.as_of)
        out["train_seconds"] = round(time.perf_counter() - t0, 1)
        out.update({k: metrics[k] for k in ("n_train", "n_test", "auc", "baseline_auc", "logistic_auc", "brier")})
        out["selected"] = metrics["selection"]["selected"]
        out["validation"] = metrics["selection"]["validation"]
        if args.evaluate:
            import pandas as pd
            ends = pd.date_range(pd.Timestamp(args.as_of) + pd.offsets.MonthEnd(0), periods=args.evaluate, freq="ME")
            ev = evaluate_open_items(ledger, model, ends)
            print(ev.to_string(index=False), file=sys.stderr)
            out["month_end_evaluation"] = ev.iloc[-1].to_dict() if len(ev) else None
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
