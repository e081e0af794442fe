"""The demo's configuration, and its customers' names, payer spellings and typed references."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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


