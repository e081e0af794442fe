"""One-shot questions from the command line, from process start to printed answer.

    .venv/bin/python benchmarks/bench_oneshot.py --ledger /tmp/bench1m [--ledger /tmp/bench5m]
        [--checkout /tmp/before --label before] [--repeat 3] [--json out.json]

For each ledger folder (a Parquet demo: ``workbench demo --out DIR --invoices N``) it runs,
each in a fresh process:

* ``workbench aging --ledger DIR --as-of D --format json``
* ``workbench kpis --ledger DIR --period P --format json``

first with an empty ledger store (the first call after the files were imported: it
validates and writes the store), then ``--repeat`` times with the store in place (the
best and the median are printed); and beside them, a DuckDB one-shot process (``python -c``
importing duckdb and running one SQL query over the same Parquet files) computing the same
sums: open AR by currency and aging bucket; and per currency the period's credit sales,
beginning and ending AR, ending current AR, AR over 60 days past due, unapplied cash and
cash collected. Every DuckDB figure is checked against the workbench's JSON to the minor
unit (exact integers) before a time is printed. Peak memory (max RSS) of each process is
printed too.

``--checkout DIR`` runs the CLI from another source tree (e.g. a ``git worktree`` of an
older commit: the "before" figures), with ``WORKBENCH_STORE=off`` unless ``--store``.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed_process(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float, str]:
    """(seconds from start to exit, peak RSS in MB, stdout) of one process: a small
    wrapper starts it and reports ``getrusage(RUSAGE_CHILDREN)`` of just that child."""
    wrapper = ("import resource,subprocess,sys,time;t=time.perf_counter();"
               "p=subprocess.run(sys.argv[1:],stdout=sys.stdout,stderr=sys.stderr);"
               "s=time.perf_counter()-t;"
               "sys.stderr.write('\\n@@%f %f\\n'%(s,resource.getrusage("
               "resource.RUSAGE_CHILDREN).ru_maxrss/1024));sys.exit(p.returncode)")
    p = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, env=env,
                       cwd=cwd)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr.decode()[-3000:]}")
    tail = p.stderr.decode().rsplit("@@", 1)[1].split()
    return float(tail[0]), float(tail[1]), p.stdout.decode()


DUCK = r"""
import json, sys, duckdb
duckdb.execute("SET enable_progress_bar = false")
folder, as_of, start, end, before = sys.argv[1:6]
f = lambda n: f"'{folder}/{n}.parquet'"
def red(upto):
    return f'''
      SELECT invoice_id, SUM(amount) AS amt FROM (
        SELECT invoice_id, amount FROM {f("applications")} WHERE applied_date <= DATE '{upto}'
        UNION ALL SELECT invoice_id, amount FROM {f("credit_memos")}
          WHERE date <= DATE '{upto}' AND invoice_id IS NOT NULL
        UNION ALL SELECT invoice_id, amount FROM {f("write_offs")} WHERE date <= DATE '{upto}'
      ) GROUP BY invoice_id'''
def items(upto):
    return f'''
      SELECT i.currency, DATE '{upto}' - i.due_date AS dpd, i.amount - COALESCE(r.amt, 0) AS open
      FROM {f("invoices")} i LEFT JOIN ({red(upto)}) r USING (invoice_id)
      WHERE i.invoice_date <= DATE '{upto}' '''
what = sys.argv[6]
if what == "aging":
    sql = f'''SELECT currency,
      CASE WHEN dpd <= 0 THEN 'current' WHEN dpd <= 30 THEN '1-30' WHEN dpd <= 60 THEN '31-60'
           WHEN dpd <= 90 THEN '61-90' WHEN dpd <= 120 THEN '91-120' ELSE 'over_120' END AS bucket,
      SUM(open)::VARCHAR AS amount
    FROM ({items(as_of)}) WHERE open > 0 GROUP BY ALL ORDER BY ALL'''
else:
    sql = f'''
    WITH e AS (SELECT currency, SUM(open) AS ending_ar,
                      SUM(open) FILTER (WHERE dpd <= 0) AS ending_current_ar,
                      SUM(open) FILTER (WHERE dpd > 60) AS ending_over_60_ar
               FROM ({items(end)}) WHERE open > 0 GROUP BY ALL),
         b AS (SELECT currency, SUM(open) AS beginning_ar
               FROM ({items(before)}) WHERE open > 0 GROUP BY ALL),
         s AS (SELECT currency, SUM(amount) AS credit_sales FROM {f("invoices")}
               WHERE invoice_date BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY ALL),
         c AS (SELECT currency, SUM(amount) AS cash_collected FROM {f("receipts")}
               WHERE receipt_date BETWEEN DATE '{start}' AND DATE '{end}' GROUP BY ALL),
         a AS (SELECT receipt_id, SUM(amount) AS applied FROM {f("applications")}
               WHERE applied_date <= DATE '{end}' GROUP BY ALL),
         u AS (SELECT r.currency, SUM(r.amount - COALESCE(a.applied, 0)) AS unapplied_cash
               FROM {f("receipts")} r LEFT JOIN a USING (receipt_id)
               WHERE r.receipt_date <= DATE '{end}' AND r.amount - COALESCE(a.applied, 0) > 0
               GROUP BY ALL)
    SELECT currency, COALESCE(s.credit_sales, 0)::VARCHAR AS credit_sales,
           COALESCE(b.beginning_ar, 0)::VARCHAR AS beginning_ar,
           COALESCE(e.ending_ar, 0)::VARCHAR AS ending_ar,
           COALESCE(e.ending_current_ar, 0)::VARCHAR AS ending_current_ar,
           COALESCE(e.ending_over_60_ar, 0)::VARCHAR AS ending_over_60_ar,
           COALESCE(u.unapplied_cash, 0)::VARCHAR AS unapplied_cash,
           COALESCE(c.cash_collected, 0)::VARCHAR AS cash_collected
    FROM e FULL JOIN b USING (currency) FULL JOIN s USING (currency)
         FULL JOIN c USING (currency) FULL JOIN u USING (currency) ORDER BY currency'''
cur = duckdb.sql(sql)
cols = cur.columns
print(json.dumps([dict(zip(cols, r)) for r in cur.fetchall()]))
"""

KPI_FIELDS = ("credit_sales", "beginning_ar", "ending_ar", "ending_current_ar",
              "ending_over_60_ar", "unapplied_cash", "cash_collected")


def _minor(text) -> int:
    """An exact decimal text as an integer of its smallest unit (no float)."""
    d = Decimal(str(text))
    return int(d.scaleb(-d.as_tuple().exponent)) if d.as_tuple().exponent < 0 else int(d)


def _same(a, b) -> bool:
    return Decimal(str(a)) == Decimal(str(b))


def check_aging(wb: str, duck: str) -> int:
    rows = {(r["currency"], b): amt for r in json.loads(wb) for b, amt in r["buckets"].items()}
    n = 0
    for r in json.loads(duck):
        got = rows.get((r["currency"], r["bucket"]))
        assert got is not None and _same(got, r["amount"]), (r, got)
        n += 1
    return n


def check_kpis(wb: str, duck: str) -> int:
    rows = {r["currency"]: r for r in json.loads(wb)}
    n = 0
    for r in json.loads(duck):
        w = rows[r["currency"]]
        for k in KPI_FIELDS:
            assert _same(w[k], r[k]), (r["currency"], k, w[k], r[k])
            n += 1
    return n


def quarter_bounds(period: str) -> tuple[str, str]:
    y, q = int(period[:4]), int(period[-1])
    start = f"{y}-{3 * q - 2:02d}-01"
    end = {1: f"{y}-03-31", 2: f"{y}-06-30", 3: f"{y}-09-30", 4: f"{y}-12-31"}[q]
    return start, end


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger", type=Path, action="append", required=True,
                    help="a Parquet ledger folder (repeat for 1M and 5M)")
    ap.add_argument("--as-of", default="2026-09-30")
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--checkout", type=Path, default=ROOT,
                    help="the source tree whose CLI is timed (default: this one)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--store", action=argparse.BooleanOptionalAction, default=None,
                    help="use a ledger store (default: on for this checkout, off for another)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    checkout = args.checkout.resolve()
    use_store = args.store if args.store is not None else checkout == ROOT
    start, end = quarter_bounds(args.period)
    before = str(date.fromisoformat(start) - timedelta(days=1))
    results = []
    for folder in args.ledger:
        folder = folder.resolve()
        with tempfile.TemporaryDirectory(prefix="wb-oneshot-store-") as store:
            env = {**os.environ, "WORKBENCH_STORE": store if use_store else "off",
                   "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": "1"}
            questions = {
                "aging": ["-m", "workbench", "aging", "--ledger", str(folder), "--as-of",
                          args.as_of, "--format", "json"],
                "kpis": ["-m", "workbench", "kpis", "--ledger", str(folder), "--period",
                         args.period, "--format", "json"]}
            # the DuckDB one-shot, same sums over the same Parquet files
            duck = {}
            for what in questions:
                times = []
                for _ in range(args.repeat):
                    s, mb, out = timed_process([sys.executable, "-c", DUCK, str(folder),
                                                args.as_of, start, end, before, what], env,
                                               checkout)
                    times.append((s, mb))
                duck[what] = (min(t[0] for t in times), max(t[1] for t in times), out)
            for what, cmd in questions.items():
                first = None
                if use_store:   # the first call after the files were imported
                    first = timed_process([sys.executable, *cmd], env, checkout)
                warm = [timed_process([sys.executable, *cmd], env, checkout)
                        for _ in range(args.repeat)]
                checked = (check_aging if what == "aging" else check_kpis)(warm[0][2],
                                                                           duck[what][2])
                best = min(w[0] for w in warm)
                row = {"label": args.label, "ledger": folder.name, "question": what,
                       "first_call_s": None if first is None else round(first[0], 2),
                       "first_call_peak_mb": None if first is None else round(first[1]),
                       "best_s": round(best, 2),
                       "median_s": round(statistics.median(w[0] for w in warm), 2),
                       "peak_mb": round(max(w[1] for w in warm)),
                       "duckdb_s": round(duck[what][0], 2),
                       "duckdb_peak_mb": round(duck[what][1]),
                       "ratio_to_duckdb": round(best / duck[what][0], 2),
                       "figures_checked": checked}
                results.append(row)
                print(json.dumps(row), flush=True)
    cols = ["label", "ledger", "question", "first_call_s", "best_s", "median_s", "peak_mb",
            "duckdb_s", "ratio_to_duckdb", "figures_checked"]
    print("\n| " + " | ".join(cols) + " |\n|" + " --- |" * len(cols))
    for r in results:
        print("| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
