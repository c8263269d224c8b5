"""Security against the running stack: the worker takes JSON only, and neither the webhook secret
nor a full phone number ever reaches a log."""

import json

from celery import Celery

from models.states import OrderStatus
from tests.stack.test_worker import WAIT, call, notes, parties, publish
from tests.support import REDIS_URL

FULL_PHONES = ("+8613800000001", "+8613900000002", "13800000001", "13900000002")


def test_a_pickled_message_is_refused(start_worker, xingtu_cli, webhook, db, tmp_path):
    worker = start_worker()
    parties(xingtu_cli)
    order = publish(xingtu_cli)
    attacker = Celery(broker=REDIS_URL)
    attacker.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    attacker.send_task("xingtu.accept_order", kwargs={"order_id": order["id"], "creator_id": 1}, serializer="pickle")
    # a JSON call queued after it is answered, so the pickled one has been looked at by then
    assert call("accept_order", order_id=999, creator_id=1)
    log = worker.log.read_text()
    assert "untrusted content of type pickle" in log or "ContentDisallowed" in log, log[-2000:]
    shown = json.loads(xingtu_cli("--json", "order", "show", order["id"]).stdout)
    assert shown["status"] == OrderStatus.PENDING.value


def test_secrets_and_phones_stay_out_of_logs(start_worker, xingtu_cli, webhook, db):
    webhook.respond = lambda body: (503 if webhook.keys().count(body["id"]) == 1 else 400, 0)
    worker = start_worker(xingtu=True)  # what operators run; its log is the one they ship
    parties(xingtu_cli)
    publish(xingtu_cli, env={"XINGTU_ACCEPT_WINDOW": "1"})
    key = "order-1:order_published:creator"
    webhook.wait_for(lambda: notes(db)[key].status.value == "dead", WAIT, "a failure logged twice")
    xingtu_cli("notifications", "retry", notes(db)[key].id)
    console = xingtu_cli("notifications", "dispatch", env={"XINGTU_SMS_SENDER": "console"})
    shown = xingtu_cli("--json", "notifications", "list")
    for output in (worker.log.read_text(), console.stdout + console.stderr, shown.stdout):
        assert webhook.secret not in output
        for phone in FULL_PHONES:
            assert phone not in output, f"{phone} in: {output[-1500:]}"
    assert "+86139****0002" in worker.log.read_text()  # the failures were logged, masked
