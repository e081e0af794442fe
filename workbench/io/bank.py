"""Bank statements -> receipts: ISO 20022 camt.053, BAI2, SWIFT MT940 and CSV (column map).

Only credits become receipts; debits are counted and ignored. ``receipt_id`` is the
bank's own reference for the entry (camt ``AcctSvcrRef``, else ``NtryRef``; BAI2 bank
reference; MT940 bank reference), so a statement imported twice adds nothing.

Control totals are checked before anything is returned, and a statement that does not
tie is refused whole (:class:`StatementError`): camt ``TxsSummry`` (counts, sums, net),
BAI2 account / group / file trailers (checked by the ``bai2`` package, which raises on a
wrong control total or record count). Opening and closing balances are read and tied in
the reconciliation, where any difference is shown.

Parsers: ``bai2`` (BAI2, checks trailers), ``mt-940`` (MT940 fields; balances tied here),
and for camt.053 the standard library's ElementTree behind ``defusedxml`` (no external
entities, no entity bombs), read namespace-agnostically so versions .001.02 to .001.13
share one code path (``Dbtr/Nm`` in .02-.07, ``Dbtr/Pty/Nm`` from .08).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd

from ..money import MoneyError, parse_amount

__all__ = ["Statement", "StatementError", "read_statement", "read_statements", "detect_format",
           "statements_receipts"]


class StatementError(ValueError):
    """A bank statement that cannot be imported (unreadable, or totals that do not tie)."""


@dataclass
class Statement:
    """One account statement: its credits as receipts, and what reconciles it."""

    file: str
    format: str
    statement_id: str
    account: str
    currency: str
    opening_balance_minor: int | None
    closing_balance_minor: int | None
    receipts: pd.DataFrame            # canonical receipts columns (amount_minor), credits only
    debits_count: int = 0
    debits_minor: int = 0
    entries: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def credits_minor(self) -> int:
        return int(self.receipts["amount_minor"].sum()) if len(self.receipts) else 0

    def balance_difference(self) -> int | None:
        """closing - (opening + credits - debits): 0 when the statement ties."""
        if self.opening_balance_minor is None or self.closing_balance_minor is None:
            return None
        return self.closing_balance_minor - (self.opening_balance_minor + self.credits_minor
                                             - self.debits_minor)


_RECEIPT_COLUMNS = ["receipt_id", "receipt_date", "amount_minor", "payer_name", "reference",
                    "customer_id", "currency", "bank_account", "value_date", "statement_id",
                    "source_file", "source_line"]


def _receipts(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=_RECEIPT_COLUMNS)
    for c in ("receipt_date", "value_date"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    df["amount_minor"] = df["amount_minor"].astype("int64")
    return df


def detect_format(path: str | Path) -> str:
    """camt053, bai2, mt940 or csv, from the content (not the name)."""
    head = Path(path).read_bytes()[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<") and b"BkToCstmrStmt" in Path(path).read_bytes()[:20000]:
        return "camt053"
    if head.startswith(b"01,"):
        return "bai2"
    if head.startswith(b":20:") or head.startswith(b"{1:"):
        return "mt940"
    if head.startswith(b"<"):
        raise StatementError(f"{Path(path).name}: XML but not a camt.053 statement (no BkToCstmrStmt)")
    return "csv"


def _minor(text, currency: str, where: str) -> int:
    try:
        return parse_amount(str(text).strip(), currency)
    except MoneyError as e:
        raise StatementError(f"{where}: {e}") from None


# --------------------------------------------------------------------------- camt.053

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el, path: str):
    """Namespace-agnostic find: ``path`` of local names separated by '/'."""
    if el is None:
        return None
    cur = [el]
    for part in path.split("/"):
        nxt = []
        for c in cur:
            if part == "*":
                nxt.extend(list(c))
            else:
                nxt.extend(ch for ch in c if _local(ch.tag) == part)
        cur = nxt
        if not cur:
            return None
    return cur[0]


def _findall(el, name: str):
    return [ch for ch in el if _local(ch.tag) == name]


def _text(el, path: str) -> str | None:
    f = _find(el, path)
    return f.text.strip() if f is not None and f.text else None


def _descendant_text(el, name: str) -> str | None:
    if el is None:
        return None
    for d in el.iter():
        if _local(d.tag) == name and d.text and d.text.strip():
            return d.text.strip()
    return None


def read_camt053(path: str | Path) -> list[Statement]:
    """Parse a camt.053 file (one or more ``Stmt``); check ``TxsSummry`` of each."""
    from defusedxml import ElementTree as ET

    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise StatementError(f"{path.name}: not well-formed XML: {e}") from None
    ns = root.tag.split("}")[0].strip("{") if root.tag.startswith("{") else ""
    m = re.search(r"camt\.053\.001\.(\d+)", ns)
    if ns and (not m or int(m.group(1)) < 2):
        raise StatementError(f"{path.name}: namespace {ns!r} is not camt.053.001.02 or later")
    body = _find(root, "BkToCstmrStmt")
    if body is None:
        raise StatementError(f"{path.name}: no BkToCstmrStmt element")
    out = []
    for s_i, stmt in enumerate(_findall(body, "Stmt"), start=1):
        sid = _text(stmt, "Id") or f"{path.stem}-{s_i}"
        where = f"{path.name} statement {sid}"
        acct = _text(stmt, "Acct/Id/IBAN") or _text(stmt, "Acct/Id/Othr/Id") or ""
        ccy = _text(stmt, "Acct/Ccy")
        opening = closing = None
        for bal in _findall(stmt, "Bal"):
            code = _text(bal, "Tp/CdOrPrtry/Cd")
            amt_el = _find(bal, "Amt")
            if amt_el is None:
                continue
            bccy = amt_el.get("Ccy") or ccy
            ccy = ccy or bccy
            value = _minor(amt_el.text, bccy, f"{where} balance {code}")
            if _text(bal, "CdtDbtInd") == "DBIT":
                value = -value
            if code in ("OPBD", "PRCD") and opening is None:
                opening = value
            elif code == "CLBD":
                closing = value
        rows, n_entries, n_cdt, n_dbt = [], 0, 0, 0
        sum_abs, sum_cdt, sum_dbt, net = 0, 0, 0, 0
        for e_i, ntry in enumerate(_findall(stmt, "Ntry"), start=1):
            n_entries += 1
            amt_el = _find(ntry, "Amt")
            if amt_el is None:
                raise StatementError(f"{where} entry {e_i}: no Amt")
            eccy = amt_el.get("Ccy") or ccy
            if ccy and eccy != ccy:
                raise StatementError(f"{where} entry {e_i}: currency {eccy} differs from the "
                                     f"account's {ccy}")
            ccy = ccy or eccy
            amount = _minor(amt_el.text, eccy, f"{where} entry {e_i} Amt")
            ind = _text(ntry, "CdtDbtInd")
            if ind not in ("CRDT", "DBIT"):
                raise StatementError(f"{where} entry {e_i}: CdtDbtInd must be CRDT or DBIT; got {ind}")
            sum_abs += amount
            if _text(ntry, "RvslInd") == "true":
                ind = "DBIT" if ind == "CRDT" else "CRDT"   # a reversal reverses the direction
            if ind == "DBIT":
                n_dbt += 1
                sum_dbt += amount
                net -= amount
                continue
            n_cdt += 1
            sum_cdt += amount
            net += amount
            ref = _text(ntry, "AcctSvcrRef") or _text(ntry, "NtryRef")
            if not ref:
                raise StatementError(f"{where} entry {e_i}: a credit without AcctSvcrRef or NtryRef "
                                     f"cannot be imported idempotently")
            payer, remit = None, []
            for tx in (_findall(_find(ntry, "NtryDtls") or ntry, "TxDtls")
                       if _find(ntry, "NtryDtls") is not None else []):
                parties = _find(tx, "RltdPties")
                dbtr = _find(parties, "Dbtr") if parties is not None else None
                payer = payer or _descendant_text(dbtr, "Nm")
                rmt = _find(tx, "RmtInf")
                if rmt is not None:
                    remit += [u.text.strip() for u in rmt.iter() if _local(u.tag) == "Ustrd" and u.text]
                    for strd in _findall(rmt, "Strd"):
                        for cref in strd.iter():
                            if _local(cref.tag) == "CdtrRefInf":
                                r = _descendant_text(cref, "Ref")
                                if r:
                                    remit.append(r)
                        for rd in strd.iter():
                            if _local(rd.tag) == "RfrdDocInf":
                                nb = _descendant_text(rd, "Nb")
                                if nb:
                                    remit.append(nb)
            if not remit:
                add = _text(ntry, "AddtlNtryInf")
                if add:
                    remit.append(add)
            booked = _text(ntry, "BookgDt/Dt") or (_text(ntry, "BookgDt/DtTm") or "")[:10]
            value_date = _text(ntry, "ValDt/Dt") or (_text(ntry, "ValDt/DtTm") or "")[:10] or booked
            if not booked:
                raise StatementError(f"{where} entry {e_i}: no booking date")
            rows.append({"receipt_id": ref, "receipt_date": booked, "amount_minor": amount,
                         "payer_name": payer or "", "reference": " ".join(remit),
                         "customer_id": None, "currency": eccy, "bank_account": acct,
                         "value_date": value_date, "statement_id": sid, "source_file": str(path),
                         "source_line": e_i})
        _check_camt_summary(stmt, where, ccy, n_entries, sum_abs, n_cdt, sum_cdt, n_dbt, sum_dbt, net)
        out.append(Statement(str(path), "camt053", sid, acct, ccy or "", opening, closing,
                             _receipts(rows), n_dbt, sum_dbt, n_entries))
    if not out:
        raise StatementError(f"{path.name}: no Stmt in the file")
    return out


def _check_camt_summary(stmt, where, ccy, n, sum_abs, n_cdt, sum_cdt, n_dbt, sum_dbt, net) -> None:
    summ = _find(stmt, "TxsSummry")
    if summ is None:
        return
    problems = []

    def check(path, expected, label, money=True):
        text = _text(summ, path)
        if text is None:
            return
        try:
            got = _minor(text, ccy, where) if money else int(text)
        except (ValueError, InvalidOperation):
            problems.append(f"{label} {text!r} is not a number")
            return
        if got != expected:
            shown = (lambda v: str(Decimal(v).scaleb(-_digits(ccy)))) if money else str
            problems.append(f"{label} says {text}, the entries add up to {shown(expected)}")

    check("TtlNtries/NbOfNtries", n, "TtlNtries/NbOfNtries", money=False)
    check("TtlNtries/Sum", sum_abs, "TtlNtries/Sum")
    net_text = _text(summ, "TtlNtries/TtlNetNtryAmt")
    if net_text is not None:
        sign = -1 if _text(summ, "TtlNtries/CdtDbtInd") == "DBIT" else 1
        got = sign * _minor(net_text, ccy, where)
        if got != net:
            problems.append(f"TtlNtries/TtlNetNtryAmt says {'-' if sign < 0 else ''}{net_text}, "
                            f"the entries net to {Decimal(net).scaleb(-_digits(ccy))}")
    check("TtlCdtNtries/NbOfNtries", n_cdt, "TtlCdtNtries/NbOfNtries", money=False)
    check("TtlCdtNtries/Sum", sum_cdt, "TtlCdtNtries/Sum")
    check("TtlDbtNtries/NbOfNtries", n_dbt, "TtlDbtNtries/NbOfNtries", money=False)
    check("TtlDbtNtries/Sum", sum_dbt, "TtlDbtNtries/Sum")
    if problems:
        raise StatementError(f"{where}: totals do not tie, nothing imported: " + "; ".join(problems))


def _digits(ccy: str) -> int:
    from ..money import MINOR_UNITS
    return MINOR_UNITS.get(ccy, 2)


# --------------------------------------------------------------------------- BAI2

_BAI_ORIG = re.compile(r"(?:ORIG(?:INATOR)?|ORG|FROM)\s*[:=]\s*([^;,/]+)", re.I)
_BAI_REF = re.compile(r"(?:RMT|REMIT|REF|RFB|OBI)\s*[:=]\s*(.+)$", re.I)


def read_bai2(path: str | Path) -> list[Statement]:
    """Parse a BAI2 file; the ``bai2`` package checks every control total and count."""
    from bai2 import bai2 as parser
    from bai2.exceptions import IntegrityException, ParsingException

    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    try:
        f = parser.parse_from_string(text, check_integrity=True)
    except IntegrityException as e:
        raise StatementError(f"{path.name}: totals do not tie, nothing imported: {e}") from None
    except (ParsingException, ValueError, IndexError, KeyError) as e:
        raise StatementError(f"{path.name}: not a readable BAI2 file: {e}") from None
    out = []
    for group in f.children:
        as_of = group.header.as_of_date
        gccy = group.header.currency or "USD"
        for a_i, acct in enumerate(group.children, start=1):
            ccy = acct.header.currency or gccy
            account = acct.header.customer_account_number or ""
            sid = f"{account}-{as_of}"
            opening = closing = None
            for s in acct.header.summary_items:
                code = s.type_code.code if s.type_code else None
                if code == "010" and s.amount is not None:
                    opening = int(s.amount)
                elif code == "015" and s.amount is not None:
                    closing = int(s.amount)
            rows, n_dbt, sum_dbt, n = [], 0, 0, 0
            for t_i, t in enumerate(acct.children, start=1):
                n += 1
                amount = int(t.amount or 0)
                direction = getattr(t.type_code.transaction, "name", None) if t.type_code else None
                if direction == "debit":
                    n_dbt += 1
                    sum_dbt += amount
                    continue
                if direction != "credit":
                    raise StatementError(f"{path.name} account {account} detail {t_i}: type code "
                                         f"{t.type_code.code if t.type_code else '?'} is neither a "
                                         f"credit nor a debit")
                if not t.bank_reference:
                    raise StatementError(f"{path.name} account {account} detail {t_i}: a credit "
                                         f"without a bank reference cannot be imported idempotently")
                payer, reference = _split_bai_text(t.text or "")
                rows.append({"receipt_id": t.bank_reference, "receipt_date": as_of,
                             "amount_minor": amount, "payer_name": payer,
                             "reference": " ".join(x for x in (reference, t.customer_reference or "") if x),
                             "customer_id": None, "currency": ccy, "bank_account": account,
                             "value_date": as_of, "statement_id": sid, "source_file": str(path),
                             "source_line": t_i})
            out.append(Statement(str(path), "bai2", sid, account, ccy, opening, closing,
                                 _receipts(rows), n_dbt, sum_dbt, n))
    if not out:
        raise StatementError(f"{path.name}: no account in the file")
    return out


def _split_bai_text(text: str) -> tuple[str, str]:
    """BAI2 detail text is free-form: ``ORIG=...;REF=...`` when the bank labels it, else
    the first comma-separated part is taken as the payer and the rest as remittance."""
    orig = _BAI_ORIG.search(text)
    ref = _BAI_REF.search(text)
    if orig or ref:
        return (orig.group(1).strip() if orig else "", ref.group(1).strip() if ref else text)
    head, _, tail = text.partition(",")
    return head.strip(), (tail.strip() or head.strip())


# --------------------------------------------------------------------------- MT940

def _mt940_details(details: str) -> tuple[str, str]:
    d = (details or "").replace("\n", "")
    m = re.search(r"/(?:ORDP|NAME)/([^/]+)", d)
    r = re.search(r"/REMI/(.+?)(?:/[A-Z]{3,4}/|$)", d)
    if m or r:
        return (m.group(1).strip() if m else "", r.group(1).strip() if r else d)
    if "?" in d:   # German structured :86: (?20-?29 remittance, ?32/?33 name)
        parts = dict((p[:2], p[2:]) for p in d.split("?")[1:] if len(p) >= 2)
        remit = " ".join(parts.get(f"{k}", "") for k in map(str, range(20, 30))).strip()
        name = (parts.get("32", "") + parts.get("33", "")).strip()
        return name, remit or d
    return d.strip(), d.strip()


def read_mt940(path: str | Path) -> list[Statement]:
    """Parse an MT940 file (``mt-940``); balances are tied in the reconciliation."""
    import mt940

    path = Path(path)
    try:
        t = mt940.models.Transactions()
        t.parse(path.read_text(encoding="utf-8-sig"))
    except Exception as e:  # noqa: BLE001 - the parser raises many kinds on bad input
        raise StatementError(f"{path.name}: not a readable MT940 file: {e}") from None
    data = t.data
    ob = data.get("final_opening_balance") or data.get("opening_balance")
    cb = data.get("final_closing_balance") or data.get("closing_balance")
    ccy = (ob.amount.currency if ob is not None else None) or "EUR"

    def bal(b):
        if b is None:
            return None
        return _minor(f"{b.amount.amount:f}", b.amount.currency, f"{path.name} balance")

    rows, n_dbt, sum_dbt = [], 0, 0
    for i, tr in enumerate(t, start=1):
        d = tr.data
        amount = _minor(f"{abs(d['amount'].amount):f}", d["amount"].currency, f"{path.name} :61: {i}")
        status = d.get("status", "")
        if status in ("D", "RC"):
            n_dbt += 1
            sum_dbt += amount
            continue
        ref = d.get("bank_reference") or d.get("customer_reference")
        if not ref or ref == "NONREF":
            raise StatementError(f"{path.name} :61: {i}: a credit without a bank reference cannot "
                                 f"be imported idempotently")
        payer, remit = _mt940_details(d.get("transaction_details", ""))
        day = d.get("entry_date") or d.get("date")
        rows.append({"receipt_id": ref, "receipt_date": str(day), "amount_minor": amount,
                     "payer_name": payer, "reference": remit, "customer_id": None,
                     "currency": d["amount"].currency, "bank_account": data.get("account_identification", ""),
                     "value_date": str(d.get("date")), "statement_id": data.get("transaction_reference", path.stem),
                     "source_file": str(path), "source_line": i})
    return [Statement(str(path), "mt940", data.get("transaction_reference", path.stem),
                      data.get("account_identification", ""), ccy, bal(ob), bal(cb),
                      _receipts(rows), n_dbt, sum_dbt, len(t))]


# --------------------------------------------------------------------------- CSV

def read_bank_csv(path: str | Path, column_map: str | Path | None) -> list[Statement]:
    """A bank CSV through a column map's ``receipts`` table (see io/maps/bank_csv.yaml).

    Signed amounts: negative rows are debits (counted, ignored). A ``debit_credit`` entry
    in the map names an indicator column instead.
    """
    import yaml

    from .loader import ColumnSpec, _apply_column_spec, _read_csv, LoadReport

    path = Path(path)
    if column_map is None:
        from ..config import MAPS_DIR
        column_map = MAPS_DIR / "bank_csv.yaml"
    cmap_path = Path(column_map)
    if not cmap_path.exists():
        from ..config import MAPS_DIR
        cmap_path = MAPS_DIR / (cmap_path.name if cmap_path.suffix else f"{cmap_path.name}.yaml")
    doc = yaml.safe_load(cmap_path.read_text(encoding="utf-8-sig")) or {}
    spec = (doc.get("tables") or {}).get("receipts") or {}
    problems: list = []
    raw = _read_csv(path, "receipts", problems, LoadReport(), keep_headers=True)
    if problems or raw is None:
        raise StatementError("; ".join(f"{path.name}: {p}" for p in problems) or f"{path.name}: empty")
    df = raw.frame
    cols = {}
    for target, s in (spec.get("columns") or {}).items():
        cs = ColumnSpec(source=s) if isinstance(s, str) else ColumnSpec(
            source=s.get("from"), pattern=s.get("pattern"), date_format=s.get("date_format"),
            thousands=s.get("thousands"), decimal=s.get("decimal"), strip=s.get("strip"),
            parentheses_negative=bool(s.get("parentheses_negative", False)),
            constant=None if s.get("constant") is None else str(s["constant"]))
        if cs.source is None:
            cols[target] = pd.Series([cs.constant] * len(df))
        elif cs.source not in df.columns:
            raise StatementError(f"{path.name}: the column map names '{cs.source}' for {target}, "
                                 f"but the file has no such column")
        else:
            cols[target] = _apply_column_spec(df[cs.source], cs).reset_index(drop=True)
    for need in ("receipt_id", "receipt_date", "amount", "currency"):
        if need not in cols:
            raise StatementError(f"{cmap_path.name}: the bank CSV map needs a column for {need}")
    dc = spec.get("debit_credit")
    rows, n_dbt, sum_dbt, errors = [], 0, 0, []
    for i in range(len(df)):
        line = int(raw.lines[i])
        cur = str(cols["currency"][i]).strip()
        try:
            amount = parse_amount(str(cols["amount"][i]), cur)
        except MoneyError as e:
            errors.append(f"line {line}: amount: {e}")
            continue
        is_debit = amount < 0
        if dc:
            is_debit = str(df[dc["from"]].iloc[i]).strip() not in [str(x) for x in dc.get("credit", ["C"])]
        amount = abs(amount)
        if is_debit:
            n_dbt += 1
            sum_dbt += amount
            continue
        rows.append({"receipt_id": str(cols["receipt_id"][i]).strip(),
                     "receipt_date": str(cols["receipt_date"][i]).strip(), "amount_minor": amount,
                     "payer_name": str(cols.get("payer_name", [""] * len(df))[i]),
                     "reference": str(cols.get("reference", [""] * len(df))[i]),
                     "customer_id": None, "currency": cur,
                     "bank_account": str(cols.get("bank_account", [""] * len(df))[i]),
                     "value_date": str(cols["receipt_date"][i]).strip(), "statement_id": path.stem,
                     "source_file": str(path), "source_line": line})
    bad_dates = [r["source_line"] for r in rows if not re.match(r"^\d{4}-\d{2}-\d{2}$", r["receipt_date"])]
    errors += [f"line {ln}: receipt_date is not a date (YYYY-MM-DD after the map's date_format)"
               for ln in bad_dates]
    if errors:
        raise StatementError(f"{path.name}: nothing imported: " + "; ".join(errors))
    currency = rows[0]["currency"] if rows else ""
    return [Statement(str(path), "csv", path.stem, "", currency, None, None, _receipts(rows),
                      n_dbt, sum_dbt, len(df))]


# --------------------------------------------------------------------------- entry points

def read_statement(path: str | Path, column_map: str | Path | None = None) -> list[Statement]:
    """Read one bank file of any supported format (all or nothing)."""
    path = Path(path)
    if not path.exists():
        raise StatementError(f"bank file {path} does not exist")
    fmt = detect_format(path)
    if fmt == "camt053":
        return read_camt053(path)
    if fmt == "bai2":
        return read_bai2(path)
    if fmt == "mt940":
        return read_mt940(path)
    return read_bank_csv(path, column_map)


def read_statements(paths, column_map=None) -> list[Statement]:
    """Read several files; every file is checked before any is used."""
    out = []
    for p in paths:
        out.extend(read_statement(p, column_map))
    return out


def statements_receipts(statements: list[Statement]) -> tuple[pd.DataFrame, int]:
    """All credits as one receipts frame, each bank reference once (a statement imported
    twice adds nothing); returns (receipts, duplicates dropped)."""
    frames = [s.receipts for s in statements if len(s.receipts)]
    if not frames:
        return _receipts([]), 0
    allr = pd.concat(frames, ignore_index=True)
    dup = allr.duplicated("receipt_id", keep="first")
    return allr[~dup].reset_index(drop=True), int(dup.sum())
