"""Loading an order for a use case: locked, with its requests, and with any due timer applied."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Order
from models.states import TimeoutPolicy
from worker.db import KEEP_ON_REFUSAL
from worker.errors import NotFound
from worker.services import timers


def _select(order_id: int):
    return (
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.requests))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def order_for_update(session: Session, order_id: int, now: datetime, policy: TimeoutPolicy) -> Order:
    """The order, row-locked until the transaction ends (PostgreSQL; SQLite's whole-database write
    lock serialises instead), after settling a timer that is due at ``now``.

    A settled timer is kept even when the action is then refused: it is what the scan would do, and
    a late action must see its effect applied on the spot.
    """
    order = session.scalars(_select(order_id)).one_or_none()
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    if timers.settle(session, order, now, policy):
        session.info[KEEP_ON_REFUSAL] = True
        order = session.scalars(_select(order_id)).one()
    return order
