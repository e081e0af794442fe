"""The whole quarter-end pack on a large demo: total and per-notebook seconds, peak memory.

    python benchmarks/bench_pack.py --invoices 1000000 [--ledger DIR] [--jobs 2]

Cold: a fresh ``workbench report quarter-end`` process (start to answer), as a scheduler
runs it. Beside it, in the same run, the plain baseline of what the pack must at least do:
read the ledger's Parquet files and sum open AR per currency with pandas (no validation,
no notebooks). Peak memory: the report process's own peak RSS and the peak RSS of its
children (papermill kernels), from ``resource.getrusage``.
Aim (issue 10): under 3 minutes on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def baseline(ledger: Path) -> float:
    code = f"""
import time, pandas as pd
t = time.perf_counter()
inv = pd.read_parquet({str(ledger / 'invoices.parquet')!r}, columns=['invoice_id', 'currency', 'amount'])
apps = pd.read_parquet({str(ledger / 'applications.parquet')!r}, columns=['invoice_id', 'amount'])
inv['amount'] = inv['amount'].astype(float); apps['amount'] = apps['amount'].astype(float)
paid = apps.groupby('invoice_id')['amount'].sum()
inv['open'] = inv['amount'] - inv['invoice_id'].map(paid).fillna(0)
print(inv.groupby('currency')['open'].sum().to_dict())
"""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--ledger", type=Path, help="an existing demo ledger (else one is generated)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time-budget", type=int, default=600)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-pack-"))
    try:
        ledger = args.ledger
        if ledger is None:
            ledger = work / "demo"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "workbench", "demo", "--out", str(ledger),
                            "--invoices", str(args.invoices), "--seed", "7"], check=True)
            print(f"demo of {args.invoices:,} invoices generated in {time.perf_counter() - t:.0f} s")
        base = baseline(ledger)
        env = {**os.environ, "WORKBENCH_DATA_DIR": str(work / "data"),
               "WORKBENCH_COMPANY": "Benchmark Co."}
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "workbench", "report", "quarter-end",
                            "--ledger", str(ledger), "--out", str(work / "reports"),
                            "--jobs", str(args.jobs), "--time-budget", str(args.time_budget)],
                           env=env, capture_output=True, text=True)
        total = time.perf_counter() - t
        peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(r.stderr[-4000:])
        if r.returncode != 0:
            print(f"report failed with exit {r.returncode}")
            return r.returncode
        pack = next((work / "reports").glob("20*Q*"))
        m = json.loads((pack / "manifest.json").read_text())
        print(f"\nquarter-end pack {m['period']} on {args.invoices:,} invoices "
              f"({os.cpu_count()} cores, {args.jobs} notebooks at once)")
        print(f"  cold, start to answer:         {total:7.1f} s   (aim: under 180 s)")
        for k, v in m["seconds"].items():
            print(f"  {k:<30} {v:7.1f} s")
        for n in m["notebooks"]:
            print(f"  notebook {n['notebook']:<24} {n['seconds']:7.1f} s  {n['status']}")
        print(f"  baseline (pandas read + open AR groupby, cold process): {base:.1f} s")
        print(f"  peak RSS of the largest child process (report or a kernel): {peak_children:,.0f} MiB")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
