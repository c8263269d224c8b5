"""Alembic environment.

``xingtu db upgrade`` hands over an open connection in ``config.attributes["connection"]``; the plain
``alembic`` command (for writing new revisions, or ``upgrade --sql`` for a DBA) builds an engine from
``XINGTU_DATABASE_URL`` instead.
"""

from alembic import context

from models import Base
from worker.database.engines import database_url, make_engine
from worker.settings import Settings

config = context.config


def _configure(**kwargs) -> None:
    context.configure(target_metadata=Base.metadata, compare_type=True, **kwargs)
    with context.begin_transaction():
        context.run_migrations()


def _online(connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")


if context.is_offline_mode():
    _configure(url=database_url(Settings.from_env().database_url), literal_binds=True)
elif (connection := config.attributes.get("connection")) is not None:
    _online(connection)
else:
    with make_engine(Settings.from_env().database_url).connect() as connection:
        _online(connection)
