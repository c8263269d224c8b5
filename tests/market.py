"""A test driver for the service layer: one transaction per use case, ``now`` passed in, as the CLI
and the task API run them; plus a whole-database dump and the invariants every test must leave true."""

import dataclasses
from collections import Counter
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from models import Base, Client, Creator, LedgerEntry, Mcn, Notification, Order, OrderEvent
from models.states import LedgerKind, NotificationKind, OrderStatus, Role
from worker.database.unit_of_work import transaction
from worker.notify.messages import render
from worker.rules import party_of
from worker.services import accounts, agencies, cancellation, creator_record, orders, parties, reads, timers
from worker.settings import Settings

T0 = datetime(2026, 11, 27, 4, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
NOTHING = timers.ScanResult().as_dict()  # what a scan with nothing due applies


def text_of(note: Notification) -> str:
    """What the SMS says, as the sender and the CLI show it."""
    return render(note.kind, note.params)


class Market:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings):
        self.sessions = sessions
        self.settings = settings

    def configured(self, **changes) -> "Market":
        return Market(self.sessions, dataclasses.replace(self.settings, **changes))

    def run(self, use_case, *, now: datetime, **kwargs):
        with transaction(self.sessions) as session:
            return use_case(session, self.settings, now=now, **kwargs)

    # --- parties and orders -------------------------------------------------------------------------

    def client(self, name: str = "品牌甲", phone: str = "13800000001", now: datetime = T0) -> int:
        return self.run(parties.add, model=Client, name=name, phone=phone, now=now).id

    def creator(self, name: str = "达人乙", phone: str = "13900000002", now: datetime = T0) -> int:
        return self.run(parties.add, model=Creator, name=name, phone=phone, now=now).id

    def mcn(self, name: str = "无忧传媒", phone: str = "13700000003", now: datetime = T0) -> int:
        return self.run(parties.add, model=Mcn, name=name, phone=phone, now=now).id

    def sign(self, mcn_id: int, creator_id: int, *, now: datetime = T0) -> Mcn:
        return self.run(agencies.sign, mcn_id=mcn_id, creator_id=creator_id, now=now)

    def release(self, mcn_id: int, creator_id: int, *, now: datetime = T0) -> Mcn:
        return self.run(agencies.release, mcn_id=mcn_id, creator_id=creator_id, now=now)

    def close(self, role: Role, account_id: int, *, now: datetime, reason: str = "不再使用星图"):
        return self.run(accounts.close, role=role, account_id=account_id, reason=reason, now=now)

    def reopen(self, role: Role, account_id: int, *, now: datetime):
        return self.run(accounts.reopen, role=role, account_id=account_id, now=now)

    def publish(self, *, now: datetime = T0, amount_fen: int = 10_000, title: str = "夏季新品推广") -> Order:
        return self.run(
            orders.publish, client_id=self.client(), creator_id=self.creator(), title=title, amount_fen=amount_fen,
            now=now,
        )  # fmt: skip

    def accepted(self, *, now: datetime = T0, uploads: int = 0, amount_fen: int = 10_000) -> Order:
        order = self.publish(now=now, amount_fen=amount_fen)
        self.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=now + HOUR)
        for n in range(uploads):
            self.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video=f"v{n}", now=now + 2 * HOUR)
        return self.order(order.id)

    def request(self, order: Order, role: Role, *, now: datetime, reason: str = "预算调整") -> Order:
        return self.run(
            cancellation.request, order_id=order.id, role=role, actor_id=party_of(order, role), reason=reason, now=now
        )

    def scan(self, now: datetime) -> timers.ScanResult:
        result = timers.ScanResult()
        while True:
            with transaction(self.sessions) as session:
                batch = timers.scan_batch(
                    session,
                    now,
                    self.settings.cancel_timeout_policy,
                    self.settings.scan_batch_size,
                    key_window=self.settings.idempotency_window,
                )
            result += batch
            if batch == timers.ScanResult():
                return result

    # --- reading back -------------------------------------------------------------------------------

    def record(self, creator_id: int) -> dict:
        """The creator record brands see (``worker.services.creator_record``)."""
        with self.sessions() as session:
            return creator_record.of(session, creator_id)

    def account(self, model, account_id: int):
        with self.sessions() as session:
            return session.get(model, account_id)

    def order(self, order_id: int) -> Order:
        with self.sessions() as session:
            return reads.order(session, order_id)

    def _all(self, model, order_id: int | None = None) -> list:
        query = sa.select(model).order_by(model.id)
        if order_id is not None:
            query = query.where(model.order_id == order_id)
        with self.sessions() as session:
            return list(session.scalars(query))

    def notifications(self, order_id: int | None = None) -> list[Notification]:
        return self._all(Notification, order_id)

    def sent_to(self, order_id: int) -> list[tuple[str, str]]:
        """(kind, recipient role) of an order's notifications, in the order they were written."""
        return [(n.kind.value, n.recipient_role.value) for n in self.notifications(order_id)]

    def events(self, order_id: int) -> list[OrderEvent]:
        return self._all(OrderEvent, order_id)

    def ledger(self, order_id: int) -> list[tuple[str, int]]:
        return [(e.kind.value, e.amount_fen) for e in self._all(LedgerEntry, order_id)]

    def dump(self) -> dict[str, list[tuple]]:
        """Every row of every table, to prove a refusal changed nothing."""
        with self.sessions() as session:
            return {
                table.name: [tuple(row) for row in session.execute(sa.select(table).order_by(*table.primary_key))]
                for table in Base.metadata.sorted_tables
            }

    # --- invariants ---------------------------------------------------------------------------------

    def check_invariants(self) -> None:
        with self.sessions() as session:
            all_orders = list(session.scalars(sa.select(Order)))
            ledger = list(session.scalars(sa.select(LedgerEntry)))
            notes = list(session.scalars(sa.select(Notification)))
            events = list(session.scalars(sa.select(OrderEvent).order_by(OrderEvent.id)))
            for order in all_orders:
                _check_order(order, ledger, notes, events)
            closed = {
                (Role.CLIENT, c.id) for c in session.scalars(sa.select(Client).where(Client.closed_at.is_not(None)))
            } | {
                (Role.CREATOR, c.id) for c in session.scalars(sa.select(Creator).where(Creator.closed_at.is_not(None)))
            }
            for order in all_orders:  # a closed account has no order waiting for it
                for role in (Role.CLIENT, Role.CREATOR):
                    assert not (order.status is OrderStatus.PENDING and (role, party_of(order, role)) in closed), (
                        f"order {order.id} is pending for closed {role} {party_of(order, role)}"
                    )


def _check_order(order: Order, ledger, notes, events) -> None:
    money = Counter()
    for entry in ledger:
        if entry.order_id == order.id:
            money[entry.kind] += entry.amount_fen
    assert money[LedgerKind.ESCROW] == order.amount_fen, f"order {order.id}: escrow"
    if order.status.terminal:
        assert order.creator_payout_fen + order.client_refund_fen == order.amount_fen, f"order {order.id}: split"
        assert money[LedgerKind.CREATOR_PAYOUT] == order.creator_payout_fen, f"order {order.id}: payout"
        assert money[LedgerKind.CLIENT_REFUND] == order.client_refund_fen, f"order {order.id}: refund"
    else:
        assert money[LedgerKind.CREATOR_PAYOUT] == money[LedgerKind.CLIENT_REFUND] == 0, f"order {order.id}: early"
    sent = Counter((n.kind, n.recipient_role) for n in notes if n.order_id == order.id)
    assert sent[(NotificationKind.ORDER_PUBLISHED, Role.CREATOR)] == 1, f"order {order.id}: published SMS"
    cancelled_sms = {role: sent[(NotificationKind.ORDER_CANCELLED, role)] for role in (Role.CREATOR, Role.CLIENT)}
    expected = 1 if order.status is OrderStatus.CANCELLED else 0
    assert cancelled_sms == {Role.CREATOR: expected, Role.CLIENT: expected}, f"order {order.id}: cancelled SMS"
    trail = [e for e in events if e.order_id == order.id]
    assert trail[0].event == "published" and trail[-1].to_status is order.status, f"order {order.id}: audit"
    for before, after in zip(trail, trail[1:]):
        assert after.from_status is before.to_status, f"order {order.id}: audit chain"
