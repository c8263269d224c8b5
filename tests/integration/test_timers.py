"""The scan: reminders, batching, dry runs, and running it again."""

from datetime import timedelta

from models.states import OrderStatus, Role
from tests.market import DAY, HOUR, NOTHING, SECOND, T0, text_of
from worker.database.unit_of_work import transaction
from worker.services import orders, timers

REMIND_AT = T0 + DAY - 2 * HOUR


def test_the_reminder_is_written_two_hours_before_the_deadline_once(market):
    order = market.publish()
    assert market.scan(REMIND_AT - SECOND).acceptance_reminders == 0
    assert market.scan(REMIND_AT).acceptance_reminders == 1
    assert market.scan(REMIND_AT + HOUR).acceptance_reminders == 0
    assert market.sent_to(order.id) == [("order_published", "creator"), ("acceptance_reminder", "creator")]
    assert "2026-11-28 12:00截止接收" in text_of(market.notifications(order.id)[-1])
    assert market.order(order.id).status is OrderStatus.PENDING


def test_no_reminder_for_an_accepted_order(market):
    order = market.publish()
    market.run(orders.accept, order_id=order.id, creator_id=order.creator_id, now=T0 + HOUR)
    assert market.scan(REMIND_AT).acceptance_reminders == 0


def test_a_late_scan_expires_instead_of_reminding(market):
    order = market.publish()
    result = market.scan(T0 + DAY)
    assert (result.expired_orders, result.acceptance_reminders) == (1, 0)
    assert ("acceptance_reminder", "creator") not in market.sent_to(order.id)


def test_a_zero_lead_disables_reminders(market):
    quiet = market.configured(accept_reminder_lead=timedelta(0))
    quiet.publish()
    assert quiet.scan(REMIND_AT).acceptance_reminders == 0


def test_the_scan_works_in_batches_and_gets_everything(market):
    small = market.configured(scan_batch_size=3)
    published = [small.publish(amount_fen=100 + n) for n in range(10)]
    with transaction(small.sessions) as session:
        first = timers.scan_batch(
            session, T0 + DAY, small.settings.cancel_timeout_policy, 3, key_window=small.settings.idempotency_window
        )
    assert first.expired_orders == 3
    assert [small.order(o.id).status for o in published[:4]] == [OrderStatus.CANCELLED] * 3 + [OrderStatus.PENDING]
    assert small.scan(T0 + DAY).expired_orders == 7
    for order in published:
        assert small.sent_to(order.id).count(("order_cancelled", "client")) == 1


def test_dry_run_counts_and_writes_nothing(market):
    market.publish()
    accepted = market.accepted()
    market.request(accepted, Role.CLIENT, now=T0 + 2 * HOUR)
    market.publish(now=T0 + HOUR)
    before = market.dump()
    with market.sessions() as session:
        due = timers.count_due(session, T0 + 3 * DAY, key_window=market.settings.idempotency_window)
    assert due.as_dict() == {
        "expired_orders": 2,
        "timed_out_requests": 1,
        "acceptance_reminders": 0,
        "lifted_suspensions": 0,
        "receipts_applied": 0,
        "receipts_forgotten": 0,
        "idempotency_keys_forgotten": 0,
    }
    with market.sessions() as session:
        assert (
            timers.count_due(session, REMIND_AT, key_window=market.settings.idempotency_window).acceptance_reminders
            == 1
        )
    assert market.dump() == before
    assert market.scan(T0 + 3 * DAY).as_dict() == due.as_dict()


def test_a_scan_with_nothing_due_writes_nothing(market):
    market.publish()
    before = market.dump()
    assert market.scan(T0 + HOUR).as_dict() == NOTHING
    assert market.dump() == before
