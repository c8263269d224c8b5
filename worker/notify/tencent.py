"""The Tencent Cloud SMS sender (腾讯云短信, SMS 2021-01-11), through the official SDK
(``pip install 'xingtu-worker[tencent]'``).

Each notification goes out as its kind's approved template id (``worker.notify.templates``) from
``XINGTU_TENCENT_SMS_APP_ID`` under ``XINGTU_TENCENT_SIGN_NAME``, its variables positional in the
registry's order, the idempotency key as ``SessionContext``. Tencent answers per number in
``SendStatusSet`` and raises ``TencentCloudSDKException`` for a request-level error; what the worker does
with each code:

- ``Ok``: sent, ``SerialNo`` kept as the provider's message id;
- ``LimitExceeded.*`` limits that lift (per 30 s, hour or day, frequency, rate) and
  ``RequestLimitExceeded*``: a wait that spends no attempt; a daily limit is not tried again before
  Tencent's day (Asia/Shanghai) rolls over. Limits that never lift (a country in the blacklist, too many
  numbers) are permanent;
- ``InternalError.*``, HTTP errors (``ServerNetworkError``), timeouts and connection failures
  (``ClientNetworkError``): transient;
- anything else (``FailedOperation.*``, ``InvalidParameterValue.*``, ``AuthFailure.*``...): permanent, the
  code kept in ``last_error``.

Tencent offers no look-up of a send by ``SessionContext``: a try after one whose outcome is unknown (a
timeout after Tencent took the request) is sent again, so such a try can mean a second SMS. The README
says how rare that is and how to bound it.
"""

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111.models import SendSmsRequest
from tencentcloud.sms.v20210111.sms_client import SmsClient

from worker.notify import providers, templates
from worker.notify.senders import PermanentSendError, Sms, ThrottledSendError, TransientSendError
from worker.settings import Settings

# Limits that lift when Tencent's day (Asia/Shanghai) rolls over, and those that lift sooner; the other
# LimitExceeded codes (a country in the app's blacklist, too many numbers in one call) never lift.
DAILY = {
    f"LimitExceeded.{name}" for name in (
        "PhoneNumberDailyLimit", "PhoneNumberSameContentDailyLimit", "AppDailyLimit", "DailyLimit",
        "AppMainlandChinaDailyLimit", "AppGlobalDailyLimit", "AppCountryOrRegionDailyLimit",
    )
}  # fmt: skip
SOONER = {
    f"LimitExceeded.{name}" for name in (
        "PhoneNumberThirtySecondLimit", "PhoneNumberOneHourLimit", "DeliveryFrequencyLimit",
        "GlobalSmsSendingRateLimit",
    )
}  # fmt: skip
TRANSIENT = ("InternalError", "ServerNetworkError", "ClientNetworkError")


def outcome(code: str, message: str) -> Exception:
    """The error a send failing with Tencent's ``code`` raises."""
    error = f"{code}: {message}"
    if code in DAILY:
        return ThrottledSendError(error, lifts=providers.next_day, code=code)
    if code in SOONER or code.startswith("RequestLimitExceeded"):
        return ThrottledSendError(error, code=code)
    if code.startswith(TRANSIENT):
        return TransientSendError(error, code)
    return PermanentSendError(error, code)


class TencentSender:
    def __init__(self, settings: Settings):
        self.templates = providers.checked(settings, "tencent", {
            "XINGTU_TENCENT_SECRET_ID": settings.tencent_secret_id,
            "XINGTU_TENCENT_SECRET_KEY": settings.tencent_secret_key,
            "XINGTU_TENCENT_SMS_APP_ID": settings.tencent_sms_app_id,
            "XINGTU_TENCENT_SIGN_NAME": settings.tencent_sign_name,
            "XINGTU_TENCENT_REGION": settings.tencent_region,
        })  # fmt: skip
        endpoint = providers.endpoint(
            "XINGTU_TENCENT_ENDPOINT", settings.tencent_endpoint, "https://sms.tencentcloudapi.com"
        )
        self.app_id, self.sign_name = settings.tencent_sms_app_id, settings.tencent_sign_name
        self.variable_max = settings.sms_variable_max
        http = HttpProfile(
            protocol=endpoint.scheme, endpoint=endpoint.netloc,
            reqTimeout=max(1, round(settings.sms_webhook_timeout.total_seconds())),
        )  # fmt: skip
        # The SDK retries only when given a retryer: none, since a retry is the outbox's decision.
        self.client = SmsClient(
            Credential(settings.tencent_secret_id, settings.tencent_secret_key),
            settings.tencent_region,
            ClientProfile(httpProfile=http),
        )

    def send(self, sms: Sms) -> str:
        template = providers.template(self.templates, sms)
        request = SendSmsRequest()
        request.PhoneNumberSet = [sms.to]
        request.SmsSdkAppId = self.app_id
        request.SignName = self.sign_name
        request.TemplateId = template.code
        request.TemplateParamSet = list(templates.variables(template, sms.params, self.variable_max).values())
        request.SessionContext = sms.id
        try:
            answer = self.client.SendSms(request)
        except TencentCloudSDKException as exc:
            raise outcome(exc.get_code() or "ClientNetworkError", str(exc.get_message())[:300]) from None
        (status,) = answer.SendStatusSet
        if status.Code == "Ok":
            return status.SerialNo
        raise outcome(status.Code, status.Message)
