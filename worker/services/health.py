"""How the worker is doing, read from the database: what ``xingtu status`` prints and what the
Prometheus endpoint serves. While the worker is healthy nothing stays overdue for long."""

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import CancellationRequest as Request
from models import Creator, Notification, Order
from models.states import (
    CancelReason,
    CreatorStatus,
    NotificationStatus,
    OrderStatus,
    RequestStatus,
)
from worker.services.outbox import DUE


def _age(now: datetime, since: datetime | None) -> float:
    return round((now - since).total_seconds(), 3) if since is not None else 0.0


def _by_status(session: Session, model, statuses) -> dict[str, int]:
    counts = dict(session.execute(select(model.status, func.count()).group_by(model.status)).all())
    return {status.value: counts.get(status, 0) for status in statuses}


def _overdue(session: Session, column, *conditions) -> tuple[int, datetime | None]:
    return session.execute(select(func.count(), func.min(column)).where(*conditions)).one()


def status(session: Session, now: datetime) -> dict[str, Any]:
    overdue_orders, oldest_order = _overdue(
        session, Order.accept_deadline, Order.status == OrderStatus.PENDING, Order.accept_deadline <= now
    )
    overdue_requests, oldest_request = _overdue(
        session, Request.respond_by, Request.status == RequestStatus.OPEN, Request.respond_by <= now
    )
    due_notes, oldest_note = _overdue(
        session, Notification.due_at, Notification.status.in_(DUE), Notification.due_at <= now
    )
    expired = session.scalar(
        select(func.count()).where(Order.cancel_reason == CancelReason.ACCEPTANCE_TIMEOUT).select_from(Order)
    )
    failed = session.scalar(select(func.count()).where(Notification.last_error.is_not(None)).select_from(Notification))
    orders = _by_status(session, Order, OrderStatus)
    notifications = _by_status(session, Notification, NotificationStatus)
    return {
        "orders": orders,
        "creators": _by_status(session, Creator, CreatorStatus),
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
        "totals": {
            "orders_expired": expired,
            "orders_cancelled": orders[OrderStatus.CANCELLED],
            "notifications_sent": notifications[NotificationStatus.SENT],
            "notifications_failed": failed,
        },
    }
