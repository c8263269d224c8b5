"""Reads. They never write: an overdue order shows as it is stored until the scan (or an action on
it) applies its timeout. Lists stream in id order, a batch at a time, so memory stays flat."""

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Creator, Notification, Order, OrderEvent, Violation
from models.states import NotificationStatus, OrderStatus
from worker.errors import NotFound

BATCH = 500


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
