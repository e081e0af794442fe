"""The command line contracts: demo, validate, aging (JSON shape), report."""

import json
import re

import pytest

from workbench.cli import main

from .conftest import run_cli


def test_aging_json_contract_single_currency(tmp_path, capsys):
    from .conftest import FIXTURES
    assert main(["aging", "--ledger", str(FIXTURES / "netsuite"), "--column-map", "netsuite_ar_aging",
                 "--as-of", "2026-09-30", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert isinstance(obj, dict)
    assert set(obj) >= {"as_of", "currency", "buckets", "total", "aging_over_60_pct"}
    assert obj["as_of"] == "2026-09-30" and obj["currency"] == "USD"
    assert list(obj["buckets"]) == ["current", "1-30", "31-60", "61-90", "91-120", "over_120"]
    assert obj["total"] == "9750.09" and obj["aging_over_60_pct"] == 1.0255


def test_aging_json_multi_currency_is_a_list(hand_dir, capsys):
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--format", "json"]) == 0
    objs = json.loads(capsys.readouterr().out)
    assert [o["currency"] for o in objs] == ["EUR", "JPY", "USD"]
    assert [o["total"] for o in objs] == ["300.00", "70000", "1200.00"]
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--format", "json",
                 "--report-currency", "USD"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["total"] == "1994.50" and obj["buckets"]["61-90"] == "325.50"
    assert obj["aging_over_60_pct"] == 33.8681


def test_aging_by_group_formats(hand_dir, capsys):
    # without customer_changes, the collector on a past date is not known: not today's
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--by", "collector",
                 "--format", "json"]) == 0
    objs = json.loads(capsys.readouterr().out)
    assert {o["collector"] for o in objs} == {"(unknown)"}
    from .test_ledger import HISTORY
    (hand_dir / "customer_changes.csv").write_text(HISTORY)
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--by", "collector",
                 "--format", "json"]) == 0
    objs = json.loads(capsys.readouterr().out)
    assert {(o["collector"], o["currency"], o["total"]) for o in objs} == {
        ("Ann Lee", "JPY", "70000"), ("Ann Lee", "USD", "1200.00"), ("Bob Stone", "EUR", "300.00")}
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31", "--by", "segment",
                 "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("segment,currency,current,1-30,31-60,61-90,91-120,over_120,total,"
                        "aging_over_60_pct,invoices")
    assert "Enterprise,USD,250.00,300.00,300.00,0.00,50.00,300.00,1200.00,29.1667,5" in lines
    assert main(["aging", "--ledger", str(hand_dir), "--as-of", "2026-03-31"]) == 0
    assert "AR aging as of 2026-03-31" in capsys.readouterr().out


@pytest.mark.parametrize("args,message", [
    (["--as-of", "2026-02-30"], "argument --as-of: not a date: '2026-02-30' (use YYYY-MM-DD)"),
    (["--as-of", "2026-03-31", "--report-currency", "GBP"],
     "no fx_rates row for GBP on or before 2026-03-31 (needed to report in GBP; fx_rates are in USD)"),
])
def test_aging_errors(hand_dir, capsys, args, message):
    assert main(["aging", "--ledger", str(hand_dir), *args]) == 2
    assert message in capsys.readouterr().err


def test_validate_one_line_summary(hand_dir, capsys):
    assert main(["validate", str(hand_dir)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("valid: ") and "8 invoices" in out[0]


def test_python_m_workbench_and_demo(tmp_path):
    out = tmp_path / "demo"
    r = run_cli("demo", "--out", out, "--invoices", "400", "--seed", "3", "--format", "csv", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "400 invoices" in r.stdout
    r = run_cli("validate", out)
    assert r.returncode == 0 and r.stdout.startswith("valid: "), r.stdout + r.stderr
    r = run_cli("demo", "--out", out, "--invoices", "10")
    assert r.returncode == 2 and "invoices must be at least 50; got 10." in r.stderr
    r = run_cli("aging", "--ledger", out)
    assert r.returncode == 2 and "--as-of" in r.stderr


# ------------------------------------------------------------------ help text
def _all_parsers():
    from workbench.cli import build_parser, walk_parsers
    return list(walk_parsers(build_parser()))


def test_help_is_plain_text_with_a_one_line_help_per_subcommand():
    import argparse
    parsers = _all_parsers()
    paths = {" ".join(path) for path, _, _ in parsers}
    assert {"", "aging", "activity add", "credit decide", "risk forecast", "report", "reserve",
            "cashapp-post", "activity metrics", "adjustments approve", "adjustments export",
            "disputes aging", "disputes reconcile", "accounts brief", "accounts summary",
            "audit evidence"} <= paths
    for path, parser, help_ in parsers:
        text = parser.format_help()
        for bad in ("==SUPPRESS==", "``", ":func:", ":class:", ":mod:", ":meth:", "::"):
            assert bad not in text, (path, bad, text)
        assert not any(line.lstrip().startswith(".. ") for line in text.splitlines()), (path, text)
        assert parser.description, path
        if path and help_ is not argparse.SUPPRESS:
            assert isinstance(help_, str) and help_.strip() and "\n" not in help_, path
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help and action.help is not argparse.SUPPRESS, (path, action.dest)
    # the hidden 'cashapp-post' is not listed; it is reached as 'workbench cashapp post'
    top = parsers[0][1].format_help()
    assert "cashapp-post" not in top and re.search(r"\n    cashapp +apply bank credits", top)


def test_help_through_main(capsys):
    from workbench.cli import main
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: workbench [-h] [--version] COMMAND ...\n\nCollections Workbench: ")
    assert main(["credit", "decide", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Record a credit decision (append-only, authority checked)." in out
    assert "--as-of YYYY-MM-DD" in out and "--limit LIMIT" in out
    assert main(["cashapp", "post", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: workbench cashapp post [-h] --out OUT")


def test_plain_text_strips_rst():
    from workbench.cli import plain_text
    assert plain_text("The ``workbench`` command, see :func:`~workbench.aging.aging_table` "
                      "and :class:`workbench.ledger.Ledger`::\n\n.. note:: x\n**bold**") == \
        "The workbench command, see aging_table and workbench.ledger.Ledger:\n\n\nbold"


# ------------------------------------------------------------------ options that do not apply
def test_applies_table_names_real_options_declared_without_default():
    from workbench.cli import APPLIES
    parsers = {" ".join(path): parser for path, parser, _ in _all_parsers()}
    for rule in APPLIES:
        parser = parsers[rule.command]
        by_option = {o: a for a in parser._actions for o in a.option_strings}
        assert by_option[rule.option].default is None, rule      # "given" is "not None"
        if rule.when.startswith("--"):
            when = by_option[rule.when]
        else:
            when = next(a for a in parser._actions if a.dest == rule.when)
        if rule.values is not None and when.choices is not None:
            assert set(rule.values) <= set(when.choices), rule


@pytest.mark.parametrize("argv,message", [
    (["credit", "decide", "--customer", "C1", "--decision", "approve", "--limit", "abc",
      "--reason", "x"],
     "workbench credit decide: error: --limit abc does not apply with --decision approve (only "
     "approve_other takes a limit: approve takes the recommended one, decline sets none and "
     "hold keeps the current one)"),
    (["credit", "decide", "--customer", "C1", "--decision", "hold", "--limit", "100.00",
      "--reason", "x"],
     "--limit 100.00 does not apply with --decision hold"),
    (["kpis", "--period", "2026Q1", "--format", "json", "--trend", "3"],
     "workbench kpis: error: --trend 3 does not apply with --format json (the trend is shown in "
     "the table and csv formats; the JSON document has none)"),
    (["kpis", "--period", "2026Q1", "--report-currency", "USD", "--trend", "3"],
     "--trend 3 does not apply with --report-currency USD (the trend is in each currency: it is "
     "not converted)"),
    (["activity", "add", "--customer", "C1", "--kind", "call", "--collector", "Ann Lee",
      "--promise-date", "2026-04-10"],
     "workbench activity add: error: --promise-date 2026-04-10 does not apply with --kind call "
     "(--promise-date, --promise-amount and --currency go with kind promise_to_pay only)"),
    (["activity", "add", "--customer", "C1", "--kind", "email", "--collector", "Ann Lee",
      "--currency", "USD"], "--currency USD does not apply with --kind email"),
    (["activity", "list", "--as-of", "2026-03-31"],
     "workbench activity list: error: --as-of 2026-03-31 does not apply without --ledger "
     "(promises are judged kept, broken or pending only against a ledger)"),
    (["worklist", "--as-of", "2026-03-31", "--no-log", "--db", "sqlite:///DB"],
     "--db sqlite:///DB does not apply with --no-log (the activity log is neither read nor "
     "written with --no-log)"),
    (["statement", "--customer", "C1", "--as-of", "2026-03-31", "--out", "OUT.html", "--no-log",
      "--collector", "Ann Lee"],
     "--collector 'Ann Lee' does not apply with --no-log (the sender is recorded only in the "
     "activity log)"),
    (["letter", "--customer", "C1", "--as-of", "2026-03-31", "--out", "OUT.html", "--no-log",
      "--db", "sqlite:///DB"], "--db sqlite:///DB does not apply with --no-log"),
    (["risk", "forecast", "--model", "m.pkl", "--as-of", "2026-03-31", "--format", "csv",
      "--backtest", "2"],
     "--backtest 2 does not apply with --format csv (the csv format has no backtest"),
    (["risk", "forecast", "--model", "m.pkl", "--as-of", "2026-03-31", "--time-budget", "30"],
     "--time-budget 30.0 does not apply without --backtest (the time budget is the backtest's)"),
    (["report", "month-end", "--quarter", "2026Q1", "--out", "OUT"],
     "workbench report: error: --quarter 2026Q1 does not apply to the month-end report "
     "(--quarter picks a quarter-end pack's period)"),
    (["report", "--month", "2026-03", "--out", "OUT"],
     "--month 2026-03 does not apply to the quarter-end report"),
    (["report", "weekly", "--week-ending", "2026-04-05", "--method", "provision_matrix",
      "--out", "OUT"],
     "--method provision_matrix does not apply to the weekly report (only the quarter-end pack "
     "has the bad-debt reserve)"),
    (["report", "--no-notebooks", "--method", "provision_matrix", "--out", "OUT"],
     "--method provision_matrix does not apply with --no-notebooks (the tables-only run books "
     "the reserve policy's method)"),
    (["report", "--no-notebooks", "--jobs", "2", "--out", "OUT"],
     "--jobs 2 does not apply with --no-notebooks"),
    (["report", "--no-notebooks", "--time-budget", "100", "--out", "OUT"],
     "--time-budget 100 does not apply with --no-notebooks"),
])
def test_an_option_given_where_it_does_not_apply_is_refused(hand_dir, tmp_path, capsys, argv,
                                                             message):
    from .conftest import folder_state
    before = folder_state(hand_dir)
    out = tmp_path / "out"
    argv = [a.replace("OUT", str(out)).replace("DB", str(tmp_path / "s.db")) for a in argv]
    message = message.replace("DB", str(tmp_path / "s.db"))
    n = 2 if argv[0] in ("activity", "credit", "risk") else 1
    argv = [*argv[:n], "--ledger", str(hand_dir), *argv[n:]] if argv[:2] != ["activity", "list"] \
        else argv
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1                       # one line, no traceback
    assert list(tmp_path.iterdir()) == [hand_dir]     # nothing written: no output, no database
    assert folder_state(hand_dir) == before


def test_options_where_they_apply_still_work(hand_dir, capsys):
    assert main(["kpis", "--ledger", str(hand_dir), "--period", "2026Q1", "--format", "csv",
                 "--trend", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("currency,period,") for line in lines) == 2   # table, then trend
    assert [line[:11] for line in lines if line.startswith("USD,")] == [
        "USD,2026Q1,", "USD,2026-02", "USD,2026-03"]
    assert main(["kpis", "--ledger", str(hand_dir), "--period", "2026Q1", "--format", "json"]) == 0
    assert isinstance(json.loads(capsys.readouterr().out), list)


@pytest.mark.parametrize("customer,limit,message", [
    ("C1", "abc", "workbench credit decide: error: --limit abc is not an amount in USD (not a "
                  "decimal amount: 'abc'): a plain decimal number with at most 2 decimals, e.g. "
                  "25000.00"),
    ("C1", "10.001", "--limit 10.001 is not an amount in USD ('10.001' has more decimals than "
                     "USD allows (2))"),
    ("Gamma KK", "100.5", "--limit 100.5 is not an amount in JPY ('100.5' has more decimals "
                          "than JPY allows (0)): a plain decimal number with no decimals, e.g. 25000"),
    ("C2", "1,000", "--limit 1,000 is not an amount in EUR"),
    ("C1", "-5", "--limit must be 0 or more; got -5"),
])
def test_a_limit_is_always_validated_in_the_customers_currency(hand_dir, tmp_path, capsys, cli_user,
                                                               customer, limit, message):
    db = tmp_path / "c.db"
    cli_user("cfo")
    assert main(["credit", "decide", "--ledger", str(hand_dir), "--customer", customer,
                 "--decision", "approve_other", "--limit", limit, "--reason", "x",
                 "--db", f"sqlite:///{db}"]) == 2
    assert message in capsys.readouterr().err
    assert not db.exists()


def test_a_promised_amount_is_validated_in_its_currency(hand_dir, tmp_path, capsys):
    db = tmp_path / "a.db"
    base = ["activity", "add", "--ledger", str(hand_dir), "--customer", "C1", "--kind",
            "promise_to_pay", "--collector", "Ann Lee", "--promise-date", "2026-04-10",
            "--db", f"sqlite:///{db}"]
    assert main([*base, "--promise-amount", "12.345"]) == 2
    assert ("--promise-amount 12.345 is not an amount in USD ('12.345' has more decimals than USD "
            "allows (2))") in capsys.readouterr().err
    assert main([*base, "--promise-amount", "0"]) == 2
    assert "--promise-amount must be more than 0; got 0" in capsys.readouterr().err
    assert main([*base, "--promise-amount", "10.00", "--invoice", "I1", "--currency", "EUR"]) == 2
    assert "--currency EUR is not the currency of invoice I1 (USD)" in capsys.readouterr().err
    assert main([*base, "--promise-amount", "1O.00"]) == 2
    assert "--promise-amount 1O.00 is not an amount in USD" in capsys.readouterr().err
    assert not db.exists()
    assert main([*base, "--promise-amount", "10.00", "--invoice", "I1"]) == 0
    assert capsys.readouterr().out == "recorded activity 1: promise_to_pay with C1 by Ann Lee\n"


# ------------------------------------------------------------------ unknown names
@pytest.fixture
def names_dir(tmp_path):
    from .conftest import write_ledger
    customers = [
        {"customer_id": "C00012", "name": "Acme Corp", "currency": "USD", "payment_terms_days": 30,
         "collector": "Ann Lee"},
        {"customer_id": "C00112", "name": "Beta Traders", "currency": "USD",
         "payment_terms_days": 30, "collector": "Bob Stone"},
        {"customer_id": "C00200", "name": "Twin Ltd", "currency": "USD", "payment_terms_days": 30,
         "collector": "Bob Stone"},
        {"customer_id": "C00300", "name": "Twin Ltd", "currency": "USD", "payment_terms_days": 30,
         "collector": "Ann Lee"},
    ]
    invoices = [{"invoice_id": f"I{i}", "customer_id": c["customer_id"], "invoice_date": "2026-02-01",
                 "due_date": "2026-03-03", "amount": "100.00"} for i, c in enumerate(customers)]
    return write_ledger(tmp_path / "names", customers=customers, invoices=invoices)


@pytest.mark.parametrize("argv,message", [
    (["statement", "--customer", "C0012"], "unknown customer C0012; did you mean C00012, C00112?"),
    (["letter", "--customer", "c00012"], "unknown customer c00012; did you mean C00012?"),
    (["statement", "--customer", "Acme Crop"],
     "unknown customer 'Acme Crop'; did you mean Acme Corp (C00012)?"),
    (["letter", "--customer", "Twin Ltd"],
     "customer name 'Twin Ltd' is shared by 2 customers (C00200, C00300): give the customer id"),
    (["statement", "--customer", "ZZZ"],
     "unknown customer ZZZ: no customer id or name in the ledger's 4 customers is close to it"),
    (["statement", "--customer", "C00012", "--collector", "Ann Le"],
     "unknown collector 'Ann Le'; did you mean Ann Lee?"),
    (["letter", "--customer", "C00012", "--collector", "bob stone"],
     "unknown collector 'bob stone'; did you mean Bob Stone?"),
    (["letter", "--customer", "C00012", "--collector", "Zed"],
     "unknown collector Zed: the ledger's collectors are Ann Lee, Bob Stone"),
    (["worklist", "--collector", "Ann Le", "--no-log"],
     "workbench worklist: error: unknown collector 'Ann Le'; did you mean Ann Lee?"),
    (["credit", "review", "--customer", "C0012"],
     "workbench credit review: error: unknown customer C0012; did you mean C00012, C00112?"),
    (["activity", "add", "--customer", "C0012", "--kind", "call", "--collector", "Ann Lee"],
     "workbench activity add: error: unknown customer C0012; did you mean C00012, C00112?"),
    (["activity", "add", "--customer", "C00012", "--kind", "call", "--collector", "Ann Le"],
     "unknown collector 'Ann Le'; did you mean Ann Lee?"),
    (["activity", "list", "--customer", "Acme Crop"],
     "unknown customer 'Acme Crop'; did you mean Acme Corp (C00012)?"),
])
def test_unknown_customers_and_collectors_suggest_close_names(names_dir, tmp_path, capsys,
                                                              argv, message):
    out, db = tmp_path / "doc.html", tmp_path / "s.db"
    extra = ["--as-of", "2026-03-31", "--out", str(out)] if argv[0] in ("statement", "letter") \
        else ["--as-of", "2026-03-31"] if argv[0] == "worklist" else []
    extra += [] if "--no-log" in argv or argv[0] == "credit" else ["--db", f"sqlite:///{db}"]
    assert main([*argv, "--ledger", str(names_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not out.exists() and not db.exists()


def test_a_customer_can_be_given_by_name(names_dir, tmp_path, capsys):
    out = tmp_path / "st.html"
    assert main(["statement", "--ledger", str(names_dir), "--customer", "Acme Corp", "--as-of",
                 "2026-03-31", "--out", str(out), "--no-log"]) == 0
    assert capsys.readouterr().out == (f"statement of account for C00012 as of 2026-03-31 "
                                       f"written to {out}\n")
    assert "Acme Corp" in out.read_text()


def test_close_matches():
    from workbench.suggest import close_matches, shown
    ids = [f"C{i:05d}" for i in range(1, 200)]
    assert close_matches("C0012", ids) == ["C00012", "C00102", "C00112"]
    assert close_matches("c00012", ids) == ["C00012"]
    assert close_matches("Ann Le", ["Bob Stone", "Anne Li", "Ann Lee"]) == ["Ann Lee"]
    assert close_matches("zzz", ids) == [] and close_matches("", ids) == []
    assert (shown("C1"), shown("Ann Lee"), shown("")) == ("C1", "'Ann Lee'", "''")


# ------------------------------------------------------------------ dates as arguments
@pytest.mark.parametrize("argv,message", [
    (["aging", "--as-of", "2026-02-30"],
     "workbench aging: error: argument --as-of: not a date: '2026-02-30' (use YYYY-MM-DD): "
     "February 2026 has 28 days"),
    (["aging", "--as-of", "01/02/2026"],
     "workbench aging: error: argument --as-of: not a date: '01/02/2026' (use YYYY-MM-DD): "
     "ISO 8601 year-month-day is required, e.g. 2026-09-30"),
    (["aging", "--as-of", "2026-13-01"], "argument --as-of: not a date: '2026-13-01' (use "
                                         "YYYY-MM-DD): there is no month 13"),
    (["aging", "--as-of", "2026-03-31T10:00"], "argument --as-of: not a date: '2026-03-31T10:00' "
                                               "(use YYYY-MM-DD): a date without a time of day"),
    (["worklist", "--as-of", "2026-04-31"], "argument --as-of: not a date: '2026-04-31' (use "
                                            "YYYY-MM-DD): April 2026 has 30 days"),
    (["credit", "review", "--customer", "C1", "--as-of", "31.03.2026"],
     "workbench credit review: error: argument --as-of: not a date: '31.03.2026' (use YYYY-MM-DD)"),
    (["kpis", "--period", "2026-07-01..2026-02-30"],
     "workbench kpis: error: argument --period: unknown period '2026-07-01..2026-02-30': not a "
     "date: '2026-02-30' (use YYYY-MM-DD): February 2026 has 28 days"),
    (["kpis", "--period", "Q3 2026"], "argument --period: unknown period 'Q3 2026': use a month "
                                      "(2026-09), a quarter (2026Q3), a year (2026) or dates"),
    (["kpis", "--period", "2026-13"], "argument --period: unknown period '2026-13'"),
    (["report", "month-end", "--month", "2026-9"],
     "workbench report: error: argument --month: not a month: '2026-9': use YYYY-MM (e.g. "
     "2026-09) or 'last'"),
    (["report", "month-end", "--month", "2026Q3"], "argument --month: not a month: '2026Q3'"),
    (["report", "weekly", "--week-ending", "01/02/2026"],
     "argument --week-ending: not a date: '01/02/2026' (use YYYY-MM-DD)"),
    (["report", "weekly", "--week-ending", "2026-02-29"],
     "argument --week-ending: not a date: '2026-02-29' (use YYYY-MM-DD): February 2026 has 28 days"),
    (["report", "--quarter", "2026Q5"],
     "argument --quarter: --quarter must be a quarter (e.g. 2026Q3) or 'last'; got '2026Q5'"),
    (["report", "--quarter", "2026-09"],
     "argument --quarter: --quarter must be a quarter (e.g. 2026Q3) or 'last'; got '2026-09', "
     "which is 2026-09-01..2026-09-30"),
    (["reserve", "--quarter", "2026"], "workbench reserve: error: argument --quarter: --quarter "
                                       "must be a quarter (e.g. 2026Q3) or 'last'; got '2026', "
                                       "which is 2026-01-01..2026-12-31"),
    (["activity", "add", "--customer", "C1", "--kind", "promise_to_pay", "--collector", "Ann Lee",
      "--promise-date", "2026-02-30", "--promise-amount", "1.00"],
     "argument --promise-date: not a date: '2026-02-30' (use YYYY-MM-DD): February 2026 has 28 days"),
    (["activity", "add", "--customer", "C1", "--kind", "call", "--collector", "Ann Lee",
      "--at", "2026-03-31 10:00"],
     "argument --at: not a timestamp: '2026-03-31 10:00': ISO 8601 date, time and offset are "
     "required, e.g. 2026-09-29T10:00:00+00:00"),
    (["credit", "train", "--out", "OUT", "--test-from", "2026/01/01"],
     "argument --test-from: not a date: '2026/01/01' (use YYYY-MM-DD)"),
    (["aging", "--as-of", "2026-03-31", "--report-currency", "usd"],
     "argument --report-currency: not an ISO 4217 currency code: 'usd'; did you mean USD?"),
    (["kpis", "--period", "2026Q1", "--trend", "-1"],
     "argument --trend: must be a whole number, 0 or more; got '-1'"),
])
def test_malformed_arguments_are_usage_errors_naming_the_option(hand_dir, tmp_path, capsys, argv,
                                                                 message):
    from .conftest import folder_state
    before = folder_state(hand_dir)
    n = 2 if argv[0] in ("activity", "credit", "risk") else 1
    argv = [a.replace("OUT", str(tmp_path / "out")) for a in argv]
    assert main([*argv[:n], "--ledger", str(hand_dir), *argv[n:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: workbench ") and message in err, err
    assert list(tmp_path.iterdir()) == [hand_dir] and folder_state(hand_dir) == before


def test_demo_end_is_an_iso_date(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--end", "2026-02-30"]) == 2
    assert "argument --end: not a date: '2026-02-30'" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_audit_verify_exit_codes_and_the_break_named(tmp_path, capsys, monkeypatch):
    """`workbench audit verify`: 0 on an intact chain; 1 naming table, row and what after a
    record is edited behind the database's back (its triggers dropped first)."""
    import sqlite3

    from workbench.state import StateDB

    url = f"sqlite:///{tmp_path / 'state.db'}"
    monkeypatch.setenv("WORKBENCH_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    monkeypatch.setenv("WORKBENCH_AUDIT_ANCHOR_DIR", str(tmp_path))
    db = StateDB(url)
    db.append("activities", {"customer_id": "C1", "kind": "call", "collector": "Ann Lee",
                             "at": "2026-09-30T10:00:00+00:00"}, actor="ann")
    db.close()
    assert main(["audit", "verify", "--db", url]) == 0
    assert "intact" in capsys.readouterr().out
    con = sqlite3.connect(tmp_path / "state.db")
    for (name,) in con.execute("select name from sqlite_master where type='trigger'").fetchall():
        con.execute(f"drop trigger {name}")
    con.execute("update activities set collector = 'Mallory' where id = 1")
    con.commit()
    con.close()
    assert main(["audit", "verify", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "BROKEN" in err and "activities\trow 1\t" in err and "edited" in err
