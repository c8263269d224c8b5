"""The rules of an order's life: who may act, when, and the money of a cancellation (the compensation
quote and the refund). Deadlines are exclusive (``worker.rules.deadlines``)."""

from datetime import datetime, timedelta
from typing import Any, Protocol

from models.states import CancelReason, OrderStatus, RequestStatus, Role
from worker.errors import (
    CancellationPending,
    DeadlinePassed,
    InvalidState,
    NotAllowed,
    NothingUploaded,
)
from worker.formats.display import local_time_precise
from worker.rules.deadlines import is_due


class RequestFacts(Protocol):
    initiator: Role
    status: RequestStatus
    respond_by: datetime | None


class OrderFacts(Protocol):
    id: int
    client_id: int
    creator_id: int
    status: OrderStatus
    cancel_reason: CancelReason | None
    accept_deadline: datetime
    upload_count: int

    @property
    def latest_request(self) -> RequestFacts | None: ...

    @property
    def open_request(self) -> RequestFacts | None: ...


# --- timers -----------------------------------------------------------------------------------------


def reminder_at(published_at: datetime, deadline: datetime, lead: timedelta) -> datetime | None:
    """When to remind the creator; ``None`` when reminders are off (lead 0) or the window is shorter
    than the lead (the publish SMS already said how little time there is)."""
    if not lead:
        return None
    at = deadline - lead
    return at if at > published_at else None


# --- money ------------------------------------------------------------------------------------------


def compensation_fen(amount_fen: int, initiator: Role, upload_count: int, percent: int) -> int:
    """What the creator receives if this cancellation goes through, frozen when it is requested.

    Only a client who cancels after production started (a video was uploaded) pays, ``percent`` of
    the amount rounded half up to the fen, in integer arithmetic.
    """
    if initiator is Role.CLIENT and upload_count >= 1:
        return (amount_fen * percent + 50) // 100
    return 0


def refund_fen(amount_fen: Any, payout_fen: Any) -> Any:
    """What the client gets back when an order ends: the amount less the creator's payout (ints, or SQL
    columns in the scan's set-based UPDATE)."""
    return amount_fen - payout_fen


def cancel_reason(initiator: Role, status: OrderStatus) -> CancelReason:
    """Why the order ends cancelled: a creator who cancels a pending order has declined it."""
    if initiator is Role.CLIENT:
        return CancelReason.CLIENT_CANCELLED
    return CancelReason.CREATOR_DECLINED if status is OrderStatus.PENDING else CancelReason.CREATOR_CANCELLED


# --- who may act ------------------------------------------------------------------------------------


def party_of(order: OrderFacts, role: Role) -> int:
    """The client or creator id of an order, an ORM object or a result row alike."""
    return order.client_id if role is Role.CLIENT else order.creator_id


def ensure_party(order: OrderFacts, role: Role, actor_id: int) -> None:
    if actor_id != party_of(order, role):
        raise NotAllowed(f"{role} {actor_id} is not the {role} of order {order.id}")


def _not_now(order: OrderFacts, action: str) -> InvalidState:
    """The error for an action the order's state does not allow, naming a timeout that caused it."""
    if order.cancel_reason is CancelReason.ACCEPTANCE_TIMEOUT:
        return DeadlinePassed(
            f"cannot {action} order {order.id}: it was not accepted before"
            f" {local_time_precise(order.accept_deadline)} and was cancelled (acceptance_timeout)"
        )
    latest = order.latest_request
    if order.status is OrderStatus.CANCELLED and latest and latest.status is RequestStatus.AUTO_CONFIRMED:
        return DeadlinePassed(
            f"cannot {action} order {order.id}: its cancellation request was not answered by"
            f" {local_time_precise(latest.respond_by)} and was confirmed automatically; the order is cancelled"
        )
    detail = f" ({order.cancel_reason})" if order.cancel_reason else ""
    return InvalidState(f"cannot {action} order {order.id}: it is {order.status}{detail}")


def ensure_status(order: OrderFacts, status: OrderStatus, action: str) -> None:
    if order.status is not status:
        raise _not_now(order, action)


def ensure_not_frozen(order: OrderFacts, action: str) -> None:
    request = order.open_request
    if request is not None:
        raise CancellationPending(
            f"cannot {action} order {order.id}: a cancellation request by the {request.initiator} is open"
            f" until {local_time_precise(request.respond_by)}; it must be confirmed, rejected or withdrawn first"
        )


# --- transitions ------------------------------------------------------------------------------------


def ensure_can_accept(order: OrderFacts, creator_id: int, now: datetime) -> None:
    ensure_party(order, Role.CREATOR, creator_id)
    ensure_status(order, OrderStatus.PENDING, "accept")
    if is_due(order.accept_deadline, now):
        raise DeadlinePassed(
            f"cannot accept order {order.id}: its acceptance deadline"
            f" {local_time_precise(order.accept_deadline)} has passed"
        )


def ensure_can_upload(order: OrderFacts, creator_id: int) -> None:
    ensure_party(order, Role.CREATOR, creator_id)
    ensure_status(order, OrderStatus.ACCEPTED, "upload a video to")
    ensure_not_frozen(order, "upload a video to")


def ensure_can_complete(order: OrderFacts, client_id: int) -> None:
    ensure_party(order, Role.CLIENT, client_id)
    ensure_status(order, OrderStatus.ACCEPTED, "complete")
    ensure_not_frozen(order, "complete")
    if order.upload_count < 1:
        raise NothingUploaded(f"cannot complete order {order.id}: the creator has not uploaded a video yet")


def ensure_can_request(order: OrderFacts, role: Role, actor_id: int) -> None:
    """A pending order is cancelled at once; an accepted one takes a request, one open at a time."""
    ensure_party(order, role, actor_id)
    if order.status is not OrderStatus.PENDING:
        ensure_status(order, OrderStatus.ACCEPTED, "request the cancellation of")
        ensure_not_frozen(order, "request the cancellation of")


def open_request_for(order: OrderFacts, role: Role, actor_id: int, action: str, *, by_initiator: bool):
    """The open request that ``role`` may act on: the counterparty confirms or rejects, the initiator
    withdraws."""
    ensure_party(order, role, actor_id)
    request = order.open_request
    if request is None:
        if order.status.terminal:
            raise _not_now(order, f"{action} the cancellation of")
        raise _no_open_request(order, action)
    if (request.initiator is role) != by_initiator:
        allowed = "the initiator" if by_initiator else f"the {request.initiator.counterparty}"
        raise NotAllowed(
            f"cannot {action} the cancellation of order {order.id}: the {request.initiator} asked for it,"
            f" so only {allowed} can {action} it"
        )
    return request


def _no_open_request(order: OrderFacts, action: str) -> InvalidState:
    latest = order.latest_request
    if latest is not None and latest.status is RequestStatus.LAPSED:
        return DeadlinePassed(
            f"cannot {action} the cancellation of order {order.id}: the request was not answered by"
            f" {local_time_precise(latest.respond_by)} and has lapsed; the order goes on"
        )
    last = f"; the latest one was {latest.status}" if latest is not None else ""
    return InvalidState(f"cannot {action} the cancellation of order {order.id}: no request is open{last}")
