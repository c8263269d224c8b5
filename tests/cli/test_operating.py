"""The operator's commands: status, sending the outbox by hand, reviving a dead notification."""

from freezegun import freeze_time


def test_status_counts_what_is_overdue(xingtu):
    xingtu("client", "add", "--name", "品牌", "--phone", "13800000001")
    xingtu("creator", "add", "--name", "达人", "--phone", "13900000002")
    with freeze_time("2026-11-27 04:00:00"):
        for _ in range(2):
            xingtu("order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 100, "--title", "t")
    with freeze_time("2026-11-28 04:00:30"):
        report = xingtu("--json", "status").json
        text = xingtu("status").stdout
    assert report["orders"] == {"pending": 2, "accepted": 0, "completed": 0, "cancelled": 0}
    assert (report["overdue_pending_orders"], report["oldest_overdue_pending_seconds"]) == (2, 30.0)
    assert report["notifications"]["pending"] == 2 and report["due_notifications"] == 2
    assert report["oldest_due_notification_seconds"] == 86_430.0
    assert "overdue pending  2 (oldest 30 s)" in text
    with freeze_time("2026-11-28 04:01:00"):
        xingtu("scan")
        after = xingtu("--json", "status").json
    assert after["overdue_pending_orders"] == 0 and after["totals"]["orders_expired"] == 2


def test_dispatch_sends_everything_due_with_the_console_sender(xingtu):
    xingtu("client", "add", "--name", "品牌", "--phone", "13800000001")
    xingtu("creator", "add", "--name", "达人", "--phone", "13900000002")
    xingtu("order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 100, "--title", "夏季")
    sent = xingtu("--json", "notifications", "dispatch")
    assert sent.json == {"sent": 1, "retrying": 0, "dead": 0, "released": 0, "throttled": 0, "codes": {"OK": 1}}
    assert "[sms order-1:order_published:creator] to +86139****0002: 【星图】您收到新任务《夏季》" in sent.stderr
    (note,) = xingtu("--json", "notifications", "list", "--status", "sent").json
    assert note["attempts"] == 1 and note["sent_at"] is not None
    assert xingtu("--json", "notifications", "dispatch").json["sent"] == 0


def test_retry_refuses_what_is_not_dead(xingtu):
    xingtu("client", "add", "--name", "品牌", "--phone", "13800000001")
    xingtu("creator", "add", "--name", "达人", "--phone", "13900000002")
    xingtu("order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 100, "--title", "t")
    refused = xingtu("--json", "notifications", "retry", 1)
    assert refused.code == 1 and refused.json["error"]["code"] == "invalid_state"
    assert xingtu("--json", "notifications", "retry", 99).json["error"]["code"] == "not_found"


def test_the_worker_will_not_start_without_a_broker(xingtu):
    """The runner's broker (port 1) refuses: ``xingtu worker`` says so, and names the setting."""
    result = xingtu("--json", "worker")
    assert result.code == 1 and result.json["error"]["code"] == "broker_unavailable"
    assert "XINGTU_BROKER_URL" in result.json["error"]["message"] and "Traceback" not in result.stderr


def test_the_worker_will_not_start_with_a_sender_missing_a_setting(xingtu):
    """Checked before anything starts, naming the variable and never showing a secret."""
    result = xingtu(
        "--json", "worker", env={"XINGTU_SMS_SENDER": "aliyun", "XINGTU_ALIYUN_ACCESS_KEY_SECRET": "s3cr3t-k3y"}
    )
    assert result.code == 1 and result.json["error"]["code"] == "invalid_setting"
    assert (
        result.json["error"]["message"] == "XINGTU_ALIYUN_ACCESS_KEY_ID is not set: XINGTU_SMS_SENDER=aliyun needs it"
    )
    assert "s3cr3t-k3y" not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_receipts_serve_will_not_start_without_its_token(xingtu):
    result = xingtu("--json", "receipts", "serve", "--port", 1)
    assert result.code == 1 and result.json["error"]["code"] == "invalid_setting"
    assert "XINGTU_RECEIPTS_TOKEN is not set" in result.json["error"]["message"]


def test_receipts_serve_names_a_malformed_token_without_showing_it(xingtu):
    result = xingtu("--json", "receipts", "serve", env={"XINGTU_RECEIPTS_TOKEN": "short/s3cr3t"})
    assert result.code == 1 and result.json["error"]["code"] == "invalid_setting"
    message = result.json["error"]["message"]
    assert message.startswith("XINGTU_RECEIPTS_TOKEN=") and "16 to 200 letters" in message
    assert "s3cr3t" not in message + result.stderr


def test_receipts_serve_says_when_its_port_is_taken(xingtu):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = xingtu("--json", "receipts", "serve", "--port", port, env={"XINGTU_RECEIPTS_TOKEN": "t" * 32})
    assert result.code == 1 and result.json["error"]["message"].startswith(f"cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in result.stderr


def test_status_shows_unconfirmed_sends_and_held_receipts(xingtu):
    text = xingtu("status").stdout
    assert "unconfirmed      0 sent over an hour ago with no delivery receipt (oldest 0 s)" in text
    assert "held receipts    0 (0 matching no notification)" in text
