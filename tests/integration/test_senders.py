"""The built-in senders and how a sender is chosen; the webhook against a real HTTP server."""

import hashlib
import hmac
import io
import json
import socket
import sys
import threading
import time
from datetime import timedelta

import pytest

from tests.webhook import Webhook
from worker.errors import SettingsError
from worker.notify.senders import (
    ConsoleSender,
    PermanentSendError,
    Sms,
    TransientSendError,
    WebhookSender,
    load_sender,
    signature,
)  # fmt: skip
from worker.settings import Settings

SMS = Sms(id="order-7:order_cancelled:client", to="+8613812341234", kind="order_cancelled",
          text="【星图】您的任务《夏季》已成功取消。", params={"title": "夏季", "client_refund_fen": 100}, order_id=7)  # fmt: skip


@pytest.fixture
def webhook():
    with Webhook() as hook:
        yield hook


def sender_for(url: str, secret: str = "test-secret", timeout: float = 1) -> WebhookSender:
    return WebhookSender(
        Settings(sms_sender="webhook", sms_webhook_url=url, sms_webhook_secret=secret,
                 sms_webhook_timeout=timedelta(seconds=timeout))
    )  # fmt: skip


def test_webhook_posts_signed_json_with_the_idempotency_key(webhook):
    assert sender_for(webhook.url).send(SMS) == f"prov-{SMS.id}"
    (got,) = webhook.received
    assert got.key == SMS.id and got.signature_ok
    assert got.body == {"id": SMS.id, "to": "+8613812341234", "kind": "order_cancelled", "text": SMS.text,
                        "params": {"title": "夏季", "client_refund_fen": 100}, "order_id": 7}  # fmt: skip
    assert got.headers["Content-Type"] == "application/json"


def test_the_signature_covers_the_exact_body():
    body = json.dumps({"a": "星"}, ensure_ascii=False).encode()
    assert signature(body, "k") == signature(body, "k")
    assert signature(body + b" ", "k") != signature(body, "k") and signature(body, "other") != signature(body, "k")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_answers_are_transient(webhook, status):
    webhook.respond = lambda body: (status, 0)
    with pytest.raises(TransientSendError, match=f"webhook answered {status}") as caught:
        sender_for(webhook.url).send(SMS)
    assert caught.value.code == f"HTTP {status}"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_permanent(webhook, status):
    webhook.respond = lambda body: (status, 0)
    with pytest.raises(PermanentSendError, match=f"webhook answered {status}") as caught:
        sender_for(webhook.url).send(SMS)
    assert caught.value.code == f"HTTP {status}"


def test_a_slow_provider_is_a_transient_timeout(webhook):
    webhook.respond = lambda body: (200, 1.5)
    with pytest.raises(TransientSendError, match="timed out"):
        sender_for(webhook.url, timeout=0.5).send(SMS)


def test_an_unreachable_provider_is_transient():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientSendError, match="unreachable"):
        sender_for(f"http://127.0.0.1:{port}/sms").send(SMS)


def test_console_masks_the_phone():
    out = io.StringIO()
    assert ConsoleSender(stream=out).send(SMS) == f"console:{SMS.id}"
    assert "+86138****1234" in out.getvalue() and "+8613812341234" not in out.getvalue()


def test_built_in_senders_by_name(webhook):
    assert isinstance(load_sender(Settings()), ConsoleSender)
    assert isinstance(load_sender(Settings(sms_sender="webhook", sms_webhook_url=webhook.url)), WebhookSender)
    with pytest.raises(SettingsError, match="needs XINGTU_SMS_WEBHOOK_URL"):
        load_sender(Settings(sms_sender="webhook"))


PLUGIN = """
class Sender:
    def __init__(self, settings):
        self.settings = settings

    def send(self, sms):
        return "plugin:" + sms.id
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A third-party sender installed the way pip would: a module plus a dist-info with an entry point."""
    (tmp_path / "acme_sms.py").write_text(PLUGIN)
    info = tmp_path / "acme_sms-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-sms\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[xingtu.sms_senders]\nacme = acme_sms:Sender\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("acme_sms", None)


def test_a_third_party_sender_by_entry_point_or_path(plugin):
    for name in ("acme", "acme_sms:Sender"):
        sender = load_sender(Settings(sms_sender=name))
        assert sender.send(SMS) == f"plugin:{SMS.id}"


@pytest.mark.parametrize(
    "name", ["nope", "no.such.module:Sender", "worker.settings:Missing", "worker.settings:Settings"]
)
def test_an_unusable_sender_is_a_settings_error(name):
    with pytest.raises(SettingsError, match="XINGTU_SMS_SENDER"):
        load_sender(Settings(sms_sender=name))


def test_a_provider_that_trickles_its_answer_is_cut_off_at_the_timeout():
    """httpx's timeout applies to each read; the sender holds the whole answer to one deadline."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def trickle():
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(20):  # a byte every 0.2 s: no single read waits long enough to time out
                time.sleep(0.2)
                try:
                    connection.sendall(b"x")
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    with pytest.raises(TransientSendError, match="longer than 1 s"):
        sender_for(f"http://127.0.0.1:{server.getsockname()[1]}/sms", timeout=1).send(SMS)
    server.close()


def test_the_receiver_can_verify_and_a_tampered_body_fails(webhook):
    """What the README tells a provider to do with X-Xingtu-Signature."""
    sender_for(webhook.url).send(SMS)
    (got,) = webhook.received
    raw = got.raw  # the exact bytes that arrived

    def verifies(body: bytes) -> bool:
        expected = "sha256=" + hmac.new(webhook.secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(got.headers["X-Xingtu-Signature"], expected)

    assert verifies(raw)
    middle = len(raw) // 2
    assert not verifies(raw[:middle] + bytes([raw[middle] ^ 1]) + raw[middle + 1 :])  # one bit flipped
    assert not verifies(raw + b" ")
