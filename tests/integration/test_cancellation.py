"""Cancellation requests on accepted orders: quote, confirm, reject, withdraw, and silence past the
response window under both policies."""

import pytest

from models.states import CancelReason, OrderStatus, RequestStatus, Role, TimeoutPolicy
from tests.market import DAY, HOUR, NOTHING, SECOND, T0, text_of
from worker.errors import CancellationPending, DeadlinePassed, NotAllowed
from worker.rules import party_of
from worker.services import cancellation, orders

ASKED = T0 + 3 * HOUR
RESPOND_BY = ASKED + 2 * DAY


def answer(market, use_case, order, role, *, now=ASKED + HOUR, **kwargs):
    return market.run(use_case, order_id=order.id, role=role, actor_id=party_of(order, role), now=now, **kwargs)


@pytest.mark.parametrize(
    "initiator, uploads, amount, payout, refund, reason",
    [
        (Role.CLIENT, 0, 10_000, 0, 10_000, CancelReason.CLIENT_CANCELLED),
        (Role.CLIENT, 1, 10_000, 5_000, 5_000, CancelReason.CLIENT_CANCELLED),
        (Role.CLIENT, 2, 12_345, 6_173, 6_172, CancelReason.CLIENT_CANCELLED),
        (Role.CLIENT, 1, 1, 1, 0, CancelReason.CLIENT_CANCELLED),
        (Role.CREATOR, 0, 10_000, 0, 10_000, CancelReason.CREATOR_CANCELLED),
        (Role.CREATOR, 1, 10_000, 0, 10_000, CancelReason.CREATOR_CANCELLED),
    ],
)
def test_confirmed_cancellation_settles_the_compensation_table(
    market, initiator, uploads, amount, payout, refund, reason
):
    order = market.accepted(uploads=uploads, amount_fen=amount)
    asked = market.request(order, initiator, now=ASKED)
    request = asked.open_request
    assert (request.compensation_fen, request.respond_by) == (payout, RESPOND_BY)
    assert market.sent_to(order.id)[-1] == ("cancellation_requested", initiator.counterparty.value)

    done = answer(market, cancellation.confirm, order, initiator.counterparty)
    assert done.status is OrderStatus.CANCELLED and done.cancel_reason is reason
    assert (done.creator_payout_fen, done.client_refund_fen) == (payout, refund)
    assert done.latest_request.status is RequestStatus.CONFIRMED
    assert market.sent_to(order.id)[-2:] == [("order_cancelled", "creator"), ("order_cancelled", "client")]
    money = [("creator_payout", payout), ("client_refund", refund)]
    assert market.ledger(order.id)[1:] == [entry for entry in money if entry[1]]


def test_the_quote_is_frozen_when_requested(market):
    order = market.accepted(uploads=1, amount_fen=10_000)
    market.request(order, Role.CLIENT, now=ASKED)
    changed = market.configured(compensation_percent=80)
    done = answer(changed, cancellation.confirm, order, Role.CREATOR)
    assert done.creator_payout_fen == 5_000


def test_an_open_request_freezes_the_order(market):
    order = market.accepted(uploads=1)
    market.request(order, Role.CREATOR, now=ASKED)
    with pytest.raises(CancellationPending):
        market.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video="v", now=ASKED + HOUR)
    with pytest.raises(CancellationPending):
        market.run(orders.complete, order_id=order.id, client_id=order.client_id, now=ASKED + HOUR)
    with pytest.raises(CancellationPending):
        market.request(order, Role.CLIENT, now=ASKED + HOUR)


def test_reject_ends_the_request_and_tells_the_initiator(market):
    order = market.accepted(uploads=1)
    market.request(order, Role.CLIENT, now=ASKED)
    rejected = answer(market, cancellation.reject, order, Role.CREATOR, reason="视频已拍完")
    assert rejected.status is OrderStatus.ACCEPTED and rejected.open_request is None
    assert rejected.latest_request.status is RequestStatus.REJECTED
    assert market.sent_to(order.id)[-1] == ("cancellation_rejected", "client")
    assert "理由：视频已拍完" in text_of(market.notifications(order.id)[-1])
    market.run(orders.complete, order_id=order.id, client_id=order.client_id, now=ASKED + 2 * HOUR)


def test_withdraw_ends_the_request_and_tells_the_counterparty(market):
    order = market.accepted()
    market.request(order, Role.CREATOR, now=ASKED)
    withdrawn = answer(market, cancellation.withdraw, order, Role.CREATOR)
    assert withdrawn.status is OrderStatus.ACCEPTED and withdrawn.latest_request.status is RequestStatus.WITHDRAWN
    assert market.sent_to(order.id)[-1] == ("cancellation_withdrawn", "client")
    again = market.request(order, Role.CREATOR, now=ASKED + 2 * HOUR)
    assert again.open_request is not None and len(again.requests) == 2


@pytest.mark.parametrize("use_case", [cancellation.confirm, cancellation.reject])
def test_the_initiator_cannot_answer_their_own_request(market, use_case):
    order = market.accepted()
    market.request(order, Role.CLIENT, now=ASKED)
    with pytest.raises(NotAllowed, match="only the creator"):
        answer(market, use_case, order, Role.CLIENT)


def test_silence_auto_confirms_at_respond_by_and_not_a_second_before(market):
    order = market.accepted(uploads=1, amount_fen=999)
    market.request(order, Role.CLIENT, now=ASKED)
    assert market.scan(RESPOND_BY - SECOND).timed_out_requests == 0
    assert market.scan(RESPOND_BY).timed_out_requests == 1
    done = market.order(order.id)
    assert done.status is OrderStatus.CANCELLED and done.cancel_reason is CancelReason.CLIENT_CANCELLED
    assert (done.creator_payout_fen, done.client_refund_fen) == (500, 499)
    assert done.latest_request.status is RequestStatus.AUTO_CONFIRMED and done.latest_request.resolved_at == RESPOND_BY
    assert market.sent_to(order.id)[-2:] == [("order_cancelled", "creator"), ("order_cancelled", "client")]
    assert "已自动同意" in text_of(market.notifications(order.id)[-1])
    assert market.events(order.id)[-1].event == "cancellation_auto_confirmed"


def test_silence_lapses_under_the_lapse_policy(market):
    lapse = market.configured(cancel_timeout_policy=TimeoutPolicy.LAPSE)
    order = lapse.accepted()
    lapse.request(order, Role.CREATOR, now=ASKED)
    assert lapse.scan(RESPOND_BY).timed_out_requests == 1
    goes_on = lapse.order(order.id)
    assert goes_on.status is OrderStatus.ACCEPTED and goes_on.latest_request.status is RequestStatus.LAPSED
    assert lapse.sent_to(order.id)[-2:] == [("cancellation_lapsed", "creator"), ("cancellation_lapsed", "client")]
    assert lapse.scan(RESPOND_BY + DAY).as_dict() == NOTHING


def test_confirming_at_respond_by_is_late_and_the_timeout_applies_on_the_spot(market):
    order = market.accepted(uploads=1)
    market.request(order, Role.CLIENT, now=ASKED)
    with pytest.raises(DeadlinePassed, match="confirmed automatically"):
        answer(market, cancellation.confirm, order, Role.CREATOR, now=RESPOND_BY)
    done = market.order(order.id)
    assert done.latest_request.status is RequestStatus.AUTO_CONFIRMED and done.creator_payout_fen == 5_000


def test_confirming_one_second_before_respond_by_is_in_time(market):
    order = market.accepted()
    market.request(order, Role.CLIENT, now=ASKED)
    done = answer(market, cancellation.confirm, order, Role.CREATOR, now=RESPOND_BY - SECOND)
    assert done.latest_request.status is RequestStatus.CONFIRMED


def test_under_lapse_a_late_answer_is_refused_but_work_goes_on(market):
    lapse = market.configured(cancel_timeout_policy=TimeoutPolicy.LAPSE)
    order = lapse.accepted()
    lapse.request(order, Role.CLIENT, now=ASKED)
    with pytest.raises(DeadlinePassed, match="has lapsed"):
        answer(lapse, cancellation.reject, order, Role.CREATOR, now=RESPOND_BY)
    uploaded = lapse.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video="v", now=RESPOND_BY)
    assert uploaded.upload_count == 1 and uploaded.latest_request.status is RequestStatus.LAPSED


def test_an_upload_at_respond_by_sees_the_order_cancelled_under_auto_confirm(market):
    order = market.accepted()
    market.request(order, Role.CREATOR, now=ASKED)
    with pytest.raises(DeadlinePassed):
        market.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video="v", now=RESPOND_BY)
    assert market.order(order.id).cancel_reason is CancelReason.CREATOR_CANCELLED
