"""Dispatch: 20,000 due notifications sent by a real worker through real Redis with a sender that does
nothing, against bare Celery no-op tasks through the same Redis with the same pool, in the same run; and
2,000 sent through the Aliyun sender (the official SDK) to the local Aliyun gateway of the tests, which
checks every signature, beside the no-op sender's rate.

Both rates are taken between the first and the last completion, so worker start-up counts for neither.
"""

import os
from pathlib import Path

import redis
from sqlalchemy import func, select

from bench import data, noop, processes
from models import Notification
from models.states import NotificationStatus
from tests.aliyun_gateway import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunGateway
from worker.database.engines import make_engine, session_factory
from worker.runtime.celery_config import make_app
from worker.runtime.handoff import Handoff
from worker.settings import Settings

NOTIFICATIONS = int(os.environ.get("BENCH_NOTIFICATIONS", "20000"))
ALIYUN_NOTIFICATIONS = int(os.environ.get("BENCH_ALIYUN_NOTIFICATIONS", "2000"))
NOOP = {"XINGTU_SMS_SENDER": "bench.noop:NoopSender"}
CONCURRENCY = 2
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TEMPLATES = Path(__file__).parents[1] / "deploy" / "sms-templates.example.toml"


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


def project(backend: str, count: int = NOTIFICATIONS, sender: dict[str, str] = NOOP) -> float:
    """Notifications sent per second by a worker with this ``sender``'s settings."""
    url = data.copy(data.template(backend, 1000, 0))
    try:
        _seed_notifications(url, count)
        env = {"XINGTU_DATABASE_URL": url, "XINGTU_BROKER_URL": REDIS, "XINGTU_DISPATCH_INTERVAL": "3600",
               "XINGTU_SCAN_INTERVAL": "3600", **sender}  # fmt: skip
        redis.Redis.from_url(REDIS).flushdb()
        sessions = session_factory(make_engine(url))
        with processes.worker("worker.app", env, CONCURRENCY):
            settings = Settings(database_url=url, broker_url=REDIS)
            Handoff(make_app(settings), settings.send_batch_size, 10).sweeps(count)  # what a writer does after commit
            sent = select(func.count()).where(Notification.status == NotificationStatus.SENT)
            processes.wait_until(lambda: _scalar(sessions, sent) >= count, "every notification sent")
        first, last = _scalar(sessions, select(func.min(Notification.sent_at), func.max(Notification.sent_at)), 2)
        return count / (last - first).total_seconds()
    finally:
        data.drop(url)


def aliyun(backend: str) -> dict[str, float]:
    """The Aliyun sender against the local gateway, beside the no-op sender, the same number each."""
    gateway = AliyunGateway()
    settings = {
        "XINGTU_SMS_SENDER": "aliyun", "XINGTU_ALIYUN_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "XINGTU_ALIYUN_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET, "XINGTU_ALIYUN_SIGN_NAME": "星图",
        "XINGTU_ALIYUN_ENDPOINT": gateway.endpoint, "XINGTU_SMS_TEMPLATES": str(TEMPLATES),
    }  # fmt: skip
    try:
        rate = project(backend, ALIYUN_NOTIFICATIONS, settings)
        assert all(call.signature_ok for call in gateway.received) and len(gateway.accepted) >= ALIYUN_NOTIFICATIONS
    finally:
        gateway.close()
    return {"aliyun": rate, "noop": project(backend, ALIYUN_NOTIFICATIONS)}


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
