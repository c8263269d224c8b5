"""Accounts: closing and reopening (关闭星图), MCN agencies, the creator record, the client trail.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

- ``mcns``; ``creators.mcn_id``, ``closed_at``, ``followers``, ``average_plays``; ``closed`` creators keep
  the end of a running suspension; ``clients.status`` and ``closed_at``; ``client_events``, append-only.
- Role ``mcn`` in the audit trails and as a notification recipient; kinds ``account_closed`` and
  ``account_reopened``.
- ``ix_orders_creator_record`` (creator, status, cancel reason, accepted) replaces ``ix_orders_creator_id``,
  so the record is read from the index alone.
- ``cancellation_requests.response_reason`` goes: since 0002's release nothing writes it, and every
  reason it held is also in the request's ``cancellation_rejected`` audit event.

On SQLite a changed CHECK means rebuilding the table (Alembic's batch mode). A rebuild keeps the
columns, rows and plain indexes, but not the triggers, and partial indexes are not reflected reliably:
``_rebuilt`` drops those first and makes them again afterwards.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

KINDS = (
    "'order_published', 'acceptance_reminder', 'cancellation_requested', 'cancellation_rejected',"
    " 'cancellation_withdrawn', 'cancellation_lapsed', 'order_cancelled', 'order_completed', 'sanction_applied',"
    " 'sanction_lifted'"
)
NEW_KINDS = KINDS + ", 'account_closed', 'account_reopened'"
ROLES = "'client', 'creator', 'system'"
NEW_ROLES = "'client', 'creator', 'mcn', 'system'"

# Partial indexes of the tables rebuilt on SQLite: (name, table, columns, condition, unique).
PARTIAL = {
    "creators": [("ix_creators_due_lift", ["suspended_until", "id"], "status = 'suspended'", False)],
    "notifications": [("ix_notifications_due", ["due_at", "id"], "status IN ('pending', 'sending')", False)],
    "cancellation_requests": [
        ("uq_cancellation_requests_one_open", ["order_id"], "status = 'open'", True),
        ("ix_cancellation_requests_due", ["respond_by", "id"], "status = 'open'", False),
    ],
}
APPEND_ONLY = ("order_events", "creator_events")  # the trails rebuilt here; client_events is new


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


@contextmanager
def _rebuilt(table: str) -> Iterator:
    """``batch_alter_table`` with the triggers and partial indexes it would lose put back."""
    sqlite = _sqlite()
    if sqlite:
        for name, *_ in PARTIAL.get(table, ()):
            op.drop_index(name, table_name=table)
    with op.batch_alter_table(table) as batch:
        yield batch
    if sqlite:
        for name, columns, condition, unique in PARTIAL.get(table, ()):
            clause = sa.text(condition)
            op.create_index(name, table, columns, unique=unique, sqlite_where=clause)
        if table in APPEND_ONLY:
            _append_only(table)


def _append_only(table: str) -> None:
    """The guard 0001 put on the ledger and the order trail (its function is reused on PostgreSQL)."""
    if not _sqlite():
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW"
            f" EXECUTE FUNCTION xingtu_refuse_change('{table} is append-only')"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table}"
            f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _recheck(batch, table: str, name: str, condition: str) -> None:
    batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
    batch.create_check_constraint(op.f(f"ck_{table}_{name}"), condition)


def upgrade() -> None:
    op.create_table(
        "mcns",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcns")),
    )
    with _rebuilt("clients") as clients:
        clients.add_column(sa.Column("status", sa.String(32), nullable=False, server_default="active"))
        clients.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        clients.create_check_constraint(op.f("ck_clients_status_valid"), "status IN ('active', 'closed')")
        clients.create_check_constraint(
            op.f("ck_clients_closed_at_set"), "(status = 'closed') = (closed_at IS NOT NULL)"
        )
    with _rebuilt("creators") as creators:
        creators.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        creators.add_column(sa.Column("followers", sa.BigInteger(), nullable=False, server_default="0"))
        creators.add_column(sa.Column("average_plays", sa.BigInteger(), nullable=False, server_default="0"))
        creators.add_column(sa.Column("mcn_id", ID, nullable=True))
        creators.create_foreign_key(op.f("fk_creators_mcn_id_mcns"), "mcns", ["mcn_id"], ["id"])
        _recheck(creators, "creators", "status_valid", "status IN ('active', 'suspended', 'banned', 'closed')")
        _recheck(creators, "creators", "suspended_until_set", "status <> 'suspended' OR suspended_until IS NOT NULL")
        creators.create_check_constraint(
            op.f("ck_creators_suspended_until_only_then"),
            "suspended_until IS NULL OR status IN ('suspended', 'closed')",
        )
        creators.create_check_constraint(
            op.f("ck_creators_closed_at_set"), "(status = 'closed') = (closed_at IS NOT NULL)"
        )
        creators.create_check_constraint(
            op.f("ck_creators_figures_not_negative"), "followers >= 0 AND average_plays >= 0"
        )
    op.create_index("ix_creators_mcn_id", "creators", ["mcn_id"])

    op.create_table(
        "client_events",
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "client_id",
            ID,
            sa.ForeignKey("clients.id", name=op.f("fk_client_events_client_id_clients")),
            nullable=False,
        ),  # fmt: skip
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("details", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_events")),
        sa.CheckConstraint(f"actor_role IN ({NEW_ROLES})", name=op.f("ck_client_events_actor_role_valid")),
        sa.CheckConstraint(
            "(actor_role = 'system') = (actor_id IS NULL)", name=op.f("ck_client_events_system_has_no_id")
        ),
    )
    op.create_index("ix_client_events_client_id", "client_events", ["client_id"])
    _append_only("client_events")

    for table in ("order_events", "creator_events"):
        with _rebuilt(table) as trail:
            _recheck(trail, table, "actor_role_valid", f"actor_role IN ({NEW_ROLES})")
    with _rebuilt("notifications") as notifications:
        _recheck(notifications, "notifications", "kind_valid", f"kind IN ({NEW_KINDS})")
        _recheck(
            notifications, "notifications", "recipient_role_valid", "recipient_role IN ('client', 'creator', 'mcn')"
        )
    with _rebuilt("cancellation_requests") as requests:
        requests.drop_column("response_reason")

    op.create_index("ix_orders_creator_record", "orders", ["creator_id", "status", "cancel_reason", "accepted_at"])
    op.drop_index("ix_orders_creator_id", table_name="orders")


def downgrade() -> None:
    """Back to 0002, for a database that holds no closed account, MCN or role ``mcn`` yet (the old
    CHECKs refuse them)."""
    op.create_index("ix_orders_creator_id", "orders", ["creator_id"])
    op.drop_index("ix_orders_creator_record", table_name="orders")
    with _rebuilt("cancellation_requests") as requests:
        requests.add_column(sa.Column("response_reason", sa.String(500), nullable=True))
    with _rebuilt("notifications") as notifications:
        _recheck(notifications, "notifications", "kind_valid", f"kind IN ({KINDS})")
        _recheck(notifications, "notifications", "recipient_role_valid", "recipient_role IN ('client', 'creator')")
    for table in ("order_events", "creator_events"):
        with _rebuilt(table) as trail:
            _recheck(trail, table, "actor_role_valid", f"actor_role IN ({ROLES})")
    op.drop_table("client_events")
    op.drop_index("ix_creators_mcn_id", table_name="creators")
    with _rebuilt("creators") as creators:
        for name in ("figures_not_negative", "closed_at_set", "suspended_until_only_then"):
            creators.drop_constraint(op.f(f"ck_creators_{name}"), type_="check")
        _recheck(creators, "creators", "suspended_until_set", "(status = 'suspended') = (suspended_until IS NOT NULL)")
        _recheck(creators, "creators", "status_valid", "status IN ('active', 'suspended', 'banned')")
        creators.drop_constraint(op.f("fk_creators_mcn_id_mcns"), type_="foreignkey")
        for column in ("mcn_id", "average_plays", "followers", "closed_at"):
            creators.drop_column(column)
    with _rebuilt("clients") as clients:
        clients.drop_constraint(op.f("ck_clients_closed_at_set"), type_="check")
        clients.drop_constraint(op.f("ck_clients_status_valid"), type_="check")
        clients.drop_column("closed_at")
        clients.drop_column("status")
    op.drop_table("mcns")
