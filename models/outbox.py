"""The notification outbox: one row per recipient per event, written with the state change.

A row holds the message's ``kind`` and ``params``; its text is rendered from them when it is shown or
sent (``worker.notify.messages.render``), so a batch of thousands is written by set-based SQL.

``idempotency_key`` names the event and recipient (``order-7:order_cancelled:client``), so the unique
index is a second guard against a double write, and the key handed to the sender is the same on every
retry. ``due_at`` is when the row may next be tried: a row being sent is `sending` with ``due_at`` at the
end of its lease, so a worker that dies mid-send leaves it due again once the lease ends.

``sender`` names the sender that accepted the row; a provider's delivery receipt (``models.receipts``)
then moves a `sent` row to `delivered` or `undelivered`, with the receipt's instant and the provider's
error. Receipts are matched by ``provider_message_id`` (indexed) or by the idempotency key.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.audit import Json
from models.base import Base, Id, one_of, partial
from models.states import RECEIPT_SENDERS, NotificationKind, NotificationStatus, Role

# Sent by a sender that gets receipts, no receipt yet: what ``xingtu status`` counts as unconfirmed.
UNCONFIRMED = f"status = 'sent' AND sender IN ({', '.join(repr(name) for name in RECEIPT_SENDERS)})"


# Only sent rows have one: the index of receipts' look-ups holds those alone.
HAS_MESSAGE_ID = "provider_message_id IS NOT NULL"


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
    sender: Mapped[str | None] = mapped_column(String(200))
    receipt_at: Mapped[datetime | None]  # when the provider says the phone took it (or gave up)
    receipt_error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        one_of("kind", NotificationKind),
        CheckConstraint("recipient_role IN ('client', 'creator', 'mcn')", name="recipient_role_valid"),
        one_of("status", NotificationStatus),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("(status IN ('delivered', 'undelivered')) = (receipt_at IS NOT NULL)", name="receipt_at_set"),
        Index("ix_notifications_due", "due_at", "id", **partial("status IN ('pending', 'sending')")),
        Index("ix_notifications_provider_message_id", "provider_message_id", **partial(HAS_MESSAGE_ID)),
        Index("ix_notifications_unconfirmed", "sent_at", **partial(UNCONFIRMED)),
    )
