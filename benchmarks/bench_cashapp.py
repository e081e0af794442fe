"""Cash application benchmark: N receipts against every invoice of a large ledger open.

    .venv/bin/python benchmarks/bench_cashapp.py --invoices 1000000 --receipts 100000

Builds (or reuses, ``--ledger DIR``) a demo ledger, removes every application so that all
of its invoices are open (1 M open invoices), and matches the latest N receipts: the full
rule cascade against, in the same run, the exact-reference rule alone (a receipt whose
remittance names one invoice by its full number and pays exactly its open balance).
Prints seconds, receipts/s and peak RSS, and how many receipts each auto-applies. With
``--replay-since DATE`` it instead replays the cash from that date against the demo's truth
and prints the precision figures per rule. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.cashapp import evaluate, match_receipts, replay_ledger  # noqa: E402
from workbench.demo import DemoConfig, write_demo  # noqa: E402
from workbench.ledger import Ledger  # noqa: E402
from workbench.money import parse_amount  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def exact_reference_only(ledger: Ledger, receipts: pd.DataFrame, as_of) -> int:
    """The baseline: full invoice number in the remittance + exact open amount."""
    items = ledger.open_items(as_of, customer_columns=())
    open_by_id = dict(zip(items["invoice_id"], items["open_minor"]))
    ids = set(open_by_id)
    pattern = re.compile(r"[A-Z]{3}-\d{4}-\d{6}")
    applied = 0
    for ref, amount in zip(receipts["reference"].fillna("").str.upper(), receipts["amount_minor"]):
        found = [m for m in pattern.findall(ref) if m in ids]
        if len(found) == 1 and open_by_id[found[0]] == amount:
            open_by_id[found[0]] = 0
            applied += 1
    return applied


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--receipts", type=int, default=100_000)
    ap.add_argument("--ledger", type=Path, help="reuse a demo ledger folder")
    ap.add_argument("--replay-since", help="evaluate against truth instead (e.g. 2025-07-01)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="wb-bench-ca-") as tmp:
        folder = args.ledger
        if folder is None:
            folder = Path(tmp) / "demo"
            write_demo(folder, DemoConfig(invoices=args.invoices, seed=7), fmt="parquet")
        ledger = Ledger.load(folder)
        if args.replay_since:
            replay, held = replay_ledger(ledger, args.replay_since)
            truth_path = folder / "truth" / "applications.parquet"
            truth = (pd.read_parquet(truth_path) if truth_path.exists()
                     else pd.read_csv(folder / "truth" / "applications.csv", dtype=str))
            truth["amount_minor"] = [parse_amount(str(a), c) for a, c in zip(truth["amount"], truth["currency"])]
            t0 = time.perf_counter()
            apps, _, _ = match_receipts(replay, held)
            out["seconds"] = round(time.perf_counter() - t0, 1)
            out.update(evaluate(apps, held, truth))
        else:
            everything_open, _ = replay_ledger(ledger, "1900-01-01")
            receipts = ledger.receipts.sort_values("receipt_date").tail(args.receipts)
            as_of = receipts["receipt_date"].max()
            out["open_invoices"] = int(len(everything_open.open_items(as_of, customer_columns=())))
            out["receipts"] = int(len(receipts))
            t0 = time.perf_counter()
            base = exact_reference_only(everything_open, receipts, as_of)
            t_base = time.perf_counter() - t0
            t0 = time.perf_counter()
            apps, _, _ = match_receipts(everything_open, receipts, as_of)
            t_full = time.perf_counter() - t0
            out["cascade_seconds"] = round(t_full, 1)
            out["cascade_receipts_per_s"] = round(len(receipts) / t_full)
            out["cascade_auto_receipts"] = int(apps.loc[apps["status"] == "auto", "receipt_id"].nunique())
            out["baseline_exact_reference_seconds"] = round(t_base, 1)
            out["baseline_auto_receipts"] = base
            out["ratio_cascade_vs_baseline_time"] = round(t_full / t_base, 1)
        out["peak_mb"] = round(peak_mb())
    print(json.dumps(out, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
