"""The command line contracts: demo, validate, aging (JSON shape), report."""

import json

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
    (["--as-of", "2026-02-30"], "not a date"),
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
