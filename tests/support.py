"""Plain helpers and constants shared by the tests and their conftest files (import these from here,
never from a conftest): where PostgreSQL and Redis are and whether a missing service fails or skips
(XINGTU_TEST_POSTGRES_URL, XINGTU_TEST_REDIS_URL, XINGTU_REQUIRE_SERVICES, ``service_missing``), the tables a test empties,
and the effort of the property tests (XINGTU_HYPOTHESIS_PROFILE, XINGTU_HYPOTHESIS_EXAMPLES).
"""

import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

POSTGRES_URL = os.environ.get("XINGTU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# A Redis database of the tests' own, flushed by the stack tests.
REDIS_URL = os.environ.get("XINGTU_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUIRE_SERVICES = os.environ.get("XINGTU_REQUIRE_SERVICES") == "1"
TABLES = (
    "notifications, order_events, ledger_entries, cancellation_requests, orders, creator_events, client_events,"
    " violations, creators, mcns, clients"
)


HYPOTHESIS_PROFILES = {
    "ci": {"max_examples": 500, "stateful_step_count": 40},
    "soak": {"max_examples": 20_000, "stateful_step_count": 50},
}


def hypothesis_profile() -> hypothesis_settings:
    """The effort of the property tests: XINGTU_HYPOTHESIS_PROFILE=ci (default) or soak;
    XINGTU_HYPOTHESIS_EXAMPLES overrides the number of examples (``make soak EXAMPLES=5000``)."""
    chosen = dict(HYPOTHESIS_PROFILES[os.environ.get("XINGTU_HYPOTHESIS_PROFILE", "ci")])
    if examples := os.environ.get("XINGTU_HYPOTHESIS_EXAMPLES"):
        chosen["max_examples"] = int(examples)
    return hypothesis_settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], **chosen)


def service_missing(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error})"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message}; XINGTU_REQUIRE_SERVICES=1 requires it", pytrace=False)
    pytest.skip(message)
