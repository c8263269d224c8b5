"""Idempotency keys chosen by callers (the task API's ``idempotency_key``, the CLI's
``--idempotency-key``): one row per key, written in the transaction of the call's effects.

``fingerprint`` is a hash of the call (its task or command name and its arguments), so the same key
with other arguments is told apart; ``answer`` is the call's JSON answer exactly as it was first
given, which a repeat answers again. ``answer`` is NULL only inside the transaction that claimed the
key: the row is inserted first, so a second call with the key waits on it instead of applying twice
(``worker.services.idempotency``). The scan forgets keys older than ``XINGTU_IDEMPOTENCY_WINDOW``.
"""

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    call: Mapped[str] = mapped_column(String(100))  # ``xingtu.publish_order``, ``xingtu order publish``
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 hex of the canonical call
    answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)
