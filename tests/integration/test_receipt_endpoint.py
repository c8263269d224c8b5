"""Delivery receipts through the real receipts app on a real uvicorn server on 127.0.0.1, after real
sends through each provider's SDK to the local gateways (``tests.aliyun_gateway``,
``tests.tencent_gateway``): both push formats, duplicates, unknown ids, receipts that beat their send
(held, then applied by the recording or by the scan), and requests that must change nothing."""

import json
import logging
import socket
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from models import HeldReceipt, Notification
from models.states import NotificationStatus as Status
from tests.aliyun_gateway import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunGateway
from tests.market import HOUR, SECOND, T0
from tests.tencent_gateway import SECRET_ID, SECRET_KEY, TencentGateway
from worker.database.unit_of_work import transaction
from worker.notify.senders import load_sender
from worker.runtime.receipt_endpoint import MAX_BODY, make_app, server
from worker.services import outbox, reads, receipts, timers

EXAMPLE = Path(__file__).parents[2] / "deploy" / "sms-templates.example.toml"
TOKEN = "receipts-test-token-0123456789abcdef"
REPORTED = "2026-12-01 20:00:05"  # Asia/Shanghai
REPORTED_UTC = datetime(2026, 12, 1, 12, 0, 5, tzinfo=timezone.utc)


@pytest.fixture
def endpoint(market):
    """The app on a real server in a thread; yields its base URL."""
    listening = socket.create_server(("127.0.0.1", 0))
    running = server(make_app(TOKEN, market.sessions, clock=lambda: T0 + HOUR), log_level="warning")
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    while not running.started:
        thread.join(0.02)
    yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def aliyun(market):
    gateway = AliyunGateway()
    settings = replace(
        market.settings, sms_sender="aliyun", aliyun_access_key_id=ACCESS_KEY_ID,
        aliyun_access_key_secret=ACCESS_KEY_SECRET, aliyun_sign_name="星图", aliyun_endpoint=gateway.endpoint,
        sms_templates=EXAMPLE, sms_webhook_timeout=timedelta(seconds=1), send_lease=timedelta(seconds=30),
    )  # fmt: skip
    yield gateway, settings
    gateway.close()


@pytest.fixture
def tencent(market):
    gateway = TencentGateway()
    settings = replace(
        market.settings, sms_sender="tencent", tencent_secret_id=SECRET_ID, tencent_secret_key=SECRET_KEY,
        tencent_sms_app_id="1400000001", tencent_sign_name="星图", tencent_endpoint=gateway.endpoint,
        sms_templates=EXAMPLE, sms_webhook_timeout=timedelta(seconds=1), send_lease=timedelta(seconds=30),
    )  # fmt: skip
    yield gateway, settings
    gateway.close()


def send(market, settings, at=T0):
    return outbox.deliver(market.sessions, load_sender(settings), settings, clock=lambda: at)


def aliyun_report(call, *, success=True, **changes) -> dict:
    return {
        "phone_number": call.query["PhoneNumbers"], "send_time": REPORTED, "report_time": REPORTED,
        "success": success, "err_code": "DELIVERED" if success else "MK:0012", "err_msg": "成功" if success else "空号",
        "sms_size": "1", "biz_id": call.biz_id, "out_id": call.query["OutId"],
    } | changes  # fmt: skip


def tencent_report(call, *, status="SUCCESS", **changes) -> dict:
    return {
        "user_receive_time": REPORTED, "nationcode": "86", "mobile": "13900000002", "report_status": status,
        "errmsg": "DELIVRD" if status == "SUCCESS" else "MN:0001", "description": "送达" if status == "SUCCESS" else "空号",
        "sid": call.serial_no,
    } | changes  # fmt: skip


def push(endpoint, provider, payload, *, token=TOKEN, **kwargs) -> httpx.Response:
    if payload is not None:
        kwargs["content"] = json.dumps(payload, ensure_ascii=False).encode()
    return httpx.post(f"{endpoint}/receipts/{provider}/{token}", timeout=10, **kwargs)


def state(market):
    with market.sessions() as session:
        notes = [(n.id, n.status, n.receipt_at, n.receipt_error) for n in session.scalars(select(Notification))]
        held = [(h.provider, h.message_id) for h in session.scalars(select(HeldReceipt))]
    return notes, held


def test_an_aliyun_receipt_marks_its_send_delivered(market, endpoint, aliyun):
    gateway, settings = aliyun
    market.publish()
    assert send(market, settings).sent == 1
    answer = push(endpoint, "aliyun", [aliyun_report(gateway.accepted[0])])
    assert (answer.status_code, answer.json()) == (200, {"code": 0})
    (note,) = market.notifications()
    assert (note.status, note.sender, note.receipt_at, note.receipt_error) == (
        Status.DELIVERED,
        "aliyun",
        REPORTED_UTC,
        None,
    )


def test_an_aliyun_failure_marks_it_undelivered_with_the_providers_error(market, endpoint, aliyun):
    gateway, settings = aliyun
    market.publish()
    send(market, settings)
    push(endpoint, "aliyun", [aliyun_report(gateway.accepted[0], success=False)])
    (note,) = market.notifications()
    assert (note.status, note.receipt_error) == (Status.UNDELIVERED, "MK:0012: 空号")


def test_a_tencent_callback_is_matched_by_sid(market, endpoint, tencent):
    gateway, settings = tencent
    market.publish()
    market.publish(title="第二单")
    assert send(market, settings).sent == 2
    first, second = gateway.received
    answer = push(endpoint, "tencent", [tencent_report(first), tencent_report(second, status="FAIL")])
    assert (answer.status_code, answer.json()) == (200, {"result": 0, "errmsg": "OK"})
    assert [(n.status, n.receipt_error) for n in market.notifications()] == [
        (Status.DELIVERED, None), (Status.UNDELIVERED, "MN:0001: 空号")
    ]  # fmt: skip


def test_a_receipt_pushed_again_or_contradicted_later_changes_nothing(market, endpoint, aliyun):
    gateway, settings = aliyun
    market.publish()
    send(market, settings)
    push(endpoint, "aliyun", [aliyun_report(gateway.accepted[0])])
    before = state(market)
    assert push(endpoint, "aliyun", [aliyun_report(gateway.accepted[0])]).status_code == 200
    later = aliyun_report(gateway.accepted[0], success=False, report_time="2026-12-01 21:00:00")
    assert push(endpoint, "aliyun", [later]).status_code == 200
    assert state(market) == before and before[1] == []


def test_an_unknown_receipt_is_answered_held_counted_and_logged(market, endpoint, aliyun, caplog):
    gateway, settings = aliyun
    market.publish()
    send(market, settings)
    before = state(market)[0]
    with caplog.at_level(logging.WARNING, logger="worker.services.receipts"):
        stranger = aliyun_report(gateway.accepted[0], biz_id="1^0", out_id="nobody")
        assert push(endpoint, "aliyun", [stranger]).status_code == 200
    assert state(market) == (before, [("aliyun", "1^0")])
    assert "matches no notification" in caplog.text
    with market.sessions() as session:
        report = reads.status(session, T0 + HOUR)
    assert (report["held_receipts"], report["unknown_receipts"]) == (1, 1)


def test_a_receipt_before_its_send_is_recorded_is_applied_when_it_is(market, endpoint, aliyun):
    """Aliyun's push can beat the worker's commit: the receipt waits, and the recording applies it."""
    gateway, settings = aliyun
    gateway.on_accept = lambda call: pushes.append(push(endpoint, "aliyun", [aliyun_report(call)]).status_code)
    pushes = []
    market.publish()
    assert send(market, settings).sent == 1
    assert pushes == [200]
    (note,) = market.notifications()
    assert (note.status, note.receipt_at) == (Status.DELIVERED, REPORTED_UTC)
    assert state(market)[1] == []


def test_a_held_receipt_the_recording_missed_is_applied_by_the_scan(market, endpoint, tencent):
    """Tencent's receipts name the SerialNo only, learnt when the send is recorded; should a receipt be
    held as the send is recorded, the next scan applies it."""
    gateway, settings = tencent
    market.publish()
    send(market, settings)
    (note,) = market.notifications()
    with transaction(market.sessions) as session:
        session.add(HeldReceipt(provider="tencent", message_id=note.provider_message_id, delivered=True,
                                reported_at=REPORTED_UTC, received_at=T0))  # fmt: skip
        session.add(HeldReceipt(provider="tencent", message_id="old", delivered=True, reported_at=T0, received_at=T0))
        session.add(HeldReceipt(provider="tencent", message_id="young", delivered=True, reported_at=T0,
                                received_at=T0 + SECOND))  # fmt: skip
    forget_at = T0 + receipts.HELD_FOR + SECOND  # "old" held longer than HELD_FOR, "young" exactly that
    with transaction(market.sessions) as session:
        result = timers.scan_batch(
            session,
            forget_at,
            market.settings.cancel_timeout_policy,
            100,
            key_window=market.settings.idempotency_window,
        )
    assert (result.receipts_applied, result.receipts_forgotten) == (1, 1)
    published = market.notifications()[0]  # the scan also expired the order, writing more
    assert published.status is Status.DELIVERED and state(market)[1] == [("tencent", "young")]


@pytest.mark.parametrize(
    "path, content, status, says",
    [
        (f"aliyun/{TOKEN}x", b"[]", 404, None),
        (f"aliyun/{TOKEN[:-1]}X", b"[]", 404, None),
        ("aliyun/", b"[]", 404, None),
        (f"mobile/{TOKEN}", b"[]", 404, None),
        (f"aliyun/{TOKEN}", b"\x00garbage", 400, "the body is not JSON"),
        (f"aliyun/{TOKEN}", b'{"hello": "world"}', 400, "receipt 0: success must be true or false"),
        (f"tencent/{TOKEN}", b'[{"sid": "x", "report_status": "SUCCESS", "user_receive_time": "yesterday"}]', 400,
         "receipt 0: user_receive_time 'yesterday' is not a time"),
        (f"aliyun/{TOKEN}", b" " * (MAX_BODY + 1), 400, f"the body is larger than {MAX_BODY} bytes"),
    ],
)  # fmt: skip
def test_a_bad_push_changes_nothing(market, endpoint, aliyun, path, content, status, says):
    gateway, settings = aliyun
    market.publish()
    send(market, settings)
    before = state(market)
    answer = httpx.post(f"{endpoint}/receipts/{path}", content=content, timeout=10)
    assert answer.status_code == status
    if says:
        assert answer.json()["error"].startswith(says)
    assert state(market) == before


def test_one_bad_receipt_refuses_the_whole_push(market, endpoint, aliyun):
    gateway, settings = aliyun
    market.publish()
    send(market, settings)
    before = state(market)
    good = aliyun_report(gateway.accepted[0])
    bad = {key: value for key, value in good.items() if key != "biz_id"}
    answer = push(endpoint, "aliyun", [good, bad])
    assert (answer.status_code, answer.json()) == (400, {"error": "receipt 1: biz_id is missing"})
    assert state(market) == before


def test_a_declared_length_over_the_cap_is_refused_unread(endpoint):
    """Over a raw socket: an HTTP client would not send a body shorter than it declares."""
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"POST /receipts/aliyun/{TOKEN} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {MAX_BODY + 1}\r\n\r\n[]".encode()
        )
        answer = b""
        while b"larger" not in answer and (chunk := connection.recv(65536)):  # the body may come apart
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 400") and f"larger than {MAX_BODY} bytes" in answer


def test_a_get_on_the_receipt_url_is_refused_and_healthz_answers(endpoint):
    assert httpx.get(f"{endpoint}/receipts/aliyun/{TOKEN}", timeout=10).status_code == 405
    answer = httpx.get(f"{endpoint}/healthz", timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_a_send_without_a_receipt_is_unconfirmed_from_an_hour_after_it(market, aliyun, endpoint):
    gateway, settings = aliyun
    market.publish()
    send(market, settings, at=T0)
    (note,) = market.notifications()

    def unconfirmed(at):
        with market.sessions() as session:
            return reads.status(session, at)["unconfirmed_notifications"]

    assert [unconfirmed(note.sent_at + receipts.CONFIRM_WITHIN + d) for d in (timedelta(0), SECOND)] == [0, 1]
    push(endpoint, "aliyun", [aliyun_report(gateway.accepted[0])])
    assert unconfirmed(note.sent_at + receipts.CONFIRM_WITHIN + SECOND) == 0
    with market.sessions() as session:
        assert reads.status(session, T0)["totals"]["notifications_sent"] == 1


def test_a_console_send_is_never_unconfirmed(market):
    market.publish()
    assert outbox.deliver(market.sessions, load_sender(market.settings), market.settings, clock=lambda: T0).sent == 1
    with market.sessions() as session:
        assert reads.status(session, T0 + 30 * HOUR)["unconfirmed_notifications"] == 0
