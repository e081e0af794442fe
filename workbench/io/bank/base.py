"""What every statement reader shares: the Statement, its errors, decoding, entry identity.

A reader turns one bank file into :class:`Statement` objects, one per account statement
in the file, each with its own account, id and balances. Every booked entry is kept in
``Statement.lines`` (signed: credits positive, debits negative, as the statement books
them); the credits that are customer cash become ``Statement.receipts``.

**Idempotency key.** A credit's ``receipt_id`` is the bank's own reference for the entry
when the statement gives one. A credit without one (MT940 ``NONREF``, camt without
``AcctSvcrRef``/``NtryRef``, BAI2 without a bank reference) gets
``NOREF-`` + the first 16 hex digits of SHA-256 over (format, account, currency,
statement id, statement number, statement dates, entry position, amount, booking date):
the same statement imported again yields the same ids (it adds nothing), and two
statements never collide because their identity differs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ...money import MoneyError, format_amount, is_currency, parse_amount

__all__ = ["Statement", "StatementError", "StatementEntry", "decode", "to_minor", "noref_id",
           "LINE_COLUMNS", "RECEIPT_COLUMNS"]


class StatementError(ValueError):
    """A bank file that cannot be imported: the message names the file, the record and why.

    Nothing of a refused file is imported (all or nothing)."""


#: columns of ``Statement.receipts`` (the canonical receipts table plus where it came from)
RECEIPT_COLUMNS = ["receipt_id", "receipt_date", "amount_minor", "payer_name", "reference",
                   "customer_id", "currency", "bank_account", "value_date", "statement_id",
                   "source_file", "source_line", "bank_reference", "details"]

#: columns of ``Statement.lines`` (every booked entry)
LINE_COLUMNS = ["position", "source_line", "booking_date", "value_date", "amount_minor",
                "currency", "direction", "reversal", "type_code", "bank_reference",
                "receipt_id", "payer_name", "reference", "details", "imported_as", "note"]


@dataclass
class StatementEntry:
    """One booked entry as a reader sees it (before it becomes a line or a receipt)."""

    position: int                      # 1-based position in its statement
    source_line: int                   # physical line in the file (XML: entry number)
    booking_date: str | None           # ISO date
    value_date: str | None
    amount_minor: int                  # positive; the direction says which way
    currency: str
    direction: str                     # "credit" or "debit" as the statement books it
    reversal: bool = False
    type_code: str = ""
    bank_reference: str | None = None
    payer_name: str = ""
    reference: str = ""
    details: str = ""
    note: str = ""
    customer_payment: bool = True      # False: a credit that is not cash from a customer
    counts_in_balance: bool = True     # False: a foreign-currency entry without counter-value


@dataclass
class Statement:
    """One account statement: every booked entry, the credits as receipts, the balances."""

    file: str
    format: str
    statement_id: str
    account: str
    currency: str
    opening_balance_minor: int | None
    closing_balance_minor: int | None
    receipts: pd.DataFrame
    debits_count: int = 0
    debits_minor: int = 0
    entries: int = 0
    notes: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    lines: pd.DataFrame | None = None
    other_credits_minor: int = 0       # credits that are not receipts (reversals of debits, ...)
    foreign_credits_minor: int = 0     # receipts in another currency, outside the balance
    statement_key: str = ""            # identity of the statement (account, id, number, dates)
    tie_checked: bool = False          # True when opening + credits - debits = closing was checked

    @property
    def credits_minor(self) -> int:
        return int(self.receipts["amount_minor"].sum()) if len(self.receipts) else 0

    def balance_difference(self) -> int | None:
        """closing - (opening + credits - debits): 0 when the statement ties, None when it
        has no opening or closing balance to tie."""
        if self.opening_balance_minor is None or self.closing_balance_minor is None:
            return None
        return self.closing_balance_minor - (self.opening_balance_minor + self.credits_minor
                                             - self.foreign_credits_minor
                                             + self.other_credits_minor - self.debits_minor)

    @property
    def name(self) -> str:
        return f"{Path(self.file).name} statement {self.statement_id} (account {self.account})"


def decode(path: Path) -> tuple[str, str]:
    """The text of a bank file and the encoding it was read in.

    UTF-8 (with or without BOM) first; a file that is not valid UTF-8 is read as
    Windows-1252 (a superset of Latin-1's printable characters, what European banks send)
    and, for the five bytes CP1252 leaves undefined, as Latin-1. The encoding is recorded.
    """
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    for enc in ("utf-8", "cp1252", "latin-1"):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise StatementError(f"{path.name}: not a text file")   # latin-1 decodes anything


def to_minor(text, currency: str, where: str) -> int:
    """An amount in a statement, exactly, in the currency's minor units (or a clear error)."""
    if not is_currency(currency):
        raise StatementError(f"{where}: currency {currency!r} is not an active ISO 4217 currency")
    try:
        return parse_amount(str(text).strip(), currency)
    except MoneyError as e:
        raise StatementError(f"{where}: {e}") from None


def show(minor: int, currency: str) -> str:
    """An amount for a message: 1234.50 EUR (``workbench.money`` decides the decimals)."""
    return f"{format_amount(int(minor), currency)} {currency}"


def statement_key(*parts) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts)
                          .encode("utf-8")).hexdigest()


def noref_id(key: str, entry: StatementEntry) -> str:
    """The idempotency key of a credit the bank gave no reference (see module docstring)."""
    digest = statement_key(key, entry.position, entry.amount_minor, entry.currency,
                           entry.booking_date)
    return f"NOREF-{digest[:16]}"


def build(file: Path, fmt: str, statement_id: str, account: str, currency: str,
          opening: int | None, closing: int | None, entries: list[StatementEntry],
          key_parts: tuple, encoding: str, notes: list[str] | None = None,
          tie: bool = True, where: str | None = None, key_id: str | None = None) -> Statement:
    """A Statement from a reader's entries; ties the balances when both are given.

    A statement whose opening + credits - debits differs from its closing balance is
    refused whole (:class:`StatementError`) with the figures.
    """
    notes = list(notes or [])
    # the statement's identity: its header and its content (a statement re-sent with the
    # same entries is the same statement, whatever the file is called or when it was made)
    content = statement_key(*[(e.position, e.booking_date, e.amount_minor, e.direction,
                               e.currency, e.bank_reference) for e in entries])
    key = statement_key(fmt, account, currency, statement_id if key_id is None else key_id,
                        *key_parts, content)
    # a bank reference repeated inside one statement (a batch whose transactions repeat
    # the entry's reference): each entry keeps its own id, told apart by its position
    seen_refs: dict[str, int] = {}
    for e in entries:
        if e.bank_reference and e.direction == "credit" and e.customer_payment:
            seen_refs[e.bank_reference] = seen_refs.get(e.bank_reference, 0) + 1
    lines, receipts = [], []
    debits_n = debits = other = foreign_receipts = 0
    foreign = []
    for e in entries:
        rid = None
        if not e.counts_in_balance:
            foreign.append(e)
        if e.direction == "debit":
            imported_as = "debit"
            if e.counts_in_balance:
                debits_n += 1
                debits += e.amount_minor
        elif not e.customer_payment or e.amount_minor == 0:
            imported_as = "other credit" if e.amount_minor else "zero amount (not a receipt)"
            if e.counts_in_balance:
                other += e.amount_minor
        else:
            imported_as = "receipt"
            rid = e.bank_reference or noref_id(key, e)
            if e.bank_reference and seen_refs.get(e.bank_reference, 0) > 1:
                rid = f"{e.bank_reference}#{e.position}"
            if not e.counts_in_balance:
                foreign_receipts += e.amount_minor
            receipts.append({"receipt_id": rid, "receipt_date": e.booking_date,
                             "amount_minor": e.amount_minor, "payer_name": e.payer_name or "",
                             "reference": e.reference or "", "customer_id": None,
                             "currency": e.currency, "bank_account": account,
                             "value_date": e.value_date or e.booking_date,
                             "statement_id": statement_id, "source_file": str(file),
                             "source_line": e.source_line, "bank_reference": e.bank_reference or "",
                             "details": e.details or ""})
        lines.append({"position": e.position, "source_line": e.source_line,
                      "booking_date": e.booking_date, "value_date": e.value_date,
                      "amount_minor": e.amount_minor if e.direction == "credit" else -e.amount_minor,
                      "currency": e.currency, "direction": e.direction, "reversal": e.reversal,
                      "type_code": e.type_code, "bank_reference": e.bank_reference or "",
                      "receipt_id": rid, "payer_name": e.payer_name, "reference": e.reference,
                      "details": e.details, "imported_as": imported_as, "note": e.note})
    rec = receipts_frame(receipts)
    s = Statement(str(file), fmt, statement_id, account, currency, opening, closing, rec,
                  debits_n, debits, len(entries), notes, encoding, lines_frame(lines),
                  other, foreign_receipts, key)
    where = where or s.name
    if foreign:
        notes.append(f"{len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} in another currency "
                     f"than the account's {currency} (imported in their own currency, outside "
                     f"the balance check)")
    diff = s.balance_difference()
    if tie and diff is not None:
        if diff != 0:
            credits = s.credits_minor - s.foreign_credits_minor + s.other_credits_minor
            raise StatementError(
                f"{where}: balances do not tie, nothing imported: opening {show(opening, currency)}"
                f" + credits {show(credits, currency)} - debits {show(debits, currency)} = "
                f"{show(opening + credits - debits, currency)}, but the closing balance is "
                f"{show(closing, currency)} (difference {show(diff, currency)})")
        s.tie_checked = True
    elif diff is None:
        notes.append("no opening or closing balance: the balance could not be tied")
    return s


def receipts_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=RECEIPT_COLUMNS)
    for c in ("receipt_date", "value_date"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
    df["amount_minor"] = df["amount_minor"].astype("int64")
    df["source_line"] = df["source_line"].astype("int64")
    return df


def lines_frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=LINE_COLUMNS)
    df["amount_minor"] = df["amount_minor"].astype("int64")
    return df
