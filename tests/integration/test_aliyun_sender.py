"""The Aliyun SMS sender, through the official SDK, against a local gateway on 127.0.0.1 that checks the
ACS3-HMAC-SHA256 signature from Aliyun's published algorithm (``tests.aliyun_gateway``): what goes on the
wire, every class of Aliyun's answers, and the outbox waiting out a throttle without spending attempts."""

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from time import monotonic

import pytest

from models.states import NotificationKind as Kind
from models.states import NotificationStatus
from tests.aliyun_gateway import ACCESS_KEY_ID, ACCESS_KEY_SECRET, AliyunGateway, Answer
from tests.market import HOUR, SECOND, T0
from worker.database.unit_of_work import transaction
from worker.errors import SettingsError
from worker.notify import templates
from worker.notify.aliyun import LIFTS, AliyunSender
from worker.notify.senders import PermanentSendError, Sms, ThrottledSendError, TransientSendError, load_sender
from worker.services import outbox
from worker.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "deploy" / "sms-templates.example.toml"
SHANGHAI = timezone(timedelta(hours=8))


@pytest.fixture
def gateway():
    gateway = AliyunGateway()
    yield gateway
    gateway.close()


def aliyun_settings(gateway: AliyunGateway, **changes) -> Settings:
    base = Settings(
        sms_sender="aliyun", aliyun_access_key_id=ACCESS_KEY_ID, aliyun_access_key_secret=ACCESS_KEY_SECRET,
        aliyun_sign_name="星图", aliyun_endpoint=gateway.endpoint, sms_templates=EXAMPLE,
        sms_webhook_timeout=timedelta(seconds=1), send_lease=timedelta(seconds=30),
    )  # fmt: skip
    return replace(base, **changes)


def sms(kind: Kind = Kind.ORDER_CANCELLED, **params) -> Sms:
    return Sms(
        id=f"order-7:{kind}:creator", to="+8613900000002", kind=kind.value, text="(not sent)",
        params=templates.sample(kind) | params, order_id=7,
    )  # fmt: skip


def test_a_send_goes_out_as_the_kinds_template_signed_and_keyed(gateway):
    sender = load_sender(aliyun_settings(gateway))
    biz_id = sender.send(sms(reason="预算调整"))
    (call,) = gateway.received
    assert call.signature_ok and biz_id == call.biz_id
    assert call.headers["x-acs-action"] == "SendSms" and call.headers["x-acs-version"] == "2017-05-25"
    assert {k: call.query[k] for k in ("PhoneNumbers", "SignName", "TemplateCode", "OutId")} == {
        "PhoneNumbers": "13900000002", "SignName": "星图", "TemplateCode": "SMS_900000007",
        "OutId": "order-7:order_cancelled:creator",
    }  # fmt: skip
    assert call.variables == {
        "title": "夏季新品推广", "cause": "客户取消（预算调整）", "creator_payout": "5,000.25", "client_refund": "5,000.25",
    }  # fmt: skip


def test_a_wrong_secret_fails_the_gateways_signature_check(gateway):
    sender = AliyunSender(aliyun_settings(gateway, aliyun_access_key_secret="not-the-secret"))
    with pytest.raises(PermanentSendError, match="SignatureDoesNotMatch"):
        sender.send(sms())
    assert [call.signature_ok for call in gateway.received] == [False]


def test_variables_are_clipped_to_the_limit_so_a_long_reason_never_fails_a_send(gateway):
    AliyunSender(aliyun_settings(gateway)).send(sms(Kind.CANCELLATION_REQUESTED, reason="理" * 500, title="题" * 100))
    variables = gateway.received[0].variables
    assert variables["reason"] == "理" * 34 + "…" and variables["title"] == "题" * 34 + "…"
    assert all(isinstance(value, str) and 1 <= len(value) <= 35 for value in variables.values())


def test_without_the_clipping_the_gateway_refuses_a_long_variable_as_aliyun_does(gateway):
    """The check above can fail: set past Aliyun's limit, the same reason is refused for good."""
    sender = AliyunSender(aliyun_settings(gateway, sms_variable_max=100))
    with pytest.raises(PermanentSendError, match="isv.PARAM_LENGTH_LIMIT"):
        sender.send(sms(Kind.CANCELLATION_REQUESTED, reason="理" * 500))


OUTCOMES = [
    ("isv.BUSINESS_LIMIT_CONTROL", 200, ThrottledSendError),
    ("isv.DAY_LIMIT_CONTROL", 200, ThrottledSendError),
    ("isv.MONTH_LIMIT_CONTROL", 200, ThrottledSendError),
    ("isp.SYSTEM_ERROR", 200, TransientSendError),
    ("isp.GATEWAY_ERROR", 200, TransientSendError),
    ("isv.MOBILE_NUMBER_ILLEGAL", 200, PermanentSendError),
    ("isv.SMS_TEMPLATE_ILLEGAL", 200, PermanentSendError),
    ("isv.SMS_SIGNATURE_ILLEGAL", 200, PermanentSendError),
    ("isv.TEMPLATE_MISSING_PARAMETERS", 200, PermanentSendError),
    ("isv.AMOUNT_NOT_ENOUGH", 200, PermanentSendError),
    ("ServiceUnavailable", 503, TransientSendError),
    ("InternalError", 500, TransientSendError),
    ("Forbidden.RAM", 403, PermanentSendError),
]


@pytest.mark.parametrize("code, status, raised", OUTCOMES, ids=[f"{c[1]} {c[0]}" for c in OUTCOMES])
def test_each_answer_of_aliyun_is_an_outcome(gateway, code, status, raised):
    gateway.respond = lambda call: Answer(status, code)
    with pytest.raises(raised) as caught:
        AliyunSender(aliyun_settings(gateway)).send(sms())
    assert type(caught.value) is raised and code in str(caught.value)
    assert caught.value.code == code, "the code Aliyun answered labels xingtu_sends_total"
    assert len(gateway.received) == 1, "one attempt per send: retrying is the outbox's decision"


def test_a_timeout_is_transient(gateway):
    gateway.respond = lambda call: Answer(delay=1.5)
    with pytest.raises(TransientSendError, match="could not be reached"):
        AliyunSender(aliyun_settings(gateway)).send(sms())


def test_a_disabled_kind_is_not_sent(gateway, tmp_path):
    disabled = tmp_path / "templates.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("[aliyun.acceptance_reminder]")
    end = text.index("\n\n", start)
    disabled.write_text(text[:start] + "[aliyun.acceptance_reminder]\ndisabled = true" + text[end:], encoding="utf-8")
    with pytest.raises(PermanentSendError, match="acceptance_reminder is disabled"):
        AliyunSender(aliyun_settings(gateway, sms_templates=disabled)).send(sms(Kind.ACCEPTANCE_REMINDER))
    assert gateway.received == []


@pytest.mark.parametrize(
    "code, now, lifts",
    [
        ("isv.DAY_LIMIT_CONTROL", datetime(2026, 12, 2, 23, 59, 59, tzinfo=SHANGHAI), datetime(2026, 12, 3, tzinfo=SHANGHAI)),
        ("isv.DAY_LIMIT_CONTROL", datetime(2026, 12, 3, 0, 0, tzinfo=SHANGHAI), datetime(2026, 12, 4, tzinfo=SHANGHAI)),
        ("isv.MONTH_LIMIT_CONTROL", datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc), datetime(2027, 2, 1, tzinfo=SHANGHAI)),
        ("isv.MONTH_LIMIT_CONTROL", datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc), datetime(2027, 1, 1, tzinfo=SHANGHAI)),
        ("isv.BUSINESS_LIMIT_CONTROL", datetime(2026, 12, 2, tzinfo=SHANGHAI), None),
    ],
)  # fmt: skip
def test_a_day_or_month_limit_lifts_when_aliyuns_day_or_month_rolls_over(code, now, lifts):
    """Aliyun counts on the Asia/Shanghai calendar: 2026-12-31 16:00 UTC is already January there."""
    assert (LIFTS[code](now) if code in LIFTS else None) == lifts


@pytest.mark.parametrize(
    "changes, names",
    [
        ({"aliyun_access_key_id": ""}, "XINGTU_ALIYUN_ACCESS_KEY_ID is not set"),
        ({"aliyun_access_key_secret": ""}, "XINGTU_ALIYUN_ACCESS_KEY_SECRET is not set"),
        ({"aliyun_sign_name": ""}, "XINGTU_ALIYUN_SIGN_NAME is not set"),
        ({"sms_templates": None}, "XINGTU_SMS_TEMPLATES is not set"),
        ({"aliyun_endpoint": "http://127.0.0.1:1/some/path"}, "XINGTU_ALIYUN_ENDPOINT="),
    ],
)
def test_a_missing_or_malformed_setting_stops_start_up_naming_it(gateway, changes, names):
    with pytest.raises(SettingsError, match=names) as caught:
        load_sender(aliyun_settings(gateway, **changes))
    assert ACCESS_KEY_SECRET not in str(caught.value)
    assert ACCESS_KEY_SECRET not in repr(aliyun_settings(gateway))


def test_the_outbox_waits_out_a_day_limit_without_spending_attempts(market, gateway):
    """Throttled at 23:00 Shanghai time: not tried again before midnight there, then sent; no attempt spent."""
    answers = iter([Answer(code="isv.DAY_LIMIT_CONTROL")])
    gateway.respond = lambda call: next(answers, Answer())
    settings = aliyun_settings(gateway, send_max_attempts=1, database_url=market.settings.database_url)
    sender = load_sender(settings)
    market.publish(now=T0)  # order_published to the creator
    evening = datetime(2026, 11, 27, 23, 0, tzinfo=SHANGHAI)
    midnight = datetime(2026, 11, 28, tzinfo=SHANGHAI)

    def deliver(at):
        return outbox.deliver(market.sessions, sender, settings, clock=lambda: at)

    assert deliver(evening).throttled == 1
    (note,) = market.notifications()
    assert (note.status, note.attempts, note.due_at) == (NotificationStatus.PENDING, 0, midnight)
    assert "isv.DAY_LIMIT_CONTROL" in note.last_error
    assert deliver(midnight - SECOND).claimed == 0
    assert deliver(midnight).sent == 1
    (note,) = market.notifications()
    assert (note.status, note.attempts, note.provider_message_id) == (
        NotificationStatus.SENT,
        1,
        gateway.received[-1].biz_id,
    )
    assert [call.query["OutId"] for call in gateway.sends] == [note.idempotency_key] * 2
    assert len(gateway.accepted) == 1  # the second try asked first (the throttle left an error), found nothing
    assert all(call.signature_ok for call in gateway.received)


def test_a_throttle_without_an_end_waits_longer_each_time_and_never_spends_an_attempt(market, gateway):
    gateway.respond = lambda call: Answer(code="isv.BUSINESS_LIMIT_CONTROL")
    settings = aliyun_settings(gateway, send_max_attempts=2, database_url=market.settings.database_url)
    sender = load_sender(settings)
    market.publish(now=T0)
    at, waits = T0, []
    for _ in range(6):  # more throttles than attempts allowed: still waiting, never dead
        assert outbox.deliver(market.sessions, sender, settings, clock=lambda: at).throttled == 1
        (note,) = market.notifications()
        assert (note.status, note.attempts) == (NotificationStatus.PENDING, 0)
        waits.append(note.due_at - at)
        at = note.due_at
    assert waits[-1] > 2 * waits[0], waits  # it backs off with the time waited (the jitter aside)
    assert all(wait <= HOUR + timedelta(seconds=60) for wait in waits)
    assert json.loads(gateway.received[0].query["TemplateParam"])["title"] == "夏季新品推广"


def deliver_at(market, sender, settings, at):
    return outbox.deliver(market.sessions, sender, settings, clock=lambda: at)


def test_a_send_accepted_but_answered_too_late_is_found_not_sent_again(market, gateway):
    """The first try times out after Aliyun took it; the second asks QuerySendDetails for its OutId and
    records it as sent: one SMS."""
    answers = iter([Answer(delay=1.5)])
    gateway.respond = lambda call: next(answers, Answer())
    settings = aliyun_settings(gateway, database_url=market.settings.database_url)
    sender = load_sender(settings)
    market.publish(now=T0)
    assert deliver_at(market, sender, settings, T0).retrying == 1
    (note,) = market.notifications()
    assert deliver_at(market, sender, settings, note.due_at).sent == 1
    (note,) = market.notifications()
    assert [call.action for call in gateway.received] == ["SendSms", "QuerySendDetails"]
    assert len(gateway.accepted) == 1 and gateway.received[1].query["PhoneNumber"] == "13900000002"
    assert (note.status, note.attempts, note.provider_message_id) == (NotificationStatus.SENT, 2, note.idempotency_key)


def test_a_try_aliyun_refused_is_looked_up_then_sent_again(market, gateway):
    answers = iter([Answer(code="isp.SYSTEM_ERROR")])
    gateway.respond = lambda call: next(answers, Answer())
    settings = aliyun_settings(gateway, database_url=market.settings.database_url)
    sender = load_sender(settings)
    market.publish(now=T0)
    assert deliver_at(market, sender, settings, T0).retrying == 1
    (note,) = market.notifications()
    assert deliver_at(market, sender, settings, note.due_at).sent == 1
    actions = [call.action for call in gateway.received]
    assert actions[0] == actions[-1] == "SendSms" and set(actions[1:-1]) == {"QuerySendDetails"}
    # every day from today back to the day the notification was written, the latest first
    today = datetime.now(SHANGHAI).date()
    days = [(today - timedelta(days=n)).strftime("%Y%m%d") for n in range(min((today - T0.date()).days, 29) + 1)]
    assert [call.query["SendDate"] for call in gateway.received[1:-1]] == days
    assert len(gateway.accepted) == 1 and all(call.signature_ok for call in gateway.received)


def test_a_failed_look_up_sends_nothing(gateway):
    gateway.lookups_fail = True
    with pytest.raises(TransientSendError, match="nothing was sent"):
        AliyunSender(aliyun_settings(gateway)).send(replace(sms(), retry=True))
    assert [call.action for call in gateway.received] == ["QuerySendDetails"]


def test_a_look_up_with_no_time_left_in_the_lease_sends_nothing(gateway):
    """A call is not started when its timeout (1 s here) could carry it past the send's deadline: a
    look-up too late, or the send after a look-up, could otherwise outlive the lease and be sent twice."""
    sender = AliyunSender(aliyun_settings(gateway))
    with pytest.raises(TransientSendError, match="no time left in the send's lease for the look-up"):
        sender.send(replace(sms(), retry=True, deadline=monotonic() + 0.5))
    with pytest.raises(TransientSendError, match="no time left in the send's lease for SendSms"):
        sender.send(replace(sms(), deadline=monotonic() + 0.5))
    assert gateway.received == []
    assert sender.send(replace(sms(), retry=True, deadline=monotonic() + 30))  # with time enough, both go
    assert [call.action for call in gateway.received] == ["QuerySendDetails", "SendSms"]


def test_a_revived_notification_is_looked_up_before_it_is_sent_again(market, gateway):
    """Dead after a try Aliyun took but answered too late; ``notifications retry`` resets the attempts,
    and the next try still asks first: one SMS."""
    answers = iter([Answer(delay=1.5)])
    gateway.respond = lambda call: next(answers, Answer())
    settings = aliyun_settings(gateway, send_max_attempts=1, database_url=market.settings.database_url)
    sender = load_sender(settings)
    market.publish(now=T0)
    assert deliver_at(market, sender, settings, T0).dead == 1
    (note,) = market.notifications()
    with transaction(market.sessions) as session:
        outbox.revive(session, settings, notification_id=note.id, now=T0 + HOUR)
    assert deliver_at(market, sender, settings, T0 + HOUR).sent == 1
    assert [call.action for call in gateway.received] == ["SendSms", "QuerySendDetails"]
    assert len(gateway.accepted) == 1


def test_an_unreachable_aliyun_names_no_phone_number(gateway):
    gateway.close()
    with pytest.raises(TransientSendError) as caught:
        AliyunSender(aliyun_settings(gateway)).send(sms())
    assert "13900000002" not in str(caught.value) and "PhoneNumbers" not in str(caught.value)
    assert str(caught.value).startswith("Aliyun could not be reached (")
