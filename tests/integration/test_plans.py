"""A scan or a sweep with nothing due reads index entries, never a whole table: checked on the plans
the databases choose for the exact statements, with thousands of live rows in place. The plans are
the ones a running worker gets: its PostgreSQL statements are planned on every run, never prepared
(a generic plan would read whole tables), which the last test checks."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from models.states import TimeoutPolicy
from tests.market import T0
from worker.database.engines import make_engine
from worker.services import outbox, timers

LIVE = 20_000


def insert(connection, engine, table: str, columns: str, values: str, count: int = LIVE) -> None:
    """``count`` rows of constant ``values`` (``g`` numbers them), by set-based SQL."""
    numbers = (
        f"SELECT g FROM generate_series(1, {count}) g"
        if engine.dialect.name == "postgresql"
        else f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {count}) SELECT g FROM s"
    )
    connection.exec_driver_sql(f"INSERT INTO {table} ({columns}) SELECT {values} FROM ({numbers}) AS numbers")


@pytest.fixture(params=["no requests yet", "many requests"])
def live_rows(request, engine):
    """Many pending orders, none due yet, each with a reminder still to come; then either no
    cancellation requests and notifications at all (a new deployment), or many of each, none due."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO clients (name, phone, created_at) VALUES ('c', '+8613800000001', '2026-11-01 00:00:00')"
        )
        connection.exec_driver_sql(
            "INSERT INTO creators (name, phone, created_at) VALUES ('c', '+8613900000002', '2026-11-01 00:00:00')"
        )
        insert(
            connection, engine, "orders",
            "client_id, creator_id, title, amount_fen, status, published_at, accept_deadline, remind_at,"
            " upload_count, updated_at, version",
            "1, 1, 't', 100, 'pending', '2026-11-27 04:00:00', '2026-11-28 04:00:00', '2026-11-28 02:00:00', 0,"
            " '2026-11-27 04:00:00', 1",
        )  # fmt: skip
        if request.param == "many requests":
            insert(
                connection, engine, "cancellation_requests",
                "order_id, initiator, reason, status, requested_at, respond_by, compensation_fen, resolved_at",
                "g, 'client', 'r', 'rejected', '2026-11-27 04:00:00', '2026-11-29 04:00:00', 0, '2026-11-27 05:00:00'",
            )  # fmt: skip
            insert(  # creators serving suspensions that have not ended
                connection, engine, "creators",
                "name, phone, created_at, status, suspended_until, violation_count",
                "'k', '+8613900000003', '2026-11-01 00:00:00', 'suspended', '2026-12-20 00:00:00', 2",
            )  # fmt: skip
            connection.exec_driver_sql(  # every tenth still open, answerable until the day after tomorrow
                "UPDATE cancellation_requests SET status = 'open', resolved_at = NULL WHERE id - id / 10 * 10 = 0"
            )
            insert(
                connection, engine, "notifications",
                "idempotency_key, kind, order_id, recipient_role, recipient_id, phone, params, status,"
                " attempts, created_at, due_at, sent_at",
                "'k' || g, 'order_published', g, 'creator', 1, '+8613900000002', '{}',"
                " CASE WHEN g - g / 10 * 10 = 0 THEN 'pending' ELSE 'sent' END, 1, '2026-11-27 04:00:00',"
                " '2026-11-28 04:00:00', NULL",
            )  # fmt: skip
            insert(  # callers' idempotency keys, recorded within the window (none to forget)
                connection, engine, "idempotency_keys", "key, call, fingerprint, answer, created_at",
                "'key-' || g, 'xingtu.publish_order', 'f', '{}', '2026-11-27 03:00:00'",
            )  # fmt: skip
        connection.exec_driver_sql("ANALYZE")
    return request.param


def plans(engine, work) -> list[str]:
    """The plan of every statement ``work`` runs, as text."""
    statements = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with sa.orm.Session(engine) as session:
        sa.event.listen(engine, "before_cursor_execute", grab)
        try:
            work(session)
        finally:
            sa.event.remove(engine, "before_cursor_execute", grab)
            session.rollback()
    with engine.connect() as connection:
        return [
            explain(connection, statement, parameters)
            for statement, parameters in statements
            if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE"))
        ]


def explain(connection, statement: str, parameters) -> str:
    sqlite = connection.dialect.name == "sqlite"
    rows = connection.exec_driver_sql(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
    return "\n".join(str(row[-1]) for row in rows)


def assert_no_table_scan(found: list[str], tables: tuple[str, ...]) -> None:
    """No full read of a table that holds rows (an empty table is read for free)."""
    assert found
    for plan in found:
        for table in tables:
            assert f"Seq Scan on {table}" not in plan, plan
            assert not any(line.strip() == f"SCAN {table}" for line in plan.splitlines()), plan


def populated(live_rows) -> tuple[str, ...]:
    if live_rows == "no requests yet":
        return ("orders",)
    return ("orders", "cancellation_requests", "notifications", "creators", "idempotency_keys")


def test_a_scan_with_nothing_due_is_index_probes(engine, live_rows):
    found = plans(
        engine, lambda s: timers.scan_batch(s, T0, TimeoutPolicy.AUTO_CONFIRM, 1000, key_window=timedelta(hours=24))
    )
    assert len(found) == 1  # one statement of probes, and no claim when nothing is due
    assert_no_table_scan(found, populated(live_rows))


def test_each_claim_reads_only_index_entries(engine, live_rows):
    def claims(session):
        timers.expire_orders(session, T0, limit=1000)
        timers.time_out_requests(session, T0, TimeoutPolicy.AUTO_CONFIRM, limit=1000)
        timers.write_reminders(session, T0, limit=1000)
        timers.lift_suspensions(session, T0, limit=1000)

    assert_no_table_scan(plans(engine, claims), populated(live_rows))


def test_a_sweep_with_nothing_due_is_an_index_probe(engine, live_rows, settings):
    found = plans(engine, lambda s: outbox.claim(s, T0, lease=settings.send_lease, limit=100))
    assert_no_table_scan(found, populated(live_rows))


@pytest.mark.postgresql
def test_statements_are_planned_on_every_run_never_prepared(postgres_url):
    engine = make_engine(postgres_url)
    with sa.orm.Session(engine) as session:
        for _ in range(12):
            timers.scan_batch(session, T0, TimeoutPolicy.AUTO_CONFIRM, 1000, key_window=timedelta(hours=24))
            outbox.claim(session, T0, lease=timedelta(seconds=60), limit=100)
        assert session.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements")) == 0
        session.rollback()
    engine.dispose()
