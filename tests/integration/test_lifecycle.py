"""SPEC.md's order-state table, row by row: publish, accept, decline, upload, complete, and the
acceptance timeout, on SQLite and PostgreSQL."""

import pytest

from models.states import CancelReason, OrderStatus, RequestStatus, Role
from tests.market import DAY, HOUR, NOTHING, SECOND, T0, text_of
from worker.errors import DeadlinePassed, InvalidState
from worker.services import cancellation, orders


def test_publish_escrows_sets_the_deadline_and_tells_the_creator(market):
    order = market.publish(amount_fen=12_345)
    assert order.status is OrderStatus.PENDING
    assert order.published_at == T0 and order.accept_deadline == T0 + DAY
    assert order.creator_payout_fen is None and order.client_refund_fen is None
    assert market.ledger(order.id) == [("escrow", 12_345)]
    assert market.sent_to(order.id) == [("order_published", "creator")]
    (note,) = market.notifications(order.id)
    assert note.phone == "+8613900000002" and "2026-11-28 12:00前接收" in text_of(note)
    (event,) = market.events(order.id)
    assert (event.event, event.actor_role, event.from_status, event.to_status) == (
        "published", Role.CLIENT, None, OrderStatus.PENDING,
    )  # fmt: skip


def test_accept_one_second_before_the_deadline(market):
    order = market.publish()
    accepted = market.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=T0 + DAY - SECOND)
    assert accepted.status is OrderStatus.ACCEPTED and accepted.accepted_at == T0 + DAY - SECOND
    assert [e.event for e in market.events(order.id)] == ["published", "accepted"]


def test_accept_at_the_deadline_is_refused_and_the_timeout_applied_on_the_spot(market):
    order = market.publish()
    with pytest.raises(DeadlinePassed, match="was not accepted before"):
        market.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=T0 + DAY)
    expired = market.order(order.id)
    assert expired.status is OrderStatus.CANCELLED and expired.cancel_reason is CancelReason.ACCEPTANCE_TIMEOUT
    assert (expired.creator_payout_fen, expired.client_refund_fen) == (0, 10_000)
    assert market.ledger(order.id) == [("escrow", 10_000), ("client_refund", 10_000)]
    assert market.sent_to(order.id)[1:] == [("order_cancelled", "creator"), ("order_cancelled", "client")]
    assert market.events(order.id)[-1].actor_role is Role.SYSTEM


def test_the_scan_expires_at_the_deadline_and_not_a_second_before(market):
    order = market.publish()
    assert market.scan(T0 + DAY - SECOND).expired_orders == 0
    assert market.order(order.id).status is OrderStatus.PENDING
    assert market.scan(T0 + DAY).expired_orders == 1
    expired = market.order(order.id)
    assert expired.cancel_reason is CancelReason.ACCEPTANCE_TIMEOUT and expired.cancelled_at == T0 + DAY
    assert expired.latest_request is None  # a timeout is no cancellation request
    assert market.scan(T0 + DAY + HOUR).as_dict() == NOTHING


def test_client_cancels_a_pending_order_at_once(market):
    order = market.publish()
    cancelled = market.request(order, Role.CLIENT, now=T0 + HOUR, reason="改期")
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.cancel_reason is CancelReason.CLIENT_CANCELLED
    assert (cancelled.creator_payout_fen, cancelled.client_refund_fen) == (0, 10_000)
    request = cancelled.latest_request
    assert (request.initiator, request.status, request.reason) == (Role.CLIENT, RequestStatus.CONFIRMED, "改期")
    assert request.requested_at == request.resolved_at == T0 + HOUR and request.respond_by is None
    assert market.sent_to(order.id)[1:] == [("order_cancelled", "creator"), ("order_cancelled", "client")]


@pytest.mark.parametrize("how", ["decline", "cancel request"])
def test_creator_declines_a_pending_order_at_once(market, how):
    order = market.publish()
    if how == "decline":
        market.run(
            cancellation.decline, order_id=order.id, creator_id=order.creator_id, reason="档期已满", now=T0 + HOUR
        )
    else:
        market.request(order, Role.CREATOR, now=T0 + HOUR, reason="档期已满")
    declined = market.order(order.id)
    assert declined.status is OrderStatus.CANCELLED and declined.cancel_reason is CancelReason.CREATOR_DECLINED
    assert declined.latest_request.initiator is Role.CREATOR and declined.latest_request.reason == "档期已满"
    assert (declined.creator_payout_fen, declined.client_refund_fen) == (0, 10_000)
    assert [e.event for e in market.events(order.id)] == ["published", "declined"]


def test_uploads_count_and_the_first_marks_production_started(market):
    order = market.accepted()
    for n, at in enumerate([T0 + 3 * HOUR, T0 + 4 * HOUR], start=1):
        order = market.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video=f"vid-{n}", now=at)
        assert order.upload_count == n
        assert order.first_upload_at == T0 + 3 * HOUR
    assert market.events(order.id)[-1].details == {"video": "vid-2", "upload_count": 2}


def test_complete_pays_the_creator_in_full(market):
    order = market.accepted(uploads=1, amount_fen=9_999)
    done = market.run(orders.complete, order_id=order.id, client_id=order.client_id, now=T0 + 5 * HOUR)
    assert done.status is OrderStatus.COMPLETED and done.completed_at == T0 + 5 * HOUR
    assert (done.creator_payout_fen, done.client_refund_fen) == (9_999, 0)
    assert market.ledger(order.id) == [("escrow", 9_999), ("creator_payout", 9_999)]
    assert market.sent_to(order.id)[-1] == ("order_completed", "creator")


def test_a_finished_order_never_changes(market):
    order = market.accepted(uploads=1)
    market.run(orders.complete, order_id=order.id, client_id=order.client_id, now=T0 + 5 * HOUR)
    before = market.dump()
    for action, kwargs in [
        (orders.upload, {"creator_id": order.creator_id, "video": "late"}),
        (orders.complete, {"client_id": order.client_id}),
        (cancellation.request, {"role": Role.CLIENT, "actor_id": order.client_id, "reason": "x"}),
    ]:
        with pytest.raises(InvalidState, match="it is completed"):
            market.run(action, order_id=order.id, now=T0 + 6 * HOUR, **kwargs)
    assert market.dump() == before


def test_publish_reads_the_windows_from_settings(market):
    quick = market.configured(accept_window=2 * SECOND)
    order = quick.publish()
    assert order.accept_deadline == T0 + 2 * SECOND
