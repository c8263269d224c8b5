"""Locking what a use case acts on, with any timer that is already due applied first, and who acts.

A use case never acts on a state its timers have left behind: an order whose acceptance window has
closed is cancelled here, before the action is checked, as the scan would have done. What was applied
stays even when the action is then refused (``UnitOfWork.keep_applied_timers``).

Locks are taken in one order, so no use case deadlocks another: an account (client, then creator)
first, then orders in id order. An MCN acting for a creator locks that creator, so a release waits for
the action or the action sees the release (``side``).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from models import Client, Creator, Mcn, Order
from models.states import OrderStatus, Role, TimeoutPolicy
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.errors import InvalidInput, NotFound
from worker.services import timers
from worker.services.records import Actor


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
    return _lock_creator(session, Creator.id == creator_id, now, f"creator {creator_id} does not exist")


def lock_creator_of(session: UnitOfWork, order_id: int, now: datetime) -> Creator:
    """The order's creator, locked as ``lock_creator`` does, found in the same query (an order's creator
    never changes, so the order itself need not be locked for it)."""
    of_order = select(Order.creator_id).where(Order.id == order_id).scalar_subquery()
    return _lock_creator(session, Creator.id == of_order, now, f"order {order_id} does not exist")


def _lock_creator(session: UnitOfWork, which, now: datetime, missing: str) -> Creator:
    statement = select(Creator).where(which).with_for_update(key_share=True)
    creator = session.scalars(statement).one_or_none()
    if creator is None:
        raise NotFound(missing)
    if rules.suspension_over(creator, now):
        timers.lift_suspensions(session, now, limit=1, creator_id=creator.id)
        session.keep_applied_timers()
        creator = session.scalars(statement.execution_options(populate_existing=True)).one()
    return creator


def lock_client(session: UnitOfWork, client_id: int, *, shared: bool = False) -> Client:
    """The client, row-locked: exclusively to change its standing (close, reopen), or ``shared`` to
    publish, so a publish and a close of the same client never interleave (PostgreSQL's implicit
    foreign-key lock would not conflict with closing)."""
    statement = select(Client).where(Client.id == client_id).execution_options(populate_existing=True)
    found = session.scalars(statement.with_for_update(read=shared, key_share=not shared)).one_or_none()
    if found is None:
        raise NotFound(f"client {client_id} does not exist")
    return found


OPEN = (OrderStatus.PENDING, OrderStatus.ACCEPTED)


def lock_open_orders(
    session: UnitOfWork, role: Role, party_id: int, now: datetime, policy: TimeoutPolicy, *, statuses=OPEN
) -> list[Order]:
    """A party's orders in ``statuses`` (pending and accepted), row-locked in id order, with their
    requests, after applying every timer of them that is due at ``now``: what is left is what the
    party's action may judge."""
    column = {Role.CLIENT: Order.client_id, Role.CREATOR: Order.creator_id}[role]
    statement = (
        select(Order)
        .where(column == party_id, Order.status.in_(statuses))
        .order_by(Order.id)
        .options(selectinload(Order.requests))
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    orders = list(session.scalars(statement))
    if any([timers.apply_due(session, order, now, policy) for order in orders]):
        session.keep_applied_timers()
        orders = list(session.scalars(statement))
    return orders


@dataclass(frozen=True)
class Side:
    """Who acts on an order: the side whose rights and rules apply (``role`` and ``party_id``, the
    client or the creator) and the ``actor`` its trail records (an MCN acting for its creator)."""

    role: Role
    party_id: int
    actor: Actor
    creator: Creator | None = None  # the order's creator, locked, when an MCN acts for them


def creator_side(creator_id: int | None, mcn_id: int | None) -> tuple[Role, int]:
    """The creator side given as exactly one of the creator's id or an MCN's."""
    if (creator_id is None) == (mcn_id is None):
        raise InvalidInput("party", "give exactly one of creator_id or mcn_id")
    return (Role.CREATOR, creator_id) if creator_id is not None else (Role.MCN, mcn_id)


def side(session: UnitOfWork, order_id: int, role: Role, actor_id: int, now: datetime) -> Side:
    """The side ``role`` ``actor_id`` acts as on the order. An MCN acts as the order's creator, and only
    while it signs them: the creator stays locked to the end of the transaction, so a release cannot
    slip in between this check and the action."""
    if role is not Role.MCN:
        return Side(role, actor_id, Actor(role, actor_id))
    creator = lock_creator_of(session, order_id, now)
    if creator.mcn_id != actor_id and session.get(Mcn, actor_id) is None:
        raise NotFound(f"mcn {actor_id} does not exist")
    rules.ensure_signs(actor_id, creator.id, creator.mcn_id, order_id)
    return Side(Role.CREATOR, creator.id, Actor(Role.MCN, actor_id), creator)
