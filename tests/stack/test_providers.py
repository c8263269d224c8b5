"""A real ``xingtu worker`` sending through the Aliyun SMS sender, over real Redis, to the local Aliyun
gateway (``tests.aliyun_gateway``, signatures checked), and a real ``xingtu receipts serve`` taking the
gateway's delivery receipts: every notification goes out once as its template, including after a
throttle and a send answered too late (looked up, not sent again), and ends ``delivered``, though each
receipt arrives before the worker has recorded its send. Pushed again, or unknown, or badly, receipts
change nothing."""

import json
import subprocess
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from models import Notification
from models.states import NotificationStatus
from tests.aliyun_gateway import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunGateway, Answer
from tests.stack.conftest import BIN
from tests.support import free_port
from worker.formats.display import SHANGHAI

EXAMPLE = Path(__file__).parents[2] / "deploy" / "sms-templates.example.toml"
TOKEN = "stack-test-receipts-token-0123456789"
WAIT = 45  # seconds: a hang guard, not a speed target


@pytest.fixture
def receipts_server(stack_env, receipts_log):
    """``xingtu receipts serve`` in its own process; yields its base URL."""
    port = free_port()
    log = receipts_log
    env = {**stack_env, "XINGTU_RECEIPTS_TOKEN": TOKEN}
    process = subprocess.Popen(
        [str(BIN / "xingtu"), "receipts", "serve", "--port", str(port)], env=env, stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait(lambda: _healthy(base), timeout=20), log.read_text()[-3000:]
        yield base
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert TOKEN not in log.read_text(), "the token never reaches the log"


@pytest.fixture
def receipts_log(tmp_path):
    return tmp_path / "receipts.log"


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def report(call, *, biz_id: str | None = None) -> dict:
    """Aliyun's SmsReport for an accepted send: delivered now."""
    now = datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "phone_number": call.query["PhoneNumbers"], "send_time": now, "report_time": now, "success": True,
        "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1", "biz_id": biz_id or call.biz_id,
        "out_id": call.query["OutId"],
    }  # fmt: skip


def test_a_worker_sends_every_notification_once_through_aliyun_and_each_ends_delivered(
    start_worker, xingtu_cli, db, receipts_server, receipts_log
):
    url = f"{receipts_server}/receipts/aliyun/{TOKEN}"
    gateway = AliyunGateway()
    first = {}  # the first answer to each OutId: a throttle for one, a late answer for another
    pushes = []  # each receipt push's HTTP status

    def respond(call):
        key = call.query["OutId"]
        if key in first:
            return Answer()
        first[key] = Answer(code="isv.BUSINESS_LIMIT_CONTROL") if len(first) == 0 else (
            Answer(delay=2.5) if len(first) == 1 else Answer())  # fmt: skip
        return first[key]

    def push_receipt(call):  # before the gateway answers the send: the receipt beats the worker's commit
        pushes.append(httpx.post(url, json=[report(call)], timeout=10).status_code)

    gateway.respond, gateway.on_accept = respond, push_receipt
    env = {"XINGTU_SMS_SENDER": "aliyun", "XINGTU_ALIYUN_ACCESS_KEY_ID": ACCESS_KEY_ID,
           "XINGTU_ALIYUN_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET, "XINGTU_ALIYUN_SIGN_NAME": "星图",
           "XINGTU_ALIYUN_ENDPOINT": gateway.endpoint, "XINGTU_SMS_TEMPLATES": str(EXAMPLE)}  # fmt: skip
    try:
        start_worker(xingtu=True, env=env)
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
                return list(session.scalars(select(Notification).order_by(Notification.id)))

        def shown():
            return [(n.idempotency_key, n.status, n.attempts, n.last_error) for n in notes()]

        delivered = _wait(lambda: len(notes()) == 6 and all(n.status is NotificationStatus.DELIVERED for n in notes()))
        assert delivered, shown()
        accepted = Counter(call.query["OutId"] for call in gateway.accepted)
        assert accepted == {n.idempotency_key: 1 for n in notes()}, "each notification accepted exactly once"
        assert pushes == [200] * 6
        assert (
            receipts_log.read_text().count("aliyun receipts: 1 early") == 6
        )  # held, applied as each send was recorded
        assert all(call.signature_ok for call in gateway.received)
        templates_used = {call.query["TemplateCode"] for call in gateway.accepted}
        assert templates_used == {"SMS_900000001", "SMS_900000007"}  # order_published, order_cancelled
        assert "QuerySendDetails" in [call.action for call in gateway.received]  # the late answer was looked up

        before = shown(), [n.receipt_at for n in notes()]
        again = httpx.post(url, json=[report(call) for call in gateway.accepted], timeout=10)
        assert (again.status_code, again.json()) == (200, {"code": 0})  # pushed twice: answered, nothing changes
        unknown = httpx.post(url, json=[report(gateway.accepted[0], biz_id="1^0") | {"out_id": "nobody"}], timeout=10)
        assert unknown.status_code == 200
        assert httpx.post(f"{receipts_server}/receipts/aliyun/{TOKEN}x", json=[], timeout=10).status_code == 404
        assert httpx.post(url, content=b"\x00garbage", timeout=10).status_code == 400
        assert (shown(), [n.receipt_at for n in notes()]) == before
        status = json.loads(xingtu_cli("--json", "status", env=env).stdout)
        assert status["notifications"]["delivered"] == 6 and status["totals"]["notifications_sent"] == 6
        assert (status["held_receipts"], status["unknown_receipts"], status["unconfirmed_notifications"]) == (1, 1, 0)
    finally:
        gateway.close()


def _wait(predicate, timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()
