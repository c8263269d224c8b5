"""The providers' delivery receipts (状态报告) as they push them, read into one shape.

- Aliyun (SmsReport, help.aliyun.com document_detail 101867): a JSON array of ``{phone_number,
  send_time, report_time, success, err_code, err_msg, sms_size, biz_id, out_id}``; ``err_code`` is
  ``DELIVERED`` on success; times are Asia/Shanghai ``yyyy-MM-dd HH:mm:ss``. Answered ``{"code": 0}``.
- Tencent Cloud (短信下发状态回调, cloud.tencent.com/document/product/382/43547): a JSON array of
  ``{user_receive_time, nationcode, mobile, report_status, errmsg, description, sid}``;
  ``report_status`` is ``SUCCESS`` or ``FAIL``, ``sid`` the send's ``SerialNo``. Answered ``{"result": 0,
  "errmsg": "OK"}``.

A body is read whole or refused whole: one malformed receipt makes ``BadReceipt`` naming it and its
field, and none of the body is applied, so the provider's retry of a fixed body is not half-applied.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from worker.formats.display import SHANGHAI

PUSHED_TIME = "%Y-%m-%d %H:%M:%S"  # both providers' format, in Asia/Shanghai
ANSWERS = {"aliyun": {"code": 0}, "tencent": {"result": 0, "errmsg": "OK"}}  # what each provider expects back


class BadReceipt(ValueError):
    """A body that is not a receipt push of the provider's format; the message names what is wrong."""


@dataclass(frozen=True)
class Receipt:
    provider: str
    message_id: str  # Aliyun's BizId, Tencent's sid (SerialNo)
    out_id: str | None  # Aliyun's OutId: the notification's idempotency key
    delivered: bool
    error: str | None  # the provider's code and words when not delivered
    reported_at: datetime  # aware UTC


def parse(provider: str, body: bytes) -> list[Receipt]:
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadReceipt("the body is not JSON") from None
    if isinstance(items, dict):  # a single receipt, not in an array: taken as an array of one
        items = [items]
    if not isinstance(items, list):
        raise BadReceipt("the body must be a JSON array of receipts")
    read = READERS[provider]
    receipts = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadReceipt(f"receipt {index} is not a JSON object")
        try:
            receipts.append(read(_Fields(item)))
        except BadReceipt as exc:
            raise BadReceipt(f"receipt {index}: {exc}") from None
    return receipts


class _Fields:
    def __init__(self, item: dict[str, Any]):
        self.item = item

    def text(self, name: str, *, required: bool = True, limit: int | None = 200) -> str | None:
        value = self.item.get(name)
        if value is None or value == "":
            if required:
                raise BadReceipt(f"{name} is missing")
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise BadReceipt(f"{name} must be a string")
        value = str(value)
        if limit is not None and len(value) > limit:
            raise BadReceipt(f"{name} is longer than {limit} characters")
        return value

    def error(self, *names: str) -> str:
        """The provider's code and words, from whichever of the fields it filled in, clipped to what
        ``receipt_error`` keeps: long words are no reason to refuse the push (and the rest of it with them)."""
        parts = (self.text(name, required=False, limit=None) for name in names)
        return ": ".join(part for part in parts if part)[:300] or "no reason given"

    def instant(self, name: str) -> datetime:
        text = self.text(name)
        try:
            local = datetime.strptime(text, PUSHED_TIME)
        except ValueError:
            raise BadReceipt(f"{name} {text!r} is not a time like 2026-12-02 18:00:00") from None
        return local.replace(tzinfo=SHANGHAI).astimezone(timezone.utc)


def _aliyun(fields: _Fields) -> Receipt:
    success = fields.item.get("success")
    if not isinstance(success, bool):
        raise BadReceipt("success must be true or false")
    return Receipt(
        provider="aliyun",
        message_id=fields.text("biz_id"),
        out_id=fields.text("out_id", required=False, limit=120),
        delivered=success,
        error=None if success else fields.error("err_code", "err_msg"),
        reported_at=fields.instant("report_time"),
    )


def _tencent(fields: _Fields) -> Receipt:
    status = fields.text("report_status")
    if status not in ("SUCCESS", "FAIL"):
        raise BadReceipt(f"report_status {status!r} is neither SUCCESS nor FAIL")
    delivered = status == "SUCCESS"
    return Receipt(
        provider="tencent",
        message_id=fields.text("sid"),
        out_id=None,  # Tencent echoes no SessionContext in its callbacks
        delivered=delivered,
        error=None if delivered else fields.error("errmsg", "description"),
        reported_at=fields.instant("user_receive_time"),
    )


READERS: dict[str, Callable[[_Fields], Receipt]] = {"aliyun": _aliyun, "tencent": _tencent}
