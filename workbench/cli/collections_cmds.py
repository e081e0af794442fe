"""``workbench activity`` (log and metrics), ``worklist``, ``proposals``, ``statement``
and ``letter``."""

from __future__ import annotations

import json
import sys

from .common import (
    CLIError,
    _amount,
    _collector,
    _customer,
    _print_frame,
    _state,
    command_line_actor,
    load_ledger,
)


def cmd_activity(args) -> int:
    from ..collections import ActivityLog
    if args.action == "metrics":
        return _cmd_activity_metrics(args)
    ledger = load_ledger(args.ledger) if getattr(args, "ledger", None) else None
    if ledger is not None and args.customer:         # names checked before the log is opened
        args.customer = _customer(ledger, args.customer)
    if args.action == "add":
        if ledger is not None:
            args.collector = _collector(ledger, args.collector)
        if args.promise_amount is not None:
            currency = _promise_currency(args, ledger)
            if currency and _amount("--promise-amount", args.promise_amount, currency) <= 0:
                raise CLIError(f"--promise-amount must be more than 0; got {args.promise_amount}")
    log = ActivityLog(_state(args.db), ledger)
    if args.action == "add":
        try:
            rid = log.add(args.customer, args.kind, args.collector, at=args.at,
                          invoice_id=args.invoice, note=args.note, promise_date=args.promise_date,
                          promise_amount=args.promise_amount, currency=args.currency,
                          actor=command_line_actor(args.by))
        except ValueError as e:
            raise CLIError(str(e)) from None
        print(f"recorded activity {rid}: {args.kind} with {args.customer} by {args.collector}")
        return 0
    frame = log.frame()
    if args.customer:
        frame = frame[frame["customer_id"] == args.customer]
    if args.kind:
        frame = frame[frame["kind"] == args.kind]
    import pandas as pd
    if ledger is not None and len(frame):
        from ..kpis import promise_outcomes
        as_of = args.as_of or pd.Timestamp.now(tz="UTC").date().isoformat()
        status = promise_outcomes(ledger, as_of, frame).set_index("activity_id")["status"]
        frame = frame.assign(promise_status=frame["activity_id"].map(status))
    frame = frame.drop(columns=["source"], errors="ignore")
    frame = frame.rename(columns={"promise_amount_minor": "promise_amount"})
    if len(frame):
        from ..money import format_amount
        frame["promise_amount"] = ["" if v is None or v is pd.NA or v != v else format_amount(int(v), c)
                                   for v, c in zip(frame["promise_amount"], frame["currency"])]
    _print_frame(frame, args.format)
    return 0


def _cmd_activity_metrics(args) -> int:
    """``activity metrics``: calls, e-mails, letters, promises, kept rate, accounts touched
    of those assigned, cash collected and past-due reduction per collector and currency."""
    from ..activity_metrics import (
        activity_against_targets,
        activity_metrics,
        metrics_display,
        metrics_records,
    )
    from ..periods import parse_period
    from ..policy import PolicyError
    goals = against = None
    try:
        period = parse_period(args.period)
        if args.targets is not None:
            from ..goals import load_goals, period_frequency
            period_frequency(period)
            goals = load_goals(args.targets)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    if args.collector:
        args.collector = _collector(ledger, args.collector, filter_=True)
    activities = _activities_for(args, ledger, known_by=period.end)
    try:
        metrics = activity_metrics(ledger, period, activities, collector=args.collector)
        if goals is not None:
            against = activity_against_targets(metrics, goals, ledger)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    notes = metrics.attrs.get("notes", []) + ([] if against is None else against.attrs["notes"])
    if args.format == "json":
        from ..goals import goal_records
        doc = {"period": period.label, "start": str(period.start.date()),
               "end": str(period.end.date()), "metrics": metrics_records(metrics),
               "notes": notes}
        if against is not None:
            doc["goals"] = goals.label
            doc["targets"] = goal_records(against)      # currency "all": counts and rates
        print(json.dumps(doc, indent=2))
        return 0
    from ..activity_metrics import MONEY_COLUMNS
    from ..reports import money_frame
    if args.format == "csv":
        shown = money_frame(metrics, list(MONEY_COLUMNS)) if len(metrics) else metrics
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
        if against is not None and len(against):
            import pandas as pd

            from ..goals import goal_records
            rows = goal_records(against)
            sys.stdout.write(pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))
        return 0
    print(f"Activity metrics for {period.label} ({period.start.date()} to {period.end.date()}); "
          f"accounts assigned as of {period.end.date()}")
    print(metrics_display(metrics).to_string(index=False) if len(metrics) else "(none)")
    if against is not None:
        from ..goals import goals_display
        print(f"\nAgainst activity targets ({goals.label}, {against.attrs['frequency']})")
        shown = goals_display(against.assign(scope="collector", name=against["collector"]))
        shown["Currency"] = shown["Currency"].replace("all", "(all)")
        print(shown.to_string(index=False) if len(shown) else "no activity targets")
    for note in notes:
        print(f"note: {note}")
    return 0


def _promise_currency(args, ledger) -> str | None:
    """The currency of a promised amount: the invoice's when one is named (``--currency``
    must agree), else ``--currency``, else the customer's (with a ledger)."""
    if ledger is None:
        return args.currency
    if args.invoice:
        inv = ledger.invoices
        cur = inv.loc[inv["invoice_id"] == args.invoice, "currency"]
        if len(cur):
            if args.currency and args.currency != cur.iloc[0]:
                raise CLIError(f"--currency {args.currency} is not the currency of invoice "
                               f"{args.invoice} ({cur.iloc[0]})")
            return cur.iloc[0]
    if args.currency:
        return args.currency
    cust = ledger.customers
    cur = cust.loc[cust["customer_id"] == args.customer, "currency"]
    return cur.iloc[0] if len(cur) else None


def _activities_for(args, ledger, known_by=None):
    """The ledger's activities and the log's (``known_by``: the log as it stood then)."""
    from ..collections import ActivityLog, activity_frame
    if getattr(args, "no_log", False):
        return activity_frame(ledger)
    return activity_frame(ledger, ActivityLog(_state(args.db), ledger), known_by=known_by)


def _collections_inputs(args):
    """(as_of, collections policy, ledger) for the collections commands; clear errors."""
    from ..collections import load_collections_policy
    from ..ledger import to_date
    from ..policy import PolicyError
    try:
        as_of = to_date(args.as_of)
        policy = load_collections_policy(args.policy) if args.policy else load_collections_policy()
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    return as_of, policy, load_ledger(args.ledger)


def cmd_worklist(args) -> int:
    from ..collections import worklist
    as_of, policy, ledger = _collections_inputs(args)
    if args.collector is not None:
        args.collector = _collector(ledger, args.collector, filter_=True)
    scores = None
    if args.risk_model:
        from ..risk import customer_risk, load_model, score_open_items
        try:
            scores = customer_risk(score_open_items(ledger, load_model(args.risk_model, as_of), as_of))
        except (ValueError, OSError) as e:
            raise CLIError(str(e)) from None
    acts, disputes = _activities_for(args, ledger), None
    if not args.no_log:     # disputes opened in the workbench count too (with the ledger's)
        from ..collections import open_disputes
        disputes = open_disputes(ledger, as_of, acts, _state(args.db))
    try:
        wl = worklist(ledger, as_of, policy, acts, risk_scores=scores,
                      collector=args.collector, disputes=disputes)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.top:
        wl = wl.head(args.top)
    if args.format == "table":
        cols = ["rank", "customer_id", "customer_name", "currency", "past_due_ar",
                "oldest_days_past_due", "stage", "next_action", "priority"]
        _print_frame(wl[cols] if len(wl) else wl, "table", ["past_due_ar"],
                     f"Worklist as of {as_of.date()} ({policy.label})")
        for r in wl.head(10).itertuples(index=False):
            print(f"  {r.rank}. {r.customer_id}: {r.reasons}")
        return 0
    _print_frame(wl, args.format, ["open_ar", "past_due_ar", "promise_due_today"])
    return 0


def cmd_proposals(args) -> int:
    from ..collections import suspension_proposals, write_off_proposals
    as_of, policy, ledger = _collections_inputs(args)
    acts = _activities_for(args, ledger)
    try:
        sus = suspension_proposals(ledger, as_of, policy, acts)
        wo = write_off_proposals(ledger, as_of, policy)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.format == "json":
        from ..reports import money_frame
        out = {"as_of": str(as_of.date()), "policy": policy.label,
               "suspensions": json.loads(money_frame(sus, ["past_due_ar"]).to_json(orient="records")) if len(sus) else [],
               "write_offs": json.loads(money_frame(wo, ["open_balance"]).to_json(orient="records")) if len(wo) else []}
        print(json.dumps(out, indent=2))
        return 0
    _print_frame(sus, args.format, ["past_due_ar"], f"Suspension proposals as of {as_of.date()}")
    _print_frame(wo, args.format, ["open_balance"], f"\nSmall-balance write-off proposals as of {as_of.date()}")
    return 0


def cmd_statement(args) -> int:
    from ..documents import record_document, statement_excel, statement_html
    from ..ledger import to_date
    ledger = load_ledger(args.ledger)
    args.customer = _customer(ledger, args.customer)
    if args.collector is not None:
        args.collector = _collector(ledger, args.collector)
    try:
        as_of = to_date(args.as_of)
        if args.out.suffix.lower() == ".xlsx":
            statement_excel(ledger, args.customer, as_of, args.out, args.language)
            content = args.out.read_bytes().hex()
        elif args.out.suffix.lower() in (".html", ".htm"):
            content = statement_html(ledger, args.customer, as_of, args.language)
        else:
            raise CLIError(f"--out must end in .html or .xlsx; got {args.out.name}")
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.out.suffix.lower() != ".xlsx":
        from ..io.writer import atomic_write_text
        atomic_write_text(args.out, content)
    if not args.no_log:
        from ..collections import ActivityLog
        collector = args.collector or _collector_of(ledger, args.customer)
        record_document(ActivityLog(_state(args.db), ledger), ledger, args.customer, "letter",
                        f"statement of account as of {as_of.date()}", content, collector,
                        path=None)
    print(f"statement of account for {args.customer} as of {as_of.date()} written to {args.out}")
    return 0


def _collector_of(ledger, customer_id) -> str:
    cust = ledger.customers.set_index("customer_id")
    if "collector" in cust and isinstance(cust.at[customer_id, "collector"], str):
        return cust.at[customer_id, "collector"]
    return "unassigned"


def cmd_letter(args) -> int:
    from ..collections import ActivityLog, load_collections_policy
    from ..documents import dunning_letter, record_document
    from ..ledger import to_date
    ledger = load_ledger(args.ledger)
    args.customer = _customer(ledger, args.customer)
    if args.collector is not None:
        args.collector = _collector(ledger, args.collector)
    try:
        as_of = to_date(args.as_of)
        stage = args.stage
        if stage is None:
            items = ledger.open_items(as_of)
            items = items[items["customer_id"] == args.customer]
            if not len(items):
                raise ValueError(f"customer '{args.customer}' has nothing open on {as_of.date()}")
            st = load_collections_policy().stage_for(int(items["days_past_due"].max()))
            stage = (st.template if st and st.template in ("reminder", "friendly", "firm", "final")
                     else "final")
        collector = args.collector or _collector_of(ledger, args.customer)
        html = dunning_letter(ledger, args.customer, as_of, stage, args.language, collector)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.no_log:
        from ..io.writer import atomic_write_text
        atomic_write_text(args.out, html)
    else:
        record_document(ActivityLog(_state(args.db), ledger), ledger, args.customer, "letter",
                        f"dunning letter '{stage}'", html, collector, path=args.out)
    print(f"{stage} letter for {args.customer} written to {args.out}")
    return 0


