"""``workbench cashapp`` (and ``cashapp post``), ``credit`` and ``risk``."""

from __future__ import annotations

import json
import sys
import time

from .common import (
    CLIError,
    _amount,
    _customer,
    _state,
    command_line_authority,
    load_ledger,
)


def cmd_cashapp(args) -> int:
    from ..cashapp import load_cashapp_policy, run_cashapp, write_run
    from ..io.bank import StatementError
    from ..policy import PolicyError
    try:
        policy = load_cashapp_policy(args.policy or "cashapp", args.threshold)
        as_of = None
        if args.as_of:
            from ..ledger import to_date
            as_of = to_date(args.as_of)
    except (ValueError, PolicyError) as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    try:
        run = run_cashapp(ledger, args.bank, as_of, args.bank_map, policy, progress=not args.quiet)
    except StatementError as e:
        print(f"workbench cashapp: {e}", file=sys.stderr)
        print("nothing imported, nothing written", file=sys.stderr)
        return 1
    except ValueError as e:
        raise CLIError(str(e)) from None
    write_run(run, args.out)
    s = run.summary()
    print(f"{s['receipts']} receipts from {s['statements']} statement(s) "
          f"({s['duplicates_skipped']} duplicate(s), {s['already_applied_in_ledger']} already "
          f"applied): {s['auto_applied']['receipts']} auto, {s['suggested']['receipts']} "
          f"suggested, {s['unapplied']['receipts']} with cash left unapplied -> {args.out}")
    for item in s["skipped"]:
        print(f"  skipped {item['receipt_id']} ({item['file']} statement {item['statement_id']}, "
              f"line {item['line']}): {item['reason']}")
    ties = True
    for cur, t in s["reconciliation"]["totals"].items():
        ties &= t["ties"]
        print(f"  {cur}: credits {t['credits']} = already applied {t['already_applied']} + auto "
              f"{t['auto_applied']} + suggested {t['suggested']} + unapplied {t['unapplied']} "
              f"(difference {t['difference']}{'' if t['ties'] else ', DOES NOT TIE'})")
    if not ties:
        print("workbench cashapp: the run does not tie to the bank statements: see "
              f"{args.out}/reconciliation_by_statement.csv", file=sys.stderr)
        return 1
    return 0


def cmd_cashapp_post(args) -> int:
    from ..cashapp.posting import PostingError, post_matches
    if not (args.out / "applications.csv").exists():
        raise CLIError(f"{args.out} holds no applications.csv (run workbench cashapp first)")
    approver, _ = command_line_authority("cashapp post", args.by)
    ledger = load_ledger(args.ledger)
    try:
        result = post_matches(args.out, ledger, approver, _state(args.db), tuple(args.status),
                              args.receipt)
    except PostingError as e:
        print(f"workbench cashapp post: nothing posted: {len(e.problems)} line(s) cannot be "
              f"posted", file=sys.stderr)
        for p in e.problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"posted {result['posted']} line(s) approved by {approver}; "
          f"{result['already_posted']} already posted")
    return 0


def _credit_inputs(args):
    from ..ledger import to_date
    ledger = load_ledger(args.ledger)
    args.customer = _customer(ledger, args.customer)
    if getattr(args, "limit", None) is not None:
        cust = ledger.customers
        currency = cust.loc[cust["customer_id"] == args.customer, "currency"].iloc[0]
        if _amount("--limit", args.limit, currency) < 0:
            raise CLIError(f"--limit must be 0 or more; got {args.limit}")
    try:
        as_of = to_date(args.as_of) if getattr(args, "as_of", None) else ledger.last_date
    except ValueError as e:
        raise CLIError(str(e)) from None
    if getattr(args, "scorecard", None):
        from ..credit import load_scorecard
        try:
            return ledger, as_of, load_scorecard(args.scorecard)
        except (OSError, ValueError) as e:
            raise CLIError(str(e)) from None
    # no saved scorecard: the one the notebook, the credit file and the Voila page use
    from ..credit import standard_scorecard
    scorecard, _, note = standard_scorecard(ledger, as_of)
    if note:
        print(f"warning: {note}; the policy's class for unscored customers applies", file=sys.stderr)
    return ledger, as_of, scorecard


def cmd_credit(args) -> int:
    from .. import credit
    if args.action == "train":
        ledger = load_ledger(args.ledger)
        last = ledger.last_date
        if args.test_from:
            try:
                sc, report, _ = credit.train_scorecard(ledger, credit.review_dates(ledger, last),
                                                       args.test_from)
            except ValueError as e:
                raise CLIError(str(e)) from None
        else:
            sc, report, note = credit.standard_scorecard(ledger, last)
            if sc is None:
                raise CLIError(note)
        credit.save_scorecard(sc, args.out, report)
        print(json.dumps(report, indent=2))
        return 0
    ledger, as_of, scorecard = _credit_inputs(args)
    try:
        rec = credit.recommend(ledger, args.customer, as_of, scorecard)
    except ValueError as e:
        raise CLIError(str(e)) from None
    if args.action == "review":
        out = {k: v for k, v in rec.items() if k != "analysis"}
        if args.format == "json":
            out["analysis"] = rec["analysis"]
            print(json.dumps(out, indent=2, default=str))
        else:
            for k in ("customer_id", "name", "as_of", "score", "risk_class", "recommended_limit",
                      "currency", "binding_rule", "approver_level", "current_limit", "exposure"):
                print(f"{k:>18}: {out[k]}")
            print(f"{'exceptions':>18}: {'; '.join(out['exceptions']) or 'none'}")
            print(f"{'reasons':>18}: {'; '.join(out['reasons']) or 'n/a'}")
        return 0
    db = _state(args.db)
    if args.action == "decide":
        approver, level = command_line_authority("credit decide", args.approver, args.level)
        try:
            rid = credit.record_decision(db, ledger, rec, args.decision, approver, level,
                                         args.reason, args.limit)
        except PermissionError as e:
            print(f"workbench credit decide: refused: {e}", file=sys.stderr)
            return 1
        except ValueError as e:
            raise CLIError(str(e)) from None
        print(f"recorded decision {rid}: {args.decision} for {args.customer} by {approver} "
              f"(authority {level})")
        return 0
    from ..io.writer import atomic_write_text
    html = credit.credit_file_html(ledger, rec, credit.limit_history(db, args.customer))
    if args.out.suffix.lower() == ".pdf":
        try:
            credit.html_to_pdf(html, args.out)
        except RuntimeError as e:
            raise CLIError(str(e)) from None
    else:
        atomic_write_text(args.out, html)
    print(f"credit file for {args.customer} as of {rec['as_of']} written to {args.out}")
    return 0


def cmd_risk(args) -> int:
    import warnings

    import pandas as pd

    from .. import risk
    from ..ledger import to_date
    try:
        as_of = to_date(args.as_of)
    except ValueError as e:
        raise CLIError(str(e)) from None
    ledger = load_ledger(args.ledger)
    t_start = time.perf_counter()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t_start:6.1f} s] {message}", file=sys.stderr, flush=True)

    if args.action == "train":
        try:
            model, metrics = risk.train(ledger, as_of, args.late_days, progress=progress,
                                        max_train_rows=args.max_train_rows or risk.MAX_TRAIN_ROWS)
        except ValueError as e:
            raise CLIError(str(e)) from None
        risk.save_model(model, args.model)
        if args.card:
            from ..io.writer import atomic_write_text
            atomic_write_text(args.card, risk.model_card(model))
        print(json.dumps(metrics, indent=2))
        return 0
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = risk.load_model(args.model, as_of)
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        if args.action == "score":
            sc = risk.score_open_items(ledger, model, as_of)
            from ..io.writer import atomic_write_text
            cols = ["invoice_id", "p_late", "expected_pay_date", "pay_date_low", "pay_date_high",
                    "customer_id", "currency", "open_minor"]
            atomic_write_text(args.out, sc[cols].to_csv(index=False, lineterminator="\n"))
            print(f"{len(sc)} open invoices scored as of {as_of.date()} -> {args.out}")
            return 0
        fc = risk.cash_forecast(ledger, model, as_of, args.weeks)
        bt = None
        if args.backtest:
            past = [as_of - pd.DateOffset(weeks=args.weeks * k) for k in range(1, args.backtest + 1)]
            bt = risk.backtest_forecast(ledger, None, past, args.weeks, model.late_days,
                                        time_budget_s=args.time_budget, progress=progress)
    except (ValueError, OSError) as e:
        raise CLIError(str(e)) from None
    from ..reports import money_frame
    shown = money_frame(fc, ["expected_minor", "low_minor", "high_minor"]).rename(
        columns={"expected_minor": "expected", "low_minor": "low", "high_minor": "high"})
    if bt is not None:
        for d in bt.attrs["skipped"]:
            print(f"warning: backtest as of {d} skipped: over the {args.time_budget:.0f} s budget",
                  file=sys.stderr)
    if args.format == "json":
        doc = {"as_of": str(as_of.date()), "weeks": args.weeks, "forecast": shown.to_dict("records")}
        if bt is not None:
            doc["backtest"] = money_frame(bt, ["expected_minor", "actual_minor", "error_minor"]).to_dict("records")
            doc["backtest_skipped"] = bt.attrs["skipped"]
        print(json.dumps(doc, indent=2))
    elif args.format == "csv":
        sys.stdout.write(shown.to_csv(index=False, lineterminator="\n"))
        if bt is not None:
            print("the backtest is in --format json or table", file=sys.stderr)
    else:
        print(shown.to_string(index=False))
        if bt is not None and len(bt):
            err = (bt.assign(abs_error_minor=bt["error_minor"].abs())
                   .groupby(["currency", "week"], as_index=False)[["expected_minor", "actual_minor", "abs_error_minor"]]
                   .mean().round(0).astype({"expected_minor": "int64", "actual_minor": "int64",
                                             "abs_error_minor": "int64"}))
            print(f"\nbacktest: mean of the forecasts made at {', '.join(sorted(set(bt['forecast_date'])))}")
            print(money_frame(err, ["expected_minor", "actual_minor", "abs_error_minor"]).rename(
                columns={"expected_minor": "expected", "actual_minor": "received",
                         "abs_error_minor": "absolute_error"}).to_string(index=False))
    return 0


