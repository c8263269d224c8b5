"""SPEC.md's compensation table, deadlines and guards, on plain objects (no database)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from models.states import CancelReason, OrderStatus, RequestStatus, Role
from worker import rules
from worker.errors import (
    CancellationPending,
    DeadlinePassed,
    InvalidState,
    NotAllowed,
    NothingUploaded,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


@dataclass
class FakeRequest:
    initiator: Role
    status: RequestStatus = RequestStatus.OPEN
    respond_by: datetime | None = NOW + timedelta(hours=48)


@dataclass
class FakeOrder:
    status: OrderStatus = OrderStatus.PENDING
    id: int = 7
    client_id: int = 1
    creator_id: int = 2
    cancel_reason: CancelReason | None = None
    accept_deadline: datetime = NOW + timedelta(hours=24)
    upload_count: int = 0
    requests: list[FakeRequest] = field(default_factory=list)

    @property
    def latest_request(self):
        return self.requests[-1] if self.requests else None

    @property
    def open_request(self):
        latest = self.latest_request
        return latest if latest and latest.status is RequestStatus.OPEN else None


# --- compensation: SPEC.md "Compensation" --------------------------------------------------------


@pytest.mark.parametrize(
    "initiator, uploads, amount, creator_gets",
    [
        (Role.CLIENT, 0, 10_000, 0),  # client, production not started: nothing
        (Role.CLIENT, 1, 10_000, 5_000),  # client after an upload: 50 %
        (Role.CLIENT, 3, 10_000, 5_000),  # more uploads change nothing
        (Role.CREATOR, 0, 10_000, 0),  # creator cancels: nothing, either way
        (Role.CREATOR, 2, 10_000, 0),
    ],
)
def test_compensation_table(initiator, uploads, amount, creator_gets):
    assert rules.compensation_fen(amount, initiator, uploads, 50) == creator_gets


@pytest.mark.parametrize(
    "amount, creator_gets",
    [(1, 1), (3, 2), (12_345, 6_173), (99_999, 50_000), (100_000_000_000, 50_000_000_000), (2, 1)],
)
def test_half_of_an_odd_amount_rounds_half_up_to_the_fen(amount, creator_gets):
    assert rules.compensation_fen(amount, Role.CLIENT, 1, 50) == creator_gets


@pytest.mark.parametrize("percent, amount, creator_gets", [(0, 999, 0), (100, 999, 999), (33, 100, 33), (33, 150, 50)])
def test_compensation_rate_is_a_setting(percent, amount, creator_gets):
    assert rules.compensation_fen(amount, Role.CLIENT, 1, percent) == creator_gets


@pytest.mark.parametrize(
    "initiator, status, reason",
    [
        (Role.CLIENT, OrderStatus.PENDING, CancelReason.CLIENT_CANCELLED),
        (Role.CLIENT, OrderStatus.ACCEPTED, CancelReason.CLIENT_CANCELLED),
        (Role.CREATOR, OrderStatus.PENDING, CancelReason.CREATOR_DECLINED),
        (Role.CREATOR, OrderStatus.ACCEPTED, CancelReason.CREATOR_CANCELLED),
    ],
)
def test_cancel_reason(initiator, status, reason):
    assert rules.cancel_reason(initiator, status) is reason


# --- timers ----------------------------------------------------------------------------------------


def test_a_deadline_is_exclusive():
    deadline = NOW
    assert not rules.is_due(deadline, NOW - SECOND)
    assert rules.is_due(deadline, NOW)


def test_reminder_lead_before_the_deadline():
    deadline = NOW + timedelta(hours=24)
    assert rules.reminder_at(NOW, deadline, timedelta(hours=2)) == NOW + timedelta(hours=22)


def test_no_reminder_when_disabled_or_window_shorter_than_lead():
    assert rules.reminder_at(NOW, NOW + timedelta(hours=24), timedelta(0)) is None
    assert rules.reminder_at(NOW, NOW + timedelta(hours=2), timedelta(hours=2)) is None
    assert rules.reminder_at(NOW, NOW + timedelta(seconds=5), timedelta(hours=2)) is None


# --- guards ----------------------------------------------------------------------------------------


def test_only_the_orders_creator_accepts_and_only_before_the_deadline():
    order = FakeOrder()
    rules.ensure_can_accept(order, 2, order.accept_deadline - SECOND)
    with pytest.raises(NotAllowed, match="creator 3 is not the creator of order 7"):
        rules.ensure_can_accept(order, 3, NOW)
    with pytest.raises(DeadlinePassed):
        rules.ensure_can_accept(order, 2, order.accept_deadline)


def test_an_order_cancelled_by_timeout_says_so():
    order = FakeOrder(status=OrderStatus.CANCELLED, cancel_reason=CancelReason.ACCEPTANCE_TIMEOUT)
    with pytest.raises(DeadlinePassed, match=r"was not accepted before .* \(acceptance_timeout\)"):
        rules.ensure_can_accept(order, 2, NOW)


def test_accepting_an_accepted_order_is_an_invalid_state():
    with pytest.raises(InvalidState, match="it is accepted") as info:
        rules.ensure_can_accept(FakeOrder(status=OrderStatus.ACCEPTED), 2, NOW)
    assert info.value.code == "invalid_state"


def test_an_open_request_freezes_upload_and_complete():
    order = FakeOrder(status=OrderStatus.ACCEPTED, upload_count=1, requests=[FakeRequest(Role.CLIENT)])
    with pytest.raises(CancellationPending, match="cancellation request by the client is open"):
        rules.ensure_can_upload(order, 2)
    with pytest.raises(CancellationPending):
        rules.ensure_can_complete(order, 1)


def test_complete_needs_an_upload_and_the_client():
    order = FakeOrder(status=OrderStatus.ACCEPTED)
    with pytest.raises(NothingUploaded):
        rules.ensure_can_complete(order, 1)
    order.upload_count = 1
    with pytest.raises(NotAllowed):
        rules.ensure_can_complete(order, 2)
    rules.ensure_can_complete(order, 1)


def test_one_open_request_at_a_time():
    order = FakeOrder(status=OrderStatus.ACCEPTED, requests=[FakeRequest(Role.CREATOR)])
    with pytest.raises(CancellationPending):
        rules.ensure_can_request(order, Role.CLIENT, 1)


def test_only_the_counterparty_confirms_and_only_the_initiator_withdraws():
    request = FakeRequest(Role.CLIENT)
    order = FakeOrder(status=OrderStatus.ACCEPTED, requests=[request])
    assert rules.open_request_for(order, Role.CREATOR, 2, "confirm", by_initiator=False) is request
    with pytest.raises(NotAllowed, match="only the creator can confirm"):
        rules.open_request_for(order, Role.CLIENT, 1, "confirm", by_initiator=False)
    assert rules.open_request_for(order, Role.CLIENT, 1, "withdraw", by_initiator=True) is request
    with pytest.raises(NotAllowed, match="only the initiator can withdraw"):
        rules.open_request_for(order, Role.CREATOR, 2, "withdraw", by_initiator=True)
    with pytest.raises(NotAllowed):
        rules.open_request_for(order, Role.CREATOR, 99, "confirm", by_initiator=False)


def test_answering_a_lapsed_request_is_late():
    order = FakeOrder(status=OrderStatus.ACCEPTED, requests=[FakeRequest(Role.CLIENT, RequestStatus.LAPSED)])
    with pytest.raises(DeadlinePassed, match="has lapsed"):
        rules.open_request_for(order, Role.CREATOR, 2, "confirm", by_initiator=False)


def test_answering_an_auto_confirmed_request_is_late():
    order = FakeOrder(
        status=OrderStatus.CANCELLED,
        cancel_reason=CancelReason.CLIENT_CANCELLED,
        requests=[FakeRequest(Role.CLIENT, RequestStatus.AUTO_CONFIRMED)],
    )
    with pytest.raises(DeadlinePassed, match="confirmed automatically"):
        rules.open_request_for(order, Role.CREATOR, 2, "reject", by_initiator=False)


def test_no_open_request_names_the_latest():
    order = FakeOrder(status=OrderStatus.ACCEPTED, requests=[FakeRequest(Role.CLIENT, RequestStatus.WITHDRAWN)])
    with pytest.raises(InvalidState, match="no request is open; the latest one was withdrawn"):
        rules.open_request_for(order, Role.CREATOR, 2, "confirm", by_initiator=False)
