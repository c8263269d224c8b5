"""Closing an account, and an MCN's release, racing what that account (or the MCN) does at the same moment,
on PostgreSQL, where they meet on the account's row lock. Each round ends in one of two whole outcomes,
never a mix: the close refused because the accept came first, or the accept refused because the close did;
a publish that came first cancelled by the close, or refused after it (so no closed account is left with a
pending order); an MCN's confirmation that came first followed by the release, or refused after it.

Each side runs in its own thread with its own session; a barrier releases them together (``race``). The
rounds take turns: both at once, the first side 0.1 s ahead, the second side ahead; so both outcomes are
seen, and each round is checked only for being one of them. The counts are printed (``pytest -s``).
"""

import time
from collections import Counter

import pytest
import sqlalchemy as sa

from models import ClientEvent, Creator, CreatorEvent, Order
from models.states import CancelReason, CreatorStatus, OrderStatus, RequestStatus, Role
from tests.integration.test_races import race, refused
from tests.market import HOUR, SECOND, T0
from worker.errors import XingtuError
from worker.services import cancellation, orders

pytestmark = pytest.mark.postgresql

ROUNDS = 12
HEAD_START = 0.1  # seconds: far longer than either side needs to take the account's lock
AT = T0 + 4 * HOUR


@pytest.fixture
def database_url(postgres_url):
    """These races are PostgreSQL's (SQLite serialises every writer on its database lock instead)."""
    return postgres_url


def late(delay: float, call):
    def run():
        time.sleep(delay)
        return call()

    return run


def paced(round_: int, first, second) -> tuple:
    """The two calls, with a head start for neither, the first or the second by turns."""
    delays = [(0, 0), (0, HEAD_START), (HEAD_START, 0)][round_ % 3]
    return late(delays[0], first), late(delays[1], second)


def trail(market, model, column, party_id: int) -> list:
    with market.sessions() as session:
        return list(session.scalars(sa.select(model).where(column == party_id).order_by(model.id)))


def orders_of(market, column, party_id: int) -> list[Order]:
    with market.sessions() as session:
        return list(session.scalars(sa.select(Order).where(column == party_id).order_by(Order.id)))


def report(what: str, wins: Counter) -> None:
    print(f"\n{what}: {dict(wins)}")
    assert sum(wins.values()) == ROUNDS


def test_a_creator_closing_against_their_accept(market):
    wins, codes = Counter(), Counter()
    for round_ in range(ROUNDS):
        order = market.publish(now=T0 + round_ * SECOND)
        kid = order.creator_id
        accepted, closed = race(*paced(
            round_,
            lambda: market.run(orders.accept, order_id=order.id, creator_id=kid, now=AT),
            lambda: market.close(Role.CREATOR, kid, now=AT),
        ))  # fmt: skip
        assert len(refused([accepted, closed])) == 1, (accepted, closed)
        final, creator = market.order(order.id), market.account(Creator, kid)
        last = market.events(order.id)[-1]
        if isinstance(closed, XingtuError):
            assert closed.code == "open_orders", closed
            assert f"cannot close creator {kid}: order {order.id} is in production (accepted)" in closed.message
            assert accepted.status is final.status is OrderStatus.ACCEPTED and last.event == "accepted"
            assert (creator.status, creator.closed_at) == (CreatorStatus.ACTIVE, None)
            assert trail(market, CreatorEvent, CreatorEvent.creator_id, kid) == []
            wins["accept first"] += 1
        else:
            assert accepted.code in ("creator_closed", "invalid_state"), accepted
            assert (final.status, final.cancel_reason) == (OrderStatus.CANCELLED, CancelReason.CREATOR_DECLINED)
            assert (last.event, last.actor_role, last.actor_id) == ("declined_on_closing", Role.CREATOR, kid)
            assert (final.creator_payout_fen, final.client_refund_fen) == (0, 10_000)
            assert (creator.status, creator.closed_at) == (CreatorStatus.CLOSED, AT)
            (event,) = trail(market, CreatorEvent, CreatorEvent.creator_id, kid)
            assert (event.event, event.details["cancelled_orders"]) == ("account_closed", [order.id])
            wins["close first"] += 1
            codes[accepted.code] += 1
    report("creator close against accept", wins)
    print(f"the late accept's refusals: {dict(codes)}")
    assert len(wins) == 2


def test_a_client_closing_against_their_publish(market):
    wins = Counter()
    for round_ in range(ROUNDS):
        client, kid = market.client(), market.creator()
        published, closed = race(*paced(
            round_,
            lambda: market.run(orders.publish, client_id=client, creator_id=kid, title="新品", amount_fen=10_000,
                               now=AT),
            lambda: market.close(Role.CLIENT, client, now=AT),
        ))  # fmt: skip
        assert not isinstance(closed, XingtuError), closed
        (event,) = trail(market, ClientEvent, ClientEvent.client_id, client)
        assert (event.event, event.actor_role, event.actor_id) == ("account_closed", Role.CLIENT, client)
        if isinstance(published, XingtuError):
            assert published.code == "client_closed" and f"client {client} has closed" in published.message
            assert orders_of(market, Order.client_id, client) == []
            assert event.details["cancelled_orders"] == []
            wins["close first"] += 1
        else:  # published while open: the close found it pending and cancelled it
            final = market.order(published.id)
            assert (final.status, final.cancel_reason) == (OrderStatus.CANCELLED, CancelReason.CLIENT_CANCELLED)
            last = market.events(final.id)[-1]
            assert (last.event, last.actor_role, last.actor_id) == ("cancelled_on_closing", Role.CLIENT, client)
            assert event.details["cancelled_orders"] == [final.id]
            wins["publish first"] += 1
    report("client close against publish", wins)
    assert len(wins) == 2


def test_a_creator_closing_against_a_publish_to_them(market):
    wins = Counter()
    for round_ in range(ROUNDS):
        client, kid = market.client(), market.creator()
        published, closed = race(*paced(
            round_,
            lambda: market.run(orders.publish, client_id=client, creator_id=kid, title="新品", amount_fen=10_000,
                               now=AT),
            lambda: market.close(Role.CREATOR, kid, now=AT),
        ))  # fmt: skip
        assert not isinstance(closed, XingtuError), closed
        (event,) = trail(market, CreatorEvent, CreatorEvent.creator_id, kid)
        if isinstance(published, XingtuError):
            assert published.code == "creator_closed" and "has closed their account" in published.message
            assert orders_of(market, Order.creator_id, kid) == []
            assert event.details["cancelled_orders"] == []
            wins["close first"] += 1
        else:  # published while open: the close declined it
            final = market.order(published.id)
            assert (final.status, final.cancel_reason) == (OrderStatus.CANCELLED, CancelReason.CREATOR_DECLINED)
            last = market.events(final.id)[-1]
            assert (last.event, last.actor_role, last.actor_id) == ("declined_on_closing", Role.CREATOR, kid)
            assert event.details["cancelled_orders"] == [final.id]
            wins["publish first"] += 1
    report("creator close against publish", wins)
    assert len(wins) == 2


def test_an_mcn_release_against_its_confirmation(market):
    """A client asked to cancel an order of a creator an MCN signs; the MCN confirms as the creator side
    while it releases the creator."""
    wins = Counter()
    for round_ in range(ROUNDS):
        order = market.accepted(now=T0 + round_ * SECOND, uploads=1)
        kid, agency = order.creator_id, market.mcn()
        market.sign(agency, kid, now=T0 + 2 * HOUR)
        request_id = market.request(order, Role.CLIENT, now=T0 + 3 * HOUR).open_request.id
        confirmed, released = race(*paced(
            round_,
            lambda: market.run(cancellation.confirm, order_id=order.id, role=Role.MCN, actor_id=agency, now=AT),
            lambda: market.release(agency, kid, now=AT),
        ))  # fmt: skip
        assert not isinstance(released, XingtuError), released
        assert market.account(Creator, kid).mcn_id is None
        assert trail(market, CreatorEvent, CreatorEvent.creator_id, kid)[-1].event == "mcn_released"
        final = market.order(order.id)
        (req,) = final.requests
        last = market.events(order.id)[-1]
        if isinstance(confirmed, XingtuError):
            assert confirmed.code == "not_allowed", confirmed
            assert f"mcn {agency} does not sign creator {kid}" in confirmed.message
            assert (final.status, req.id, req.status) == (OrderStatus.ACCEPTED, request_id, RequestStatus.OPEN)
            assert last.event == "cancellation_requested"
            assert ("order_cancelled", "mcn") not in market.sent_to(order.id)
            wins["release first"] += 1
        else:  # confirmed while signed, as the creator side; then released
            assert (final.status, final.cancel_reason) == (OrderStatus.CANCELLED, CancelReason.CLIENT_CANCELLED)
            assert (final.creator_payout_fen, final.client_refund_fen) == (5_000, 5_000)
            assert req.status is RequestStatus.CONFIRMED
            assert (last.event, last.actor_role, last.actor_id) == ("cancellation_confirmed", Role.MCN, agency)
            assert market.sent_to(order.id).count(("order_cancelled", "mcn")) == 1
            wins["confirm first"] += 1
    report("mcn release against confirm", wins)
    assert len(wins) == 2
