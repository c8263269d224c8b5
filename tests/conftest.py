"""Shared fixtures: a migrated database per test, on SQLite and on a real PostgreSQL.

PostgreSQL comes from XINGTU_TEST_POSTGRES_URL (default: the local server, user postgres). When it
does not answer, its tests skip, unless XINGTU_REQUIRE_SERVICES=1 (CI sets it): then they fail.
"""

import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.market import Market
from worker.database import schema
from worker.database.engines import make_engine, session_factory
from worker.settings import Settings

POSTGRES_URL = os.environ.get("XINGTU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVICES = os.environ.get("XINGTU_REQUIRE_SERVICES") == "1"
TABLES = (
    "notifications, order_events, ledger_entries, cancellation_requests, orders, creator_events, violations,"
    " creators, clients"
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


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"xingtu_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        service_missing(f"PostgreSQL at {POSTGRES_URL}", error)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "xingtu.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def postgres_url(postgres_database):
    """The run's PostgreSQL database, every table emptied."""
    engine = make_engine(postgres_database)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    engine.dispose()
    return postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request, tmp_path, sqlite_template):
    """An empty, migrated database: a copy of the SQLite template, or the run's PostgreSQL one."""
    if request.param == "sqlite":
        path = tmp_path / "xingtu.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url)


@pytest.fixture
def market(engine, settings):
    """The service layer over a fresh database, with invariants checked after the test."""
    market = Market(session_factory(engine), settings)
    yield market
    market.check_invariants()
