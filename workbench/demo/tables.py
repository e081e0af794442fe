"""The demo's other tables: activities, fx rates, financials, bureau, trade references, the
reserve GL."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..money import MINOR_UNITS, convert, round_to_minor
from .names import _WORDS_A, BEHAVIOURS, _busday, _days, _dt


def _activity_collectors(activities: pd.DataFrame, moves: pd.DataFrame) -> pd.DataFrame:
    """Activities logged before a collector reassignment were made by the old collector."""
    if not len(moves) or not len(activities):
        return activities
    cid = activities["customer_id"].to_numpy(dtype=object)
    rows = np.flatnonzero(pd.Index(moves["customer_id"]).get_indexer(cid) >= 0)
    if not len(rows):
        return activities
    k = pd.Index(moves["customer_id"]).get_indexer(cid[rows])
    day = activities["timestamp"].array.asi8[rows] // 86_400_000_000_000     # UTC day
    before = rows[day < moves["day"].to_numpy()[k]]
    if len(before):
        activities = activities.copy()
        col = activities["collector"].to_numpy(dtype=object).copy()
        col[before] = moves["old"].to_numpy(dtype=object)[
            pd.Index(moves["customer_id"]).get_indexer(cid[before])]
        activities["collector"] = col
    return activities


def _activities(rng, config, inv_ids, inv_cust, cust_ids, collector, tz, due_day, pay_day,
                never_paid, to_collect, inv_cur, b, d_idx, d_open, default_day, is_def, end):
    settle = np.where(never_paid, np.iinfo(np.int64).max // 4, pay_day)
    rows = []

    def add(sel, day, kind, note=None, promise_day=None, promise_amt=None):
        idx = np.flatnonzero(sel)
        if not len(idx):
            return
        rows.append(pd.DataFrame({
            "inv": idx, "day": day[idx] if np.ndim(day) else np.full(len(idx), day),
            "kind": kind, "note": note if note is not None else "",
            "promise_day": promise_day[idx] if promise_day is not None else -1,
            "promise_amt": promise_amt[idx] if promise_amt is not None else -1,
        }))

    reminder = _busday(due_day + 5)
    add((settle > reminder) & (reminder <= end), reminder, "email", "past-due reminder")
    call = _busday(due_day + 20)
    called = (settle > call) & (call <= end)
    add(called, call, "call", "collection call")
    # promises made on the call; kept when the money arrives by the promised date
    promising = called & (rng.random(len(due_day)) < 0.6)
    keeps = rng.random(len(due_day)) < np.where(b <= 1, 0.75, np.where(b == 4, 0.15, 0.45))
    promise_day = np.where(keeps & ~never_paid, np.maximum(settle, call + 1),
                           call + rng.integers(5, 15, len(due_day)))
    promise_day = _busday(np.minimum(promise_day, call + 30))
    add(promising, call, "promise_to_pay", "promised on call", promise_day, to_collect)
    letter = _busday(due_day + 45)
    add((settle > letter) & (letter <= end), letter, "letter", "final demand letter")
    esc = _busday(due_day + 75)
    add((settle > esc) & (esc <= end) & (b >= 2), esc, "escalation", "escalated to sales")
    if len(d_idx):
        dsel = np.zeros(len(due_day), bool)
        dday = np.zeros(len(due_day), np.int64)
        dsel[d_idx] = d_open <= end
        dday[d_idx] = d_open
        add(dsel, dday, "dispute", "customer disputed the invoice")
    act = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["inv", "day", "kind", "note", "promise_day", "promise_amt"])
    # one suspension per defaulted customer
    susp_c = np.flatnonzero(is_def & (default_day + 30 <= end))
    act = act.sort_values(["day", "inv", "kind"], kind="stable").reset_index(drop=True)
    cust = inv_cust[act["inv"].to_numpy()]
    hours = rng.integers(9, 17, len(act) + len(susp_c))
    mins = rng.integers(0, 60, len(act) + len(susp_c))
    day_all = np.r_[act["day"].to_numpy(), _busday(default_day[susp_c] + 30)]
    cust_all = np.r_[cust, susp_c]
    stamp = (pd.Series(np.datetime_as_string(day_all.astype("datetime64[D]"))) + "T"
             + pd.Series(hours).astype(str).str.zfill(2) + ":" + pd.Series(mins).astype(str).str.zfill(2)
             + ":00" + pd.Series(tz[cust_all]))
    n = len(day_all)
    promise_day_all = np.r_[act["promise_day"].to_numpy(), np.full(len(susp_c), -1)]
    promise_amt_all = np.r_[act["promise_amt"].to_numpy(), np.full(len(susp_c), -1)]
    inv_all = np.r_[act["inv"].to_numpy(), np.full(len(susp_c), -1)]
    out = pd.DataFrame({
        "activity_id": [f"A-{i + 1:08d}" for i in range(n)],
        "customer_id": cust_ids[cust_all],
        "timestamp": pd.to_datetime(stamp, format="ISO8601", utc=True).dt.as_unit("ns"),
        "kind": np.r_[act["kind"].to_numpy(dtype=object), np.full(len(susp_c), "suspension", dtype=object)],
        "collector": collector[cust_all],
        "invoice_id": np.where(inv_all >= 0, inv_ids[np.maximum(inv_all, 0)], None),
        "note": np.r_[act["note"].to_numpy(dtype=object),
                      np.full(len(susp_c), "account suspended: unpaid after default", dtype=object)],
        "promise_date": np.where(promise_day_all >= 0, _dt(np.maximum(promise_day_all, 0)),
                                 np.datetime64("NaT")).astype("datetime64[ns]"),
        "promise_amount_minor": pd.array(np.where(promise_amt_all >= 0, promise_amt_all, None),
                                         dtype="Int64"),
        "currency": np.r_[inv_cur[act["inv"].to_numpy()], np.full(len(susp_c), None, dtype=object)],
    })
    # suspension rows carry the customer's currency
    out.loc[out["currency"].isna(), "currency"] = None
    order = np.lexsort((np.arange(n), day_all))
    out = out.iloc[order].reset_index(drop=True)
    out["activity_id"] = [f"A-{i + 1:08d}" for i in range(n)]
    sus_cur = out["currency"].isna()
    if sus_cur.any():
        inv_cur_by_cust = pd.Series(inv_cur, index=cust_ids[inv_cust]).groupby(level=0).first()
        out.loc[sus_cur, "currency"] = out.loc[sus_cur, "customer_id"].map(inv_cur_by_cust).to_numpy()
    is_p = out["kind"].to_numpy() == "promise_to_pay"
    inv_pos = pd.Index(inv_ids).get_indexer(out.loc[is_p, "invoice_id"].to_numpy(dtype=object))
    promise_days = out.loc[is_p, "promise_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    kept = (settle[inv_pos] <= promise_days)
    promises = pd.DataFrame({"activity_id": out.loc[is_p, "activity_id"].to_numpy(),
                             "invoice_id": out.loc[is_p, "invoice_id"].to_numpy(),
                             "promise_date": out.loc[is_p, "promise_date"].to_numpy(),
                             "kept": kept, "settled_date": np.where(
                                 settle[inv_pos] < np.iinfo(np.int64).max // 4,
                                 _dt(np.minimum(settle[inv_pos], 10**6)), np.datetime64("NaT")
                             ).astype("datetime64[ns]")})
    return out, promises.reset_index(drop=True)


def _fx_rates(rng, start, end) -> pd.DataFrame:
    days = np.arange(start - 10, end + 1)
    days = days[np.is_busday(days.astype("datetime64[D]"))]
    frames = []
    for cur, level, vol, places in (("EUR", 1.08, 0.004, 4), ("JPY", 0.0067, 0.005, 6)):
        walk = level * np.exp(np.cumsum(rng.normal(0, vol, len(days))))
        text = [f"{x:.{places}f}" for x in walk]
        frames.append(pd.DataFrame({"date": _dt(days), "currency": cur,
                                    "rate_to_report": [Decimal(t) for t in text]}))
    return pd.concat(frames, ignore_index=True)


def _financials(rng, cust_ids, behaviour, annual_sales, fx_scale, digits, currency, start, end):
    has = rng.random(len(cust_ids)) < 0.7
    has[: len(BEHAVIOURS)] = True
    years = np.arange(np.datetime64(int(start), "D").astype("datetime64[Y]").astype(int) + 1970 - 1,
                      np.datetime64(int(end - 90), "D").astype("datetime64[Y]").astype(int) + 1970)
    rows = []
    cr = np.array([2.1, 1.6, 1.15, 1.5, 0.95])       # current ratio by behaviour
    dr = np.array([0.40, 0.55, 0.70, 0.55, 0.85])     # debt ratio
    margin = np.array([0.08, 0.05, 0.02, 0.04, -0.03])
    for i in np.flatnonzero(has):
        bh = behaviour[i]
        revenue = max(annual_sales[i], 1000 * fx_scale[i]) * rng.uniform(15, 80)
        for k, y in enumerate(years):
            drift = 1.0 - (0.12 * k if bh in (3, 4) else 0.0)
            ta = revenue * rng.uniform(0.5, 1.1)
            ca = ta * rng.uniform(0.35, 0.6)
            cl = ca / max(cr[bh] * drift * rng.uniform(0.85, 1.15), 0.3)
            tl = max(ta * min(dr[bh] / max(drift, 0.5) * rng.uniform(0.9, 1.1), 1.3), cl)
            ni = revenue * (margin[bh] - (0.03 * k if bh in (3, 4) else 0)) * rng.uniform(0.7, 1.3)
            ebit = ni * 1.35 + revenue * 0.01
            rows.append((cust_ids[i], f"{y}-12-31", ca, cl, ta, tl, revenue, ni, ca * 0.2,
                         ca * 0.3, ca * 0.4, ta * 0.05, ebit, revenue * 0.01 * (1 + dr[bh]),
                         ni * 1.2 + ta * 0.03, currency[i], digits[i]))
    cols = ["customer_id", "period_end", "current_assets", "current_liabilities", "total_assets",
            "total_liabilities", "revenue", "net_income", "cash", "inventory", "receivables",
            "intangibles", "ebit", "interest_expense", "operating_cash_flow", "currency", "digits"]
    df = pd.DataFrame(rows, columns=cols)
    out = pd.DataFrame({"customer_id": df["customer_id"].astype(object),
                        "period_end": pd.to_datetime(df["period_end"]).astype("datetime64[ns]")})
    for c in cols[2:15]:
        out[f"{c}_minor"] = (np.rint(df[c].to_numpy()) * 10 ** df["digits"].to_numpy()).astype(np.int64)
    out["currency"] = df["currency"].astype(object)
    return out


def _bureau(rng, cust_ids, behaviour, default_day, deter_start, monthly_sales, digits, currency,
            start, end, switch=None):
    """Quarterly bureau reports; ``switch`` = (day, habit after) moves a customer's paydex
    to its new habit's level 60 days after a habit switch (the noisy profile)."""
    has = rng.random(len(cust_ids)) < 0.8
    has[: len(BEHAVIOURS)] = True
    q_ends = pd.date_range(pd.Timestamp(np.datetime64(int(start), "D")), pd.Timestamp(np.datetime64(int(end), "D")),
                           freq="QE")
    base_paydex = np.array([80, 72, 55, 78, 70], dtype=float)
    rows = []
    for i in np.flatnonzero(has):
        bh = behaviour[i]
        yib = float(rng.integers(2, 60))
        for q in q_ends:
            day = _days(q.date()) + 15
            if day > end:
                continue
            p = base_paydex[bh]
            if switch is not None and day - 60 > switch[0][i]:
                p = base_paydex[switch[1][i]]
            if bh == 3 and day > deter_start[i]:
                p -= min((day - deter_start[i]) / 10.0, 30)
            if bh == 4 and day > default_day[i] - 180:
                p -= min((day - (default_day[i] - 180)) / 6.0, 45)
            paydex = float(np.clip(np.rint(p + rng.normal(0, 3)), 0, 100))
            fail = float(np.clip(np.rint(paydex * 0.9 + rng.normal(5, 8)), 1, 100))
            delinq = float(np.clip(np.rint(paydex * 0.95 + rng.normal(0, 8)), 1, 100))
            limit = max(monthly_sales[i] * (paydex / 50.0), 0)
            rows.append((cust_ids[i], str(np.datetime64(int(day), "D")), paydex, fail, delinq,
                         int(np.rint(limit / 10 ** digits[i] / 100) * 100 * 10 ** digits[i]),
                         yib + (day - start) / 365.25, int(rng.poisson(0.2 if bh < 2 else 1.5)),
                         currency[i]))
    df = pd.DataFrame(rows, columns=["customer_id", "report_date", "paydex", "failure_score",
                                     "delinquency_score", "recommended_limit_minor",
                                     "years_in_business", "derogatory_count", "currency"])
    df["report_date"] = pd.to_datetime(df["report_date"]).astype("datetime64[ns]")
    df["years_in_business"] = df["years_in_business"].round(1)
    df["customer_id"] = df["customer_id"].astype(object)
    df["recommended_limit_minor"] = df["recommended_limit_minor"].astype("Int64")
    df["derogatory_count"] = df["derogatory_count"].astype("Int64")
    return df


def _trade_references(rng, cust_ids, behaviour, monthly_sales, digits, currency, end):
    has = rng.random(len(cust_ids)) < 0.5
    has[: len(BEHAVIOURS)] = True
    dbt = np.array([2, 8, 25, 12, 35])
    rows = []
    for i in np.flatnonzero(has):
        for k in range(2):
            high = max(monthly_sales[i] * rng.uniform(0.5, 2.0), 1000 * 10 ** digits[i])
            rows.append((cust_ids[i], f"{_WORDS_A[int(rng.integers(0, len(_WORDS_A)))]} Supply "
                         f"Partner {k + 1}", str(np.datetime64(int(end - rng.integers(30, 330)), "D")),
                         int(high), int(high * rng.uniform(0, 0.8)),
                         int(max(0, rng.normal(dbt[behaviour[i]], 5))), 30, currency[i]))
    df = pd.DataFrame(rows, columns=["customer_id", "reference_name", "report_date",
                                     "high_credit_minor", "balance_owing_minor",
                                     "days_beyond_terms", "terms_days", "currency"])
    df["report_date"] = pd.to_datetime(df["report_date"]).astype("datetime64[ns]")
    df["customer_id"] = df["customer_id"].astype(object)
    df["terms_days"] = df["terms_days"].astype("Int64")
    return df


def _reserve_gl(invoices, applications, credit_memos, write_offs, fx_rates, start, end):
    """The allowance account, quarter by quarter, rolling forward exactly.

    Ending balance = 1% of current AR + 5% of 1-90 days past due + 40% of over 90 days
    (report currency, each currency converted at the quarter-end rate, half-even);
    write-offs and recoveries are the quarter's actual ones converted at their dates;
    the provision is what makes the account roll forward.
    """
    q_ends = pd.date_range(pd.Timestamp(np.datetime64(int(start), "D")) + pd.offsets.QuarterEnd(0),
                           pd.Timestamp(np.datetime64(int(end), "D")), freq="QE")
    q_ends = [q for q in q_ends if _days(q.date()) <= end]
    inv_pos = pd.Index(invoices["invoice_id"]).get_indexer
    amount = invoices["amount_minor"].to_numpy()
    cur = invoices["currency"].to_numpy(dtype=object)
    due = invoices["due_date"].to_numpy()
    idate = invoices["invoice_date"].to_numpy()
    red = [(inv_pos(t["invoice_id"].to_numpy(dtype=object)), t[dcol].to_numpy(), t["amount_minor"].to_numpy())
           for t, dcol in ((applications, "applied_date"), (credit_memos, "date"),
                           (write_offs, "date"))]

    table = {c: (g["date"].to_numpy(), g["rate_to_report"].to_numpy(dtype=object))
             for c, g in fx_rates.sort_values("date").groupby("currency")}

    def rate(c, day):
        if c == "USD":
            return Decimal(1)
        dates, rates = table[c]
        return rates[np.searchsorted(dates, np.datetime64(day, "ns"), side="right") - 1]

    rows, beginning = [], 0
    prev = None
    wo_cur = write_offs["currency"].to_numpy(dtype=object)
    wo_amount = write_offs["amount_minor"].to_numpy()
    wo_date = write_offs["date"].to_numpy()
    for q in q_ends:
        D = np.datetime64(q.date(), "ns")
        open_ = np.where(idate <= D, amount, 0)
        for pos, dates, amt in red:
            sel = (dates <= D) & (pos >= 0)
            np.subtract.at(open_, pos[sel], amt[sel])
        open_ = np.where(idate <= D, open_, 0)
        dpd = (D - due).astype("timedelta64[D]").astype(np.int64)
        target = 0
        for c in sorted(set(cur)):
            m = cur == c
            pct = (Decimal("0.01") * int(open_[m & (dpd <= 0)].sum())
                   + Decimal("0.05") * int(open_[m & (dpd > 0) & (dpd <= 90)].sum())
                   + Decimal("0.40") * int(open_[m & (dpd > 90)].sum()))
            # pct is in the currency's minor units; convert via major units
            major = pct.scaleb(-MINOR_UNITS[c])
            target += round_to_minor(major * rate(c, D), "USD")
        in_q = wo_date <= D
        if prev is not None:
            in_q &= wo_date > prev
        wo_usd, rec_usd = 0, 0
        for i in np.flatnonzero(in_q):
            a = int(wo_amount[i])
            usd = convert(abs(a), wo_cur[i], rate(wo_cur[i], wo_date[i]), "USD")
            if a > 0:
                wo_usd += usd
            else:
                rec_usd += usd
        provision = target - beginning + wo_usd - rec_usd
        rows.append((D, beginning, provision, wo_usd, rec_usd, target))
        beginning, prev = target, D
    df = pd.DataFrame(rows, columns=["period_end", "beginning_balance_minor", "provision_minor",
                                     "write_offs_minor", "recoveries_minor", "ending_balance_minor"])
    df["period_end"] = df["period_end"].astype("datetime64[ns]")
    df["currency"] = "USD"
    for c in df.columns[1:6]:
        df[c] = df[c].astype(np.int64)
    return df


