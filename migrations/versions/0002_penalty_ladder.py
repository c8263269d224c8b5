"""Penalty ladder: creator standing, violations, the creators' audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _partial(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    with op.batch_alter_table("creators") as creators:
        creators.add_column(sa.Column("status", sa.String(32), nullable=False, server_default="active"))
        creators.add_column(sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True))
        creators.add_column(sa.Column("violation_count", sa.Integer(), nullable=False, server_default="0"))
        creators.create_check_constraint(
            op.f("ck_creators_status_valid"), "status IN ('active', 'suspended', 'banned')"
        )
        creators.create_check_constraint(
            op.f("ck_creators_suspended_until_set"), "(status = 'suspended') = (suspended_until IS NOT NULL)"
        )
        creators.create_check_constraint(op.f("ck_creators_violation_count"), "violation_count >= 0")
    op.create_index("ix_creators_due_lift", "creators", ["suspended_until", "id"], **_partial("status = 'suspended'"))

    op.create_table(
        "violations",
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "creator_id",
            ID,
            sa.ForeignKey("creators.id", name=op.f("fk_violations_creator_id_creators")),
            nullable=False,
        ),  # fmt: skip
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evidence", sa.String(2000), nullable=False),
        sa.Column("sanction", sa.String(32), nullable=False),
        sa.Column("suspended_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
        sa.UniqueConstraint("creator_id", "number", name=op.f("uq_violations_creator_id_number")),
        sa.CheckConstraint(
            "sanction IN ('post_takedown', 'suspended_7d', 'suspended_3m', 'permanent_ban')",
            name=op.f("ck_violations_sanction_valid"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_violations_number_positive")),
        sa.CheckConstraint(
            "(sanction IN ('suspended_7d', 'suspended_3m')) = (suspended_until IS NOT NULL)",
            name=op.f("ck_violations_suspension_has_end"),
        ),
    )

    op.create_table(
        "creator_events",
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "creator_id",
            ID,
            sa.ForeignKey("creators.id", name=op.f("fk_creator_events_creator_id_creators")),
            nullable=False,
        ),  # fmt: skip
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_id", ID, nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("details", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creator_events")),
        sa.CheckConstraint(
            "actor_role IN ('client', 'creator', 'system')", name=op.f("ck_creator_events_actor_role_valid")
        ),
        sa.CheckConstraint(
            "(actor_role = 'system') = (actor_id IS NULL)", name=op.f("ck_creator_events_system_has_no_id")
        ),
    )
    op.create_index("ix_creator_events_creator_id", "creator_events", ["creator_id"])
    _append_only(("violations", "creator_events"))


def _append_only(tables: tuple[str, ...]) -> None:
    """The same guard 0001 put on the ledger and the order trail (its function is reused on PostgreSQL)."""
    for table in tables:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW"
                f" EXECUTE FUNCTION xingtu_refuse_change('{table} is append-only')"
            )
            continue
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("creator_events")
    op.drop_table("violations")
    op.drop_index("ix_creators_due_lift", table_name="creators")
    with op.batch_alter_table("creators") as creators:
        creators.drop_constraint(op.f("ck_creators_violation_count"), type_="check")
        creators.drop_constraint(op.f("ck_creators_suspended_until_set"), type_="check")
        creators.drop_constraint(op.f("ck_creators_status_valid"), type_="check")
        creators.drop_column("violation_count")
        creators.drop_column("suspended_until")
        creators.drop_column("status")
