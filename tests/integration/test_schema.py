"""The schema: migrations create exactly the models, run again safely, and the database itself holds
the invariants it can (so a bug or a hand-written UPDATE cannot break them either)."""

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from migrations import HEAD
from models import Base, Client
from models.sql import in_ids, json_bool, json_object
from models.states import Role
from tests.market import HOUR, T0
from tests.support import fresh_postgres
from worker.database import schema
from worker.database.engines import make_engine
from worker.errors import DatabaseError


def test_the_head_every_command_checks_against_is_the_newest_revision_file():
    """A new revision must move ``migrations.HEAD`` too, or commands would refuse the upgraded schema."""
    assert schema.head_revision() == HEAD


def test_a_database_without_a_schema_or_behind_is_refused_naming_the_fix(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseError, match="has no schema; this version needs 0005: run `xingtu db upgrade`"):
        schema.ensure_current(engine)
    schema.upgrade(engine, "0004")
    with pytest.raises(DatabaseError, match="is at schema revision 0004; this version needs 0005"):
        schema.ensure_current(engine)
    engine.dispose()


def test_upgrade_is_idempotent(engine):
    result = schema.upgrade(engine)
    assert (result["from_revision"], result["to_revision"], result["upgraded"]) == ("0005", "0005", False)
    schema.ensure_current(engine)


OLD_ROWS = [  # what a 0001 database holds: an accepted order with its escrow and audit trail
    "INSERT INTO clients (name, phone, created_at) VALUES ('c', '+8613800000001', '2026-11-27 04:00:00')",
    "INSERT INTO creators (name, phone, created_at) VALUES ('k', '+8613900000002', '2026-11-27 04:00:00')",
    "INSERT INTO orders (client_id, creator_id, title, amount_fen, status, published_at, accept_deadline,"
    " accepted_at, upload_count, updated_at, version) VALUES (1, 1, 't', 100, 'accepted', '2026-11-27 04:00:00',"
    " '2026-11-28 04:00:00', '2026-11-27 05:00:00', 0, '2026-11-27 05:00:00', 2)",
    "INSERT INTO ledger_entries (order_id, kind, amount_fen, at) VALUES (1, 'escrow', 100, '2026-11-27 04:00:00')",
    "INSERT INTO order_events (order_id, at, actor_role, actor_id, event, to_status, details)"
    " VALUES (1, '2026-11-27 04:00:00', 'client', 1, 'published', 'pending', '{}')",
]


def test_upgrading_a_database_that_holds_orders_keeps_them(tmp_path, postgres_database, request):
    """0002 rebuilds the creators table on SQLite while orders point at it."""
    for url in (f"sqlite:///{tmp_path / 'old.db'}", fresh_postgres(postgres_database, request, "old")):
        engine = make_engine(url)
        assert schema.upgrade(engine, "0001")["to_revision"] == "0001"
        for sql in OLD_ROWS:
            raw(engine, sql)
        dump = lambda: {t: raw_rows(engine, t) for t in ("clients", "orders", "ledger_entries", "order_events")}  # noqa: E731
        before = dump()
        assert schema.upgrade(engine, "0002")["to_revision"] == "0002"
        assert dump() == before
        with engine.connect() as connection:
            creator = connection.exec_driver_sql("SELECT name, status, suspended_until, violation_count FROM creators")
            assert creator.one() == ("k", "active", None, 0)
        with pytest.raises(sa.exc.IntegrityError):  # foreign keys are enforced again afterwards
            raw(engine, "INSERT INTO violations (creator_id, number, at, evidence, sanction)"
                        " VALUES (404, 1, '2026-11-27 00:00:00', 'e', 'post_takedown')")  # fmt: skip
        engine.dispose()


def raw_rows(engine, table: str) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id")]


def test_migrations_create_exactly_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_constraints_carry_the_models_names(engine):
    inspector = sa.inspect(engine)
    for table in Base.metadata.sorted_tables:
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        wanted = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        assert found == wanted, table.name
        found_fks = {fk["name"] for fk in inspector.get_foreign_keys(table.name)}
        assert found_fks == {fk.name for fk in table.foreign_key_constraints}, table.name


def test_instants_come_back_aware_utc(market):
    shanghai = timezone(timedelta(hours=8))
    market.client(now=datetime(2026, 11, 27, 20, 0, tzinfo=shanghai))
    with market.sessions() as session:
        created = session.scalar(sa.select(Client.created_at))
    assert created == datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc) and created.utcoffset() == timedelta(0)


def test_a_naive_datetime_is_refused(market):
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        market.client(now=datetime(2026, 11, 27, 12, 0))


def raw(engine, sql: str, **params) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(sql), params)


GUARDED = [
    ("amount 0", "UPDATE orders SET amount_fen = 0 WHERE id = :pending", "amount_range"),
    ("money that does not add up", "UPDATE orders SET status = 'cancelled', cancel_reason = 'client_cancelled',"
     " cancelled_at = updated_at, creator_payout_fen = 1, client_refund_fen = 1 WHERE id = :pending", "money_adds_up"),
    ("cancelled without a reason", "UPDATE orders SET status = 'cancelled', creator_payout_fen = 0,"
     " client_refund_fen = amount_fen WHERE id = :pending", "cancelled_has_reason"),
    ("an unknown status", "UPDATE orders SET status = 'lost' WHERE id = :pending", "(?i)check constraint"),
    ("a second open request", "INSERT INTO cancellation_requests (order_id, initiator, reason, status, requested_at,"
     " compensation_fen) SELECT order_id, 'creator', 'x', 'open', requested_at, 0 FROM cancellation_requests",
     "uq_cancellation_requests_one_open|UNIQUE constraint failed: cancellation_requests.order_id"),
    ("a changed ledger entry", "UPDATE ledger_entries SET amount_fen = 1", "append-only"),
    ("a deleted ledger entry", "DELETE FROM ledger_entries", "append-only"),
    ("a changed audit event", "UPDATE order_events SET event = 'x'", "append-only"),
    ("a changed finished order", "UPDATE orders SET title = 'x' WHERE id = :done", "never changes"),
    ("a duplicate idempotency key", "INSERT INTO notifications (idempotency_key, kind, order_id, recipient_role,"
     " recipient_id, phone, params, status, attempts, created_at, due_at) SELECT idempotency_key, kind,"
     " order_id, recipient_role, recipient_id, phone, params, status, attempts, created_at, due_at"
     " FROM notifications", "idempotency_key"),
    ("an order for nobody", "INSERT INTO orders (client_id, creator_id, title, amount_fen, status, published_at,"
     " accept_deadline, upload_count, updated_at, version) SELECT 404, creator_id, title, amount_fen, status,"
     " published_at, accept_deadline, 0, updated_at, 1 FROM orders WHERE id = :pending", "foreign key|FOREIGN KEY"),
]  # fmt: skip


@pytest.mark.parametrize("case", GUARDED, ids=[case[0] for case in GUARDED])
def test_the_database_refuses(market, engine, case):
    _, sql, says = case
    pending = market.publish()
    frozen = market.accepted()
    market.request(frozen, Role.CLIENT, now=T0 + 2 * HOUR)
    done = market.publish()
    market.request(done, Role.CLIENT, now=T0 + HOUR)
    params = {key: value for key, value in {"pending": pending.id, "done": done.id}.items() if f":{key}" in sql}
    before = market.dump()
    with pytest.raises(sa.exc.DatabaseError, match=says):
        raw(engine, sql, **params)
    assert market.dump() == before


def test_the_dialect_constructs_carry_their_values_through_the_statement_cache(engine):
    """Custom SQL constructs must hand each execution its own values, not the first one's."""
    with engine.connect() as connection:
        for ids, found in (([1, 2, 3], [3]), ([4, 5], []), ([3], [3])):
            query = sa.select(sa.literal(3)).where(in_ids(sa.literal(3), ids))
            assert connection.execute(query).scalars().all() == found
        for value, expected in ((1, True), (2, False)):
            assert connection.execute(sa.select(json_object("b", json_bool(sa.literal(value) == 1)))).scalar() == {
                "b": expected
            }
