"""SWIFT MT940 customer statements, one statement at a time.

The file is cleaned of what banks wrap around the messages (SWIFT blocks ``{1:...}``
``{2:...}`` ``{4:`` ... ``-}``, ``:940:`` or ``ABNANL2A``/``940`` or ``0000 01INGB...``
header lines, SOH/ETX bytes, ``-`` trailers), then split at every ``:20:`` into
statements; each is parsed by the ``mt-940`` package's tag parsers (``:61:`` has many bank
dialects) with its post-processors switched off, so the ``:86:`` text reaches
:func:`parse_86` untouched: SWIFT-style codes (``/ORDP/``, ``/NAME/``, ``/REMI/``,
``/EREF/``, ``/CNTP/``), German structured subfields (``?20``-``?29`` and ``?60``-``?63``
purpose with ``SVWZ+``/``EREF+``/``ABWA+``, ``?32``/``?33`` name), or free text.

Each statement must have an account (``:25:``), an opening (``:60F:``/``:60M:``) and a
closing (``:62F:``/``:62M:``) balance, and they must tie: opening + credits - debits =
closing. MT942 interim reports (``:34F:``, ``:13D:``, block 2 ``O942``) are refused as not
statements. ``RD`` (reversal of a debit) is a credit that is not a customer's payment;
``RC`` (reversal of a credit) is a debit. A value date that is not a calendar date (some
German banks book interest "on 30 February") is never rolled over: the entry is booked on
its entry date and the value date is left empty with a note.
"""

from __future__ import annotations

import calendar
import re
from pathlib import Path

from .base import Statement, StatementEntry, StatementError, build, to_minor
from .detect import CONTROL

__all__ = ["read_mt940", "parse_86"]

_TAG = re.compile(r"^:(\d{2}[A-Z]?|NS):", re.M)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = CONTROL.sub("", text)
    # SWIFT FIN envelope: {1:...}{2:...}{3:{...}}{4:  body  -}{5:...}
    text = re.sub(r"\{[1235]:(?:[^{}]|\{[^{}]*\})*\}", "", text)
    text = re.sub(r"\{4:\s*", "\n", text)
    text = re.sub(r"^-\}.*$", "-", text, flags=re.M)
    # a tag broken after its colon (":\n86:") is one tag
    text = re.sub(r"^:\n(\d{2}[A-Z]?:)", r":\1", text, flags=re.M)
    return text


def _is_mt942(raw: str, body: str) -> bool:
    return bool(re.search(r"\{2:[IO]942", raw) or re.search(r"^:(?:34F|13D|13):", body, re.M)
                or re.search(r"^:?942:?\s*$", body, re.M))


def read_mt940(path: Path, text: str, encoding: str) -> list[Statement]:
    body = _clean(text)
    if _is_mt942(text, body):
        raise StatementError(f"{path.name}: an MT942 interim transaction report, not a "
                             f"statement: nothing imported (import the day's MT940)")
    lines = body.split("\n")
    starts = [i for i, ln in enumerate(lines) if ln.startswith(":20:")]
    if not starts:
        tags = sorted(set(_TAG.findall(body)))
        raise StatementError(f"{path.name}: no :20: (transaction reference): a fragment, not a "
                             f"statement (tags found: {', '.join(':' + t + ':' for t in tags) or 'none'})")
    out = []
    for n, s in enumerate(starts, start=1):
        end = starts[n] if n < len(starts) else len(lines)
        chunk = lines[s:end]
        # the trailer of a message ("-" or "-XXX") and anything after it is not the statement's
        for k, ln in enumerate(chunk):
            if re.match(r"^-(?:\}|XXX)?\s*$", ln) and k > 0:
                chunk = chunk[:k]
                break
        out.append(_statement(path, chunk, s + 1, n, len(starts), encoding))
    return out


def _parser(dialect: str = "swift"):
    import logging

    import mt940

    # the tag parsers log every failed pattern match at ERROR before raising; the reader
    # turns a failure into one StatementError line, so their log is noise here
    logging.getLogger("mt940").setLevel(logging.CRITICAL)

    def date_check(transactions, tag, tag_dict, *args):
        """No rolling over: an impossible value date is booked on the entry date, noted."""
        y, m, d = (int(tag_dict[k]) for k in ("year", "month", "day"))
        month_ok = 1 <= m <= 12
        if month_ok and 1 <= d <= calendar.monthrange(2000 + y, m)[1]:
            return tag_dict
        em, ed = tag_dict.get("entry_month"), tag_dict.get("entry_day")
        raw = f"{tag_dict['year']}{tag_dict['month']}{tag_dict['day']}"
        if not (em and ed and str(em).strip().isdigit() and str(ed).strip().isdigit()):
            raise StatementError(f"value date {raw} is not a calendar date and the line has no "
                                 f"entry date")
        tag_dict["invalid_value_date"] = raw
        tag_dict["month"], tag_dict["day"] = str(em), str(ed)
        return tag_dict

    procs = {key: [] for key in mt940.models.Transactions.DEFAULT_PROCESSORS}
    procs["pre_statement"] = [date_check]
    procs["post_statement"] = [mt940.processors.date_cleanup_post_processor]
    tags = {61: mt940.tags.StatementASNB()} if dialect == "asn" else None
    return mt940.models.Transactions(processors=procs, tags=tags,
                                     options=mt940.Options(reversal_sign=True,
                                                           case_insensitive_marks=True))


def _statement(path: Path, chunk: list[str], first_line: int, n: int, of: int,
               encoding: str) -> Statement:
    text = "\n".join(chunk)
    tags = {t for t in _TAG.findall(text)}
    ref = chunk[0][4:].strip()
    where = f"{path.name} statement {n} of {of} (:20:{ref}, line {first_line})"
    missing = [name for name, alts in (("account :25:", {"25", "25P"}),
                                       ("opening balance :60F:/:60M:", {"60F", "60M", "60"}),
                                       ("closing balance :62F:/:62M:", {"62F", "62M", "62"}))
               if not tags & alts]
    if missing:
        raise StatementError(f"{where}: no {', no '.join(missing)}: not a complete statement, "
                             f"nothing imported")
    t = None
    for dialect in ("swift", "asn"):
        # the SWIFT :61: layout first; then the dialect some Dutch banks use (the
        # counterparty IBAN in the customer reference, the name on the next line)
        t = _parser(dialect)
        try:
            t.parse(text)
            break
        except StatementError as e:
            raise StatementError(f"{where}: {e}") from None
        except Exception as e:  # noqa: BLE001 - the tag parsers raise many kinds on bad input
            if dialect == "asn":
                tag_line = _first_bad_line(text)
                raise StatementError(f"{where}: cannot read {tag_line or 'the statement'}: "
                                     f"{type(e).__name__}") from None
    d = t.data
    ob = d.get("final_opening_balance") or d.get("intermediate_opening_balance") or d.get("opening_balance")
    cb = d.get("final_closing_balance") or d.get("intermediate_closing_balance") or d.get("closing_balance")
    ccy = (ob.amount.currency if ob is not None else None) or (cb.amount.currency if cb is not None else None)
    if not ccy:
        raise StatementError(f"{where}: no currency in the opening balance")

    def bal(b, label):
        if b is None:
            return None
        if b.amount.currency != ccy:
            raise StatementError(f"{where}: the {label} balance is in {b.amount.currency}, the "
                                 f"opening balance in {ccy}: the statement cannot tie")
        return to_minor(f"{b.amount.amount:f}", ccy, f"{where} {label} balance")

    opening, closing = bal(ob, "opening"), bal(cb, "closing")
    lines_61 = [first_line + i for i, ln in enumerate(chunk) if ln.startswith(":61:")]
    entries, notes = [], []
    for i, tr in enumerate(t, start=1):
        x = tr.data
        if "amount" not in x:
            continue
        line = lines_61[i - 1] if i - 1 < len(lines_61) else first_line
        ew = f"{path.name} line {line} (:61: entry {i} of statement {n})"
        eccy = x["amount"].currency or ccy
        amount = to_minor(f"{abs(x['amount'].amount):f}", eccy, ew)
        mark = (x.get("status") or "").upper()
        if mark not in ("C", "D", "RC", "RD"):
            raise StatementError(f"{ew}: debit/credit mark {mark!r} is not C, D, RC or RD")
        direction = "credit" if mark in ("C", "RD") else "debit"
        reversal = mark.startswith("R")
        value_date = x["date"].isoformat()
        booking = x.get("entry_date").isoformat() if x.get("entry_date") else value_date
        note = ""
        if x.get("invalid_value_date"):
            note = (f"value date {x['invalid_value_date']} is not a calendar date: booked on the "
                    f"entry date {booking}, value date left empty")
            value_date = None
        if reversal:
            note = "; ".join(filter(None, [note, "reversal of an earlier debit (money back, not a "
                                           "customer's payment)" if direction == "credit" else
                                           "reversal of an earlier credit (a returned payment)"]))
        bank_ref = (x.get("bank_reference") or "").strip()
        cust_ref = (x.get("customer_reference") or "").strip()
        if bank_ref.upper() in ("", "NONREF", "NONE"):
            bank_ref = None
        payer, remit, details = parse_86(x.get("transaction_details") or "")
        extra = (x.get("extra_details") or "").strip()
        if cust_ref and cust_ref.upper() not in ("NONREF", "NOTPROVIDED"):
            remit = " ".join(filter(None, [remit, cust_ref]))
        details = " ".join(filter(None, [details, cust_ref if cust_ref.upper() != "NONREF" else "",
                                         extra]))
        entries.append(StatementEntry(position=i, source_line=line, booking_date=booking,
                                      value_date=value_date, amount_minor=amount, currency=eccy,
                                      direction=direction, reversal=reversal,
                                      type_code=x.get("id") or "", bank_reference=bank_ref,
                                      payer_name=payer, reference=remit, details=details,
                                      note=note, customer_payment=not (reversal and direction == "credit"),
                                      counts_in_balance=eccy == ccy))
    account = (d.get("account_identification") or "").strip()
    number = d.get("statement_number") or ""
    seq = d.get("sequence_number") or ""
    return build(path, "mt940", ref, account, ccy, opening, closing, entries,
                 (number, seq, ob.date if ob is not None else None, opening,
                  cb.date if cb is not None else None, closing), encoding, notes, where=where)


def _first_bad_line(text: str) -> str:
    """The first :61: line the tag pattern cannot read (for the error message)."""
    import mt940

    pattern = re.compile(mt940.tags.Statement.pattern, re.VERBOSE | re.IGNORECASE)
    for ln in text.split("\n"):
        if ln.startswith(":61:") and not pattern.match(ln[4:]):
            return f"the :61: line {ln[:60]!r}"
    return ""


# --------------------------------------------------------------------------- :86:

_SWIFT_CODES = ("ORDP", "BENM", "NAME", "REMI", "EREF", "MARF", "CSID", "IBAN", "BIC", "ADDR",
                "TRTP", "PREF", "RTRN", "ULTC", "ULTD", "ULTB", "PURP", "CNTP", "ACCW", "ID",
                "ISDT", "FX", "ORIG", "CDTRREFTP", "CDTRREF", "CD", "CHGS", "EXCH", "OCMT",
                "BUSP", "SVCL", "CUSTOMER", "INFO")
_SWIFT_RE = re.compile(r"/(" + "|".join(sorted(_SWIFT_CODES, key=len, reverse=True)) + r")/")
_SEPA_KEYS = ("EREF", "KREF", "MREF", "CRED", "DEBT", "SVWZ", "ABWA", "ABWE", "IBAN", "BIC",
              "COAM", "OAMT", "SQTP", "PURP")
_SEPA_RE = re.compile(r"(" + "|".join(_SEPA_KEYS) + r")\+")


def parse_86(raw: str) -> tuple[str, str, str]:
    """(payer name, remittance, whole text) of an MT940 ``:86:`` information field.

    Recognises SWIFT-style codes (``/NAME/``, ``/ORDP/``, ``/REMI/``, ``/EREF/``,
    ``/CNTP/account/bic/name/city/``), German structured subfields (``?00`` posting text,
    ``?20``-``?29`` and ``?60``-``?63`` purpose, ``?32``/``?33`` name, SEPA keywords
    ``SVWZ+``, ``EREF+``, ``ABWA+``), and otherwise keeps the free text whole (payer and
    reference are then searched in it by the matcher).
    """
    text = raw.replace("\r", "")
    flat = text.replace("\n", "")
    spaced = re.sub(r"\s+", " ", text.replace("\n", " ")).strip()
    # German structured: "166?00GUTSCHRIFT?20..." (the separator is the 4th character)
    m = re.match(r"^\s*(\d{3})([?@#])\d{2}", flat) or re.match(r"^\s*()(\?)\d{2}", flat)
    if m and flat.count(m.group(2)) >= 2 or (m and m.group(1) == "" and flat.count("?") >= 1):
        sep = m.group(2)
        fields: dict[str, list[str]] = {}
        for part in flat[m.end(1):].split(sep)[1:]:
            if len(part) >= 2 and part[:2].isdigit():
                fields.setdefault(part[:2], []).append(part[2:])
        purpose_keys = [f"{k}" for k in range(20, 30)] + [f"{k}" for k in range(60, 64)]
        purpose = "".join(v for k in purpose_keys for v in fields.get(k, []))
        purpose_spaced = " ".join(v.strip() for k in purpose_keys for v in fields.get(k, []))
        name = " ".join(v.strip() for k in ("32", "33") for v in fields.get(k, []) if v.strip())
        sepa = _sepa_fields(purpose)
        if sepa.get("ABWA"):
            name = name or sepa["ABWA"]
        remit = sepa.get("SVWZ") or (purpose if not sepa else "")
        refs = [remit] + [sepa[k] for k in ("EREF", "KREF") if sepa.get(k) and
                          sepa[k].upper() != "NOTPROVIDED"]
        details = " ".join(filter(None, [name, fields.get("00", [""])[0].strip(), purpose_spaced,
                                         purpose, sepa.get("ABWA", "")]))
        return name, " ".join(r for r in refs if r).strip(), details
    # SWIFT-style codes
    codes = list(_SWIFT_RE.finditer(flat))
    if codes:
        values: dict[str, list[str]] = {}
        for i, c in enumerate(codes):
            end = codes[i + 1].start() if i + 1 < len(codes) else len(flat)
            values.setdefault(c.group(1), []).append(flat[c.end():end].strip("/ ").strip())
        name = next((v for v in values.get("NAME", []) if v), "")
        if not name:
            # /ORDP/ holds the ordering party: a name, or only its account number
            name = next((v for v in values.get("ORDP", []) if v and not _is_account(v)), "")
        if not name and values.get("CNTP"):
            parts = [p for p in values["CNTP"][0].split("/")]
            name = parts[2].strip() if len(parts) > 2 else ""
        remit_parts = []
        for v in values.get("REMI", []):
            v = re.sub(r"^(?:USTD|STRD)/+(?:[A-Z]{3,4}/+)?", "", v)
            remit_parts.append(v.strip("/ "))
        remit_parts += [v for k in ("EREF", "CDTRREF", "MARF") for v in values.get(k, [])
                        if v and v.upper() != "NOTPROVIDED"]
        return name, " ".join(p for p in remit_parts if p), spaced
    sepa = _sepa_fields(flat)
    if sepa.get("SVWZ"):
        return sepa.get("ABWA", ""), sepa["SVWZ"], spaced
    return "", spaced, spaced


def _is_account(v: str) -> bool:
    return bool(re.fullmatch(r"[A-Z]{0,4}\d[\dA-Z]{5,33}", v.replace(" ", "")))


def _sepa_fields(purpose: str) -> dict[str, str]:
    marks = list(_SEPA_RE.finditer(purpose))
    out = {}
    for i, mk in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(purpose)
        out.setdefault(mk.group(1), purpose[mk.end():end].strip())
    return out
