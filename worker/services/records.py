"""The rows that go with every state change: audit events, ledger movements, outbox notifications.

The per-order use cases and the set-based scan collect their rows in a ``Records`` and insert each
kind with one multi-row INSERT, in the transaction of the state change they describe.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models import Client, Creator, CreatorEvent, LedgerEntry, Notification, OrderEvent
from models.states import (
    LedgerKind,
    NotificationKind,
    NotificationStatus,
    OrderStatus,
    Role,
)
from worker.db import NEW_NOTIFICATIONS


def count_new_notifications(session: Session, count: int) -> None:
    session.info[NEW_NOTIFICATIONS] = session.info.get(NEW_NOTIFICATIONS, 0) + count


@dataclass(frozen=True)
class Actor:
    role: Role
    id: int | None = None


SYSTEM = Actor(Role.SYSTEM)


def party_id(order: Any, role: Role) -> int:
    """The client or creator id of an order, an ORM object or a result row alike."""
    return order.client_id if role is Role.CLIENT else order.creator_id


def phonebook(session: Session, orders: Iterable[Any]) -> dict[tuple[Role, int], str]:
    """The phones of both parties of ``orders``, in two queries whatever their number."""
    orders = list(orders)
    book = {}
    for role, model in ((Role.CLIENT, Client), (Role.CREATOR, Creator)):
        ids = {party_id(order, role) for order in orders}
        if ids:
            rows = session.execute(select(model.id, model.phone).where(model.id.in_(ids)))
            book.update({(role, row.id): row.phone for row in rows})
    return book


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass
class Records:
    phones: dict[tuple[Role, int], str] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    creator_events: list[dict] = field(default_factory=list)

    def event(
        self,
        order_id: int,
        now: datetime,
        actor: Actor,
        event: str,
        from_status: OrderStatus | None,
        to_status: OrderStatus,
        **details: Any,
    ) -> None:
        self.events.append(
            {
                "order_id": order_id,
                "at": now,
                "actor_role": actor.role,
                "actor_id": actor.id,
                "event": event,
                "from_status": from_status,
                "to_status": to_status,
                "details": {key: _jsonable(value) for key, value in details.items()},
            }
        )

    def money(self, order_id: int, now: datetime, kind: LedgerKind, amount_fen: int) -> None:
        if amount_fen > 0:
            self.ledger.append({"order_id": order_id, "kind": kind, "amount_fen": amount_fen, "at": now})

    def notify(
        self,
        kind: NotificationKind,
        subject: str,
        order: Any,
        recipients: Iterable[Role],
        now: datetime,
        **params: Any,
    ) -> None:
        """One outbox row per recipient of the order's; the key ``<subject>:<kind>:<role>`` is unique per
        event."""
        for role in recipients:
            self.notify_party(kind, subject, role, party_id(order, role), now, order_id=order.id, **params)

    def notify_party(
        self,
        kind: NotificationKind,
        subject: str,
        role: Role,
        recipient_id: int,
        now: datetime,
        *,
        order_id: int | None = None,
        **params: Any,
    ) -> None:
        params = {key: _jsonable(value) for key, value in params.items()}
        self.notifications.append(
            {
                "idempotency_key": f"{subject}:{kind}:{role}",
                "kind": kind,
                "order_id": order_id,
                "recipient_role": role,
                "recipient_id": recipient_id,
                "phone": self.phones[(role, recipient_id)],
                "params": params,
                "status": NotificationStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "due_at": now,
            }
        )

    def creator_event(self, creator_id: int, now: datetime, actor: Actor, event: str, **details: Any) -> None:
        self.creator_events.append(
            {
                "creator_id": creator_id,
                "at": now,
                "actor_role": actor.role,
                "actor_id": actor.id,
                "event": event,
                "details": {key: _jsonable(value) for key, value in details.items()},
            }
        )

    def write(self, session: Session) -> None:
        """Insert the rows, counting the new notifications in ``session.info[NEW_NOTIFICATIONS]`` so the
        caller can have them sent once the transaction has committed."""
        for model, rows in ((OrderEvent, self.events), (LedgerEntry, self.ledger), (CreatorEvent, self.creator_events)):
            if rows:
                session.execute(insert(model), rows)
        if self.notifications:
            session.execute(insert(Notification), self.notifications)
            count_new_notifications(session, len(self.notifications))
