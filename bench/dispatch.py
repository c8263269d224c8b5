"""Dispatch: 20,000 due notifications sent by a real worker through real Redis with a sender that does
nothing, against bare Celery no-op tasks through the same Redis with the same pool, in the same run.

Both rates are taken between the first and the last completion, so worker start-up counts for neither.
"""

import os

import redis
from sqlalchemy import func, select

from bench import data, noop, processes
from models import Notification
from models.states import NotificationStatus
from worker.database.engines import make_engine, session_factory
from worker.runtime.celery_config import make_app
from worker.runtime.handoff import sweeps
from worker.settings import Settings

NOTIFICATIONS = int(os.environ.get("BENCH_NOTIFICATIONS", "20000"))
CONCURRENCY = 2
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _seed_notifications(url: str, count: int) -> None:
    """``count`` notifications due long ago (the worker reads the real clock)."""
    engine = make_engine(url)
    dialect = engine.dialect.name
    LONG_AGO = data.instant(dialect, "-10 * 365 * 86400")  # noqa: N806
    numbers = data.numbers(dialect, count)
    with engine.begin() as connection:
        data.run(connection, dialect,
            "INSERT INTO notifications (idempotency_key, kind, order_id, recipient_role, recipient_id, phone, params,"
            " status, attempts, created_at, due_at) SELECT 'bench-' || g, 'order_published', NULL, 'creator', 1,"
            " '+8613900000001', '{\"title\": \"t\", \"amount_fen\": 100, \"accept_deadline\": \"2027-01-02T00:00:00+00:00\"}',"
            f" 'pending', 0, {LONG_AGO}, {LONG_AGO} FROM ({numbers}) AS n",
        )  # fmt: skip
    engine.dispose()


def project(backend: str) -> float:
    url = data.copy(data.template(backend, 1000, 0))
    try:
        _seed_notifications(url, NOTIFICATIONS)
        env = {"XINGTU_DATABASE_URL": url, "XINGTU_BROKER_URL": REDIS, "XINGTU_SMS_SENDER": "bench.noop:NoopSender",
               "XINGTU_DISPATCH_INTERVAL": "3600", "XINGTU_SCAN_INTERVAL": "3600"}  # fmt: skip
        redis.Redis.from_url(REDIS).flushdb()
        sessions = session_factory(make_engine(url))
        with processes.worker("worker.app", env, CONCURRENCY):
            settings = Settings(database_url=url, broker_url=REDIS)
            sweeps(make_app(settings), NOTIFICATIONS, settings.send_batch_size)  # what a writer does after commit
            sent = select(func.count()).where(Notification.status == NotificationStatus.SENT)
            processes.wait_until(lambda: _scalar(sessions, sent) >= NOTIFICATIONS, "every notification sent")
        first, last = _scalar(sessions, select(func.min(Notification.sent_at), func.max(Notification.sent_at)), 2)
        return NOTIFICATIONS / (last - first).total_seconds()
    finally:
        data.drop(url)


def _scalar(sessions, query, width: int = 1):
    with sessions() as session:
        row = session.execute(query).one()
    return row[0] if width == 1 else row


def bare_celery() -> float:
    counter = redis.Redis.from_url(noop.BARE_REDIS)
    counter.flushdb()
    for _ in range(NOTIFICATIONS):  # queued before the worker starts, so only consuming is timed
        noop.noop.apply_async()
    with processes.worker("bench.noop", {}, CONCURRENCY):
        processes.wait_until(lambda: int(counter.get("bench:done") or 0) >= NOTIFICATIONS, "every no-op task")
    rate = NOTIFICATIONS / (float(counter.get("bench:last")) - float(counter.get("bench:first")))
    counter.flushdb()
    return rate
