"""What is due at ``now``, as SQL conditions: the one spelling the scan, its dry run, ``xingtu status``
and the outbox sweep share.

State constants are written ``inline`` so the partial indexes of due rows serve every one of these
queries (``models.base.inline`` says why); the instants compare through ``rules.is_due``.
"""

from datetime import datetime

from models import CancellationRequest as Request
from models import Creator, Notification, Order
from models.base import inline
from models.states import CreatorStatus, NotificationStatus, OrderStatus, RequestStatus
from worker.rules import is_due

# Notifications a sweep may take: never sent, or whose sender's lease has run out.
SENDABLE = (NotificationStatus.PENDING, NotificationStatus.SENDING)


def acceptance(now: datetime) -> tuple:
    """Pending orders whose acceptance window has closed."""
    return Order.status == inline(OrderStatus.PENDING), is_due(Order.accept_deadline, now)


def response(now: datetime) -> tuple:
    """Open cancellation requests past their respond-by instant."""
    return Request.status == inline(RequestStatus.OPEN), is_due(Request.respond_by, now)


def reminder(now: datetime) -> tuple:
    """Pending orders whose acceptance reminder is due, while they can still be accepted."""
    return (
        is_due(Order.remind_at, now),
        Order.status == inline(OrderStatus.PENDING),
        ~is_due(Order.accept_deadline, now),
    )


def lift(now: datetime) -> tuple:
    """Suspended creators whose suspension has ended."""
    return Creator.status == inline(CreatorStatus.SUSPENDED), is_due(Creator.suspended_until, now)


def notification(now: datetime) -> tuple:
    """Notifications to send now."""
    return Notification.status.in_([inline(status) for status in SENDABLE]), is_due(Notification.due_at, now)
