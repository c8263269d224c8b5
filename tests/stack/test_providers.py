"""A real worker and beat sending through the Aliyun SMS sender, over real Redis, to the local Aliyun
gateway (``tests.aliyun_gateway``, signatures checked): every notification goes out once as its
template, including after a throttle and a send answered too late (looked up, not sent again)."""

import json
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from models import Notification
from models.states import NotificationStatus
from tests.aliyun_gateway import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunGateway, Answer

EXAMPLE = Path(__file__).parents[2] / "deploy" / "sms-templates.example.toml"
WAIT = 45  # seconds: a hang guard, not a speed target


def test_a_worker_sends_every_notification_once_through_aliyun(start_worker, xingtu_cli, db):
    gateway = AliyunGateway()
    first = {}  # the first answer to each OutId: a throttle for one, a late answer for another

    def respond(call):
        key = call.query["OutId"]
        if key in first:
            return Answer()
        first[key] = Answer(code="isv.BUSINESS_LIMIT_CONTROL") if len(first) == 0 else (
            Answer(delay=2.5) if len(first) == 1 else Answer())  # fmt: skip
        return first[key]

    gateway.respond = respond
    env = {"XINGTU_SMS_SENDER": "aliyun", "XINGTU_ALIYUN_ACCESS_KEY_ID": ACCESS_KEY_ID,
           "XINGTU_ALIYUN_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET, "XINGTU_ALIYUN_SIGN_NAME": "星图",
           "XINGTU_ALIYUN_ENDPOINT": gateway.endpoint, "XINGTU_SMS_TEMPLATES": str(EXAMPLE)}  # fmt: skip
    try:
        start_worker(env=env)
        for side, phone in (("client", "13800000001"), ("creator", "13900000002")):
            assert xingtu_cli(side, "add", "--name", side, "--phone", phone, env=env).returncode == 0
        orders = []
        for n in range(4):
            done = xingtu_cli("--json", "order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 1000 + n,
                              "--title", f"新品{n}", env=env)  # fmt: skip
            assert done.returncode == 0, done.stderr
            orders.append(json.loads(done.stdout)["id"])
        cancelled = xingtu_cli("--json", "cancel", "request", orders[0], "--client", 1, "--reason", "预算调整", env=env)
        assert cancelled.returncode == 0, cancelled.stderr

        def notes():
            with db() as session:
                return list(session.scalars(select(Notification)))

        deadline_met = _wait(lambda: len(notes()) == 6 and all(n.status is NotificationStatus.SENT for n in notes()))
        assert deadline_met, [(n.idempotency_key, n.status, n.attempts, n.last_error) for n in notes()]
        accepted = Counter(call.query["OutId"] for call in gateway.accepted)
        assert accepted == {n.idempotency_key: 1 for n in notes()}, "each notification accepted exactly once"
        assert all(call.signature_ok for call in gateway.received)
        templates_used = {call.query["TemplateCode"] for call in gateway.accepted}
        assert templates_used == {"SMS_900000001", "SMS_900000007"}  # order_published, order_cancelled
        assert "QuerySendDetails" in [call.action for call in gateway.received]  # the late answer was looked up
    finally:
        gateway.close()


def _wait(predicate, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()
