"""Which format a bank file is in, from its content (never its name)."""

from __future__ import annotations

import re
from pathlib import Path

from .base import StatementError, decode

__all__ = ["detect_format", "sniff"]

_MT_TAG = re.compile(r"^:(?:\d{2}[A-Z]?|NS):", re.M)
_XML_ROOTS = {
    "BkToCstmrStmt": "camt053",
    "BkToCstmrAcctRpt": "camt052",
    "BkToCstmrDbtCdtNtfctn": "camt054",
}
# control characters some banks put around a message (SOH, ETX, SUB, NUL)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sniff(text: str) -> str:
    """camt053, camt052, camt054, xml, bai2, mt940, csv or unknown."""
    head = CONTROL.sub("", text[:20000]).lstrip("\ufeff \r\n\t")
    if head.startswith("<"):
        for tag, fmt in _XML_ROOTS.items():
            if re.search(rf"<(?:\w+:)?{tag}[\s>]", head):
                return fmt
        return "xml"
    first = head.split("\n", 1)[0].strip()
    if re.match(r"^01,", first):
        return "bai2"
    if first.startswith("{1:") or first.startswith("{4:") or _MT_TAG.search(head):
        return "mt940"
    if re.match(r"^\d{2},", first) and (re.search(r"^(?:16|03|49|88),", head, re.M)
                                         or first.endswith("/")):
        return "bai2"                     # a BAI2 body without its 01 header: refused there
    if ("," in first or ";" in first or "\t" in first) and len(re.split(r"[,;\t]", first)) >= 3:
        return "csv"
    return "unknown"


_NOT_STATEMENTS = {"camt052": "account report (camt.052, intraday)",
                   "camt054": "debit/credit notification (camt.054)"}


def detect_format(path: str | Path) -> str:
    """camt053, bai2, mt940 or csv, from the content; anything else is a StatementError
    that says what the file is."""
    path = Path(path)
    text, _ = decode(path)
    fmt = sniff(text)
    if fmt in _NOT_STATEMENTS:
        raise StatementError(f"{path.name}: an ISO 20022 {_NOT_STATEMENTS[fmt]}, not a statement: "
                             f"nothing imported (import the day's camt.053)")
    if fmt == "xml":
        raise StatementError(f"{path.name}: XML but not a camt.053 statement "
                             f"(no BkToCstmrStmt element)")
    if fmt == "unknown":
        raise StatementError(f"{path.name}: not a recognised bank statement (no camt.053 XML, "
                             f"no BAI2 01 record, no MT940 tags, no CSV header line)")
    return fmt
