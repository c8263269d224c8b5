"""The parties' own append-only trails (triggers refuse UPDATE and DELETE), beside the orders' trail in
``models.audit``: a creator's standing (violations, suspensions lifted, closing and reopening, MCN
signing and release, synced figures) and a client's account (closing and reopening)."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import Json
from models.base import Base, Id, one_of
from models.states import Role


class PartyEvent:
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    actor_role: Mapped[Role]
    actor_id: Mapped[int | None] = mapped_column(Id)
    event: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(Json)


class CreatorEvent(PartyEvent, Base):
    __tablename__ = "creator_events"

    creator_id: Mapped[int] = mapped_column(Id, ForeignKey("creators.id"), index=True)

    __table_args__ = (
        one_of("actor_role", Role),
        CheckConstraint("(actor_role = 'system') = (actor_id IS NULL)", name="system_has_no_id"),
    )


class ClientEvent(PartyEvent, Base):
    __tablename__ = "client_events"

    client_id: Mapped[int] = mapped_column(Id, ForeignKey("clients.id"), index=True)

    __table_args__ = (
        one_of("actor_role", Role),
        CheckConstraint("(actor_role = 'system') = (actor_id IS NULL)", name="system_has_no_id"),
    )
