"""The creator record brands see (接单情况), on SQLite and PostgreSQL: each count of the SPEC's table for
orders ending every way, the acceptance rate (4 decimals, half up, null when nothing was answered, a
client's cancellation before acceptance not in it), the ranking ``creator list`` shows, and the figures
synced from Douyin (``accounts.update``) with their refusals."""

import pytest
import sqlalchemy as sa

from models import Creator, CreatorEvent, Order
from models.states import CancelReason, CreatorStatus, OrderStatus, Role
from tests.market import DAY, HOUR, T0
from worker.errors import DeadlinePassed
from worker.services import accounts, cancellation, creator_record, orders

ASKED = T0 + 3 * HOUR
NOW = T0 + 4 * HOUR
EMPTY = {"offered": 0, "accepted": 0, "completed": 0, "in_production": 0, "declined": 0, "expired": 0,
         "cancelled_by_creator": 0, "cancelled_by_client": 0, "acceptance_rate": None}  # fmt: skip


def record(**counts) -> dict:
    return EMPTY | counts


def publish(market, client: int, creator: int, *, amount_fen: int = 10_000) -> Order:
    return market.run(orders.publish, client_id=client, creator_id=creator, title="夏季新品推广", amount_fen=amount_fen,
                      now=T0)  # fmt: skip


def accepted(market, client: int, creator: int, *, uploads: int = 0) -> Order:
    order = publish(market, client, creator)
    market.run(orders.accept, order_id=order.id, creator_id=creator, now=T0 + HOUR)
    for n in range(uploads):
        market.run(orders.upload, order_id=order.id, creator_id=creator, video=f"v{n}", now=T0 + 2 * HOUR)
    return market.order(order.id)


def completed(market, client: int, creator: int) -> Order:
    order = accepted(market, client, creator, uploads=1)
    return market.run(orders.complete, order_id=order.id, client_id=client, now=NOW)


def declined(market, client: int, creator: int) -> Order:
    order = publish(market, client, creator)
    return market.run(cancellation.decline, order_id=order.id, creator_id=creator, reason="档期已满", now=T0 + HOUR)


def answer(market, order: Order, role: Role, use_case=cancellation.confirm) -> Order:
    actor = order.client_id if role is Role.CLIENT else order.creator_id
    return market.run(use_case, order_id=order.id, role=role, actor_id=actor, now=NOW)


def cancelled_after_accept(market, client: int, creator: int, initiator: Role) -> Order:
    order = accepted(market, client, creator, uploads=1)
    market.request(order, initiator, now=ASKED)
    return answer(market, order, initiator.counterparty)


def creator_with(market, client: int, name: str, *, accepted_: int = 0, declined_: int = 0, expired: int = 0) -> int:
    """A creator whose orders were accepted, declined, or left to expire (by the next scan at T0 + DAY)."""
    creator = market.creator(name)
    for _ in range(accepted_):
        accepted(market, client, creator)
    for _ in range(declined_):
        declined(market, client, creator)
    for _ in range(expired):
        publish(market, client, creator)
    return creator


# --- the record ---------------------------------------------------------------------------------------


def test_the_record_counts_orders_ending_every_way(market):
    client, creator, other = market.client(), market.creator(), market.creator("达人丙", "13900000003")
    ends = {
        "completed": [completed(market, client, creator) for _ in range(2)],
        "accepted now": [accepted(market, client, creator, uploads=1)],
        "accepted, client asking": [accepted(market, client, creator, uploads=1)],
        "declined": [declined(market, client, creator)],
        "declined by request": [market.request(publish(market, client, creator), Role.CREATOR, now=T0 + HOUR)],
        "expired by the scan": [publish(market, client, creator)],
        "expired at the deadline": [publish(market, client, creator)],
        "cancelled by creator after accept": [cancelled_after_accept(market, client, creator, Role.CREATOR)],
        "cancelled by client before accept": [market.request(publish(market, client, creator), Role.CLIENT,
                                                             now=T0 + HOUR)],
        "cancelled by client after accept": [cancelled_after_accept(market, client, creator, Role.CLIENT)],
    }  # fmt: skip
    market.request(ends["accepted, client asking"][0], Role.CLIENT, now=ASKED)
    with pytest.raises(DeadlinePassed):
        market.run(orders.accept, order_id=ends["expired at the deadline"][0].id, creator_id=creator, now=T0 + DAY)
    assert market.scan(T0 + DAY).expired_orders == 1
    completed(market, client, other)  # another creator's order counts for them alone
    how = {name: [(o.status, o.cancel_reason) for o in map(market.order, [o.id for o in got])]
           for name, got in ends.items()}  # fmt: skip
    assert how == {
        "completed": [(OrderStatus.COMPLETED, None)] * 2,
        "accepted now": [(OrderStatus.ACCEPTED, None)],
        "accepted, client asking": [(OrderStatus.ACCEPTED, None)],
        "declined": [(OrderStatus.CANCELLED, CancelReason.CREATOR_DECLINED)],
        "declined by request": [(OrderStatus.CANCELLED, CancelReason.CREATOR_DECLINED)],
        "expired by the scan": [(OrderStatus.CANCELLED, CancelReason.ACCEPTANCE_TIMEOUT)],
        "expired at the deadline": [(OrderStatus.CANCELLED, CancelReason.ACCEPTANCE_TIMEOUT)],
        "cancelled by creator after accept": [(OrderStatus.CANCELLED, CancelReason.CREATOR_CANCELLED)],
        "cancelled by client before accept": [(OrderStatus.CANCELLED, CancelReason.CLIENT_CANCELLED)],
        "cancelled by client after accept": [(OrderStatus.CANCELLED, CancelReason.CLIENT_CANCELLED)],
    }
    # accepted: 2 completed + 2 in production + 2 cancelled after accepting = 6, of 6 + 2 declined + 2 expired
    assert market.record(creator) == {
        "offered": 11, "accepted": 6, "completed": 2, "in_production": 2, "declined": 2, "expired": 2,
        "cancelled_by_creator": 1, "cancelled_by_client": 2, "acceptance_rate": 0.6,
    }  # fmt: skip
    assert market.record(other) == record(offered=1, accepted=1, completed=1, acceptance_rate=1.0)


def test_a_creator_with_no_orders_has_an_empty_record(market):
    creator = market.creator()
    assert market.record(creator) == EMPTY
    assert market.record(404) == EMPTY


def test_a_record_with_nothing_answered_has_no_rate(market):
    client = market.client()
    waiting, withdrawn_from = market.creator("达人甲"), market.creator("达人丙", "13900000003")
    publish(market, client, waiting)
    market.request(publish(market, client, withdrawn_from), Role.CLIENT, now=T0 + HOUR)
    assert market.record(waiting) == record(offered=1)
    assert market.record(withdrawn_from) == record(offered=1, cancelled_by_client=1)


def test_a_clients_cancellation_before_acceptance_is_not_in_the_rate(market):
    client = market.client()
    creator = creator_with(market, client, "达人乙", accepted_=1, declined_=1)
    market.request(publish(market, client, creator), Role.CLIENT, now=T0 + HOUR)
    assert market.record(creator) == record(
        offered=3, accepted=1, in_production=1, declined=1, cancelled_by_client=1, acceptance_rate=0.5
    )


RATES = [  # (accepted, declined, expired, rate): accepted / (accepted + declined + expired), 4 decimals, half up
    (2, 1, 0, 0.6667),
    (1, 2, 0, 0.3333),
    (1, 7, 0, 0.125),
    (2, 0, 1, 0.6667),
    (1, 0, 2, 0.3333),
    (1, 1, 1, 0.3333),
    (5, 1, 0, 0.8333),
    (1, 0, 31, 0.0313),  # 0.03125: half up, where half-even would give 0.0312
    (3, 0, 29, 0.0938),  # 0.09375
    (1, 0, 0, 1.0),
    (0, 1, 0, 0.0),
    (0, 0, 1, 0.0),
]


def test_the_acceptance_rate_is_rounded_half_up_to_4_decimals(market):
    client = market.client()
    creators = [
        creator_with(market, client, f"达人{n}", accepted_=a, declined_=d, expired=e)
        for n, (a, d, e, _) in enumerate(RATES)
    ]
    assert market.scan(T0 + DAY).expired_orders == sum(e for _, _, e, _ in RATES)
    for creator, (a, d, e, rate) in zip(creators, RATES):
        got = market.record(creator)
        assert got == record(offered=a + d + e, accepted=a, in_production=a, declined=d, expired=e,
                             acceptance_rate=rate), (a, d, e)  # fmt: skip
        assert type(got["acceptance_rate"]) is float


# --- the ranking --------------------------------------------------------------------------------------


@pytest.fixture
def board(market):
    """Five creators with figures and records that tie two by two on every sort; the fourth closed."""
    client = market.client()
    figures = [(100, 50), (300, 50), (100, 900), (0, 10), (50, 0)]
    ids = [market.creator(f"达人{n}", f"1390000001{n}") for n in range(5)]
    for creator, (followers, plays) in zip(ids, figures):
        market.run(accounts.update, creator_id=creator, followers=followers, average_plays=plays, now=T0)
    one, _, three, four, five = ids
    completed(market, client, one)  # rate 1.0, 1 completed
    accepted(market, client, three)  # three: rate 0.5, 0 completed, 1 in production
    declined(market, client, three)
    completed(market, client, four)  # four: rate 1.0, 2 completed
    completed(market, client, four)
    declined(market, client, five)  # five: rate 0.0; two has no orders: rate None
    market.close(Role.CREATOR, four, now=NOW + HOUR)
    return ids


def ranked(market, **kwargs) -> list[int]:
    with market.sessions() as session:
        rows = list(creator_record.ranked(session, **kwargs))
        for creator, got in rows:
            assert got == creator_record.of(session, creator.id), creator.id
        return [creator.id for creator, _ in rows]


RANKINGS = [  # (arguments, creators of the board by number): largest first, ties by id, a null rate last
    ({}, [1, 2, 3, 4, 5]),
    ({"sort": "followers"}, [2, 1, 3, 5, 4]),
    ({"sort": "average_plays"}, [3, 1, 2, 4, 5]),
    ({"sort": "acceptance_rate"}, [1, 4, 3, 5, 2]),
    ({"sort": "completed"}, [4, 1, 2, 3, 5]),  # 2 has no orders: 0 completed, tied with 3 and 5
    ({"limit": 2}, [1, 2]),
    ({"sort": "followers", "limit": 3}, [2, 1, 3]),
    ({"sort": "average_plays", "limit": 2}, [3, 1]),
    ({"sort": "acceptance_rate", "limit": 3}, [1, 4, 3]),
    ({"sort": "completed", "limit": 1}, [4]),
    ({"status": CreatorStatus.CLOSED}, [4]),
    ({"status": CreatorStatus.ACTIVE, "sort": "followers"}, [2, 1, 3, 5]),
    ({"status": CreatorStatus.ACTIVE, "sort": "average_plays"}, [3, 1, 2, 5]),
    ({"status": CreatorStatus.ACTIVE, "sort": "acceptance_rate", "limit": 2}, [1, 3]),
    ({"status": CreatorStatus.ACTIVE, "sort": "completed"}, [1, 2, 3, 5]),
    ({"status": CreatorStatus.BANNED}, []),
]


def test_ranked_sorts_largest_first_ties_by_id_null_rate_last(market, board):
    for kwargs, expected in RANKINGS:
        assert ranked(market, **kwargs) == [board[n - 1] for n in expected], kwargs


def test_ranked_carries_each_creators_record(market, board):
    with market.sessions() as session:
        rows = {creator.id: got for creator, got in creator_record.ranked(session, sort="acceptance_rate")}
    one, two, three, four, five = board
    assert rows == {
        one: record(offered=1, accepted=1, completed=1, acceptance_rate=1.0),
        two: EMPTY,
        three: record(offered=2, accepted=1, in_production=1, declined=1, acceptance_rate=0.5),
        four: record(offered=2, accepted=2, completed=2, acceptance_rate=1.0),
        five: record(offered=1, declined=1, acceptance_rate=0.0),
    }


# --- the figures synced from Douyin ---------------------------------------------------------------------


def creator_trail(market, creator_id: int) -> list[tuple]:
    with market.sessions() as session:
        rows = session.scalars(
            sa.select(CreatorEvent).where(CreatorEvent.creator_id == creator_id).order_by(CreatorEvent.id)
        )
        return [(e.event, e.actor_role, e.actor_id, e.at, e.details) for e in rows]


def test_update_sets_the_figures_and_writes_the_trail(market):
    creator = market.creator()
    got = market.run(accounts.update, creator_id=creator, followers="1200", now=T0)
    assert (got.followers, got.average_plays) == (1200, 0)
    market.run(accounts.update, creator_id=creator, average_plays=35_000, now=T0 + HOUR)
    market.run(accounts.update, creator_id=creator, followers=0, average_plays=" 7 ", now=T0 + 2 * HOUR)
    stored = market.account(Creator, creator)
    assert (stored.followers, stored.average_plays) == (0, 7)
    assert creator_trail(market, creator) == [
        ("record_updated", Role.SYSTEM, None, T0, {"followers": 1200}),
        ("record_updated", Role.SYSTEM, None, T0 + HOUR, {"average_plays": 35_000}),
        ("record_updated", Role.SYSTEM, None, T0 + 2 * HOUR, {"followers": 0, "average_plays": 7}),
    ]


UPDATE_REFUSALS = [
    ({"followers": -1}, "invalid_followers", "followers must be a non-negative whole number; got -1"),
    ({"followers": "-5"}, "invalid_followers", "followers must be a non-negative whole number"),
    ({"followers": 1.5}, "invalid_followers", "got 1.5"),
    ({"followers": "1.5"}, "invalid_followers", "got '1.5'"),
    ({"followers": "abc"}, "invalid_followers", "got 'abc'"),
    ({"followers": True}, "invalid_followers", "got True"),
    ({"followers": ""}, "invalid_followers", "followers must be a non-negative whole number"),
    ({"average_plays": -3}, "invalid_average_plays", "average_plays must be a non-negative whole number; got -3"),
    ({"average_plays": "12a"}, "invalid_average_plays", "got '12a'"),
    ({"followers": 10, "average_plays": -1}, "invalid_average_plays", "average_plays must be"),
    ({}, "invalid_figures", "nothing to update: give followers and/or average_plays"),
    ({"followers": None, "average_plays": None}, "invalid_figures", "nothing to update"),
]


def test_update_refusals_change_nothing(market):
    creator = market.creator()
    market.run(accounts.update, creator_id=creator, followers=5, average_plays=6, now=T0)
    before = market.dump()
    for kwargs, code, words in [*UPDATE_REFUSALS, ({"followers": 1}, "not_found", "creator 404 does not exist")]:
        target = 404 if code == "not_found" else creator
        with pytest.raises(Exception) as info:
            market.run(accounts.update, creator_id=target, now=T0 + HOUR, **kwargs)
        assert getattr(info.value, "code", None) == code, kwargs
        assert words in info.value.message, kwargs
        assert market.dump() == before, kwargs
