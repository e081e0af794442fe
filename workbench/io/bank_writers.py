"""Write receipts as real-format bank statements (camt.053, BAI2, MT940, CSV).

Used to turn demo receipts into the files a bank would send, for the cash-application
demo, tests and benchmarks. Each writer produces correct control totals and balances;
``debits`` adds bank-fee debit lines so importers are exercised on both directions.

BAI2 and MT940 write the payer and the remittance either labelled (``ORIG=`` / ``REF=``,
``/ORDP/`` / ``/REMI/``, the default) or, with ``text_style="free"``, the way many banks
do: one free text without labels, cut into the format's lines. camt.053 always keeps
``Dbtr/Nm`` (at most 70 characters) and ``Ustrd`` (140 characters each, as many as needed).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd

from ..money import to_decimal
from .writer import atomic_write_text

__all__ = ["write_camt053", "write_bai2", "write_mt940", "write_bank_csv", "write_statements"]


def _s(v) -> str:
    return v if isinstance(v, str) else ""


def _dec(minor: int, ccy: str) -> str:
    return str(to_decimal(int(minor), ccy))


_STYLES = ("labelled", "free")


def _check_style(text_style: str) -> None:
    if text_style not in _STYLES:
        raise ValueError(f"text_style must be one of {', '.join(_STYLES)}; got {text_style!r}.")


def _free_text(r) -> str:
    """Payer and remittance as one text, as a bank without labels shows them."""
    return " ".join(" ".join(x.split()) for x in (_s(r.payer_name), _s(r.reference)) if x.strip())


def _wrap(text: str, first: int, width: int, bad_start: str = "") -> list[str]:
    """Cut ``text`` at spaces into lines of at most ``first`` (the first line) and
    ``width`` characters; the spaces cut at are dropped (readers join lines with one
    space). A word starting with a character of ``bad_start`` stays on the line before;
    a word longer than a line is split."""
    lines: list[str] = []
    line = ""
    for w in text.split():
        cand = f"{line} {w}" if line else w
        if len(cand) <= (width if lines else first) or (line and w[0] in bad_start):
            line = cand
        else:
            if line:
                lines.append(line)
            line = w
        while len(line) > (limit := width if lines else first):
            lines.append(line[:limit].rstrip())
            line = line[limit:].lstrip()
    if line:
        lines.append(line)
    return lines


def _rows(receipts: pd.DataFrame):
    for r in receipts.sort_values(["receipt_date", "receipt_id"], kind="stable").itertuples(index=False):
        yield r


def write_camt053(receipts: pd.DataFrame, path, account: str, currency: str,
                  opening_minor: int = 0, statement_id: str = "STMT-1",
                  version: str = "001.02", debits: list[tuple[str, str, int]] = ()) -> Path:
    """camt.053 (``version`` 001.02 or 001.08: ``Dbtr/Nm`` vs ``Dbtr/Pty/Nm``)."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.{version}"
    newer = int(version.split(".")[1]) >= 8
    entries, credits, n_c = [], 0, 0
    for r in _rows(receipts):
        amount = int(r.amount_minor)
        credits += amount
        n_c += 1
        name = escape(_s(r.payer_name)[:70].rstrip())      # Max70Text
        party = (f"<Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>" if newer
                 else f"<Dbtr><Nm>{name}</Nm></Dbtr>")
        ustrd = "".join(f"<Ustrd>{escape(t)}</Ustrd>"        # Max140Text each
                        for t in (_wrap(_s(r.reference), 140, 140) or [""]))
        sts = "<Sts><Cd>BOOK</Cd></Sts>" if newer else "<Sts>BOOK</Sts>"
        day = pd.Timestamp(r.receipt_date).date().isoformat()
        entries.append(
            f"<Ntry><NtryRef>{escape(r.receipt_id)}</NtryRef><Amt Ccy=\"{currency}\">{_dec(amount, currency)}</Amt>"
            f"<CdtDbtInd>CRDT</CdtDbtInd>{sts}<BookgDt><Dt>{day}</Dt></BookgDt>"
            f"<ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{escape(r.receipt_id)}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f"<RltdPties>{party}</RltdPties>"
            f"<RmtInf>{ustrd}</RmtInf></TxDtls></NtryDtls></Ntry>")
    debit_total = 0
    for ref, day, amount in debits:
        debit_total += amount
        entries.append(
            f"<Ntry><NtryRef>{escape(ref)}</NtryRef><Amt Ccy=\"{currency}\">{_dec(amount, currency)}</Amt>"
            f"<CdtDbtInd>DBIT</CdtDbtInd>{'<Sts><Cd>BOOK</Cd></Sts>' if newer else '<Sts>BOOK</Sts>'}"
            f"<BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>{escape(ref)}</AcctSvcrRef>"
            f"<AddtlNtryInf>BANK CHARGES</AddtlNtryInf></Ntry>")
    days = sorted(pd.to_datetime(receipts["receipt_date"]).dt.date.astype(str)) or ["2026-01-01"]
    closing = opening_minor + credits - debit_total
    net = credits - debit_total

    def bal(code, amount, day):
        ind = "CRDT" if amount >= 0 else "DBIT"
        return (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">"
                f"{_dec(abs(amount), currency)}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>")

    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrStmt>'
           f"<GrpHdr><MsgId>{escape(statement_id)}</MsgId><CreDtTm>{days[-1]}T23:00:00</CreDtTm></GrpHdr>"
           f"<Stmt><Id>{escape(statement_id)}</Id><CreDtTm>{days[-1]}T23:00:00</CreDtTm>"
           f"<Acct><Id><Othr><Id>{escape(account)}</Id></Othr></Id><Ccy>{currency}</Ccy></Acct>"
           f"{bal('OPBD', opening_minor, days[0])}{bal('CLBD', closing, days[-1])}"
           f"<TxsSummry><TtlNtries><NbOfNtries>{n_c + len(debits)}</NbOfNtries>"
           f"<Sum>{_dec(credits + debit_total, currency)}</Sum><TtlNetNtryAmt>{_dec(abs(net), currency)}</TtlNetNtryAmt>"
           f"<CdtDbtInd>{'CRDT' if net >= 0 else 'DBIT'}</CdtDbtInd></TtlNtries>"
           f"<TtlCdtNtries><NbOfNtries>{n_c}</NbOfNtries><Sum>{_dec(credits, currency)}</Sum></TtlCdtNtries>"
           f"<TtlDbtNtries><NbOfNtries>{len(debits)}</NbOfNtries><Sum>{_dec(debit_total, currency)}</Sum></TtlDbtNtries>"
           f"</TxsSummry>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>\n")
    atomic_write_text(path, xml)
    return Path(path)


def write_bai2(receipts: pd.DataFrame, path, account: str, currency: str, as_of: str,
               opening_minor: int = 0, debits: list[tuple[str, int]] = (),
               text_style: str = "labelled") -> Path:
    """BAI2 with one group and account; 16 records continued on 88 records.

    ``text_style="labelled"`` writes ``ORIG=<payer>/`` and ``88,REF=<remittance>``;
    ``"free"`` writes payer and remittance as one unlabelled text (``ACME FOODS INC INV
    4012/4015``), the last field of the 16 record, where commas and slashes are allowed;
    physical records stay within 80 characters, the text going on in 88 records, and a
    record whose text goes on does not end with the ``/`` delimiter (BAI2: the text of a
    16 record ends at the next record).
    """
    _check_style(text_style)
    lines_acct = []
    credits = int(receipts["amount_minor"].sum()) if len(receipts) else 0
    debit_total = sum(a for _, a in debits)
    closing = opening_minor + credits - debit_total
    summary = (f"03,{account},{currency},010,{opening_minor},,,015,{closing},,,100,{credits},"
               f"{len(receipts)},,400,{debit_total},{len(debits)},/")
    lines_acct.append(summary)
    total = opening_minor + closing + credits + debit_total
    for r in _rows(receipts):
        if text_style == "free":
            head = f"16,195,{int(r.amount_minor)},Z,{r.receipt_id},,"
            # text may not begin with a comma or slash, nor a record end with a slash
            text = _free_text(r).lstrip(",/ ") or "CREDIT"
            pieces = _wrap(text, 80 - len(head), 80 - 3, bad_start=",/")
            for k in range(len(pieces) - 1):
                while pieces[k].endswith("/"):
                    pieces[k], pieces[k + 1] = pieces[k][:-1], "/" + pieces[k + 1]
            lines_acct.append(head + pieces[0])
            lines_acct.extend(f"88,{p}" for p in pieces[1:])
        else:
            lines_acct.append(f"16,195,{int(r.amount_minor)},Z,{r.receipt_id},,ORIG={_s(r.payer_name).replace(',', ' ').replace('/', ' ')}/")
            ref = _s(r.reference).replace(",", " ").replace("/", " ")
            lines_acct.append(f"88,REF={ref}")
        total += int(r.amount_minor)
    for ref, amount in debits:
        lines_acct.append(f"16,475,{amount},Z,{ref},,BANK FEE/")
        total += amount
    lines_acct.append(f"49,{total},{len(lines_acct) + 1}/")
    day = pd.Timestamp(as_of).strftime("%y%m%d")
    group = [f"02,COLLWB,WBDEMOBANK,1,{day},2359,{currency},2/"] + lines_acct + \
            [f"98,{total},1,{len(lines_acct) + 2}/"]
    body = [f"01,WBDEMOBANK,COLLWB,{day},2359,1,,,2/"] + group + [f"99,{total},1,{len(group) + 2}/"]
    atomic_write_text(path, "\n".join(body) + "\n")
    return Path(path)


def write_mt940(receipts: pd.DataFrame, path, account: str, currency: str,
                opening_minor: int = 0, statement_id: str = "STMT1",
                debits: list[tuple[str, str, int]] = (), text_style: str = "labelled") -> Path:
    """MT940 with ``:86:/ORDP/<payer>/REMI/<remittance>`` (``text_style="labelled"``) or,
    with ``"free"``, payer and remittance as one unstructured ``:86:`` text of at most 6
    lines of 65 characters (field 86 is 6*65x: what does not fit is cut off)."""
    _check_style(text_style)

    def amt(minor):
        return _dec(minor, currency).replace(".", ",")

    days = sorted(pd.to_datetime(receipts["receipt_date"]).dt.strftime("%y%m%d")) or ["260101"]
    credits = int(receipts["amount_minor"].sum()) if len(receipts) else 0
    debit_total = sum(a for _, _, a in debits)
    closing = opening_minor + credits - debit_total
    out = [f":20:{statement_id}", f":25:{account}", ":28C:1/1",
           f":60F:{'C' if opening_minor >= 0 else 'D'}{days[0]}{currency}{amt(abs(opening_minor))}"]
    for r in _rows(receipts):
        d = pd.Timestamp(r.receipt_date).strftime("%y%m%d")
        if text_style == "free":
            # no customer reference (NONREF): everything the payer wrote is in the :86: text
            out.append(f":61:{d}{d[2:]}C{amt(int(r.amount_minor))}NTRFNONREF//{r.receipt_id}")
            # a line must not look like a tag (":") or a message trailer ("-")
            lines = _wrap(_free_text(r).lstrip(":-") or "CREDIT", 65, 65, bad_start=":-")[:6]
            out.append(":86:" + "\n".join(lines))
        else:
            out.append(f":61:{d}{d[2:]}C{amt(int(r.amount_minor))}NTRF{r.receipt_id[:16]}//{r.receipt_id}")
            payer = _s(r.payer_name).replace("/", " ")
            remit = _s(r.reference).replace("/", " ")
            out.append(f":86:/ORDP/{payer}/REMI/{remit}")
    for ref, day, amount in debits:
        d = pd.Timestamp(day).strftime("%y%m%d")
        out.append(f":61:{d}{d[2:]}D{amt(amount)}NCHGNONREF//{ref}")
        out.append(":86:BANK CHARGES")
    out.append(f":62F:{'C' if closing >= 0 else 'D'}{days[-1]}{currency}{amt(abs(closing))}")
    out.append("-")
    atomic_write_text(path, "\n".join(out) + "\n")
    return Path(path)


def write_bank_csv(receipts: pd.DataFrame, path, account: str,
                   debits: list[tuple[str, str, int, str]] = ()) -> Path:
    """The CSV shape of ``io/maps/bank_csv.yaml``: signed amounts, dd/mm/yyyy dates."""
    rows = []
    for r in _rows(receipts):
        rows.append({"Date": pd.Timestamp(r.receipt_date).strftime("%d/%m/%Y"),
                     "Bank Ref": r.receipt_id, "Counterparty": _s(r.payer_name),
                     "Details": _s(r.reference), "Amount": _dec(int(r.amount_minor), r.currency),
                     "Currency": r.currency, "Account": account})
    for ref, day, amount, ccy in debits:
        rows.append({"Date": pd.Timestamp(day).strftime("%d/%m/%Y"), "Bank Ref": ref,
                     "Counterparty": "BANK", "Details": "FEE", "Amount": "-" + _dec(amount, ccy),
                     "Currency": ccy, "Account": account})
    atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False, lineterminator="\n"))
    return Path(path)


#: opening balance of the first statement of a series, in minor units
_OPENING = {"JPY": 10 ** 10}


def write_statements(receipts: pd.DataFrame, fmt: str, out, text_style: str = "free") -> list[Path]:
    """Receipts as the series of bank files a bank would send: per currency, camt.053 and
    MT940 one statement a month, BAI2 one file a day (a BAI2 group has one as-of date);
    balances run on from statement to statement. ``fmt``: camt053, bai2 or mt940 (or
    bai2_free / mt940_free, the same with ``text_style="free"``)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt.endswith("_free"):
        fmt, text_style = fmt[: -len("_free")], "free"
    files = []
    for cur, part in receipts.groupby("currency", sort=True):
        account = str(part["bank_account"].dropna().iloc[0]) if part["bank_account"].notna().any() \
            else f"ACCT-{cur}"
        balance = _OPENING.get(cur, 10 ** 9)
        dates = pd.to_datetime(part["receipt_date"])
        period = dates.dt.strftime("%Y-%m-%d") if fmt == "bai2" else dates.dt.strftime("%Y-%m")
        for key, chunk in part.groupby(period, sort=True):
            sid = f"S{cur}{key.replace('-', '')}"
            if fmt == "camt053":
                files.append(write_camt053(chunk, out / f"{sid}.xml", account, cur, balance,
                                           statement_id=sid))
            elif fmt == "bai2":
                files.append(write_bai2(chunk, out / f"{sid}.bai", account, cur, key, balance,
                                        text_style=text_style))
            elif fmt == "mt940":
                files.append(write_mt940(chunk, out / f"{sid}.sta", account, cur, balance,
                                         statement_id=sid, text_style=text_style))
            else:
                raise ValueError(f"fmt must be camt053, bai2 or mt940; got {fmt!r}")
            balance += int(chunk["amount_minor"].sum())
    return files
