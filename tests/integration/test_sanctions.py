"""The penalty ladder: every step, the calendar-month edge, the instant a suspension ends, refusals
while suspended, the ban that never lifts, and what becomes of the creator's orders."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from models import Creator, CreatorEvent
from models.states import CancelReason, CreatorStatus, OrderStatus, Role, Sanction
from tests.market import DAY, HOUR, SECOND, T0
from worker.errors import CreatorSanctioned
from worker.services import orders, reads, sanctions

WEEK = timedelta(days=7)


def violate(market, creator_id: int, at: datetime, evidence: str = "私下接广告"):
    return market.run(sanctions.record, creator_id=creator_id, evidence=evidence, now=at)


def creator(market, creator_id: int) -> Creator:
    with market.sessions() as session:
        return session.get(Creator, creator_id)


def creator_sms(market, creator_id: int) -> list[tuple[str, dict]]:
    return [(n.kind.value, n.params) for n in market.notifications() if n.order_id is None]


def test_each_step_of_the_ladder(market):
    kid = market.creator()
    steps = [
        (T0, Sanction.POST_TAKEDOWN, None, CreatorStatus.ACTIVE),
        (T0 + DAY, Sanction.SUSPENDED_7D, T0 + DAY + WEEK, CreatorStatus.SUSPENDED),
        (T0 + 10 * DAY, Sanction.SUSPENDED_3M, datetime(2027, 3, 7, 4, tzinfo=timezone.utc), CreatorStatus.SUSPENDED),
        (T0 + 200 * DAY, Sanction.PERMANENT_BAN, None, CreatorStatus.BANNED),
        (T0 + 300 * DAY, Sanction.PERMANENT_BAN, None, CreatorStatus.BANNED),
    ]
    for number, (at, sanction, until, status) in enumerate(steps, start=1):
        found = violate(market, kid, at)
        assert (found.number, found.sanction, found.suspended_until) == (number, sanction, until)
        now = creator(market, kid)
        assert (now.status, now.suspended_until, now.violation_count) == (status, until, number)
    # the 3rd and 4th come after the previous suspension ended: it is lifted on the spot first
    applied, lifted = "sanction_applied", "sanction_lifted"
    assert [kind for kind, _ in creator_sms(market, kid)] == [
        applied,
        applied,
        lifted,
        applied,
        lifted,
        applied,
        applied,
    ]
    with market.sessions() as session:
        assert [v.number for v in reads.violations(session, kid)] == [1, 2, 3, 4, 5]
        events = session.scalars(sa.select(CreatorEvent).order_by(CreatorEvent.id)).all()
    assert [e.event for e in events].count("violation_recorded") == 5


@pytest.mark.parametrize(
    "at, until",
    [
        # 31 January in Shanghai: April has no 31st, so the suspension ends on its last day
        (datetime(2027, 1, 31, 2, 0, tzinfo=timezone.utc), datetime(2027, 4, 30, 2, 0, tzinfo=timezone.utc)),
        # 20:00 UTC on 31 January is already 1 February in Shanghai: the Shanghai calendar decides
        (datetime(2027, 1, 31, 20, 0, tzinfo=timezone.utc), datetime(2027, 4, 30, 20, 0, tzinfo=timezone.utc)),
        # 30 November + 3 months: 29 February of a leap year
        (datetime(2027, 11, 30, 2, 0, tzinfo=timezone.utc), datetime(2028, 2, 29, 2, 0, tzinfo=timezone.utc)),
    ],
)
def test_three_calendar_months_on_the_shanghai_calendar(market, at, until):
    kid = market.creator()
    violate(market, kid, at - 2 * DAY)
    violate(market, kid, at - DAY)
    assert violate(market, kid, at).suspended_until == until


def test_a_violation_while_suspended_takes_the_next_step_from_that_moment(market):
    kid = market.creator()
    violate(market, kid, T0)
    violate(market, kid, T0 + DAY)  # suspended for 7 days
    third = violate(market, kid, T0 + 2 * DAY)
    assert third.sanction is Sanction.SUSPENDED_3M and third.suspended_until == datetime(
        2027, 2, 28, 4, tzinfo=timezone.utc
    )
    assert creator(market, kid).suspended_until == third.suspended_until


def test_the_suspension_ends_at_its_instant_and_not_a_second_before(market):
    kid = market.creator()
    violate(market, kid, T0)
    violate(market, kid, T0 + DAY)
    ends = T0 + DAY + WEEK
    assert market.scan(ends - SECOND).lifted_suspensions == 0
    assert creator(market, kid).status is CreatorStatus.SUSPENDED
    assert market.scan(ends).lifted_suspensions == 1
    assert (creator(market, kid).status, creator(market, kid).suspended_until) == (CreatorStatus.ACTIVE, None)
    assert market.scan(ends + DAY).lifted_suspensions == 0
    lifted = [params for kind, params in creator_sms(market, kid) if kind == "sanction_lifted"]
    assert lifted == [{"violation_number": 2, "suspended_until": ends.isoformat()}]


def test_no_publishing_to_and_no_accepting_by_a_suspended_creator(market):
    order = market.publish()
    kid, client = order.creator_id, order.client_id
    violate(market, kid, T0 + HOUR)
    violate(market, kid, T0 + 2 * HOUR)  # suspended until T0 + 2h + 7d
    ends = T0 + 2 * HOUR + WEEK
    before = market.dump()
    with pytest.raises(CreatorSanctioned, match="cannot publish to creator 1: suspended until .* suspended_7d") as info:
        market.run(orders.publish, client_id=client, creator_id=kid, title="t", amount_fen=100, now=ends - SECOND)
    assert info.value.code == "creator_sanctioned"
    assert market.dump() == before
    published = market.run(orders.publish, client_id=client, creator_id=kid, title="t", amount_fen=100, now=ends)
    assert published.status is OrderStatus.PENDING
    assert creator(market, kid).status is CreatorStatus.ACTIVE  # lifted on the spot, not waiting for the scan
    assert [kind for kind, _ in creator_sms(market, kid)][-1] == "sanction_lifted"


def test_accept_is_refused_while_suspended(market):
    first = market.publish()
    kid = first.creator_id
    violate(market, kid, T0)
    second = market.run(orders.publish, client_id=first.client_id, creator_id=kid, title="t", amount_fen=5, now=T0)
    assert second.status is OrderStatus.PENDING  # a takedown does not stop work
    market.run(orders.accept, order_id=second.id, creator_id=kid, now=T0 + SECOND)
    third = market.run(
        orders.publish, client_id=first.client_id, creator_id=kid, title="t", amount_fen=5, now=T0 + HOUR
    )
    violate(market, kid, T0 + 2 * HOUR)
    with pytest.raises(CreatorSanctioned, match=f"creator {kid} cannot accept order {third.id}: suspended until"):
        market.run(orders.accept, order_id=third.id, creator_id=kid, now=T0 + 3 * HOUR)
    assert market.order(third.id).cancel_reason is CancelReason.CREATOR_DECLINED  # declined when suspended


def test_a_suspension_declines_pending_orders_and_lets_accepted_ones_go_on(market):
    fresh = market.publish(now=T0 + 20 * HOUR)
    kid, client = fresh.creator_id, fresh.client_id

    def publish(at, title):
        return market.run(orders.publish, client_id=client, creator_id=kid, title=title, amount_fen=101, now=at)

    overdue = publish(T0 - DAY, "overdue")  # its window closed at T0; no scan has run since
    work = publish(T0, "work")
    market.run(orders.accept, order_id=work.id, creator_id=kid, now=T0 + HOUR)
    violate(market, kid, T0 + 21 * HOUR)
    violate(market, kid, T0 + 22 * HOUR)  # suspended
    declined = market.order(fresh.id)
    assert declined.cancel_reason is CancelReason.CREATOR_DECLINED and declined.client_refund_fen == 10_000
    assert "封禁中" in declined.latest_request.reason and declined.latest_request.initiator is Role.CREATOR
    (*_, event) = market.events(fresh.id)
    assert (event.event, event.actor_role) == ("declined_for_sanction", Role.SYSTEM)
    assert market.sent_to(fresh.id)[-2:] == [("order_cancelled", "creator"), ("order_cancelled", "client")]
    assert market.order(overdue.id).cancel_reason is CancelReason.ACCEPTANCE_TIMEOUT  # expired, not declined
    assert market.order(work.id).status is OrderStatus.ACCEPTED
    uploaded = market.run(orders.upload, order_id=work.id, creator_id=kid, video="v", now=T0 + 23 * HOUR)
    assert uploaded.upload_count == 1


def test_a_ban_never_lifts(market):
    kid = market.creator()
    client = market.client()
    for n in range(4):
        violate(market, kid, T0 + n * DAY)
    assert market.scan(T0 + 3650 * DAY).lifted_suspensions == 0
    assert creator(market, kid).status is CreatorStatus.BANNED
    with pytest.raises(CreatorSanctioned, match="banned for good"):
        market.run(orders.publish, client_id=client, creator_id=kid, title="t", amount_fen=5, now=T0 + 3650 * DAY)


@pytest.mark.parametrize("evidence, code", [("", "invalid_evidence"), ("x" * 2001, "invalid_evidence")])
def test_bad_evidence_changes_nothing(market, evidence, code):
    kid = market.creator()
    before = market.dump()
    with pytest.raises(Exception) as info:
        violate(market, kid, T0, evidence)
    assert info.value.code == code and market.dump() == before


def test_an_unknown_creator(market):
    with pytest.raises(Exception, match="creator 404 does not exist"):
        violate(market, 404, T0)
