"""Violations of the off-platform rule and the creator's own audit trail (both append-only)."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import Json
from models.base import Base, Id, one_of
from models.states import Role, Sanction


class Violation(Base):
    """One recorded violation: its number on the ladder and the sanction that number carries."""

    __tablename__ = "violations"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    creator_id: Mapped[int] = mapped_column(Id, ForeignKey("creators.id"))
    number: Mapped[int]
    at: Mapped[datetime]
    evidence: Mapped[str] = mapped_column(String(2000))
    sanction: Mapped[Sanction]
    suspended_until: Mapped[datetime | None]

    __table_args__ = (
        one_of("sanction", Sanction),
        UniqueConstraint("creator_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "(sanction IN ('suspended_7d', 'suspended_3m')) = (suspended_until IS NOT NULL)",
            name="suspension_has_end",
        ),
    )


class CreatorEvent(Base):
    """The audit trail of a creator's standing: violations recorded, suspensions lifted."""

    __tablename__ = "creator_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    creator_id: Mapped[int] = mapped_column(Id, ForeignKey("creators.id"), index=True)
    at: Mapped[datetime]
    actor_role: Mapped[Role]
    actor_id: Mapped[int | None] = mapped_column(Id)
    event: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (
        one_of("actor_role", Role),
        CheckConstraint("(actor_role = 'system') = (actor_id IS NULL)", name="system_has_no_id"),
    )
