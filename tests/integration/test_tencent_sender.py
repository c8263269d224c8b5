"""The Tencent Cloud SMS sender, through the official SDK, against a local gateway on 127.0.0.1 that
checks the TC3-HMAC-SHA256 signature from Tencent's published algorithm (``tests.tencent_gateway``): what
goes on the wire, every class of Tencent's answers, and the outbox waiting out a daily limit."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from models.states import NotificationKind as Kind
from models.states import NotificationStatus
from tests.market import SECOND, T0
from tests.tencent_gateway import SECRET_ID, SECRET_KEY, Answer, TencentGateway
from worker.errors import SettingsError
from worker.notify import templates
from worker.notify.senders import PermanentSendError, Sms, ThrottledSendError, TransientSendError, load_sender
from worker.services import outbox
from worker.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "deploy" / "sms-templates.example.toml"
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def gateway():
    gateway = TencentGateway()
    yield gateway
    gateway.close()


def tencent_settings(gateway: TencentGateway, **changes) -> Settings:
    base = Settings(
        sms_sender="tencent", tencent_secret_id=SECRET_ID, tencent_secret_key=SECRET_KEY,
        tencent_sms_app_id="1400000001", tencent_sign_name="星图", tencent_endpoint=gateway.endpoint,
        sms_templates=EXAMPLE, sms_webhook_timeout=timedelta(seconds=1), send_lease=timedelta(seconds=30),
    )  # fmt: skip
    return replace(base, **changes)


def sms(kind: Kind = Kind.CANCELLATION_REQUESTED, **params) -> Sms:
    return Sms(
        id=f"request-3:{kind}:client", to="+8613800000001", kind=kind.value, text="(not sent)",
        params=templates.sample(kind) | params, order_id=7,
    )  # fmt: skip


def test_a_send_goes_out_as_the_kinds_template_with_positional_variables(gateway):
    serial = load_sender(tencent_settings(gateway)).send(sms(reason="理" * 500))
    (call,) = gateway.received
    assert call.signature_ok and serial == call.serial_no and call.headers["x-tc-action"] == "SendSms"
    assert {k: call.body[k] for k in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId", "SignName", "SessionContext")} == {
        "PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": "1400000001", "TemplateId": "1900003",
        "SignName": "星图", "SessionContext": "request-3:cancellation_requested:client",
    }  # fmt: skip
    assert call.body["TemplateParamSet"] == [
        "客户", "夏季新品推广", "理" * 34 + "…", "5,000.25", "5,000.25", "2026-12-04 12:00", "自动同意取消",
    ]  # fmt: skip


def test_a_wrong_secret_fails_the_gateways_signature_check(gateway):
    with pytest.raises(PermanentSendError, match="AuthFailure.SignatureFailure"):
        load_sender(tencent_settings(gateway, tencent_secret_key="not-the-key")).send(sms())
    assert [call.signature_ok for call in gateway.received] == [False]


OUTCOMES = [
    (Answer(code="LimitExceeded.PhoneNumberThirtySecondLimit"), ThrottledSendError),
    (Answer(code="LimitExceeded.PhoneNumberDailyLimit"), ThrottledSendError),
    (Answer(code="LimitExceeded.DeliveryFrequencyLimit"), ThrottledSendError),
    (Answer(code="LimitExceeded.AppDailyLimit"), ThrottledSendError),
    (Answer(code="LimitExceeded.AppCountryOrRegionInBlacklist"), PermanentSendError),
    (Answer(code="LimitExceeded.PhoneNumberCountLimit"), PermanentSendError),
    (Answer(error="RequestLimitExceeded"), ThrottledSendError),
    (Answer(code="InternalError.Timeout"), TransientSendError),
    (Answer(error="InternalError.SendAndRecvFail"), TransientSendError),
    (Answer(code="FailedOperation.TemplateIncorrectOrUnapproved"), PermanentSendError),
    (Answer(code="FailedOperation.PhoneNumberInBlacklist"), PermanentSendError),
    (Answer(code="InvalidParameterValue.IncorrectPhoneNumber"), PermanentSendError),
    (Answer(error="FailedOperation.SignatureIncorrectOrUnapproved"), PermanentSendError),
    (Answer(error="AuthFailure.SecretIdNotFound"), PermanentSendError),
    (Answer(status=502), TransientSendError),
]


@pytest.mark.parametrize(
    "answer, raised", OUTCOMES, ids=[a.error or a.code if a.status == 200 else str(a.status) for a, _ in OUTCOMES]
)
def test_each_answer_of_tencent_is_an_outcome(gateway, answer, raised):
    gateway.respond = lambda call: answer
    with pytest.raises(raised) as caught:
        load_sender(tencent_settings(gateway)).send(sms())
    assert type(caught.value) is raised
    assert (
        (answer.error or answer.code) in str(caught.value)
        if answer.status == 200
        else "ServerNetworkError" in str(caught.value)
    )
    assert caught.value.code == (answer.error or answer.code if answer.status == 200 else "ServerNetworkError")
    assert len(gateway.received) == 1, "one attempt per send: retrying is the outbox's decision"


def test_a_timeout_is_transient(gateway):
    gateway.respond = lambda call: Answer(delay=1.8)
    with pytest.raises(TransientSendError, match="ClientNetworkError"):
        load_sender(tencent_settings(gateway)).send(sms())


@pytest.mark.parametrize(
    "changes, names",
    [
        ({"tencent_secret_id": ""}, "XINGTU_TENCENT_SECRET_ID is not set"),
        ({"tencent_secret_key": ""}, "XINGTU_TENCENT_SECRET_KEY is not set"),
        ({"tencent_sms_app_id": ""}, "XINGTU_TENCENT_SMS_APP_ID is not set"),
        ({"tencent_sign_name": ""}, "XINGTU_TENCENT_SIGN_NAME is not set"),
        ({"sms_templates": None}, "XINGTU_SMS_TEMPLATES is not set"),
        ({"tencent_endpoint": "https://sms.tencentcloudapi.com/v2"}, "XINGTU_TENCENT_ENDPOINT="),
    ],
)
def test_a_missing_or_malformed_setting_stops_start_up_naming_it(gateway, changes, names):
    with pytest.raises(SettingsError, match=names) as caught:
        load_sender(tencent_settings(gateway, **changes))
    assert SECRET_KEY not in str(caught.value) and SECRET_KEY not in repr(tencent_settings(gateway))


def test_the_outbox_waits_out_a_daily_limit_until_tencents_midnight(market, gateway):
    answers = iter([Answer(code="LimitExceeded.PhoneNumberDailyLimit")])
    gateway.respond = lambda call: next(answers, Answer())
    settings = tencent_settings(gateway, send_max_attempts=1, database_url=market.settings.database_url)
    sender = load_sender(settings)
    market.publish(now=T0)
    evening, midnight = datetime(2026, 11, 27, 22, 30, tzinfo=SHANGHAI), datetime(2026, 11, 28, tzinfo=SHANGHAI)

    def deliver(at):
        return outbox.deliver(market.sessions, sender, settings, clock=lambda: at)

    assert deliver(evening).throttled == 1
    (note,) = market.notifications()
    assert (note.status, note.attempts, note.due_at) == (NotificationStatus.PENDING, 0, midnight)
    assert deliver(midnight - SECOND).claimed == 0
    assert deliver(midnight).sent == 1
    (note,) = market.notifications()
    assert (note.status, note.provider_message_id) == (NotificationStatus.SENT, gateway.received[-1].serial_no)
    assert [call.body["SessionContext"] for call in gateway.received] == [note.idempotency_key] * 2
