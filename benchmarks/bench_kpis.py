"""KPI benchmark: the whole KPI set for a quarter plus 12 month-end trend points.

    .venv/bin/python benchmarks/bench_kpis.py --invoices 1000000 5000000

For each size: generate a demo ledger (Parquet), load it, then time
``kpi_table(ledger, "2026Q3")`` and ``kpi_trend(ledger, "2026-09-30", points=12)`` (first
call, which also builds the id indexes, and a warm repeat), against one DuckDB query over
the Parquet files computing the same balances (credit sales, beginning / ending / current
/ over-60 AR, unapplied cash) at the same 13 dates, checked equal to the cent. Prints
seconds, rows/s and peak RSS. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.demo import DemoConfig, write_demo  # noqa: E402
from workbench.kpis import kpi_table, kpi_trend  # noqa: E402
from workbench.ledger import Ledger  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def duckdb_kpis(folder: Path, dates: list[str]):
    """One query: AR, past-due AR, over-60 AR, cumulative sales and unapplied cash at each
    date, per currency (the event formulation, evaluated by a join on the dates)."""
    import duckdb

    f = lambda name: str(folder / f"{name}.parquet")  # noqa: E731
    date_list = ", ".join(f"DATE '{d}'" for d in dates)
    sql = f"""
    WITH d AS (SELECT unnest([{date_list}]) AS as_of),
    inv AS (SELECT invoice_id, currency, invoice_date, due_date, amount FROM '{f("invoices")}'),
    red AS (
      SELECT r.amount, i.currency, greatest(r.d, i.invoice_date) AS eff,
             greatest(r.d, i.due_date + 1) AS eff_pd, greatest(r.d, i.due_date + 61) AS eff_60
      FROM (SELECT invoice_id, amount, applied_date AS d FROM '{f("applications")}'
            UNION ALL SELECT invoice_id, amount, date FROM '{f("credit_memos")}' WHERE invoice_id IS NOT NULL
            UNION ALL SELECT invoice_id, amount, date FROM '{f("write_offs")}') r
      JOIN inv i USING (invoice_id)),
    rec AS (SELECT receipt_id, currency, receipt_date, amount FROM '{f("receipts")}'),
    app AS (SELECT a.amount, r.currency, greatest(a.applied_date, r.receipt_date) AS eff
            FROM '{f("applications")}' a JOIN rec r USING (receipt_id)),
    plus AS (
      SELECT d.as_of, i.currency,
        SUM(CASE WHEN i.invoice_date <= d.as_of THEN i.amount ELSE 0 END) AS sales,
        SUM(CASE WHEN i.due_date + 1 <= d.as_of THEN i.amount ELSE 0 END) AS pd_plus,
        SUM(CASE WHEN i.due_date + 61 <= d.as_of THEN i.amount ELSE 0 END) AS o60_plus
      FROM d, inv i GROUP BY ALL),
    minus AS (
      SELECT d.as_of, r.currency,
        SUM(CASE WHEN r.eff <= d.as_of THEN r.amount ELSE 0 END) AS red,
        SUM(CASE WHEN r.eff_pd <= d.as_of THEN r.amount ELSE 0 END) AS pd_minus,
        SUM(CASE WHEN r.eff_60 <= d.as_of THEN r.amount ELSE 0 END) AS o60_minus
      FROM d, red r GROUP BY ALL),
    cash AS (
      SELECT d.as_of, r.currency, SUM(CASE WHEN r.receipt_date <= d.as_of THEN r.amount ELSE 0 END) AS received
      FROM d, rec r GROUP BY ALL),
    applied AS (
      SELECT d.as_of, a.currency, SUM(CASE WHEN a.eff <= d.as_of THEN a.amount ELSE 0 END) AS applied
      FROM d, app a GROUP BY ALL)
    SELECT p.as_of, p.currency, p.sales, p.sales - m.red AS ar, p.pd_plus - m.pd_minus AS past_due,
           p.o60_plus - m.o60_minus AS over_60, c.received - coalesce(a.applied, 0) AS unapplied
    FROM plus p JOIN minus m USING (as_of, currency) JOIN cash c USING (as_of, currency)
    LEFT JOIN applied a USING (as_of, currency) ORDER BY ALL"""
    return duckdb.sql(sql).df()


def run(n: int, seed: int) -> dict:
    out: dict = {"invoices": n}
    with tempfile.TemporaryDirectory(prefix="wb-bench-kpi-") as tmp:
        folder = Path(tmp) / "demo"
        t0 = time.perf_counter()
        write_demo(folder, DemoConfig(invoices=n, seed=seed), fmt="parquet")
        out["generate_write_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        ledger = Ledger.load(folder)
        out["load_validate_s"] = round(time.perf_counter() - t0, 1)
        for label in ("first", "warm"):
            t0 = time.perf_counter()
            quarter = kpi_table(ledger, "2026Q3")
            t_q = time.perf_counter() - t0
            t0 = time.perf_counter()
            trend = kpi_trend(ledger, "2026-09-30", points=12)
            t_t = time.perf_counter() - t0
            out[f"kpis_quarter_s_{label}"] = round(t_q, 2)
            out[f"kpis_trend12_s_{label}"] = round(t_t, 2)
            out[f"kpis_total_s_{label}"] = round(t_q + t_t, 2)
        out["invoices_per_s_warm"] = round(n / out["kpis_total_s_warm"])
        out["peak_mb"] = round(peak_mb())
        ends = sorted({str(p) for p in trend["end"]}) + ["2026-06-30"]
        t0 = time.perf_counter()
        duck = duckdb_kpis(folder, sorted(set(ends)))
        t_d = time.perf_counter() - t0
        out["baseline_duckdb_one_query_s"] = round(t_d, 2)
        out["ratio_warm_vs_duckdb"] = round(out["kpis_total_s_warm"] / t_d, 2)
        # the same balances, to the cent
        duck["as_of"] = duck["as_of"].astype(str).str[:10]
        d = duck.set_index(["as_of", "currency"])
        digits = {"USD": 2, "EUR": 2, "JPY": 0}
        for row in trend.itertuples():
            scale = 10 ** digits[row.currency]
            ref = d.loc[(row.end, row.currency)]
            assert int(round(float(ref["ar"]) * scale)) == row.ending_ar, (row.end, row.currency)
            assert int(round(float(ref["past_due"]) * scale)) == row.ending_past_due_ar
            assert int(round(float(ref["over_60"]) * scale)) == row.ending_over_60_ar
            assert int(round(float(ref["unapplied"]) * scale)) == row.unapplied_cash
        for row in quarter.itertuples():
            scale = 10 ** digits[row.currency]
            beg = d.loc[("2026-06-30", row.currency)]
            assert int(round(float(beg["ar"]) * scale)) == row.beginning_ar
        out["checked_equal"] = True
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results = []
    for n in args.invoices:
        res = run(n, args.seed)
        results.append(res)
        width = max(map(len, res))
        for k, v in res.items():
            print(f"{k:<{width}}  {v}")
        print()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
