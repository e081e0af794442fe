"""A seeded synthetic AR ledger with ground truth, from tiny (tests) to millions of invoices.

The generator draws each customer's payment habit (prompt, slow, chronically late,
deteriorating, defaulting to write-off), then each invoice's fate (disputes and credit
memos, returns, partial payments, write-offs and recoveries), groups the payments a
customer makes on one day into one receipt (so one receipt often pays several invoices),
and writes what a bank and an ERP would show. The bank side has the mess of real
payments: sister companies whose names differ only by the legal suffix, names that share
words, payer names upper-cased, misspelt, "PAYMENT FROM ..." and cut at a wire's 35
characters; invoice numbers as people type them (``INV 4012/4015``, ``INV2026004012``,
``#004012``, lower case, PO numbers mixed in, lists joined by spaces, commas, slashes or
semicolons) or none; wires short by a bank fee; overpayments; unknown payers; and the
last days' cash not yet applied.

The customer master has a history (``customer_changes``): each customer recorded at
onboarding (credit limit from the purchases expected then), credit reviews on the
anniversaries from the trailing year's purchases, suspensions and closures on their dates,
temporary credit holds, segment changes and collector reassignments; the ``customers`` row
holds the values in force at the end. It draws from its own stream (``[seed, 13]``).

``truth/`` keeps what really happened: the true receipt -> invoice applications, each
receipt's kind, each invoice's true pay date (even after the ledger's end), which
customers defaulted and when, which promises were kept. Everything is vectorised with
numpy; the same seed gives the same ledger, byte for byte. The payment noise draws from
a second stream (``[seed, 9]``), so the tables it does not touch are the same as without it.

Two profiles (``DemoConfig.profile``). ``"clean"`` (the default, what ``make report`` runs
on) keeps each customer's habit for good: customers are consistent, histories long,
outcomes learnable. ``"noisy"`` pays as real ledgers do (see ``_noisy_customers`` and
``_noisy_pay_days``): habits differ from customer to customer inside each kind, some
customers switch habits on a date (a prompt payer turns slow, a late payer improves after
a collections push), one-off delays (a lost invoice, an approval loop, a holiday) and
early payments hit otherwise steady payers, quarter ends and December slow payments down,
invoices per customer are skewed (many thin customers, a few large ones; some join late,
some stop buying), few customers default, and every invoice carries noise no ledger
column explains. Its draws come from a stream of their own (``[seed, 21]``): the clean
profile stays what it was, byte for byte; the truth files record every noise term.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .io.writer import make_temp_dir, replace_dir, write_frame, write_table
from .money import MINOR_UNITS, convert, format_amount_array, round_to_minor

__all__ = ["DemoConfig", "generate", "write_demo", "BEHAVIOURS", "PROFILES"]

BEHAVIOURS = ("prompt", "slow", "chronic", "deteriorating", "defaulting")
_BEHAVIOUR_P = np.array([0.36, 0.30, 0.14, 0.12, 0.08])
PROFILES = ("clean", "noisy")
# the noisy profile's book: most customers pay on habit, few slide, few default
_NOISY_BEHAVIOUR_P = np.array([0.48, 0.30, 0.12, 0.08, 0.02])
SEGMENTS = ("Enterprise", "Mid-Market", "Small Business", "Public Sector")
COLLECTORS = ("Avery Chen", "Blake Okafor", "Carmen Ruiz", "Dana Kowalski", "Eli Haddad",
              "Farah Nasser")
SALES_REPS = ("J. Morgan", "K. Patel", "L. Svensson", "M. Rossi", "N. Tanaka")
DISPUTE_REASONS = ("pricing", "damaged_goods", "not_received", "duplicate_billing",
                   "quantity_short", "returned_goods")
# (currency, country, language, weight, amount scale vs USD, timezone offset)
_MARKETS = (("USD", "US", "en", 0.55, 1.0, "-05:00"), ("USD", "MX", "es", 0.10, 1.0, "-06:00"),
            ("EUR", "DE", "en", 0.10, 0.9, "+01:00"), ("EUR", "ES", "es", 0.08, 0.9, "+01:00"),
            ("EUR", "PT", "pt", 0.07, 0.9, "+00:00"), ("JPY", "JP", "en", 0.10, 150.0, "+09:00"))
_BANK_ACCOUNT = {"USD": "US-OPER-0001", "EUR": "EU-OPER-0002", "JPY": "JP-OPER-0003"}
_WORDS_A = ("Acme", "Apex", "Atlas", "Beacon", "Blue", "Bright", "Cedar", "Coastal", "Crown",
            "Delta", "Eagle", "Evergreen", "First", "Global", "Golden", "Granite", "Harbor",
            "Horizon", "Iron", "Keystone", "Lakeside", "Liberty", "Maple", "Meridian", "Metro",
            "Northern", "Oak", "Pacific", "Peak", "Pioneer", "Prime", "Red", "Ridge", "River",
            "Silver", "Summit", "Sun", "Tri-State", "United", "Valley", "Vista", "West")
_WORDS_B = ("Analytics", "Builders", "Chemicals", "Components", "Construction", "Dairy",
            "Distribution", "Electric", "Engineering", "Fabrication", "Farms", "Foods",
            "Freight", "Hardware", "Health", "Hospitality", "Industries", "Logistics",
            "Machining", "Manufacturing", "Marine", "Medical", "Metals", "Motors", "Packaging",
            "Paper", "Plastics", "Power", "Printing", "Retail", "Robotics", "Services",
            "Software", "Supply", "Systems", "Textiles", "Tools", "Trading", "Transport",
            "Wholesale")
_SUFFIX = {"en": ("Inc.", "LLC", "Corporation", "Ltd", "Co.", "Group"),
           "es": ("S.A. de C.V.", "S.L.", "S.A."), "pt": ("Ltda.", "S.A.", "Lda.")}
_SUFFIX_DE = ("GmbH", "AG", "KG")
_SUFFIX_JP = ("K.K.", "Co., Ltd.")
_ABBREV = {"Corporation": "CORP", "Incorporated": "INC", "Inc.": "INC", "Limited": "LTD",
           "Ltd": "LTD", "Co.": "CO", "Company": "CO", "Group": "GRP", "Ltda.": "LTDA",
           "Co., Ltd.": "CO LTD", "S.A. de C.V.": "SA DE CV", "S.A.": "SA", "S.L.": "SL",
           "Lda.": "LDA", "GmbH": "GMBH", "LLC": "LLC", "AG": "AG", "KG": "KG", "K.K.": "KK"}
_UNKNOWN_PAYERS = ("ZENITH HOLDINGS LTD", "QUICKPAY SERVICES", "J SMITH", "NORTHWIND TRADERS",
                   "CONTOSO PAYMENTS", "FABRIKAM AG", "LITWARE INC", "TAILSPIN TOYS")


@dataclass(frozen=True)
class DemoConfig:
    """Size and shape of a demo ledger.

    Parameters
    ----------
    invoices : int
        Approximate number of invoices (the exact count is within a few percent).
    seed : int
        Every random draw comes from ``numpy.random.default_rng(seed)``.
    end : str
        The ledger's last business date (ISO). Data covers ``months`` months up to it.
    months : int
        Length of the history.
    backlog_days : int
        Receipts of the last business days that are not yet applied (the cash-app queue).
    customers : int or None
        Number of customers; None derives it from ``invoices`` (one per 120 invoices, 12 to
        50,000). With ``profile="noisy"`` every customer has at least one invoice, so it is
        at most ``invoices``.
    profile : {"clean", "noisy"}
        ``"clean"``: each customer keeps the habit it was drawn with (learnable, the
        default). ``"noisy"``: payment behaviour as noisy as a real ledger's, with its truth
        recorded (habit switches, one-off delays, early payments, seasonal slowdowns,
        thin and late-joining customers, few defaults, per-invoice noise).
    """

    invoices: int = 20_000
    seed: int = 7
    end: str = "2026-10-30"
    months: int = 24
    backlog_days: int = 3
    customers: int | None = None
    profile: str = "clean"

    def __post_init__(self):
        if self.invoices < 50:
            raise ValueError(f"invoices must be at least 50; got {self.invoices}.")
        if self.months < 6:
            raise ValueError(f"months must be at least 6; got {self.months}.")
        if self.customers is not None and not 6 <= self.customers <= self.invoices:
            raise ValueError(f"customers must be between 6 and invoices ({self.invoices}); "
                             f"got {self.customers}.")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {self.profile!r}.")


def _days(d) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _dt(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[ns]")


def _busday(days: np.ndarray) -> np.ndarray:
    """Roll day numbers forward to the next weekday."""
    d = np.asarray(days, dtype="int64").astype("datetime64[D]")
    return np.busday_offset(d, 0, roll="forward").astype(np.int64)


def _round_minor(x: np.ndarray) -> np.ndarray:
    return np.maximum(np.rint(x), 1).astype(np.int64)


# --------------------------------------------------------------------------- customers

def _customer_names(rng, n, language, country):
    a = rng.integers(0, len(_WORDS_A), n)
    b = rng.integers(0, len(_WORDS_B), n)
    names, suffixes, seen = [], [], set()
    for i in range(n):
        pool = _suffix_pool(language[i], country[i])
        suffix = pool[int(rng.integers(0, len(pool)))]
        base = f"{_WORDS_A[a[i]]} {_WORDS_B[b[i]]}"
        k = 2
        while base in seen:
            base = f"{_WORDS_A[a[i]]} {_WORDS_B[b[i]]} {k}"
            k += 1
        seen.add(base)
        names.append(f"{base} {suffix}")
        suffixes.append(suffix)
    return names, suffixes


def _payer_variants(rng, names, suffixes, parent_names):
    """Six spellings a bank statement may show for each customer."""
    out = []
    for name, suffix, parent in zip(names, suffixes, parent_names):
        base = name[: -len(suffix)].strip()
        upper = name.upper()
        abbrev = f"{base.upper().replace('-', ' ')} {_ABBREV.get(suffix, suffix.upper())}"
        letters = list(base)
        j = int(rng.integers(1, max(2, len(letters) - 2)))
        if letters[j].isalpha() and letters[j + 1].isalpha():
            letters[j], letters[j + 1] = letters[j + 1], letters[j]
        else:
            letters.insert(j, letters[j])
        typo = "".join(letters).upper()
        payment_from = f"PAYMENT FROM {upper}"
        other = (parent.upper() if parent else upper[:16].rstrip())
        out.append((name, upper, abbrev, typo, payment_from, other))
    return np.array(out, dtype=object)


_LONGER = ("International", "Holdings", "North America", "Solutions", "Enterprises",
           "Worldwide", "Technologies", "Industrial Services")
_POPULAR = ("Foods", "Supply", "Logistics")


def _suffix_pool(language: str, country: str) -> tuple[str, ...]:
    return _SUFFIX_DE if country == "DE" else _SUFFIX_JP if country == "JP" else _SUFFIX[language]


def _name_key(base: str) -> str:
    """A base name as a matcher compares it: upper case, letters and digits."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in base.upper()).split())


def _messy_names(rng, names, suffixes, language, country, invoiced):
    """Customer names as a real master holds them.

    A fifth of the names grow a word (many then pass a bank's 35 characters), a fifth take
    a popular second word (many "<word> Foods ..."), and about 18 % of the customers are
    "sister" companies, in pairs: one takes the base name of another customer of the same
    country with another legal suffix ("Acme Foods Inc." / "Acme Foods LLC"), both
    invoiced. Returns the names, their suffixes and whether each customer's base name
    (suffix dropped) is shared.
    """
    n = len(names)
    bases = [nm[: -len(sx)].strip() for nm, sx in zip(names, suffixes)]
    suffixes = list(suffixes)
    taken = {_name_key(b) for b in bases}

    def rename(i, cand):
        if _name_key(cand) not in taken:
            taken.discard(_name_key(bases[i]))
            taken.add(_name_key(cand))
            bases[i] = cand

    popular, pick = rng.random(n) < 0.2, rng.integers(0, len(_POPULAR), n)
    longer, word = rng.random(n) < 0.2, rng.integers(0, len(_LONGER), n)
    for i in range(n):
        w = bases[i].split(" ")
        if popular[i] and len(w) == 2:
            rename(i, f"{w[0]} {_POPULAR[pick[i]]}")
        if longer[i] and _LONGER[word[i]].split(" ")[0] not in w:
            rename(i, f"{bases[i]} {_LONGER[word[i]]}")
    want = max(1, round(0.09 * n))
    used = np.zeros(n, bool)
    made = 0
    for j in rng.permutation(np.flatnonzero(invoiced)):
        if made >= want:
            break
        if used[j]:
            continue
        pool = _suffix_pool(language[j], country[j])
        peers = np.flatnonzero(invoiced & ~used & (country == country[j]) & (np.arange(n) != j))
        if not len(peers):
            continue
        i = int(peers[int(rng.integers(0, len(peers)))])
        others = [x for x in pool if x != suffixes[i]]
        taken.discard(_name_key(bases[j]))
        bases[j] = bases[i]
        suffixes[j] = others[int(rng.integers(0, len(others)))]
        used[i] = used[j] = True
        made += 1
    keys = pd.Series([_name_key(b) for b in bases])
    shared = keys.duplicated(keep=False).to_numpy()
    return [f"{b} {sx}" for b, sx in zip(bases, suffixes)], suffixes, shared


def _amount_not_unique(cand, r_cust, r_day, r_amount, r_inv, inv_cust, inv_day, open_amount,
                       settle_day, n_rec) -> np.ndarray:
    """Receipts (of ``cand``) whose amount is also what another invoice of the customer,
    open on the receipt's day, owes: no reference would leave them ambiguous."""
    out = np.zeros(n_rec, bool)
    if not len(cand):
        return out
    left = pd.DataFrame({"r": cand, "cust": r_cust[cand], "amt": r_amount[cand],
                         "day": r_day[cand], "inv": r_inv[cand]})
    right = pd.DataFrame({"cust": inv_cust, "amt": open_amount, "iday": inv_day,
                          "settle": settle_day, "other": np.arange(len(inv_cust))})
    m = left.merge(right, on=["cust", "amt"])
    m = m[(m["other"] != m["inv"]) & (m["iday"] <= m["day"]) & (m["settle"] >= m["day"])]
    out[m["r"].to_numpy()] = True
    return out


# how people type invoice numbers (INV-2026-004012), and how they join several
_REF_STYLES = ("invoice_id", "lower_id", "no_separators", "inv_short", "hash_seq",
               "run_together", "po_and_inv", "po_only")
_REF_STYLE_P = [0.30, 0.06, 0.08, 0.18, 0.12, 0.09, 0.13, 0.04]
_SEPARATORS = ((" ", "space", 0.25), (", ", "comma", 0.20), (",", "comma", 0.10),
               ("/", "slash", 0.20), ("; ", "semicolon", 0.15), (";", "semicolon", 0.10))


def _reference_texts(style, sep, lower_prefix, ev_rec, ev_inv, rec_first, r_count, inv_ids,
                     inv_seq_text, po_number) -> np.ndarray:
    """Each receipt's remittance text naming all the invoices it pays, in its style:
    ``INV-2026-004012``, ``inv-2026-004012``, ``INV2026004012``, ``INV 4012/4015`` (leading
    zeros dropped), ``#004012``, ``PMTINV2026004012 THANK YOU``, ``PO-12345 INV 4012``, or
    the PO number alone; lists joined by spaces, commas, slashes or semicolons."""
    ids = pd.Series(inv_ids[ev_inv])
    seq = pd.Series(inv_seq_text[ev_inv])
    short = seq.str.lstrip("0")
    glued = "INV" + ids.str.slice(4, 8) + seq
    po = pd.Series(po_number[ev_inv])
    s = style[ev_rec]
    tokens = np.select([s == 0, s == 1, s == 2, s == 3, s == 4, s == 5, s == 6],
                       [ids, ids.str.lower(), glued, short, "#" + seq, glued,
                        po + " INV " + short], po).astype(object)
    text = tokens[rec_first].copy()
    many = np.flatnonzero(r_count > 1)
    tok, starts = tokens.tolist(), rec_first[many]
    text[many] = [_SEPARATORS[k][0].join(tok[a:a + n])
                  for k, a, n in zip(sep[many], starts, r_count[many])]
    prefix = np.where(style == 3, np.where(lower_prefix, "inv ", "INV "),
                      np.where(style == 5, "PMT", "")).astype(object)
    suffix = np.where(style == 5, " THANK YOU", "").astype(object)
    return (prefix + text + suffix).astype(object)


# --------------------------------------------------------------------------- generator

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


# --------------------------------------------------------------------------- the noisy profile

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


def write_demo(out: str | Path, config: DemoConfig = DemoConfig(), fmt: str = "parquet",
               progress: bool = False) -> dict:
    """Generate and write a demo ledger to ``out`` (tables) and ``out/truth`` (ground truth).

    The folder is written to a temporary sibling and renamed into place: a crash leaves
    no half-written ledger. Returns a summary (row counts, seconds).
    """
    import time

    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    tables, truth = generate(config)
    t_gen = time.perf_counter() - t0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = make_temp_dir(out)
    try:
        for name, df in tqdm(tables.items(), desc="writing demo ledger", disable=not progress):
            write_table(df, name, tmp, fmt)
        (tmp / "truth").mkdir()
        for name, df in truth.items():
            write_frame(_truth_file_frame(df), tmp / "truth" / f"{name}.{fmt}")
        _write_bank_backlog(tables, tmp / "bank")
        # the options added later are named only when set: a default demo's files stay as
        # they were, byte for byte
        cfg = {k: v for k, v in config.__dict__.items()
               if not (k == "customers" and v is None or k == "profile" and v == "clean")}
        meta = {"generator": "workbench.demo", "config": cfg, "format": fmt,
                "rows": {k: int(len(v)) for k, v in tables.items()}}
        readme = _TRUTH_README + (_TRUTH_README_NOISY if config.profile == "noisy" else "")
        (tmp / "truth" / "README.md").write_text(readme, encoding="utf-8")
        (tmp / "demo.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    meta["seconds_generate"] = round(t_gen, 3)
    meta["seconds_total"] = round(time.perf_counter() - t0, 3)
    return meta


def _write_bank_backlog(tables: dict, folder: Path) -> None:
    """The bank statements of the receipts not yet applied (the cash-application queue):
    USD as camt.053, EUR as BAI2, JPY as MT940, as a bank would send them."""
    from .io.bank_writers import write_bai2, write_camt053, write_mt940

    rec, apps = tables["receipts"], tables["applications"]
    backlog = rec[~rec["receipt_id"].isin(apps["receipt_id"])]
    last = backlog["receipt_date"].max() if len(backlog) else None
    recent = backlog[backlog["receipt_date"] > last - pd.Timedelta(days=14)] if last is not None else backlog
    folder.mkdir(parents=True, exist_ok=True)
    for cur, writer in (("USD", "camt"), ("EUR", "bai2"), ("JPY", "mt940")):
        part = recent[recent["currency"] == cur]
        if not len(part):
            continue
        opening = 10 ** 8 if cur != "JPY" else 10 ** 9
        account = _BANK_ACCOUNT[cur]
        day = str(part["receipt_date"].max().date())
        fee = [(f"FEE-{cur}-{day}", day, 1500 if cur != "JPY" else 1500)]
        if writer == "camt":
            write_camt053(part, folder / f"{cur.lower()}_{day}.camt053.xml", account, cur, opening,
                          statement_id=f"STMT-{cur}-{day}", debits=fee)
        elif writer == "bai2":
            write_bai2(part, folder / f"{cur.lower()}_{day}.bai", account, cur, day, opening,
                       debits=[(fee[0][0], fee[0][2])])
        else:
            write_mt940(part, folder / f"{cur.lower()}_{day}.sta", account, cur, opening,
                        statement_id=f"STMT-{cur}-{day}", debits=fee)


def _truth_file_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Truth frames in file form: amounts as exact decimal text, dates ISO (empty if none)."""
    out = df.copy()
    digits = (out["currency"].map(MINOR_UNITS).fillna(2).to_numpy(dtype=np.int64)
              if "currency" in out else None)
    for c in list(out.columns):
        if c.endswith("_minor") and digits is not None:
            out[c[:-6]] = format_amount_array(out[c].to_numpy(), digits)
            out = out.drop(columns=c)
        elif str(out[c].dtype).startswith("datetime64"):
            values = out[c].to_numpy(dtype="datetime64[D]")
            text = np.datetime_as_string(values).astype(object)
            text[np.isnat(values)] = ""
            out[c] = text
    return out


_TRUTH_README = """# Ground truth of this demo ledger

Generated by `workbench demo`; never shown to the analyses, only to their tests.

- `applications`: every true receipt -> invoice application (`posted` false for cash not
  yet applied in the ledger: the last business days' backlog and a few hard cases).
- `invoices`: each invoice's payment habit, true pay date (final settlement; it may lie
  after the ledger's end; empty when never paid), days late, partial payment, short
  payment (a bank fee left open).
- `customers`: payment habit, whether and when the customer defaulted and was written off,
  the onboarding date (the first `customer_changes` row of each customer).
- `receipts`: the true payer of each receipt (empty for unknown payers) and its `kind`:
  `one_invoice_ref` (quotes one invoice, pays its open balance exactly),
  `several_invoices_ref` (quotes several, pays them exactly), `no_ref_unique_amount` (no
  reference, one invoice, an amount no other open invoice of the customer has),
  `several_no_ref` (no reference, several invoices), `bank_fee` (quotes its invoices,
  arrives short by the bank's fee `bank_fee`: the whole amount received is applied and the
  last invoice keeps the fee open), `partial_ref` (an instalment quoting its invoice),
  `overpayment_ref` (quotes its invoices, pays them and `overpayment` more, left on
  account), `recovery` (money back on written-off invoices), `unknown_payer`. Also
  `shared_name` (the payer's name without its legal suffix is another customer's too),
  `truncated` (the bank cut the name at 35 characters), how the payer name was spelled
  (`payer_variant`), how the invoices were quoted (`reference_form`: invoice_id,
  lower_id, no_separators, inv_short, hash_seq, run_together, po_and_inv, po_only, none)
  and joined (`reference_separator`: space, comma, slash, semicolon; empty for one).
- `promises`: each promise to pay and whether it was kept.
"""

_TRUTH_README_NOISY = """
## The noisy profile (`profile: noisy` in `demo.json`)

Payment behaviour as noisy as a real ledger's; every term of it is recorded.

- `invoices` adds: `habit` (the habit in force when the invoice fell due: the customer's,
  or its new one after a switch), `after_switch`, `habit_days_late` (the centre of the
  habit in force, slides included), `noise_days` (the invoice's own noise, which nothing in
  the ledger explains), `one_off_delay` (`lost_invoice`, `approval_loop`, `holiday` or
  empty) and `one_off_delay_days`, `early_payment` (paid 1-10 days after the invoice
  date), `caught_up` (owed before a customer's improvement, cleared within 15 days of
  it), `seasonal_delay_days` (quarter-end deferral and the December slowdown). Days late
  = habit + noise + one-off delay (or early), then catch-up, season, next business day,
  then disputes, returns and defaults as in the clean profile.
- `customers` adds: `first_active_date`, `late_joiner` (joined during the history,
  onboarded 5-45 days before), `last_active_date`, `stopped_buying`, `habit_switch_date`
  (empty when none), `habit_switch` (`worse`, `better` or empty), `habit_before`,
  `habit_after`, `habit_days_late_before` / `_after` (centres, days), `habit_spread_days_before`
  / `_after` (the noise's standard deviation, days), `quarter_end_deferrer`.
"""
