"""The parties: clients (brands), creators, and the MCN agencies (MCN机构) that act for the creators
they sign."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Id, one_of, partial
from models.states import ClientStatus, CreatorStatus


class Party:
    """Columns every party shares. Phones are stored in E.164 and never shown unmasked."""

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Client(Party, Base):
    """A brand. ``closed_at`` is set exactly while the account is closed (关闭星图)."""

    __tablename__ = "clients"

    status: Mapped[ClientStatus] = mapped_column(default=ClientStatus.ACTIVE, server_default="active")
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        one_of("status", ClientStatus),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at_set"),
    )


class Mcn(Party, Base):
    """An MCN agency. Which creators it signs is ``creators.mcn_id``; its history is in their trails."""

    __tablename__ = "mcns"


class Creator(Party, Base):
    """A creator, and where they stand.

    ``violation_count`` numbers the next violation on the penalty ladder (under this row's lock).
    ``suspended_until`` is the end of a suspension that has not been lifted: set while ``suspended``,
    and kept while ``closed`` when a suspension was running, so that reopening knows whether it still
    runs. ``closed_at`` is set exactly while closed. ``followers`` and ``average_plays`` are synced from
    Douyin; the rest of what brands see is computed from the orders (``worker.services.creator_record``).
    """

    __tablename__ = "creators"

    status: Mapped[CreatorStatus] = mapped_column(default=CreatorStatus.ACTIVE, server_default="active")
    suspended_until: Mapped[datetime | None]
    violation_count: Mapped[int] = mapped_column(default=0, server_default="0")
    closed_at: Mapped[datetime | None]
    followers: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    average_plays: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    mcn_id: Mapped[int | None] = mapped_column(Id, ForeignKey("mcns.id"), index=True)

    __table_args__ = (
        one_of("status", CreatorStatus),
        CheckConstraint("status <> 'suspended' OR suspended_until IS NOT NULL", name="suspended_until_set"),
        CheckConstraint(
            "suspended_until IS NULL OR status IN ('suspended', 'closed')", name="suspended_until_only_then"
        ),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_at_set"),
        CheckConstraint("violation_count >= 0", name="violation_count"),
        CheckConstraint("followers >= 0 AND average_plays >= 0", name="figures_not_negative"),
        Index("ix_creators_due_lift", "suspended_until", "id", **partial("status = 'suspended'")),
    )
