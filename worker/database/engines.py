"""Engines and session factories for SQLite and PostgreSQL.

No engine exists at import time: callers build one from ``Settings.database_url`` and pass a session
factory down. SQLite runs every writing transaction as ``BEGIN IMMEDIATE`` so writers queue on the database lock
instead of failing on a stale snapshot; PostgreSQL uses row locks (see ``worker.services.locking``).
"""

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import sessionmaker

from worker.database.unit_of_work import UnitOfWork

SQLITE_BUSY_TIMEOUT_S = 30
# How long a PostgreSQL statement waits for a row lock (or for the transaction that holds a key it
# inserts) before giving up: a lock held elsewhere must not stall every worker process behind it. The
# use case then answers ``conflict`` (``worker.database.unit_of_work``) and the caller tries again.
POSTGRES_LOCK_TIMEOUT_S = 5


def database_url(url: str) -> URL:
    """Parse a URL; a plain ``postgresql://`` (or ``postgres://``) URL goes through psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def masked(url: str) -> str:
    """The URL with any password hidden, for messages and logs; a SQLite file by its absolute path, since
    a relative one means a different file in every directory it is run from."""
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(parsed.database).resolve()))
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str, **kwargs) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_S})
    elif parsed.get_driver_name() == "psycopg":
        # psycopg prepares a statement after five runs; PostgreSQL may then settle on a generic plan,
        # which guesses a third of the rows are due and reads whole tables. Plan every run instead:
        # the scan's statements take well under a millisecond to plan.
        kwargs.setdefault(
            "connect_args", {"prepare_threshold": None, "options": f"-c lock_timeout={POSTGRES_LOCK_TIMEOUT_S}s"}
        )
    engine = create_engine(parsed, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let the "begin" hook below start transactions
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        read_only = connection.get_execution_options().get("postgresql_readonly")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[UnitOfWork]:
    """Sessions for use cases: each a ``UnitOfWork``, run inside ``worker.database.unit_of_work.transaction``."""
    return sessionmaker(engine, class_=UnitOfWork, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[UnitOfWork]:
    """Sessions for reads: READ ONLY transactions on PostgreSQL (reads never write), and on SQLite a
    plain BEGIN, so a slow reader (a paged ``order list``) never holds the write lock."""
    return sessionmaker(engine.execution_options(postgresql_readonly=True), class_=UnitOfWork, expire_on_commit=False)
