"""Reads take no write lock and cannot write."""

import pytest
import sqlalchemy as sa

from models import Client, Order
from tests.market import HOUR, T0
from worker.database.engines import make_engine, read_session_factory
from worker.database.unit_of_work import transaction
from worker.services import orders


def test_a_reader_in_the_middle_of_a_list_does_not_hold_up_writers(market, engine):
    order = market.publish()
    with read_session_factory(engine)() as reader:
        rows = reader.scalars(sa.select(Order).execution_options(yield_per=1))
        next(iter(rows))  # a pager stopped half way through `order list`
        accepted = market.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=T0 + HOUR)
    assert accepted.status.value == "accepted"


@pytest.mark.postgresql
def test_a_read_session_cannot_write_on_postgresql(postgres_url):
    engine = make_engine(postgres_url)
    with pytest.raises(sa.exc.InternalError, match="read-only transaction"):
        with transaction(read_session_factory(engine)) as session:
            session.add(Client(name="x", phone="+8613800000009", created_at=T0))
            session.flush()
    engine.dispose()
