from datetime import timedelta

import pytest

from models.states import TimeoutPolicy
from worker.errors import SettingsError
from worker.settings import Settings, parse_duration


def test_defaults_are_specs():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///xingtu.db"
    assert settings.accept_window == timedelta(hours=24)
    assert settings.accept_reminder_lead == timedelta(hours=2)
    assert settings.cancel_response_window == timedelta(hours=48)
    assert settings.cancel_timeout_policy is TimeoutPolicy.AUTO_CONFIRM
    assert settings.compensation_percent == 50
    assert settings.idempotency_window == timedelta(hours=24)


@pytest.mark.parametrize(
    "text, seconds", [("90", 90), ("90s", 90), ("15m", 900), ("24h", 86_400), ("2d", 172_800), (" 3h ", 10_800)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_environment_overrides():
    settings = Settings.from_env(
        {
            "XINGTU_ACCEPT_WINDOW": "2s",
            "XINGTU_ACCEPT_REMINDER_LEAD": "0",
            "XINGTU_CANCEL_TIMEOUT_POLICY": "lapse",
            "XINGTU_COMPENSATION_PERCENT": "30",
            "XINGTU_PHONE_REGIONS": "cn, hk",
        }
    )
    assert settings.accept_window == timedelta(seconds=2)
    assert settings.accept_reminder_lead == timedelta(0)
    assert settings.cancel_timeout_policy is TimeoutPolicy.LAPSE
    assert settings.compensation_percent == 30
    assert settings.phone_regions == ("CN", "HK")


@pytest.mark.parametrize(
    "variable, value, says",
    [
        ("XINGTU_ACCEPT_WINDOW", "5x", "is not a duration"),
        ("XINGTU_ACCEPT_WINDOW", "0", "longer than zero"),
        ("XINGTU_ACCEPT_WINDOW", "-1h", "is not a duration"),
        ("XINGTU_CANCEL_RESPONSE_WINDOW", "1.5h", "is not a duration"),
        ("XINGTU_CANCEL_TIMEOUT_POLICY", "ignore", "auto_confirm, lapse"),
        ("XINGTU_COMPENSATION_PERCENT", "101", "from 0 to 100"),
        ("XINGTU_COMPENSATION_PERCENT", "fifty", "from 0 to 100"),
        ("XINGTU_PHONE_REGIONS", "XX", "region codes"),
        ("XINGTU_DATABASE_URL", "xingtu.db", "must be a URL such as sqlite:"),
    ],
)
def test_a_bad_value_names_the_variable(variable, value, says):
    with pytest.raises(SettingsError) as info:
        Settings.from_env({variable: value})
    assert info.value.message.startswith(f"{variable}={value!r} ")
    assert says in info.value.message


def test_the_send_lease_outlasts_the_webhook_timeout():
    with pytest.raises(SettingsError, match="XINGTU_SEND_LEASE .* must be longer than XINGTU_SMS_WEBHOOK_TIMEOUT"):
        Settings.from_env({"XINGTU_SEND_LEASE": "10s", "XINGTU_SMS_WEBHOOK_TIMEOUT": "10s"})


def test_idempotency_keys_outlive_the_brokers_redelivery():
    assert Settings.from_env({"XINGTU_IDEMPOTENCY_WINDOW": "1h"}).idempotency_window == timedelta(hours=1)
    with pytest.raises(SettingsError, match=r"XINGTU_IDEMPOTENCY_WINDOW \(0:59:59\) must be at least 1:00:00"):
        Settings.from_env({"XINGTU_IDEMPOTENCY_WINDOW": "3599"})


def test_secrets_stay_out_of_the_repr():
    settings = Settings.from_env(
        {"XINGTU_SMS_WEBHOOK_SECRET": "s3cret", "XINGTU_DATABASE_URL": "postgresql://u:pw@h/db"}
    )
    assert "s3cret" not in repr(settings) and "pw@" not in repr(settings)
