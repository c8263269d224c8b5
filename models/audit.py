"""The audit trail: one append-only row per event on an order (triggers refuse UPDATE and DELETE)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Id, one_of
from models.states import OrderStatus, Role

Json = JSON().with_variant(JSONB(), "postgresql")


class OrderEvent(Base):
    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"), index=True)
    at: Mapped[datetime]
    actor_role: Mapped[Role]
    actor_id: Mapped[int | None] = mapped_column(Id)
    event: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[OrderStatus | None]
    to_status: Mapped[OrderStatus]
    details: Mapped[dict[str, Any]] = mapped_column(Json)

    __table_args__ = (
        one_of("actor_role", Role),
        one_of("from_status", OrderStatus),
        one_of("to_status", OrderStatus),
        CheckConstraint("(actor_role = 'system') = (actor_id IS NULL)", name="system_has_no_id"),
    )
