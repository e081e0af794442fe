"""Foundation benchmark: demo generation, load + validate, aging; against plain baselines.

    .venv/bin/python benchmarks/bench_foundation.py --invoices 1000000

Prints, for an N-invoice demo ledger: generation and write time, load + validate time
and rows/s, the workbench aging time, and in the same run the same aging sum done by a
single DuckDB query over the Parquet files and by a plain pandas groupby over the loaded
frames (each checked to give the same totals, to the cent), with the ratios; and the
process's peak memory after each phase (ru_maxrss). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.aging import aging_table, load_aging_policy  # noqa: E402
from workbench.demo import DemoConfig, write_demo  # noqa: E402
from workbench.ledger import Ledger  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(fn, repeat=1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def duckdb_aging(folder: Path, as_of: str) -> pd.DataFrame:
    import duckdb

    f = lambda name: str(folder / f"{name}.parquet")  # noqa: E731
    sql = f"""
    WITH red AS (
      SELECT invoice_id, SUM(amount) AS amt FROM (
        SELECT invoice_id, amount FROM '{f("applications")}' WHERE applied_date <= DATE '{as_of}'
        UNION ALL SELECT invoice_id, amount FROM '{f("credit_memos")}'
          WHERE date <= DATE '{as_of}' AND invoice_id IS NOT NULL
        UNION ALL SELECT invoice_id, amount FROM '{f("write_offs")}' WHERE date <= DATE '{as_of}'
      ) GROUP BY invoice_id),
    items AS (
      SELECT i.currency, DATE '{as_of}' - i.due_date AS dpd, i.amount - COALESCE(r.amt, 0) AS open
      FROM '{f("invoices")}' i LEFT JOIN red r USING (invoice_id)
      WHERE i.invoice_date <= DATE '{as_of}')
    SELECT currency,
      CASE WHEN dpd <= 0 THEN 'current' WHEN dpd <= 30 THEN '1-30' WHEN dpd <= 60 THEN '31-60'
           WHEN dpd <= 90 THEN '61-90' WHEN dpd <= 120 THEN '91-120' ELSE 'over_120' END AS bucket,
      SUM(open) AS amount
    FROM items WHERE open > 0 GROUP BY ALL ORDER BY ALL"""
    return duckdb.sql(sql).df()


def pandas_aging(ledger: Ledger, as_of: str) -> pd.DataFrame:
    """The plain way: concat reductions, groupby-sum, merge, cut, groupby-sum."""
    D = pd.Timestamp(as_of)
    parts = [ledger.applications.loc[ledger.applications["applied_date"] <= D, ["invoice_id", "amount_minor"]],
             ledger.credit_memos.loc[(ledger.credit_memos["date"] <= D)
                                     & ledger.credit_memos["invoice_id"].notna(), ["invoice_id", "amount_minor"]],
             ledger.write_offs.loc[ledger.write_offs["date"] <= D, ["invoice_id", "amount_minor"]]]
    red = pd.concat(parts).groupby("invoice_id")["amount_minor"].sum()
    inv = ledger.invoices[ledger.invoices["invoice_date"] <= D]
    open_ = inv["amount_minor"] - inv["invoice_id"].map(red).fillna(0).astype(np.int64)
    dpd = (D - inv["due_date"]).dt.days
    bucket = pd.cut(dpd, [-np.inf, 0, 30, 60, 90, 120, np.inf],
                    labels=["current", "1-30", "31-60", "61-90", "91-120", "over_120"])
    df = pd.DataFrame({"currency": inv["currency"], "bucket": bucket, "open": open_})
    return df[df["open"] > 0].groupby(["currency", "bucket"], observed=True)["open"].sum()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--as-of", default="2026-09-30")
    ap.add_argument("--repeat", type=int, default=3, help="aging runs; the best is reported")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    out: dict = {"invoices": args.invoices, "seed": args.seed}
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        folder = Path(tmp) / "demo"
        t0 = time.perf_counter()
        meta = write_demo(folder, DemoConfig(invoices=args.invoices, seed=args.seed), fmt="parquet")
        total_write = time.perf_counter() - t0
        rows = sum(meta["rows"].values())
        out["generate_s"] = meta["seconds_generate"]
        out["generate_and_write_s"] = round(total_write, 2)
        out["ledger_rows"] = rows
        out["peak_mb_after_generate"] = round(peak_mb())
        t_load, ledger = timed(lambda: Ledger.load(folder))
        out["load_validate_s"] = round(t_load, 2)
        out["load_validate_rows_per_s"] = round(rows / t_load)
        out["load_validate_invoices_per_s"] = round(args.invoices / t_load)
        out["peak_mb_after_load"] = round(peak_mb())
        policy = load_aging_policy()
        # the first call also builds the id -> position indexes a session then reuses
        t_first, _ = timed(lambda: aging_table(ledger, args.as_of, policy=policy))
        out["aging_first_call_s"] = round(t_first, 3)
        t_aging, table = timed(lambda: aging_table(ledger, args.as_of, policy=policy), args.repeat)
        t_duck, duck = timed(lambda: duckdb_aging(folder, args.as_of), args.repeat)
        t_pd, plain = timed(lambda: pandas_aging(ledger, args.as_of), args.repeat)
        out["peak_mb_after_aging"] = round(peak_mb())
        # same sums, to the cent
        wb = table.set_index("currency")[list(policy.labels)].stack()
        for (cur, bucket), amount in duck.set_index(["currency", "bucket"])["amount"].items():
            digits = 0 if cur == "JPY" else 2
            assert int(round(float(amount) * 10 ** digits)) == int(wb.loc[(cur, bucket)]), (cur, bucket)
        for (cur, bucket), amount in plain.items():
            assert int(amount) == int(wb.loc[(cur, bucket)]), (cur, bucket)
        out["aging_s"] = round(t_aging, 3)   # best of --repeat, after the first call
        out["baseline_duckdb_parquet_s"] = round(t_duck, 3)
        out["baseline_pandas_groupby_s"] = round(t_pd, 3)
        out["aging_vs_duckdb_ratio"] = round(t_aging / t_duck, 2)
        out["aging_vs_pandas_ratio"] = round(t_aging / t_pd, 2)
    width = max(map(len, out))
    for k, v in out.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
