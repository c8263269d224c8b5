"""Engines, sessions and the transaction boundary of every use case.

No engine exists at import time: callers build one from ``Settings.database_url`` and pass a session
factory down. SQLite runs every writing transaction as ``BEGIN IMMEDIATE`` so writers queue on the database lock
instead of failing on a stale snapshot; PostgreSQL uses row locks (see ``worker.services.load``).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from worker.errors import Conflict, XingtuError

# Set in ``session.info`` by a use case that applied a due timeout before refusing the action it was
# asked for: the timeout stands (the scan would apply it anyway), the refused action writes nothing.
KEEP_ON_REFUSAL = "keep_on_refusal"
# How many notifications a transaction wrote, handed to ``after_commit`` so a sweep is queued for them.
NEW_NOTIFICATIONS = "new_notifications"
SQLITE_BUSY_TIMEOUT_S = 30


def database_url(url: str) -> URL:
    """Parse a URL; a plain ``postgresql://`` (or ``postgres://``) URL goes through psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def masked(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return database_url(url).render_as_string(hide_password=True)


def make_engine(url: str, **kwargs) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_S})
    elif parsed.get_driver_name() == "psycopg":
        # psycopg prepares a statement after five runs; PostgreSQL may then settle on a generic plan,
        # which guesses a third of the rows are due and reads whole tables. Plan every run instead:
        # the scan's statements take well under a millisecond to plan.
        kwargs.setdefault("connect_args", {"prepare_threshold": None})
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


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads: READ ONLY transactions on PostgreSQL (reads never write), and on SQLite a
    plain BEGIN, so a slow reader (a paged ``order list``) never holds the write lock."""
    return sessionmaker(engine.execution_options(postgresql_readonly=True), expire_on_commit=False)


def _is_unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(exc.orig)


@contextmanager
def transaction(factory: sessionmaker[Session], after_commit: Callable[[int], None] | None = None) -> Iterator[Session]:
    """One use case, one transaction: commit on success, roll back on any error.

    A refusal (``XingtuError``) rolls back unless the use case marked the session
    ``KEEP_ON_REFUSAL``. A lost race (a versioned UPDATE that matched no row, or a unique index that
    another transaction filled first) becomes ``Conflict``, with nothing written. Once committed, the
    number of notifications written goes to ``after_commit`` (never before: a worker must not look for
    rows it cannot see yet).
    """
    session = factory()

    def commit() -> None:
        session.commit()
        written = session.info.pop(NEW_NOTIFICATIONS, 0)
        if written and after_commit is not None:
            after_commit(written)

    try:
        yield session
        commit()
    except XingtuError:
        if session.info.pop(KEEP_ON_REFUSAL, False):
            commit()
        else:
            session.rollback()
        raise
    except StaleDataError:
        session.rollback()
        raise Conflict(
            "the order was changed by another operation at the same moment; nothing was written, try again"
        ) from None
    except IntegrityError as exc:
        session.rollback()
        if _is_unique_violation(exc):
            raise Conflict(
                "another operation wrote the same record at the same moment; nothing was written, try again"
            ) from None
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
