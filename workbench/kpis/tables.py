"""The KPI table and trend for periods, by currency, segment, collector or customer."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import convert, format_amount
from ..periods import Period, parse_period
from .engine import _day_of, _Engine
from .metrics import (
    _GROUP_COLUMN,
    KPIOptions,
    aging_over_pct,
    average_days_delinquent,
    best_possible_dso,
    collection_effectiveness_index,
    countback_dso,
    standard_dso,
)
from .promises import promise_schedule

KPI_FIELDS = ("credit_sales", "beginning_ar", "ending_ar", "ending_current_ar", "dso",
              "countback_dso", "best_possible_dso", "add", "cei", "aging_over_60_pct",
              "unapplied_cash")


def _month_back(end: pd.Timestamp, k: int) -> pd.Timestamp:
    """The date k months before ``end``; month ends map to month ends."""
    if end == end + pd.offsets.MonthEnd(0):
        return end - pd.offsets.MonthEnd(k) if k else end
    return end - pd.DateOffset(months=k)


@dataclass
class _Plan:
    """The dates one KPI evaluation needs, per reporting point."""

    periods: list[Period]
    dates: np.ndarray = field(default=None)           # sorted unique day numbers
    index: dict[int, int] = field(default_factory=dict)

    def build(self, months_back: int) -> "_Plan":
        days = set()
        self.countback = []
        for p in self.periods:
            days.update((_day_of(p.start) - 1, _day_of(p.end)))
            bounds = [_day_of(_month_back(p.end, k)) for k in range(months_back + 1)]
            self.countback.append(bounds)
            days.update(bounds)
        self.dates = np.array(sorted(days), dtype=np.int64)
        self.index = {d: i for i, d in enumerate(self.dates)}
        return self


def _months_in(days: int) -> int:
    """Whole months in a period of ``days`` days: days / 30.4375 (the average month,
    365.25 / 12 = 487 / 16 days) rounded half to even, at least 1; exact (a quarter of 90
    to 92 days is 3, a year 12)."""
    return max(round(Fraction(days * 16, 487)), 1)


def _monthly_average(sales_minor: int, months: int) -> int:
    """Credit sales per month (CEI ``monthly_average``): the exact quotient rounded once,
    half to even, to a minor unit (``Fraction`` arithmetic: no float in the sum)."""
    return round(Fraction(int(sales_minor), int(months)))


def _engine(ledger: Ledger, by: str | None, group_as_of=None) -> "_Engine":
    """One event engine per (ledger, grouping), kept in the ledger's cache: its tables do
    not change after loading, so a session's later KPI calls reuse the grouped events. A
    grouping by segment or collector takes each customer's value in force on
    ``group_as_of`` (the period's end), so the engine is kept per date too."""
    by = None if by == "currency" else by
    dated = by in ("segment", "collector")
    key = (by, pd.Timestamp(group_as_of) if dated and group_as_of is not None else None)
    return ledger.cache.get("kpi_engine", key, lambda: _Engine(ledger, by, key[1]))


def _evaluate(ledger: Ledger, periods: list[Period], by: str | None, options: KPIOptions,
              activities: pd.DataFrame | None) -> pd.DataFrame:
    first = ledger.first_date
    for p in periods:
        if first is None or p.end < first:
            raise ValueError(f"period {p.label} ends {p.end.date()}, before any data in the "
                             f"ledger (first invoice {None if first is None else first.date()})")
    eng = _engine(ledger, by, max(p.end for p in periods))
    plan = _Plan(periods).build(options.countback_max_months)
    q = plan.dates
    ar = eng.ar(q)
    past_due = eng.ar(q, past_due_over=0)
    over60 = eng.ar(q, past_due_over=60)
    cei_past = past_due if options.cei_current_days == 0 else eng.ar(q, options.cei_current_days)
    sales = eng.sales(q)
    cash = eng.receipts(q)
    unapplied, unapplied_daysum = eng.unapplied(q)
    d_count, d_amount, d_daysum = eng.disputes(q)
    labels = eng.groups.labels
    rows = []
    for k, p in enumerate(periods):
        i_end = plan.index[_day_of(p.end)]
        i_beg = plan.index[_day_of(p.start) - 1]
        end_day = _day_of(p.end)
        months = _months_in(p.days) if options.cei_sales == "monthly_average" else None
        cb = [plan.index[d] for d in plan.countback[k]]
        cb_days = [int(plan.countback[k][j] - plan.countback[k][j + 1]) for j in range(len(cb) - 1)]
        for g in range(eng.n_groups):
            S = int(sales[g, i_end] - sales[g, i_beg])
            A_end, A_beg = int(ar[g, i_end]), int(ar[g, i_beg])
            current = A_end - int(past_due[g, i_end])
            cei_current = A_end - int(cei_past[g, i_end])
            monthly = [(int(sales[g, cb[j]] - sales[g, cb[j + 1]]), cb_days[j])
                       for j in range(len(cb) - 1)]
            dso = standard_dso(A_end, S, p.days)
            cbd, complete = countback_dso(A_end, monthly)
            best = best_possible_dso(current, S, p.days)
            cei_sales = S if months is None else _monthly_average(S, months)
            un = int(unapplied[g, i_end])
            n_d = int(d_count[g, i_end])
            row = {
                **labels.iloc[g].to_dict(), "period": p.label, "start": str(p.start.date()),
                "end": str(p.end.date()), "days": p.days,
                "credit_sales": S, "beginning_ar": A_beg, "ending_ar": A_end,
                "ending_current_ar": current, "dso": dso, "countback_dso": cbd,
                "countback_complete": complete, "best_possible_dso": best,
                "add": average_days_delinquent(dso, best),
                "cei": collection_effectiveness_index(A_beg, cei_sales, A_end, cei_current),
                "cei_credit_sales": cei_sales,
                "aging_over_60_pct": aging_over_pct(int(over60[g, i_end]), A_end),
                "ending_past_due_ar": int(past_due[g, i_end]),
                "ending_over_60_ar": int(over60[g, i_end]),
                "unapplied_cash": un,
                "unapplied_cash_avg_age_days": (end_day - unapplied_daysum[g, i_end] / un) if un > 0 else None,
                "cash_collected": int(cash[g, i_end] - cash[g, i_beg]),
                "open_disputes": n_d, "open_dispute_amount": int(d_amount[g, i_end]),
                "open_dispute_avg_age_days": (end_day - int(d_daysum[g, i_end]) / n_d) if n_d else None,
            }
            rows.append(row)
    out = pd.DataFrame(rows)
    out = _add_promises(ledger, out, periods, eng, options, activities)
    for c in ("dso", "countback_dso", "best_possible_dso", "add", "cei", "aging_over_60_pct",
              "unapplied_cash_avg_age_days", "open_dispute_avg_age_days", "promise_kept_rate"):
        out[c] = out[c].map(lambda v: None if v is None or pd.isna(v) else round(float(v), 4))
    return out


def _add_promises(ledger, out, periods, eng, options, activities) -> pd.DataFrame:
    """Promises due in each period (date + grace inside it), kept or broken as of its end."""
    n_g = eng.n_groups
    kept = np.zeros(len(out), np.int64)
    broken = np.zeros(len(out), np.int64)
    schedule = promise_schedule(ledger, activities, options).promises
    if len(schedule):
        # a promise on an invoice counts in the invoice's group; one on the account in the
        # group of (customer attribute, promise currency)
        inv_pos = schedule["inv"].to_numpy()
        code = np.where(inv_pos >= 0, eng.groups.invoice_code[np.maximum(inv_pos, 0)], -1)
        loose = np.flatnonzero(inv_pos < 0)
        if len(loose):
            lookup = {r: i for i, r in enumerate(eng.groups.labels.itertuples(index=False, name=None))}
            sub = schedule.iloc[loose]
            if eng.by is None:
                keys = list(zip(sub["currency"]))
            else:
                col = _GROUP_COLUMN[eng.by]
                attr = (sub["customer_id"] if col == "customer_id"
                        else sub["customer_id"].map(ledger.customers.set_index("customer_id")[col]))
                keys = list(zip(attr.fillna("(none)"), sub["currency"]))
            code[loose] = [lookup.get(k, -1) for k in keys]
        due = schedule["due"].to_numpy()
        made = schedule["made"].to_numpy()
        kept_on = schedule["kept_on"].to_numpy()
        for k, p in enumerate(periods):
            start, end = np.datetime64(p.start, "ns"), np.datetime64(p.end, "ns")
            sel = (due >= start) & (due <= end) & (made <= end) & (code >= 0)
            is_kept = sel & (kept_on <= end)
            is_broken = sel & ~(kept_on <= end) & (due < end)
            np.add.at(kept, k * n_g + code[is_kept], 1)
            np.add.at(broken, k * n_g + code[is_broken], 1)
    out["promises_kept"] = kept
    out["promises_broken"] = broken
    decided = kept + broken
    out["promise_kept_rate"] = [k / d * 100.0 if d else None for k, d in zip(kept, decided)]
    return out


def _convert_rows(ledger: Ledger, table: pd.DataFrame, report_currency: str) -> pd.DataFrame:
    """Amounts of every row into one currency at its period-end rate; ratios recomputed."""
    money = ["credit_sales", "beginning_ar", "ending_ar", "ending_current_ar",
             "ending_past_due_ar", "ending_over_60_ar", "unapplied_cash", "cash_collected",
             "open_dispute_amount"]
    t = table.copy()
    for i, row in t.iterrows():
        rate = ledger.fx_rate(row["currency"], row["end"], report_currency)
        for c in money:
            t.at[i, c] = convert(int(row[c]), row["currency"], rate, report_currency)
    t["currency"] = report_currency
    return t


def kpi_table(ledger: Ledger, period: str | Period, by: str | None = None,
              options: KPIOptions = KPIOptions(), activities: pd.DataFrame | None = None,
              report_currency: str | None = None) -> pd.DataFrame:
    """Every KPI for one period, one row per (group, currency).

    Parameters
    ----------
    ledger : Ledger
    period : str or Period
        ``2026-09``, ``2026Q3``, ``2026`` or ``2026-07-01..2026-09-30``.
    by : {None, "customer", "segment", "collector", "currency"}
    options : KPIOptions
        Formula variants (the default is DATA_MODEL.md's).
    activities : DataFrame, optional
        The activity log to judge promises on (default: the ledger's ``activities``;
        :func:`workbench.collections.activity_frame` merges in the state database's).
    report_currency : str, optional
        Convert every amount at the period-end ``fx_rates`` rate (half-even) and sum
        the groups into one currency; ratios are recomputed from the converted sums.

    Returns
    -------
    DataFrame
        Amounts in integer minor units; ratios as floats rounded to 4 places.
    """
    p = period if isinstance(period, Period) else parse_period(period)
    table = _evaluate(ledger, [p], by, options, activities)
    if report_currency:
        table = _combine_currencies(ledger, table, report_currency, by, options)
    table.attrs.update({"period": p.label, "formulas": options.formulas(), "by": by})
    return table


def _combine_currencies(ledger, table, report_currency, by, options=KPIOptions()) -> pd.DataFrame:
    conv = _convert_rows(ledger, table, report_currency)
    keys = [c for c in table.columns if c in (*_GROUP_COLUMN.values(),)] + ["period", "start",
                                                                             "end", "days"]
    summed = ["credit_sales", "beginning_ar", "ending_ar", "ending_current_ar",
              "ending_past_due_ar", "ending_over_60_ar", "unapplied_cash", "cash_collected",
              "open_dispute_amount", "open_disputes", "promises_kept", "promises_broken"]
    agg = conv.groupby(keys, sort=True)[summed].sum().reset_index()
    agg.insert(len(keys) - 4, "currency", report_currency)
    rows = []
    for r in agg.to_dict("records"):
        S, A, cur = r["credit_sales"], r["ending_ar"], r["ending_current_ar"]
        dso = standard_dso(A, S, r["days"])
        best = best_possible_dso(cur, S, r["days"])
        cei_sales = S if options.cei_sales == "period_total" else \
            _monthly_average(S, _months_in(r["days"]))
        r.update({
            "dso": dso, "best_possible_dso": best, "add": average_days_delinquent(dso, best),
            "cei": collection_effectiveness_index(r["beginning_ar"], cei_sales, A, cur),
            "cei_credit_sales": cei_sales,
            "aging_over_60_pct": aging_over_pct(r["ending_over_60_ar"], A),
            "countback_dso": None, "countback_complete": None,
            "promise_kept_rate": (r["promises_kept"] / (r["promises_kept"] + r["promises_broken"])
                                  * 100.0 if r["promises_kept"] + r["promises_broken"] else None),
            "unapplied_cash_avg_age_days": None, "open_dispute_avg_age_days": None})
        rows.append(r)
    out = pd.DataFrame(rows)
    for c in ("dso", "best_possible_dso", "add", "cei", "aging_over_60_pct", "promise_kept_rate"):
        out[c] = out[c].map(lambda v: None if v is None or pd.isna(v) else round(float(v), 4))
    return out[[c for c in table.columns if c in out.columns]]


def kpi_trend(ledger: Ledger, end, points: int = 12, freq: str = "M", by: str | None = None,
              options: KPIOptions = KPIOptions(), activities: pd.DataFrame | None = None
              ) -> pd.DataFrame:
    """KPIs for the ``points`` months (``freq="M"``) or weeks (``"W"``, Monday-Sunday)
    ending on or before ``end``: one row per point and (group, currency).

    Month points are month ends (each the KPIs of that month); week points are Sundays.
    """
    if points < 1:
        raise ValueError(f"points must be >= 1; got {points}.")
    D = to_date(end)
    if freq == "M":
        last = D if D == D + pd.offsets.MonthEnd(0) else D - pd.offsets.MonthEnd(1)
        ends = [last - pd.offsets.MonthEnd(k) if k else last for k in range(points)][::-1]
        periods = [parse_period(f"{e.year}-{e.month:02d}") for e in ends]
    elif freq == "W":
        last = D if D.day_of_week == 6 else D - pd.Timedelta(days=D.day_of_week + 1)
        ends = [last - pd.Timedelta(weeks=k) for k in range(points)][::-1]
        periods = [parse_period(f"{(e - pd.Timedelta(days=6)).date()}..{e.date()}") for e in ends]
    else:
        raise ValueError(f"freq must be 'M' (month ends) or 'W' (week ends); got {freq!r}.")
    first = ledger.first_date
    periods = [p for p in periods if first is not None and p.end >= first]
    if not periods:
        raise ValueError(f"no {points} points ending {D.date()} overlap the ledger's data")
    table = _evaluate(ledger, periods, by, options, activities)
    table.attrs.update({"formulas": options.formulas(), "by": by, "freq": freq})
    return table


#: The KPI table's money columns (integer minor units of the row's currency).
MONEY_FIELDS = ("credit_sales", "beginning_ar", "ending_ar", "ending_current_ar",
                "ending_past_due_ar", "ending_over_60_ar", "unapplied_cash", "cash_collected",
                "open_dispute_amount", "cei_credit_sales")


def kpi_records(table: pd.DataFrame) -> list[dict]:
    """JSON-ready KPI rows: amounts as exact decimal strings, ratios as numbers."""
    records = []
    for row in table.to_dict("records"):
        cur = row["currency"]
        rec = {}
        for k, v in row.items():
            if k in MONEY_FIELDS:
                rec[k] = format_amount(int(v), cur)
            elif isinstance(v, (np.integer,)):
                rec[k] = int(v)
            elif isinstance(v, (np.floating,)):
                rec[k] = None if np.isnan(v) else float(v)
            elif isinstance(v, (np.bool_,)):
                rec[k] = bool(v)
            elif isinstance(v, Decimal):
                rec[k] = str(v)
            else:
                rec[k] = None if (v is not None and not isinstance(v, str) and pd.isna(v)) else v
        rec["formulas"] = table.attrs.get("formulas", {})
        records.append(rec)
    return records
