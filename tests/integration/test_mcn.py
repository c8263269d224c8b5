"""MCN agencies (MCN机构), on SQLite and PostgreSQL: signing and releasing creators, with the refusals
and the creator's trail; an MCN doing everything its creator may do, as the creator side (the creator's
quote, deadlines and compensation) with itself in the audit trail; refused for a creator it does not sign
(or no longer signs); and a copy to the MCN of every order SMS its creator is sent, and of nothing else."""

import pytest
import sqlalchemy as sa

from models import Creator, CreatorEvent, Mcn, Notification, Order
from models.states import CancelReason, NotificationKind, OrderStatus, RequestStatus, Role, TimeoutPolicy
from tests.market import DAY, HOUR, SECOND, T0, text_of
from worker.errors import DeadlinePassed, InvalidInput, InvalidState, NotAllowed, NotFound
from worker.services import agencies, cancellation, orders, sanctions

ASKED = T0 + 3 * HOUR
NOW = T0 + 4 * HOUR
RESPOND_BY = ASKED + 2 * DAY
REMIND_AT = T0 + DAY - 2 * HOUR
MCN_PHONE, OTHER_MCN_PHONE = "+8613700000003", "+8613700000004"
BY_ID = (orders.accept, orders.upload, cancellation.decline)  # these take mcn_id=; the rest role= and actor_id=


def signed(market, *, now=T0) -> tuple[int, int, int]:
    """A client, a creator, and an MCN that signs the creator."""
    client, creator, mcn = market.client(), market.creator(), market.mcn()
    market.sign(mcn, creator, now=now)
    return client, creator, mcn


def publish(market, client: int, creator: int, *, now=T0, amount_fen=10_000) -> Order:
    return market.run(orders.publish, client_id=client, creator_id=creator, title="夏季新品推广", amount_fen=amount_fen,
                      now=now)  # fmt: skip


def accept(market, order: Order, *, uploads: int = 0) -> Order:
    market.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=T0 + HOUR)
    for n in range(uploads):
        market.run(orders.upload, order_id=order.id, creator_id=order.creator_id, video=f"v{n}", now=T0 + 2 * HOUR)
    return market.order(order.id)


def as_mcn(use_case, mcn_id: int) -> dict:
    return {"mcn_id": mcn_id} if use_case in BY_ID else {"role": Role.MCN, "actor_id": mcn_id}


def by_mcn(market, use_case, order: Order, mcn_id: int, *, now=NOW, **kwargs) -> Order:
    market.run(use_case, order_id=order.id, now=now, **as_mcn(use_case, mcn_id), **kwargs)
    return market.order(order.id)


def last_event(market, order_id: int) -> tuple:
    event = market.events(order_id)[-1]
    return event.event, event.actor_role, event.actor_id, event.from_status, event.to_status


def told(market, order_id: int | None = None) -> list[tuple[str, str, int]]:
    """(kind, recipient role, recipient id) of the SMS written, in order; order-less ones with no order."""
    notes = market.notifications(order_id)
    if order_id is None:
        notes = [n for n in notes if n.order_id is None]
    return [(n.kind.value, n.recipient_role.value, n.recipient_id) for n in notes]


def assert_copied(notes: list[Notification], mcn_id: int, phone: str = MCN_PHONE) -> None:
    """Each SMS to the creator among ``notes`` has exactly one copy to the MCN: the same kind, order,
    params and text, the MCN's phone, a key of its own ending ``:mcn``; and the MCN gets nothing else."""
    to_creator = [n for n in notes if n.recipient_role is Role.CREATOR]
    copies = {n.idempotency_key: n for n in notes if n.recipient_role is Role.MCN}
    assert to_creator and len(copies) == len(to_creator)
    for note in to_creator:
        assert note.idempotency_key.endswith(f":{note.kind}:creator")
        copy = copies[note.idempotency_key.removesuffix(":creator") + ":mcn"]
        assert (copy.kind, copy.order_id, copy.recipient_id, copy.phone, copy.params) == (
            note.kind, note.order_id, mcn_id, phone, note.params,
        )  # fmt: skip
        assert text_of(copy) == text_of(note)


def creator_trail(market, creator_id: int) -> list[tuple]:
    with market.sessions() as session:
        rows = session.scalars(
            sa.select(CreatorEvent).where(CreatorEvent.creator_id == creator_id).order_by(CreatorEvent.id)
        )
        return [(e.event, e.actor_role, e.actor_id, e.at, e.details) for e in rows]


# --- signing and releasing ------------------------------------------------------------------------------


def test_sign_and_release_set_the_creators_mcn_and_write_their_trail(market):
    creator, mcn, other = market.creator(), market.mcn(), market.mcn("遥望", "13700000004")
    signed_to = market.sign(mcn, creator, now=T0)
    assert isinstance(signed_to, Mcn) and signed_to.id == mcn
    assert market.account(Creator, creator).mcn_id == mcn
    released = market.release(mcn, creator, now=T0 + HOUR)
    assert released.id == mcn and market.account(Creator, creator).mcn_id is None
    market.sign(other, creator, now=T0 + 2 * HOUR)
    assert market.account(Creator, creator).mcn_id == other
    assert creator_trail(market, creator) == [
        ("mcn_signed", Role.MCN, mcn, T0, {"mcn_id": mcn}),
        ("mcn_released", Role.MCN, mcn, T0 + HOUR, {"mcn_id": mcn}),
        ("mcn_signed", Role.MCN, other, T0 + 2 * HOUR, {"mcn_id": other}),
    ]


SIGNING_REFUSALS = [
    ("sign twice", agencies.sign, "mcn", "creator", "invalid_state", "creator {creator} is already signed to mcn {mcn}"),
    ("sign one signed elsewhere", agencies.sign, "other", "creator", "invalid_state",
     "creator {creator} is signed to mcn {mcn}; a creator is signed to one MCN at a time"),
    ("release another's", agencies.release, "other", "creator", "invalid_state",
     "creator {creator} is not signed to mcn {other}"),
    ("release one unsigned", agencies.release, "mcn", "unsigned", "invalid_state",
     "creator {unsigned} is not signed to mcn {mcn}"),
    ("sign by an unknown mcn", agencies.sign, "unknown", "creator", "not_found", "mcn 404 does not exist"),
    ("release by an unknown mcn", agencies.release, "unknown", "creator", "not_found", "mcn 404 does not exist"),
    ("sign an unknown creator", agencies.sign, "mcn", "unknown", "not_found", "creator 404 does not exist"),
    ("release an unknown creator", agencies.release, "mcn", "unknown", "not_found", "creator 404 does not exist"),
]  # fmt: skip


def test_sign_and_release_refusals_change_nothing(market):
    ids = {"creator": market.creator(), "unsigned": market.creator("达人丙", "13900000003"), "mcn": market.mcn(),
           "other": market.mcn("遥望", "13700000004"), "unknown": 404}  # fmt: skip
    market.sign(ids["mcn"], ids["creator"], now=T0)
    before = market.dump()
    for name, use_case, mcn, creator, code, words in SIGNING_REFUSALS:
        with pytest.raises((InvalidState, NotFound)) as info:
            market.run(use_case, mcn_id=ids[mcn], creator_id=ids[creator], now=T0 + HOUR)
        assert info.value.code == code, name
        assert words.format(**ids) in info.value.message, name
        assert market.dump() == before, name


# --- an MCN acting as the creator side ------------------------------------------------------------------


def test_mcn_accepts_for_its_creator(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    accepted = by_mcn(market, orders.accept, order, mcn, now=T0 + HOUR)
    assert accepted.status is OrderStatus.ACCEPTED and accepted.accepted_at == T0 + HOUR
    assert accepted.remind_at is None
    assert last_event(market, order.id) == ("accepted", Role.MCN, mcn, OrderStatus.PENDING, OrderStatus.ACCEPTED)


def test_mcn_declines_for_its_creator(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    declined = by_mcn(market, cancellation.decline, order, mcn, reason="档期已满")
    assert declined.status is OrderStatus.CANCELLED and declined.cancel_reason is CancelReason.CREATOR_DECLINED
    assert (declined.creator_payout_fen, declined.client_refund_fen) == (0, 10_000)
    request = declined.latest_request
    assert (request.initiator, request.status, request.reason, request.compensation_fen) == (
        Role.CREATOR, RequestStatus.CONFIRMED, "档期已满", 0,
    )  # fmt: skip
    assert market.ledger(order.id) == [("escrow", 10_000), ("client_refund", 10_000)]
    assert last_event(market, order.id) == ("declined", Role.MCN, mcn, OrderStatus.PENDING, OrderStatus.CANCELLED)


def test_mcn_uploads_for_its_creator(market):
    client, creator, mcn = signed(market)
    order = accept(market, publish(market, client, creator))
    uploaded = by_mcn(market, orders.upload, order, mcn, video="vid-1")
    assert (uploaded.upload_count, uploaded.first_upload_at) == (1, NOW)
    assert last_event(market, order.id) == (
        "video_uploaded", Role.MCN, mcn, OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
    )  # fmt: skip
    assert market.events(order.id)[-1].details == {"video": "vid-1", "upload_count": 1}


def test_mcn_request_is_the_creators_and_quotes_nothing(market):
    client, creator, mcn = signed(market)
    for uploads in (0, 1):
        order = accept(market, publish(market, client, creator), uploads=uploads)
        asked = by_mcn(market, cancellation.request, order, mcn, now=ASKED, reason="达人生病")
        request = asked.open_request
        assert (request.initiator, request.compensation_fen, request.respond_by, request.reason) == (
            Role.CREATOR, 0, RESPOND_BY, "达人生病",
        ), uploads  # fmt: skip
        assert last_event(market, order.id) == (
            "cancellation_requested", Role.MCN, mcn, OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
        ), uploads  # fmt: skip
        assert told(market, order.id)[-1] == ("cancellation_requested", "client", client)
        done = market.run(cancellation.confirm, order_id=order.id, role=Role.CLIENT, actor_id=client, now=NOW)
        assert done.status is OrderStatus.CANCELLED and done.cancel_reason is CancelReason.CREATOR_CANCELLED
        assert (done.creator_payout_fen, done.client_refund_fen) == (0, 10_000), uploads


def test_mcn_request_on_a_pending_order_declines_it(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    declined = by_mcn(market, cancellation.request, order, mcn, reason="档期已满")
    assert declined.cancel_reason is CancelReason.CREATOR_DECLINED and declined.latest_request.initiator is Role.CREATOR
    assert last_event(market, order.id) == ("declined", Role.MCN, mcn, OrderStatus.PENDING, OrderStatus.CANCELLED)


COMPENSATION = [  # (uploads, amount, payout, refund): 50% half up once a video is up, as for the creator
    (0, 10_000, 0, 10_000), (1, 10_000, 5_000, 5_000), (2, 12_345, 6_173, 6_172), (1, 1, 1, 0),
]  # fmt: skip


def test_mcn_confirms_a_clients_request_at_the_creators_compensation(market):
    client, creator, mcn = signed(market)
    for case in COMPENSATION:
        uploads, amount, payout, refund = case
        order = accept(market, publish(market, client, creator, amount_fen=amount), uploads=uploads)
        market.request(order, Role.CLIENT, now=ASKED)
        assert market.order(order.id).open_request.compensation_fen == payout, case
        done = by_mcn(market, cancellation.confirm, order, mcn)
        assert done.status is OrderStatus.CANCELLED and done.cancel_reason is CancelReason.CLIENT_CANCELLED, case
        assert (done.creator_payout_fen, done.client_refund_fen) == (payout, refund), case
        assert done.latest_request.status is RequestStatus.CONFIRMED and done.latest_request.resolved_at == NOW
        money = [("creator_payout", payout), ("client_refund", refund)]
        assert market.ledger(order.id) == [("escrow", amount)] + [entry for entry in money if entry[1]], case
        assert last_event(market, order.id) == (
            "cancellation_confirmed", Role.MCN, mcn, OrderStatus.ACCEPTED, OrderStatus.CANCELLED,
        ), case  # fmt: skip


def test_mcn_rejects_a_clients_request(market):
    client, creator, mcn = signed(market)
    order = accept(market, publish(market, client, creator), uploads=1)
    market.request(order, Role.CLIENT, now=ASKED)
    goes_on = by_mcn(market, cancellation.reject, order, mcn, reason="视频已拍完")
    assert goes_on.status is OrderStatus.ACCEPTED and goes_on.open_request is None
    assert goes_on.latest_request.status is RequestStatus.REJECTED
    assert last_event(market, order.id) == (
        "cancellation_rejected", Role.MCN, mcn, OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
    )  # fmt: skip
    assert market.events(order.id)[-1].details == {"request_id": goes_on.latest_request.id, "reason": "视频已拍完"}
    assert told(market, order.id)[-1] == ("cancellation_rejected", "client", client)


def test_mcn_withdraws_the_creator_sides_request(market):
    client, creator, mcn = signed(market)
    for opener in ("mcn", "creator"):
        order = accept(market, publish(market, client, creator))
        if opener == "mcn":
            by_mcn(market, cancellation.request, order, mcn, now=ASKED, reason="达人生病")
        else:
            market.request(order, Role.CREATOR, now=ASKED)
        withdrawn = by_mcn(market, cancellation.withdraw, order, mcn)
        assert withdrawn.status is OrderStatus.ACCEPTED, opener
        assert withdrawn.latest_request.status is RequestStatus.WITHDRAWN, opener
        assert last_event(market, order.id) == (
            "cancellation_withdrawn", Role.MCN, mcn, OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
        ), opener  # fmt: skip
        assert told(market, order.id)[-1] == ("cancellation_withdrawn", "client", client), opener


def test_mcn_cannot_answer_the_creator_sides_own_request(market):
    client, creator, mcn = signed(market)
    order = accept(market, publish(market, client, creator))
    market.request(order, Role.CREATOR, now=ASKED)
    before = market.dump()
    for use_case in (cancellation.confirm, cancellation.reject):
        with pytest.raises(NotAllowed, match="the creator asked for it, so only the client"):
            by_mcn(market, use_case, order, mcn)
        assert market.dump() == before


# --- deadlines are the creator's --------------------------------------------------------------------


def test_mcn_accepts_one_second_before_the_deadline(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    accepted = by_mcn(market, orders.accept, order, mcn, now=T0 + DAY - SECOND)
    assert accepted.status is OrderStatus.ACCEPTED and accepted.accepted_at == T0 + DAY - SECOND


def test_mcn_accepting_at_the_deadline_is_late_and_the_order_expires(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    with pytest.raises(DeadlinePassed, match="was not accepted before") as info:
        by_mcn(market, orders.accept, order, mcn, now=T0 + DAY)
    assert info.value.code == "deadline_passed"
    expired = market.order(order.id)
    assert expired.status is OrderStatus.CANCELLED and expired.cancel_reason is CancelReason.ACCEPTANCE_TIMEOUT
    assert (expired.cancelled_at, expired.creator_payout_fen, expired.client_refund_fen) == (T0 + DAY, 0, 10_000)
    assert last_event(market, order.id) == (
        "acceptance_timed_out", Role.SYSTEM, None, OrderStatus.PENDING, OrderStatus.CANCELLED,
    )  # fmt: skip


def test_mcn_confirming_at_respond_by_is_late_and_silence_confirms(market):
    client, creator, mcn = signed(market)
    order = accept(market, publish(market, client, creator), uploads=1)
    market.request(order, Role.CLIENT, now=ASKED)
    in_time = market.order(order.id)
    with pytest.raises(DeadlinePassed, match="confirmed automatically"):
        by_mcn(market, cancellation.confirm, in_time, mcn, now=RESPOND_BY)
    done = market.order(order.id)
    assert done.latest_request.status is RequestStatus.AUTO_CONFIRMED and done.creator_payout_fen == 5_000
    assert last_event(market, order.id)[:3] == ("cancellation_auto_confirmed", Role.SYSTEM, None)


def test_mcn_confirming_one_second_before_respond_by_is_in_time(market):
    client, creator, mcn = signed(market)
    order = accept(market, publish(market, client, creator), uploads=1)
    market.request(order, Role.CLIENT, now=ASKED)
    done = by_mcn(market, cancellation.confirm, order, mcn, now=RESPOND_BY - SECOND)
    assert done.latest_request.status is RequestStatus.CONFIRMED and last_event(market, order.id)[1] is Role.MCN


# --- an MCN that does not sign the creator -----------------------------------------------------------


@pytest.fixture
def desk(market):
    """A creator signed to an MCN, with an order at each step a creator-side action needs; and another MCN,
    signing another creator."""
    client, creator, mcn = signed(market)
    other = market.mcn("遥望", "13700000004")
    market.sign(other, market.creator("达人丙", "13900000003"), now=T0)
    pending = publish(market, client, creator)
    accepted = accept(market, publish(market, client, creator), uploads=1)
    client_asked = accept(market, publish(market, client, creator), uploads=1)
    market.request(client_asked, Role.CLIENT, now=ASKED)
    creator_asked = accept(market, publish(market, client, creator), uploads=1)
    market.request(creator_asked, Role.CREATOR, now=ASKED)
    return {"creator": creator, "mcn": mcn, "other": other, "pending": pending, "accepted": accepted,
            "client_asked": client_asked, "creator_asked": creator_asked}  # fmt: skip


ACTIONS = [
    ("accept", orders.accept, "pending", {}),
    ("decline", cancellation.decline, "pending", {"reason": "档期已满"}),
    ("upload", orders.upload, "accepted", {"video": "v"}),
    ("request", cancellation.request, "accepted", {"reason": "达人生病"}),
    ("request a pending order", cancellation.request, "pending", {"reason": "档期已满"}),
    ("confirm", cancellation.confirm, "client_asked", {}),
    ("reject", cancellation.reject, "client_asked", {"reason": "视频已拍完"}),
    ("withdraw", cancellation.withdraw, "creator_asked", {}),
]


@pytest.mark.parametrize("who", ["mcn of another creator", "mcn after release"])
def test_an_mcn_not_signing_the_creator_is_refused(market, desk, who):
    if who == "mcn after release":
        market.release(desk["mcn"], desk["creator"], now=NOW - HOUR)
    mcn = desk["mcn"] if who == "mcn after release" else desk["other"]
    before = market.dump()
    for name, use_case, key, kwargs in ACTIONS:
        order = desk[key]
        with pytest.raises(NotAllowed) as info:
            by_mcn(market, use_case, order, mcn, **kwargs)
        assert info.value.code == "not_allowed", name
        words = f"mcn {mcn} does not sign creator {desk['creator']}, the creator of order {order.id}"
        assert words in info.value.message, name
        assert market.dump() == before, name


def test_an_unknown_mcn_is_not_found(market, desk):
    before = market.dump()
    for name, use_case, key, kwargs in ACTIONS:
        with pytest.raises(NotFound, match="mcn 404 does not exist"):
            by_mcn(market, use_case, desk[key], 404, **kwargs)
        assert market.dump() == before, name


def test_exactly_one_of_creator_or_mcn_acts(market, desk):
    before = market.dump()
    for use_case, key, extra in [(orders.accept, "pending", {}), (cancellation.decline, "pending", {"reason": "r"}),
                                 (orders.upload, "accepted", {"video": "v"})]:  # fmt: skip
        for ids in ({"creator_id": desk["creator"], "mcn_id": desk["mcn"]}, {}):
            with pytest.raises(InvalidInput, match="give exactly one of creator_id or mcn_id") as info:
                market.run(use_case, order_id=desk[key].id, now=NOW, **ids, **extra)
            assert info.value.code == "invalid_party", (use_case.__name__, ids)
    assert market.dump() == before


# --- SMS copies to the MCN ----------------------------------------------------------------------------


def test_an_orders_course_copies_each_sms_to_the_creator_to_the_mcn(market):
    client, creator, mcn = signed(market)
    c, m, b = ("creator", creator), ("mcn", mcn), ("client", client)
    order = publish(market, client, creator)
    assert market.scan(REMIND_AT - SECOND).acceptance_reminders == 0
    assert market.scan(REMIND_AT).acceptance_reminders == 1
    by_mcn(market, orders.accept, order, mcn, now=REMIND_AT + HOUR)
    at = T0 + DAY + HOUR
    market.request(order, Role.CLIENT, now=at)
    market.run(cancellation.withdraw, order_id=order.id, role=Role.CLIENT, actor_id=client, now=at + HOUR)
    market.request(order, Role.CREATOR, now=at + 2 * HOUR)
    market.run(cancellation.reject, order_id=order.id, role=Role.CLIENT, actor_id=client, now=at + 3 * HOUR)
    by_mcn(market, orders.upload, order, mcn, video="v", now=at + 4 * HOUR)
    market.run(orders.complete, order_id=order.id, client_id=client, now=at + 5 * HOUR)
    assert told(market, order.id) == [
        ("order_published", *c), ("order_published", *m),
        ("acceptance_reminder", *c), ("acceptance_reminder", *m),
        ("cancellation_requested", *c), ("cancellation_requested", *m),  # the client asked: the creator is told
        ("cancellation_withdrawn", *c), ("cancellation_withdrawn", *m),
        ("cancellation_requested", *b),  # the creator asked: only the client is told
        ("cancellation_rejected", *c), ("cancellation_rejected", *m),
        ("order_completed", *c), ("order_completed", *m),
    ]  # fmt: skip
    notes = market.notifications(order.id)
    assert_copied(notes, mcn)
    assert notes[1].idempotency_key == f"order-{order.id}:order_published:mcn"
    request_id = market.order(order.id).requests[0].id
    assert notes[5].idempotency_key == f"request-{request_id}:cancellation_requested:mcn"


def test_sms_to_the_client_alone_is_not_copied(market):
    client, creator, mcn = signed(market)
    c, m, b = ("creator", creator), ("mcn", mcn), ("client", client)
    order = accept(market, publish(market, client, creator), uploads=1)
    market.request(order, Role.CLIENT, now=ASKED)
    by_mcn(market, cancellation.reject, order, mcn, now=ASKED + HOUR, reason="视频已拍完")
    by_mcn(market, cancellation.request, order, mcn, now=ASKED + 2 * HOUR, reason="达人生病")
    by_mcn(market, cancellation.withdraw, order, mcn, now=ASKED + 3 * HOUR)
    assert told(market, order.id) == [
        ("order_published", *c), ("order_published", *m),
        ("cancellation_requested", *c), ("cancellation_requested", *m),
        ("cancellation_rejected", *b), ("cancellation_requested", *b), ("cancellation_withdrawn", *b),
    ]  # fmt: skip
    assert_copied(market.notifications(order.id), mcn)


def test_a_lapsed_request_is_copied_to_the_mcn(market):
    lapse = market.configured(cancel_timeout_policy=TimeoutPolicy.LAPSE)
    client, creator, mcn = signed(lapse)
    order = accept(lapse, publish(lapse, client, creator))
    by_mcn(lapse, cancellation.request, order, mcn, now=ASKED, reason="达人生病")
    assert lapse.scan(RESPOND_BY - SECOND).timed_out_requests == 0
    assert lapse.scan(RESPOND_BY).timed_out_requests == 1
    assert lapse.order(order.id).latest_request.status is RequestStatus.LAPSED
    assert told(lapse, order.id)[2:] == [
        ("cancellation_requested", "client", client),
        ("cancellation_lapsed", "creator", creator), ("cancellation_lapsed", "mcn", mcn),
        ("cancellation_lapsed", "client", client),
    ]  # fmt: skip
    assert_copied(lapse.notifications(order.id), mcn)


def test_every_way_an_order_is_cancelled_copies_order_cancelled_to_the_mcn(market):
    client, creator, mcn = signed(market)
    ways = {name: publish(market, client, creator) for name in
            ("client cancels", "mcn declines", "acceptance timeout", "auto-confirm", "client confirms")}  # fmt: skip
    market.request(ways["client cancels"], Role.CLIENT, now=T0 + HOUR)
    by_mcn(market, cancellation.decline, ways["mcn declines"], mcn, now=T0 + HOUR, reason="档期已满")
    for name in ("auto-confirm", "client confirms"):
        accept(market, ways[name], uploads=1)
    market.request(ways["auto-confirm"], Role.CLIENT, now=ASKED)
    market.request(ways["client confirms"], Role.CREATOR, now=ASKED)
    market.run(cancellation.confirm, order_id=ways["client confirms"].id, role=Role.CLIENT, actor_id=client, now=NOW)
    assert market.scan(T0 + DAY).expired_orders == 1
    assert market.scan(RESPOND_BY).timed_out_requests == 1
    causes = {"client cancels": CancelReason.CLIENT_CANCELLED, "mcn declines": CancelReason.CREATOR_DECLINED,
              "acceptance timeout": CancelReason.ACCEPTANCE_TIMEOUT, "auto-confirm": CancelReason.CLIENT_CANCELLED,
              "client confirms": CancelReason.CREATOR_CANCELLED}  # fmt: skip
    for name, order in ways.items():
        assert market.order(order.id).cancel_reason is causes[name], name
        cancelled = [t for t in told(market, order.id) if t[0] == "order_cancelled"]
        assert cancelled == [("order_cancelled", "creator", creator), ("order_cancelled", "client", client),
                             ("order_cancelled", "mcn", mcn)], name  # fmt: skip
        assert_copied(market.notifications(order.id), mcn)


def test_sanctions_are_not_copied_but_the_orders_they_decline_are(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    market.run(sanctions.record, creator_id=creator, evidence="私下接广告", now=T0 + HOUR)
    assert market.order(order.id).status is OrderStatus.PENDING  # a post takedown leaves the orders be
    market.run(sanctions.record, creator_id=creator, evidence="私下接广告", now=T0 + 2 * HOUR)
    assert told(market) == [("sanction_applied", "creator", creator)] * 2
    assert market.order(order.id).cancel_reason is CancelReason.CREATOR_DECLINED
    assert told(market, order.id)[2:] == [
        ("order_cancelled", "creator", creator), ("order_cancelled", "client", client), ("order_cancelled", "mcn", mcn),
    ]  # fmt: skip
    assert_copied(market.notifications(order.id), mcn)


def test_closing_and_reopening_are_not_copied_but_the_orders_closing_declines_are(market):
    client, creator, mcn = signed(market)
    order = publish(market, client, creator)
    market.close(Role.CREATOR, creator, now=T0 + HOUR)
    market.reopen(Role.CREATOR, creator, now=T0 + 2 * HOUR)
    assert told(market) == [("account_closed", "creator", creator), ("account_reopened", "creator", creator)]
    assert market.order(order.id).cancel_reason is CancelReason.CREATOR_DECLINED
    assert told(market, order.id)[2:] == [
        ("order_cancelled", "creator", creator), ("order_cancelled", "client", client), ("order_cancelled", "mcn", mcn),
    ]  # fmt: skip


def test_after_release_the_mcn_gets_no_copies(market):
    client, creator, mcn = signed(market)
    early = publish(market, client, creator)
    market.release(mcn, creator, now=T0 + HOUR)
    late = publish(market, client, creator, now=T0 + 2 * HOUR)
    market.request(early, Role.CLIENT, now=T0 + 3 * HOUR)
    assert told(market, early.id) == [
        ("order_published", "creator", creator), ("order_published", "mcn", mcn),
        ("order_cancelled", "creator", creator), ("order_cancelled", "client", client),
    ]  # fmt: skip
    assert told(market, late.id) == [("order_published", "creator", creator)]
    assert market.scan(T0 + 2 * HOUR + DAY - 2 * HOUR).acceptance_reminders == 1
    assert told(market, late.id)[1:] == [("acceptance_reminder", "creator", creator)]


def test_signed_to_another_mcn_the_new_mcn_gets_the_copies(market):
    client, creator, first = signed(market)
    second = market.mcn("遥望", "13700000004")
    early = publish(market, client, creator)
    market.release(first, creator, now=T0 + HOUR)
    market.sign(second, creator, now=T0 + 2 * HOUR)
    late = publish(market, client, creator, now=T0 + 3 * HOUR)
    market.request(early, Role.CLIENT, now=T0 + 4 * HOUR)
    assert told(market, early.id) == [
        ("order_published", "creator", creator), ("order_published", "mcn", first),
        ("order_cancelled", "creator", creator), ("order_cancelled", "client", client),
        ("order_cancelled", "mcn", second),
    ]  # fmt: skip
    assert told(market, late.id) == [("order_published", "creator", creator), ("order_published", "mcn", second)]
    assert_copied(market.notifications(late.id), second, OTHER_MCN_PHONE)
    cancelled = [n for n in market.notifications(early.id) if n.kind is NotificationKind.ORDER_CANCELLED]
    assert_copied(cancelled, second, OTHER_MCN_PHONE)
