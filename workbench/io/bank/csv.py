"""Bank CSV exports through a column map's ``receipts`` table (see io/maps/bank_csv.yaml).

Signed amounts: negative rows are debits. A ``debit_credit`` entry in the map names an
indicator column instead. A CSV carries no balances, so nothing is tied; rows without a
bank reference get the documented idempotency key (see ``base``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...money import MoneyError, parse_amount
from .base import Statement, StatementEntry, StatementError, build

__all__ = ["read_bank_csv"]


def read_bank_csv(path: Path, column_map, encoding: str) -> list[Statement]:
    import yaml

    from ..loader import ColumnSpec, LoadReport, apply_column_spec, read_csv_table
    from ...config import MAPS_DIR

    if column_map is None:
        column_map = MAPS_DIR / "bank_csv.yaml"
    cmap_path = Path(column_map)
    if not cmap_path.exists():
        cmap_path = MAPS_DIR / (cmap_path.name if cmap_path.suffix else f"{cmap_path.name}.yaml")
    if not cmap_path.exists():
        raise StatementError(f"{path.name}: column map {column_map} does not exist")
    doc = yaml.safe_load(cmap_path.read_text(encoding="utf-8-sig")) or {}
    spec = (doc.get("tables") or {}).get("receipts") or {}
    problems: list = []
    raw = read_csv_table(path, "receipts", problems, LoadReport(), keep_headers=True)
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
            cols[target] = apply_column_spec(df[cs.source], cs).reset_index(drop=True)
    for need in ("receipt_id", "receipt_date", "amount", "currency"):
        if need not in cols:
            raise StatementError(f"{cmap_path.name}: the bank CSV map needs a column for {need}")
    dc = spec.get("debit_credit")
    blank = [""] * len(df)
    entries, errors, currencies, accounts = [], [], set(), set()
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
        day = str(cols["receipt_date"][i]).strip()
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", day):
            errors.append(f"line {line}: receipt_date {day!r} is not a date (YYYY-MM-DD after the "
                          f"map's date_format)")
            continue
        try:
            pd.Timestamp(day)
        except ValueError:
            errors.append(f"line {line}: receipt_date {day!r} is not a calendar date")
            continue
        currencies.add(cur)
        accounts.add(str(cols.get("bank_account", blank)[i]))
        ref = str(cols["receipt_id"][i]).strip()
        entries.append(StatementEntry(
            position=i + 1, source_line=line, booking_date=day, value_date=day,
            amount_minor=abs(amount), currency=cur, direction="debit" if is_debit else "credit",
            bank_reference=ref or None, payer_name=str(cols.get("payer_name", blank)[i]),
            reference=str(cols.get("reference", blank)[i]),
            details=" ".join(str(cols.get(c, blank)[i]) for c in ("payer_name", "reference"))))
    if errors:
        raise StatementError(f"{path.name}: nothing imported: " + "; ".join(errors))
    currency = sorted(currencies)[0] if len(currencies) == 1 else ""
    account = sorted(accounts)[0] if len(accounts) == 1 else ""
    # a CSV has no statement number: its identity is its content, not the file's name
    return [build(path, "csv", path.stem, account, currency, None, None, entries,
                  (len(df),), encoding, tie=False, key_id="")]
