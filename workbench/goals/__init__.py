"""Collections goals: targets for the KPIs, their variance and a status.

The goals file (``workbench/policies/goals.yaml``; a versioned policy read through
:mod:`workbench.policy`, every problem collected) gives quarterly and monthly targets for
the company, each segment (the team that owns the accounts) and each collector, a status
band, and the collectors' activity targets (:mod:`workbench.activity_metrics`).

The actuals are :func:`workbench.kpis.kpi_table`'s, never recomputed here. For each KPI
with a target::

    variance    = actual - target                 (the KPI's units; money in minor units;
                                                   a percentage KPI's in percentage points)
    variance %  = variance / target * 100         (money, days and counts only: for a
                                                   percentage KPI it is None, n/a; the
                                                   variance in points says it, and a
                                                   percent of a percentage misleads)
    status      = on track   the actual is at target or better (direction: lower is better
                             for DSO, ages, aging over 60 and unapplied cash; higher for CEI
                             and cash collected)
                  at risk    worse than target by at most at_risk_pct % of the target
                  missed     worse than that

Comparisons are exact: money in integer minor units, ratios through their decimal text.

The package: :mod:`.file`, :mod:`.judge`, :mod:`.display`, :mod:`.machines`.
"""

from __future__ import annotations

from .display import (  # noqa: F401
           goal_records,
           goals_display,
           goals_table,
           plot_target_trend,
           target_trend,
)
from .file import (  # noqa: F401
           ACTIVITY_GOALS,
           KPI_GOALS,
           PERCENT_UNITS,
           STATUS_CODES,
           STATUSES,
           Goals,
           _object_frame,
           load_goals,
)
from .judge import (  # noqa: F401
           goal_status,
           judge,
           kpis_against_targets,
           period_frequency,
           variance_of,
)
from .machines import PackGoals, goal_values, goal_values_table, pack_goals  # noqa: F401

__all__ = ["Goals", "load_goals", "KPI_GOALS", "ACTIVITY_GOALS", "goal_status", "variance_of",
           "kpis_against_targets", "goal_records", "goals_display", "target_trend",
           "plot_target_trend", "period_frequency", "STATUSES", "goals_table",
           "STATUS_CODES", "PERCENT_UNITS", "goal_values", "goal_values_table", "pack_goals",
           "PackGoals"]
