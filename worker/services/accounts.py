"""Closing and reopening accounts (关闭星图), for clients and creators alike, and syncing a creator's
figures from Douyin.

Closing is refused while any order of the account is in production (``accepted``); its pending orders
end at once in the same transaction, declined by a creator who closes or cancelled by a client who
does, with the close reason as the request's reason. Timers that were already due are applied first and
stay applied even when the close is refused, as everywhere (``worker.services.locking``).
"""

from datetime import datetime

from models import Client, ClientEvent, Creator, CreatorEvent
from models.states import (
    ClientEventKind,
    ClientStatus,
    CreatorEventKind,
    CreatorStatus,
    NotificationKind,
    OrderEventKind,
    OrderStatus,
    Role,
)
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.errors import InvalidInput
from worker.formats import validation
from worker.services import cancellation, locking
from worker.services.records import SYSTEM, Actor, Records, jsonable, subject
from worker.settings import Settings

Account = Client | Creator

ENDED_ON_CLOSING = {Role.CLIENT: OrderEventKind.CANCELLED_ON_CLOSING, Role.CREATOR: OrderEventKind.DECLINED_ON_CLOSING}


def _lock(session: UnitOfWork, role: Role, account_id: int, now: datetime) -> Account:
    if role is Role.CLIENT:
        return locking.lock_client(session, account_id)
    if role is Role.CREATOR:
        return locking.lock_creator(session, account_id, now)
    raise InvalidInput("party", f"only a client or a creator account can close or reopen; got {role}")


def close(
    session: UnitOfWork, settings: Settings, *, role: Role, account_id: int, reason: str, now: datetime
) -> Account:
    """Close the account: refused while an order of it is accepted; its pending orders end now."""
    reason = validation.reason(reason)
    account = _lock(session, role, account_id, now)
    rules.ensure_can_close(role, account)
    orders = locking.lock_open_orders(session, role, account_id, now, settings.cancel_timeout_policy)
    rules.ensure_none_in_production(
        role, account, [order.id for order in orders if order.status is OrderStatus.ACCEPTED]
    )
    ended = cancellation.end_pending(
        session, orders, initiator=role, actor=Actor(role, account_id), reason=reason, event=ENDED_ON_CLOSING[role],
        now=now,
    )  # fmt: skip
    if role is Role.CREATOR:  # a suspension running now is kept, for reopening to find
        account.status = CreatorStatus.CLOSED
    else:
        account.status = ClientStatus.CLOSED
    account.closed_at = now
    _record(
        session, role, account, now, NotificationKind.ACCOUNT_CLOSED, {"reason": reason, "cancelled_orders": ended},
        reason=reason, cancelled_orders=len(ended),
    )  # fmt: skip
    return account


def reopen(session: UnitOfWork, settings: Settings, *, role: Role, account_id: int, now: datetime) -> Account:
    """Bring a closed account back: a creator is suspended again while a suspension that ran when they
    closed has not ended, and active otherwise."""
    account = _lock(session, role, account_id, now)
    rules.ensure_can_reopen(role, account)
    account.closed_at = None
    if role is Role.CREATOR:
        account.status = rules.standing_on_reopen(account.suspended_until, now)
        if account.status is CreatorStatus.ACTIVE and account.suspended_until is not None:
            # It ended while the account was closed, where the scan lifts nothing: its end is recorded now.
            ended, account.suspended_until = account.suspended_until, None
            records = Records()
            records.creator_event(
                account.id, now, SYSTEM, CreatorEventKind.SUSPENSION_LIFTED, suspended_until=ended, while_closed=True
            )
            records.write(session)
        standing = {"status": account.status, "suspended_until": account.suspended_until}
    else:
        account.status = ClientStatus.ACTIVE
        standing = {"status": account.status, "suspended_until": None}
    _record(session, role, account, now, NotificationKind.ACCOUNT_REOPENED, standing, **standing)
    return account


# Each account's trail, and the names of its steps there (the same as the SMS kinds').
TRAILS = {
    Role.CLIENT: (ClientEvent, "client_id", ClientEventKind),
    Role.CREATOR: (CreatorEvent, "creator_id", CreatorEventKind),
}


def _record(
    session: UnitOfWork, role: Role, account: Account, now: datetime, kind: NotificationKind, details: dict, **params
) -> None:
    """The step in the account's own trail (the account acting), and its SMS to the account, keyed by
    that trail event (an account may close and reopen many times)."""
    model, column, steps = TRAILS[role]
    event = model(
        **{column: account.id}, at=now, actor_role=role, actor_id=account.id, event=steps[kind.name].value,
        details=jsonable(details),
    )  # fmt: skip
    session.add(event)
    session.flush()
    records = Records({(role, account.id): account.phone})
    records.notify_party(kind, subject(f"{role}-event", event.id), role, account.id, now, **params)
    records.write(session)


def update(
    session: UnitOfWork,
    settings: Settings,
    *,
    creator_id: int,
    now: datetime,
    followers: object = None,
    average_plays: object = None,
) -> Creator:
    """Set a creator's figures as the platform syncs them from Douyin (粉丝数量, 视频平均播放量); the
    change goes to their trail, by ``system``."""
    changes = {
        field: validation.figure(field, value)
        for field, value in (("followers", followers), ("average_plays", average_plays))
        if value is not None
    }
    if not changes:
        raise InvalidInput("figures", "nothing to update: give followers and/or average_plays")
    creator = locking.lock_creator(session, creator_id, now)
    for field, value in changes.items():
        setattr(creator, field, value)
    records = Records()
    records.creator_event(creator.id, now, SYSTEM, CreatorEventKind.RECORD_UPDATED, **changes)
    records.write(session)
    return creator
