"""The marketplace's rules as pure functions: they take the state as it is and ``now``, and return a decision
or raise a named error. Nothing here reads the clock or touches the database."""

from worker.rules.accounts import (
    ensure_can_close,
    ensure_can_reopen,
    ensure_may_publish,
    ensure_none_in_production,
    ensure_signs,
    standing_on_reopen,
)
from worker.rules.deadlines import is_due, key_forgotten
from worker.rules.ladder import (
    ensure_may_work,
    sanction_for,
    standing_after,
    suspension_end,
    suspension_over,
)
from worker.rules.orders import (
    cancel_reason,
    compensation_fen,
    ensure_can_accept,
    ensure_can_complete,
    ensure_can_request,
    ensure_can_upload,
    ensure_party,
    ensure_status,
    open_request_for,
    party_of,
    refund_fen,
    reminder_at,
)

__all__ = [
    "cancel_reason", "compensation_fen", "ensure_can_accept", "ensure_can_close", "ensure_can_complete",
    "ensure_can_reopen", "ensure_can_request", "ensure_can_upload", "ensure_may_publish", "ensure_may_work",
    "ensure_none_in_production", "ensure_party", "ensure_signs", "ensure_status", "is_due", "key_forgotten",
    "open_request_for", "party_of", "refund_fen", "reminder_at", "sanction_for", "standing_after", "standing_on_reopen",
    "suspension_end", "suspension_over",
]  # fmt: skip
