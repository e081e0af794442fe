"""Collections KPIs: DSO (standard, countback, best possible), ADD, CEI, Aging over 60,
unapplied cash, open disputes, promise-to-pay kept rate, cash collected.

Two layers, in the style of empyrical:

* **metric functions** (:func:`standard_dso`, :func:`countback_dso`, ...): small, pure,
  on plain numbers (integer minor units), each with its formula and source;
* **ledger functions** (:func:`kpi_table`, :func:`kpi_trend`): the inputs of those
  metrics read off a :class:`~workbench.ledger.Ledger` for a period, point in time,
  for any grouping (customer, segment, collector, currency), and for many dates at once.

Every balance "as of D" is a cumulative sum of dated events, so the engine computes
all the dates a report needs in one pass over the ledger (integer ``np.add.at`` into
(group, date) cells, then a cumulative sum), exactly, never with floats:

* AR(D): +invoice amount at its invoice date; -each application, credit memo and
  write-off at max(its date, the invoice date).
* past-due AR(D) (more than k days past due): the same amounts at max(date, due + k + 1).
* credit sales in (a, b]: AR's invoice events alone, S(b) - S(a).
* unapplied cash(D): +receipt at its date; -each application at max(applied, receipt date).
* open disputes(D): +1 / +amount at opened, -1 / -amount at closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd

from .ledger import Ledger, to_date
from .money import convert, format_amount
from .periods import Period, parse_period
from .schema import IdIndex

__all__ = [
    "KPIOptions", "standard_dso", "countback_dso", "best_possible_dso",
    "average_days_delinquent", "collection_effectiveness_index", "aging_over_pct",
    "kpi_table", "kpi_records", "kpi_trend", "promise_outcomes", "KPI_FIELDS", "GROUPINGS",
    "MONEY_FIELDS", "PromiseSchedule", "promise_schedule",
]

GROUPINGS = ("customer", "segment", "collector", "currency")
_GROUP_COLUMN = {"customer": "customer_id", "segment": "segment", "collector": "collector"}
_DAY = np.timedelta64(1, "D")


# =========================================================================== metrics

def standard_dso(ending_ar: int, credit_sales: int, days: int) -> float | None:
    """Days sales outstanding, the standard (period) method.

    Notes
    -----
    DSO = ending AR / credit sales of the period * days in the period.
    Source: DATA_MODEL.md; CFO / Credit Research Foundation "DSO" (the most common
    definition). Undefined (None) when the period had no credit sales.
    """
    if credit_sales <= 0:
        return None
    return ending_ar / credit_sales * days


def countback_dso(ending_ar: int, months: list[tuple[int, int]]) -> tuple[float | None, bool]:
    """Countback (exhaustion) DSO.

    Parameters
    ----------
    ending_ar : int
        AR at the period end (minor units).
    months : list of (credit_sales, days)
        Month by month walking back from the period end (most recent first).

    Returns
    -------
    (dso, complete)
        ``complete`` is False when the months given did not use up the AR; the DSO is
        then the days of all months given (a lower bound).

    Notes
    -----
    Walk back month by month, consuming each month's credit sales until the ending AR
    is used up: a month fully consumed adds its days, the month where the AR runs out
    adds days * (AR left / that month's sales) (the last month prorated).
    Source: DATA_MODEL.md; Credit Research Foundation, "countback" method.
    """
    if ending_ar <= 0:
        return 0.0, True
    left, total = ending_ar, 0.0
    for sales, days in months:
        if sales >= left and sales > 0:
            return total + days * (left / sales), True
        left -= max(sales, 0)
        total += days
    return (total if months else None), False


def best_possible_dso(current_ar: int, credit_sales: int, days: int) -> float | None:
    """Best possible DSO: the DSO if every customer paid on terms.

    Notes
    -----
    BPDSO = current (not past due) AR / credit sales * days in the period.
    Source: DATA_MODEL.md; Credit Research Foundation.
    """
    if credit_sales <= 0:
        return None
    return current_ar / credit_sales * days


def average_days_delinquent(dso: float | None, best: float | None) -> float | None:
    """Average days delinquent: ADD = DSO - best possible DSO (DATA_MODEL.md)."""
    if dso is None or best is None:
        return None
    return dso - best


def collection_effectiveness_index(beginning_ar: int, credit_sales: int, ending_ar: int,
                                   ending_current_ar: int) -> float | None:
    """Collection effectiveness index, in percent.

    Notes
    -----
    CEI = (beginning AR + credit sales - ending AR)
          / (beginning AR + credit sales - ending current AR) * 100
    with the period's total credit sales (for one month the classic monthly CEI).
    Source: DATA_MODEL.md; Credit Research Foundation. Undefined when the denominator
    is not positive (nothing was collectible).
    """
    denominator = beginning_ar + credit_sales - ending_current_ar
    if denominator <= 0:
        return None
    return (beginning_ar + credit_sales - ending_ar) / denominator * 100.0


def aging_over_pct(over_ar: int, ar: int) -> float | None:
    """Share of AR more than N days past due, in percent (Aging over 60: N = 60)."""
    if ar <= 0:
        return 0.0 if ar == 0 else None
    return over_ar / ar * 100.0


# =========================================================================== options

@dataclass(frozen=True)
class KPIOptions:
    """Named variants of the formulas (sources differ); the default is DATA_MODEL.md's.

    Parameters
    ----------
    cei_sales : {"period_total", "monthly_average"}
        CEI with the period's total credit sales (default) or, as some sources do for
        a quarter, the sales divided by the number of months.
    cei_current_days : int
        "Current" AR in CEI: not past due (0, default) or up to N days past due (30).
    countback_max_months : int
        How far countback DSO walks back before it stops (and says it is incomplete).
    promise_grace_days : int
        Cash received up to this many days after the promised date still keeps it.
    promise_tolerance_pct : float
        Paying at least (100 - this) % of the promised amount keeps the promise.
    """

    cei_sales: str = "period_total"
    cei_current_days: int = 0
    countback_max_months: int = 36
    promise_grace_days: int = 0
    promise_tolerance_pct: float = 0.0

    def __post_init__(self):
        if self.cei_sales not in ("period_total", "monthly_average"):
            raise ValueError(f"cei_sales must be 'period_total' or 'monthly_average'; got "
                             f"{self.cei_sales!r}.")
        if self.cei_current_days < 0:
            raise ValueError(f"cei_current_days must be >= 0; got {self.cei_current_days}.")
        if not 1 <= self.countback_max_months <= 120:
            raise ValueError(f"countback_max_months must be in [1, 120]; got "
                             f"{self.countback_max_months}.")
        if self.promise_grace_days < 0:
            raise ValueError(f"promise_grace_days must be >= 0; got {self.promise_grace_days}.")
        if not 0 <= self.promise_tolerance_pct < 100:
            raise ValueError(f"promise_tolerance_pct must be in [0, 100); got "
                             f"{self.promise_tolerance_pct}.")

    def formulas(self) -> dict[str, str]:
        cur = ("not past due" if self.cei_current_days == 0
               else f"up to {self.cei_current_days} days past due")
        sales = ("the period's total credit sales" if self.cei_sales == "period_total"
                 else "credit sales / months in the period")
        return {
            "dso": "ending AR / credit sales * days",
            "countback_dso": "months walked back from the period end until their credit sales "
                             "use up ending AR; the last month prorated",
            "best_possible_dso": "current (not past due) AR / credit sales * days",
            "add": "DSO - best possible DSO",
            "cei": f"(beginning AR + S - ending AR) / (beginning AR + S - ending current AR) * 100; "
                   f"S = {sales}; current = {cur}",
            "aging_over_60_pct": "AR more than 60 days past due / AR * 100",
            "promise_kept_rate": f"kept / (kept + broken) for promises due in the period; kept = "
                                 f"cash received between the promise and its date"
                                 f"{f' + {self.promise_grace_days} days' if self.promise_grace_days else ''}"
                                 f" covers the promised amount"
                                 f"{f' less {self.promise_tolerance_pct}%' if self.promise_tolerance_pct else ''}",
        }


# =========================================================================== engine

def _days(values) -> np.ndarray:
    """datetime64 -> int64 day numbers (NaT -> a very large day: never reached)."""
    arr = np.asarray(values).astype("datetime64[D]")
    out = arr.astype(np.int64)
    out[np.isnat(arr)] = np.iinfo(np.int64).max // 2
    return out


def _day_of(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


@dataclass
class _Groups:
    """Group code per customer (+ one code for receipts with no customer)."""

    labels: pd.DataFrame                 # one row per group: key column(s) + currency
    invoice_code: np.ndarray
    receipt_code: np.ndarray
    activity_key: str | None


class _Engine:
    """Dated events of a ledger, grouped; evaluates cumulative sums at many dates."""

    def __init__(self, ledger: Ledger, by: str | None, group_as_of=None):
        if by is not None and by not in GROUPINGS:
            raise ValueError(f"by must be one of {', '.join(GROUPINGS)}; got {by!r}")
        self.ledger = ledger
        self.by = None if by == "currency" else by
        self.group_as_of = group_as_of
        self.notes: list[str] = []
        inv = ledger.invoices
        self.inv_day = _days(inv["invoice_date"].to_numpy())
        self.due_day = _days(inv["due_date"].to_numpy())
        self.inv_amount = inv["amount_minor"].to_numpy(dtype=np.int64)
        self.groups = self._group_codes()
        # the reductions of invoices (applications, credit memos applied to one, write-offs
        # and recoveries): the ledger's one event stream
        red = ledger.reductions(sort=False)          # sums by date: any order will do
        self.red_pos = red["invoice"].to_numpy(dtype=np.int64)
        self.red_day = _days(red["date"].to_numpy())
        self.red_amount = red["amount_minor"].to_numpy(dtype=np.int64)
        self.red_code = self.groups.invoice_code[self.red_pos]
        self.red_inv_day = self.inv_day[self.red_pos]
        self.red_due_day = self.due_day[self.red_pos]

    # -------------------------------------------------------------- groups
    def _group_codes(self) -> _Groups:
        """Integer group codes for invoices and receipts: (attribute, currency) pairs.

        Built from integer codes (customer positions, factorized currencies) so that a
        ledger of millions of rows is grouped without Python objects."""
        led = self.ledger
        inv, cust, rec = led.invoices, led.customers, led.receipts
        currencies = (pd.concat([inv["currency"], rec["currency"]]) if len(rec)
                      else inv["currency"])      # a ledger without receipts (DATA_MODEL allows)
        cur_codes, cur_names = pd.factorize(currencies, sort=True)
        cur_codes = cur_codes.astype(np.int64)
        inv_cur, rec_cur = cur_codes[: len(inv)], cur_codes[len(inv):]
        n_cur = len(cur_names)
        if self.by is None:
            attr_inv = np.zeros(len(inv), np.int64)
            attr_rec = np.zeros(len(rec), np.int64)
            attr_names = None
        else:
            col = _GROUP_COLUMN[self.by]
            if col not in cust.columns:
                raise ValueError(f"cannot group by {self.by}: the customers table has no "
                                 f"'{col}' column")
            values = cust[col].astype(object).where(cust[col].notna(), "(none)")
            if col in ("segment", "collector") and self.group_as_of is not None:
                # the segment / collector in force at the end of the period (customer_changes);
                # unknown on a past date of a ledger without that history
                from .master import master_values
                got, known, notes = master_values(led, col, np.arange(len(cust)), self.group_as_of)
                got = np.asarray(got, dtype=object)
                values = pd.Series(np.where(~known, "(unknown)",
                                            np.where(pd.isna(got), "(none)", got)),
                                   index=cust.index, dtype=object)
                self.notes = list(notes)
            attr_codes, attr_names = pd.factorize(values, sort=False)
            attr_names = list(attr_names) + ["(unidentified)"]
            unidentified = len(attr_names) - 1
            inv_pos = led.positions("invoices", "customer_id", "customers", "customer_id")
            attr_inv = attr_codes[np.maximum(inv_pos, 0)].astype(np.int64)
            if len(rec) and "customer_id" in rec:
                rec_pos = led.positions("receipts", "customer_id", "customers", "customer_id")
                attr_rec = np.where(rec_pos >= 0, attr_codes[np.maximum(rec_pos, 0)],
                                    unidentified).astype(np.int64)
            else:
                attr_rec = np.full(len(rec), unidentified, np.int64)
        raw = np.concatenate([attr_inv * n_cur + inv_cur, attr_rec * n_cur + rec_cur])
        used, codes = np.unique(raw, return_inverse=True)
        labels = pd.DataFrame({"currency": np.asarray(cur_names, dtype=object)[used % n_cur]})
        if attr_names is not None:
            labels.insert(0, _GROUP_COLUMN[self.by],
                          np.asarray(attr_names, dtype=object)[used // n_cur])
            order = np.lexsort((labels["currency"].to_numpy(dtype=str),
                                labels.iloc[:, 0].to_numpy(dtype=str)))
            rank = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order))
            labels = labels.iloc[order].reset_index(drop=True)
            codes = rank[codes]
        codes = codes.astype(np.int64)
        return _Groups(labels, codes[: len(inv)], codes[len(inv):],
                       None if self.by is None else _GROUP_COLUMN[self.by])

    @property
    def n_groups(self) -> int:
        return len(self.groups.labels)

    # -------------------------------------------------------------- cumulative sums
    def cumulative(self, code: np.ndarray, day: np.ndarray, weight: np.ndarray,
                   queries: np.ndarray) -> np.ndarray:
        """``out[g, j]`` = sum of ``weight`` of group g's events with day <= queries[j]
        (queries sorted ascending), exactly in int64."""
        weight = np.asarray(weight)
        dtype = np.float64 if weight.dtype.kind == "f" else np.int64
        out = np.zeros((self.n_groups, len(queries) + 1), dtype=dtype)
        if len(day):
            slot = np.searchsorted(queries, day, side="left")
            np.add.at(out, (code, slot), weight)
        return np.cumsum(out, axis=1)[:, :-1]

    def ar(self, queries, past_due_over: int | None = None) -> np.ndarray:
        """Open AR at each query date; with ``past_due_over=k``, only the AR more than k
        days past due."""
        if past_due_over is None:
            inv_t, red_t = self.inv_day, np.maximum(self.red_day, self.red_inv_day)
        else:
            start = self.due_day + past_due_over + 1
            inv_t = start
            red_t = np.maximum(self.red_day, self.red_due_day + past_due_over + 1)
        plus = self.cumulative(self.groups.invoice_code, inv_t, self.inv_amount, queries)
        minus = self.cumulative(self.red_code, red_t, self.red_amount, queries)
        return plus - minus

    def sales(self, queries) -> np.ndarray:
        return self.cumulative(self.groups.invoice_code, self.inv_day, self.inv_amount, queries)

    def receipts(self, queries) -> np.ndarray:
        rec = self.ledger.receipts
        if not len(rec):
            return np.zeros((self.n_groups, len(queries)), np.int64)
        return self.cumulative(self.groups.receipt_code, _days(rec["receipt_date"].to_numpy()),
                               rec["amount_minor"].to_numpy(dtype=np.int64), queries)

    def unapplied(self, queries) -> tuple[np.ndarray, np.ndarray]:
        """Unapplied cash (exact, int64) and the sum of unapplied * receipt day (float64:
        only used for the average age in days, never for money)."""
        led = self.ledger
        rec, apps = led.receipts, led.applications
        if not len(rec):
            z = np.zeros((self.n_groups, len(queries)), np.int64)
            return z, z.astype(float)
        r_day = _days(rec["receipt_date"].to_numpy())
        r_amt = rec["amount_minor"].to_numpy(dtype=np.int64)
        plus = self.cumulative(self.groups.receipt_code, r_day, r_amt, queries)
        plus_d = self.cumulative(self.groups.receipt_code, r_day, r_amt * r_day.astype(float),
                                 queries)
        if not len(apps):
            return plus, plus_d
        rpos = self._receipt_positions()
        ok = rpos >= 0
        a_day = np.maximum(_days(apps["applied_date"].to_numpy())[ok], r_day[rpos[ok]])
        a_amt = apps["amount_minor"].to_numpy(dtype=np.int64)[ok]
        a_code = self.groups.receipt_code[rpos[ok]]
        minus = self.cumulative(a_code, a_day, a_amt, queries)
        minus_d = self.cumulative(a_code, a_day, a_amt * r_day[rpos[ok]].astype(float), queries)
        return plus - minus, plus_d - minus_d

    def _receipt_positions(self) -> np.ndarray:
        return self.ledger.positions("applications", "receipt_id", "receipts", "receipt_id")

    def disputes(self, queries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Open disputes at each date: count, amount, and sum of opened days (for age)."""
        d = self.ledger.disputes
        z = np.zeros((self.n_groups, len(queries)), np.int64)
        if not len(d):
            return z, z.copy(), z.copy()
        pos = self.ledger.invoice_positions("disputes")
        ok = pos >= 0
        code = self.groups.invoice_code[pos[ok]]
        opened = _days(d["opened_date"].to_numpy())[ok]
        closed = (_days(d["closed_date"].to_numpy())[ok] if "closed_date" in d
                  else np.full(ok.sum(), np.iinfo(np.int64).max // 2))
        amt = d["amount_minor"].to_numpy(dtype=np.int64)[ok]
        one = np.ones(len(opened), np.int64)
        count = self.cumulative(code, opened, one, queries) - self.cumulative(code, closed, one, queries)
        amount = self.cumulative(code, opened, amt, queries) - self.cumulative(code, closed, amt, queries)
        day_sum = self.cumulative(code, opened, opened, queries) - self.cumulative(code, closed, opened, queries)
        return count, amount, day_sum


# =========================================================================== promises

@dataclass(frozen=True)
class PromiseSchedule:
    """Every promise to pay with the cash that can keep it (:func:`promise_schedule`).

    Attributes
    ----------
    promises : DataFrame
        One row per promise: ``activity_id, customer_id, invoice_id, made, promise_date,
        due`` (promise date + grace), ``promise_amount_minor, need_minor, currency,
        kept_on`` (the applied date of the application that made the cash cover the
        promise; NaT if it never did), ``inv`` (invoice row position, -1 for a promise on
        the account) and ``_k`` (the promise's number).
    cash : DataFrame
        The applications of cash received inside each promise's window: ``_k, applied,
        amount`` (minor units), sorted by promise and applied date.
    """

    promises: pd.DataFrame
    cash: pd.DataFrame

    def __len__(self) -> int:
        return len(self.promises)


_PROMISE_COLUMNS = ["activity_id", "customer_id", "invoice_id", "made", "promise_date", "due",
                    "promise_amount_minor", "need_minor", "currency", "kept_on", "inv", "_k"]


def _build_schedule(ledger: Ledger, activities: pd.DataFrame | None,
                    options: KPIOptions) -> PromiseSchedule:
    acts = ledger.activities if activities is None else activities
    if not len(acts) or "promise_date" not in acts:
        return PromiseSchedule(pd.DataFrame(columns=_PROMISE_COLUMNS),
                               pd.DataFrame(columns=["_k", "applied", "amount"]))
    p = acts[acts["kind"] == "promise_to_pay"].copy()
    ts = p["timestamp"]
    ts = ts.dt.tz_convert(None) if getattr(ts.dtype, "tz", None) is not None else pd.to_datetime(ts)
    p["made"] = ts.dt.normalize().astype("datetime64[ns]")
    p["due"] = (p["promise_date"] + pd.Timedelta(days=options.promise_grace_days))
    amount = p["promise_amount_minor"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    # paying (100 - tolerance)% keeps it; computed in integers (ceil of amount * (1 - t))
    t_bp = int(round(options.promise_tolerance_pct * 100))
    p["need_minor"] = -((-amount * (10000 - t_bp)) // 10000)
    if "invoice_id" not in p:
        p["invoice_id"] = None
    p = p.reset_index(drop=True)
    p["_k"] = np.arange(len(p))
    # integer keys: invoice position, customer code (hash lookups once, cached on the ledger)
    inv = ledger.invoices
    cust_codes, cust_uniques = pd.factorize(inv["customer_id"], sort=False)
    cust_index = IdIndex(pd.Series(cust_uniques, dtype="str"))
    app_inv = ledger.positions("applications", "invoice_id", "invoices", "invoice_id")
    app_rec = ledger.positions("applications", "receipt_id", "receipts", "receipt_id")
    apps = ledger.applications
    ok = (app_inv >= 0) & (app_rec >= 0)
    cash = pd.DataFrame({
        "inv": app_inv[ok],
        "cust": cust_codes[app_inv[ok]],
        "received": ledger.receipts["receipt_date"].to_numpy()[app_rec[ok]],
        "applied": apps["applied_date"].to_numpy()[ok],
        "amount": apps["amount_minor"].to_numpy(dtype=np.int64)[ok]})
    p["inv"] = IdIndex(inv["invoice_id"]).get_indexer(p["invoice_id"].fillna(""))
    p["cust"] = cust_index.get_indexer(p["customer_id"])
    named = (p["inv"] >= 0).to_numpy()
    joined = pd.concat([
        p.loc[named, ["_k", "inv", "made", "due"]].merge(cash.drop(columns="cust"), on="inv"),
        p.loc[~named, ["_k", "cust", "made", "due"]].merge(cash.drop(columns="inv"), on="cust"),
    ], ignore_index=True)
    joined = joined[(joined["received"] >= joined["made"]) & (joined["received"] <= joined["due"])]
    joined = joined.sort_values(["_k", "applied"], kind="stable")
    joined["cum"] = joined.groupby("_k")["amount"].cumsum()
    joined["need"] = p["need_minor"].to_numpy()[joined["_k"].to_numpy()]
    reached = joined[joined["cum"] >= joined["need"]].groupby("_k")["applied"].min()
    p["kept_on"] = reached.astype("datetime64[ns]").reindex(p["_k"].to_numpy()).to_numpy()
    return PromiseSchedule(p, joined[["_k", "applied", "amount"]].reset_index(drop=True))


def promise_schedule(ledger: Ledger, activities: pd.DataFrame | None = None,
                     options: KPIOptions = KPIOptions()) -> PromiseSchedule:
    """Every promise to pay with the cash that can keep it and the day it became kept
    (:class:`PromiseSchedule`): the basis of :func:`promise_outcomes`, the KPIs' promise
    kept rate and payment risk's broken promises.

    A promise's window runs from the day it was made to its promised date (+
    ``promise_grace_days``); the cash received in it and applied to the promise's invoice
    (else to any invoice of the customer) keeps it on the applied date it covers the
    promised amount less ``promise_tolerance_pct`` (rounded up to a minor unit).

    The schedule of the ledger's own activities (``activities=None``) is kept in the
    ledger's cache, per option values.
    """
    if activities is not None:
        return _build_schedule(ledger, activities, options)
    key = (options.promise_grace_days, options.promise_tolerance_pct)
    return ledger.cache.get("promise_schedule", key,
                            lambda: _build_schedule(ledger, None, options))


def promise_outcomes(ledger: Ledger, as_of, activities: pd.DataFrame | None = None,
                     options: KPIOptions = KPIOptions(),
                     schedule: PromiseSchedule | pd.DataFrame | None = None) -> pd.DataFrame:
    """Each promise to pay, decided as of a date: ``kept``, ``broken`` or ``pending``.

    A promise is kept when the cash received from the day it was made up to its
    promised date (+ ``promise_grace_days``), and applied by ``as_of``, covers the
    promised amount (less ``promise_tolerance_pct``): to its invoice when the promise
    names one, else to any invoice of the customer. Not kept and its date (+ grace)
    has passed: broken. Otherwise pending. Only what was known on ``as_of`` is used.

    Returns
    -------
    DataFrame
        One row per promise made on or before ``as_of``: ``activity_id, customer_id,
        invoice_id, made, promise_date, promise_amount_minor, currency, received_minor,
        status``.

    ``schedule``: a :class:`PromiseSchedule` already built (default: from ``activities``
    or the ledger's own); a bare promises frame gives ``received_minor`` 0.
    """
    D = to_date(as_of)
    if schedule is None:
        schedule = promise_schedule(ledger, activities, options)
    if isinstance(schedule, PromiseSchedule):
        p, cash = schedule.promises, schedule.cash
    else:
        p, cash = schedule, None
    cols = ["activity_id", "customer_id", "invoice_id", "made", "promise_date",
            "promise_amount_minor", "currency", "received_minor", "status"]
    if not len(p):
        return pd.DataFrame(columns=cols)
    p = p[p["made"] <= D].copy()
    if cash is not None and len(cash):
        got = cash[cash["applied"] <= D].groupby("_k")["amount"].sum()
        p["received_minor"] = p["_k"].map(got).fillna(0).astype(np.int64)
    else:
        p["received_minor"] = 0
    kept = (p["kept_on"] <= D).to_numpy()
    broken = ~kept & (p["due"] < D).to_numpy()
    p["status"] = np.where(kept, "kept", np.where(broken, "broken", "pending"))
    return p.reindex(columns=cols).reset_index(drop=True)


# =========================================================================== tables

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
