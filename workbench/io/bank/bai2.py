"""BAI2 (BAI Cash Management Balance Reporting Specifications, version 2).

Read here record by record (the ``bai2`` package's own README calls it not
production-ready, and it stops at the first type code it does not know), with the type
code table of the ``bai2`` package for the known codes and the specification's ranges
for the rest: 001-099 and 900-929 status, 100-399 and 930-959 credits, 400-699 and
960-999 debits (BAI's custom ranges); loan codes (700-799) of no known direction and
codes outside any range are refused with the record's line.

Checked before anything is returned, and the file refused whole when any does not tie:
every account trailer (49: the algebraic sum of the amounts in its 03 and 16 records, and
its record count), group trailer (98) and file trailer (99); per account, the 100/400
summary totals against the detail records when both are present, and the opening ledger
(010) + credits - debits = closing ledger (015) when both balances are present.

Physical records may be continued on 88 records (a 16 record's text continues as text),
may hold several logical records on one line (some banks separate them with ``/`` and
spaces only), and a 16 record's text may contain commas and slashes. Amounts are integers
in the currency's minor units; a blank currency is USD (the specification's default).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ...money import is_currency
from .base import Statement, StatementEntry, StatementError, build, show

__all__ = ["read_bai2", "direction_of", "split_text"]

_SPLIT = re.compile(r"/\s+(?=(?:01|02|03|16|49|88|98|99),)")


def direction_of(code: str) -> str:
    """'credit', 'debit', 'status' or 'none' (890, non-monetary) for a BAI2 type code."""
    from bai2.constants import TypeCodes

    tc = TypeCodes.get(code)
    if tc is not None:
        t = getattr(tc.transaction, "value", None)
        if t in ("credit", "debit"):
            return t
        return "none" if t == "misc" else "status"
    n = int(code)
    if 1 <= n <= 99 or 900 <= n <= 929:
        return "status"
    if 100 <= n <= 399 or 930 <= n <= 959:
        return "credit"
    if 400 <= n <= 699 or 960 <= n <= 999:
        return "debit"
    return "unknown"


def _records(path: Path, text: str) -> list[tuple[int, str, list[str]]]:
    """Logical records: (first physical line, code, fields) with 88 continuations joined."""
    out: list[list] = []
    for ln_no, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = line.rstrip()
        if not line.strip():
            continue
        for piece in _SPLIT.split(line):
            piece = piece.strip()
            if not piece:
                continue
            m = re.match(r"^(\d{2})(?:,|/?$)", piece)
            if not m:
                # a physical line that wraps the previous record without an 88
                if out and not out[-1][2].rstrip().endswith("/"):
                    out[-1][2] += ("\x1e" if out[-1][1] == "16" else "") + piece
                    continue
                raise StatementError(f"{path.name} line {ln_no}: not a BAI2 record: {piece[:40]!r}")
            code, rest = m.group(1), piece[m.end():]
            if code == "88":
                if not out:
                    raise StatementError(f"{path.name} line {ln_no}: a continuation (88) record "
                                         f"before any record")
                prev = out[-1]
                prev[3] += 1
                if prev[1] == "16":
                    prev[2] = prev[2] + "\x1e" + rest     # joined in _detail
                else:
                    prev[2] = prev[2].rstrip().rstrip("/") + "," + rest
                continue
            out.append([ln_no, code, rest, 1])
    return [(ln, code, body, n) for ln, code, body, n in out]


def _fields(body: str) -> list[str]:
    return body.rstrip().rstrip("/").split(",")


def _int(text: str, where: str, signed: bool = True) -> int | None:
    t = (text or "").strip()
    if t == "":
        return None
    if not re.fullmatch(r"[+-]?\d+" if signed else r"\+?\d+", t):
        raise StatementError(f"{where}: amount {t!r} is not a whole number of minor units")
    return int(t)


def _availability(fields: list[str], i: int, where: str) -> int:
    """Skip a funds type and its availability fields; returns the next index."""
    funds = (fields[i] if i < len(fields) else "").strip().upper()
    if funds in ("", "0", "1", "2", "Z"):
        return i + 1
    if funds == "V":
        return i + 3
    if funds == "S":
        return i + 4
    if funds == "D":
        try:
            n = int(fields[i + 1])
        except (IndexError, ValueError):
            raise StatementError(f"{where}: funds type D without a number of distributions") from None
        return i + 2 + 2 * n
    raise StatementError(f"{where}: funds type {funds!r} is not one of 0, 1, 2, Z, V, S, D")


def _date(text: str, where: str) -> str:
    t = (text or "").strip()
    try:
        return dt.datetime.strptime(t, "%y%m%d").date().isoformat()
    except ValueError:
        raise StatementError(f"{where}: date {t!r} is not a calendar date (YYMMDD)") from None


def read_bai2(path: Path, text: str, encoding: str) -> list[Statement]:
    recs = _records(path, text)
    if not recs or recs[0][1] != "01":
        first = recs[0][1] if recs else "nothing"
        raise StatementError(f"{path.name}: not a BAI2 file: it starts with record {first}, a "
                             f"BAI2 file starts with a 01 file header")
    hdr = _fields(recs[0][2])
    if len(hdr) >= 8 and hdr[7].strip() not in ("", "2"):
        raise StatementError(f"{path.name} line {recs[0][0]}: BAI version {hdr[7]!r}; only "
                             f"version 2 is read")
    out: list[Statement] = []
    file_total, groups, file_records = 0, 0, 1
    group = None
    acct = None
    ended = False
    for ln, code, body, n in recs[1:]:
        where = f"{path.name} line {ln} (record {code})"
        f = _fields(body) if code != "16" else body.split(",")
        if ended:
            raise StatementError(f"{where}: a record after the file trailer (99)")
        file_records += n
        if code == "02":
            if group is not None:
                raise StatementError(f"{where}: a group header (02) before the group trailer (98)")
            as_of = _date(f[3] if len(f) > 3 else "", where)
            status = (f[2].strip() if len(f) > 2 else "") or "1"
            modifier = (f[6].strip() if len(f) > 6 else "")
            if status in ("2", "4"):
                raise StatementError(f"{where}: group status {status} "
                                     f"({'a deletion' if status == '2' else 'test data only'}): "
                                     f"not a statement to import, nothing imported")
            if modifier in ("1", "3"):
                raise StatementError(f"{where}: as-of-date modifier {modifier} (interim "
                                     f"{'previous' if modifier == '1' else 'same'}-day data): not a "
                                     f"final statement, nothing imported (import the final report)")
            gccy = (f[5].strip() if len(f) > 5 else "") or "USD"
            if not is_currency(gccy):
                raise StatementError(f"{where}: currency {gccy!r} is not an active ISO 4217 currency")
            group = {"as_of": as_of, "currency": gccy, "status": status,
                     "total": 0, "accounts": 0, "records": n, "line": ln}
        elif code == "03":
            if group is None or acct is not None:
                raise StatementError(f"{where}: an account (03) outside a group or before the "
                                     f"previous account's trailer (49)")
            acct = _account_header(f, group, where)
            acct.update(records=n, line=ln, entries=[])
        elif code == "16":
            if acct is None:
                raise StatementError(f"{where}: a transaction detail (16) outside an account")
            acct["records"] += n
            acct["entries"].append(_detail(body, acct, ln, where))
        elif code == "49":
            if acct is None:
                raise StatementError(f"{where}: an account trailer (49) without its account (03)")
            acct["records"] += n
            out.append(_close_account(path, acct, f, where, group, encoding))
            group["total"] += acct["control"]
            group["accounts"] += 1
            group["records"] += acct["records"]
            acct = None
        elif code == "98":
            if group is None or acct is not None:
                raise StatementError(f"{where}: a group trailer (98) outside a group or inside an "
                                     f"account")
            group["records"] += n
            _check(where, "group control total", _int(f[0], where), group["total"])
            _check(where, "number of accounts", _int(f[1] if len(f) > 1 else "", where), group["accounts"])
            _check(where, "number of records", _int(f[2] if len(f) > 2 else "", where), group["records"])
            file_total += group["total"]
            groups += 1
            group = None
        elif code == "99":
            if group is not None:
                raise StatementError(f"{where}: the file trailer (99) before the group trailer (98)")
            _check(where, "file control total", _int(f[0], where), file_total)
            _check(where, "number of groups", _int(f[1] if len(f) > 1 else "", where), groups)
            _check(where, "number of records", _int(f[2] if len(f) > 2 else "", where), file_records)
            ended = True
        elif code == "01":
            raise StatementError(f"{where}: a second file header (01)")
        else:
            raise StatementError(f"{where}: unknown record code {code}")
    if not ended:
        raise StatementError(f"{path.name}: no file trailer (99): the file is incomplete, "
                             f"nothing imported")
    if not out:
        raise StatementError(f"{path.name}: no account (03) in the file")
    return out


def _check(where: str, what: str, stated: int | None, counted: int) -> None:
    if stated is not None and stated != counted:
        raise StatementError(f"{where}: totals do not tie, nothing imported: the {what} says "
                             f"{stated}, the records add up to {counted}")


def _account_header(f: list[str], group: dict, where: str) -> dict:
    account = f[0].strip()
    ccy = (f[1].strip() if len(f) > 1 else "") or group["currency"]
    if not is_currency(ccy):
        raise StatementError(f"{where}: currency {ccy!r} is not an active ISO 4217 currency")
    acct = {"account": account, "currency": ccy, "control": 0, "summary": {}, "balances": {}}
    i = 2
    while i < len(f):
        code = f[i].strip()
        if code == "":
            i += 1
            if i >= len(f):
                break
            continue
        if not re.fullmatch(r"\d{3}", code):
            raise StatementError(f"{where}: type code {code!r} is not three digits")
        amount = _int(f[i + 1] if i + 1 < len(f) else "", f"{where} type {code}")
        count = (f[i + 2].strip() if i + 2 < len(f) else "")
        kind = direction_of(code)
        if amount is not None:
            acct["control"] += amount
            if code in ("010", "015"):
                acct["balances"][code] = amount
            elif kind in ("credit", "debit") and code in ("100", "400"):
                acct["summary"][code] = (amount, int(count) if count.isdigit() else None)
        if kind == "status":
            i += 4   # status: type, amount, item count (blank), funds type (blank)
        else:
            i = _availability(f, i + 3, f"{where} type {code}")
    return acct


def _join_detail(body: str, where: str) -> tuple[list[str], int]:
    """A 16 record's fields with its 88 continuations: before the text field starts a
    continuation adds fields, after it the text goes on (a space between the pieces)."""
    pieces = body.split("\x1e")
    joined = pieces[0].rstrip()
    for cont in pieces[1:]:
        f = joined.rstrip("/").split(",")
        try:
            start = _availability(f, 2, where) + 2 if len(f) > 2 else 99
        except StatementError:
            start = 99
        if len(f) > start:                      # inside the text: it continues
            joined = joined.rstrip().removesuffix("/").rstrip() + " " + cont.strip()
        else:
            joined = joined.rstrip().removesuffix("/") + "," + cont.strip()
    f = joined.split(",")
    return f, _availability(f, 2, where)


def _detail(body: str, acct: dict, line: int, where: str) -> StatementEntry:
    # the text field is the last and may hold commas and slashes: split the fixed part only
    f, i = _join_detail(body, where)
    code = f[0].strip()
    if not re.fullmatch(r"\d{3}", code):
        raise StatementError(f"{where}: type code {code!r} is not three digits")
    amount = _int(f[1] if len(f) > 1 else "", where, signed=False) or 0
    rest = f[i:]
    if rest:
        rest[-1] = re.sub(r"/\s*$", "", rest[-1])    # the record's terminator
    bank_ref = rest[0].strip() if rest else ""
    cust_ref = rest[1].strip() if len(rest) > 1 else ""
    text = ",".join(rest[2:]).strip()
    acct["control"] += amount
    kind = direction_of(code)
    if kind == "unknown" or (kind in ("status", "none") and amount):
        raise StatementError(f"{where}: type code {code} is neither a credit nor a debit "
                             f"({'a loan or undefined code' if kind == 'unknown' else kind}) "
                             f"and carries an amount: nothing imported")
    payer, reference = split_text(text)
    if cust_ref:
        reference = " ".join(filter(None, [reference, cust_ref]))
    return StatementEntry(position=len(acct["entries"]) + 1, source_line=line,
                          booking_date=None, value_date=None, amount_minor=amount,
                          currency=acct["currency"],
                          direction=kind if kind in ("credit", "debit") else "none",
                          type_code=code, bank_reference=bank_ref or None, payer_name=payer,
                          reference=reference,
                          details=" ".join(filter(None, [text, cust_ref])))


def _close_account(path: Path, acct: dict, f: list[str], where: str, group: dict,
                   encoding: str) -> Statement:
    _check(where, "account control total", _int(f[0] if f else "", where), acct["control"])
    _check(where, "number of records", _int(f[1] if len(f) > 1 else "", where), acct["records"])
    entries = [e for e in acct["entries"] if e.direction in ("credit", "debit")]
    for e in entries:
        e.booking_date = e.value_date = group["as_of"]
    ccy = acct["currency"]
    aw = f"{path.name} account {acct['account']} (line {acct['line']})"
    notes = []
    summary = {c: acct["summary"][c][0] for c in ("100", "400") if c in acct["summary"]}
    detail = {"100": sum(e.amount_minor for e in entries if e.direction == "credit"),
              "400": sum(e.amount_minor for e in entries if e.direction == "debit")}
    for code in summary:
        if summary[code] != detail[code]:
            notes.append(f"the {code} total {'credits' if code == '100' else 'debits'} "
                         f"({show(summary[code], ccy)}) are detailed by records adding up to "
                         f"{show(detail[code], ccy)} (BAI2 detail is optional)")
    b = acct["balances"]
    sid = f"{acct['account']}-{group['as_of']}"
    opening, closing = b.get("010"), b.get("015")
    for code in summary:
        if detail[code] > summary[code]:
            raise StatementError(
                f"{aw}: totals do not tie, nothing imported: the detail records add up to "
                f"{show(detail[code], ccy)} of {'credits' if code == '100' else 'debits'}, more than "
                f"the {code} total of {show(summary[code], ccy)}")
    if group.get("status") == "3":
        notes.append("group status 3: a correction of an earlier report")
    if notes and opening is not None and closing is not None:
        # the detail is partial: tie the balances with the summary totals instead
        credits = summary.get("100", detail["100"])
        debits = summary.get("400", detail["400"])
        if opening + credits - debits != closing:
            raise StatementError(
                f"{aw}: balances do not tie, nothing imported: opening {show(opening, ccy)} + "
                f"total credits {show(credits, ccy)} - total debits {show(debits, ccy)} = "
                f"{show(opening + credits - debits, ccy)}, but the closing balance is "
                f"{show(closing, ccy)}")
        s = build(path, "bai2", sid, acct["account"], ccy, opening, closing, entries,
                  (group["as_of"],), encoding, notes, tie=False, where=aw)
        s.tie_checked = True
        return s
    return build(path, "bai2", sid, acct["account"], ccy, opening, closing, entries,
                 (group["as_of"],), encoding, notes, where=aw)


_LABELS = (r"ORIG(?:INATOR)?(?:\s+NAME)?|ORG|FROM|DBNM|OB|B/?O|BY ORDER OF|PAYOR|PAYER|SENDER|"
           r"REMITTER|ORIG CO NAME|ORIGINATOR NAME|DEBTOR")
_REF_LABELS = r"RMT|REMIT|REMI|REF|RFB|OBI|REMITTANCE INFO|INFO|PMT DET|DESCR|EREF|ADDENDA"
_NAME = re.compile(rf"(?:^|[\s,;/])(?:{_LABELS})\s*[:=]\s*(.+?)(?=\s*(?:[,;/]|\s(?:{_REF_LABELS}|{_LABELS})\s*[:=])|$)", re.I)
_REF = re.compile(rf"(?:^|[\s,;/])(?:{_REF_LABELS})\s*[:=]\s*(.+?)(?=\s*(?:[;]|\s(?:{_LABELS})\s*[:=])|$)", re.I)


def split_text(text: str) -> tuple[str, str]:
    """(payer, remittance) from a BAI2 detail's free text.

    Labelled text (``ORIG=...``, ``FROM: ...``, ``DBNM: ...``, ``REF=...``, ``REMI: ...``)
    is split by its labels; unlabelled text is kept whole as the remittance (payer and
    invoice numbers are then searched in it by the matcher), never cut at a comma.
    """
    names = [m.group(1).strip() for m in _NAME.finditer(text)]
    refs = [m.group(1).strip() for m in _REF.finditer(text)]
    if names or refs:
        return (names[0] if names else ""), (" ".join(refs) if refs else text)
    return "", text.strip()
