"""The generator: customers, invoices, payments, disputes, credit memos and write-offs from
each customer's behaviour, with its truth."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..money import MINOR_UNITS
from .names import (
    _BANK_ACCOUNT,
    _BEHAVIOUR_P,
    _MARKETS,
    _NOISY_BEHAVIOUR_P,
    _REF_STYLE_P,
    _REF_STYLES,
    _SEPARATORS,
    _UNKNOWN_PAYERS,
    BEHAVIOURS,
    COLLECTORS,
    DISPUTE_REASONS,
    SALES_REPS,
    SEGMENTS,
    DemoConfig,
    _amount_not_unique,
    _busday,
    _customer_names,
    _days,
    _dt,
    _messy_names,
    _payer_variants,
    _reference_texts,
    _round_minor,
)
from .noisy import (
    _master_history,
    _noisy_customer_truth,
    _noisy_customers,
    _noisy_invoices,
    _noisy_pay_days,
)
from .tables import (
    _activities,
    _activity_collectors,
    _bureau,
    _financials,
    _fx_rates,
    _reserve_gl,
    _trade_references,
)


def generate(config: DemoConfig = DemoConfig()) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Generate a demo ledger.

    Returns
    -------
    (tables, truth)
        Canonical frames (money in ``*_minor`` int64, dates datetime64) for every table
        of DATA_MODEL.md, and the ground-truth frames.
    """
    rng = np.random.default_rng(config.seed)
    end = _days(config.end)
    start = _days(np.datetime64(config.end, "M") - np.timedelta64(config.months, "M"))

    noisy = config.profile == "noisy"
    # the noisy profile's own stream: every draw of the clean profile stays where it was
    rng3 = np.random.default_rng([config.seed, 21]) if noisy else None

    # ---- customers --------------------------------------------------------------------
    n_cust = (int(config.customers) if config.customers is not None
              else int(np.clip(config.invoices // 120, 12, 50_000)))
    behaviour = rng.choice(len(BEHAVIOURS), size=n_cust, p=_BEHAVIOUR_P)
    if noisy:
        behaviour = rng3.choice(len(BEHAVIOURS), size=n_cust, p=_NOISY_BEHAVIOUR_P)
    behaviour[: len(BEHAVIOURS)] = np.arange(len(BEHAVIOURS))  # every habit, even when tiny
    market = rng.choice(len(_MARKETS), size=n_cust, p=[m[3] for m in _MARKETS])
    market[:6] = [0, 2, 5, 1, 4, 3]          # every currency and language, even when tiny
    currency = np.array([_MARKETS[m][0] for m in market], dtype=object)
    country = np.array([_MARKETS[m][1] for m in market], dtype=object)
    language = np.array([_MARKETS[m][2] for m in market], dtype=object)
    fx_scale = np.array([_MARKETS[m][4] for m in market])
    tz = np.array([_MARKETS[m][5] for m in market], dtype=object)
    digits = np.array([MINOR_UNITS[c] for c in currency])
    names, suffixes = _customer_names(rng, n_cust, language, country)
    seg_p = np.array([[0.30, 0.35, 0.20, 0.15], [0.25, 0.40, 0.25, 0.10],
                      [0.10, 0.35, 0.50, 0.05], [0.15, 0.40, 0.40, 0.05],
                      [0.05, 0.30, 0.65, 0.00]])
    segment = np.array([SEGMENTS[rng.choice(4, p=seg_p[b])] for b in behaviour], dtype=object)
    terms = rng.choice([30, 30, 30, 45, 60, 15], size=n_cust)
    terms[segment == "Public Sector"] = 60
    size = rng.lognormal(0.0, 1.0, n_cust)                     # share of invoices
    ticket = rng.lognormal(np.log(2500), 0.8, n_cust)          # typical invoice, USD
    collector = np.array(COLLECTORS, dtype=object)[rng.integers(0, len(COLLECTORS), n_cust)]
    sales_rep = np.array(SALES_REPS, dtype=object)[rng.integers(0, len(SALES_REPS), n_cust)]
    cust_ids = np.array([f"C{i + 1:05d}" for i in range(n_cust)], dtype=object)
    parent = np.full(n_cust, None, dtype=object)
    has_parent = (rng.random(n_cust) < 0.05) & (np.arange(n_cust) > 10)
    for i in np.flatnonzero(has_parent):
        same = np.flatnonzero((currency[:i] == currency[i]))
        if len(same):
            parent[i] = cust_ids[same[int(rng.integers(0, len(same)))]]
    parent_names = [names[int(p[1:]) - 1] if p else None for p in parent]
    # defaulting customers go under between 35% and 85% of the way through the history
    default_day = np.full(n_cust, np.iinfo(np.int64).max, dtype=np.int64)
    is_def = behaviour == 4
    default_day[is_def] = start + (rng.uniform(0.35, 0.85, is_def.sum()) * (end - start)).astype(int)
    default_day[4] = start + int(0.5 * (end - start))           # the guaranteed one: mid-way
    deter_start = start + (rng.uniform(0.2, 0.7, n_cust) * (end - start)).astype(int)
    nz = None
    if noisy:
        nz = _noisy_customers(rng3, start, end, behaviour, segment)
        size, default_day, deter_start = nz["size"], nz["default_day"], nz["deter_start"]

    # ---- invoices ---------------------------------------------------------------------
    weights = size / size.sum()
    n_inv = int(config.invoices)
    if noisy:    # windows end 30 days after a default: no sale to move
        inv_cust, inv_day, weights = _noisy_invoices(rng3, nz, n_inv, end)
    else:
        inv_cust = rng.choice(n_cust, size=n_inv, p=weights)
        inv_day = _busday(rng.integers(start, end + 1, n_inv))
        # no new invoices to a customer 30 days after it defaulted: move them to others.
        # NB: default_day + 30 wraps around (int64) for customers that never default, so
        # this moves every invoice of those to a healthy customer drawn uniformly: the clean
        # profile's invoices per customer are near-Poisson, `size` is lost. Kept as is:
        # the clean profile's bytes rest on it (the noisy profile draws its own counts).
        late_sale = inv_day > default_day[inv_cust] + 30
        healthy = np.flatnonzero(~is_def)
        inv_cust[late_sale] = healthy[rng.integers(0, len(healthy), late_sale.sum())]
    keep = inv_day <= end
    inv_cust, inv_day = inv_cust[keep], inv_day[keep]
    order = np.lexsort((inv_cust, inv_day))
    inv_cust, inv_day = inv_cust[order], inv_day[order]
    n_inv = len(inv_day)
    inv_cur = currency[inv_cust]
    inv_digits = digits[inv_cust]
    major = ticket[inv_cust] * rng.lognormal(0.0, 0.6, n_inv) * fx_scale[inv_cust]
    major = np.maximum(major, 50.0 * fx_scale[inv_cust])
    amount = _round_minor(major * 10.0 ** inv_digits)
    due_day = inv_day + terms[inv_cust]
    year = inv_day.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    year_start = np.r_[True, year[1:] != year[:-1]]
    seq = np.arange(n_inv) - np.maximum.accumulate(np.where(year_start, np.arange(n_inv), 0)) + 1
    inv_ids = (pd.Series(year).astype(str) + "-" + pd.Series(seq).astype(str).str.zfill(6)
               ).radd("INV-").to_numpy(dtype=object)
    inv_seq_text = pd.Series(seq).astype(str).str.zfill(6).to_numpy(dtype=object)

    # ---- how each invoice gets paid (truth) ------------------------------------------
    b = behaviour[inv_cust]
    m4 = b == 4
    b_now = b                          # the habit in force when the invoice falls due
    if noisy:
        pay_day, b_now, noise_truth = _noisy_pay_days(rng3, nz, behaviour, inv_cust, inv_day,
                                                      due_day, amount)
    else:
        late = np.empty(n_inv)
        late[b == 0] = rng.normal(-2, 3, (b == 0).sum())
        late[b == 1] = rng.gamma(2.0, 7.0, (b == 1).sum())
        late[b == 2] = rng.normal(42, 20, (b == 2).sum())
        progress = np.clip((inv_day - deter_start[inv_cust]) / 240.0, 0, 1)
        m3 = b == 3
        late[m3] = rng.normal(2 + 60 * progress[m3], 6 + 15 * progress[m3])
        late[m4] = rng.gamma(2.0, 9.0, m4.sum())
        late = np.clip(np.rint(late), -20, 240).astype(np.int64)
        pay_day = _busday(np.maximum(due_day + late, inv_day + 1))

    credited = np.zeros(n_inv, np.int64)
    cm_day = np.zeros(n_inv, np.int64)
    cm_reason = np.full(n_inv, "", dtype=object)
    wo_amount = np.zeros(n_inv, np.int64)
    wo_day = np.zeros(n_inv, np.int64)
    wo_reason = np.full(n_inv, "", dtype=object)
    never_paid = np.zeros(n_inv, bool)

    # disputes
    disputed = rng.random(n_inv) < 0.03
    d_idx = np.flatnonzero(disputed)
    d_open = _busday(inv_day[d_idx] + rng.integers(3, 30, len(d_idx)))
    d_close = _busday(d_open + rng.integers(10, 90, len(d_idx)))
    d_res = rng.choice(4, size=len(d_idx), p=[0.40, 0.30, 0.20, 0.10])
    d_reason = np.array(DISPUTE_REASONS, dtype=object)[rng.integers(0, 6, len(d_idx))]
    d_amount = np.maximum((amount[d_idx] * rng.uniform(0.1, 1.0, len(d_idx))).astype(np.int64), 1)
    resolved = d_close <= end
    # credit memo resolutions credit the disputed amount on the close date
    cm_sel = resolved & (d_res == 0)
    credited[d_idx[cm_sel]] = d_amount[cm_sel]
    cm_day[d_idx[cm_sel]] = d_close[cm_sel]
    cm_reason[d_idx[cm_sel]] = d_reason[cm_sel]
    wo_sel = resolved & (d_res == 3)
    wo_amount[d_idx[wo_sel]] = amount[d_idx[wo_sel]]
    wo_day[d_idx[wo_sel]] = d_close[wo_sel]
    wo_reason[d_idx[wo_sel]] = "dispute"
    never_paid[d_idx[d_res == 3]] = True
    pay_day[d_idx] = np.maximum(pay_day[d_idx], _busday(d_close + rng.integers(2, 15, len(d_idx))))

    # returns: a credit memo for part of an undisputed invoice, soon after it
    returned = ~disputed & (rng.random(n_inv) < 0.01)
    r_idx = np.flatnonzero(returned)
    credited[r_idx] = np.maximum((amount[r_idx] * rng.uniform(0.1, 0.5, len(r_idx))).astype(np.int64), 1)
    cm_day[r_idx] = _busday(inv_day[r_idx] + rng.integers(5, 20, len(r_idx)))
    cm_reason[r_idx] = "returned_goods"
    pay_day[r_idx] = np.maximum(pay_day[r_idx], cm_day[r_idx])

    # defaults: what was not paid before the default is never paid, then written off
    c_def_wo = _busday(np.where(is_def, default_day + rng.integers(120, 200, n_cust), 0))
    dflt = m4 & (pay_day > default_day[inv_cust])
    never_paid |= dflt
    remaining_after_cm = amount - credited
    wo_due = dflt & (c_def_wo[inv_cust] <= end) & (wo_amount == 0)
    wo_amount[wo_due] = remaining_after_cm[wo_due]
    wo_day[wo_due] = c_def_wo[inv_cust[wo_due]]
    wo_reason[wo_due] = "bankruptcy"
    # credit memos dated after a default write-off are not issued
    late_cm = wo_due & (cm_day > wo_day) & (credited > 0)
    wo_amount[late_cm] += credited[late_cm]
    credited[late_cm] = 0
    cm_day[late_cm] = 0
    # recoveries: a quarter of the defaulted customers pay part back later
    recovering = is_def & (rng.random(n_cust) < 0.25)
    recovering[4] = True
    rec_day_c = _busday(c_def_wo + rng.integers(60, 200, n_cust))
    rec_sel = wo_due & (wo_reason == "bankruptcy") & recovering[inv_cust] & (rec_day_c[inv_cust] <= end)
    rec_amount = np.zeros(n_inv, np.int64)
    rec_amount[rec_sel] = np.maximum((wo_amount[rec_sel] * rng.uniform(0.1, 0.4, rec_sel.sum())
                                      ).astype(np.int64), 1)
    rec_day = np.where(rec_sel, rec_day_c[inv_cust], 0)

    # payments: partial (two instalments), the rest in full. Short payments are bank fees a
    # wire loses on the way, taken per receipt below; the three draws after `partial` only
    # keep every later draw of this stream where it was.
    to_pay = np.where(never_paid, 0, amount - credited)
    paying = to_pay > 0
    partial = paying & (rng.random(n_inv) < 0.05) & (to_pay > 100)
    _retired = (rng.random(n_inv), rng.random(n_inv), rng.integers(5, 26, n_inv))
    del _retired
    p1 = np.where(partial, (to_pay * rng.uniform(0.3, 0.7, n_inv)).astype(np.int64), 0)
    p1_day = np.where(partial, _busday(np.maximum(pay_day - rng.integers(10, 40, n_inv), inv_day + 1)), 0)
    p2 = np.where(paying, to_pay - p1, 0)
    # small short-paid balances are written off after 60-120 days (policy: at most 25.00)
    sb_day = _busday(pay_day + rng.integers(60, 120, n_inv))

    # ---- payment events -> receipts -----------------------------------------------------
    ev = pd.DataFrame({
        "inv": np.r_[np.flatnonzero(p1 > 0), np.flatnonzero(p2 > 0), np.flatnonzero(rec_amount > 0)],
        "day": np.r_[p1_day[p1 > 0], pay_day[p2 > 0], rec_day[rec_amount > 0]],
        "amount": np.r_[p1[p1 > 0], p2[p2 > 0], rec_amount[rec_amount > 0]],
        "kind": np.r_[np.full((p1 > 0).sum(), 1), np.full((p2 > 0).sum(), 2),
                      np.full((rec_amount > 0).sum(), 3)],
    })
    ev["cust"] = inv_cust[ev["inv"].to_numpy()]
    ev = ev[ev["day"] <= end].sort_values(["day", "cust", "inv", "kind"], kind="stable")
    ev = ev.reset_index(drop=True)
    rkey = ev["day"].to_numpy() * (n_cust + 1) + ev["cust"].to_numpy()
    rstart = np.r_[True, rkey[1:] != rkey[:-1]]
    ev["receipt"] = np.cumsum(rstart) - 1
    n_rec = int(rstart.sum())
    rec_first = np.flatnonzero(rstart)
    r_cust = ev["cust"].to_numpy()[rec_first]
    r_day = ev["day"].to_numpy()[rec_first]
    r_count = np.diff(np.r_[rec_first, len(ev)])
    overpay = rng.random(n_rec) < 0.005
    extra = np.where(overpay, _round_minor(rng.uniform(20, 500, n_rec) * fx_scale[r_cust]
                                           * 10.0 ** digits[r_cust]), 0)
    # unknown payers: misdirected cash nobody can apply
    n_unknown = max(2, int(n_rec * 0.003))
    u_day = _busday(rng.integers(start + 30, end + 1, n_unknown))
    u_day = np.where(u_day > end, end, u_day)
    u_cur = np.array(["USD", "EUR", "JPY"], dtype=object)[rng.choice(3, n_unknown, p=[0.7, 0.2, 0.1])]
    u_scale = np.where(u_cur == "JPY", 150.0, np.where(u_cur == "EUR", 0.9, 1.0))
    u_amount = _round_minor(rng.uniform(100, 5000, n_unknown) * u_scale
                            * np.where(u_cur == "JPY", 1, 100))
    all_day = np.r_[r_day, u_day]
    all_order = np.argsort(all_day, kind="stable")
    # receipt ids: the bank's reference, in date order
    rid_of = np.empty(n_rec + n_unknown, dtype=object)
    day_text = pd.Series(np.datetime_as_string(all_day[all_order].astype("datetime64[D]"))
                         ).str.replace("-", "", regex=False).str.slice(2)
    rid_of[all_order] = ("BK" + day_text + pd.Series(np.arange(1, n_rec + n_unknown + 1))
                         .astype(str).str.zfill(8)).to_numpy(dtype=object)
    receipt_ids = rid_of[:n_rec]
    unknown_ids = rid_of[n_rec:]

    # payer names and references: the draws of the first stream, in their order -------
    variants = _payer_variants(rng, names, suffixes, parent_names)
    v_choice = rng.choice(6, size=n_rec, p=[0.45, 0.20, 0.10, 0.10, 0.10, 0.05])
    form = rng.choice(7, size=n_rec, p=[0.30, 0.15, 0.12, 0.10, 0.13, 0.12, 0.08])
    blank_ref = form == 6
    advice_to_follow = rng.random(n_rec) < 0.5
    # lockbox receipts come with the customer id; wires mostly do not
    with_cust = rng.random(n_rec) < 0.35
    u_payer = np.array(_UNKNOWN_PAYERS, dtype=object)[rng.integers(0, len(_UNKNOWN_PAYERS), n_unknown)]

    # applications: posted for all but the last business days (and a few hard cases) ----
    backlog_from = int(np.busday_offset(np.datetime64(int(end), "D"), -(config.backlog_days - 1),
                                        roll="backward").astype(np.int64))
    # hard cases (no usable remittance) sit unapplied for 15-60 business days first
    hard = rng.random(n_rec) < 0.01
    ev_rec = ev["receipt"].to_numpy()
    ev_day = ev["day"].to_numpy()
    lag = np.where(hard[ev_rec], rng.integers(15, 61, size=len(ev)),
                   rng.choice([0, 0, 1, 1, 2], size=len(ev)))
    applied_day = _busday(np.busday_offset(ev_day.astype("datetime64[D]"), lag,
                                           roll="forward").astype(np.int64))
    posted = (ev_day < backlog_from) & (applied_day <= end)
    applied_day = np.minimum(applied_day, end)
    po_number = pd.Series(rng.integers(10000, 99999, n_inv)).astype(str).radd("PO-").to_numpy(dtype=object)

    # ---- the mess of real payments: a second random stream, so that every draw above (and
    # every table that does not show payments) stays what it was for the same seed
    rng2 = np.random.default_rng([config.seed, 9])
    invoiced = np.bincount(inv_cust, minlength=n_cust) > 0
    new_names, new_suffixes, shared_c = _messy_names(rng2, names, suffixes, language, country,
                                                     invoiced)
    new_parent_names = [new_names[int(p[1:]) - 1] if p else None for p in parent]
    redo = np.flatnonzero((np.array(new_names, dtype=object) != np.array(names, dtype=object))
                          | (np.array(new_parent_names, dtype=object)
                             != np.array(parent_names, dtype=object)))
    if len(redo):
        variants[redo] = _payer_variants(rng2, [new_names[i] for i in redo],
                                         [new_suffixes[i] for i in redo],
                                         [new_parent_names[i] for i in redo])
    names = new_names
    ev_inv = ev["inv"].to_numpy()
    ev_kind = ev["kind"].to_numpy()
    ev_amount = ev["amount"].to_numpy().copy()
    rec_last = np.r_[rec_first[1:], len(ev)] - 1
    has_partial = np.zeros(n_rec, bool)
    has_partial[ev_rec[ev_kind == 1]] = True
    is_recovery = np.zeros(n_rec, bool)
    is_recovery[ev_rec[ev_kind == 3]] = True
    plain = ~has_partial & ~is_recovery
    # bank fees: cross-border wires arrive short by 10-35 (x100 in JPY), taken from the last
    # invoice paid; the invoice keeps the fee open (small balances are written off later)
    wire = ~with_cust
    fee_units = rng2.integers(10, 36, n_rec)
    fee = fee_units * np.where(currency[r_cust] == "JPY", 100, 1) * 10 ** digits[r_cust]
    fee_p = np.where(country[r_cust] == "US", 0.025, 0.12)
    fee_receipt = plain & wire & (rng2.random(n_rec) < fee_p) & (ev_amount[rec_last] > 2 * fee)
    fee = np.where(fee_receipt, fee, 0)
    ev_amount[rec_last[fee_receipt]] -= fee[fee_receipt]
    short = np.zeros(n_inv, bool)
    short_amt = np.zeros(n_inv, np.int64)
    short[ev_inv[rec_last[fee_receipt]]] = True
    short_amt[ev_inv[rec_last[fee_receipt]]] = fee[fee_receipt]
    small = short & (short_amt <= 25 * fx_scale[inv_cust] * 10.0 ** inv_digits)
    sb_sel = small & (sb_day <= end) & (wo_amount == 0)
    wo_amount[sb_sel] = short_amt[sb_sel]
    wo_day[sb_sel] = sb_day[sb_sel]
    wo_reason[sb_sel] = "small_balance"
    # overpayments quote their invoices and pay more: the excess stays on account
    extra = np.where(plain & ~fee_receipt, extra, 0)
    more = plain & ~fee_receipt & (extra == 0) & (rng2.random(n_rec) < 0.032)
    extra = np.where(more, _round_minor(rng2.uniform(20, 500, n_rec) * fx_scale[r_cust]
                                        * 10.0 ** digits[r_cust]), extra)
    r_amount = (np.add.reduceat(ev_amount, rec_first) if n_rec else np.zeros(0, np.int64)) + extra
    # no reference: a single invoice only when its amount is unique for the customer
    multi = r_count > 1
    no_ref = (blank_ref | (multi & (rng2.random(n_rec) < 0.22))) & plain & ~fee_receipt & (extra == 0)
    no_ref &= ~_amount_not_unique(np.flatnonzero(no_ref & ~multi), r_cust, r_day, r_amount,
                                  ev_inv[rec_first], inv_cust, inv_day, amount - credited,
                                  np.where(never_paid, np.iinfo(np.int64).max, pay_day), n_rec)
    style = rng2.choice(len(_REF_STYLES), size=n_rec, p=_REF_STYLE_P)
    sep = rng2.choice(len(_SEPARATORS), size=n_rec, p=[p for _, _, p in _SEPARATORS])
    lower_prefix = rng2.random(n_rec) < 0.5
    refs = _reference_texts(style, sep, lower_prefix, ev_rec, ev_inv, rec_first, r_count,
                            inv_ids, inv_seq_text, po_number)
    refs = np.where(no_ref, np.where(advice_to_follow, "REMITTANCE ADVICE TO FOLLOW", ""), refs)
    refs = np.where(is_recovery, "SETTLEMENT PER AGREEMENT", refs)
    # a wire carries 35 characters of the payer's name (SWIFT and camt name lines)
    payer = variants[r_cust, v_choice]
    truncated = wire & (pd.Series(payer).str.len().to_numpy() > 35)
    payer[truncated] = pd.Series(payer[truncated]).str.slice(0, 35).str.rstrip().to_numpy(dtype=object)
    kind = np.select([is_recovery, has_partial, fee_receipt, extra > 0, no_ref & ~multi,
                      no_ref & multi, multi],
                     ["recovery", "partial_ref", "bank_fee", "overpayment_ref",
                      "no_ref_unique_amount", "several_no_ref", "several_invoices_ref"],
                     "one_invoice_ref").astype(object)
    ref_form = np.where(no_ref | is_recovery, "none",
                        np.array(_REF_STYLES, dtype=object)[style]).astype(object)
    ref_sep = np.where(multi & ~no_ref & ~is_recovery,
                       np.array([n for _, n, _ in _SEPARATORS], dtype=object)[sep], "").astype(object)

    receipts = pd.DataFrame({
        "receipt_id": np.r_[receipt_ids, unknown_ids],
        "receipt_date": _dt(np.r_[r_day, u_day]),
        "amount_minor": np.r_[r_amount, u_amount].astype(np.int64),
        "payer_name": np.r_[payer, u_payer],
        "reference": np.r_[refs, np.full(n_unknown, "", dtype=object)],
        "customer_id": np.r_[np.where(with_cust, cust_ids[r_cust], None),
                             np.full(n_unknown, None, dtype=object)],
        "currency": np.r_[currency[r_cust], u_cur],
        "bank_account": np.r_[[_BANK_ACCOUNT[c] for c in currency[r_cust]],
                              [_BANK_ACCOUNT[c] for c in u_cur]],
        "value_date": _dt(np.r_[r_day, u_day]),
    })
    receipts = receipts.iloc[np.argsort(receipts["receipt_id"].to_numpy(dtype=str), kind="stable")
                             ].reset_index(drop=True)
    true_apps = pd.DataFrame({
        "receipt_id": receipt_ids[ev_rec], "invoice_id": inv_ids[ev_inv],
        "amount_minor": ev_amount, "currency": inv_cur[ev_inv],
        "receipt_date": _dt(ev_day), "applied_date": _dt(applied_day), "posted": posted,
        "kind": np.array(["partial", "payment", "recovery"], dtype=object)[ev_kind - 1],
    })
    applications = true_apps.loc[posted, ["receipt_id", "invoice_id", "amount_minor", "applied_date",
                                          "currency"]].reset_index(drop=True)

    # ---- invoices, credit memos, disputes, write-offs ----------------------------------
    invoices = pd.DataFrame({
        "invoice_id": inv_ids, "customer_id": cust_ids[inv_cust], "invoice_date": _dt(inv_day),
        "due_date": _dt(due_day), "amount_minor": amount, "currency": inv_cur,
        "po_number": po_number,
    })
    cm_idx = np.flatnonzero((credited > 0) & (cm_day <= end))
    credit_memos = pd.DataFrame({
        "credit_memo_id": [f"CM-{i + 1:07d}" for i in range(len(cm_idx))],
        "customer_id": cust_ids[inv_cust[cm_idx]], "date": _dt(cm_day[cm_idx]),
        "amount_minor": credited[cm_idx], "currency": inv_cur[cm_idx],
        "invoice_id": inv_ids[cm_idx], "reason": cm_reason[cm_idx],
    })
    credit_memos = credit_memos.sort_values(["date", "credit_memo_id"], kind="stable").reset_index(drop=True)
    credit_memos["credit_memo_id"] = [f"CM-{i + 1:07d}" for i in range(len(credit_memos))]
    disputes = pd.DataFrame({
        "dispute_id": [f"D-{i + 1:06d}" for i in range(len(d_idx))],
        "invoice_id": inv_ids[d_idx], "opened_date": _dt(d_open), "reason_code": d_reason,
        "amount_minor": np.where(d_res == 3, amount[d_idx], d_amount), "currency": inv_cur[d_idx],
        "closed_date": np.where(resolved, _dt(d_close), np.datetime64("NaT")).astype("datetime64[ns]"),
        "resolution": np.where(resolved, np.array(["credit_memo", "paid", "withdrawn", "written_off"],
                                                  dtype=object)[d_res], None),
    })
    open_d = disputes["opened_date"].to_numpy() <= _dt(np.array([end]))[0]
    disputes = disputes[open_d].reset_index(drop=True)
    wo_idx = np.flatnonzero((wo_amount > 0) & (wo_day <= end))
    rec_idx = np.flatnonzero(rec_amount > 0)
    approvers = np.where(wo_reason[wo_idx] == "small_balance", "collections.manager", "controller")
    write_offs = pd.DataFrame({
        "invoice_id": np.r_[inv_ids[wo_idx], inv_ids[rec_idx]],
        "date": _dt(np.r_[wo_day[wo_idx], rec_day[rec_idx]]),
        "amount_minor": np.r_[wo_amount[wo_idx], -rec_amount[rec_idx]],
        "reason": np.r_[wo_reason[wo_idx], np.full(len(rec_idx), "recovery", dtype=object)],
        "currency": np.r_[inv_cur[wo_idx], inv_cur[rec_idx]],
        "approved_by": np.r_[approvers, np.full(len(rec_idx), "controller", dtype=object)],
    }).sort_values(["date", "invoice_id"], kind="stable").reset_index(drop=True)

    # ---- activities --------------------------------------------------------------------
    activities, promises = _activities(rng, config, inv_ids, inv_cust, cust_ids, collector, tz,
                                       due_day, pay_day, never_paid, amount - credited, inv_cur,
                                       b_now, d_idx, d_open, default_day, is_def, end)

    # ---- the customer master's history and the customers table (values at the end) -----
    # its own random stream, so every other table stays what it was for the same seed
    monthly_sales = pd.Series(amount).groupby(inv_cust).sum().reindex(range(n_cust), fill_value=0
                                                                       ).to_numpy() / config.months
    expected_monthly = (weights * config.invoices / config.months * ticket * fx_scale
                        * np.exp(0.18) * 10.0 ** digits)          # what sales expected, minor
    if noisy:                      # a customer buys only while active: its months, not all
        active_months = (nz["leave"] - nz["join"] + 1) / 30.4375
        expected_monthly = (weights * config.invoices / active_months * ticket * fx_scale
                            * np.exp(0.18) * 10.0 ** digits)
    master = _master_history(
        np.random.default_rng([config.seed, 13]), start, end, cust_ids, behaviour, digits,
        fx_scale, currency, segment, collector, terms, expected_monthly, inv_cust, inv_day, amount,
        is_def, default_day, c_def_wo, deter_start,
        onboard_day=nz["onboard_day"] if noisy else None,
        worse_day=nz["worse_day"] if noisy else None)
    status = master["status"]
    activities = _activity_collectors(activities, master["collector_moves"])
    customers = pd.DataFrame({
        "customer_id": cust_ids, "name": names, "currency": currency,
        "payment_terms_days": terms.astype(np.int64), "country": country, "segment": segment,
        "collector": collector, "sales_rep": sales_rep,
        "credit_limit_minor": master["credit_limit_minor"],
        "parent_id": parent, "status": status, "language": language,
    })

    fx_rates = _fx_rates(rng, start, end)
    financials = _financials(rng, cust_ids, behaviour, monthly_sales * 12 / 10.0 ** digits,
                             fx_scale, digits, currency, start, end)
    bureau = _bureau(rng, cust_ids, behaviour, default_day, deter_start, monthly_sales, digits,
                     currency, start, end,
                     switch=(nz["switch_day"], nz["habit_after"]) if noisy else None)
    trade_refs = _trade_references(rng, cust_ids, behaviour, monthly_sales, digits, currency, end)
    reserve_gl = _reserve_gl(invoices, applications, credit_memos, write_offs, fx_rates, start, end)

    tables = {
        "customers": customers, "invoices": invoices, "credit_memos": credit_memos,
        "receipts": receipts, "applications": applications, "disputes": disputes,
        "write_offs": write_offs, "activities": activities, "financials": financials,
        "bureau": bureau, "trade_references": trade_refs, "fx_rates": fx_rates,
        "reserve_gl": reserve_gl, "customer_changes": master["changes"],
    }
    final_day = np.where(never_paid, np.iinfo(np.int64).min, pay_day)
    truth_invoices = pd.DataFrame({
        "invoice_id": inv_ids, "customer_id": cust_ids[inv_cust], "currency": inv_cur,
        "behaviour": np.array(BEHAVIOURS, dtype=object)[b],
        "true_pay_date": np.where(never_paid, np.datetime64("NaT"), _dt(pay_day)).astype("datetime64[ns]"),
        "days_late": np.where(never_paid, np.nan, pay_day - due_day),
        "paid_by_end": ~never_paid & (final_day <= end),
        "never_paid": never_paid, "disputed": disputed, "partial": partial, "short_paid": short,
        "short_amount_minor": short_amt,
    })
    truth_customers = pd.DataFrame({
        "customer_id": cust_ids, "behaviour": np.array(BEHAVIOURS, dtype=object)[behaviour],
        "defaulted": is_def & (default_day <= end),
        "default_date": np.where(is_def, _dt(np.where(is_def, default_day, 0)), np.datetime64("NaT")
                                 ).astype("datetime64[ns]"),
        "write_off_date": np.where(is_def & (c_def_wo <= end), _dt(np.where(is_def, c_def_wo, 0)),
                                   np.datetime64("NaT")).astype("datetime64[ns]"),
        "recovering": recovering, "onboarding_date": _dt(master["onboarding_day"]),
    })
    truth_receipts = pd.DataFrame({
        "receipt_id": np.r_[receipt_ids, unknown_ids],
        "customer_id": np.r_[cust_ids[r_cust], np.full(n_unknown, None, dtype=object)],
        "currency": np.r_[currency[r_cust], u_cur],
        "kind": np.r_[kind, np.full(n_unknown, "unknown_payer", dtype=object)],
        "payer_variant": np.r_[np.array(["exact", "upper", "abbreviation", "typo", "payment_from",
                                         "parent_or_truncated"], dtype=object)[v_choice],
                               np.full(n_unknown, "unknown", dtype=object)],
        "shared_name": np.r_[shared_c[r_cust], np.zeros(n_unknown, bool)],
        "truncated": np.r_[truncated, np.zeros(n_unknown, bool)],
        "reference_form": np.r_[ref_form, np.full(n_unknown, "none", dtype=object)],
        "reference_separator": np.r_[ref_sep, np.full(n_unknown, "", dtype=object)],
        "overpayment_minor": np.r_[extra, np.zeros(n_unknown, np.int64)],
        "bank_fee_minor": np.r_[fee, np.zeros(n_unknown, np.int64)].astype(np.int64),
        "invoices_paid": np.r_[r_count, np.zeros(n_unknown, np.int64)],
    }).sort_values("receipt_id", kind="stable").reset_index(drop=True)
    if noisy:
        truth_invoices = truth_invoices.assign(**noise_truth)
        truth_customers = truth_customers.assign(**_noisy_customer_truth(nz, behaviour))
    truth = {"applications": true_apps.drop(columns=["kind"]).assign(kind=true_apps["kind"]),
             "invoices": truth_invoices, "customers": truth_customers,
             "receipts": truth_receipts, "promises": promises}
    return tables, truth


