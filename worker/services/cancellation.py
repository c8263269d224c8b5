"""Cancellation use cases: request (immediate on a pending order), decline, confirm, reject, withdraw;
and ending a party's pending orders at once (``end_pending``). An MCN may do anything here that the
creator of the order may do (``worker.services.locking.side``).

The compensation is quoted when the request is made and frozen on it, so no later upload or silence
changes what the counterparty was shown.
"""

from datetime import datetime

from models import CancellationRequest, Order
from models.states import NotificationKind, OrderEventKind, OrderStatus, RequestStatus, Role
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.errors import InvalidInput
from worker.formats import validation
from worker.services import locking, settlement
from worker.services.records import Actor, Records, subject
from worker.settings import Settings


def request(
    session: UnitOfWork, settings: Settings, *, order_id: int, role: Role, actor_id: int, reason: str, now: datetime
) -> Order:
    """Ask to cancel. A pending order is cancelled at once (nobody has committed yet); an accepted one
    gets an open request, frozen quote included, that the counterparty must answer."""
    reason = validation.reason(reason)
    side = locking.side(session, order_id, role, actor_id, now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    role = side.role
    rules.ensure_can_request(order, role, side.party_id)
    if order.status is OrderStatus.PENDING:
        return cancel_pending(session, order, initiator=role, actor=side.actor, reason=reason, now=now)
    compensation = rules.compensation_fen(order.amount_fen, role, order.upload_count, settings.compensation_percent)
    req = CancellationRequest(
        initiator=role,
        reason=reason,
        status=RequestStatus.OPEN,
        requested_at=now,
        respond_by=now + settings.cancel_response_window,
        compensation_fen=compensation,
    )
    order.requests.append(req)
    order.updated_at = now
    session.flush()
    records = Records.for_orders(session, [order])
    records.event(
        order.id, now, side.actor, OrderEventKind.CANCELLATION_REQUESTED, OrderStatus.ACCEPTED,
        OrderStatus.ACCEPTED,
        request_id=req.id, reason=reason, compensation_fen=compensation, respond_by=req.respond_by,
    )  # fmt: skip
    records.notify(
        NotificationKind.CANCELLATION_REQUESTED, subject("request", req.id), order, (role.counterparty,), now,
        title=order.title, initiator=role, reason=reason, compensation_fen=compensation,
        refund_fen=rules.refund_fen(order.amount_fen, compensation), respond_by=req.respond_by,
        policy=settings.cancel_timeout_policy,
    )  # fmt: skip
    records.write(session)
    return order


def decline(
    session: UnitOfWork,
    settings: Settings,
    *,
    order_id: int,
    reason: str,
    now: datetime,
    creator_id: int | None = None,
    mcn_id: int | None = None,
) -> Order:
    reason = validation.reason(reason)
    side = locking.side(session, order_id, *locking.creator_side(creator_id, mcn_id), now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    rules.ensure_party(order, Role.CREATOR, side.party_id)
    rules.ensure_status(order, OrderStatus.PENDING, "decline")
    return cancel_pending(session, order, initiator=Role.CREATOR, actor=side.actor, reason=reason, now=now)


def confirm(
    session: UnitOfWork, settings: Settings, *, order_id: int, role: Role, actor_id: int, now: datetime
) -> Order:
    """The counterparty agrees: the order is cancelled and the frozen quote settled."""
    side = locking.side(session, order_id, role, actor_id, now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    req = rules.open_request_for(order, side.role, side.party_id, "confirm", by_initiator=False)
    req.status, req.resolved_at = RequestStatus.CONFIRMED, now
    return _cancel(session, order, req, side.actor, OrderEventKind.CANCELLATION_CONFIRMED, now)


def reject(
    session: UnitOfWork,
    settings: Settings,
    *,
    order_id: int,
    role: Role,
    actor_id: int,
    now: datetime,
    reason: str | None = None,
) -> Order:
    """The counterparty says no: the request ends, the order goes on, the initiator is told."""
    reason = None if reason is None else validation.reason(reason)
    side = locking.side(session, order_id, role, actor_id, now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    req = rules.open_request_for(order, side.role, side.party_id, "reject", by_initiator=False)
    _close(session, order, req, RequestStatus.REJECTED, side.actor, now, reason=reason)
    return order


def withdraw(
    session: UnitOfWork, settings: Settings, *, order_id: int, role: Role, actor_id: int, now: datetime
) -> Order:
    """The initiator takes the request back: the order goes on, the counterparty is told."""
    side = locking.side(session, order_id, role, actor_id, now)
    order = locking.lock_order(session, order_id, now, settings.cancel_timeout_policy)
    req = rules.open_request_for(order, side.role, side.party_id, "withdraw", by_initiator=True)
    _close(session, order, req, RequestStatus.WITHDRAWN, side.actor, now)
    return order


def respond(
    session: UnitOfWork,
    settings: Settings,
    *,
    order_id: int,
    role: Role,
    actor_id: int,
    answer: str,
    now: datetime,
    reason: str | None = None,
) -> Order:
    """The counterparty's answer in one call (the task API): ``confirm``, or ``reject`` with an optional reason."""
    if answer == "confirm":
        if reason is not None:
            raise InvalidInput("reason", "a reason goes with 'reject' only; a confirmation takes none")
        return confirm(session, settings, order_id=order_id, role=role, actor_id=actor_id, now=now)
    if answer == "reject":
        return reject(session, settings, order_id=order_id, role=role, actor_id=actor_id, now=now, reason=reason)
    raise InvalidInput("answer", f"answer must be 'confirm' or 'reject'; got {answer!r}")


def cancel_pending(
    session: UnitOfWork,
    order: Order,
    *,
    initiator: Role,
    actor: Actor,
    reason: str,
    now: datetime,
    event: OrderEventKind | None = None,
) -> Order:
    """Cancel a pending order at once: the client cancels, or the creator declines."""
    event = event or (OrderEventKind.DECLINED if initiator is Role.CREATOR else OrderEventKind.CANCELLED)
    end_pending(session, [order], initiator=initiator, actor=actor, reason=reason, event=event, now=now)
    return order


def end_pending(
    session: UnitOfWork,
    orders: list[Order],
    *,
    initiator: Role,
    actor: Actor,
    reason: str,
    event: OrderEventKind,
    now: datetime,
) -> list[int]:
    """Cancel at once those of the locked ``orders`` that are pending, for ``initiator``'s side: one
    order cancelled or declined by its party, or all of a party's when it closes its account or a
    sanction declines for a creator (their due timers applied first by ``locking.lock_open_orders``, so an
    order whose acceptance window had closed has expired instead). Each is recorded as a request
    confirmed at once, so the initiator and reason are kept like any other; their records are written
    for all of them together. The ids of the orders cancelled here."""
    ended = [order for order in orders if order.status is OrderStatus.PENDING]
    for order in ended:
        req = CancellationRequest(
            initiator=initiator, reason=reason, status=RequestStatus.CONFIRMED, requested_at=now, respond_by=None,
            compensation_fen=0, resolved_at=now,
        )  # fmt: skip
        order.requests.append(req)
        _settle(order, req, now)
    if ended:
        session.flush()
        settlement.record_cancellations(session, now, [order.id for order in ended], actor=actor, event=event)
    return [order.id for order in ended]


def _cancel(
    session: UnitOfWork, order: Order, req: CancellationRequest, actor: Actor, event: OrderEventKind, now: datetime
) -> Order:
    _settle(order, req, now)
    session.flush()
    settlement.record_cancellations(session, now, [order.id], actor=actor, event=event)
    return order


def _settle(order: Order, req: CancellationRequest, now: datetime) -> None:
    """The order's columns once cancelled by ``req`` (its frozen quote paid to the creator)."""
    cause = rules.cancel_reason(req.initiator, order.status)
    for column, value in settlement.cancelled_columns(order.amount_fen, req.compensation_fen, cause, now).items():
        setattr(order, column, value)


def _close(
    session: UnitOfWork,
    order: Order,
    req: CancellationRequest,
    status: RequestStatus,
    actor: Actor,
    now: datetime,
    **details,
) -> None:
    """End a request without cancelling: rejected (initiator told) or withdrawn (counterparty told)."""
    req.status, req.resolved_at = status, now
    order.updated_at = now
    rejected = status is RequestStatus.REJECTED
    records = Records.for_orders(session, [order])
    records.event(
        order.id, now, actor,
        OrderEventKind.CANCELLATION_REJECTED if rejected else OrderEventKind.CANCELLATION_WITHDRAWN,
        OrderStatus.ACCEPTED, OrderStatus.ACCEPTED, request_id=req.id, **details,
    )  # fmt: skip
    records.notify(
        NotificationKind.CANCELLATION_REJECTED if rejected else NotificationKind.CANCELLATION_WITHDRAWN,
        subject("request", req.id), order, (req.initiator if rejected else req.counterparty,), now,
        title=order.title, initiator=req.initiator, response=details.get("reason"),
    )  # fmt: skip
    records.write(session)
