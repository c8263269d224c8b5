"""Plain helpers and constants shared by the tests and their conftest files (import these from here,
never from a conftest): where PostgreSQL and Redis are and whether a missing service fails or skips
(XINGTU_TEST_POSTGRES_URL, XINGTU_TEST_REDIS_URL, XINGTU_REQUIRE_SERVICES, ``service_missing``), the tables a test empties,
moving a database's schema (``revision``, ``downgrade``), and the effort of the property tests (XINGTU_HYPOTHESIS_PROFILE, XINGTU_HYPOTHESIS_EXAMPLES).
"""

import os
import shutil
import socket

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from worker.database import schema
from worker.database.engines import make_engine

POSTGRES_URL = os.environ.get("XINGTU_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# A Redis database of the tests' own, flushed by the stack tests.
REDIS_URL = os.environ.get("XINGTU_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUIRE_SERVICES = os.environ.get("XINGTU_REQUIRE_SERVICES") == "1"
TABLES = (
    "idempotency_keys, held_receipts, notifications, order_events, ledger_entries, cancellation_requests, orders, creator_events, client_events,"
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


def fresh_postgres(url: str, request, suffix: str) -> str:
    """An empty database beside the run's, dropped after the test (or the module)."""
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = f"{sa.engine.make_url(url).database}_{suffix}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.dispose()

    request.addfinalizer(drop)
    return admin.url.set(database=name).render_as_string(hide_password=False)


def empty_database(request, dialect: str, directory, suffix: str) -> str:
    """A database with nothing in it, for a migration test to bring to an old schema: a file in
    ``directory`` on SQLite, a fresh one beside the run's on PostgreSQL."""
    if dialect == "sqlite":
        return f"sqlite:///{directory / f'{suffix}.db'}"
    return fresh_postgres(request.getfixturevalue("postgres_database"), request, suffix)


def shared_database(request, sqlite_template, tmp_path_factory, label: str) -> str:
    """A migrated, empty database for a module's read-only world: a copy of the SQLite template, or the
    run's PostgreSQL database emptied (``request.param`` says which)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp(label) / "xingtu.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


def revision(engine: sa.Engine) -> str | None:
    with engine.connect() as connection:
        return schema.current_revision(connection)


def downgrade(engine: sa.Engine, to: str) -> None:
    """Alembic's downgrade, in the transaction ``schema.upgrade`` migrates in (SQLite's foreign keys
    off while tables are rebuilt, every reference checked before the commit)."""
    with schema.migrating(engine) as connection:
        command.downgrade(schema._config(connection), to)


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]
