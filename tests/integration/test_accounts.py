"""The SPEC's "Closing an account", row by row and bullet by bullet, on SQLite and PostgreSQL: a creator or a
client closes, its pending orders end at once (or expire, when their window has closed), a close is refused
while an order is in production (after the timers already due have settled), closed accounts cannot publish or
be published to, reopening brings a creator back to the suspension still running, the ladder goes on while
closed, and each close and reopen is one trail row and one SMS, and nothing more."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from models import Base, Client, ClientEvent, Creator, CreatorEvent, Notification, Order
from models.states import (
    CancelReason,
    ClientStatus,
    CreatorStatus,
    OrderStatus,
    RequestStatus,
    Role,
    Sanction,
)
from tests.market import DAY, HOUR, SECOND, T0, text_of
from worker.errors import (
    ClientClosed,
    CreatorClosed,
    CreatorSanctioned,
    InvalidInput,
    InvalidState,
    NotFound,
    OpenOrders,
)
from worker.formats.display import local_time
from worker.rules import party_of
from worker.services import accounts, orders, sanctions

REASON = "业务调整，不再使用星图"
CLOSE_AT = T0 + 3 * HOUR  # before any acceptance window or reminder of an order published from T0 on
WEEK = timedelta(days=7)
MODEL = {Role.CLIENT: Client, Role.CREATOR: Creator}
TRAIL = {Role.CLIENT: (ClientEvent, "client_id"), Role.CREATOR: (CreatorEvent, "creator_id")}
ENDED = {  # who closes -> how each pending order ends, and its audit event
    Role.CREATOR: (CancelReason.CREATOR_DECLINED, "declined_on_closing"),
    Role.CLIENT: (CancelReason.CLIENT_CANCELLED, "cancelled_on_closing"),
}


# --- helpers -----------------------------------------------------------------------------------------------


def parties(market, n: int = 1) -> tuple[list[int], list[int]]:
    """``n`` clients and ``n`` creators, each with a phone of their own."""
    clients = [market.client(name=f"品牌{i}", phone=f"1380000{i:04d}") for i in range(n)]
    creators = [market.creator(name=f"达人{i}", phone=f"1390000{i:04d}") for i in range(n)]
    return clients, creators


def publish(market, client_id: int, creator_id: int, *, now: datetime = T0, amount_fen: int = 10_000) -> Order:
    return market.run(
        orders.publish, client_id=client_id, creator_id=creator_id, title="夏季新品推广", amount_fen=amount_fen,
        now=now,
    )  # fmt: skip


def accept(market, order: Order, *, now: datetime = T0 + HOUR, uploads: int = 0) -> Order:
    market.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=now)
    for n in range(uploads):
        market.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video=f"v{n}", now=now + SECOND)
    return market.order(order.id)


def violate(market, creator_id: int, at: datetime):
    return market.run(sanctions.record, creator_id=creator_id, evidence="私下接广告", now=at)


def trail(market, role: Role, account_id: int) -> list[tuple]:
    """(event, actor role, actor id, details, at) of the account's own trail, oldest first."""
    model, column = TRAIL[role]
    with market.sessions() as session:
        rows = session.scalars(sa.select(model).where(getattr(model, column) == account_id).order_by(model.id))
        return [(e.event, e.actor_role, e.actor_id, e.details, e.at) for e in rows]


def trail_ids(market, role: Role, account_id: int) -> list[int]:
    model, column = TRAIL[role]
    with market.sessions() as session:
        return list(session.scalars(sa.select(model.id).where(getattr(model, column) == account_id).order_by(model.id)))


def account_sms(market) -> list[Notification]:
    """The order-less SMS (account_*, sanction_*), in the order they were written."""
    return [n for n in market.notifications() if n.order_id is None]


def rows(market) -> dict[str, dict[int, dict]]:
    """Every row of every table by id, to tell what a use case added and what it changed."""
    with market.sessions() as session:
        return {
            table.name: {row.id: dict(row._mapping) for row in session.execute(sa.select(table))}
            for table in Base.metadata.sorted_tables
        }


def written(before: dict, after: dict) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """(ids added, ids changed) per table that has any; no row is ever deleted."""
    added, changed = {}, {}
    for name, old in before.items():
        new = after[name]
        assert set(old) <= set(new), f"rows deleted from {name}"
        if fresh := set(new) - set(old):
            added[name] = fresh
        if touched := {id_ for id_ in old if old[id_] != new[id_]}:
            changed[name] = touched
    return added, changed


def refused(market, error, match: str, use_case, **kwargs):
    """Run a use case that must be refused with ``error`` (its code checked) and change nothing."""
    before = market.dump()
    with pytest.raises(error, match=match) as info:
        market.run(use_case, **kwargs)
    assert info.value.code == error.code
    assert market.dump() == before
    return info.value


# --- closing with pending orders -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_closing_ends_every_pending_order_and_tells_everyone(market, role):
    (c1, c2), (k1, k2) = parties(market, 2)
    done = accept(market, publish(market, c1, k1), uploads=1)
    market.run(orders.complete, order_id=done.id, client_id=c1, now=T0 + 2 * HOUR)
    own = [publish(market, c1, k1, amount_fen=10_000), publish(market, c1, k1, now=T0 + HOUR, amount_fen=12_345)]
    mine_only = (
        publish(market, c1, k2, amount_fen=777) if role is Role.CLIENT else publish(market, c2, k1, amount_fen=777)
    )
    others = publish(market, c2, k2) if role is Role.CLIENT else publish(market, c1, k2)  # not the closer's
    pending = [*own, mine_only]
    closer = party_of(own[0], role)
    before = rows(market)

    closed = market.close(role, closer, now=CLOSE_AT, reason=REASON)

    assert (closed.id, closed.status, closed.closed_at) == (closer, "closed", CLOSE_AT)
    cause, event = ENDED[role]
    for order in pending:
        ended = market.order(order.id)
        assert (ended.status, ended.cancel_reason, ended.cancelled_at) == (OrderStatus.CANCELLED, cause, CLOSE_AT)
        assert (ended.creator_payout_fen, ended.client_refund_fen) == (0, order.amount_fen)
        assert market.ledger(order.id) == [("escrow", order.amount_fen), ("client_refund", order.amount_fen)]
        request = ended.latest_request
        assert (request.initiator, request.status, request.reason, request.compensation_fen) == (
            role, RequestStatus.CONFIRMED, REASON, 0,
        )  # fmt: skip
        assert (request.requested_at, request.resolved_at, request.respond_by) == (CLOSE_AT, CLOSE_AT, None)
        (*_, last) = market.events(order.id)
        assert (last.event, last.actor_role, last.actor_id, last.from_status, last.to_status, last.at) == (
            event, role, closer, OrderStatus.PENDING, OrderStatus.CANCELLED, CLOSE_AT,
        )  # fmt: skip
        assert last.details == {"cancel_reason": cause.value, "creator_payout_fen": 0,
                                "client_refund_fen": order.amount_fen, "request_id": request.id}  # fmt: skip
        assert market.sent_to(order.id) == [
            ("order_published", "creator"), ("order_cancelled", "creator"), ("order_cancelled", "client"),
        ]  # fmt: skip
        cancelled_sms = market.notifications(order.id)[1:]
        assert [(n.recipient_id, n.idempotency_key) for n in cancelled_sms] == [
            (order.creator_id, f"order-{order.id}:order_cancelled:creator"),
            (order.client_id, f"order-{order.id}:order_cancelled:client"),
        ]
        assert all(REASON in text_of(n) and "退款" in text_of(n) for n in cancelled_sms)
    assert market.order(done.id).status is OrderStatus.COMPLETED
    assert market.order(others.id).status is OrderStatus.PENDING  # another party's order goes on

    ids = [order.id for order in pending]
    (row,) = trail(market, role, closer)
    assert row == ("account_closed", role, closer, {"reason": REASON, "cancelled_orders": ids}, CLOSE_AT)
    (sms,) = account_sms(market)
    (trail_id,) = trail_ids(market, role, closer)
    assert (sms.kind, sms.recipient_role, sms.recipient_id, sms.order_id, sms.idempotency_key) == (
        "account_closed", role, closer, None, f"{role}-event-{trail_id}:account_closed:{role}",
    )  # fmt: skip
    assert sms.phone == ("+8613800000000" if role is Role.CLIENT else "+8613900000000")
    assert sms.params == {"reason": REASON, "cancelled_orders": 3}
    assert REASON in text_of(sms) and "3个待接收任务已取消" in text_of(sms)

    # nothing else was written: per table, exactly what the SPEC names
    added, changed = written(before, rows(market))
    trail_table = "creator_events" if role is Role.CREATOR else "client_events"
    assert {name: len(ids_) for name, ids_ in added.items()} == {
        "cancellation_requests": 3, "order_events": 3, "ledger_entries": 3, "notifications": 7, trail_table: 1,
    }  # fmt: skip
    assert changed == {"orders": set(ids), MODEL[role].__tablename__: {closer}}
    after = rows(market)["notifications"]
    kinds = Counter((after[i]["kind"], after[i]["recipient_role"]) for i in added["notifications"])
    assert kinds == {("order_cancelled", "creator"): 3, ("order_cancelled", "client"): 3, ("account_closed", role): 1}


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_closing_with_nothing_pending_writes_the_trail_row_and_the_sms_only(market, role):
    (client,), (creator,) = parties(market)
    closer = client if role is Role.CLIENT else creator
    before = rows(market)
    market.close(role, closer, now=CLOSE_AT, reason=REASON)
    added, changed = written(before, rows(market))
    trail_table = "creator_events" if role is Role.CREATOR else "client_events"
    assert {name: len(ids_) for name, ids_ in added.items()} == {"notifications": 1, trail_table: 1}
    assert changed == {MODEL[role].__tablename__: {closer}}
    assert trail(market, role, closer) == [
        ("account_closed", role, closer, {"reason": REASON, "cancelled_orders": []}, CLOSE_AT)
    ]
    (sms,) = account_sms(market)
    assert (sms.kind, sms.params) == ("account_closed", {"reason": REASON, "cancelled_orders": 0})
    assert (
        text_of(sms) == f"【星图】您的星图账号已关闭，原因：{REASON}。0个待接收任务已取消。如需恢复，可申请重新开通。"
    )


def test_a_signed_creator_closing_copies_the_order_sms_to_the_mcn_but_not_the_account_sms(market):
    (client,), (creator,) = parties(market)
    mcn = market.mcn()
    market.sign(mcn, creator)
    order = publish(market, client, creator)
    market.close(Role.CREATOR, creator, now=CLOSE_AT, reason=REASON)
    assert market.sent_to(order.id)[-3:] == [
        ("order_cancelled", "creator"), ("order_cancelled", "client"), ("order_cancelled", "mcn"),
    ]  # fmt: skip
    copy = market.notifications(order.id)[-1]
    assert (copy.recipient_id, copy.idempotency_key) == (mcn, f"order-{order.id}:order_cancelled:mcn")
    assert [(n.kind, n.recipient_role) for n in account_sms(market)] == [("account_closed", Role.CREATOR)]


# --- refused while an order is in production ----------------------------------------------------------------


@pytest.mark.parametrize("request_by", [None, Role.CLIENT, Role.CREATOR], ids=["no request", "client's", "creator's"])
def test_one_order_in_production_refuses_the_close(market, request_by):
    for n, role in enumerate([Role.CREATOR, Role.CLIENT]):
        client = market.client(phone=f"1380000{n:04d}")
        creator = market.creator(phone=f"1390000{n:04d}")
        work = accept(market, publish(market, client, creator), uploads=1)
        if request_by is not None:
            market.request(work, request_by, now=T0 + 2 * HOUR)
        waiting = publish(market, client, creator, now=T0 + 2 * HOUR)
        closer = party_of(work, role)
        refused(
            market, OpenOrders,
            rf"^cannot close {role} {closer}: order {work.id} is in production \(accepted\); complete or cancel it"
            " first$",
            accounts.close, role=role, account_id=closer, reason=REASON, now=CLOSE_AT,
        )  # fmt: skip
        assert market.order(waiting.id).status is OrderStatus.PENDING  # a refused close cancels nothing
        assert market.account(MODEL[role], closer).status == "active"


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_the_refusal_names_every_order_in_production(market, role):
    (c1, c2), (k1, k2) = parties(market, 2)
    first = accept(market, publish(market, c1, k1))
    waiting = publish(market, c1, k1)
    done = accept(market, publish(market, c1, k1), uploads=1)
    market.run(orders.complete, order_id=done.id, client_id=c1, now=T0 + 2 * HOUR)
    # the closer's second order in production is with another party, and has an open request
    second = accept(market, publish(market, c1, k2) if role is Role.CLIENT else publish(market, c2, k1))
    market.request(second, Role.CLIENT, now=T0 + 2 * HOUR)
    accept(market, publish(market, c2, k2))  # in production, but not the closer's
    closer = party_of(first, role)
    refused(
        market, OpenOrders,
        rf"^cannot close {role} {closer}: orders {first.id}, {second.id} are in production \(accepted\);"
        " complete or cancel them first$",
        accounts.close, role=role, account_id=closer, reason=REASON, now=CLOSE_AT,
    )  # fmt: skip
    assert market.order(waiting.id).status is OrderStatus.PENDING


# --- deadlines at the instant of closing --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_a_pending_order_at_its_acceptance_deadline_expires_instead(market, role):
    """Two pairs of parties, each with one order (accept_deadline T0 + 1 day): one closes a second before
    the deadline (the order is declined / cancelled by the close), the other at it (the order expires)."""
    for n, (at, expires) in enumerate([(T0 + DAY - SECOND, False), (T0 + DAY, True)]):
        order = publish(market, market.client(phone=f"1380000{n:04d}"), market.creator(phone=f"1390000{n:04d}"))
        closer = party_of(order, role)
        market.close(role, closer, now=at, reason=REASON)
        ended = market.order(order.id)
        (*_, last) = market.events(order.id)
        assert (ended.status, ended.cancelled_at) == (OrderStatus.CANCELLED, at)
        assert (ended.creator_payout_fen, ended.client_refund_fen) == (0, 10_000)
        if expires:
            assert ended.cancel_reason is CancelReason.ACCEPTANCE_TIMEOUT and ended.latest_request is None
            assert (last.event, last.actor_role, last.actor_id) == ("acceptance_timed_out", Role.SYSTEM, None)
        else:
            assert ended.cancel_reason is ENDED[role][0] and ended.latest_request.reason == REASON
            assert (last.event, last.actor_role, last.actor_id) == (ENDED[role][1], role, closer)
        assert market.sent_to(order.id)[-2:] == [("order_cancelled", "creator"), ("order_cancelled", "client")]
        cancelled = [] if expires else [order.id]
        assert trail(market, role, closer)[0][3] == {"reason": REASON, "cancelled_orders": cancelled}
        assert account_sms(market)[n].params == {"reason": REASON, "cancelled_orders": len(cancelled)}


ASKED = T0 + 2 * HOUR
RESPOND_BY = ASKED + 2 * DAY  # the default response window is 48 hours


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_an_overdue_request_is_auto_confirmed_first_and_the_close_goes_through(market, role):
    for n, initiator in enumerate([Role.CLIENT, Role.CREATOR]):
        client, creator = market.client(phone=f"1380000{n:04d}"), market.creator(phone=f"1390000{n:04d}")
        work = accept(market, publish(market, client, creator), uploads=1)
        market.request(work, initiator, now=ASKED)
        waiting = publish(market, client, creator, now=RESPOND_BY - HOUR)  # its window is still open
        closer = party_of(work, role)
        market.close(role, closer, now=RESPOND_BY, reason=REASON)
        settled = market.order(work.id)
        cause = CancelReason.CLIENT_CANCELLED if initiator is Role.CLIENT else CancelReason.CREATOR_CANCELLED
        payout = 5_000 if initiator is Role.CLIENT else 0  # 50% after an upload, when the client cancels
        assert (settled.status, settled.cancel_reason, settled.cancelled_at) == (
            OrderStatus.CANCELLED, cause, RESPOND_BY,
        )  # fmt: skip
        assert (settled.creator_payout_fen, settled.client_refund_fen) == (payout, 10_000 - payout)
        assert settled.latest_request.status is RequestStatus.AUTO_CONFIRMED
        (*_, last) = market.events(work.id)
        assert (last.event, last.actor_role) == ("cancellation_auto_confirmed", Role.SYSTEM)
        assert market.order(waiting.id).cancel_reason is ENDED[role][0]
        assert market.account(MODEL[role], closer).status == "closed"
        assert trail(market, role, closer)[0][3] == {"reason": REASON, "cancelled_orders": [waiting.id]}


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_a_second_before_respond_by_the_request_still_blocks_the_close(market, role):
    (client,), (creator,) = parties(market)
    work = accept(market, publish(market, client, creator), uploads=1)
    market.request(work, Role.CLIENT, now=ASKED)
    closer = party_of(work, role)
    refused(
        market, OpenOrders, f"order {work.id} is in production",
        accounts.close, role=role, account_id=closer, reason=REASON, now=RESPOND_BY - SECOND,
    )  # fmt: skip
    assert market.order(work.id).open_request is not None


def test_a_refused_close_keeps_the_timer_it_applied(market):
    (client,), (creator,) = parties(market)
    overdue = accept(market, publish(market, client, creator))
    market.request(overdue, Role.CLIENT, now=ASKED)
    busy = accept(market, publish(market, client, creator))
    message = rf"^cannot close creator {creator}: order {busy.id} is in production \(accepted\); complete or cancel"
    with pytest.raises(OpenOrders, match=message + " it first$"):  # the settled order is not named
        market.close(Role.CREATOR, creator, now=RESPOND_BY, reason=REASON)
    assert market.order(overdue.id).latest_request.status is RequestStatus.AUTO_CONFIRMED
    assert market.account(Creator, creator).status == "active" and trail(market, Role.CREATOR, creator) == []
    assert account_sms(market) == []


# --- what cannot close or reopen ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_closing_twice_and_reopening_an_open_account_are_invalid_state(market, role):
    (client,), (creator,) = parties(market)
    account = client if role is Role.CLIENT else creator
    refused(market, InvalidState, rf"^{role} {account} is not closed; it is active$",
            accounts.reopen, role=role, account_id=account, now=CLOSE_AT)  # fmt: skip
    market.close(role, account, now=CLOSE_AT)
    refused(market, InvalidState, rf"^{role} {account} is already closed$",
            accounts.close, role=role, account_id=account, reason=REASON, now=CLOSE_AT + HOUR)  # fmt: skip


def test_a_suspended_creator_may_close_but_not_reopen_before_closing(market):
    (creator,) = parties(market)[1]
    violate(market, creator, T0)
    violate(market, creator, T0 + HOUR)
    refused(market, InvalidState, rf"^creator {creator} is not closed; it is suspended$",
            accounts.reopen, role=Role.CREATOR, account_id=creator, now=CLOSE_AT)  # fmt: skip
    closed = market.close(Role.CREATOR, creator, now=CLOSE_AT)
    assert (closed.status, closed.suspended_until, closed.closed_at) == ("closed", T0 + HOUR + WEEK, CLOSE_AT)


def test_a_banned_creator_can_neither_close_nor_reopen(market):
    (creator,) = parties(market)[1]
    for n in range(4):
        violate(market, creator, T0 + n * HOUR)
    at = T0 + DAY
    refused(market, InvalidState, rf"^creator {creator} is banned for good and cannot close the account$",
            accounts.close, role=Role.CREATOR, account_id=creator, reason=REASON, now=at)  # fmt: skip
    refused(market, InvalidState, rf"^creator {creator} is banned for good and cannot reopen the account$",
            accounts.reopen, role=Role.CREATOR, account_id=creator, now=at)  # fmt: skip


def test_unknown_accounts(market):
    parties(market)
    for role in (Role.CREATOR, Role.CLIENT):
        refused(market, NotFound, rf"^{role} 404 does not exist$",
                accounts.close, role=role, account_id=404, reason=REASON, now=CLOSE_AT)  # fmt: skip
        refused(market, NotFound, rf"^{role} 404 does not exist$",
                accounts.reopen, role=role, account_id=404, now=CLOSE_AT)  # fmt: skip


BAD_REASONS = [
    ("", "reason is required and cannot be blank"),
    ("  \u3000 ", "reason is required and cannot be blank"),
    ("长" * 501, "reason is 501 characters; at most 500 are allowed"),
    ("关闭\x07账号", r"reason has a control character \(U\+0007\) at position 3"),
]


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_a_bad_reason_changes_nothing_and_500_characters_are_enough(market, role):
    (client,), (creator,) = parties(market)
    waiting = publish(market, client, creator)
    account = client if role is Role.CLIENT else creator
    before = market.dump()
    for reason, message in BAD_REASONS:
        with pytest.raises(InvalidInput, match=message) as info:
            market.close(role, account, now=CLOSE_AT, reason=reason)
        assert info.value.code == "invalid_reason"
        assert market.dump() == before
    market.close(role, account, now=CLOSE_AT, reason=" " + "长" * 500 + " ")  # trimmed, as every reason
    assert market.order(waiting.id).latest_request.reason == "长" * 500
    assert trail(market, role, account)[0][3] == {"reason": "长" * 500, "cancelled_orders": [waiting.id]}


# --- publishing around a closed account ---------------------------------------------------------------------


def test_no_publishing_to_a_closed_creator_until_reopened(market):
    (client,), (creator,) = parties(market)
    market.close(Role.CREATOR, creator, now=CLOSE_AT)
    refused(market, CreatorClosed, rf"^cannot publish to creator {creator}: the creator has closed their account$",
            orders.publish, client_id=client, creator_id=creator, title="t", amount_fen=100,
            now=CLOSE_AT + HOUR)  # fmt: skip
    market.reopen(Role.CREATOR, creator, now=CLOSE_AT + 2 * HOUR)
    order = publish(market, client, creator, now=CLOSE_AT + 2 * HOUR)
    assert order.status is OrderStatus.PENDING and market.sent_to(order.id) == [("order_published", "creator")]


def test_no_publishing_by_a_closed_client_until_reopened(market):
    (client,), (creator,) = parties(market)
    market.close(Role.CLIENT, client, now=CLOSE_AT)
    refused(market, ClientClosed, rf"^client {client} has closed their account and cannot publish$",
            orders.publish, client_id=client, creator_id=creator, title="t", amount_fen=100,
            now=CLOSE_AT + HOUR)  # fmt: skip
    reopened = market.reopen(Role.CLIENT, client, now=CLOSE_AT + 2 * HOUR)
    assert (reopened.status, reopened.closed_at) == (ClientStatus.ACTIVE, None)
    assert publish(market, client, creator, now=CLOSE_AT + 2 * HOUR).status is OrderStatus.PENDING


# --- reopening ----------------------------------------------------------------------------------------------

SUSPENDED_AT = T0 + DAY  # the 2nd violation: suspended for 7 days
ENDS = SUSPENDED_AT + WEEK


def suspended_and_closed(market) -> tuple[int, int]:
    """A client, and a creator suspended for 7 days from SUSPENDED_AT who closed an hour later."""
    (client,), (creator,) = parties(market)
    violate(market, creator, T0)
    violate(market, creator, SUSPENDED_AT)
    closed = market.close(Role.CREATOR, creator, now=SUSPENDED_AT + HOUR)
    assert (closed.status, closed.suspended_until) == (CreatorStatus.CLOSED, ENDS)
    return client, creator


@pytest.mark.parametrize(
    "at, status, until",
    [(ENDS - SECOND, CreatorStatus.SUSPENDED, ENDS), (ENDS, CreatorStatus.ACTIVE, None)],
    ids=["1s before the end", "at the end"],
)
def test_reopening_finds_the_suspension_still_running_or_over(market, at, status, until):
    client, creator = suspended_and_closed(market)
    reopened = market.reopen(Role.CREATOR, creator, now=at)
    assert (reopened.status, reopened.suspended_until, reopened.closed_at) == (status, until, None)
    assert market.account(Creator, creator).violation_count == 2
    standing = {"status": status.value, "suspended_until": until and until.isoformat()}
    # A suspension that ended while closed, where the scan lifts nothing, is recorded as lifted on reopening.
    lifted = (
        []
        if until
        else [("suspension_lifted", Role.SYSTEM, None, {"suspended_until": ENDS.isoformat(), "while_closed": True}, at)]
    )
    assert trail(market, Role.CREATOR, creator)[-3 + bool(until):] == [
        ("account_closed", Role.CREATOR, creator, {"reason": "不再使用星图", "cancelled_orders": []},
         SUSPENDED_AT + HOUR),
        *lifted,
        ("account_reopened", Role.CREATOR, creator, standing, at),
    ]  # fmt: skip
    sms = account_sms(market)
    assert [n.kind for n in sms] == ["sanction_applied", "sanction_applied", "account_closed", "account_reopened"]
    assert (sms[-1].recipient_role, sms[-1].recipient_id, sms[-1].params) == (Role.CREATOR, creator, standing)
    if until is None:
        assert text_of(sms[-1]) == "【星图】您的星图账号已重新开通，可正常使用。"
        assert publish(market, client, creator, now=at).status is OrderStatus.PENDING
    else:
        assert text_of(sms[-1]) == f"【星图】您的星图账号已重新开通，但账号封禁至{local_time(ENDS)}，期间无法接单。"
        refused(market, CreatorSanctioned, rf"^cannot publish to creator {creator}: suspended until",
                orders.publish, client_id=client, creator_id=creator, title="t", amount_fen=100, now=at)  # fmt: skip


def test_a_suspension_ending_while_closed_does_not_reopen_the_account(market):
    client, creator = suspended_and_closed(market)
    market.scan(ENDS + DAY)
    assert market.account(Creator, creator).status is CreatorStatus.CLOSED
    reopened = market.reopen(Role.CREATOR, creator, now=ENDS + DAY)
    assert (reopened.status, reopened.suspended_until) == (CreatorStatus.ACTIVE, None)


def test_violations_are_never_forgotten_the_next_one_is_the_next_step(market):
    client, creator = suspended_and_closed(market)
    market.reopen(Role.CREATOR, creator, now=ENDS)
    third = violate(market, creator, ENDS + DAY)
    assert (third.number, third.sanction) == (3, Sanction.SUSPENDED_3M)
    assert market.account(Creator, creator).status is CreatorStatus.SUSPENDED


def test_the_ladder_goes_on_while_closed_and_a_ban_ends_the_closed_account(market):
    (creator,) = parties(market)[1]
    violate(market, creator, T0)
    market.close(Role.CREATOR, creator, now=T0 + HOUR)
    second = violate(market, creator, T0 + DAY)
    assert (second.number, second.sanction) == (2, Sanction.SUSPENDED_7D)
    now = market.account(Creator, creator)
    assert (now.status, now.suspended_until, now.closed_at) == (CreatorStatus.CLOSED, T0 + DAY + WEEK, T0 + HOUR)
    third = violate(market, creator, T0 + 2 * DAY)
    now = market.account(Creator, creator)
    assert (now.status, now.suspended_until, now.closed_at) == (CreatorStatus.CLOSED, third.suspended_until,
                                                                T0 + HOUR)  # fmt: skip
    fourth = violate(market, creator, T0 + 3 * DAY)
    assert (fourth.number, fourth.sanction) == (4, Sanction.PERMANENT_BAN)
    now = market.account(Creator, creator)
    assert (now.status, now.suspended_until, now.closed_at, now.violation_count) == (
        CreatorStatus.BANNED, None, None, 4,
    )  # fmt: skip
    with pytest.raises(InvalidState, match="banned for good and cannot reopen"):
        market.reopen(Role.CREATOR, creator, now=T0 + 4 * DAY)
    assert [n.kind for n in account_sms(market)] == ["sanction_applied", "account_closed", "sanction_applied",
                                                     "sanction_applied", "sanction_applied"]  # fmt: skip


def test_a_suspension_recorded_while_closed_is_found_on_reopening(market):
    (creator,) = parties(market)[1]
    violate(market, creator, T0)
    market.close(Role.CREATOR, creator, now=T0 + HOUR)
    violate(market, creator, T0 + DAY)
    reopened = market.reopen(Role.CREATOR, creator, now=T0 + 2 * DAY)
    assert (reopened.status, reopened.suspended_until) == (CreatorStatus.SUSPENDED, T0 + DAY + WEEK)


@pytest.mark.parametrize("role", [Role.CREATOR, Role.CLIENT])
def test_close_reopen_close_again_each_step_its_own_trail_row_and_sms(market, role):
    (client,), (creator,) = parties(market)
    account = client if role is Role.CLIENT else creator
    steps = [(market.close, T0 + HOUR, "account_closed"), (market.reopen, T0 + 2 * HOUR, "account_reopened"),
             (market.close, T0 + 3 * HOUR, "account_closed")]  # fmt: skip
    for step, at, _ in steps:
        step(role, account, now=at)
    assert [(event, actor, id_, at) for event, actor, id_, _, at in trail(market, role, account)] == [
        (kind, role, account, at) for _, at, kind in steps
    ]
    ids = trail_ids(market, role, account)
    assert [(n.kind, n.idempotency_key) for n in account_sms(market)] == [
        (kind, f"{role}-event-{id_}:{kind}:{role}") for (_, _, kind), id_ in zip(steps, ids)
    ]
    final = market.account(MODEL[role], account)
    assert (final.status, final.closed_at) == ("closed", T0 + 3 * HOUR)
    if role is Role.CLIENT:
        assert account_sms(market)[1].params == {"status": "active", "suspended_until": None}
