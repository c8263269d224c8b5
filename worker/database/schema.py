"""Schema versions: upgrade to the newest migration, and refuse to run against an old schema.

Every command checks the schema before it runs, so the check is one query against Alembic's version
table and the newest revision is ``migrations.HEAD``; Alembic itself is imported only to migrate (or to
read the revision files, ``head_revision``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, column, inspect, select, table

from migrations import HEAD, SCRIPT_LOCATION
from worker.database.engines import masked
from worker.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

VERSIONS = table("alembic_version", column("version_num"))  # Alembic's, one row: the revision applied


def _config(connection: Connection | None = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision as the revision files chain them (``migrations.HEAD`` must be it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSIONS.name):
        return None
    return connection.scalar(select(VERSIONS.c.version_num))


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
    from alembic import command

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
    wanted = HEAD
    if found != wanted:
        state = "has no schema" if found is None else f"is at schema revision {found}"
        raise DatabaseError(
            f"the database {masked(engine.url.render_as_string(hide_password=False))} {state};"
            f" this version needs {wanted}: run `xingtu db upgrade`"
        )
