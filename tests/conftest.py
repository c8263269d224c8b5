"""Shared fixtures: a migrated database per test, on SQLite and on a real PostgreSQL.

PostgreSQL comes from XINGTU_TEST_POSTGRES_URL (default: the local server, user postgres). When it
does not answer, its tests skip, unless XINGTU_REQUIRE_SERVICES=1 (CI sets it): then they fail.
Only fixtures live here; the helpers and constants they share with tests are in ``tests.support``.
"""

import shutil
import uuid

import pytest
import redis
import sqlalchemy as sa

from tests.market import Market
from tests.support import POSTGRES_URL, REDIS_URL, TABLES, service_missing
from worker.database import schema
from worker.database.engines import make_engine, session_factory
from worker.settings import Settings


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
def broker():
    """Redis at XINGTU_TEST_REDIS_URL (a database of its own), flushed before and after the test."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        service_missing(f"Redis at {REDIS_URL}", error)
    client.flushdb()
    yield client
    client.flushdb()


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
