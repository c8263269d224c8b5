"""Loading what a use case acts on: locked, and with any timer that is due applied first."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Creator, Order
from models.states import TimeoutPolicy
from worker import rules
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


def creator_for_update(session: Session, creator_id: int, now: datetime) -> Creator:
    """The creator, row-locked, with a suspension that has ended at ``now`` lifted on the spot.

    Anything that depends on a creator's standing (publishing to them, their accepting, a new
    violation) locks the creator first and an order second, in that order, so none deadlocks another.
    """
    statement = select(Creator).where(Creator.id == creator_id).with_for_update(key_share=True)
    creator = session.scalars(statement).one_or_none()
    if creator is None:
        raise NotFound(f"creator {creator_id} does not exist")
    if rules.suspension_over(creator, now):
        timers.lift_suspensions(session, now, limit=1, creator_id=creator_id)
        session.info[KEEP_ON_REFUSAL] = True
        creator = session.scalars(statement.execution_options(populate_existing=True)).one()
    return creator


def creator_of(session: Session, order_id: int) -> int:
    """Who an order's creator is, without locking anything (it never changes)."""
    creator_id = session.scalar(select(Order.creator_id).where(Order.id == order_id))
    if creator_id is None:
        raise NotFound(f"order {order_id} does not exist")
    return creator_id
