"""SMS senders: one small protocol, the built-ins (console, webhook here; Aliyun and Tencent Cloud in
modules of their own), and loading a third-party one by name.

A sender's ``send`` returns the provider's message id, or raises ``TransientSendError`` (try again
later: timeouts, 408, 429, 5xx), ``ThrottledSendError`` (the provider limits sending: a wait that spends
no attempt) or ``PermanentSendError`` (never going to work: other 4xx, a bad number). Every call
carries the notification's idempotency key, the same on every retry, so a provider
that deduplicates turns a redelivery into a no-op.
"""

import hashlib
import hmac
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib import import_module
from importlib.metadata import entry_points
from time import monotonic
from typing import Any, Protocol, TextIO

import httpx

from worker.errors import SettingsError
from worker.formats.phones import mask
from worker.settings import Settings

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "xingtu.sms_senders"
SENT = "OK"  # the code of a send the sender took, whichever provider (``xingtu_sends_total``)


@dataclass(frozen=True)
class Sms:
    id: str  # the idempotency key
    to: str  # E.164
    kind: str
    text: str
    params: dict[str, Any]
    order_id: int | None
    created_at: datetime | None = None  # when the notification was written: no try of it is older
    # Whether a try came before (an attempt, a failure, a revive): its outcome may be unknown (a timeout,
    # a dropped connection, a worker that died mid-send), so a provider that does not deduplicate is
    # asked about it first.
    retry: bool = False
    # ``time.monotonic()`` by which the send must be over: its lease's end. A sender making several calls
    # (a look-up, then the send) starts none that its timeout would carry past it, or the row could be
    # claimed again and sent twice.
    deadline: float | None = None


# What the webhook posts (the README's contract).
WEBHOOK_KEYS = ("id", "to", "kind", "text", "params", "order_id")  # the rest is for providers' senders


class SendError(Exception):
    """``code`` is what the provider answered (Aliyun's ``isv.MOBILE_NUMBER_ILLEGAL``, Tencent's
    ``FailedOperation.TemplateIncorrectOrUnapproved``, a webhook's ``HTTP 503``) when it answered at all:
    the ``code`` label of ``xingtu_sends_total``. Without one the error's kind stands for it."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code or self.kind

    kind = "error"


class TransientSendError(SendError):
    """Worth retrying later."""

    kind = "transient"


class PermanentSendError(SendError):
    """Retrying will not help; the notification ends dead."""

    kind = "permanent"


class ThrottledSendError(TransientSendError):
    """The provider is limiting sends to this number or account: a wait, never a failure, so it spends
    no attempt. ``lifts(now)`` says when the limit is over (a provider's day rolling over), or None for
    the usual backoff; the outbox asks it with its own clock."""

    kind = "throttled"

    def __init__(
        self, message: str, lifts: Callable[[datetime], datetime | None] | None = None, code: str | None = None
    ):
        super().__init__(message, code)
        self.lifts = lifts or (lambda now: None)


class Sender(Protocol):
    def send(self, sms: Sms) -> str: ...


class ConsoleSender:
    """Prints each message to stderr, phone masked; the default, for development and demos."""

    def __init__(self, settings: Settings | None = None, stream: TextIO | None = None):
        self.stream = stream or sys.stderr  # stdout belongs to the CLI's own output (--json)

    def send(self, sms: Sms) -> str:
        print(f"[sms {sms.id}] to {mask(sms.to)}: {sms.text}", file=self.stream, flush=True)
        return f"console:{sms.id}"


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the exact body bytes, keyed with the secret's UTF-8 bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookSender:
    """POSTs each message as JSON to ``XINGTU_SMS_WEBHOOK_URL``, signed with ``XINGTU_SMS_WEBHOOK_SECRET``."""

    def __init__(self, settings: Settings):
        if not settings.sms_webhook_url:
            raise SettingsError("XINGTU_SMS_SENDER=webhook needs XINGTU_SMS_WEBHOOK_URL")
        self.url = settings.sms_webhook_url
        self.secret = settings.sms_webhook_secret
        self.timeout = settings.sms_webhook_timeout.total_seconds()
        self.client = httpx.Client(timeout=self.timeout, follow_redirects=False)

    def send(self, sms: Sms) -> str:
        shown = {key: value for key, value in asdict(sms).items() if key in WEBHOOK_KEYS}
        body = json.dumps(shown, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": sms.id}
        if self.secret:
            headers["X-Xingtu-Signature"] = signature(body, self.secret)
        deadline = monotonic() + self.timeout
        try:
            with self.client.stream("POST", self.url, content=body, headers=headers) as response:
                content = b"".join(_before(deadline, response.iter_bytes(), self.timeout))
        except httpx.TimeoutException as exc:
            raise TransientSendError(f"webhook timed out: {exc}", "timeout") from None
        except httpx.TransportError as exc:
            raise TransientSendError(f"webhook unreachable: {exc}", "unreachable") from None
        status = response.status_code
        if 200 <= status < 300:
            return _message_id(content) or sms.id
        reason = f"webhook answered {status}: {content[:200].decode(errors='replace')}"
        if status in (408, 429) or status >= 500:
            raise TransientSendError(reason, f"HTTP {status}")
        raise PermanentSendError(reason, f"HTTP {status}")


def _before(deadline: float, chunks: Iterator[bytes], timeout: float) -> Iterator[bytes]:
    """The answer's body, cut off at the deadline: httpx's timeout applies to each read, so a provider
    that trickles bytes would otherwise hold a send (and its lease) open indefinitely."""
    for chunk in chunks:
        if monotonic() > deadline:
            raise TransientSendError(f"webhook took longer than {timeout:g} s to answer", "timeout")
        yield chunk


def _message_id(content: bytes) -> str | None:
    try:
        body = json.loads(content)
    except ValueError:
        return None
    found = (body.get("message_id") or body.get("id")) if isinstance(body, dict) else None
    return str(found) if found else None


def _aliyun(settings: Settings) -> Sender:
    from worker.notify.aliyun import AliyunSender  # the optional extra xingtu-worker[aliyun]

    return AliyunSender(settings)


def _tencent(settings: Settings) -> Sender:
    from worker.notify.tencent import TencentSender  # the optional extra xingtu-worker[tencent]

    return TencentSender(settings)


BUILT_IN = {"console": ConsoleSender, "webhook": WebhookSender, "aliyun": _aliyun, "tencent": _tencent}


def load_sender(settings: Settings) -> Sender:
    """The sender ``XINGTU_SMS_SENDER`` names: a built-in, an entry point in ``xingtu.sms_senders``, or
    ``package.module:Class``. Each is called with the settings and must return an object with ``send``."""
    name = settings.sms_sender
    factory = BUILT_IN.get(name)
    if factory is None:
        found = entry_points(group=ENTRY_POINT_GROUP, name=name)
        try:
            factory = next(iter(found)).load() if found else _import(name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise SettingsError(
                f"XINGTU_SMS_SENDER={name!r} is not a built-in sender ({', '.join(BUILT_IN)}), an entry point in"
                f" {ENTRY_POINT_GROUP}, or an importable package.module:Class ({exc})"
            ) from None
    try:
        sender = factory(settings)
    except SettingsError:
        raise
    except Exception as exc:  # whatever a third-party factory raises, it means this setting does not work
        raise SettingsError(f"XINGTU_SMS_SENDER={name!r} could not be set up: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(sender, "send", None)):
        raise SettingsError(f"XINGTU_SMS_SENDER={name!r} made {sender!r}, which has no send(sms) method")
    return sender


def _import(path: str):
    module, _, attribute = path.partition(":")
    if not module or not attribute:
        raise ValueError("expected package.module:Class")
    return getattr(import_module(module), attribute)
