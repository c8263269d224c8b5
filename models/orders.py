"""Orders and their cancellation requests: one aggregate, locked and versioned through the order row.

Every change to a request also touches its order (``updated_at``), so the order's version guards the
whole aggregate: a write that lost a race updates no row and raises instead of overwriting.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Fen, Id, one_of, partial
from models.states import CancelReason, OrderStatus, RequestStatus, Role

MAX_AMOUNT_FEN = 100_000_000_000


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    client_id: Mapped[int] = mapped_column(Id, ForeignKey("clients.id"), index=True)
    creator_id: Mapped[int] = mapped_column(Id, ForeignKey("creators.id"))
    title: Mapped[str] = mapped_column(String(100))
    amount_fen: Mapped[int] = mapped_column(Fen)
    status: Mapped[OrderStatus]
    published_at: Mapped[datetime]
    accept_deadline: Mapped[datetime]
    # When the scan writes the acceptance reminder; cleared once written or once the order leaves
    # `pending`, so the index below holds only reminders still to come.
    remind_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    first_upload_at: Mapped[datetime | None]
    upload_count: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[CancelReason | None]
    creator_payout_fen: Mapped[int | None] = mapped_column(Fen)
    client_refund_fen: Mapped[int | None] = mapped_column(Fen)
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)

    requests: Mapped[list["CancellationRequest"]] = relationship(
        back_populates="order", order_by="CancellationRequest.id"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        one_of("status", OrderStatus),
        one_of("cancel_reason", CancelReason),
        CheckConstraint(f"amount_fen BETWEEN 1 AND {MAX_AMOUNT_FEN}", name="amount_range"),
        CheckConstraint("upload_count >= 0", name="upload_count"),
        CheckConstraint("accept_deadline > published_at", name="deadline_after_publish"),
        CheckConstraint(
            "(status IN ('pending', 'accepted')"
            " AND creator_payout_fen IS NULL AND client_refund_fen IS NULL)"
            " OR (status IN ('completed', 'cancelled')"
            " AND creator_payout_fen >= 0 AND client_refund_fen >= 0"
            " AND creator_payout_fen + client_refund_fen = amount_fen)",
            name="money_adds_up",
        ),
        CheckConstraint(
            "(status = 'cancelled' AND cancel_reason IS NOT NULL AND cancelled_at IS NOT NULL)"
            " OR (status <> 'cancelled' AND cancel_reason IS NULL AND cancelled_at IS NULL)",
            name="cancelled_has_reason",
        ),
        CheckConstraint(
            "status <> 'completed' OR (completed_at IS NOT NULL AND upload_count >= 1)",
            name="completed_after_upload",
        ),
        Index("ix_orders_status_id", "status", "id"),
        # Everything the creator record counts (``worker.services.creator_record``), so it is read from the
        # index alone; it serves the foreign key's look-ups by creator too.
        Index("ix_orders_creator_record", "creator_id", "status", "cancel_reason", "accepted_at"),
        # Due-timer indexes hold only rows that can still become due, in the order a claim reads them.
        Index("ix_orders_due_acceptance", "accept_deadline", "id", **partial("status = 'pending'")),
        Index("ix_orders_due_reminder", "remind_at", "id", **partial("remind_at IS NOT NULL")),
    )

    @property
    def latest_request(self) -> "CancellationRequest | None":
        return self.requests[-1] if self.requests else None

    @property
    def open_request(self) -> "CancellationRequest | None":
        latest = self.latest_request
        return latest if latest is not None and latest.status is RequestStatus.OPEN else None


class CancellationRequest(Base):
    """A request to cancel, with the compensation quote frozen when it was made.

    An immediate cancellation (a pending order cancelled by its client, or declined by its creator) is a
    request confirmed at once, so every cancellation keeps its initiator and reason the same way.
    """

    __tablename__ = "cancellation_requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"), index=True)
    initiator: Mapped[Role]
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[RequestStatus]
    requested_at: Mapped[datetime]
    respond_by: Mapped[datetime | None]
    compensation_fen: Mapped[int] = mapped_column(Fen)
    resolved_at: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="requests")

    __table_args__ = (
        one_of("status", RequestStatus),
        CheckConstraint("initiator IN ('client', 'creator')", name="initiator_valid"),
        CheckConstraint("compensation_fen >= 0", name="compensation_not_negative"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved_unless_open"),
        Index(
            "uq_cancellation_requests_one_open",
            "order_id",
            unique=True,
            **partial("status = 'open'"),
        ),
        Index("ix_cancellation_requests_due", "respond_by", "id", **partial("status = 'open'")),
    )

    @property
    def counterparty(self) -> Role:
        return self.initiator.counterparty
