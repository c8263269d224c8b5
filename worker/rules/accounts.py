"""The rules of accounts: closing and reopening them (关闭星图) and who an MCN may act for. Pure
functions over the state as it is and ``now``. (The creator record is counted in SQL:
``worker.services.creator_record``.)"""

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from models.states import ClientStatus, CreatorStatus, Role
from worker.errors import ClientClosed, InvalidState, NotAllowed, OpenOrders
from worker.rules.deadlines import is_due

# How many of the orders in production a refusal to close names before it says "and N more".
NAMED_ORDERS = 20


class AccountFacts(Protocol):
    id: int
    status: ClientStatus | CreatorStatus


def ensure_can_close(role: Role, account: AccountFacts) -> None:
    """Open and not banned."""
    if account.status in (ClientStatus.CLOSED, CreatorStatus.CLOSED):
        raise InvalidState(f"{role} {account.id} is already closed")
    if account.status is CreatorStatus.BANNED:
        raise InvalidState(f"creator {account.id} is banned for good and cannot close the account")


def ensure_none_in_production(role: Role, account: AccountFacts, accepted: Sequence[int]) -> None:
    """No order of the account is ``accepted`` (``accepted``: their ids, ascending)."""
    if accepted:
        named = ", ".join(str(order_id) for order_id in accepted[:NAMED_ORDERS])
        more = f" and {len(accepted) - NAMED_ORDERS} more" if len(accepted) > NAMED_ORDERS else ""
        raise OpenOrders(
            f"cannot close {role} {account.id}: order{'s' if len(accepted) > 1 else ''} {named}{more}"
            f" {'are' if len(accepted) > 1 else 'is'} in production (accepted); complete or cancel"
            f" {'them' if len(accepted) > 1 else 'it'} first"
        )


def ensure_can_reopen(role: Role, account: AccountFacts) -> None:
    if account.status is CreatorStatus.BANNED:
        raise InvalidState(f"creator {account.id} is banned for good and cannot reopen the account")
    if account.status not in (ClientStatus.CLOSED, CreatorStatus.CLOSED):
        raise InvalidState(f"{role} {account.id} is not closed; it is {account.status}")


def standing_on_reopen(suspended_until: datetime | None, now: datetime) -> CreatorStatus:
    """A creator comes back suspended while a suspension that ran when they closed has not ended."""
    if suspended_until is not None and not is_due(suspended_until, now):
        return CreatorStatus.SUSPENDED
    return CreatorStatus.ACTIVE


def ensure_signs(mcn_id: int, creator_id: int, signed_to: int | None, order_id: int) -> None:
    """An MCN acts only for the creators it signs at that moment."""
    if signed_to != mcn_id:
        raise NotAllowed(
            f"mcn {mcn_id} does not sign creator {creator_id}, the creator of order {order_id},"
            " so it cannot act on that order"
        )


def ensure_may_publish(client: AccountFacts) -> None:
    if client.status is ClientStatus.CLOSED:
        raise ClientClosed(f"client {client.id} has closed their account and cannot publish")
