"""Row rules: one pandera ``DataFrameModel`` per table (ids, amounts, choices, ranges, the
reserve roll-forward)."""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from ..money import MINOR_UNITS, format_amount
from .cross import _amt, _d, _money
from .specs import TABLES
from .typed import Problem, RawTable, TypedTable, _Collector

#: pandera dtype for the ledger's dates (naive datetime64[ns], time of day zero)
DateTimeNs = np.datetime64


class _Base(pa.DataFrameModel):
    class Config:
        strict = False   # extra columns are kept
        coerce = False   # typing already happened, exactly


class CustomerModel(_Base):
    customer_id: Series[str] = pa.Field(unique=True)
    name: Series[str]
    currency: Series[str] = pa.Field(nullable=True)
    payment_terms_days: Series[np.int64] = pa.Field(ge=0, le=3650)
    credit_limit_minor: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, nullable=True)


class InvoiceModel(_Base):
    invoice_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    invoice_date: Series[DateTimeNs] = pa.Field(nullable=True)
    due_date: Series[DateTimeNs] = pa.Field(nullable=True)
    amount_minor: Series[np.int64] = pa.Field(gt=0)

    @pa.dataframe_check
    def due_date_on_or_after_invoice_date(cls, df: pd.DataFrame) -> Series[bool]:
        return ~(df["due_date"] < df["invoice_date"])


class CreditMemoModel(_Base):
    credit_memo_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(gt=0)


class ReceiptModel(_Base):
    receipt_id: Series[str] = pa.Field(unique=True)
    amount_minor: Series[np.int64] = pa.Field(gt=0)


class ApplicationModel(_Base):
    receipt_id: Series[str]
    invoice_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(gt=0)


class DisputeModel(_Base):
    dispute_id: Series[str] = pa.Field(unique=True)
    invoice_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(gt=0)

    @pa.dataframe_check
    def closed_on_or_after_opened(cls, df: pd.DataFrame) -> Series[bool]:
        if "closed_date" not in df:
            return pd.Series(True, index=df.index)
        return ~(df["closed_date"] < df["opened_date"])


class WriteOffModel(_Base):
    invoice_id: Series[str]
    amount_minor: Series[np.int64] = pa.Field(ne=0)

    @pa.dataframe_check
    def negative_only_for_recovery(cls, df: pd.DataFrame) -> Series[bool]:
        # A recovery reinstates a written-off receivable (negative write-off) so that the
        # recovered cash can be applied to the invoice: the usual ERP treatment.
        reason = df["reason"].fillna("").str.lower()
        return ~((df["amount_minor"] < 0) & (reason != "recovery"))


class ActivityModel(_Base):
    activity_id: Series[str] = pa.Field(unique=True)
    customer_id: Series[str]

    @pa.dataframe_check
    def promise_has_date_and_amount(cls, df: pd.DataFrame) -> Series[bool]:
        is_promise = df["kind"] == "promise_to_pay"
        has_date = df["promise_date"].notna() if "promise_date" in df else False
        has_amount = df["promise_amount_minor"].notna() if "promise_amount_minor" in df else False
        return ~(is_promise & ~(has_date & has_amount))


class FinancialsModel(_Base):
    customer_id: Series[str]
    current_assets_minor: Series[np.int64] = pa.Field(ge=0)
    current_liabilities_minor: Series[np.int64] = pa.Field(ge=0)
    total_assets_minor: Series[np.int64] = pa.Field(ge=0)
    total_liabilities_minor: Series[np.int64] = pa.Field(ge=0)


class BureauModel(_Base):
    customer_id: Series[str]
    paydex: Optional[Series[float]] = pa.Field(ge=0, le=100, nullable=True)
    failure_score: Optional[Series[float]] = pa.Field(ge=1, le=100, nullable=True)
    delinquency_score: Optional[Series[float]] = pa.Field(ge=1, le=100, nullable=True)
    recommended_limit_minor: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, nullable=True)
    derogatory_count: Optional[Series[pd.Int64Dtype]] = pa.Field(ge=0, nullable=True)


class TradeReferenceModel(_Base):
    customer_id: Series[str]
    high_credit_minor: Series[np.int64] = pa.Field(ge=0)
    balance_owing_minor: Series[np.int64] = pa.Field(ge=0)


class ReserveGLModel(_Base):
    period_end: Series[DateTimeNs] = pa.Field(unique=True, nullable=True)

    @pa.dataframe_check
    def rolls_forward(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["beginning_balance_minor"] + df["provision_minor"] - df["write_offs_minor"]
                + df["recoveries_minor"]) == df["ending_balance_minor"]


MODELS: dict[str, type[_Base]] = {
    "customers": CustomerModel, "invoices": InvoiceModel, "credit_memos": CreditMemoModel,
    "receipts": ReceiptModel, "applications": ApplicationModel, "disputes": DisputeModel,
    "write_offs": WriteOffModel, "activities": ActivityModel, "financials": FinancialsModel,
    "bureau": BureauModel, "trade_references": TradeReferenceModel, "reserve_gl": ReserveGLModel,
}

def _cell(raw: pd.DataFrame, i: int, column: str) -> str:
    """A raw cell as the file has it ('' when the column is absent)."""
    return str(raw[column].iloc[i]).strip() if column in raw.columns else ""


def _roll_forward_message(frame: pd.DataFrame, raw: pd.DataFrame, i: int) -> str:
    cur = frame["currency"].iloc[i]
    v = {c: int(frame[f"{c}_minor"].iloc[i]) for c in (
        "beginning_balance", "provision", "write_offs", "recoveries", "ending_balance")}
    got = v["beginning_balance"] + v["provision"] - v["write_offs"] + v["recoveries"]
    return (f"does not roll forward: beginning {_money(v['beginning_balance'], cur)} + provision "
            f"{_money(v['provision'], cur)} - write_offs {_money(v['write_offs'], cur)} + "
            f"recoveries {_money(v['recoveries'], cur)} = {_money(got, cur)}, not the ending "
            f"balance {_money(v['ending_balance'], cur)}")


# dataframe-level checks: the column a failure is reported under, and its message with the
# values that break the rule: (typed frame, raw frame, row) -> text
_FRAME_CHECKS = {
    "due_date_on_or_after_invoice_date": ("due_date", lambda f, r, i: (
        f"due date {_d(f['due_date'].iloc[i])} is before the invoice date "
        f"{_d(f['invoice_date'].iloc[i])}")),
    "closed_on_or_after_opened": ("closed_date", lambda f, r, i: (
        f"closed date {_d(f['closed_date'].iloc[i])} is before the opened date "
        f"{_d(f['opened_date'].iloc[i])}")),
    "negative_only_for_recovery": ("amount", lambda f, r, i: (
        f"amount {_amt(f, i)} with reason {_cell(r, i, 'reason')!r}: a negative write-off "
        "must have reason 'recovery'")),
    "promise_has_date_and_amount": ("promise_date", lambda f, r, i: (
        f"a promise_to_pay needs promise_date and promise_amount (promise_date "
        f"{_cell(r, i, 'promise_date')!r}, promise_amount {_cell(r, i, 'promise_amount')!r})")),
    "rolls_forward": ("ending_balance", _roll_forward_message),
}


# the input columns of each dataframe-level check: skipped where one failed typing
_FRAME_CHECK_INPUTS = {
    "due_date_on_or_after_invoice_date": ("invoice_date", "due_date"),
    "closed_on_or_after_opened": ("opened_date", "closed_date"),
    "negative_only_for_recovery": ("amount", "currency"),
    "promise_has_date_and_amount": ("promise_date", "promise_amount", "currency"),
    "rolls_forward": ("beginning_balance", "provision", "write_offs", "recoveries",
                      "ending_balance", "currency"),
}


def _check_message(check: str, value) -> str:
    if check == "field_uniqueness":
        return f"duplicate id '{value}'"
    if check == "not_nullable":
        return "is empty"
    for op, words in (("greater_than_or_equal_to", "at least"), ("less_than_or_equal_to",
                      "at most"), ("greater_than", "greater than"), ("less_than", "less than"),
                      ("not_equal_to", "different from"), ("in_range", "in range")):
        if check.startswith(op + "("):
            bound = check[len(op) + 1:-1]
            return f"must be {words} {bound}; got {value}"
    return f"fails check {check} (value {value})"


def _unminor(column: str | None) -> str | None:
    if column and column.endswith("_minor"):
        return column[: -len("_minor")]
    return column


def model_checks(table: TypedTable, raw: RawTable, problems: list[Problem]) -> None:
    """Run the table's pandera model (lazily: all failures) and record each as a Problem."""
    model = MODELS.get(table.name)
    if model is None or table.frame.empty:
        return
    spec = TABLES[table.name]
    coll = _Collector(spec, raw.frame, raw.lines, raw.file, problems, raw.named)
    # cells that failed typing hold placeholders: their rules are not checked again
    typed_bad = {(p.line, p.column) for p in problems if p.table == table.name} | raw.named
    try:
        model.validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()]
        seen: set[tuple] = set()
        for row in fc.itertuples(index=False):
            i = int(row.index)
            if row.check in _FRAME_CHECKS:
                column, describe = _FRAME_CHECKS[row.check]
                if any((int(raw.lines[i]), c) in typed_bad
                       for c in _FRAME_CHECK_INPUTS.get(row.check, ())):
                    continue      # an input failed typing: its placeholder is not judged
                message = describe(table.frame, raw.frame, i)
            else:
                column = _unminor(row.column)
                if row.check == "not_nullable":
                    continue  # already reported while typing (empty or unparseable cell)
                value = row.failure_case
                if column and column != row.column and value is not None:
                    cur = table.frame["currency"].iloc[i] if "currency" in table.frame else None
                    try:
                        value = format_amount(int(value), cur) if cur in MINOR_UNITS else value
                    except (TypeError, ValueError):
                        pass
                message = _check_message(row.check, value)
            line = int(raw.lines[i])
            if (i, column, message) in seen or (line, column) in typed_bad:
                continue
            if (line, "currency") in typed_bad and row.column and str(row.column).endswith("_minor"):
                continue  # an amount in an unknown currency cannot be judged
            seen.add((i, column, message))
            coll.add([i], column, message)


