"""The benchmark's databases: seeded once per size with set-based SQL, then copied for every run
(``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, a file copy on SQLite), so each run starts alike."""

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import make_url

from migrations import SCRIPT_LOCATION
from worker.database import schema
from worker.database.engines import make_engine

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
WORK = Path(os.environ.get("BENCH_DIR", tempfile.gettempdir())) / "xingtu-bench"
NOW = datetime(2027, 1, 1, tzinfo=timezone.utc)  # the scans run at this instant
PARTIES = 1000


def numbers(dialect: str, count: int) -> str:
    if dialect == "postgresql":
        return f"SELECT g FROM generate_series(1, {count}) AS g"
    return f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {count}) SELECT g FROM s"


def instant(dialect: str, seconds_from_now: str) -> str:
    """SQL for NOW plus an integer expression of seconds, stored as each backend stores instants."""
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '2027-01-01 00:00:00+00' + ({seconds_from_now}) * INTERVAL '1 second')"
    return f"(strftime('%Y-%m-%d %H:%M:%S', '2027-01-01 00:00:00', ({seconds_from_now}) || ' seconds') || '.000000')"


def run(connection, dialect: str, sql: str) -> None:
    """Raw SQL; psycopg reads % as a placeholder unless doubled."""
    connection.exec_driver_sql(sql.replace("%", "%%") if dialect == "postgresql" else sql)


def parties(connection, dialect: str, table: str, count: int) -> None:
    """``count`` parties with ids 1 to ``count``, registered a day before NOW."""
    run(
        connection,
        dialect,
        f"INSERT INTO {table} (name, phone, created_at) SELECT 'p' || g, '+86139' || (10000000 + g),"
        f" {instant(dialect, '-86400')} FROM ({numbers(dialect, count)}) AS n",
    )


def seed(url: str, orders: int, due: int) -> None:
    """``orders`` pending orders, every ``orders // due``-th of them past its acceptance deadline (spread
    over the last hour), the rest due tomorrow with a reminder still to come."""
    engine = make_engine(url)
    schema.upgrade(engine)
    dialect = engine.dialect.name
    every = max(orders // max(due, 1), 1) if due else orders + 1
    deadline = instant(dialect, f"CASE WHEN g % {every} = 0 THEN -(g % 3600) - 1 ELSE 86400 + g % 3600 END")
    remind = instant(dialect, "79200 + g % 3600")
    with engine.begin() as connection:
        for table in ("clients", "creators"):
            parties(connection, dialect, table, PARTIES)
        run(
            connection,
            dialect,
            "INSERT INTO orders (client_id, creator_id, title, amount_fen, status, published_at, accept_deadline,"
            " remind_at, upload_count, updated_at, version)"
            f" SELECT g % {PARTIES} + 1, (g * 7) % {PARTIES} + 1, '夏季新品推广 #' || g, 10000 + g % 9999, 'pending',"
            f" {instant(dialect, '-86400')}, {deadline}, CASE WHEN g % {every} = 0 THEN NULL ELSE {remind} END,"
            f" 0, {instant(dialect, '-86400')}, 1 FROM ({numbers(dialect, orders)}) AS n",
        )
        run(connection, dialect, "ANALYZE")
    engine.dispose()


def _postgres(name: str) -> str:
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def _schema_fingerprint() -> str:
    """Changes whenever a migration does, so a template seeded under an older schema is never reused."""
    digest = hashlib.sha1()
    for path in sorted(Path(SCRIPT_LOCATION, "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def template(backend: str, orders: int, due: int) -> str:
    """A seeded database for this size and schema, made once and reused."""
    return cached(backend, f"{orders}_{due}", lambda url: seed(url, orders, due))


def cached(backend: str, label: str, seed_with: Callable[[str], None]) -> str:
    """The database ``seed_with(url)`` fills, made once per label and schema and reused: seeding a
    million rows takes far longer than copying them."""
    name = f"xingtu_bench_{_schema_fingerprint()}_{label}"
    if backend == "sqlite":
        path = WORK / f"{name}.db"
        if not path.exists():
            WORK.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            seed_with(f"sqlite:///{partial}")
            partial.rename(path)
        return f"sqlite:///{path}"
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
        if not exists:  # a partial one is what an interrupted earlier seeding left behind
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}_partial" WITH (FORCE)')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}_partial"')
            seed_with(_postgres(f"{name}_partial"))
            connection.exec_driver_sql(f'ALTER DATABASE "{name}_partial" RENAME TO "{name}"')
    admin.dispose()
    return _postgres(name)


def copy(template_url: str) -> str:
    """A fresh copy of a seeded database, for one run."""
    url = make_url(template_url)
    if url.get_backend_name() == "sqlite":
        target = Path(url.database).with_name(f"run-{uuid.uuid4().hex[:8]}.db")
        shutil.copyfile(url.database, target)
        return f"sqlite:///{target}"
    name = f"xingtu_run_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"')
    admin.dispose()
    return _postgres(name)


def drop(run_url: str) -> None:
    url = make_url(run_url)
    if url.get_backend_name() == "sqlite":
        Path(url.database).unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    admin.dispose()
