"""``workbench demo``, ``validate``, ``aging`` and ``kpis`` (with goals)."""

from __future__ import annotations

import json
import sys

from .common import CLIError, load_ledger


def cmd_demo(args) -> int:
    from ..demo import DemoConfig, write_demo
    try:
        cfg = DemoConfig(invoices=args.invoices, seed=args.seed, end=args.end, months=args.months,
                         customers=args.customers, profile=args.profile)
    except ValueError as e:
        raise CLIError(str(e)) from None
    meta = write_demo(args.out, cfg, fmt=args.format, progress=not args.quiet)
    rows = meta["rows"]
    print(f"demo ledger written to {args.out}: {rows['customers']} customers, "
          f"{rows['invoices']} invoices, {rows['receipts']} receipts, {rows['applications']} "
          f"applications ({meta['seconds_total']:.1f} s, seed {args.seed}, {args.profile})")
    return 0


def cmd_validate(args) -> int:
    from ..ledger import validate_folder
    if not args.ledger.is_dir():
        raise CLIError(f"ledger folder {args.ledger} does not exist")
    try:
        ledger, problems = validate_folder(args.ledger, column_map=args.column_map,
                                           progress=sys.stderr.isatty())
    except (ValueError, FileNotFoundError) as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        print(json.dumps({"valid": not problems, "problems": [
            {"table": p.table, "line": p.line, "column": p.column, "row_id": p.row_id,
             "message": p.message, "file": p.file} for p in problems],
            "summary": ledger.summary() if ledger else None}, indent=2))
        return 1 if problems else 0
    if problems:
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s): ledger {args.ledger} is not valid", file=sys.stderr)
        return 1
    s = ledger.summary()
    counts = ", ".join(f"{e['rows']} {name}" for name, e in s["tables"].items() if e["present"])
    print(f"valid: {args.ledger}: {counts}; {s['first_date']} to {s['last_date']}; "
          f"currencies {', '.join(s['currencies'])}")
    return 0


def cmd_aging(args) -> int:
    from ..aging import aging_records, aging_table, load_aging_policy
    from ..ledger import to_date
    from ..reports import money_frame
    try:
        as_of = to_date(args.as_of)
        policy = load_aging_policy(args.policy) if args.policy else load_aging_policy()
    except ValueError as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger, args.column_map)
    if args.report_currency and not ledger.has("fx_rates") and \
            set(ledger.currencies) - {args.report_currency}:
        raise CLIError(f"--report-currency {args.report_currency} needs an fx_rates table in "
                       f"{args.ledger}")
    try:
        table = aging_table(ledger, as_of, by=args.by, policy=policy,
                            report_currency=args.report_currency)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        records = aging_records(table)
        if args.by is None and len(records) == 1:
            print(json.dumps(records[0], indent=2))
        else:
            print(json.dumps(records, indent=2))
        return 0
    shown = money_frame(table, list(policy.labels) + ["total"])
    if args.format == "csv":
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n", float_format="%.4f"))
    else:
        print(f"AR aging as of {as_of.date()} ({table.attrs['policy']})")
        print(shown.to_string(index=False) if len(shown) else "no open invoices")
    return 0


def cmd_kpis(args) -> int:
    from ..kpis import KPIOptions, kpi_records, kpi_table, kpi_trend
    from ..periods import parse_period
    from ..policy import PolicyError
    goals = against = None
    try:
        period = parse_period(args.period)
        options = KPIOptions(cei_sales=args.cei_sales, cei_current_days=args.cei_current_days)
        if args.targets is not None:
            # (not in APPLIES: its rules cannot say "without --by, or --by other than customer")
            if args.by == "customer":
                raise CLIError(f"--targets {args.targets} does not apply with --by customer "
                               f"(targets are set for the company, segments and collectors, "
                               f"not for customers)")
            from ..goals import load_goals, period_frequency
            period_frequency(period)
            goals = load_goals(args.targets)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger, args.column_map)
    try:
        table = kpi_table(ledger, period, by=args.by, options=options,
                          report_currency=args.report_currency)
        trend = kpi_trend(ledger, period.end, points=args.trend, by=args.by, options=options) \
            if args.trend else None
        if goals is not None:
            from ..goals import kpis_against_targets
            against = kpis_against_targets(ledger, period, goals, by=args.by, options=options,
                                           table=table)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        records = kpi_records(table)
        if against is not None:
            _add_targets_json(records, table, against, goals)
        print(json.dumps(records[0] if args.by is None and len(records) == 1 else records,
                         indent=2))
        return 0
    from ..kpis import MONEY_FIELDS
    from ..reports import money_frame
    shown = money_frame(table, [c for c in MONEY_FIELDS if c in table.columns])
    if args.format == "csv":
        if against is not None:
            shown = _targets_columns(shown, table, against)
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
        if trend is not None:
            sys.stdout.write(money_frame(trend, list(MONEY_FIELDS)).to_csv(
                index=False, lineterminator="\n"))
        return 0
    print(f"KPIs for {period.label} ({period.start.date()} to {period.end.date()}, "
          f"{period.days} days)")
    keys = [c for c in ("segment", "collector", "customer_id", "currency") if c in shown.columns]
    from ..reporting.present import label_for
    body = shown.drop(columns=["period", "start", "end", "days"]).set_index(keys).T
    if "countback_complete" in body.index:          # a flag (1 == True: only this row)
        body.loc["countback_complete"] = ["yes" if v is True or v == "True" else "no"
                                          for v in body.loc["countback_complete"]]
    body = body.rename(index=label_for)            # business names for people
    body.columns.names = [label_for(k) for k in keys]
    print(body.to_string())
    if trend is not None:
        cols = [c for c in ("period", *(["segment", "collector", "customer_id"]), "currency",
                            "ending_ar", "dso", "countback_dso", "cei", "aging_over_60_pct")
                if c in trend.columns]
        print("\nTrend by month end")
        print(money_frame(trend, list(MONEY_FIELDS))[cols].to_string(index=False))
    if against is not None:
        from ..goals import goals_display
        print(f"\nAgainst targets ({goals.label}, {against.attrs['frequency']})")
        print(goals_display(against).to_string(index=False) if len(against)
              else "no targets for these rows in the goals file")
        for note in against.attrs.get("notes", []):
            print(f"note: {note}")
    return 0


def _group_key(row: dict) -> tuple:
    return tuple(row.get(c) for c in ("segment", "collector", "currency"))


def _targets_by_row(against) -> dict:
    from ..goals import goal_records
    out: dict = {}
    for rec in goal_records(against):
        key = (rec["name"] if rec["scope"] == "segment" else None,
               rec["name"] if rec["scope"] == "collector" else None, rec["currency"])
        out.setdefault(key, {})[rec["goal"]] = {
            k: rec[k] for k in ("goal_name", "unit", "direction", "actual", "target",
                                "variance", "variance_pct", "status")}
    return out


def _add_targets_json(records, table, against, goals) -> None:
    """Each KPI record gains ``targets`` ({goal: actual, target, variance, variance_pct,
    status}) and ``goals`` (the goals file's name and version); nothing else changes."""
    found = _targets_by_row(against)
    for rec, row in zip(records, table.to_dict("records")):
        rec["goals"] = goals.label
        rec["targets"] = found.get(_group_key(row), {})


def _targets_columns(shown, table, against):
    """The csv rows with ``<goal>_target``, ``_variance``, ``_variance_pct``, ``_status``
    columns added after the KPI columns."""
    found = _targets_by_row(against)
    goals = list(dict.fromkeys(against["goal"]))
    out = shown.copy()
    keys = [_group_key(r) for r in table.to_dict("records")]
    for g in goals:
        for part in ("target", "variance", "variance_pct", "status"):
            out[f"{g}_{part}"] = [found.get(k, {}).get(g, {}).get(part) for k in keys]
    return out


