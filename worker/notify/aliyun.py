"""The Aliyun SMS sender (阿里云短信, Dysmsapi 2017-05-25), through the official SDK
(``pip install 'xingtu-worker[aliyun]'``).

Each notification goes out as its kind's approved template (``worker.notify.templates``) under
``XINGTU_ALIYUN_SIGN_NAME``, its variables as a JSON object of strings, the idempotency key as ``OutId``.
Aliyun answers business errors with HTTP 200 and a ``Code``; what the worker does with each:

- ``OK``: sent, ``BizId`` kept as the provider's message id;
- throttling (``isv.BUSINESS_LIMIT_CONTROL``, ``isv.DAY_LIMIT_CONTROL``, ``isv.MONTH_LIMIT_CONTROL``): a
  wait that spends no attempt; a day or month limit is not tried again before Aliyun's day or month
  (Asia/Shanghai) rolls over;
- ``isp.SYSTEM_ERROR``, ``isp.GATEWAY_ERROR``, HTTP 5xx, timeouts and connection failures: transient;
- anything else (number, template, signature, parameter, account errors): permanent, the code kept in
  ``last_error``.

Aliyun does not deduplicate, so a try that follows another (whose outcome may be unknown: a timeout,
a dropped connection, a worker that died mid-send, a notification revived) first asks Aliyun whether a
send with this ``OutId`` was accepted (``QuerySendDetails`` for the number, each Asia/Shanghai day from
today back to the day the notification was written, at most the 30 days Aliyun keeps) and records that
one as sent instead of sending again. A look-up that fails is a transient failure: nothing is sent blind.
Nor is one that runs out of the send's lease (``Sms.deadline``): no call starts that could end past it.

Errors name the exception's class, never its text: the SDK's network errors quote the request URL, which
holds the phone number and the variables.
"""

import json
from datetime import timedelta

from alibabacloud_dysmsapi20170525.client import Client
from alibabacloud_dysmsapi20170525.models import QuerySendDetailsRequest, SendSmsRequest
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException
from alibabacloud_tea_openapi.models import Config
from darabonba.runtime import RuntimeOptions

from worker.clock import utcnow
from worker.formats.display import SHANGHAI
from worker.notify import providers, templates
from worker.notify.senders import PermanentSendError, Sms, ThrottledSendError, TransientSendError
from worker.settings import Settings

DAY_LIMIT, MONTH_LIMIT = "isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"
THROTTLED = {"isv.BUSINESS_LIMIT_CONTROL", DAY_LIMIT, MONTH_LIMIT}
TRANSIENT = {"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR"}
PAGE = 50  # QuerySendDetails' largest page
PAGES = 20  # a day holds fewer sends to one number than this many pages (Aliyun's limits are per day)
KEPT_DAYS = 30  # how far back QuerySendDetails reaches


LIFTS = {DAY_LIMIT: providers.next_day, MONTH_LIMIT: providers.next_month}  # the others: the usual backoff


def phone_number(e164: str) -> str:
    """Aliyun's form of a number: 11 digits for the mainland, the country code and number elsewhere."""
    digits = e164.removeprefix("+")
    return digits.removeprefix("86") if digits.startswith("86") and len(digits) == 13 else digits


class AliyunSender:
    def __init__(self, settings: Settings):
        self.templates = providers.checked(settings, "aliyun", {
            "XINGTU_ALIYUN_ACCESS_KEY_ID": settings.aliyun_access_key_id,
            "XINGTU_ALIYUN_ACCESS_KEY_SECRET": settings.aliyun_access_key_secret,
            "XINGTU_ALIYUN_SIGN_NAME": settings.aliyun_sign_name,
        })  # fmt: skip
        endpoint = providers.endpoint(
            "XINGTU_ALIYUN_ENDPOINT", settings.aliyun_endpoint, "https://dysmsapi.aliyuncs.com"
        )
        self.sign_name = settings.aliyun_sign_name
        self.variable_max = settings.sms_variable_max
        timeout_ms = int(settings.sms_webhook_timeout.total_seconds() * 1000)
        # One attempt per send (no retry options in the Config): a retry is the outbox's decision, with its
        # backoff and attempts limit.
        self.runtime = RuntimeOptions(read_timeout=timeout_ms, connect_timeout=timeout_ms)
        # As the outbox counts a send: no call starts that its timeout could carry past the lease.
        self.call_time = settings.sms_webhook_timeout.total_seconds()
        self.client = Client(
            Config(
                access_key_id=settings.aliyun_access_key_id,
                access_key_secret=settings.aliyun_access_key_secret,
                endpoint=endpoint.netloc,
                protocol=endpoint.scheme,
            )
        )

    def send(self, sms: Sms) -> str:
        template = providers.template(self.templates, sms)
        if sms.retry and self._accepted_before(sms):
            return sms.id  # Aliyun's look-up names no BizId: the key stands for it, as the webhook's does
        request = SendSmsRequest(
            phone_numbers=phone_number(sms.to),
            sign_name=self.sign_name,
            template_code=template.code,
            template_param=json.dumps(templates.variables(template, sms.params, self.variable_max), ensure_ascii=False),
            out_id=sms.id,
        )
        providers.in_time(sms, self.call_time, "SendSms")
        try:
            answer = self.client.send_sms_with_options(request, self.runtime).body
        except ThrottlingException as exc:  # HTTP 429 with a retry-after: the gateway's own flow control
            raise ThrottledSendError(
                f"Aliyun throttled the request ({exc.status_code}): {exc.code}", code=exc.code
            ) from None
        except ServerException as exc:  # HTTP 5xx
            raise TransientSendError(f"Aliyun answered {exc.status_code}: {exc.code}", exc.code) from None
        except ClientException as exc:  # HTTP 4xx: the request itself is wrong (credentials, parameters)
            if str(exc.code).startswith("Throttling"):  # the API's own flow control (Throttling.User, ...)
                raise ThrottledSendError(
                    f"Aliyun throttled the request ({exc.status_code}): {exc.code}", code=exc.code
                ) from None
            raise PermanentSendError(f"Aliyun refused the request ({exc.status_code}): {exc.code}", exc.code) from None
        except Exception as exc:  # a timeout, a refused or dropped connection: the outcome is unknown
            raise TransientSendError(f"Aliyun could not be reached ({type(exc).__name__})", "unreachable") from None
        if answer.code == "OK":
            return answer.biz_id
        error = f"{answer.code}: {answer.message}"
        if answer.code in THROTTLED:
            raise ThrottledSendError(error, lifts=LIFTS.get(answer.code), code=answer.code)
        if answer.code in TRANSIENT:
            raise TransientSendError(error, answer.code)
        raise PermanentSendError(error, answer.code)

    def _accepted_before(self, sms: Sms) -> bool:
        """Whether Aliyun already accepted a send with this notification's ``OutId``."""
        today = utcnow().astimezone(SHANGHAI).date()
        first = (sms.created_at or utcnow()).astimezone(SHANGHAI).date()
        days = [today - timedelta(days=n) for n in range(min((today - first).days, KEPT_DAYS - 1) + 1)]
        for day in days:  # the latest first: a retry mostly follows its try within the hour
            for page in range(1, PAGES + 1):
                request = QuerySendDetailsRequest(
                    phone_number=phone_number(sms.to), send_date=day.strftime("%Y%m%d"), page_size=PAGE,
                    current_page=page,
                )  # fmt: skip
                providers.in_time(sms, self.call_time, "the look-up of an earlier try")
                try:
                    answer = self.client.query_send_details_with_options(request, self.runtime).body
                except Exception as exc:
                    code = getattr(exc, "code", None) or type(exc).__name__
                    raise TransientSendError(
                        f"could not ask Aliyun whether an earlier try was accepted, so nothing was sent ({code})"
                    ) from None
                if answer.code != "OK":
                    raise TransientSendError(
                        f"Aliyun's look-up of an earlier try answered {answer.code}; nothing was sent"
                    )
                found = (answer.sms_send_detail_dtos and answer.sms_send_detail_dtos.sms_send_detail_dto) or []
                if any(detail.out_id == sms.id for detail in found):
                    return True
                if len(found) < PAGE:
                    break
        return False
