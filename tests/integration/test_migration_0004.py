"""Migration 0004 (delivery receipts) on a database at 0003 holding notifications in every old status:
`xingtu db upgrade` keeps every row and value, the new columns start empty, the new CHECKs, partial
indexes and table are in force, and a downgrade turns delivered and undelivered back into sent."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from models import Base
from tests.cli.invoke import runner
from tests.support import downgrade, empty_database, revision
from worker.database import schema
from worker.database.engines import make_engine

OLD = ["id", "idempotency_key", "kind", "order_id", "recipient_role", "recipient_id", "phone", "params", "status",
       "attempts", "created_at", "due_at", "sent_at", "provider_message_id", "last_error"]  # fmt: skip
ROWS = [  # (status, attempts, sent_at, provider message id, last error)
    ("pending", 0, None, None, None),
    ("sending", 1, None, None, None),
    ("sent", 1, "2026-12-01 10:00:00", "932702304080415357^0", None),
    ("sent", 3, "2026-12-01 11:00:00", "console:creator-event-1:account_closed:creator", "TransientSendError: x"),
    ("dead", 8, None, None, "PermanentSendError: isv.MOBILE_NUMBER_ILLEGAL"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def old_database(request, tmp_path):
    """A database at 0003 holding ``ROWS``."""
    url = empty_database(request, request.param, tmp_path, "m0004")
    engine = make_engine(url)
    assert schema.upgrade(engine, "0003")["to_revision"] == "0003"
    with engine.begin() as connection:
        for n, (status, attempts, sent_at, message_id, error) in enumerate(ROWS, start=1):
            connection.execute(
                sa.text(
                    "INSERT INTO notifications (idempotency_key, kind, order_id, recipient_role, recipient_id, phone,"
                    " params, status, attempts, created_at, due_at, sent_at, provider_message_id, last_error)"
                    " VALUES (:key, 'account_closed', NULL, 'creator', 1, '+8613900000002', '{\"reason\": \"r\"}',"
                    " :status, :attempts, '2026-12-01 09:00:00', '2026-12-01 09:00:00', :sent_at, :message_id, :error)"
                ),
                {"key": f"creator-event-{n}:account_closed:creator", "status": status, "attempts": attempts,
                 "sent_at": sent_at, "message_id": message_id, "error": error},
            )  # fmt: skip
    yield url, engine
    engine.dispose()


def rows(engine, columns: list[str]) -> list[tuple]:
    with engine.connect() as connection:
        return [
            tuple(r) for r in connection.execute(sa.text(f"SELECT {', '.join(columns)} FROM notifications ORDER BY id"))
        ]


def test_the_upgrade_keeps_every_notification_and_leaves_the_new_columns_empty(old_database):
    url, engine = old_database
    before = rows(engine, OLD)
    upgraded = runner(url)("--json", "db", "upgrade")
    assert upgraded.code == 0, upgraded.stderr
    assert (upgraded.json["from_revision"], upgraded.json["to_revision"]) == ("0003", schema.head_revision())
    assert rows(engine, OLD) == before
    assert rows(engine, ["sender", "receipt_at", "receipt_error"]) == [(None, None, None)] * len(ROWS)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        indexes = {index["name"] for index in sa.inspect(connection).get_indexes("notifications")}
        assert {
            "ix_notifications_due",
            "ix_notifications_unconfirmed",
            "ix_notifications_provider_message_id",
        } <= indexes
        assert connection.execute(sa.text("SELECT count(*) FROM held_receipts")).scalar() == 0


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE notifications SET status = 'delivered' WHERE id = 3",  # a receipt's status needs its instant
        "UPDATE notifications SET receipt_at = '2026-12-01 10:00:05' WHERE id = 3",  # and only a receipt's
        "UPDATE notifications SET status = 'read', receipt_at = '2026-12-01 10:00:05' WHERE id = 3",
        "INSERT INTO held_receipts (provider, message_id, delivered, reported_at, received_at)"
        " VALUES ('webhook', 'x', true, '2026-12-01 10:00:05', '2026-12-01 10:00:06')",
    ],
)
def test_the_upgraded_database_refuses(old_database, change):
    url, engine = old_database
    schema.upgrade(engine)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(sa.text(change))


def test_a_held_receipt_is_held_once(old_database):
    url, engine = old_database
    schema.upgrade(engine)
    insert = sa.text(
        "INSERT INTO held_receipts (provider, message_id, delivered, reported_at, received_at)"
        " VALUES ('aliyun', '1^0', true, '2026-12-01 10:00:05', '2026-12-01 10:00:06')"
    )
    with engine.begin() as connection:
        connection.execute(insert)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(insert)


def test_downgrade_to_0003_makes_receipts_sent_again_and_upgrade_again_keeps_the_rows(old_database):
    url, engine = old_database
    schema.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "UPDATE notifications SET status = 'delivered', sender = 'aliyun', receipt_at = '2026-12-01 10:00:05'"
            " WHERE id = 3"
        ))  # fmt: skip
    before = rows(engine, OLD)
    downgrade(engine, "0003")
    assert revision(engine) == "0003"
    after = rows(engine, OLD)
    assert after[2][OLD.index("status")] == "sent" and after[:2] + after[3:] == before[:2] + before[3:]
    with engine.connect() as connection:
        assert "held_receipts" not in sa.inspect(connection).get_table_names()
    assert schema.upgrade(engine)["to_revision"] == schema.head_revision()
    assert rows(engine, OLD) == after
