"""Every setting, read from the environment in this one module.

``Settings.from_env()`` is called once at start-up (CLI invocation, worker boot) and the result is passed
down; nothing else reads ``os.environ``. A bad value stops start-up with a ``SettingsError`` that names
the variable, what it holds and what would be accepted.
"""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

import phonenumbers

from models.states import TimeoutPolicy
from worker.errors import SettingsError

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """``90``, ``90s``, ``15m``, ``24h``, ``2d`` -> a timedelta; seconds when no unit is given."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("is not a duration: use whole seconds or a number with s, m, h or d (e.g. 24h)")
    value = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if not value and not allow_zero:
        raise ValueError("must be longer than zero")
    return value


def _duration(allow_zero: bool = False) -> Callable[[str], timedelta]:
    return lambda text: parse_duration(text, allow_zero=allow_zero)


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"\s*\d+\s*", text) or not low <= int(text) <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return int(text)

    return parse


def _policy(text: str) -> TimeoutPolicy:
    try:
        return TimeoutPolicy(text.strip())
    except ValueError:
        raise ValueError("must be one of: " + ", ".join(p.value for p in TimeoutPolicy)) from None


def _regions(text: str) -> tuple[str, ...]:
    regions = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    supported = phonenumbers.SUPPORTED_REGIONS
    if not regions or any(region not in supported for region in regions):
        raise ValueError("must be comma-separated ISO 3166 region codes such as CN or CN,HK")
    return regions


def _url(example: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if "://" not in text:
            raise ValueError(f"must be a URL such as {example}")
        return text.strip()

    return parse


def _token(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,200}", text.strip()):
        raise ValueError("must be 16 to 200 letters, digits, - or _ (openssl rand -hex 16 makes one)")
    return text.strip()


def _text(text: str) -> str:
    return text


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip().lower() not in choices:
            raise ValueError("must be one of: " + ", ".join(choices))
        return text.strip().lower()

    return parse


def _setting(env: str, parse: Callable[[str], Any], default: Any, *, secret: bool = False, hidden: bool = False) -> Any:
    """A setting read from ``env``; a secret is left out of the repr, a hidden one out of errors too (a
    malformed URL holds no password yet, a malformed token is still the token)."""
    return field(default=default, repr=not (secret or hidden), metadata={"env": env, "parse": parse, "hidden": hidden})


# Redis gives an unacknowledged message to another worker after its visibility timeout (kombu's default,
# set explicitly in ``worker.runtime.celery_config``): a caller's key must outlive that redelivery.
BROKER_VISIBILITY_TIMEOUT = timedelta(hours=1)


@dataclass(frozen=True)
class Settings:
    """Defaults are SPEC.md's; each field names its environment variable in its metadata."""

    database_url: str = _setting(
        "XINGTU_DATABASE_URL", _url("sqlite:///xingtu.db or postgresql://host/db"), "sqlite:///xingtu.db", secret=True
    )
    accept_window: timedelta = _setting("XINGTU_ACCEPT_WINDOW", _duration(), timedelta(hours=24))
    accept_reminder_lead: timedelta = _setting(
        "XINGTU_ACCEPT_REMINDER_LEAD", _duration(allow_zero=True), timedelta(hours=2)
    )
    cancel_response_window: timedelta = _setting("XINGTU_CANCEL_RESPONSE_WINDOW", _duration(), timedelta(hours=48))
    cancel_timeout_policy: TimeoutPolicy = _setting("XINGTU_CANCEL_TIMEOUT_POLICY", _policy, TimeoutPolicy.AUTO_CONFIRM)
    compensation_percent: int = _setting("XINGTU_COMPENSATION_PERCENT", _int_between(0, 100), 50)
    phone_regions: tuple[str, ...] = _setting("XINGTU_PHONE_REGIONS", _regions, ("CN",))
    # Each batch is one transaction: a commit per 5,000 orders costs little, per 1,000 it is most of the work.
    scan_batch_size: int = _setting("XINGTU_SCAN_BATCH_SIZE", _int_between(1, 100_000), 5000)
    # The worker (Celery over Redis) and the SMS outbox.
    broker_url: str = _setting(
        "XINGTU_BROKER_URL", _url("redis://localhost:6379/0"), "redis://localhost:6379/0", secret=True
    )
    scan_interval: timedelta = _setting("XINGTU_SCAN_INTERVAL", _duration(), timedelta(seconds=60))
    dispatch_interval: timedelta = _setting("XINGTU_DISPATCH_INTERVAL", _duration(), timedelta(seconds=10))
    run_budget: timedelta = _setting("XINGTU_RUN_BUDGET", _duration(), timedelta(seconds=2))
    send_lease: timedelta = _setting("XINGTU_SEND_LEASE", _duration(), timedelta(seconds=60))
    send_batch_size: int = _setting("XINGTU_SEND_BATCH_SIZE", _int_between(1, 10_000), 100)
    send_max_attempts: int = _setting("XINGTU_SEND_MAX_ATTEMPTS", _int_between(1, 100), 8)
    send_backoff: timedelta = _setting("XINGTU_SEND_BACKOFF", _duration(), timedelta(seconds=30))
    sms_sender: str = _setting("XINGTU_SMS_SENDER", str.strip, "console")
    sms_webhook_url: str = _setting("XINGTU_SMS_WEBHOOK_URL", _url("https://sms.example.com/send"), "")
    sms_webhook_secret: str = _setting("XINGTU_SMS_WEBHOOK_SECRET", _text, "", secret=True)
    sms_webhook_timeout: timedelta = _setting("XINGTU_SMS_WEBHOOK_TIMEOUT", _duration(), timedelta(seconds=10))
    aliyun_access_key_id: str = _setting("XINGTU_ALIYUN_ACCESS_KEY_ID", str.strip, "")
    aliyun_access_key_secret: str = _setting("XINGTU_ALIYUN_ACCESS_KEY_SECRET", str.strip, "", secret=True)
    aliyun_sign_name: str = _setting("XINGTU_ALIYUN_SIGN_NAME", str.strip, "")
    aliyun_endpoint: str = _setting(
        "XINGTU_ALIYUN_ENDPOINT", _url("https://dysmsapi.aliyuncs.com"), "https://dysmsapi.aliyuncs.com"
    )
    tencent_secret_id: str = _setting("XINGTU_TENCENT_SECRET_ID", str.strip, "")
    tencent_secret_key: str = _setting("XINGTU_TENCENT_SECRET_KEY", str.strip, "", secret=True)
    tencent_sms_app_id: str = _setting("XINGTU_TENCENT_SMS_APP_ID", str.strip, "")
    tencent_sign_name: str = _setting("XINGTU_TENCENT_SIGN_NAME", str.strip, "")
    tencent_region: str = _setting("XINGTU_TENCENT_REGION", str.strip, "ap-guangzhou")
    tencent_endpoint: str = _setting(
        "XINGTU_TENCENT_ENDPOINT", _url("https://sms.tencentcloudapi.com"), "https://sms.tencentcloudapi.com"
    )
    # The template registry of a provider that takes templates only (``worker.notify.templates``).
    sms_templates: Path | None = _setting("XINGTU_SMS_TEMPLATES", lambda text: Path(text.strip()), None)
    sms_variable_max: int = _setting("XINGTU_SMS_VARIABLE_MAX", _int_between(1, 500), 35)
    metrics_port: int | None = _setting("XINGTU_METRICS_PORT", _int_between(1, 65_535), None)
    # The secret part of the receipts URL (``xingtu receipts serve``): /receipts/{aliyun|tencent}/{token}.
    receipts_token: str = _setting("XINGTU_RECEIPTS_TOKEN", _token, "", hidden=True)
    # How long a caller's idempotency key is remembered (``worker.services.idempotency``).
    idempotency_window: timedelta = _setting("XINGTU_IDEMPOTENCY_WINDOW", _duration(), timedelta(hours=24))
    # How every process logs: text, or one JSON object a line (``worker.runtime.log_lines``, ``.logs``).
    log_format: str = _setting("XINGTU_LOG_FORMAT", _one_of("text", "json"), "text")

    def __post_init__(self) -> None:
        if self.idempotency_window < BROKER_VISIBILITY_TIMEOUT:
            raise SettingsError(
                f"XINGTU_IDEMPOTENCY_WINDOW ({self.idempotency_window}) must be at least {BROKER_VISIBILITY_TIMEOUT}:"
                " the broker redelivers a keyed call whose worker died after up to an hour, and it must still"
                " find its key"
            )
        if self.send_lease <= self.sms_webhook_timeout:
            raise SettingsError(
                f"XINGTU_SEND_LEASE ({self.send_lease}) must be longer than XINGTU_SMS_WEBHOOK_TIMEOUT"
                f" ({self.sms_webhook_timeout}), or a slow send could be taken over and sent twice"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            env = f.metadata["env"]
            raw = environ.get(env)
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as exc:
                shown = "(not shown: a secret)" if f.metadata.get("hidden") else repr(raw)
                raise SettingsError(f"{env}={shown} {exc}") from None
        return cls(**values)
