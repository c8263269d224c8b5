"""Migration 0005 (callers' idempotency keys): a new table only. On a database at 0004 holding orders,
the upgrade keeps every row and the schema is the models'; a downgrade drops the keys and nothing else."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from models import Base
from tests.cli.invoke import runner
from tests.support import downgrade, empty_database, revision
from worker.database import schema
from worker.database.engines import make_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def at_0004(request, tmp_path):
    url = empty_database(request, request.param, tmp_path, "m0005")
    engine = make_engine(url)
    schema.upgrade(engine, "0004")
    xingtu = runner(url)
    for command in (["client", "add", "--name", "品牌", "--phone", "13800000001"],
                    ["creator", "add", "--name", "达人", "--phone", "13900000002"]):  # fmt: skip
        assert xingtu(*command).code == 1  # the CLI refuses an old schema: rows go in by SQL
    with engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO clients (name, phone, created_at, status) VALUES ('品牌', '+8613800000001',"
            " '2026-12-01 09:00:00', 'active')"
        ))  # fmt: skip
    yield url, engine
    engine.dispose()


def clients(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text("SELECT * FROM clients ORDER BY id"))]


def test_upgrade_adds_the_keys_table_and_keeps_the_rows(at_0004):
    url, engine = at_0004
    before = clients(engine)
    upgraded = runner(url)("--json", "db", "upgrade")
    assert (upgraded.json["from_revision"], upgraded.json["to_revision"]) == ("0004", "0005")
    assert clients(engine) == before
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        names = {index["name"] for index in sa.inspect(connection).get_indexes("idempotency_keys")}
        assert "ix_idempotency_keys_created_at" in names


def test_downgrade_to_0004_drops_the_keys_only(at_0004):
    url, engine = at_0004
    schema.upgrade(engine)
    xingtu = runner(url)
    assert xingtu("client", "add", "--name", "乙", "--phone", "13800000003", "--idempotency-key", "k").code == 0
    before = clients(engine)
    downgrade(engine, "0004")
    assert revision(engine) == "0004" and clients(engine) == before
    with engine.connect() as connection:
        assert "idempotency_keys" not in sa.inspect(connection).get_table_names()
    assert schema.upgrade(engine)["to_revision"] == "0005"
