"""Reads. They never write: an overdue order shows as it is stored until the scan (or an action on
it) applies its timeout. Lists stream in id order, a batch at a time, so memory stays flat. ``status``
is the worker's health as the database tells it."""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from models import CancellationRequest as Request
from models import Creator, HeldReceipt, Notification, Order, OrderEvent, Violation
from models.states import CancelReason, CreatorStatus, NotificationStatus, OrderStatus, RequestStatus
from worker.errors import NotFound
from worker.services import due, receipts

BATCH = 500
SENT = (NotificationStatus.SENT, NotificationStatus.DELIVERED, NotificationStatus.UNDELIVERED)  # taken by a sender


def order(session: Session, order_id: int) -> Order:
    found = session.scalars(
        select(Order).where(Order.id == order_id).options(selectinload(Order.requests))
    ).one_or_none()
    if found is None:
        raise NotFound(f"order {order_id} does not exist")
    return found


def orders(session: Session, *, status: OrderStatus | None = None, limit: int | None = None) -> Iterator[Order]:
    query = select(Order).options(selectinload(Order.requests)).order_by(Order.id).limit(limit)
    if status is not None:
        query = query.where(Order.status == status)
    return session.scalars(query.execution_options(yield_per=BATCH))


def history(session: Session, order_id: int) -> list[OrderEvent]:
    order(session, order_id)
    return list(session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))


def notifications(
    session: Session, *, status: NotificationStatus | None = None, order_id: int | None = None, limit: int | None = None
) -> Iterator[Notification]:
    query = select(Notification).order_by(Notification.id).limit(limit)
    if status is not None:
        query = query.where(Notification.status == status)
    if order_id is not None:
        query = query.where(Notification.order_id == order_id)
    return session.scalars(query.execution_options(yield_per=BATCH))


def violations(session: Session, creator_id: int) -> list[Violation]:
    if session.get(Creator, creator_id) is None:
        raise NotFound(f"creator {creator_id} does not exist")
    return list(session.scalars(select(Violation).where(Violation.creator_id == creator_id).order_by(Violation.number)))


def _age(now: datetime, since: datetime | None) -> float:
    return round((now - since).total_seconds(), 3) if since is not None else 0.0


def _counts(session: Session, column, values) -> dict[str, int]:
    """Rows by the column's value, every value named (0 when none)."""
    counts = dict(session.execute(select(column, func.count()).group_by(column)).all())
    return {value.value: counts.get(value, 0) for value in values}


def _overdue(session: Session, column, *conditions) -> tuple[int, datetime | None]:
    return session.execute(select(func.count(), func.min(column)).where(*conditions)).one()


def status(session: Session, now: datetime) -> dict[str, Any]:
    """How the worker is doing: what ``xingtu status`` prints and the Prometheus endpoint serves. While
    the worker is healthy nothing stays overdue for long."""
    overdue_orders, oldest_order = _overdue(session, Order.accept_deadline, *due.acceptance(now))
    overdue_requests, oldest_request = _overdue(session, Request.respond_by, *due.response(now))
    due_notes, oldest_note = _overdue(session, Notification.due_at, *due.notification(now))
    cancellations = _counts(session, Order.cancel_reason, CancelReason)
    unconfirmed, oldest_unconfirmed = _overdue(session, Notification.sent_at, *receipts.unconfirmed(now))
    failed = session.scalar(select(func.count()).where(Notification.last_error.is_not(None)).select_from(Notification))
    orders = _counts(session, Order.status, OrderStatus)
    notifications = _counts(session, Notification.status, NotificationStatus)
    return {
        "orders": orders,
        "creators": _counts(session, Creator.status, CreatorStatus),
        "overdue_pending_orders": overdue_orders,
        "oldest_overdue_pending_seconds": _age(now, oldest_order),
        "open_cancellation_requests": session.scalar(
            select(func.count()).where(Request.status == RequestStatus.OPEN).select_from(Request)
        ),
        "overdue_cancellation_requests": overdue_requests,
        "oldest_overdue_request_seconds": _age(now, oldest_request),
        "notifications": notifications,
        "due_notifications": due_notes,
        "oldest_due_notification_seconds": _age(now, oldest_note),
        "unconfirmed_notifications": unconfirmed,
        "oldest_unconfirmed_seconds": _age(now, oldest_unconfirmed),
        "cancellations": cancellations,
        "held_receipts": session.scalar(select(func.count()).select_from(HeldReceipt)),
        "unknown_receipts": session.scalar(receipts.unknown().with_only_columns(func.count())),
        "totals": {
            "orders_expired": cancellations[CancelReason.ACCEPTANCE_TIMEOUT],
            "orders_cancelled": orders[OrderStatus.CANCELLED],
            "notifications_sent": sum(notifications[status] for status in SENT),
            "notifications_failed": failed,
        },
    }
