"""Goals: targets, variance and status on the hand-computed KPI ledger (tests/fixtures/kpi).

Actuals (tests/test_kpis.py's hand computation), 2026Q3, USD: DSO 84.64, countback DSO 85.8,
cash collected 3900.00, Aging over 60 5.7971 %, unapplied cash 900.00, CEI 49.3506 %, open
dispute age 10 days. EUR: DSO 92. September alone, USD: DSO 69, CEI 11.3636 %.

Goals file below: at_risk_pct 10 (CEI 50). Hand-computed against it (USD, 2026Q3):
  DSO            84.64 vs 80 (lower better): short 4.64 <= 8 (10 % of 80)    at risk, +4.64, +5.8 %
  countback DSO  85.8 vs 90: better                                          on track, -4.2, -4.6667 %
  cash collected 3900.00 vs 4000.00 (higher): short 100.00 <= 400.00         at risk, -100.00, -2.5 %
  aging over 60  5.7971 vs 5: short 0.7971 > 0.5                              missed, +0.7971, +15.942 %
  unapplied cash 900.00 vs 1000.00: better                                   on track, -100.00, -10 %
  CEI            49.3506 vs 60 (higher, band 50 %): short 10.6494 <= 30      at risk, -10.6494, -17.749 %
  dispute age    10 vs 10: at target                                         on track, 0, 0 %
EUR: DSO 92 vs 80: short 12 > 8: missed; its money targets list USD only: no EUR target (noted).
September (monthly targets): DSO 69 vs 70: on track, -1.0; CEI 11.3636 vs 20: short 8.6364
<= 10 (the CEI band, 50 % of 20): at risk; vs 25 (band 12.5): short 13.6364: missed.
"""

import json
import textwrap

import pytest

from workbench import Ledger
from workbench.cli import main
from workbench.goals import (goal_status, goals_display, kpis_against_targets, load_goals,
                             period_frequency, target_trend, variance_of)
from workbench.policy import PolicyError

from .conftest import FIXTURES

GOALS = """\
name: test-goals
version: "1"
status: {at_risk_pct: 10, per_kpi: {cei: 50}}
company:
  quarterly:
    dso: 80
    countback_dso: 90
    cash_collected: {USD: "4000.00"}
    aging_over_60_pct: 5
    unapplied_cash: {USD: "1000.00"}
    cei: 60
    dispute_age_days: 10
  monthly: {dso: 70, cei: 20}
"""


@pytest.fixture(scope="module")
def ledger():
    return Ledger.load(FIXTURES / "kpi")


@pytest.fixture
def goals_file(tmp_path):
    path = tmp_path / "goals.yaml"
    path.write_text(GOALS)
    return path


def _by_goal(frame, currency="USD"):
    return {r["goal"]: r for r in frame.to_dict("records") if r["currency"] == currency}


def test_status_and_variance_functions():
    assert goal_status(84.64, 80, "lower", 10) == "at risk"
    assert goal_status(88.0, 80, "lower", 10) == "at risk"        # exactly the band: at risk
    assert goal_status(88.01, 80, "lower", 10) == "missed"
    assert goal_status(79, 80, "lower", 10) == "on track"
    assert goal_status(390000, 400000, "higher", 10) == "at risk"
    assert goal_status(359999, 400000, "higher", 10) == "missed"
    assert goal_status(None, 80, "lower", 10) is None
    assert variance_of(390000, 400000) == (-10000, -2.5)
    assert isinstance(variance_of(390000, 400000)[0], int)      # money stays exact
    assert variance_of(84.64, 80) == (4.64, 5.8)
    assert variance_of(5, 0) == (5, None)
    with pytest.raises(ValueError, match="direction"):
        goal_status(1, 1, "up", 10)


def test_period_frequency():
    assert period_frequency("2026Q3") == "quarterly"
    assert period_frequency("2026-09") == "monthly"
    with pytest.raises(ValueError, match="per quarter"):
        period_frequency("2026")


def test_quarter_against_targets(ledger, goals_file):
    goals = load_goals(goals_file)
    assert goals.label == "test-goals 1"
    frame = kpis_against_targets(ledger, "2026Q3", goals)
    usd = _by_goal(frame)
    assert usd["dso"]["status"] == "at risk"
    assert usd["dso"]["variance"] == pytest.approx(4.64)
    assert usd["dso"]["variance_pct"] == pytest.approx(5.8)
    assert usd["countback_dso"]["status"] == "on track"
    assert usd["countback_dso"]["variance"] == pytest.approx(-4.2)
    assert usd["cash_collected"]["actual"] == 390000
    assert usd["cash_collected"]["target"] == 400000
    assert usd["cash_collected"]["variance"] == -10000
    assert usd["cash_collected"]["variance_pct"] == pytest.approx(-2.5)
    assert usd["cash_collected"]["status"] == "at risk"
    assert usd["aging_over_60_pct"]["status"] == "missed"
    assert usd["aging_over_60_pct"]["variance"] == pytest.approx(0.7971)
    # a percentage's variance is in points; a "variance %" of it would mislead: None
    assert usd["aging_over_60_pct"]["variance_pct"] is None
    assert usd["cei"]["variance_pct"] is None
    assert usd["dso"]["variance_pct"] == pytest.approx(5.8)        # days keep it
    assert usd["unapplied_cash"]["variance"] == -10000
    assert usd["unapplied_cash"]["status"] == "on track"
    assert usd["cei"]["status"] == "at risk"                      # the CEI band is 50 %
    assert usd["cei"]["variance"] == pytest.approx(-10.6494)
    assert usd["dispute_age_days"]["status"] == "on track"
    assert usd["dispute_age_days"]["variance"] == 0
    eur = _by_goal(frame, "EUR")
    assert eur["dso"]["status"] == "missed"
    assert "cash_collected" not in eur
    assert any("no EUR target" in n for n in frame.attrs["notes"])
    shown = goals_display(frame)
    row = shown[(shown["KPI"] == "Cash collected") & (shown["Currency"] == "USD")].iloc[0]
    assert (row["Actual"], row["Target"], row["Variance"], row["Status"]) == \
        ("3,900.00", "4,000.00", "-100.00", "at risk")
    row = shown[(shown["KPI"] == "CEI") & (shown["Currency"] == "USD")].iloc[0]
    assert (row["Actual"], row["Target"], row["Variance"], row["Variance %"]) == \
        ("49.4 %", "60.0 %", "-10.6 pp", "n/a")


def test_goal_values_for_machines(ledger, goals_file):
    """Machine values of the hand-computed rows: exact decimals in the unit, status codes."""
    from decimal import Decimal

    from workbench.goals import goal_values
    values = goal_values(kpis_against_targets(ledger, "2026Q3", load_goals(goals_file)))
    usd = _by_goal(values)
    cash, dso, cei = usd["cash_collected"], usd["dso"], usd["cei"]
    assert (cash["actual"], cash["target"], cash["variance"], cash["variance_pct"],
            cash["unit"], cash["status_code"], cash["status"]) == \
        (Decimal("3900.00"), Decimal("4000.00"), Decimal("-100.00"), -2.5, "money",
         "at_risk", "at risk")
    assert (dso["actual"], dso["target"], dso["variance"], dso["variance_unit"],
            dso["variance_pct"]) == (Decimal("84.64"), Decimal("80.0"), Decimal("4.64"), "days", 5.8)
    assert (cei["actual"], cei["variance"], cei["variance_unit"], cei["variance_pct"],
            cei["status_code"]) == (Decimal("49.3506"), Decimal("-10.6494"), "pp", None, "at_risk")
    assert usd["dispute_age_days"]["status"] == "on track"


def test_month_against_monthly_targets(ledger, goals_file):
    usd = _by_goal(kpis_against_targets(ledger, "2026-09", load_goals(goals_file)))
    assert set(usd) == {"dso", "cei"}
    assert usd["dso"]["status"] == "on track" and usd["dso"]["variance"] == pytest.approx(-1.0)
    assert usd["cei"]["status"] == "at risk"
    assert usd["cei"]["variance"] == pytest.approx(-8.6364)
    goals_file.write_text(GOALS.replace("cei: 20", "cei: 25"))
    usd = _by_goal(kpis_against_targets(ledger, "2026-09", load_goals(goals_file)))
    assert usd["cei"]["status"] == "missed"


def test_trend_has_the_target_line(ledger, goals_file):
    trend = target_trend(ledger, "2026-09-30", load_goals(goals_file), "dso", points=3)
    usd = trend[trend["currency"] == "USD"]
    assert list(usd["period"]) == ["2026-07", "2026-08", "2026-09"]
    assert list(usd["target"]) == [70.0, 70.0, 70.0]
    assert usd["actual"].iloc[-1] == pytest.approx(69.0)


def test_trend_plot_names_each_month_end_and_the_monthly_target(ledger, goals_file):
    import matplotlib
    matplotlib.use("Agg")
    from workbench.goals import plot_target_trend
    trend = target_trend(ledger, "2026-09-30", load_goals(goals_file), "dso", points=3)
    ax = plot_target_trend(trend)
    # the 2026-07-31 point is labelled July, not August (its tick is the month end itself)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Jul 2026", "Aug 2026", "Sep 2026"]
    assert ax.get_title() == "DSO by month end against its monthly target"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[-1].startswith("monthly target (")
    import matplotlib.pyplot as plt
    plt.close(ax.figure)


def test_shipped_goals_load():
    goals = load_goals()
    assert goals.version and goals.targets("company", None, "quarterly")["dso"] == 60
    assert goals.activity_targets("Avery Chen", "quarterly")["calls"] == 150


def test_every_problem_is_collected(tmp_path):
    bad = tmp_path / "goals.yaml"
    bad.write_text(textwrap.dedent("""\
        name: bad
        status: {at_risk_pct: 150, per_kpi: {speed: 5}}
        company:
          quarterly:
            dso: fast
            cash_collected: {USD: "1.234"}
            cei: -3
          weekly: {dso: 40}
        activity:
          default:
            monthly: {calls: 2.5}
        """))
    with pytest.raises(PolicyError) as e:
        load_goals(bad)
    msg = str(e.value)
    for part in ("goals.yaml: version: missing",
                 "goals.yaml: status.at_risk_pct must be in [0, 100]; got 150",
                 "goals.yaml: status.per_kpi.speed: unknown goal",
                 "goals.yaml: company.quarterly.dso: expected a percentage",
                 "goals.yaml: company.quarterly.cash_collected",
                 "goals.yaml: company.quarterly.cei must be >= 0",
                 "goals.yaml: company.weekly: unknown key",
                 "goals.yaml: activity.default.monthly.calls: expected a whole number"):
        assert part in msg, (part, msg)


def test_a_file_without_targets_is_refused(tmp_path):
    empty = tmp_path / "goals.yaml"
    empty.write_text('name: none\nversion: "1"\nstatus: {at_risk_pct: 10}\n')
    with pytest.raises(PolicyError, match="sets no target"):
        load_goals(empty)


def test_cli_json_adds_targets_and_keeps_the_kpis(goals_file, capsys):
    base = ["kpis", "--ledger", str(FIXTURES / "kpi"), "--period", "2026Q3", "--format", "json"]
    assert main(base) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(base + ["--targets", str(goals_file)]) == 0
    doc = json.loads(capsys.readouterr().out)
    usd = next(r for r in doc if r["currency"] == "USD")
    plain_usd = next(r for r in plain if r["currency"] == "USD")
    assert {k: v for k, v in usd.items() if k not in ("targets", "goals")} == plain_usd
    assert usd["goals"] == "test-goals 1"
    cash = usd["targets"]["cash_collected"]
    assert (cash["actual"], cash["target"], cash["variance"], cash["status"]) == \
        ("3900.00", "4000.00", "-100.00", "at risk")
    assert usd["targets"]["dso"]["status"] == "at risk"


def test_cli_table_and_csv(goals_file, capsys):
    base = ["kpis", "--ledger", str(FIXTURES / "kpi"), "--period", "2026Q3",
            "--targets", str(goals_file)]
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "Against targets (test-goals 1, quarterly)" in out
    assert "3,900.00" in out and "at risk" in out
    assert main(base + ["--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    assert "dso_status" in header and "cash_collected_variance" in header
    usd = dict(zip(header, next(line for line in lines[1:] if line.startswith("USD")).split(",")))
    assert usd["cash_collected_variance"] == "-100.00" and usd["dso_status"] == "at risk"


def test_cli_refuses_targets_where_they_do_not_apply(goals_file, capsys):
    base = ["kpis", "--ledger", str(FIXTURES / "kpi"), "--targets", str(goals_file)]
    assert main(base + ["--period", "2026Q3", "--by", "customer"]) == 2
    assert "not for customers" in capsys.readouterr().err
    assert main(base + ["--period", "2026"]) == 2
    assert "per quarter" in capsys.readouterr().err


NAMED = """\
name: named-goals
version: "1"
status: {at_risk_pct: 10}
segments:
  Mid-Market: {quarterly: {dso: 80}}
  Mid Market: {quarterly: {dso: 70}}
collectors:
  Ann Le: {quarterly: {dso: 60}}
"""


def test_goal_names_no_customer_has_are_noted_with_a_suggestion(ledger, tmp_path, capsys):
    path = tmp_path / "named.yaml"
    path.write_text(NAMED)
    goals = load_goals(path)
    frame = kpis_against_targets(ledger, "2026Q3", goals, by="segment")
    assert frame.attrs["notes"] == [
        "goals segment 'Mid Market': no customer has this segment on the current "
        "customer master (no history for the period end): its targets "
        "are not judged; did you mean Mid-Market?",
        "goals collector 'Ann Le': no customer has this collector on the current "
        "customer master (no history for the period end): its targets "
        "are not judged; did you mean 'Ann Lee'?"]
    assert main(["kpis", "--ledger", str(FIXTURES / "kpi"), "--period", "2026Q3",
                 "--by", "segment", "--targets", str(path)]) == 0
    assert "note: goals segment 'Mid Market': no customer has this segment" in \
        capsys.readouterr().out
