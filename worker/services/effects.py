"""What an outcome writes, shared by the use case that applies it to one order and the scan that
applies it to a batch: the order's new column values, and the audit, ledger and outbox rows."""

from datetime import datetime
from typing import Any

from models.states import CancelReason, LedgerKind, OrderStatus, Role
from models.states import NotificationKind as Kind
from worker.services.records import SYSTEM, Actor, Records

BOTH = (Role.CREATOR, Role.CLIENT)


def cancelled(
    records: Records,
    order: Any,
    now: datetime,
    *,
    actor: Actor,
    event: str,
    from_status: OrderStatus,
    cause: CancelReason,
    payout_fen: int,
    request_id: int | None = None,
    reason: str | None = None,
    auto_confirmed: bool = False,
) -> dict[str, Any]:
    """A cancellation: the creator gets ``payout_fen``, the client the rest; both are told."""
    refund_fen = order.amount_fen - payout_fen
    records.event(
        order.id, now, actor, event, from_status, OrderStatus.CANCELLED,
        cancel_reason=cause, creator_payout_fen=payout_fen, client_refund_fen=refund_fen, request_id=request_id,
    )  # fmt: skip
    records.money(order.id, now, LedgerKind.CREATOR_PAYOUT, payout_fen)
    records.money(order.id, now, LedgerKind.CLIENT_REFUND, refund_fen)
    records.notify(
        Kind.ORDER_CANCELLED, f"order-{order.id}", order, BOTH, now,
        title=order.title, cancel_reason=cause, reason=reason, auto_confirmed=auto_confirmed,
        creator_payout_fen=payout_fen, client_refund_fen=refund_fen,
    )  # fmt: skip
    return {
        "status": OrderStatus.CANCELLED,
        "cancel_reason": cause,
        "cancelled_at": now,
        "creator_payout_fen": payout_fen,
        "client_refund_fen": refund_fen,
        "remind_at": None,
        "updated_at": now,
    }


def lapsed(records: Records, order: Any, now: datetime, *, request_id: int, respond_by: datetime) -> None:
    """A request nobody answered, under the ``lapse`` policy: it ends, the order goes on."""
    records.event(
        order.id, now, SYSTEM, "cancellation_lapsed", OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
        request_id=request_id, respond_by=respond_by,
    )  # fmt: skip
    records.notify(
        Kind.CANCELLATION_LAPSED, f"request-{request_id}", order, BOTH, now, title=order.title, respond_by=respond_by
    )
