"""What the senders of Chinese SMS providers (``worker.notify.aliyun``, ``worker.notify.tencent``) share:
checking their settings at start-up, keeping their calls within the send's lease, and when a sending
limit lifts.

Aliyun and Tencent Cloud count their daily and monthly limits on the Asia/Shanghai calendar, so a wait
for one ends at the next midnight or the first of the next month there, whatever the worker's own zone.
"""

from datetime import datetime, time, timedelta
from time import monotonic
from urllib.parse import SplitResult, urlsplit

from models.states import NotificationKind
from worker.errors import SettingsError
from worker.formats.display import SHANGHAI
from worker.notify import templates
from worker.notify.senders import PermanentSendError, Sms, TransientSendError
from worker.settings import Settings


def checked(settings: Settings, provider: str, required: dict[str, str]) -> dict[NotificationKind, templates.Template]:
    """Refuse to start without each of ``required`` (variable name: value) or the templates file; the
    provider's template registry."""
    for name, value in required.items():
        if not value:
            raise SettingsError(f"{name} is not set: XINGTU_SMS_SENDER={provider} needs it")
    if settings.sms_templates is None:
        raise SettingsError(f"XINGTU_SMS_TEMPLATES is not set: XINGTU_SMS_SENDER={provider} sends templates only")
    return templates.load(settings.sms_templates, provider)


def template(registry: dict[NotificationKind, templates.Template], sms: Sms) -> templates.Template:
    """The notification's template; a kind disabled in the registry is never sent."""
    found = registry[NotificationKind(sms.kind)]
    if found.disabled:
        raise PermanentSendError(f"{sms.kind} is disabled in XINGTU_SMS_TEMPLATES: not sent")
    return found


def in_time(sms: Sms, timeout: float, call: str) -> None:
    """Refuse to start ``call`` when its timeout could carry it past the send's deadline (the lease's
    end): the try ends as a transient failure, nothing sent, and the next one starts afresh."""
    if sms.deadline is not None and monotonic() + timeout > sms.deadline:
        raise TransientSendError(f"no time left in the send's lease for {call}; nothing was sent")


def endpoint(name: str, url: str, example: str) -> SplitResult:
    """An endpoint setting: a scheme and host (and port), nothing after them."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise SettingsError(f"{name}={url!r} must be a URL such as {example}")
    return parts


def next_day(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(SHANGHAI).date() + timedelta(days=1), time(), SHANGHAI)


def next_month(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=SHANGHAI)
