"""The promise of idempotency keys end to end: a caller that retries every call until it is answered,
with one key per action, through a worker SIGKILLed and a broker restarted that loses every message it
held, ends with exactly the orders and SMS it meant, never two.

The broker is a redis-server of this test's own (``own_redis``), so it can be killed without touching
the Redis other tests share.
"""

import time
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from models import IdempotencyKey, Notification, Order
from models.states import NotificationStatus
from tests.market import Market
from worker.runtime.celery_config import make_app
from worker.settings import Settings

pytestmark = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)
PATIENCE = 3  # seconds a caller waits for an answer before it sends the call again


def test_a_caller_that_retries_with_its_keys_gets_each_action_once(own_redis, start_worker, db, database_url, webhook):
    def start():  # workers on the test's own broker (set up first, so they are stopped before it is killed)
        return start_worker(env={"XINGTU_BROKER_URL": own_redis.url})

    caller = make_app(Settings(broker_url=own_redis.url))
    market = Market(db, Settings(database_url=database_url))
    now = datetime.now(timezone.utc)
    client, creator = market.client(now=now), market.creator(now=now)
    sent = []

    def publish(title: str, key: str, *, attempts: int = 20) -> dict:
        """Send until answered, the same key every time, as a caller that cannot tell what happened."""
        for _ in range(attempts):
            kwargs = {"client_id": client, "creator_id": creator, "title": title, "amount_fen": 10_000,
                      "idempotency_key": key}  # fmt: skip
            try:
                sent.append(key)
                return caller.send_task("xingtu.publish_order", kwargs=kwargs).get(timeout=PATIENCE)
            except Exception:  # a lost worker, a lost broker, a lost message: the outcome is unknown
                time.sleep(0.2)
        raise AssertionError(f"{title} was never answered")

    keys = {title: str(uuid.uuid4()) for title in ("一", "二", "三", "四")}
    worker = start()
    answers = {"一": publish("一", keys["一"])}

    worker.kill()  # the whole worker, SIGKILLed: "二" waits in the queue for the next worker
    pending = caller.send_task("xingtu.publish_order", kwargs={
        "client_id": client, "creator_id": creator, "title": "二", "amount_fen": 10_000, "idempotency_key": keys["二"]
    })  # fmt: skip
    sent.append(keys["二"])
    worker = start()
    answers["二"] = publish("二", keys["二"])  # a retry while the first send may still be queued
    pending.get(timeout=10)  # the first send ran too, and answered the recorded answer

    worker.kill()
    caller.send_task("xingtu.publish_order", kwargs={
        "client_id": client, "creator_id": creator, "title": "三", "amount_fen": 10_000, "idempotency_key": keys["三"]
    })  # fmt: skip
    assert own_redis.queued() == 1
    own_redis.kill()  # the broker restarts with nothing: the queued "三" is lost
    own_redis.start()
    worker = start()
    answers["三"] = publish("三", keys["三"])
    answers["四"] = publish("四", keys["四"])

    assert len(sent) > len(keys)  # some actions were sent more than once
    with db() as session:
        orders = session.execute(sa.select(Order.title, Order.id).order_by(Order.id)).all()
        assert [title for title, _ in orders] == ["一", "二", "三", "四"]  # each action once, in the order meant
        assert {title: answer["id"] for title, answer in answers.items()} == dict(orders)
        assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)) == 4
        notes = session.execute(sa.select(Notification.idempotency_key, Notification.order_id)).all()
        assert sorted(order for _, order in notes) == sorted(id_ for _, id_ in orders)  # one SMS per order
    sms = {n.idempotency_key for n in notes}

    def delivered() -> bool:
        with db() as session:
            statuses = set(session.scalars(sa.select(Notification.status)))
        return statuses == {NotificationStatus.SENT}

    deadline = time.monotonic() + 30
    while not delivered():
        assert time.monotonic() < deadline, "the SMS were not all sent"
        time.sleep(0.2)
    assert {received.key for received in webhook.received} == sms  # each SMS sent, none twice under two keys
