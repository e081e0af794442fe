"""ISO 20022 camt.053 (bank-to-customer statement), versions .001.02 to .001.13.

Read with the standard library's ElementTree behind ``defusedxml`` (no external entities,
no entity bombs), namespace-agnostically, so every version shares one code path
(``Dbtr/Nm`` in .02-.07, ``Dbtr/Pty/Nm`` from .08; ``Sts`` text or ``Sts/Cd``).

Per ``Stmt``: the opening (``OPBD``, else ``PRCD``) and closing (``CLBD``) booked
balances; every booked entry (``Sts`` BOOK; pending and information entries are listed,
not booked); ``TxsSummry`` counts and sums where present; then opening + credits -
debits = closing. Entries are taken in the direction ``CdtDbtInd`` books them; a
reversal (``RvslInd``) keeps its direction: a reversed debit is a credit that is not a
customer's payment, a reversed credit is a debit (a returned payment). A batched entry
with several ``TxDtls`` becomes one receipt per transaction, their amounts checked
against the entry's. An entry in another currency than the account's is booked at its
counter-value in the account's currency (``AmtDtls/CntrValAmt``) when given, else
imported in its own currency outside the balance check (noted).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from ...money import format_amount
from .base import Statement, StatementEntry, StatementError, build, show, to_minor

__all__ = ["read_camt053"]


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _find(el, path: str):
    """Namespace-agnostic find: ``path`` of local names separated by '/'."""
    if el is None:
        return None
    cur = [el]
    for part in path.split("/"):
        cur = [ch for c in cur for ch in c if _local(ch.tag) == part]
        if not cur:
            return None
    return cur[0]


def _findall(el, name: str) -> list:
    return [] if el is None else [ch for ch in el if _local(ch.tag) == name]


def _text(el, path: str) -> str | None:
    f = _find(el, path)
    return f.text.strip() if f is not None and f.text and f.text.strip() else None


def _descendants(el, name: str) -> list[str]:
    if el is None:
        return []
    return [d.text.strip() for d in el.iter() if _local(d.tag) == name and d.text and d.text.strip()]


def _date(el, path: str, where: str) -> str | None:
    """ISO date of ``path/Dt`` or ``path/DtTm``; a date that is not a calendar date is an error."""
    text = _text(el, f"{path}/Dt") or (_text(el, f"{path}/DtTm") or "")[:10] or None
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise StatementError(f"{where}: {path} {text!r} is not a calendar date") from None


def read_camt053(path: Path, text: str, encoding: str) -> list[Statement]:
    from defusedxml import ElementTree as ET

    try:
        root = ET.fromstring(text.encode("utf-8")) if not text.lstrip().startswith("<?xml") \
            else ET.fromstring(re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1).encode("utf-8"))
    except ET.ParseError as e:
        raise StatementError(f"{path.name}: not well-formed XML: {e}") from None
    ns = root.tag.split("}")[0].strip("{") if root.tag.startswith("{") else ""
    m = re.search(r"camt\.053\.001\.(\d+)", ns)
    if ns and (not m or int(m.group(1)) < 2):
        raise StatementError(f"{path.name}: namespace {ns!r} is not camt.053.001.02 or later")
    body = _find(root, "BkToCstmrStmt") if _local(root.tag) != "BkToCstmrStmt" else root
    if body is None:
        raise StatementError(f"{path.name}: no BkToCstmrStmt element")
    stmts = _findall(body, "Stmt")
    if not stmts:
        raise StatementError(f"{path.name}: no Stmt (statement) in the file")
    return [_statement(path, stmt, i, encoding) for i, stmt in enumerate(stmts, start=1)]


def _statement(path: Path, stmt, s_i: int, encoding: str) -> Statement:
    sid = _text(stmt, "Id") or f"{path.stem}-{s_i}"
    where = f"{path.name} statement {s_i} ({sid})"
    acct = _text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id") or ""
    ccy = _text(stmt, "Acct/Ccy")
    balances = {}
    for bal in _findall(stmt, "Bal"):
        code = _text(bal, "Tp/CdOrPrtry/Cd") or _text(bal, "Tp/CdOrPrtry/Prtry")
        amt_el = _find(bal, "Amt")
        if amt_el is None or code not in ("OPBD", "PRCD", "CLBD"):
            continue
        bccy = amt_el.get("Ccy") or ccy
        ccy = ccy or bccy
        if bccy != ccy:
            raise StatementError(f"{where}: the {code} balance is in {bccy}, the account's "
                                 f"currency is {ccy}: the statement cannot tie, nothing imported")
        value = to_minor(amt_el.text, bccy, f"{where} balance {code}")
        if _text(bal, "CdtDbtInd") == "DBIT":
            value = -value
        balances.setdefault(code, value)
    opening = balances.get("OPBD", balances.get("PRCD"))
    closing = balances.get("CLBD")
    missing = [name for name, v in (("opening booked balance (OPBD or PRCD)", opening),
                                    ("closing booked balance (CLBD)", closing)) if v is None]
    if missing:
        raise StatementError(f"{where}: no {' and no '.join(missing)}: not a complete statement, "
                             f"it cannot be tied, nothing imported")
    entries: list[StatementEntry] = []
    notes: list[str] = []
    summary = {"n": 0, "sum": 0, "n_cdt": 0, "sum_cdt": 0, "n_dbt": 0, "sum_dbt": 0, "net": 0}
    for e_i, ntry in enumerate(_findall(stmt, "Ntry"), start=1):
        ew = f"{where} entry {e_i}"
        amt_el = _find(ntry, "Amt")
        if amt_el is None or not (amt_el.text or "").strip():
            raise StatementError(f"{ew}: no Amt")
        eccy = amt_el.get("Ccy") or ccy
        if not ccy:
            ccy = eccy
        amount = to_minor(amt_el.text, eccy, f"{ew} Amt")
        if amount < 0:
            raise StatementError(f"{ew}: Amt {amt_el.text.strip()} is negative (the direction is "
                                 f"CdtDbtInd's): nothing imported")
        ind = _text(ntry, "CdtDbtInd")
        if ind not in ("CRDT", "DBIT"):
            raise StatementError(f"{ew}: CdtDbtInd must be CRDT or DBIT; got {ind!r}")
        summary["n"] += 1
        summary["sum"] += amount
        key = "cdt" if ind == "CRDT" else "dbt"
        summary[f"n_{key}"] += 1
        summary[f"sum_{key}"] += amount
        summary["net"] += amount if ind == "CRDT" else -amount
        status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts/Prtry") or _text(ntry, "Sts") or "BOOK"
        if status != "BOOK":
            notes.append(f"entry {e_i} has status {status} (not booked): not imported")
            continue
        entries.extend(_entry(ntry, e_i, ew, amount, eccy, ccy, ind))
    _check_summary(stmt, where, ccy, summary)
    if not ccy:
        raise StatementError(f"{where}: no currency for the account (Acct/Ccy) or its balances")
    start = _text(stmt, "FrToDt/FrDtTm")
    return build(path, "camt053", sid, acct, ccy, opening, closing, entries,
                 (_text(stmt, "ElctrncSeqNb"), _text(stmt, "LglSeqNb"), start,
                  _text(stmt, "FrToDt/ToDtTm"), opening, closing), encoding, notes, where=where)


def _entry(ntry, e_i: int, ew: str, amount: int, eccy: str, ccy: str, ind: str
           ) -> list[StatementEntry]:
    reversal = (_text(ntry, "RvslInd") or "").lower() == "true"
    direction = "credit" if ind == "CRDT" else "debit"
    booked = _date(ntry, "BookgDt", ew)
    value = _date(ntry, "ValDt", ew) or booked
    if booked is None:
        raise StatementError(f"{ew}: a booked entry without a booking date (BookgDt)")
    ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
    type_code = "/".join(x for x in (_text(ntry, "BkTxCd/Domn/Cd"), _text(ntry, "BkTxCd/Domn/Fmly/Cd"),
                                      _text(ntry, "BkTxCd/Domn/Fmly/SubFmlyCd"),
                                      _text(ntry, "BkTxCd/Prtry/Cd")) if x)
    note = ""
    in_balance = True
    if eccy != ccy:
        counter = None
        for path in ("AmtDtls/CntrValAmt/Amt", "NtryDtls/TxDtls/AmtDtls/CntrValAmt/Amt"):
            el = _find(ntry, path)
            if el is not None and el.get("Ccy") == ccy:
                counter = to_minor(el.text, ccy, f"{ew} {path}")
                break
        if counter is not None:
            note = f"{show(amount, eccy)} booked at its counter-value {show(counter, ccy)}"
            amount, eccy = counter, ccy
        else:
            note = (f"in {eccy} on a {ccy} account without a counter-value: imported in {eccy}, "
                    f"outside the balance check")
            in_balance = False
    if reversal:
        note = ("reversal of an earlier debit (money back, not a customer's payment)"
                if direction == "credit" else "reversal of an earlier credit (a returned payment)")
    add = _text(ntry, "AddtlNtryInf") or ""
    txs = _findall(_find(ntry, "NtryDtls"), "TxDtls")
    base = dict(booking_date=booked, value_date=value, currency=eccy, direction=direction,
                reversal=reversal, type_code=type_code, note=note,
                customer_payment=not (reversal and direction == "credit"),
                counts_in_balance=in_balance)
    if len(txs) <= 1:
        payer, remit, details = _parties(txs[0] if txs else None, add)
        return [StatementEntry(position=e_i, source_line=e_i, amount_minor=amount,
                               bank_reference=ref, payer_name=payer, reference=remit,
                               details=details, **base)]
    # a batch: one receipt per transaction, their amounts adding up to the entry's
    parts = []
    for t_i, tx in enumerate(txs, start=1):
        tw = f"{ew} transaction {t_i}"
        el = _find(tx, "AmtDtls/TxAmt/Amt")
        if el is None:
            el = _find(tx, "Amt")
        if el is None:
            raise StatementError(f"{tw}: a batched entry ({len(txs)} TxDtls) whose transaction "
                                 f"has no amount (AmtDtls/TxAmt/Amt or Amt): cannot split it")
        tccy = el.get("Ccy") or eccy
        if tccy != eccy:
            raise StatementError(f"{tw}: amount in {tccy}, the entry is in {eccy}")
        parts.append((tx, to_minor(el.text, tccy, tw)))
    total = sum(a for _, a in parts)
    if total != amount:
        raise StatementError(f"{ew}: its {len(txs)} transactions add up to {show(total, eccy)}, "
                             f"the entry says {show(amount, eccy)}: nothing imported")
    out = []
    for t_i, (tx, a) in enumerate(parts, start=1):
        payer, remit, details = _parties(tx, add)
        tref = _text(tx, "Refs/AcctSvcrRef") or (f"{ref}-{t_i}" if ref else None)
        out.append(StatementEntry(position=f"{e_i}.{t_i}", source_line=e_i, amount_minor=a,
                                  bank_reference=tref, payer_name=payer, reference=remit,
                                  details=details, **base))
    return out


def _parties(tx, add: str) -> tuple[str, str, str]:
    """(payer name, remittance, all the entry's text) of one TxDtls."""
    if tx is None:
        return "", add, add
    parties = _find(tx, "RltdPties")
    dbtr = _find(parties, "Dbtr")
    payer = _text(dbtr, "Pty/Nm") or _text(dbtr, "Nm") or ""
    ultimate = _text(parties, "UltmtDbtr/Pty/Nm") or _text(parties, "UltmtDbtr/Nm") or ""
    rmt = _find(tx, "RmtInf")
    remit = _descendants(rmt, "Ustrd")
    for strd in _findall(rmt, "Strd"):
        remit += [r for cref in strd.iter() if _local(cref.tag) == "CdtrRefInf"
                  for r in _descendants(cref, "Ref")[:1]]
        remit += [n for rd in strd.iter() if _local(rd.tag) == "RfrdDocInf"
                  for n in _descendants(rd, "Nb")[:1]]
        remit += _descendants(strd, "AddtlRmtInf")
    extra = [x for x in (_text(tx, "AddtlTxInf"), add) if x]
    reference = " ".join(remit) or " ".join(extra)
    details = " ".join(x for x in (payer, f"ULTIMATE DEBTOR {ultimate}" if ultimate else "",
                                   reference, *extra) if x)
    return payer or ultimate, reference, details


def _check_summary(stmt, where: str, ccy: str | None, s: dict) -> None:
    summ = _find(stmt, "TxsSummry")
    if summ is None or not ccy:
        return
    problems = []

    def check(path, expected, money=True):
        text = _text(summ, path)
        if text is None:
            return
        if money:
            got = to_minor(text, ccy, f"{where} TxsSummry/{path}")
        else:
            try:
                got = int(text)
            except ValueError:
                problems.append(f"{path} {text!r} is not a number")
                return
        if got != expected:
            problems.append(f"{path} says {text}, the entries add up to "
                            f"{format_amount(expected, ccy) if money else expected}")

    check("TtlNtries/NbOfNtries", s["n"], money=False)
    check("TtlNtries/Sum", s["sum"])
    net_text = _text(summ, "TtlNtries/TtlNetNtryAmt")
    if net_text is not None:
        sign = -1 if _text(summ, "TtlNtries/CdtDbtInd") == "DBIT" else 1
        got = sign * to_minor(net_text, ccy, f"{where} TxsSummry/TtlNetNtryAmt")
        if got != s["net"]:
            problems.append(f"TtlNtries/TtlNetNtryAmt says {'-' if sign < 0 else ''}{net_text}, "
                            f"the entries net to {format_amount(s['net'], ccy)}")
    check("TtlCdtNtries/NbOfNtries", s["n_cdt"], money=False)
    check("TtlCdtNtries/Sum", s["sum_cdt"])
    check("TtlDbtNtries/NbOfNtries", s["n_dbt"], money=False)
    check("TtlDbtNtries/Sum", s["sum_dbt"])
    if problems:
        raise StatementError(f"{where}: totals do not tie, nothing imported: " + "; ".join(problems))
