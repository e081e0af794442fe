"""The state database's tables: records (activities, credit decisions, cash matches,
adjustments, dispute events), the audit log and the schema version."""

from __future__ import annotations


import sqlalchemy as sa



SCHEMA_VERSION = 3

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("applied_at", sa.String(40), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)


def _record_columns(prefix: str) -> list[sa.Column]:
    """Columns every append-only record carries: who, when, what it corrects."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("supersedes", sa.Integer, sa.ForeignKey(f"{prefix}.id"), nullable=True),
        sa.Column("correction_reason", sa.Text, nullable=True),
        # a double-click or a retried request carries the same key: recorded once
        sa.Column("idempotency_key", sa.String(200), nullable=True),
    ]


activities = sa.Table(
    "activities", metadata, *_record_columns("activities"),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),            # when it happened (ISO 8601)
    sa.Column("collector", sa.String(200), nullable=False),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("promise_date", sa.String(10), nullable=True),
    sa.Column("promise_amount_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
)

credit_decisions = sa.Table(
    "credit_decisions", metadata, *_record_columns("credit_decisions"),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("decision", sa.String(40), nullable=False),      # approve, approve_other, decline, hold
    sa.Column("limit_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("recommended_limit_minor", sa.BigInteger, nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("approver", sa.String(200), nullable=False),
    sa.Column("approver_level", sa.String(40), nullable=True),
    sa.Column("policy_version", sa.String(80), nullable=True),
    sa.Column("ledger_hash", sa.String(64), nullable=True),
)

cash_matches = sa.Table(
    "cash_matches", metadata, *_record_columns("cash_matches"),
    sa.Column("receipt_id", sa.String(100), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("rule", sa.String(60), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),        # posted, reversed, deduction
    sa.Column("approved_by", sa.String(200), nullable=False),
    sa.Column("ledger_hash", sa.String(64), nullable=True),
)

adjustments = sa.Table(
    "adjustments", metadata, *_record_columns("adjustments"),
    # one row per event of an adjustment (proposed, approved, refused, exported, withdrawn);
    # the rows of one adjustment share its adjustment_id, the latest is its state
    sa.Column("adjustment_id", sa.String(100), nullable=False, index=True),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),           # credit_memo, write_off
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("source", sa.String(40), nullable=True),          # dispute, short_pay, small_balance, ...
    sa.Column("reason_code", sa.String(60), nullable=True),
    sa.Column("evidence", sa.Text, nullable=True),              # JSON: what supports it
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("authority", sa.String(40), nullable=True),       # the actor's approval level
    sa.Column("export_batch", sa.String(100), nullable=True),
    sa.Column("ledger_hash", sa.String(64), nullable=True),
)

dispute_events = sa.Table(
    "dispute_events", metadata, *_record_columns("dispute_events"),
    # one row per event of a dispute (opened, assigned, status, note, resolved); the rows of
    # one dispute share its dispute_id (the ledger's, or one made here)
    sa.Column("dispute_id", sa.String(100), nullable=False, index=True),
    sa.Column("customer_id", sa.String(100), nullable=False, index=True),
    sa.Column("invoice_id", sa.String(100), nullable=True),
    sa.Column("event", sa.String(20), nullable=False),
    sa.Column("owner", sa.String(40), nullable=True),           # order_management, billing, sales, collector
    sa.Column("owner_name", sa.String(200), nullable=True),
    sa.Column("due_date", sa.String(10), nullable=True),
    sa.Column("status", sa.String(30), nullable=True),
    sa.Column("reason_code", sa.String(60), nullable=True),
    sa.Column("amount_minor", sa.BigInteger, nullable=True),
    sa.Column("currency", sa.String(3), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),        # append, correct, migrate
    sa.Column("table_name", sa.String(60), nullable=False),
    sa.Column("row_id", sa.Integer, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),              # the row, JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

RECORD_TABLES = {t.name: t for t in (activities, credit_decisions, cash_matches, adjustments,
                                      dispute_events)}
for _t in RECORD_TABLES.values():
    sa.Index(f"ux_{_t.name}_idempotency_key", _t.c.idempotency_key, unique=True)
_APPEND_ONLY = [*RECORD_TABLES, "audit_log", "schema_version"]
# the tables schema version 2 made append-only (its migration stays as it was)
_APPEND_ONLY_V2 = ["activities", "credit_decisions", "cash_matches", "audit_log", "schema_version"]


