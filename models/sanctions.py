"""Violations of the off-platform rule (append-only); what each did is also in the creator's trail
(``models.trails``)."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Id, one_of
from models.states import Sanction


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
