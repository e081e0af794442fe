"""The ``workbench`` argument parser: every command and its options."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..schema import ACTIVITY_KINDS
from .args import (
    PlainHelpFormatter,
    _finish,
    count,
    currency_code,
    iso_date,
    iso_timestamp,
    month_text,
    period_text,
    positive_int,
    quarter_text,
)
from .common import DESCRIPTION, EPILOG, LEDGER_HELP


# --------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=PlainHelpFormatter)
    from .. import __version__
    p.add_argument("--version", action="version", version=f"workbench {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="generate a seeded demo ledger with ground truth")
    d.add_argument("--out", required=True, type=Path, help="folder to write (replaced atomically)")
    d.add_argument("--invoices", type=int, default=20_000, help="number of invoices (default 20000)")
    d.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    d.add_argument("--end", default="2026-10-30", type=iso_date,
                   help="last business date, YYYY-MM-DD (default 2026-10-30)")
    d.add_argument("--months", type=int, default=24, help="months of history (default 24)")
    d.add_argument("--customers", type=int, default=None,
                   help="number of customers (default: one per 120 invoices, 12 to 50000)")
    d.add_argument("--profile", choices=("clean", "noisy"), default="clean",
                   help="clean: each customer keeps its habit (default); noisy: payment "
                        "behaviour as noisy as a real ledger's (habit switches, one-off delays, "
                        "thin and late-joining customers, few defaults), truth recorded")
    d.add_argument("--format", choices=("parquet", "csv"), default="parquet",
                   help="file format of the tables (default: parquet)")
    d.add_argument("--quiet", action="store_true")

    v = sub.add_parser("validate", help="validate a ledger folder; print every problem")
    v.add_argument("ledger", type=Path, help="ledger folder")
    v.add_argument("--column-map", type=Path)
    v.add_argument("--format", choices=("text", "json"), default="text")

    a = sub.add_parser("aging", help="age open receivables into days-past-due buckets")
    a.add_argument("--ledger", required=True, type=Path)
    a.add_argument("--as-of", required=True, type=iso_date, help="aging date, YYYY-MM-DD")
    a.add_argument("--by", choices=("customer", "segment", "collector", "currency"),
                   help="one row per group and currency (default: one per currency)")
    a.add_argument("--format", choices=("table", "csv", "json"), default="table")
    a.add_argument("--report-currency", type=currency_code,
                   help="convert to this currency with the fx_rates table")
    a.add_argument("--policy", type=Path, help="aging policy YAML (default: shipped buckets)")
    a.add_argument("--column-map", type=Path)

    k = sub.add_parser("kpis", help="collections KPIs for a period (DSO, CEI, ...)")
    k.add_argument("--ledger", type=Path, help=LEDGER_HELP)
    k.add_argument("--period", required=True, type=period_text,
                   help="2026-09, 2026Q3, 2026 or 2026-07-01..2026-09-30")
    k.add_argument("--format", choices=("table", "json", "csv"), default="table")
    k.add_argument("--by", choices=("customer", "segment", "collector", "currency"),
                   help="one row per group and currency (default: one per currency)")
    k.add_argument("--report-currency", type=currency_code,
                   help="convert to this currency with the fx_rates table")
    k.add_argument("--cei-sales", choices=("period_total", "monthly_average"), default="period_total",
                   help="CEI variant: the period's total credit sales (default) or per month")
    k.add_argument("--cei-current-days", type=count, default=0,
                   help="CEI variant: 'current' AR up to N days past due (default 0: not due)")
    k.add_argument("--trend", type=count, default=None, metavar="N",
                   help="also the N month-ends up to the period end (table and csv formats)")
    k.add_argument("--targets", type=Path, metavar="FILE",
                   help="goals YAML (workbench/policies/goals.yaml): each KPI with a target shows "
                        "actual, target, variance and status (a quarter or a month only)")
    k.add_argument("--column-map", type=Path)

    act = sub.add_parser("activity", help="record and list collection activities (state database)")
    act_sub = act.add_subparsers(dest="action", required=True, metavar="ACTION")
    aa = act_sub.add_parser("add", help="record one activity (append-only)")
    aa.add_argument("--customer", required=True,
                    help="customer id (or the customer's exact name, with --ledger)")
    aa.add_argument("--kind", required=True, choices=ACTIVITY_KINDS, help="what was done")
    aa.add_argument("--collector", required=True, help="who made the contact")
    aa.add_argument("--at", type=iso_timestamp,
                    help="when, ISO 8601 with offset, e.g. 2026-09-29T10:00:00+00:00 (default: now)")
    aa.add_argument("--invoice", help="the invoice it is about")
    aa.add_argument("--note", help="free text")
    aa.add_argument("--promise-date", type=iso_date, help="promise_to_pay: the promised date")
    aa.add_argument("--promise-amount", help="promise_to_pay: the promised amount (decimal)")
    aa.add_argument("--currency", type=currency_code,
                    help="promise_to_pay: the promised amount's currency (default: the customer's)")
    aa.add_argument("--ledger", type=Path, help="check the customer and invoice against it")
    aa.add_argument("--by", help="optional check: it is recorded by the users-file entry of your OS "
                    "login (else the OS login itself); a different name is refused")
    aa.add_argument("--db")
    al = act_sub.add_parser("list", help="list the activity log")
    al.add_argument("--customer", help="only this customer (id, or name with --ledger)")
    al.add_argument("--kind", choices=ACTIVITY_KINDS, help="only this kind")
    al.add_argument("--ledger", type=Path, help="also judge promises (kept/broken/pending)")
    al.add_argument("--as-of", type=iso_date,
                    help="with --ledger: judge promises as of this date (default: today)")
    al.add_argument("--format", choices=("table", "json", "csv"), default="table")
    al.add_argument("--db")
    am = act_sub.add_parser("metrics", help="per-collector activity metrics for a period, "
                                            "against the goals file's activity targets")
    am.add_argument("--ledger", type=Path, help=LEDGER_HELP)
    am.add_argument("--period", required=True, type=period_text,
                    help="2026Q3, 2026-09, 2026 or 2026-07-01..2026-09-30")
    am.add_argument("--collector", help="only this collector")
    am.add_argument("--format", choices=("table", "json", "csv"), default="table")
    am.add_argument("--targets", type=Path, metavar="FILE",
                    help="goals YAML with activity targets (a quarter or a month only)")
    am.add_argument("--db", help="also use the activity log in this state database")
    am.add_argument("--no-log", action="store_true", help="ignore the state database's activity log")

    w = sub.add_parser("worklist", help="accounts ranked by what to do first, with reasons")
    w.add_argument("--ledger", required=True, type=Path)
    w.add_argument("--as-of", required=True, type=iso_date)
    w.add_argument("--collector", help="only this collector's accounts")
    w.add_argument("--policy", type=Path, help="collections policy YAML (default: shipped)")
    w.add_argument("--top", type=count, default=0, help="only the first N accounts (default: all)")
    w.add_argument("--format", choices=("table", "json", "csv"), default="table")
    w.add_argument("--db", help="also use the activity log in this state database")
    w.add_argument("--no-log", action="store_true", help="ignore the state database's activity log")
    w.add_argument("--risk-model", type=Path, help="rank by a payment-risk model's scores")

    pr = sub.add_parser("proposals", help="suspension and small-balance write-off proposals")
    pr.add_argument("--ledger", required=True, type=Path)
    pr.add_argument("--as-of", required=True, type=iso_date)
    pr.add_argument("--policy", type=Path, help="collections policy YAML (default: shipped)")
    pr.add_argument("--format", choices=("table", "json", "csv"), default="table")
    pr.add_argument("--db")
    pr.add_argument("--no-log", action="store_true")

    st = sub.add_parser("statement", help="a customer's statement of account (HTML or Excel)")
    st.add_argument("--ledger", required=True, type=Path)
    st.add_argument("--customer", required=True)
    st.add_argument("--as-of", required=True, type=iso_date)
    st.add_argument("--out", required=True, type=Path, help="file.html or file.xlsx")
    st.add_argument("--language", choices=("en", "es", "pt"),
                    help="default: the customer's language, else English")
    st.add_argument("--collector", help="recorded in the activity log as the sender "
                    "(default: the account's collector)")
    st.add_argument("--db")
    st.add_argument("--no-log", action="store_true", help="do not record it in the activity log")

    lt = sub.add_parser("letter", help="a dunning letter from the templates (HTML)")
    lt.add_argument("--ledger", required=True, type=Path)
    lt.add_argument("--customer", required=True)
    lt.add_argument("--as-of", required=True, type=iso_date)
    lt.add_argument("--stage", choices=("reminder", "friendly", "firm", "final"),
                    help="default: the account's dunning stage")
    lt.add_argument("--out", required=True, type=Path, help="file.html")
    lt.add_argument("--language", choices=("en", "es", "pt"),
                    help="default: the customer's language, else English")
    lt.add_argument("--collector", help="who signs the letter (default: the account's collector)")
    lt.add_argument("--db")
    lt.add_argument("--no-log", action="store_true", help="do not record it in the activity log")

    ca = sub.add_parser("cashapp", help="apply bank credits to open invoices (proposals only); "
                        "'workbench cashapp post' records approved lines")
    ca.add_argument("--ledger", required=True, type=Path)
    ca.add_argument("--bank", required=True, nargs="+", type=Path,
                    help="bank statements: camt.053 XML, BAI2, MT940 or CSV (format detected)")
    ca.add_argument("--out", required=True, type=Path, help="folder for the proposals (replaced)")
    ca.add_argument("--as-of", type=iso_date,
                    help="run date (default: the latest credit or ledger date)")
    ca.add_argument("--bank-map", type=Path, help="column map for bank CSV files")
    ca.add_argument("--threshold", type=float, help="auto-post threshold (default: policy)")
    ca.add_argument("--policy", type=Path, help="cash application policy YAML")
    ca.add_argument("--quiet", action="store_true")
    cp = sub.add_parser("cashapp-post", help=argparse.SUPPRESS, prog="workbench cashapp post",
                        description="Post the approved lines of a 'workbench cashapp' run "
                        "(recorded in the state database, each line once).")
    cp.add_argument("--out", required=True, type=Path, help="the folder a cashapp run wrote")
    cp.add_argument("--ledger", required=True, type=Path)
    cp.add_argument("--by", help="optional check: who approves is the users-file entry of your "
                    "OS login (workbench serve's users file); a different name is refused")
    cp.add_argument("--status", nargs="+", default=["auto"], choices=("auto", "suggested"),
                    help="which proposals to post (default: auto)")
    cp.add_argument("--receipt", nargs="+", help="only these receipts")
    cp.add_argument("--db")

    cr = sub.add_parser("credit", help="credit review, credit file, decisions, scorecard training")
    cr_sub = cr.add_subparsers(dest="action", required=True, metavar="ACTION")
    rv = cr_sub.add_parser("review", help="analysis and limit recommendation for one customer")
    rv.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    rv.add_argument("--customer", required=True)
    rv.add_argument("--as-of", type=iso_date, help="default: the ledger's last date")
    rv.add_argument("--format", choices=("table", "json"), default="table")
    rv.add_argument("--scorecard", type=Path)
    fl = cr_sub.add_parser("file", help="write the audit-ready credit file (HTML)")
    fl.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    fl.add_argument("--customer", required=True)
    fl.add_argument("--out", required=True, type=Path, help="file.html, or file.pdf (needs chromium)")
    fl.add_argument("--as-of", type=iso_date, help="default: the ledger's last date")
    fl.add_argument("--scorecard", type=Path)
    fl.add_argument("--db", help="state database with the limit history (default: "
                    "$WORKBENCH_DB_URL or sqlite:///data/workbench.db)")
    dc = cr_sub.add_parser("decide", help="record a credit decision (append-only, authority checked)")
    dc.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    dc.add_argument("--customer", required=True)
    dc.add_argument("--decision", required=True, choices=("approve", "approve_other", "decline", "hold"),
                    help="approve: the recommended limit; approve_other: the --limit given; "
                    "decline: no limit; hold: the current limit")
    dc.add_argument("--approver", help="optional check: who decides is the users-file entry of "
                    "your OS login (workbench serve's users file); a different name is refused")
    dc.add_argument("--level", choices=("analyst", "manager", "director", "cfo"),
                    help="optional check: the authority is your role's in the roles file; a "
                    "different level is refused")
    dc.add_argument("--reason", required=True, help="why (recorded)")
    dc.add_argument("--limit", help="with approve_other: the limit approved, in the customer's "
                    "currency (decimal)")
    dc.add_argument("--as-of", type=iso_date, help="default: the ledger's last date")
    dc.add_argument("--scorecard", type=Path)
    dc.add_argument("--db")
    tr = cr_sub.add_parser("train", help="fit the scorecard on the ledger's history and save it")
    tr.add_argument("--ledger", type=Path, default=None, help=LEDGER_HELP)
    tr.add_argument("--out", required=True, type=Path, help="where to save the scorecard")
    tr.add_argument("--test-from", type=iso_date,
                    help="monthly reviews from this date are held out (default: the newest third)")

    rk = sub.add_parser("risk", help="payment-risk model: train, score open items, cash forecast")
    rk_sub = rk.add_subparsers(dest="action", required=True, metavar="ACTION")
    rt = rk_sub.add_parser("train", help="train on the ledger's history; print the metrics as JSON")
    rt.add_argument("--ledger", required=True, type=Path)
    rt.add_argument("--as-of", required=True, type=iso_date, help="train on what was known then")
    rt.add_argument("--model", required=True, type=Path, help="where to save the model")
    rt.add_argument("--late-days", type=int, default=30,
                    help="an invoice paid more than N days late is late (default 30)")
    rt.add_argument("--card", type=Path, help="also write the model card (Markdown)")
    rt.add_argument("--max-train-rows", type=positive_int, default=None,
                    help="train on at most this many of the newest invoices (default 250,000)")
    rt.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rs = rk_sub.add_parser("score", help="score the open items as of a date")
    rs.add_argument("--ledger", required=True, type=Path)
    rs.add_argument("--model", required=True, type=Path, help="a model saved by 'workbench risk train'")
    rs.add_argument("--as-of", required=True, type=iso_date)
    rs.add_argument("--out", required=True, type=Path, help="FILE.csv")
    rf = rk_sub.add_parser("forecast", help="expected collections per week")
    rf.add_argument("--ledger", required=True, type=Path)
    rf.add_argument("--model", required=True, type=Path, help="a model saved by 'workbench risk train'")
    rf.add_argument("--as-of", required=True, type=iso_date)
    rf.add_argument("--weeks", type=positive_int, default=13, help="weeks ahead (default 13)")
    rf.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rf.add_argument("--backtest", type=count, default=None, metavar="K",
                    help="also backtest (table and json formats): forecasts made 1..K horizons "
                    "before --as-of, each with a model trained as of its date, against the cash "
                    "that came")
    rf.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                    help="with --backtest: backtest dates that would not fit in this many seconds "
                    "are skipped (and listed)")
    rf.add_argument("--quiet", action="store_true", help="no progress on stderr")

    from ..reserve.cli import add_parser as add_reserve_parser
    rp = add_reserve_parser(sub)
    for action in rp._actions:           # the reserve's quarter is read like every period
        if action.dest == "quarter" and action.type is None:
            action.type = quarter_text

    au = sub.add_parser("audit", help="check the state database's audit trail; evidence for auditors",
                        description="verify: check the state database: every audit row's keyed "
                        "MAC (HMAC-SHA256, key outside the database), the chain's anchor, and "
                        "every record row against its audit row. Exit 0 intact, 1 a break, 2 the "
                        "database cannot be opened. evidence: assemble a period's decisions, "
                        "approvals, postings, adjustments and write-offs with the chain's result "
                        "and a seeded sample, for an auditor.")
    au_sub = au.add_subparsers(dest="action", required=True, metavar="ACTION")
    av = au_sub.add_parser("verify", help="verify the audit chain; print each break; exit 1 on one")
    av.add_argument("--db", default=None,
                    help="state database URL (default: WORKBENCH_DB_URL or data/workbench.db)")
    from ..evidence_cli import add_evidence_arguments
    ev = au_sub.add_parser("evidence", help="assemble the period's evidence folder for auditors "
                           "(exit 0 intact, 1 chain broken, 2 nothing written)")
    add_evidence_arguments(ev)

    sv = sub.add_parser("serve", help="the managers' apps (Voila) behind sign-in, on 127.0.0.1",
                        description="Serve the apps of notebooks/apps/ with Voila: sign-in "
                        "required (users file with argon2-hashed passwords), each user's "
                        "authority from their role, idle kernels culled. See docs/serving.md.")
    from ..serve import add_arguments as add_serve_arguments
    add_serve_arguments(sv)

    r = sub.add_parser("report", help="run a pack (quarter-end by default) into reports/<period>/",
                       description="Run every analysis notebook of a pack headless (papermill) "
                       "from one validated snapshot of the ledger. Exit codes: 0 written, "
                       "1 a notebook failed (partial output under reports/_failed/), "
                       "2 bad input (invalid ledger, open period, bad option).")
    r.add_argument("kind", nargs="?", default="quarter-end",
                   choices=("quarter-end", "month-end", "weekly"), metavar="PACK",
                   help="quarter-end (default), month-end or weekly")
    r.add_argument("--ledger", required=True, type=Path)
    r.add_argument("--quarter", type=quarter_text, help="quarter-end: 2026Q3, or 'last' "
                   "(default): the last quarter closed on the ledger's last date")
    r.add_argument("--month", type=month_text,
                   help="month-end: 2026-09 (default: the last month closed)")
    r.add_argument("--week-ending", type=iso_date,
                   help="weekly (required): the week's last day, YYYY-MM-DD")
    r.add_argument("--out", type=Path, help="reports folder (default: reports/)")
    r.add_argument("--allow-open-period", action="store_true",
                   help="report a period that ends after the ledger's last date")
    r.add_argument("--method", help="quarter-end: reserve method (default: the policy's)")
    r.add_argument("--time-budget", type=positive_int, default=None,
                   help="seconds for the payment-risk training and backtest (default 600)")
    r.add_argument("--jobs", type=positive_int, help="notebooks run at once (default 2)")
    r.add_argument("--no-notebooks", action="store_true", help="tables only (no papermill run)")
    r.add_argument("--quiet", action="store_true")
    from ..adjustments_cli import add_parser as add_adjustments_parser
    from ..briefs_cli import add_parser as add_accounts_parser
    from ..disputes_cli import add_parser as add_disputes_parser
    add_adjustments_parser(sub)
    add_disputes_parser(sub)
    add_accounts_parser(sub)
    _finish(p)
    return p


