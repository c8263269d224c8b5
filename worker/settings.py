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


def _url(text: str) -> str:
    if "://" not in text:
        raise ValueError("must be a database URL such as sqlite:///xingtu.db or postgresql://host/db")
    return text.strip()


def _setting(env: str, parse: Callable[[str], Any], default: Any) -> Any:
    return field(default=default, metadata={"env": env, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Defaults are SPEC.md's; each field names its environment variable in its metadata."""

    database_url: str = _setting("XINGTU_DATABASE_URL", _url, "sqlite:///xingtu.db")
    accept_window: timedelta = _setting("XINGTU_ACCEPT_WINDOW", _duration(), timedelta(hours=24))
    accept_reminder_lead: timedelta = _setting(
        "XINGTU_ACCEPT_REMINDER_LEAD", _duration(allow_zero=True), timedelta(hours=2)
    )
    cancel_response_window: timedelta = _setting(
        "XINGTU_CANCEL_RESPONSE_WINDOW", _duration(), timedelta(hours=48)
    )
    cancel_timeout_policy: TimeoutPolicy = _setting(
        "XINGTU_CANCEL_TIMEOUT_POLICY", _policy, TimeoutPolicy.AUTO_CONFIRM
    )
    compensation_percent: int = _setting("XINGTU_COMPENSATION_PERCENT", _int_between(0, 100), 50)
    phone_regions: tuple[str, ...] = _setting("XINGTU_PHONE_REGIONS", _regions, ("CN",))
    scan_batch_size: int = _setting("XINGTU_SCAN_BATCH_SIZE", _int_between(1, 100_000), 1000)

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
                raise SettingsError(f"{env}={raw!r} {exc}") from None
        return cls(**values)
