"""What an outcome writes, shared by the use case that applies it to one order and the scan that
applies it to thousands.

A cancellation's records (the audit event, the ledger movements, ``order_cancelled`` to both sides) are
written by set-based SQL from the cancelled order rows themselves and the request that ended them, so
the same three statements serve one order or a batch, and nothing is computed twice in Python.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, case, cast, insert, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from models import CancellationRequest, Client, Creator, LedgerEntry, Notification, Order, OrderEvent
from models.base import inline
from models.sql import in_ids, json_bool, json_object
from models.states import (
    CancelReason,
    LedgerKind,
    NotificationKind,
    NotificationStatus,
    OrderStatus,
    RequestStatus,
    Role,
)
from worker.services.records import SYSTEM, Actor, Records, count_new_notifications


def cancellation_values(amount_fen: int, payout_fen: int, cause: CancelReason, now: datetime) -> dict[str, Any]:
    """The order's columns once cancelled: the creator gets ``payout_fen``, the client the rest."""
    return {
        "status": OrderStatus.CANCELLED,
        "cancel_reason": cause,
        "cancelled_at": now,
        "creator_payout_fen": payout_fen,
        "client_refund_fen": amount_fen - payout_fen,
        "remind_at": None,
        "updated_at": now,
    }


def record_cancellations(
    session: Session, now: datetime, order_ids: Sequence[int], *, actor: Actor, event: str
) -> None:
    """Write what every cancellation writes, for orders already cancelled (columns set as
    ``cancellation_values`` sets them) in this transaction."""
    if not order_ids:
        return
    ending = aliased(CancellationRequest)  # the request that ended the order, if one did
    ended_by = (ending.order_id == Order.id) & ending.status.in_(
        [inline(RequestStatus.CONFIRMED), inline(RequestStatus.AUTO_CONFIRMED)]
    )
    cancelled = select(Order).outerjoin(ending, ended_by).where(in_ids(Order.id, order_ids))
    from_status = case((Order.accepted_at.is_(None), inline(OrderStatus.PENDING)), else_=inline(OrderStatus.ACCEPTED))
    session.execute(
        insert(OrderEvent).from_select(
            ["order_id", "at", "actor_role", "actor_id", "event", "from_status", "to_status", "details"],
            cancelled.with_only_columns(
                Order.id, literal(now, OrderEvent.at.type), literal(actor.role.value), literal(actor.id, Integer),
                literal(event), from_status, inline(OrderStatus.CANCELLED),
                json_object("cancel_reason", Order.cancel_reason, "creator_payout_fen", Order.creator_payout_fen,
                            "client_refund_fen", Order.client_refund_fen, "request_id", ending.id),
            ).order_by(Order.id),
        )
    )  # fmt: skip
    moves = [
        cancelled.with_only_columns(Order.id, inline(kind), column, literal(now, LedgerEntry.at.type)).where(column > 0)
        for kind, column in ((LedgerKind.CREATOR_PAYOUT, Order.creator_payout_fen),
                             (LedgerKind.CLIENT_REFUND, Order.client_refund_fen))
    ]  # fmt: skip
    session.execute(insert(LedgerEntry).from_select(["order_id", "kind", "amount_fen", "at"], union_all(*moves)))
    params = json_object(
        "title", Order.title, "cancel_reason", Order.cancel_reason, "reason", ending.reason,
        "auto_confirmed", json_bool(ending.status == inline(RequestStatus.AUTO_CONFIRMED)),
        "creator_payout_fen", Order.creator_payout_fen, "client_refund_fen", Order.client_refund_fen,
    )  # fmt: skip
    told = [
        cancelled.join(party, party.id == party_column).with_only_columns(
            literal("order-") + cast(Order.id, String) + literal(f":{NotificationKind.ORDER_CANCELLED}:{role}"),
            inline(NotificationKind.ORDER_CANCELLED), Order.id, inline(role), party_column, party.phone, params,
            inline(NotificationStatus.PENDING), literal(0), literal(now, Notification.created_at.type),
            literal(now, Notification.due_at.type),
        )
        for role, party, party_column in ((Role.CREATOR, Creator, Order.creator_id),
                                          (Role.CLIENT, Client, Order.client_id))
    ]  # fmt: skip
    columns = ["idempotency_key", "kind", "order_id", "recipient_role", "recipient_id", "phone", "params",
               "status", "attempts", "created_at", "due_at"]  # fmt: skip
    session.execute(insert(Notification).from_select(columns, union_all(*told)))
    count_new_notifications(session, 2 * len(order_ids))


def lapsed(records: Records, order: Any, now: datetime, *, request_id: int, respond_by: datetime) -> None:
    """A request nobody answered, under the ``lapse`` policy: it ends, the order goes on."""
    records.event(
        order.id, now, SYSTEM, "cancellation_lapsed", OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
        request_id=request_id, respond_by=respond_by,
    )  # fmt: skip
    records.notify(
        NotificationKind.CANCELLATION_LAPSED, f"request-{request_id}", order, (Role.CREATOR, Role.CLIENT), now,
        title=order.title, respond_by=respond_by,
    )  # fmt: skip
