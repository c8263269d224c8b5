"""The JSON shapes other tools rely on (CLI ``--json`` and the task API). Keys are a contract."""

from datetime import datetime
from typing import Any

from models import (
    CancellationRequest,
    Client,
    Creator,
    Mcn,
    Notification,
    Order,
    OrderEvent,
    Violation,
)
from worker.formats.phones import mask
from worker.notify.messages import render


def instant(value: datetime | None) -> str | None:
    """ISO 8601 with its UTC offset."""
    return None if value is None else value.isoformat()


def request_json(req: CancellationRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "initiator": req.initiator.value,
        "reason": req.reason,
        "status": req.status.value,
        "requested_at": instant(req.requested_at),
        "respond_by": instant(req.respond_by),
        "compensation_fen": req.compensation_fen,
        "resolved_at": instant(req.resolved_at),
    }


def order_json(order: Order) -> dict[str, Any]:
    latest = order.latest_request
    return {
        "id": order.id,
        "client_id": order.client_id,
        "creator_id": order.creator_id,
        "title": order.title,
        "amount_fen": order.amount_fen,
        "status": order.status.value,
        "published_at": instant(order.published_at),
        "accept_deadline": instant(order.accept_deadline),
        "accepted_at": instant(order.accepted_at),
        "first_upload_at": instant(order.first_upload_at),
        "upload_count": order.upload_count,
        "completed_at": instant(order.completed_at),
        "cancelled_at": instant(order.cancelled_at),
        "cancel_reason": order.cancel_reason and order.cancel_reason.value,
        "creator_payout_fen": order.creator_payout_fen,
        "client_refund_fen": order.client_refund_fen,
        "cancellation": None if latest is None else request_json(latest),
    }


def party_json(party: Client | Creator | Mcn) -> dict[str, Any]:
    """What every party shows; ``client_json``, ``creator_json`` and ``mcn_json`` add their own."""
    return {"id": party.id, "name": party.name, "phone": mask(party.phone), "created_at": instant(party.created_at)}


def client_json(client: Client) -> dict[str, Any]:
    return party_json(client) | {"status": client.status.value, "closed_at": instant(client.closed_at)}


def creator_json(creator: Creator, record: dict[str, Any]) -> dict[str, Any]:
    """A creator with their standing and the record brands see (``worker.services.creator_record``)."""
    return party_json(creator) | {
        "status": creator.status.value,
        "suspended_until": instant(creator.suspended_until),
        "violations": creator.violation_count,
        "followers": creator.followers,
        "average_plays": creator.average_plays,
        "mcn_id": creator.mcn_id,
        "closed_at": instant(creator.closed_at),
        "record": record,
    }


def mcn_json(mcn: Mcn, creators: list[int]) -> dict[str, Any]:
    """An MCN with the ids of the creators it signs now, ascending."""
    return party_json(mcn) | {"creators": creators}


def violation_json(violation: Violation) -> dict[str, Any]:
    return {
        "id": violation.id,
        "creator_id": violation.creator_id,
        "violation_number": violation.number,
        "sanction": violation.sanction.value,
        "suspended_until": instant(violation.suspended_until),
        "at": instant(violation.at),
        "evidence": violation.evidence,
    }


def event_json(event: OrderEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "order_id": event.order_id,
        "at": instant(event.at),
        "actor_role": event.actor_role.value,
        "actor_id": event.actor_id,
        "event": event.event,
        "from_status": event.from_status and event.from_status.value,
        "to_status": event.to_status.value,
        "details": event.details,
    }


def notification_json(note: Notification) -> dict[str, Any]:
    return {
        "id": note.id,
        "kind": note.kind.value,
        "order_id": note.order_id,
        "recipient_role": note.recipient_role.value,
        "recipient_id": note.recipient_id,
        "phone": mask(note.phone),
        "status": note.status.value,
        "attempts": note.attempts,
        "text": render(note.kind, note.params),
        "created_at": instant(note.created_at),
        "sent_at": instant(note.sent_at),
        "sender": note.sender,
        "receipt_at": instant(note.receipt_at),
        "receipt_error": note.receipt_error,
    }
