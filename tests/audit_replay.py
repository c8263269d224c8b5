"""Replaying an order's audit trail: the state its events describe, to compare with the order row."""

from collections.abc import Iterable

from models import OrderEvent
from models.states import OrderEventKind as Kind

CHANGES_NOTHING = {
    Kind.ACCEPTANCE_REMINDER, Kind.CANCELLATION_REQUESTED, Kind.CANCELLATION_REJECTED, Kind.CANCELLATION_WITHDRAWN,
    Kind.CANCELLATION_LAPSED,
}  # fmt: skip


def replay(events: Iterable[OrderEvent]) -> dict:
    """Status, uploads, money and cancel reason as the trail tells them."""
    state = {"status": None, "upload_count": 0, "creator_payout_fen": None, "client_refund_fen": None,
             "cancel_reason": None}  # fmt: skip
    for event in events:
        assert event.from_status == state["status"], f"{event.event} from {event.from_status}, not {state['status']}"
        state["status"] = event.to_status
        if event.event == Kind.VIDEO_UPLOADED:
            state["upload_count"] = event.details["upload_count"]
        elif event.event not in CHANGES_NOTHING and event.event not in (Kind.PUBLISHED, Kind.ACCEPTED):
            state["creator_payout_fen"] = event.details["creator_payout_fen"]
            state["client_refund_fen"] = event.details["client_refund_fen"]
            state["cancel_reason"] = event.details.get("cancel_reason")
    return state
