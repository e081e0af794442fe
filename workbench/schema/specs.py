"""Column specs of the canonical tables (DATA_MODEL.md): names, kinds, required and optional
columns, keys."""

from __future__ import annotations

from dataclasses import dataclass

ID, TEXT, DATE, TIMESTAMP, MONEY, INT, NUMBER, DECIMAL, CURRENCY, CHOICE = (
    "id", "text", "date", "timestamp", "money", "int", "number", "decimal", "currency", "choice")


@dataclass(frozen=True)
class Col:
    """One column of a canonical table."""

    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    #: may a present column hold empty cells? Optional columns may (an empty cell is a
    #: value not given); a required column may not, unless DATA_MODEL.md says so
    #: (``receipts.payer_name`` and ``receipts.reference``: a bank line may lack them)
    nullable: bool = False

    @property
    def frame_name(self) -> str:
        """Name inside the Ledger frames: money columns carry ``_minor``."""
        return f"{self.name}_minor" if self.kind == MONEY else self.name


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]          # the row id shown in messages
    unique_key: bool = True       # is ``key`` a primary key?
    money_currency_from: str | None = None  # where money inherits currency when absent

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def money(self) -> list[Col]:
        return [c for c in self.columns if c.kind == MONEY]

    @property
    def may_be_empty(self) -> list[str]:
        """The required columns whose cells may nevertheless be empty (DATA_MODEL.md)."""
        return [c.name for c in self.columns if c.required and c.nullable]


def _c(name, kind, required=True, choices=(), nullable=None):
    """A column; ``nullable`` defaults to "optional columns may be empty, required ones
    may not" (DATA_MODEL.md), so only the exceptions are spelled out below."""
    if nullable is None:
        nullable = not required
    return Col(name, kind, required, tuple(choices), nullable)


ACTIVITY_KINDS = ("call", "email", "letter", "promise_to_pay", "dispute", "escalation",
                  "note", "suspension")
CUSTOMER_STATUS = ("active", "suspended", "closed")
DISPUTE_RESOLUTIONS = ("credit_memo", "paid", "withdrawn", "written_off")
LANGUAGES = ("en", "es", "pt")
#: The customer-master fields a ``customer_changes`` row may change.
CUSTOMER_CHANGE_FIELDS = ("credit_limit", "status", "segment", "collector", "payment_terms_days")

_FREE_TEXT = frozenset({"note", "description", "reference", "reason", "po_number"})
_ANY_CONTROL = "[\\x00-\\x1f\\x7f]"
_FREE_TEXT_CONTROL = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
SUM_LIMIT_MINOR = 2 ** 62    # amounts of one table together, in minor units

TABLES: dict[str, TableSpec] = {t.name: t for t in [
    TableSpec("customers", (
        _c("customer_id", ID), _c("name", TEXT), _c("currency", CURRENCY),
        _c("payment_terms_days", INT),
        _c("country", TEXT, False), _c("segment", TEXT, False), _c("collector", TEXT, False),
        _c("sales_rep", TEXT, False), _c("credit_limit", MONEY, False),
        _c("parent_id", ID, False),
        _c("status", CHOICE, False, CUSTOMER_STATUS),
        _c("language", CHOICE, False, LANGUAGES),
    ), key=("customer_id",)),
    TableSpec("invoices", (
        _c("invoice_id", ID), _c("customer_id", ID), _c("invoice_date", DATE),
        _c("due_date", DATE), _c("amount", MONEY), _c("currency", CURRENCY, False),
        _c("po_number", TEXT, False), _c("description", TEXT, False),
    ), key=("invoice_id",), money_currency_from="customer"),
    TableSpec("credit_memos", (
        _c("credit_memo_id", ID), _c("customer_id", ID), _c("date", DATE), _c("amount", MONEY),
        _c("currency", CURRENCY, False), _c("invoice_id", ID, False),
        _c("reason", TEXT, False),
    ), key=("credit_memo_id",), money_currency_from="customer"),
    TableSpec("receipts", (
        _c("receipt_id", ID), _c("receipt_date", DATE), _c("amount", MONEY),
        # a bank line may carry no payer name or no reference: the two required columns
        # whose cells may be empty
        _c("payer_name", TEXT, nullable=True), _c("reference", TEXT, nullable=True),
        _c("customer_id", ID, False), _c("currency", CURRENCY, False),
        _c("bank_account", TEXT, False), _c("value_date", DATE, False),
    ), key=("receipt_id",), money_currency_from="customer"),
    TableSpec("applications", (
        _c("receipt_id", ID), _c("invoice_id", ID), _c("amount", MONEY),
        _c("applied_date", DATE), _c("currency", CURRENCY, False),
    ), key=("receipt_id", "invoice_id"), unique_key=False, money_currency_from="invoice"),
    TableSpec("disputes", (
        _c("dispute_id", ID), _c("invoice_id", ID), _c("opened_date", DATE),
        _c("reason_code", TEXT), _c("amount", MONEY),
        _c("currency", CURRENCY, False), _c("closed_date", DATE, False),
        _c("resolution", CHOICE, False, DISPUTE_RESOLUTIONS),
    ), key=("dispute_id",), money_currency_from="invoice"),
    TableSpec("write_offs", (
        _c("invoice_id", ID), _c("date", DATE), _c("amount", MONEY), _c("reason", TEXT),
        _c("currency", CURRENCY, False), _c("approved_by", TEXT, False),
    ), key=("invoice_id", "date"), unique_key=False, money_currency_from="invoice"),
    TableSpec("activities", (
        _c("activity_id", ID), _c("customer_id", ID), _c("timestamp", TIMESTAMP),
        _c("kind", CHOICE, choices=ACTIVITY_KINDS), _c("collector", TEXT),
        _c("invoice_id", ID, False), _c("note", TEXT, False),
        _c("promise_date", DATE, False),
        _c("promise_amount", MONEY, False), _c("currency", CURRENCY, False),
    ), key=("activity_id",), money_currency_from="customer"),
    TableSpec("financials", (
        _c("customer_id", ID), _c("period_end", DATE),
        *(_c(n, MONEY) for n in ("current_assets", "current_liabilities", "total_assets",
                                  "total_liabilities", "revenue", "net_income")),
        *(_c(n, MONEY, False) for n in (
            "cash", "inventory", "receivables", "intangibles", "ebit", "interest_expense",
            "operating_cash_flow")),
        _c("currency", CURRENCY, False),
    ), key=("customer_id", "period_end"), money_currency_from="customer"),
    TableSpec("bureau", (
        _c("customer_id", ID), _c("report_date", DATE),
        _c("paydex", NUMBER, False), _c("failure_score", NUMBER, False),
        _c("delinquency_score", NUMBER, False), _c("recommended_limit", MONEY, False),
        _c("years_in_business", NUMBER, False), _c("derogatory_count", INT, False),
        _c("currency", CURRENCY, False),
    ), key=("customer_id", "report_date"), money_currency_from="customer"),
    TableSpec("trade_references", (
        _c("customer_id", ID), _c("reference_name", TEXT),
        _c("report_date", DATE), _c("high_credit", MONEY), _c("balance_owing", MONEY),
        _c("days_beyond_terms", INT), _c("terms_days", INT, False),
        _c("currency", CURRENCY, False),
    ), key=("customer_id", "reference_name", "report_date"), money_currency_from="customer"),
    TableSpec("fx_rates", (
        _c("date", DATE), _c("currency", CURRENCY), _c("rate_to_report", DECIMAL),
    ), key=("date", "currency")),
    TableSpec("reserve_gl", (
        _c("period_end", DATE),
        *(_c(n, MONEY) for n in ("beginning_balance", "provision", "write_offs", "recoveries",
                                  "ending_balance")),
        _c("currency", CURRENCY, False),
    ), key=("period_end",), money_currency_from="report"),
    # the history of the customer master: the value in force on a date is the latest change
    # on or before it (see workbench.master); ``value`` is text, judged by its ``field``
    TableSpec("customer_changes", (
        _c("customer_id", ID), _c("effective_date", DATE),
        _c("field", CHOICE, choices=CUSTOMER_CHANGE_FIELDS), _c("value", TEXT),
    ), key=("customer_id", "effective_date", "field"), unique_key=False),
]}

#: Load order: a table's currency may come from the tables before it.
TABLE_ORDER = list(TABLES)
REQUIRED_TABLES = ("customers", "invoices")


