"""What a cancellation writes, shared by the use cases that cancel one order and the scan that cancels
thousands: the order's columns once cancelled (``cancelled_columns``) and its records (``record_cancellations``:
the audit event, the ledger movements, ``order_cancelled`` to both sides and to the creator's MCN).

The records are written by set-based SQL from the cancelled order rows themselves and the request that
ended them, so the same three statements serve one order or a batch, and nothing is computed twice in
Python.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, insert, literal, select, union_all
from sqlalchemy.orm import aliased

from models import CancellationRequest, Client, Creator, LedgerEntry, Mcn, Notification, Order, OrderEvent
from models.base import inline
from models.sql import in_ids, json_bool, json_object
from models.states import (
    CancelReason,
    LedgerKind,
    NotificationKind,
    NotificationStatus,
    OrderEventKind,
    OrderStatus,
    RequestStatus,
    Role,
)
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.notify.messages import params_for
from worker.services.records import Actor, notification_key, subject


def cancelled_columns(amount_fen: Any, payout_fen: Any, cause: CancelReason, now: datetime) -> dict[str, Any]:
    """The order's columns once cancelled: the creator gets ``payout_fen``, the client the rest. The
    amounts are ints, or SQL for the scan's set-based UPDATE."""
    return {
        "status": OrderStatus.CANCELLED,
        "cancel_reason": cause,
        "cancelled_at": now,
        "creator_payout_fen": payout_fen,
        "client_refund_fen": rules.refund_fen(amount_fen, payout_fen),
        "remind_at": None,
        "updated_at": now,
    }


def record_cancellations(
    session: UnitOfWork, now: datetime, order_ids: Sequence[int], *, actor: Actor, event: OrderEventKind
) -> None:
    """Write what every cancellation writes, for orders already cancelled in this transaction (their
    columns set by ``cancelled_columns``)."""
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
                literal(event.value), from_status, inline(OrderStatus.CANCELLED),
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
    kind = NotificationKind.ORDER_CANCELLED
    params = params_for(
        kind, title=Order.title, cancel_reason=Order.cancel_reason, reason=ending.reason,
        auto_confirmed=json_bool(ending.status == inline(RequestStatus.AUTO_CONFIRMED)),
        creator_payout_fen=Order.creator_payout_fen, client_refund_fen=Order.client_refund_fen,
    )  # fmt: skip
    recipients = (  # each recipient its own SELECT of the UNION: the MCN's only for creators one signs
        (Role.CREATOR, cancelled.join(Creator, Creator.id == Order.creator_id), Creator, Order.creator_id),
        (Role.CLIENT, cancelled.join(Client, Client.id == Order.client_id), Client, Order.client_id),
        (Role.MCN, cancelled.join(Creator, Creator.id == Order.creator_id).join(Mcn, Mcn.id == Creator.mcn_id), Mcn,
         Mcn.id),
    )  # fmt: skip
    told = [
        joined.with_only_columns(
            notification_key(subject("order", Order.id), kind, role), inline(kind), Order.id, inline(role),
            recipient_id, party.phone, json_object(*(item for pair in params.items() for item in pair)),
            inline(NotificationStatus.PENDING), literal(0), literal(now, Notification.created_at.type),
            literal(now, Notification.due_at.type),
        )
        for role, joined, party, recipient_id in recipients
    ]  # fmt: skip
    columns = ["idempotency_key", "kind", "order_id", "recipient_role", "recipient_id", "phone", "params",
               "status", "attempts", "created_at", "due_at"]  # fmt: skip
    # Counted from RETURNING: PostgreSQL's driver reports no row count for this INSERT ... SELECT (-1).
    written = session.execute(insert(Notification).from_select(columns, union_all(*told)).returning(Notification.id))
    session.notifications_written(len(written.all()))
