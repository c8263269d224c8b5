"""Delivery receipts (状态报告) that arrived before they could be applied.

A receipt moves a `sent` notification to `delivered` or `undelivered` as soon as it arrives. One for a
notification whose send is not recorded yet (the provider's push can beat the worker's commit, or the
send's outcome was unknown and is being looked up) waits here and is applied when the send is recorded;
one that matches no notification at all waits here too, where ``xingtu status`` counts it, until the
scan forgets it (``worker.services.receipts.HELD_FOR``). A receipt pushed twice is held once.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Id
from models.states import RECEIPT_SENDERS


class HeldReceipt(Base):
    __tablename__ = "held_receipts"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200))  # Aliyun's BizId, Tencent's SerialNo (sid)
    out_id: Mapped[str | None] = mapped_column(String(120))  # Aliyun's OutId: the idempotency key
    delivered: Mapped[bool]
    error: Mapped[str | None] = mapped_column(String(300))
    reported_at: Mapped[datetime]
    received_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"provider IN ({', '.join(repr(name) for name in RECEIPT_SENDERS)})", name="provider_valid"),
        UniqueConstraint("provider", "message_id"),
        Index("ix_held_receipts_out_id", "out_id"),
        Index("ix_held_receipts_received_at", "received_at"),
    )
