"""The notification outbox: one row per recipient per event, written with the state change.

A row holds the message's ``kind`` and ``params``; its text is rendered from them when it is shown or
sent (``worker.notify.messages.render``), so a batch of thousands is written by set-based SQL.

``idempotency_key`` names the event and recipient (``order-7:order_cancelled:client``), so the unique
index is a second guard against a double write, and the key handed to the sender is the same on every
retry. ``due_at`` is when the row may next be tried: a row being sent is `sending` with ``due_at`` at the
end of its lease, so a worker that dies mid-send leaves it due again once the lease ends.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import Json
from models.base import Base, Id, one_of, partial
from models.states import NotificationKind, NotificationStatus, Role


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[NotificationKind]
    order_id: Mapped[int | None] = mapped_column(Id, ForeignKey("orders.id"), index=True)
    recipient_role: Mapped[Role]
    recipient_id: Mapped[int] = mapped_column(Id)
    phone: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[NotificationStatus]
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        one_of("kind", NotificationKind),
        CheckConstraint("recipient_role IN ('client', 'creator', 'mcn')", name="recipient_role_valid"),
        one_of("status", NotificationStatus),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_notifications_due", "due_at", "id", **partial("status IN ('pending', 'sending')")),
    )
