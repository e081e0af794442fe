"""Bank statements -> receipts: ISO 20022 camt.053, BAI2, SWIFT MT940 and CSV (column map).

One module per format (``camt``, ``bai2``, ``mt940``, ``csv``); ``detect`` finds the format
from the content; ``base`` holds the :class:`Statement`, the errors and the idempotency key.

Every reader returns one :class:`Statement` per account statement in the file, with its
own account, id and balances, and refuses a file whole (:class:`StatementError`, one line
naming the file, the record and the reason) when it cannot be read or its totals and
balances do not tie. Nothing here raises anything else on bad input.

:func:`combine` merges the statements of a run: a statement seen twice (same identity)
adds nothing, an entry another statement already reported (same account, currency, bank
reference, date and amount) is skipped and named with both statements, and entries whose
bank reference repeats with a different account, currency, date or amount are all kept, each
with a receipt id that tells them apart (``REF~account~currency~date~amount``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .base import (LINE_COLUMNS, RECEIPT_COLUMNS, Statement, StatementError, decode,
                   receipts_frame)
from .detect import detect_format

__all__ = ["Statement", "StatementError", "read_statement", "read_statements", "detect_format",
           "statements_receipts", "combine", "entry_suffix", "RECEIPT_COLUMNS", "LINE_COLUMNS"]


def read_statement(path: str | Path, column_map: str | Path | None = None) -> list[Statement]:
    """Read one bank file of any supported format (all or nothing)."""
    path = Path(path)
    if not path.exists():
        raise StatementError(f"bank file {path} does not exist")
    if path.is_dir():
        raise StatementError(f"bank file {path} is a folder")
    text, encoding = decode(path)
    fmt = detect_format(path)
    try:
        if fmt == "camt053":
            from .camt import read_camt053
            out = read_camt053(path, text, encoding)
        elif fmt == "bai2":
            from .bai2 import read_bai2
            out = read_bai2(path, text, encoding)
        elif fmt == "mt940":
            from .mt940 import read_mt940
            out = read_mt940(path, text, encoding)
        else:
            from .csv import read_bank_csv
            out = read_bank_csv(path, column_map, encoding)
    except StatementError:
        raise
    except RecursionError:
        raise StatementError(f"{path.name}: nested too deeply to read") from None
    except Exception as e:  # noqa: BLE001 - never a traceback: one line naming the file
        raise StatementError(f"{path.name}: cannot be read as {fmt}: {type(e).__name__}: "
                             f"{str(e).splitlines()[0][:200] if str(e) else ''}") from None
    for s in out:
        if encoding not in ("utf-8", "utf-8-sig"):
            s.notes.append(f"read as {encoding} (not valid UTF-8)")
    return out


def read_statements(paths, column_map=None) -> list[Statement]:
    """Read several files; every file is checked before any is used."""
    out = []
    for p in paths:
        out.extend(read_statement(p, column_map))
    return out


_SKIPPED = ["receipt_id", "bank_reference", "statement_id", "file", "source_line", "currency",
            "amount_minor", "receipt_date", "reason", "statement_no"]


def combine(statements: list[Statement]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All credits of a run as one receipts frame, and what was skipped and why.

    Returns
    -------
    (receipts, skipped)
        ``skipped``: receipt_id, bank_reference, statement_id, file, source_line, currency,
        amount_minor, receipt_date, reason (a duplicate names the statement that reported
        the entry first), statement_no (the statement's position in ``statements``).
        ``receipts`` carries ``statement_no`` too.
    """
    skipped = []
    seen_statements: dict[str, Statement] = {}
    frames = []
    for i, s in enumerate(statements):
        first = seen_statements.get(s.statement_key)
        if first is not None:
            for r in s.receipts.itertuples(index=False):
                skipped.append([r.receipt_id, r.bank_reference, s.statement_id, Path(s.file).name,
                                r.source_line, r.currency, r.amount_minor, r.receipt_date,
                                f"duplicate: the same statement was imported from {Path(first.file).name}",
                                i])
            continue
        seen_statements[s.statement_key] = s
        if len(s.receipts):
            frames.append(s.receipts.assign(src_file=Path(s.file).name, statement_no=i))
    if not frames:
        return receipts_frame([]), pd.DataFrame(skipped, columns=_SKIPPED)
    allr = pd.concat(frames, ignore_index=True)
    # an entry two statements report (overlapping statements): the same account, currency,
    # bank reference, date and amount
    ident = ["bank_account", "currency", "receipt_id", "receipt_date", "amount_minor"]
    dup = allr.duplicated(ident, keep="first") & (allr["bank_reference"] != "")
    if dup.any():
        firsts = allr[~dup].set_index(ident)["src_file"]
        for r in allr[dup].itertuples(index=False):
            origin = firsts.get((r.bank_account, r.currency, r.receipt_id, r.receipt_date, r.amount_minor))
            skipped.append([r.receipt_id, r.bank_reference, r.statement_id, r.src_file, r.source_line,
                            r.currency, r.amount_minor, r.receipt_date,
                            f"duplicate: the same entry is in {origin}", r.statement_no])
    allr = allr[~dup].reset_index(drop=True)
    # the same bank reference for different entries: keep all, and tell every one of them
    # apart by its identity (so an id never depends on which other files are in the run)
    clash = allr["receipt_id"].duplicated(keep=False).to_numpy()
    if clash.any():
        allr.loc[clash, "receipt_id"] = allr.loc[clash, "receipt_id"] + entry_suffix(allr[clash])
    allr = allr.drop(columns="src_file")
    skipped = pd.DataFrame(skipped, columns=_SKIPPED)
    return allr, skipped


def entry_suffix(receipts: pd.DataFrame) -> pd.Series:
    """What tells apart entries that share a bank reference: ``~account~currency~date~amount``."""
    return ("~" + receipts["bank_account"].astype(str) + "~" + receipts["currency"].astype(str)
            + "~" + receipts["receipt_date"].dt.strftime("%Y%m%d") + "~"
            + receipts["amount_minor"].astype(str))


def statements_receipts(statements: list[Statement]) -> tuple[pd.DataFrame, int]:
    """All credits as one receipts frame and how many duplicates were skipped (see
    :func:`combine`, which also says which and why)."""
    receipts, skipped = combine(statements)
    return receipts, int(len(skipped))
