"""Operations that race on one order: exactly one wins, the loser gets a clear error, and nothing is
written twice (the invariants checked after every test include one order_cancelled per party).

Each side runs in its own thread with its own connection; a barrier releases them together. On
PostgreSQL they meet on row locks, on SQLite on the database write lock.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from models.states import OrderStatus, RequestStatus, Role, TimeoutPolicy
from tests.market import DAY, HOUR, SECOND, T0
from worker.database.unit_of_work import transaction
from worker.errors import XingtuError
from worker.rules import party_of
from worker.services import cancellation, orders, sanctions, timers

ROUNDS = 12


def attempt(call):
    """The call's result, or its refusal."""
    try:
        return call()
    except XingtuError as error:
        return error


def race(*calls):
    """Run the calls at the same moment; return each one's result or refusal."""
    barrier = threading.Barrier(len(calls))

    def together(call):
        barrier.wait()
        return attempt(call)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(together, calls))


def refused(outcomes):
    return [o for o in outcomes if isinstance(o, XingtuError)]


def test_confirm_against_withdraw(market):
    for _ in range(ROUNDS):
        order = market.accepted(uploads=1)
        market.request(order, Role.CLIENT, now=T0 + 3 * HOUR)
        at = T0 + 4 * HOUR
        outcomes = race(
            lambda: market.run(cancellation.confirm, order_id=order.id, role=Role.CREATOR, actor_id=order.creator_id, now=at),
            lambda: market.run(cancellation.withdraw, order_id=order.id, role=Role.CLIENT, actor_id=order.client_id, now=at),
        )  # fmt: skip
        (loser,) = refused(outcomes)
        assert loser.code == "invalid_state", loser
        final = market.order(order.id)
        assert final.latest_request.status in (RequestStatus.CONFIRMED, RequestStatus.WITHDRAWN)
        cancelled = final.latest_request.status is RequestStatus.CONFIRMED
        assert (final.status is OrderStatus.CANCELLED) == cancelled
        kinds = [kind for kind, _ in market.sent_to(order.id)]
        assert ("cancellation_withdrawn" in kinds) != cancelled


def test_two_confirmations(market):
    for _ in range(ROUNDS):
        order = market.accepted()
        market.request(order, Role.CREATOR, now=T0 + 3 * HOUR)
        confirm = lambda: market.run(  # noqa: E731
            cancellation.confirm, order_id=order.id, role=Role.CLIENT, actor_id=order.client_id, now=T0 + 4 * HOUR
        )
        (loser,) = refused(race(confirm, confirm))
        assert loser.code == "invalid_state"


def test_accept_against_the_scan_at_the_deadline(market):
    published = [market.publish() for _ in range(ROUNDS)]
    deadline = T0 + DAY

    def accept_all():
        return [
            attempt(lambda: market.run(orders.accept, order_id=o.id, creator_id=o.creator_id, now=deadline - SECOND))
            for o in published
        ]

    accepts, scanned = race(accept_all, lambda: market.scan(deadline))
    statuses = [market.order(order.id).status for order in published]
    won = [o for o in accepts if not isinstance(o, XingtuError)]
    assert len(won) == statuses.count(OrderStatus.ACCEPTED)
    assert scanned.expired_orders == statuses.count(OrderStatus.CANCELLED) == ROUNDS - len(won)
    assert all(error.code == "deadline_passed" for error in refused(accepts))


@pytest.mark.parametrize("scanners", [2, 3])
def test_scanners_at_once_cancel_each_order_once(market, scanners):
    small = market.configured(scan_batch_size=7)
    total = 60
    for _ in range(total):
        small.publish()
    results = race(*[lambda: small.scan(T0 + DAY)] * scanners)
    assert sum(result.expired_orders for result in results) == total
    assert len(small.notifications()) == total * 3  # published, and cancelled to both sides


@pytest.mark.parametrize("answer", [cancellation.reject, cancellation.withdraw, cancellation.confirm])
@pytest.mark.parametrize("policy", [TimeoutPolicy.AUTO_CONFIRM, TimeoutPolicy.LAPSE])
def test_a_request_answered_while_the_scan_waited_is_left_alone(market, answer, policy):
    """On PostgreSQL a scan can claim a request, then find its order row committed anew by an answer
    that came in while it waited for the lock. The timeout must then do nothing: the guarded update
    of the (still) open requests decides, not what the claim saw."""
    order = market.accepted(uploads=1)
    asked = market.request(order, Role.CLIENT, now=T0 + 3 * HOUR)
    request_id = asked.open_request.id
    role = Role.CLIENT if answer is cancellation.withdraw else Role.CREATOR
    market.run(answer, order_id=order.id, role=role, actor_id=party_of(order, role), now=T0 + 4 * HOUR)
    before = market.dump()
    with transaction(market.sessions) as session:  # what the scan does with the request ids it claimed
        assert timers.settle_requests(session, T0 + 3 * DAY, policy, [request_id]) == 0
    assert market.dump() == before


def test_accept_against_a_suspension(market):
    """Each round: the creator accepts a pending order while a second violation suspends them. Either
    the accept wins (the order goes on) or the suspension does (the order is declined for them);
    never both, never a deadlock (both lock the creator, then the order)."""
    outcomes = Counter()
    for round_ in range(ROUNDS):
        order = market.publish(now=T0 + round_ * SECOND)
        kid = order.creator_id
        market.run(sanctions.record, creator_id=kid, evidence="first", now=T0 + HOUR)
        at = T0 + 2 * HOUR
        accepted, violation = race(
            lambda: market.run(orders.accept, order_id=order.id, creator_id=kid, now=at),
            lambda: market.run(sanctions.record, creator_id=kid, evidence="second", now=at),
        )
        assert not isinstance(violation, XingtuError)
        final = market.order(order.id)
        if isinstance(accepted, XingtuError):
            assert accepted.code == "creator_sanctioned" and final.cancel_reason.value == "creator_declined"
        else:
            assert final.status is OrderStatus.ACCEPTED
        outcomes[final.status] += 1
    assert sum(outcomes.values()) == ROUNDS
