"""The two sides of an order: clients (brands) and creators."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Id, one_of, partial
from models.states import CreatorStatus


class Party:
    """Columns both sides share. Phones are stored in E.164 and never shown unmasked."""

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Client(Party, Base):
    __tablename__ = "clients"


class Creator(Party, Base):
    """A creator, and where they stand on the penalty ladder: ``violation_count`` numbers the next
    violation (under this row's lock), ``suspended_until`` is set exactly while suspended."""

    __tablename__ = "creators"

    status: Mapped[CreatorStatus] = mapped_column(default=CreatorStatus.ACTIVE, server_default="active")
    suspended_until: Mapped[datetime | None]
    violation_count: Mapped[int] = mapped_column(default=0, server_default="0")

    __table_args__ = (
        one_of("status", CreatorStatus),
        CheckConstraint("(status = 'suspended') = (suspended_until IS NOT NULL)", name="suspended_until_set"),
        CheckConstraint("violation_count >= 0", name="violation_count"),
        Index("ix_creators_due_lift", "suspended_until", "id", **partial("status = 'suspended'")),
    )
