"""Races between separate processes on a real PostgreSQL: each side has its own interpreter, engine
and connections, as two workers (or a worker and the task API) would. Exactly one winner each time,
no deadlock, no order cancelled twice, no outbox row written twice."""

import multiprocessing
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from bench import data
from models import Notification, Order, OrderEvent
from models.states import OrderStatus, Role, TimeoutPolicy
from tests.market import DAY, HOUR, SECOND, T0, Market
from worker.database.engines import make_engine, session_factory
from worker.database.unit_of_work import transaction
from worker.errors import XingtuError
from worker.services import cancellation, orders, timers
from worker.settings import Settings

pytestmark = pytest.mark.postgresql
ROUNDS = 40


def _connected(url: str, start):
    """Connect first, then wait for the others at the barrier, so start-up time does not decide the race."""
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    start.wait()
    return session_factory(engine)


def _run_all(url: str, name: str, calls: list[dict], start) -> list[str]:
    """In a child process: run each call once all are ready, report each outcome."""
    settings = Settings(database_url=url)
    use_case = {"accept": orders.accept, "confirm": cancellation.confirm, "withdraw": cancellation.withdraw}[name]
    sessions = _connected(url, start)
    outcomes = []
    for call in calls:
        try:
            with transaction(sessions) as session:
                use_case(session, settings, **call)
            outcomes.append("won")
        except XingtuError as error:
            outcomes.append(error.code)
    return outcomes


def _scan_all(url: str, now: datetime, batch: int, start) -> int:
    sessions = _connected(url, start)
    total = 0
    while True:
        with transaction(sessions) as session:
            applied = timers.scan_batch(session, now, TimeoutPolicy.AUTO_CONFIRM, batch, key_window=timedelta(hours=24))
        total += applied.expired_orders + applied.timed_out_requests
        if not any(applied.as_dict().values()):
            return total


@pytest.fixture
def pool():
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(3) as workers:
        yield workers, manager


@pytest.fixture
def pg_market(postgres_url):
    engine = make_engine(postgres_url)
    market = Market(session_factory(engine), Settings(database_url=postgres_url))
    yield market
    market.check_invariants()
    engine.dispose()


def test_confirm_against_withdraw_in_two_processes(pg_market, postgres_url, pool):
    workers, manager = pool
    batch = []
    for _ in range(ROUNDS):
        order = pg_market.accepted(uploads=1)
        pg_market.request(order, Role.CLIENT, now=T0 + 3 * HOUR)
        batch.append(order)
    at = T0 + 4 * HOUR
    start = manager.Event()
    confirming = workers.apply_async(
        _run_all,
        (
            postgres_url,
            "confirm",
            [{"order_id": o.id, "role": Role.CREATOR, "actor_id": o.creator_id, "now": at} for o in batch],
            start,
        ),
    )
    withdrawing = workers.apply_async(_run_all, (postgres_url, "withdraw", [
        {"order_id": o.id, "role": Role.CLIENT, "actor_id": o.client_id, "now": at} for o in batch], start))  # fmt: skip
    start.set()
    pairs = list(zip(confirming.get(timeout=120), withdrawing.get(timeout=120)))
    assert all(sorted(pair) == ["invalid_state", "won"] for pair in pairs), Counter(pairs)
    for order, (confirm, _) in zip(batch, pairs):
        final = pg_market.order(order.id)
        assert (final.status is OrderStatus.CANCELLED) == (confirm == "won")


def test_accept_against_the_scan_in_two_processes(pg_market, postgres_url, pool):
    workers, manager = pool
    batch = [pg_market.publish() for _ in range(ROUNDS)]
    deadline = T0 + DAY
    start = manager.Barrier(2)
    # the scan claims in publishing order, seven at a time; the creator accepts from the newest back
    accepting = workers.apply_async(_run_all, (postgres_url, "accept", [
        {"order_id": o.id, "creator_id": o.creator_id, "now": deadline - SECOND} for o in reversed(batch)], start))  # fmt: skip
    scanning = workers.apply_async(_scan_all, (postgres_url, deadline, 7, start))
    accepts, expired = accepting.get(timeout=120), scanning.get(timeout=120)
    assert 0 < accepts.count("won") < ROUNDS  # both sides won somewhere
    statuses = Counter(pg_market.order(o.id).status for o in batch)
    assert statuses[OrderStatus.ACCEPTED] == accepts.count("won")
    assert statuses[OrderStatus.CANCELLED] == expired == ROUNDS - accepts.count("won")
    assert set(accepts) <= {"won", "deadline_passed"}


def test_three_scanners_over_100000_due_orders(postgres_url, pool):
    workers, manager = pool
    engine = make_engine(postgres_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("TRUNCATE clients, creators, orders RESTART IDENTITY CASCADE")
    engine.dispose()
    data.seed(postgres_url, 100_000, 100_000)  # every order past its deadline
    start = manager.Barrier(3)
    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    scans = [workers.apply_async(_scan_all, (postgres_url, now, 5000, start)) for _ in range(3)]
    counts = [scan.get(timeout=600) for scan in scans]
    assert sum(counts) == 100_000 and min(counts) > 0, counts  # all three took part, none cancelled twice
    engine = make_engine(postgres_url)
    with engine.connect() as connection:

        def count(query):
            return connection.execute(query).scalar()

        assert count(sa.select(sa.func.count()).where(Order.status == OrderStatus.CANCELLED)) == 100_000
        assert count(sa.select(sa.func.count()).select_from(Notification)) == 200_000
        assert count(sa.select(sa.func.count(sa.distinct(OrderEvent.order_id)))
                     .where(OrderEvent.event == "acceptance_timed_out")) == 100_000  # fmt: skip
        assert count(sa.select(sa.func.count()).where(OrderEvent.event == "acceptance_timed_out")) == 100_000
    engine.dispose()
