"""Lateness: orders with short acceptance windows under a running worker and beat; how long after its
deadline each one is cancelled (cancelled_at - accept_deadline), p50 and p99."""

import os
import random
import statistics
from datetime import timedelta

from sqlalchemy import func, select

from bench import data, processes
from models import Order
from models.states import OrderStatus
from worker.clock import utcnow
from worker.database.engines import make_engine, session_factory
from worker.database.unit_of_work import transaction
from worker.services import orders
from worker.settings import Settings

ORDERS = int(os.environ.get("BENCH_LATENESS_ORDERS", "300"))
SCAN_INTERVAL = int(os.environ.get("BENCH_SCAN_INTERVAL", "5"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def measure(backend: str) -> dict[str, float]:
    url = data.copy(data.template(backend, 1000, 0))
    env = {"XINGTU_DATABASE_URL": url, "XINGTU_BROKER_URL": REDIS, "XINGTU_SMS_SENDER": "bench.noop:NoopSender",
           "XINGTU_SCAN_INTERVAL": str(SCAN_INTERVAL), "XINGTU_DISPATCH_INTERVAL": "5"}  # fmt: skip
    sessions = session_factory(make_engine(url))
    rng = random.Random(7)
    try:
        with processes.worker("worker.app", env, beat=True):
            published = []
            for n in range(ORDERS):  # windows of 3 to 20 s, published over the first seconds
                settings = Settings(
                    database_url=url, broker_url=REDIS, accept_window=timedelta(seconds=rng.randint(3, 20))
                )
                with transaction(sessions) as session:
                    order = orders.publish(session, settings, client_id=n % 1000 + 1, creator_id=(n * 7) % 1000 + 1,
                                           title=f"t{n}", amount_fen=100, now=utcnow())  # fmt: skip
                    published.append(order.id)
            mine = Order.id.in_(published)
            pending = select(func.count()).where(mine, Order.status == OrderStatus.PENDING)
            processes.wait_until(lambda: _scalar(sessions, pending) == 0, "every order to expire", timeout=300)
        with sessions() as session:
            late = [(row.cancelled_at - row.accept_deadline).total_seconds()
                    for row in session.execute(select(Order.cancelled_at, Order.accept_deadline).where(mine))]  # fmt: skip
    finally:
        data.drop(url)
    cuts = statistics.quantiles(late, n=100)
    return {"p50": statistics.median(late), "p99": cuts[98], "max": max(late), "interval": SCAN_INTERVAL}


def _scalar(sessions, query):
    with sessions() as session:
        return session.scalar(query)
