"""Use cases of an order's main line: publish, accept, upload a video, complete.

Each takes the caller's unit of work (one transaction, see ``worker.database.unit_of_work``), the settings and
``now``; checks its input and the rules before it writes anything; and writes the state change with
its audit, ledger and outbox rows together.
"""

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm.attributes import set_committed_value

from models import Order
from models.states import LedgerKind, NotificationKind, OrderEventKind, OrderStatus, Role
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.formats import validation
from worker.services import locking
from worker.services.records import Actor, Records, subject
from worker.settings import Settings


def publish(
    session: UnitOfWork,
    settings: Settings,
    *,
    client_id: int,
    creator_id: int,
    title: str,
    amount_fen: object,
    now: datetime,
) -> Order:
    """Escrow the amount, start the acceptance window, tell the creator."""
    title = validation.title(title)
    amount = validation.amount_fen(amount_fen)
    client = locking.lock_client(session, client_id, shared=True)
    rules.ensure_may_publish(client)
    creator = locking.lock_creator(session, creator_id, now)
    rules.ensure_may_work(creator, f"cannot publish to creator {creator_id}", now)
    deadline = now + settings.accept_window
    # One INSERT ... RETURNING that hands back the order, instead of a unit-of-work flush on the hot path.
    order = session.scalars(
        insert(Order).returning(Order),
        [{
            "client_id": client_id, "creator_id": creator_id, "title": title, "amount_fen": amount,
            "status": OrderStatus.PENDING, "published_at": now, "accept_deadline": deadline,
            "remind_at": rules.reminder_at(now, deadline, settings.accept_reminder_lead), "upload_count": 0,
            "updated_at": now,
        }],
    ).one()  # fmt: skip
    set_committed_value(order, "requests", [])  # a new order has none: its answer need not read them
    records = Records.for_parties(session, client, creator)
    records.event(
        order.id, now, Actor(Role.CLIENT, client_id), OrderEventKind.PUBLISHED, None, OrderStatus.PENDING,
        amount_fen=amount, accept_deadline=deadline,
    )  # fmt: skip
    records.money(order.id, now, LedgerKind.ESCROW, amount)
    records.notify(
        NotificationKind.ORDER_PUBLISHED, subject("order", order.id), order, (Role.CREATOR,), now,
        title=title, amount_fen=amount, accept_deadline=deadline,
    )  # fmt: skip
    records.write(session)
    return order


def accept(
    session: UnitOfWork,
    settings: Settings,
    *,
    order_id: int,
    now: datetime,
    creator_id: int | None = None,
    mcn_id: int | None = None,
) -> Order:
    """The order's creator, or the MCN signing them, takes the order on."""
    side = locking.side(session, order_id, *locking.creator_side(creator_id, mcn_id), now)
    creator = side.creator or locking.lock_creator_of(session, order_id, now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    rules.ensure_party(order, Role.CREATOR, side.party_id)
    rules.ensure_may_work(creator, f"creator {side.party_id} cannot accept order {order_id}", now)
    rules.ensure_can_accept(order, side.party_id, now)
    order.status, order.accepted_at, order.remind_at, order.updated_at = OrderStatus.ACCEPTED, now, None, now
    records = Records()
    records.event(order.id, now, side.actor, OrderEventKind.ACCEPTED, OrderStatus.PENDING, OrderStatus.ACCEPTED)
    records.write(session)
    return order


def upload(
    session: UnitOfWork,
    settings: Settings,
    *,
    order_id: int,
    video: str,
    now: datetime,
    creator_id: int | None = None,
    mcn_id: int | None = None,
) -> Order:
    """Record a video upload; the first one means production has started (it changes what a client
    who cancels afterwards owes)."""
    video = validation.video(video)
    side = locking.side(session, order_id, *locking.creator_side(creator_id, mcn_id), now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    rules.ensure_can_upload(order, side.party_id)
    order.upload_count += 1
    if order.first_upload_at is None:
        order.first_upload_at = now
    order.updated_at = now
    records = Records()
    records.event(
        order.id, now, side.actor, OrderEventKind.VIDEO_UPLOADED, OrderStatus.ACCEPTED,
        OrderStatus.ACCEPTED, video=video, upload_count=order.upload_count,
    )  # fmt: skip
    records.write(session)
    return order


def complete(session: UnitOfWork, settings: Settings, *, order_id: int, client_id: int, now: datetime) -> Order:
    """The client signs off: the creator is paid the full amount."""
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    rules.ensure_can_complete(order, client_id)
    order.status, order.completed_at, order.updated_at = OrderStatus.COMPLETED, now, now
    order.creator_payout_fen = order.amount_fen
    order.client_refund_fen = rules.refund_fen(order.amount_fen, order.creator_payout_fen)
    records = Records.for_orders(session, [order])
    records.event(
        order.id, now, Actor(Role.CLIENT, client_id), OrderEventKind.COMPLETED, OrderStatus.ACCEPTED,
        OrderStatus.COMPLETED, creator_payout_fen=order.amount_fen, client_refund_fen=order.client_refund_fen,
    )  # fmt: skip
    records.money(order.id, now, LedgerKind.CREATOR_PAYOUT, order.amount_fen)
    records.notify(
        NotificationKind.ORDER_COMPLETED, subject("order", order.id), order, (Role.CREATOR,), now,
        title=order.title, amount_fen=order.amount_fen,
    )  # fmt: skip
    records.write(session)
    return order
