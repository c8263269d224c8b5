"""Locking what a use case acts on, with any timer that is already due applied first.

A use case never acts on a state its timers have left behind: an order whose acceptance window has
closed is cancelled here, before the action is checked, as the scan would have done. What was applied
stays even when the action is then refused (``UnitOfWork.keep_applied_timers``).
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Creator, Order
from models.states import TimeoutPolicy
from worker import rules
from worker.database.unit_of_work import UnitOfWork
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


def lock_order(session: UnitOfWork, order_id: int, now: datetime, policy: TimeoutPolicy) -> Order:
    """The order, row-locked until the transaction ends (PostgreSQL; SQLite's whole-database write
    lock serialises instead), after applying a timer of it that is due at ``now``."""
    order = session.scalars(_select(order_id)).one_or_none()
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    if timers.apply_due(session, order, now, policy):
        session.keep_applied_timers()
        order = session.scalars(_select(order_id)).one()
    return order


def lock_creator(session: UnitOfWork, creator_id: int, now: datetime) -> Creator:
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
        session.keep_applied_timers()
        creator = session.scalars(statement.execution_options(populate_existing=True)).one()
    return creator


def creator_of(session: UnitOfWork, order_id: int) -> int:
    """Who an order's creator is, without locking anything (it never changes)."""
    creator_id = session.scalar(select(Order.creator_id).where(Order.id == order_id))
    if creator_id is None:
        raise NotFound(f"order {order_id} does not exist")
    return creator_id
