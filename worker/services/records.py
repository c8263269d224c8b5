"""The rows that go with every state change: audit events, ledger movements, outbox notifications.

The per-order use cases and the set-based scan collect their rows in a ``Records`` and insert each
kind with one multi-row INSERT, in the transaction of the state change they describe. What makes a
notification unique (``notification_key``) is spelled here once, for these rows and for the SQL that
writes ``order_cancelled`` in ``worker.services.settlement``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, insert, literal, select
from sqlalchemy.orm import QueryableAttribute, Session

from models import Client, Creator, CreatorEvent, LedgerEntry, Mcn, Notification, OrderEvent
from models.states import (
    CreatorEventKind,
    LedgerKind,
    NotificationKind,
    NotificationStatus,
    OrderEventKind,
    OrderStatus,
    Role,
)
from worker.database.unit_of_work import UnitOfWork
from worker.notify.messages import params_for
from worker.rules import party_of


@dataclass(frozen=True)
class Actor:
    role: Role
    id: int | None = None


SYSTEM = Actor(Role.SYSTEM)


def subject(kind: str, id_: int | ColumnElement) -> str | ColumnElement:
    """What a notification is about: ``order-7``, ``request-3``, ``violation-2`` (or the same in SQL, for
    a column)."""
    if isinstance(id_, (ColumnElement, QueryableAttribute)):
        return literal(f"{kind}-") + cast(id_, String)
    if not isinstance(id_, int):  # e.g. None, for a row not flushed yet: a key must never be "order-None"
        raise TypeError(f"a {kind} notification needs the {kind}'s id, got {id_!r}")
    return f"{kind}-{id_}"


def notification_key(about: str | ColumnElement, kind: NotificationKind, role: Role) -> str | ColumnElement:
    """``<subject>:<kind>:<role>``: unique per event and recipient, and the provider's idempotency key."""
    return about + f":{kind}:{role}"


def jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in details.items()}


@dataclass
class Records:
    """Rows to write, collected while a use case runs. ``phones`` holds each recipient's phone by
    (role, id); ``mcn_of`` the MCN each creator involved is signed to, who gets a copy of their SMS."""

    phones: dict[tuple[Role, int], str] = field(default_factory=dict)
    mcn_of: dict[int, int] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    ledger: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    creator_events: list[dict] = field(default_factory=list)

    @classmethod
    def for_orders(cls, session: Session, orders: Iterable[Any]) -> "Records":
        """Records that can notify both parties of ``orders`` and their creators' MCNs, whose phones
        are read here in two queries whatever the number of orders."""
        orders = list(orders)
        records = cls()
        client_ids = {order.client_id for order in orders}
        if client_ids:
            rows = session.execute(select(Client.id, Client.phone).where(Client.id.in_(client_ids)))
            records.phones.update({(Role.CLIENT, row.id): row.phone for row in rows})
        creator_ids = {order.creator_id for order in orders}
        if creator_ids:
            rows = session.execute(
                select(Creator.id, Creator.phone, Creator.mcn_id, Mcn.phone.label("mcn_phone"))
                .outerjoin(Mcn, Mcn.id == Creator.mcn_id)
                .where(Creator.id.in_(creator_ids))
            )
            for row in rows:
                records.phones[(Role.CREATOR, row.id)] = row.phone
                if row.mcn_id is not None:
                    records.mcn_of[row.id] = row.mcn_id
                    records.phones[(Role.MCN, row.mcn_id)] = row.mcn_phone
        return records

    @classmethod
    def for_parties(cls, session: Session, client: Client, creator: Creator) -> "Records":
        """Records for one order whose parties the use case has loaded already: their phones need no
        query, only the MCN's when the creator is signed to one."""
        records = cls(phones={(Role.CLIENT, client.id): client.phone, (Role.CREATOR, creator.id): creator.phone})
        if creator.mcn_id is not None:
            records.mcn_of[creator.id] = creator.mcn_id
            records.phones[(Role.MCN, creator.mcn_id)] = session.scalar(
                select(Mcn.phone).where(Mcn.id == creator.mcn_id)
            )
        return records

    def event(
        self,
        order_id: int,
        now: datetime,
        actor: Actor,
        event: OrderEventKind,
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
                "event": event.value,
                "from_status": from_status,
                "to_status": to_status,
                "details": jsonable(details),
            }
        )

    def money(self, order_id: int, now: datetime, kind: LedgerKind, amount_fen: int) -> None:
        if amount_fen > 0:
            self.ledger.append({"order_id": order_id, "kind": kind, "amount_fen": amount_fen, "at": now})

    def notify(
        self,
        kind: NotificationKind,
        about: str,
        order: Any,
        recipients: Iterable[Role],
        now: datetime,
        **params: Any,
    ) -> None:
        """One outbox row per recipient of the order's (``about`` from ``subject``), and a copy for the
        MCN of a creator who is told."""
        for role in recipients:
            self.notify_party(kind, about, role, party_of(order, role), now, order_id=order.id, **params)
            if role is Role.CREATOR and order.creator_id in self.mcn_of:
                mcn_id = self.mcn_of[order.creator_id]
                self.notify_party(kind, about, Role.MCN, mcn_id, now, order_id=order.id, **params)

    def notify_party(
        self,
        kind: NotificationKind,
        about: str,
        role: Role,
        recipient_id: int,
        now: datetime,
        *,
        order_id: int | None = None,
        **params: Any,
    ) -> None:
        self.notifications.append(
            {
                "idempotency_key": notification_key(about, kind, role),
                "kind": kind,
                "order_id": order_id,
                "recipient_role": role,
                "recipient_id": recipient_id,
                "phone": self.phones[(role, recipient_id)],
                "params": jsonable(params_for(kind, **params)),
                "status": NotificationStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "due_at": now,
            }
        )

    def creator_event(
        self, creator_id: int, now: datetime, actor: Actor, event: CreatorEventKind, **details: Any
    ) -> None:
        self.creator_events.append(
            {
                "creator_id": creator_id,
                "at": now,
                "actor_role": actor.role,
                "actor_id": actor.id,
                "event": event.value,
                "details": jsonable(details),
            }
        )

    def write(self, session: UnitOfWork) -> None:
        """Insert the rows, and tell the unit of work how many notifications it now holds, so the caller
        can have them sent once the transaction has committed."""
        # Core INSERTs of the tables (the rows are plain values): the ORM's bulk path would cost more than
        # the statements themselves, on every call of the task API.
        for model, rows in ((OrderEvent, self.events), (LedgerEntry, self.ledger), (CreatorEvent, self.creator_events)):
            if rows:
                session.execute(insert(model.__table__), rows)
        if self.notifications:
            session.execute(insert(Notification.__table__), self.notifications)
            session.notifications_written(len(self.notifications))
