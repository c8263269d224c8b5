"""Initial schema: parties, orders, cancellation requests, ledger, audit trail, notification outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-27

Frozen on purpose: it spells out its own types instead of importing the models, so it creates the
same schema however the models change later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER_STATUSES = "('pending', 'accepted', 'completed', 'cancelled')"
APPEND_ONLY = ("ledger_entries", "order_events")


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _table(name: str, *items: sa.Column | sa.Constraint) -> None:
    """``op.create_table`` with the id primary key, naming constraints as the models' naming convention
    does; ``op.f`` marks each name final so Alembic does not apply the convention a second time."""
    named = [
        sa.CheckConstraint(item.sqltext, name=op.f(f"ck_{name}_{item.name}"))
        if isinstance(item, sa.CheckConstraint)
        else item
        for item in items
    ]
    op.create_table(
        name, sa.Column("id", ID, nullable=False), *named, sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}"))
    )


def _ref(owner: str, name: str, table: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, ID, sa.ForeignKey(f"{table}.id", name=op.f(f"fk_{owner}_{name}_{table}")), nullable=nullable)


def _instant(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _word(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(32), nullable=nullable)


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False)


def _check(condition: str, name: str) -> sa.CheckConstraint:
    """A CHECK named ``ck_<table>_<name>`` once ``_table`` places it."""
    return sa.CheckConstraint(condition, name=name)


def _partial(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def _parties(table: str) -> None:
    _table(
        table,
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        _instant("created_at"),
    )


def upgrade() -> None:
    _parties("clients")
    _parties("creators")
    _table(
        "orders",
        _ref("orders", "client_id", "clients"),
        _ref("orders", "creator_id", "creators"),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        _word("status"),
        _instant("published_at"),
        _instant("accept_deadline"),
        _instant("remind_at", nullable=True),
        _instant("accepted_at", nullable=True),
        _instant("first_upload_at", nullable=True),
        sa.Column("upload_count", sa.Integer(), nullable=False),
        _instant("completed_at", nullable=True),
        _instant("cancelled_at", nullable=True),
        _word("cancel_reason", nullable=True),
        sa.Column("creator_payout_fen", sa.BigInteger(), nullable=True),
        sa.Column("client_refund_fen", sa.BigInteger(), nullable=True),
        _instant("updated_at"),
        sa.Column("version", sa.Integer(), nullable=False),
        _check(f"status IN {ORDER_STATUSES}", "status_valid"),
        _check(
            "cancel_reason IN ('acceptance_timeout', 'client_cancelled', 'creator_declined', 'creator_cancelled')",
            "cancel_reason_valid",
        ),
        _check("amount_fen BETWEEN 1 AND 100000000000", "amount_range"),
        _check("upload_count >= 0", "upload_count"),
        _check("accept_deadline > published_at", "deadline_after_publish"),
        _check(
            "(status IN ('pending', 'accepted') AND creator_payout_fen IS NULL AND client_refund_fen IS NULL)"
            " OR (status IN ('completed', 'cancelled') AND creator_payout_fen >= 0 AND client_refund_fen >= 0"
            " AND creator_payout_fen + client_refund_fen = amount_fen)",
            "money_adds_up",
        ),
        _check(
            "(status = 'cancelled' AND cancel_reason IS NOT NULL AND cancelled_at IS NOT NULL)"
            " OR (status <> 'cancelled' AND cancel_reason IS NULL AND cancelled_at IS NULL)",
            "cancelled_has_reason",
        ),
        _check("status <> 'completed' OR (completed_at IS NOT NULL AND upload_count >= 1)", "completed_after_upload"),
    )
    op.create_index("ix_orders_client_id", "orders", ["client_id"])
    op.create_index("ix_orders_creator_id", "orders", ["creator_id"])
    op.create_index("ix_orders_status_id", "orders", ["status", "id"])
    op.create_index("ix_orders_due_acceptance", "orders", ["accept_deadline", "id"], **_partial("status = 'pending'"))
    op.create_index("ix_orders_due_reminder", "orders", ["remind_at", "id"], **_partial("remind_at IS NOT NULL"))

    _table(
        "cancellation_requests",
        _ref("cancellation_requests", "order_id", "orders"),
        _word("initiator"),
        sa.Column("reason", sa.String(500), nullable=False),
        _word("status"),
        _instant("requested_at"),
        _instant("respond_by", nullable=True),
        sa.Column("compensation_fen", sa.BigInteger(), nullable=False),
        _instant("resolved_at", nullable=True),
        sa.Column("response_reason", sa.String(500), nullable=True),
        _check("status IN ('open', 'confirmed', 'rejected', 'withdrawn', 'auto_confirmed', 'lapsed')", "status_valid"),
        _check("initiator IN ('client', 'creator')", "initiator_valid"),
        _check("compensation_fen >= 0", "compensation_not_negative"),
        _check("(status = 'open') = (resolved_at IS NULL)", "resolved_unless_open"),
    )
    op.create_index("ix_cancellation_requests_order_id", "cancellation_requests", ["order_id"])
    op.create_index(
        "uq_cancellation_requests_one_open",
        "cancellation_requests",
        ["order_id"],
        unique=True,
        **_partial("status = 'open'"),
    )
    op.create_index(
        "ix_cancellation_requests_due", "cancellation_requests", ["respond_by", "id"], **_partial("status = 'open'")
    )

    _table(
        "ledger_entries",
        _ref("ledger_entries", "order_id", "orders"),
        _word("kind"),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        _instant("at"),
        _check("kind IN ('escrow', 'creator_payout', 'client_refund')", "kind_valid"),
        _check("amount_fen > 0", "amount_positive"),
    )
    op.create_index("ix_ledger_entries_order_id", "ledger_entries", ["order_id"])

    _table(
        "order_events",
        _ref("order_events", "order_id", "orders"),
        _instant("at"),
        _word("actor_role"),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        _word("from_status", nullable=True),
        _word("to_status"),
        _json("details"),
        _check("actor_role IN ('client', 'creator', 'system')", "actor_role_valid"),
        _check(f"from_status IN {ORDER_STATUSES}", "from_status_valid"),
        _check(f"to_status IN {ORDER_STATUSES}", "to_status_valid"),
        _check("(actor_role = 'system') = (actor_id IS NULL)", "system_has_no_id"),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])

    _table(
        "notifications",
        sa.Column("idempotency_key", sa.String(120), nullable=False),
        _word("kind"),
        _ref("notifications", "order_id", "orders", nullable=True),
        _word("recipient_role"),
        sa.Column("recipient_id", ID, nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        _json("params"),
        _word("status"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("created_at"),
        _instant("due_at"),
        _instant("sent_at", nullable=True),
        sa.Column("provider_message_id", sa.String(200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _check(
            "kind IN ('order_published', 'acceptance_reminder', 'cancellation_requested',"
            " 'cancellation_rejected', 'cancellation_withdrawn', 'cancellation_lapsed', 'order_cancelled',"
            " 'order_completed', 'sanction_applied', 'sanction_lifted')",
            "kind_valid",
        ),
        _check("recipient_role IN ('client', 'creator')", "recipient_role_valid"),
        _check("status IN ('pending', 'sending', 'sent', 'dead')", "status_valid"),
        _check("attempts >= 0", "attempts_not_negative"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notifications_idempotency_key")),
    )
    op.create_index("ix_notifications_order_id", "notifications", ["order_id"])
    op.create_index(
        "ix_notifications_due", "notifications", ["due_at", "id"], **_partial("status IN ('pending', 'sending')")
    )
    _create_guards()


def _create_guards() -> None:
    """Triggers for what CHECKs cannot say: the ledger and the audit trail are append-only, and a
    finished order (completed or cancelled) never changes again."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION xingtu_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW"
                f" EXECUTE FUNCTION xingtu_refuse_change('{table} is append-only')"
            )
        op.execute(
            "CREATE TRIGGER orders_terminal BEFORE UPDATE ON orders FOR EACH ROW"
            " WHEN (OLD.status IN ('completed', 'cancelled'))"
            " EXECUTE FUNCTION xingtu_refuse_change('a finished order never changes')"
        )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    op.execute(
        "CREATE TRIGGER orders_terminal BEFORE UPDATE ON orders"
        " WHEN OLD.status IN ('completed', 'cancelled')"
        " BEGIN SELECT RAISE(ABORT, 'a finished order never changes'); END"
    )


def downgrade() -> None:
    for table in ("notifications", "order_events", "ledger_entries", "cancellation_requests", "orders"):
        op.drop_table(table)
    op.drop_table("creators")
    op.drop_table("clients")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION xingtu_refuse_change()")
