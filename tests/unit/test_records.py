"""What makes a notification unique: its subject, kind and recipient, in Python and in SQL alike."""

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from models import Order
from models.states import NotificationKind, Role
from worker.services.records import notification_key, subject


def test_a_key_names_subject_kind_and_recipient():
    key = notification_key(subject("request", 7), NotificationKind.CANCELLATION_REJECTED, Role.CLIENT)
    assert key == "request-7:cancellation_rejected:client"


def test_the_sql_key_is_the_same_text():
    sql = select(notification_key(subject("order", Order.id), NotificationKind.ORDER_CANCELLED, Role.CREATOR))
    compiled = sql.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    assert "'order-' || CAST(orders.id AS VARCHAR) || ':order_cancelled:creator'" in str(compiled)


def test_a_subject_without_an_id_is_refused():
    with pytest.raises(TypeError, match="needs the order's id, got None"):
        subject("order", None)
