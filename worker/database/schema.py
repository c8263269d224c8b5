"""Schema versions: upgrade to the newest migration, and refuse to run against an old schema."""

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from migrations import SCRIPT_LOCATION
from worker.database.engines import masked
from worker.errors import DatabaseError


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction, for Alembic to move the schema in.

    On SQLite a migration may rebuild a table (Alembic's batch mode), which foreign keys pointing at
    it would refuse; as SQLite prescribes, enforcement is off for the migration (it can only be
    switched outside a transaction) and every reference is checked before the commit.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite and (broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()):
                    raise DatabaseError(f"the migration left broken references, nothing was changed: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


def upgrade(engine: Engine, revision: str = "head") -> dict:
    """Create or upgrade the schema to the newest revision; running it again changes nothing."""
    with migrating(engine) as connection:
        before = current_revision(connection)
        command.upgrade(_config(connection), revision)
        after = current_revision(connection)
    return {
        "database": masked(engine.url.render_as_string(hide_password=False)),
        "from_revision": before,
        "to_revision": after,
        "upgraded": before != after,
    }


def ensure_current(engine: Engine) -> None:
    """Raise ``DatabaseError`` naming the fix when the database's schema is not this code's."""
    with engine.connect() as connection:
        found = current_revision(connection)
    wanted = head_revision()
    if found != wanted:
        state = "has no schema" if found is None else f"is at schema revision {found}"
        raise DatabaseError(
            f"the database {masked(engine.url.render_as_string(hide_password=False))} {state};"
            f" this version needs {wanted}: run `xingtu db upgrade`"
        )
