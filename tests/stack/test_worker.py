"""The worker against the real stack: beat, the task API, the outbox through broker loss, a killed
worker, transient and permanent provider failures."""

import json
import socket
import urllib.request
from collections import Counter
from datetime import datetime
from functools import cache

from sqlalchemy import select

from models import Notification, Order
from models.states import NotificationStatus
from tests.support import REDIS_URL
from worker.runtime.celery_config import JOBS_QUEUE, make_app
from worker.settings import Settings

WAIT = 30  # seconds: a hang guard, not a speed target


@cache
def _caller():
    return make_app(Settings(broker_url=REDIS_URL))


def call(name: str, *args, **kwargs) -> dict:
    """A task of the API by name, as another service calls it: sent through Redis, its answer awaited."""
    return _caller().send_task(f"xingtu.{name}", args=args, kwargs=kwargs).get(timeout=WAIT)


def notes(db) -> dict[str, Notification]:
    with db() as session:
        return {n.idempotency_key: n for n in session.scalars(select(Notification))}


def parties(xingtu_cli) -> None:
    for side, phone in (("client", "13800000001"), ("creator", "13900000002")):
        assert xingtu_cli(side, "add", "--name", side, "--phone", phone).returncode == 0


def publish(xingtu_cli, env=None) -> dict:
    done = xingtu_cli("--json", "order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 10_001,
                      "--title", "夏季新品", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_beat_cancels_an_unaccepted_order_and_both_sides_hear_once(start_worker, xingtu_cli, webhook, db, broker):
    start_worker()
    parties(xingtu_cli)
    order = publish(xingtu_cli, env={"XINGTU_ACCEPT_WINDOW": "2"})
    cancelled = {f"order-{order['id']}:order_cancelled:{side}" for side in ("creator", "client")}
    webhook.wait_for(lambda: cancelled <= set(webhook.keys()), WAIT, "both order_cancelled SMS")
    with db() as session:
        row = session.get(Order, order["id"])
    assert row.cancel_reason.value == "acceptance_timeout"
    lateness = (row.cancelled_at - row.accept_deadline).total_seconds()
    assert 0 <= lateness <= 1 + 2, f"cancelled {lateness} s after the deadline; the scan runs every second"
    webhook.wait_for(lambda: all(n.status is NotificationStatus.SENT for n in notes(db).values()), WAIT, "all sent")
    assert Counter(webhook.keys()) == {key: 1 for key in notes(db)}
    assert all(r.signature_ok for r in webhook.received)
    by_kind = {r.body["kind"]: r.body for r in webhook.received if r.key.endswith(":client")}
    assert by_kind["order_cancelled"]["to"] == "+8613800000001"
    assert "已成功取消" in by_kind["order_cancelled"]["text"]
    assert broker.keys("celery-task-meta-*") == []  # beat's scans and sweeps ran every second and kept no result


def test_a_confirmation_through_the_task_api(start_worker, xingtu_cli, webhook, db):
    start_worker()
    parties(xingtu_cli)
    order = call("publish_order", client_id=1, creator_id=1, title="春季上新", amount_fen=999)
    oid = order["id"]
    assert order["status"] == "pending"
    assert call("accept_order", order_id=oid, creator_id=1)["status"] == "accepted"
    assert call("record_upload", order_id=oid, creator_id=1, video="v1")["upload_count"] == 1
    asked = call("request_cancellation", order_id=oid, client_id=1, reason="预算调整")
    assert asked["cancellation"]["compensation_fen"] == 500
    refused = call("respond_to_cancellation", order_id=oid, client_id=1, answer="confirm")
    assert refused["error"]["code"] == "not_allowed"
    done = call("respond_to_cancellation", order_id=oid, creator_id=1, answer="confirm")
    assert (done["status"], done["creator_payout_fen"], done["client_refund_fen"]) == ("cancelled", 500, 499)
    assert call("withdraw_cancellation", order_id=oid, client_id=1)["error"]["code"] == "invalid_state"
    assert call("accept_order", order_id="x", creator_id=1)["error"]["code"] == "invalid_order_id"
    assert call("complete_order", order_id=oid)["error"]["code"] == "invalid_arguments"
    assert call("accept_order", oid, 1)["error"]["code"] == "invalid_arguments"
    wanted = {f"order-{oid}:order_cancelled:creator", f"order-{oid}:order_cancelled:client"}
    webhook.wait_for(lambda: wanted <= set(webhook.keys()), WAIT, "order_cancelled to both")


def test_flushing_redis_loses_nothing(start_worker, xingtu_cli, webhook, broker, db):
    parties(xingtu_cli)
    orders = [publish(xingtu_cli) for _ in range(5)]  # no worker yet: sweeps queued (coalesced for a second)
    assert broker.llen(JOBS_QUEUE) >= 1
    broker.flushdb()  # Redis keeps nothing on disk: a restart looks like this
    start_worker()
    webhook.wait_for(lambda: len(webhook.keys()) >= 5, WAIT, "five order_published SMS")
    webhook.wait_for(lambda: all(n.status is NotificationStatus.SENT for n in notes(db).values()), WAIT, "all sent")
    assert sorted(webhook.keys()) == sorted(f"order-{o['id']}:order_published:creator" for o in orders)


def test_a_worker_killed_mid_send_leaves_rows_that_go_out_again_with_the_same_key(
    start_worker, xingtu_cli, webhook, broker, db
):
    parties(xingtu_cli)
    for _ in range(3):
        publish(xingtu_cli)
    broker.flushdb()  # only the sweep will find them: one worker process claims all three in one batch
    first = "order-1:order_published:creator"
    webhook.respond = lambda body: (200, 3600 if body["id"] == first and webhook.keys().count(first) == 1 else 0)
    doomed = start_worker(concurrency=1)
    webhook.wait_for(lambda: first in webhook.keys(), WAIT, "the first send to start")
    doomed.kill()
    assert {n.status for n in notes(db).values()} == {NotificationStatus.SENDING}
    start_worker()
    webhook.wait_for(lambda: all(n.status is NotificationStatus.SENT for n in notes(db).values()), WAIT, "all sent")
    assert Counter(webhook.keys()) == {
        first: 2,
        "order-2:order_published:creator": 1,
        "order-3:order_published:creator": 1,
    }
    assert notes(db)[first].attempts == 2


def test_a_transient_failure_then_success(start_worker, xingtu_cli, webhook, db):
    webhook.respond = lambda body: (503 if webhook.keys().count(body["id"]) <= 2 else 200, 0)
    start_worker()
    parties(xingtu_cli)
    publish(xingtu_cli)
    key = "order-1:order_published:creator"
    webhook.wait_for(lambda: notes(db)[key].status is NotificationStatus.SENT, WAIT, "the SMS to get through")
    note = notes(db)[key]
    assert note.attempts == 3 and "503" in note.last_error and webhook.keys().count(key) == 3


def test_a_permanent_failure_ends_dead_and_retry_revives_it(start_worker, xingtu_cli, webhook, db):
    webhook.respond = lambda body: (400 if webhook.keys().count(body["id"]) == 1 else 200, 0)
    start_worker()
    parties(xingtu_cli)
    publish(xingtu_cli)
    key = "order-1:order_published:creator"
    webhook.wait_for(lambda: notes(db)[key].status is NotificationStatus.DEAD, WAIT, "the SMS to end dead")
    assert notes(db)[key].attempts == 1 and webhook.keys().count(key) == 1
    revived = xingtu_cli("--json", "notifications", "retry", notes(db)[key].id)
    assert revived.returncode == 0 and json.loads(revived.stdout)["status"] == "pending"
    webhook.wait_for(lambda: notes(db)[key].status is NotificationStatus.SENT, WAIT, "the retried SMS")


def test_writers_do_not_wait_for_a_broker_that_never_answers(start_worker, xingtu_cli, webhook, db):
    parties(xingtu_cli)
    with socket.socket() as blackhole:  # accepts connections, never answers
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(16)
        dead_broker = f"redis://127.0.0.1:{blackhole.getsockname()[1]}/0"
        started = datetime.now()
        published = xingtu_cli("--json", "order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 5,
                               "--title", "t", env={"XINGTU_BROKER_URL": dead_broker})  # fmt: skip
        took = (datetime.now() - started).total_seconds()
    assert published.returncode == 0 and "the outbox sweep will send them" in published.stderr
    assert took < 10, f"publish took {took} s with the broker silent"
    start_worker()
    webhook.wait_for(lambda: "order-1:order_published:creator" in webhook.keys(), WAIT, "the sweep to send it")


def test_xingtu_worker_is_back_at_work_after_sigkill(start_worker, xingtu_cli, webhook, db):
    parties(xingtu_cli)
    first = start_worker(xingtu=True)
    publish(xingtu_cli)
    webhook.wait_for(lambda: "order-1:order_published:creator" in webhook.keys(), WAIT, "the first worker to send")
    first.kill()
    start_worker(xingtu=True)
    publish(xingtu_cli, env={"XINGTU_ACCEPT_WINDOW": "2"})
    wanted = {"order-2:order_cancelled:creator", "order-2:order_cancelled:client"}
    webhook.wait_for(lambda: wanted <= set(webhook.keys()), 1 + 4 + 2 + 5, "the restarted worker to cancel order 2")


def test_the_worker_serves_metrics(start_worker, xingtu_cli, webhook, db):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start_worker(env={"XINGTU_METRICS_PORT": str(port)})
    parties(xingtu_cli)
    publish(xingtu_cli)
    webhook.wait_for(
        lambda: notes(db)["order-1:order_published:creator"].status is NotificationStatus.SENT, WAIT, "sent"
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert 'xingtu_orders{status="pending"} 1.0' in metrics
    assert 'xingtu_notifications{status="sent"} 1.0' in metrics
    assert "xingtu_notifications_sent_total 1.0" in metrics and "xingtu_overdue_pending_orders 0.0" in metrics


def test_violations_through_the_task_api(start_worker, xingtu_cli, webhook, db):
    start_worker()
    parties(xingtu_cli)
    first = call("record_violation", creator_id=1, evidence="私下接广告")
    assert (first["violation_number"], first["sanction"]) == (1, "post_takedown")
    second = call("record_violation", creator_id=1, evidence="又一次")
    assert second["sanction"] == "suspended_7d" and second["suspended_until"] is not None
    refused = call("publish_order", client_id=1, creator_id=1, title="t", amount_fen=100)
    assert refused["error"]["code"] == "creator_sanctioned"
    assert call("record_violation", creator_id=1, evidence="")["error"]["code"] == "invalid_evidence"
    webhook.wait_for(lambda: sum(k.endswith(":sanction_applied:creator") for k in webhook.keys()) == 2, WAIT,
                     "both sanction_applied SMS")  # fmt: skip


def test_accounts_and_an_mcn_through_the_task_api(start_worker, xingtu_cli, webhook, db):
    """Closing and reopening through the task API, and an MCN accepting and cancelling for its creator:
    the answers are the CLI's JSON, and the MCN hears what its creator hears."""
    start_worker()
    parties(xingtu_cli)
    assert xingtu_cli("mcn", "add", "--name", "无忧传媒", "--phone", "13700000003").returncode == 0
    assert xingtu_cli("mcn", "sign", 1, "--creator", 1).returncode == 0
    order = call("publish_order", client_id=1, creator_id=1, title="春季上新", amount_fen=999)
    oid = order["id"]
    assert call("accept_order", order_id=oid, mcn_id=1)["status"] == "accepted"
    refused = call("close_account", creator_id=1, reason="转行")
    assert refused["error"]["code"] == "open_orders" and str(oid) in refused["error"]["message"]
    asked = call("request_cancellation", order_id=oid, mcn_id=1, reason="达人档期冲突")
    assert asked["cancellation"]["initiator"] == "creator"
    done = call("respond_to_cancellation", order_id=oid, client_id=1, answer="confirm")
    assert (done["status"], done["cancel_reason"], done["client_refund_fen"]) == ("cancelled", "creator_cancelled", 999)
    closed = call("close_account", creator_id=1, reason="转行")
    assert (closed["status"], closed["record"]["cancelled_by_creator"], closed["mcn_id"]) == ("closed", 1, 1)
    assert call("publish_order", client_id=1, creator_id=1, title="t", amount_fen=100)["error"]["code"] == (
        "creator_closed"
    )
    assert call("reopen_account", creator_id=1)["status"] == "active"
    assert call("close_account", client_id=1, reason="品牌停止投放")["closed_at"] is not None
    assert call("reopen_account", client_id=1, mcn_id=1)["error"]["code"] == "invalid_arguments"
    wanted = {f"order-{oid}:{kind}:{role}" for kind in ("order_published", "order_cancelled")
              for role in ("creator", "mcn")} | {f"request-{asked['cancellation']['id']}:cancellation_requested:client"}  # fmt: skip
    webhook.wait_for(lambda: wanted <= set(webhook.keys()), WAIT, "the order's SMS, MCN copies included")
    webhook.wait_for(lambda: sum(":account_" in k for k in webhook.keys()) == 3, WAIT, "account_closed/reopened")
    with db() as session:
        mcn_rows = session.scalars(select(Notification).where(Notification.recipient_role == "mcn")).all()
    assert {n.phone for n in mcn_rows} == {"+8613700000003"}


def test_a_call_is_not_queued_behind_the_jobs(start_worker, broker):
    """The jobs have a queue of their own and the worker takes from both in turn: a call sent after ten
    queued sweeps is the first or second message the worker takes, not the eleventh."""
    sweeps = [_caller().send_task("xingtu.dispatch") for _ in range(10)]
    pending = _caller().send_task("xingtu.publish_order", kwargs={"client_id": 1, "creator_id": 1, "title": "t",
                                                                   "amount_fen": 100})  # fmt: skip
    assert broker.llen(JOBS_QUEUE) == len(sweeps) and broker.llen("celery") == 1
    worker = start_worker(concurrency=1, loglevel="DEBUG")  # the jobs' lines are DEBUG
    assert pending.get(timeout=WAIT)["error"]["code"] == "not_found"
    taken = [line for line in worker.log.read_text().splitlines() if "] received" in line]
    first = next(i for i, line in enumerate(taken) if pending.id in line)
    assert first <= 1, taken[: first + 1]
