"""The noisy profile: payment habits that drift, one-off delays, thin histories, a customer
master that changes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..money import format_amount_array
from .names import BEHAVIOURS, COLLECTORS, SEGMENTS, _busday, _dt

_NEVER_DAY = np.iinfo(np.int64).max
_ONE_OFF = ("lost_invoice", "approval_loop", "holiday")
# purchases per active day by segment (lognormal centre), before a customer's own draw
_NOISY_SEGMENT_SIZE = {"Enterprise": 1.0, "Mid-Market": 0.2, "Small Business": -0.6,
                       "Public Sector": 0.5}


def _habit_centres(rng, habit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's own habit inside its kind: the centre of its days late (``mu``) and
    how far single invoices stray from it (``spread``, the noise's standard deviation).

    prompt: N(-2, 3) days (around the due date); slow: 6-25 days late; chronic: 28-60;
    deteriorating starts near due, N(2, 3), and slides (see ``_noisy_pay_days``);
    defaulting: 8-25 before its slide into default. Spreads are 4, 9, 16, 6 and 9 days
    times the customer's own erraticness (lognormal, sigma 0.4)."""
    n = len(habit)
    mu = np.select([habit == 0, habit == 1, habit == 2, habit == 3],
                   [rng.normal(-2, 3, n), rng.uniform(6, 25, n), rng.uniform(28, 60, n),
                    rng.normal(2, 3, n)], rng.uniform(8, 25, n))
    spread = np.array([4.0, 9.0, 16.0, 6.0, 9.0])[habit] * rng.lognormal(0.0, 0.4, n)
    return mu, spread


def _noisy_customers(rng, start: int, end: int, behaviour: np.ndarray, segment: np.ndarray) -> dict:
    """The customers of the noisy profile: when they buy, how much, and how they pay.

    - size: purchases per active day, lognormal (sigma 1.3) around a segment's level
      (enterprises buy most): many thin customers, a few large ones;
    - a quarter join during the history (onboarded 5-45 days before their window opens),
      a tenth of the healthy ones stop buying part way (30-90 % of the way to the end);
    - defaults 35-85 % of the way through the customer's own window (the guaranteed
      defaulting customer, number 5, mid-way from the start), no sales 30 days after it;
    - the deteriorating slide starts 20-70 % of the way through the window, lasts 4-12
      months and adds 25-70 days;
    - habit switches: 22 % of the prompt, slow and chronic customers active for at least
      240 days switch once, 25-80 % of the way through their window: a prompt payer turns
      slow (80 %) or chronic; a slow one turns chronic or, after a collections push, prompt
      (half and half); a chronic one improves to slow (65 %) or prompt. The new habit has
      its own centre (12 days away from the old one at least) and spread
      (``_habit_centres``);
    - 30 % of the customers defer payments due in the last 10 days of a quarter.
    """
    n = len(behaviour)
    is_def = behaviour == 4
    seg_level = pd.Series(segment).map(_NOISY_SEGMENT_SIZE).to_numpy(dtype=float)
    size = rng.lognormal(seg_level, 1.3)
    late_join = rng.random(n) < 0.25
    late_join[4] = False
    join = _busday(np.where(late_join, start + rng.integers(30, max(end - start - 60, 31), n), start))
    onboard_day = np.where(late_join, _busday(join - rng.integers(5, 46, n)), -1)
    leave_draw = join + (rng.uniform(0.3, 0.9, n) * (end - join)).astype(np.int64)
    churn = (rng.random(n) < 0.10) & ~is_def & (leave_draw - join >= 60)
    leave = np.where(churn, leave_draw, end)
    frac = rng.uniform(0.35, 0.85, n)
    frac[4] = 0.5
    dday = join + (frac * (end - join)).astype(np.int64)
    default_day = np.where(is_def, dday, _NEVER_DAY)
    leave = np.where(is_def, np.minimum(end, dday + 30), leave)
    deter_start = join + (rng.uniform(0.2, 0.7, n) * (leave - join)).astype(np.int64)
    slide_days = rng.uniform(120, 360, n)
    slide = rng.uniform(25, 70, n)
    switch = (behaviour <= 2) & (leave - join >= 240) & (rng.random(n) < 0.22)
    pick = rng.random(n)
    to = np.select([behaviour == 0, behaviour == 1],
                   [np.where(pick < 0.8, 1, 2), np.where(pick < 0.5, 2, 0)],
                   np.where(pick < 0.65, 1, 0))
    habit_after = np.where(switch, to, behaviour)
    sday = _busday(join + (rng.uniform(0.25, 0.8, n) * (leave - join)).astype(np.int64))
    switch_day = np.where(switch, sday, _NEVER_DAY)
    mu, spread = _habit_centres(rng, behaviour)
    mu_after, spread_after = _habit_centres(rng, habit_after)
    worse = switch & (habit_after > behaviour)
    # a switch a collector would notice: the centre moves 12 days at least
    mu_after = np.where(worse, np.maximum(mu_after, mu + 12), np.minimum(mu_after, mu - 12))
    mu_after = np.where(switch, mu_after, mu)
    spread_after = np.where(switch, spread_after, spread)
    deferrer = rng.random(n) < 0.30
    return {"size": size, "join": join, "leave": leave, "late_join": late_join, "churn": churn,
            "onboard_day": onboard_day, "default_day": default_day, "deter_start": deter_start,
            "slide_days": slide_days, "slide": slide, "switch_day": switch_day,
            "habit_after": habit_after, "mu": mu, "spread": spread, "mu_after": mu_after,
            "spread_after": spread_after, "deferrer": deferrer,
            "worse_day": np.where(worse, switch_day, _NEVER_DAY)}


def _noisy_invoices(rng, nz: dict, n_inv: int, end: int):
    """Invoices of the noisy profile: every customer at least one, the rest in proportion
    to size x days active, each on a business day of the customer's window (the exact
    count asked for). Returns (customer, day, weights)."""
    join, leave = nz["join"], nz["leave"]
    n = len(join)
    active = leave - join + 1
    w = nz["size"] * active
    w = w / w.sum()
    inv_cust = np.r_[np.arange(n), rng.choice(n, size=n_inv - n, p=w)]
    day = join[inv_cust] + (rng.random(n_inv) * active[inv_cust]).astype(np.int64)
    fwd = _busday(day)
    back = np.busday_offset(day.astype("datetime64[D]"), 0, roll="backward").astype(np.int64)
    return inv_cust, np.where(fwd > np.minimum(leave[inv_cust], end), back, fwd), w


def _noisy_pay_days(rng, nz: dict, behaviour, inv_cust, inv_day, due_day, amount):
    """Each invoice's pay day in the noisy profile, the habit in force, and the truth of
    every term (days late = habit + noise + one-off delay, or early, then the catch-up and
    the season):

    - the habit in force: the customer's, or after its switch date the new one for
      invoices due on or after it; its centre slides for deteriorating customers and,
      over the half year before a default, by 30 days for defaulting ones;
    - noise: per invoice, skewed (gamma(2) standardised: late more than early), standard
      deviation the customer's spread; nothing in the ledger explains it;
    - one-off delays, on top: a lost invoice, re-sent (1.2 % of invoices, 20-60 days), an
      approval loop (1.5 % x the amount over the customer's median, capped 0.3-4x; 10-40
      days), the AP clerk on holiday (0.8 %, 7-21 days);
    - early payments: 3 % of the others are paid 1-10 days after the invoice date;
    - a customer improving after a collections push clears what it owed, due before the
      switch, within 15 days of it;
    - seasons: a quarter-end deferrer's payments that fall in the last 10 days of a
      quarter move (70 %) to the first week of the next month; payments between 18
      December and 5 January slip 3-12 days (60 %, AP teams away).
    """
    n = len(inv_cust)
    c = inv_cust
    b = behaviour[c]
    after = due_day >= nz["switch_day"][c]
    habit = np.where(after, nz["habit_after"][c], b)
    mu = np.where(after, nz["mu_after"][c], nz["mu"][c])
    spread = np.where(after, nz["spread_after"][c], nz["spread"][c])
    prog = np.clip((due_day - nz["deter_start"][c]) / nz["slide_days"][c], 0, 1)
    m3 = b == 3
    mu = np.where(m3, mu + nz["slide"][c] * prog, mu)
    spread = np.where(m3, spread * (1 + prog), spread)
    m4 = b == 4
    dday = np.where(m4, nz["default_day"][c], 0)
    mu = np.where(m4, mu + 30 * np.clip((due_day - (dday - 180)) / 180.0, 0, 1), mu)
    noise = spread * (rng.gamma(2.0, 1.0, n) - 2.0) / np.sqrt(2.0)
    late = mu + noise
    usual = pd.Series(amount).groupby(c).transform("median").to_numpy(dtype=float)
    ratio = np.clip(amount / usual, 0.3, 4.0)
    cum = np.cumsum(np.c_[np.full(n, 0.012), 0.015 * ratio, np.full(n, 0.008)], axis=1)
    reason = (rng.random(n)[:, None] >= cum).sum(axis=1)           # 3: none
    delay = rng.integers(np.array([20, 10, 7, 0])[reason], np.array([61, 41, 22, 1])[reason])
    late = late + delay
    early = (reason == 3) & (rng.random(n) < 0.03)
    late = np.where(early, inv_day + rng.integers(1, 11, n) - due_day, late)
    target = due_day + np.rint(late).astype(np.int64)
    better = (nz["habit_after"][c] < b) & ~after          # due before an improvement
    sw = np.where(better, nz["switch_day"][c], 0)
    caught = better & (target > sw + 15)
    target = np.where(caught, sw + rng.integers(0, 16, n), target)
    target = np.clip(target, inv_day + 1, due_day + 240)
    month = target.astype("datetime64[D]").astype("datetime64[M]")
    next_month = (month + 1).astype("datetime64[D]").astype(np.int64)
    q_end = (np.isin(month.astype(np.int64) % 12, (2, 5, 8, 11)) & (next_month - target <= 10)
             & nz["deferrer"][c] & (rng.random(n) < 0.7))
    moved = np.where(q_end, next_month + rng.integers(0, 7, n), target)
    month = moved.astype("datetime64[D]").astype("datetime64[M]")
    mon = month.astype(np.int64) % 12 + 1
    dom = moved - month.astype("datetime64[D]").astype(np.int64) + 1
    holidays = (((mon == 12) & (dom >= 18)) | ((mon == 1) & (dom <= 5))) & (rng.random(n) < 0.6)
    moved = np.where(holidays, moved + rng.integers(3, 13, n), moved)
    truth = {
        "habit": np.array(BEHAVIOURS, dtype=object)[habit],
        "after_switch": after,
        "habit_days_late": np.round(mu, 1),
        "noise_days": np.round(noise, 1),
        "one_off_delay": np.array(_ONE_OFF + ("",), dtype=object)[reason],
        "one_off_delay_days": delay.astype(np.int64),
        "early_payment": early,
        "caught_up": caught,
        "seasonal_delay_days": (moved - target).astype(np.int64),
    }
    return _busday(moved), habit, truth


def _noisy_customer_truth(nz: dict, behaviour: np.ndarray) -> dict:
    """The truth columns the noisy profile adds to ``truth/customers``."""
    switched = nz["switch_day"] < _NEVER_DAY
    labels = np.array(BEHAVIOURS, dtype=object)
    return {
        "first_active_date": _dt(nz["join"]), "late_joiner": nz["late_join"],
        "last_active_date": _dt(nz["leave"]), "stopped_buying": nz["churn"],
        "habit_switch_date": np.where(switched, _dt(np.where(switched, nz["switch_day"], 0)),
                                      np.datetime64("NaT")).astype("datetime64[ns]"),
        "habit_switch": np.where(switched, np.where(nz["habit_after"] > behaviour, "worse", "better"),
                                 "").astype(object),
        "habit_before": labels[behaviour], "habit_after": labels[nz["habit_after"]],
        "habit_days_late_before": np.round(nz["mu"], 1),
        "habit_days_late_after": np.round(nz["mu_after"], 1),
        "habit_spread_days_before": np.round(nz["spread"], 1),
        "habit_spread_days_after": np.round(nz["spread_after"], 1),
        "quarter_end_deferrer": nz["deferrer"],
    }


def _limit_minor(monthly_minor, digits, fx_scale) -> np.ndarray:
    """A credit limit: 2.5 months of purchases, rounded up to 1,000 (x the currency's scale),
    at least 1,000; in minor units."""
    step = 1000 * fx_scale
    major = np.maximum(np.ceil(monthly_minor * 2.5 / 10.0 ** digits / step) * step, step)
    return np.rint(major * 10.0 ** digits).astype(np.int64)


def _master_history(rng, start, end, cust_ids, behaviour, digits, fx_scale, currency, segment,
                    collector, terms, expected_monthly, inv_cust, inv_day, amount, is_def,
                    default_day, c_def_wo, deter_start, onboard_day=None, worse_day=None) -> dict:
    """The customer master as it changed over time (``customer_changes``), and its values at
    the end (the ``customers`` row).

    - onboarding (before the history starts): every field recorded; the credit limit from
      the purchases expected then (a forecast, off by a lognormal factor), never from the
      sales that followed;
    - annual reviews on the onboarding anniversary: 2.5 months of the trailing 12 months'
      purchases (those in the ledger by the review), halved once the customer's payments
      have visibly deteriorated (after the slide starts, or within 180 days of a default);
      a row only when the limit changes;
    - suspensions 30 days after a default (the day of the ``suspension`` activity), closure
      (limit 0) on the bankruptcy write-off, and a few temporary credit holds of chronically
      late payers, lifted 15-60 days later;
    - a few segment changes and collector reassignments (the ``customers`` row holds the
      value since the change).

    ``onboard_day`` (-1: drawn as above) onboards customers that join during the history on
    their day (no change, hold or review before it); ``worse_day`` is the day a customer's
    payments turned worse (a habit switch), halving its reviews from 60 days after it.
    """
    n = len(cust_ids)
    rows_c, rows_d, rows_f, rows_v = [], [], [], []

    def add(cpos, days, fld, values):
        cpos = np.asarray(cpos, np.int64)
        if not len(cpos):
            return
        rows_c.append(cpos)
        rows_d.append(np.asarray(days, np.int64))
        rows_f.append(np.full(len(cpos), fld, dtype=object))
        rows_v.append(np.asarray(values, dtype=object))

    onboard = _busday(start - rng.integers(30, 6 * 365, n))
    # segment and collector before a change (the customers row holds the value after it)
    seg_move = (rng.random(n) < 0.04) & (segment != "Public Sector")
    others = np.array([s for s in SEGMENTS if s != "Public Sector"], dtype=object)
    old_seg = np.where(seg_move, others[rng.integers(0, len(others), n)], segment)
    seg_move &= old_seg != segment
    seg_day = _busday(rng.integers(start + 30, end - 29, n))
    col_move = rng.random(n) < 0.10
    old_col = np.where(col_move, np.array(COLLECTORS, dtype=object)[rng.integers(0, len(COLLECTORS), n)],
                       collector)
    col_move &= old_col != collector
    col_day = _busday(rng.integers(start + 30, end - 29, n))
    if onboard_day is not None:          # customers who joined during the history
        onboard = np.where(onboard_day >= 0, onboard_day, onboard)
        seg_move &= seg_day > onboard
        col_move &= col_day > onboard
        old_seg = np.where(seg_move, old_seg, segment)
        old_col = np.where(col_move, old_col, collector)
    # onboarding: every field, from what was known then
    forecast = expected_monthly * rng.lognormal(0.0, 0.5, n)
    limit0 = _limit_minor(forecast, digits, fx_scale)
    all_c = np.arange(n)
    add(all_c, onboard, "credit_limit", format_amount_array(limit0, digits))
    add(all_c, onboard, "status", np.full(n, "active", dtype=object))
    add(all_c, onboard, "segment", old_seg)
    add(all_c, onboard, "collector", old_col)
    add(all_c, onboard, "payment_terms_days", terms.astype(np.int64).astype(str).astype(object))
    add(np.flatnonzero(seg_move), seg_day[seg_move], "segment", segment[seg_move])
    add(np.flatnonzero(col_move), col_day[col_move], "collector", collector[col_move])

    # credit reviews on the anniversaries, from the purchases known by then
    suspend_day = np.where(is_def, _busday(np.where(is_def, default_day + 30, 0)),
                           np.iinfo(np.int64).max)
    by_cust = np.lexsort((inv_day, inv_cust))
    stride = np.int64(1 << 32)
    keys = inv_cust[by_cust].astype(np.int64) * stride + inv_day[by_cust]
    cum = np.r_[0, np.cumsum(amount[by_cust], dtype=np.int64)]
    rev_c, rev_d, rev_v = [], [], []
    for k in range(1, int((end - onboard.min()) // 365) + 2):
        day = _busday(onboard + 365 * k + rng.integers(-10, 11, n))
        ok = (day >= start + 90) & (day <= end) & (day < suspend_day)
        c = np.flatnonzero(ok)
        d = day[ok]
        hi = np.searchsorted(keys, c * stride + d, side="right")
        lo = np.searchsorted(keys, c * stride + d - 365, side="right")
        months = np.clip((d - start) / 30.4375, 3, 12)
        monthly = (cum[hi] - cum[lo]) / months
        worse = ((behaviour[c] == 3) & (d > deter_start[c] + 60)) | (
            is_def[c] & (d > default_day[c] - 180))
        if worse_day is not None:
            worse |= d - 60 > worse_day[c]
        monthly = np.where(worse, monthly * 0.5, monthly)
        rev_c.append(c)
        rev_d.append(d)
        rev_v.append(_limit_minor(monthly, digits[c], fx_scale[c]))
    # closure: the limit goes to 0 with the account
    closed = np.flatnonzero(is_def & (c_def_wo <= end))
    rev_c.append(closed)
    rev_d.append(c_def_wo[closed])
    rev_v.append(np.zeros(len(closed), np.int64))
    lc = np.r_[all_c, np.concatenate(rev_c)]
    ld = np.r_[onboard, np.concatenate(rev_d)]
    lv = np.r_[limit0, np.concatenate(rev_v)]
    o = np.lexsort((ld, lc))
    lc, ld, lv = lc[o], ld[o], lv[o]
    same_cust = np.r_[False, lc[1:] == lc[:-1]]
    changed = same_cust & np.r_[False, lv[1:] != lv[:-1]]
    add(lc[changed], ld[changed], "credit_limit", format_amount_array(lv[changed], digits[lc[changed]]))
    last = np.r_[lc[1:] != lc[:-1], True]
    limit_end = np.zeros(n, np.int64)
    limit_end[lc[last]] = lv[last]

    # status: suspensions, closures, temporary holds
    susp = np.flatnonzero(is_def & (suspend_day <= end))
    add(susp, suspend_day[susp], "status", np.full(len(susp), "suspended", dtype=object))
    add(closed, c_def_wo[closed], "status", np.full(len(closed), "closed", dtype=object))
    hold = np.flatnonzero((behaviour == 2) & (rng.random(n) < 0.15))
    hold_day = _busday(rng.integers(start + 60, end - 89, len(hold)))
    lift_day = _busday(hold_day + rng.integers(15, 61, len(hold)))
    if onboard_day is not None:
        ok = hold_day > onboard[hold]
        hold, hold_day, lift_day = hold[ok], hold_day[ok], lift_day[ok]
    add(hold, hold_day, "status", np.full(len(hold), "suspended", dtype=object))
    add(hold, lift_day, "status", np.full(len(hold), "active", dtype=object))
    status = np.full(n, "active", dtype=object)
    status[susp] = "suspended"
    status[closed] = "closed"

    c = np.concatenate(rows_c)
    d = np.concatenate(rows_d)
    f = np.concatenate(rows_f)
    v = np.concatenate(rows_v)
    rank = pd.Series(f).map({name: i for i, name in enumerate(
        ("credit_limit", "status", "segment", "collector", "payment_terms_days"))}).to_numpy()
    o = np.lexsort((rank, c, d))
    changes = pd.DataFrame({"customer_id": cust_ids[c[o]], "effective_date": _dt(d[o]),
                            "field": f[o], "value": v[o]})
    moves = pd.DataFrame({"customer_id": cust_ids[col_move], "day": col_day[col_move],
                          "old": old_col[col_move]})
    return {"changes": changes, "credit_limit_minor": limit_end, "status": status,
            "onboarding_day": onboard, "collector_moves": moves}


