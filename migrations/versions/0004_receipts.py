"""Delivery receipts (状态报告): notification statuses ``delivered`` and ``undelivered``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

- ``notifications.sender`` (which sender accepted the row), ``receipt_at`` and ``receipt_error``; the
  statuses ``delivered`` and ``undelivered``, which and only which carry ``receipt_at``.
- ``ix_notifications_provider_message_id``, for receipts matched by the provider's message id, and
  ``ix_notifications_unconfirmed``, for ``xingtu status``' count of sends no receipt confirmed yet.
- ``held_receipts``: receipts that arrived before their send was recorded, or match nothing.

On SQLite a changed CHECK means rebuilding ``notifications`` (Alembic's batch mode), which does not
reliably keep its partial index: it is dropped first and made again afterwards.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
STATUSES = "'pending', 'sending', 'sent', 'dead'"
NEW_STATUSES = STATUSES + ", 'delivered', 'undelivered'"
DUE = "status IN ('pending', 'sending')"
UNCONFIRMED = "status = 'sent' AND sender IN ('aliyun', 'tencent')"


def _partial(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


@contextmanager
def _notifications() -> Iterator:
    """``batch_alter_table("notifications")`` with its partial due index put back."""
    op.drop_index("ix_notifications_due", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        yield batch
    op.create_index("ix_notifications_due", "notifications", ["due_at", "id"], **_partial(DUE))


def _status_check(batch, statuses: str) -> None:
    batch.drop_constraint(op.f("ck_notifications_status_valid"), type_="check")
    batch.create_check_constraint(op.f("ck_notifications_status_valid"), f"status IN ({statuses})")


def upgrade() -> None:
    with _notifications() as notifications:
        notifications.add_column(sa.Column("sender", sa.String(200), nullable=True))
        notifications.add_column(sa.Column("receipt_at", sa.DateTime(timezone=True), nullable=True))
        notifications.add_column(sa.Column("receipt_error", sa.String(300), nullable=True))
        _status_check(notifications, NEW_STATUSES)
        notifications.create_check_constraint(
            op.f("ck_notifications_receipt_at_set"),
            "(status IN ('delivered', 'undelivered')) = (receipt_at IS NOT NULL)",
        )
    op.create_index(
        "ix_notifications_provider_message_id",
        "notifications",
        ["provider_message_id"],
        **_partial("provider_message_id IS NOT NULL"),
    )
    op.create_index("ix_notifications_unconfirmed", "notifications", ["sent_at"], **_partial(UNCONFIRMED))

    op.create_table(
        "held_receipts",
        sa.Column("id", ID, nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("out_id", sa.String(120), nullable=True),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_receipts")),
        sa.CheckConstraint("provider IN ('aliyun', 'tencent')", name=op.f("ck_held_receipts_provider_valid")),
        sa.UniqueConstraint("provider", "message_id", name=op.f("uq_held_receipts_provider_message_id")),
    )
    op.create_index("ix_held_receipts_out_id", "held_receipts", ["out_id"])
    op.create_index("ix_held_receipts_received_at", "held_receipts", ["received_at"])


def downgrade() -> None:
    """Back to 0003: a delivered or undelivered notification becomes ``sent`` again (0003 knows no
    receipts), and held receipts are dropped."""
    op.drop_table("held_receipts")
    op.drop_index("ix_notifications_unconfirmed", table_name="notifications")
    op.drop_index("ix_notifications_provider_message_id", table_name="notifications")
    op.execute(
        "UPDATE notifications SET status = 'sent', receipt_at = NULL WHERE status IN ('delivered', 'undelivered')"
    )
    with _notifications() as notifications:
        notifications.drop_constraint(op.f("ck_notifications_receipt_at_set"), type_="check")
        _status_check(notifications, STATUSES)
        for column in ("receipt_error", "receipt_at", "sender"):
            notifications.drop_column(column)
