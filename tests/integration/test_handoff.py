"""The hand-off after commit, against a real Redis (XINGTU_TEST_REDIS_URL's database, flushed): commits
coalesce into the sweep queued or under way, which runs again for them; a burst of notifications still
gets a sweep per batch; a process keeps one broker connection however many commits it makes; the scan's
cancellations say how many SMS they wrote; and a run with work left makes way for a waiting call."""

import pytest

from models.states import NotificationKind
from tests.market import HOUR, T0
from tests.support import REDIS_URL
from worker.database.unit_of_work import transaction
from worker.runtime import runs
from worker.runtime.celery_config import DEFAULT_QUEUE, JOBS_QUEUE, make_app
from worker.runtime.context import Runtime
from worker.runtime.handoff import MAX_SWEEPS, QUEUED, WANTED, Handoff
from worker.services import timers
from worker.settings import Settings


@pytest.fixture
def handoff(broker):
    app = make_app(Settings(broker_url=REDIS_URL))
    yield Handoff(app, batch=100, lapse_seconds=10)
    app.close()


def queued(broker) -> int:
    return broker.llen(JOBS_QUEUE)  # each message one xingtu.dispatch


def test_commits_coalesce_into_the_sweep_queued_or_under_way_which_claims_again_for_them(broker, handoff):
    for _ in range(20):
        assert handoff.sweeps(1)
    assert queued(broker) == 1
    assert 0 < broker.ttl(QUEUED) <= 10 and 0 < broker.ttl(WANTED) <= 10, "the keys lapse within a dispatch interval"
    assert handoff.sweep_ending(), "commits came after the sweep was queued: it runs again"
    assert (broker.exists(QUEUED), broker.exists(WANTED)) == (1, 0), "still under way: the next commit marks"
    assert handoff.sweeps(1) and queued(broker) == 1 and broker.exists(WANTED) == 1
    assert handoff.sweep_ending()
    assert not handoff.sweep_ending(), "nothing came since: it ends"
    assert broker.exists(QUEUED, WANTED) == 0
    assert handoff.sweeps(3) and handoff.sweeps(1)
    assert queued(broker) == 2, "after a sweep ended, the next commit queues one of its own"


def test_a_sweep_under_way_takes_the_rows_of_a_commit_made_while_it_sends(market, handoff, broker):
    """The hand-off and the outbox together: a commit during a sweep queues nothing, and the sweep runs
    again shortly after for its row (its process free meanwhile), then ends."""
    runtime = Runtime(market.settings, handoff.app, market.sessions)
    sent = []

    class Sender:
        def send(self, sms):
            if not sent:  # while the sweep sends its first row, another publish commits and hands off
                market.publish()
                assert handoff.sweeps(1)
            sent.append(sms.id)
            return f"msg-{sms.id}"

    runtime.__dict__.update(handoff=handoff, sender=Sender())  # the cached properties, the test's own
    market.publish()
    assert handoff.sweeps(1) and queued(broker) == 1
    broker.delete(JOBS_QUEUE)  # a worker takes the queued sweep: from here on it is under way
    result, again = runs.dispatch(runtime, clock=lambda: T0)
    assert queued(broker) == 0, "the commit during the sweep queued none"
    assert (result.sent, again) == (1, runs.GATHER), sent
    result, again = runs.dispatch(runtime, clock=lambda: T0)  # as the task queues itself to run again
    assert (result.sent, again) == (1, None), sent
    assert sent == ["order-1:order_published:creator", "order-2:order_published:creator"]
    assert broker.exists(QUEUED, WANTED) == 0


def test_a_burst_gets_a_sweep_per_batch_even_with_one_queued(broker, handoff):
    handoff.sweeps(1)
    assert handoff.sweeps(250)
    assert queued(broker) == 1 + 3
    assert handoff.sweeps(100 * MAX_SWEEPS * 3)
    assert queued(broker) == 1 + 3 + MAX_SWEEPS


def test_a_process_keeps_one_connection_however_many_commits(broker, handoff):
    def connections_made() -> int:  # by anyone, since the server started: a margin for other clients
        return broker.info("stats")["total_connections_received"]

    handoff.sweeps(1)
    before = connections_made()
    for _ in range(50):
        handoff.sweep_ending()
        handoff.sweeps(1)
    assert connections_made() - before < 10, "a connection per commit would be 50 or more"
    assert queued(broker) == 51


def test_even_a_wrong_count_queues_a_sweep_so_the_key_never_holds_commits_back(broker, handoff):
    assert handoff.sweeps(0) and queued(broker) == 1


def test_a_scan_that_cancels_tells_the_hand_off_every_sms_it_wrote(market):
    """On both databases: PostgreSQL's driver gives no row count for the scan's INSERT ... SELECT, and a
    count of -1 once meant no sweep was queued for the cancellations' SMS."""
    for _ in range(3):
        market.publish()
    counts = []
    with transaction(market.sessions, counts.append) as session:
        settings = market.settings
        timers.scan_batch(
            session, T0 + 25 * HOUR, settings.cancel_timeout_policy, 100, key_window=settings.idempotency_window
        )
    cancelled = [n for n in market.notifications() if n.kind is NotificationKind.ORDER_CANCELLED]
    assert len(cancelled) == 6 and counts == [6]


def test_a_run_with_work_left_makes_way_for_a_waiting_call(market, handoff, broker):
    """Between batches a scan or a sweep looks whether a task API call waits on the default queue; if
    one does, the run ends there and queues itself again, so the call waits for a batch, not a run."""
    market = market.configured(send_batch_size=1, scan_batch_size=1)
    runtime = Runtime(market.settings, handoff.app, market.sessions)

    class Sender:
        def send(self, sms):
            return f"msg-{sms.id}"

    runtime.__dict__.update(handoff=handoff, sender=Sender())
    for _ in range(4):
        market.publish()
    result, again = runs.dispatch(runtime, clock=lambda: T0)
    assert (result.sent, again) == (4, None), "no call waiting: the run goes to the end"
    handoff.app.send_task("xingtu.publish_order", kwargs={})  # a call, waiting for a pool process
    result, more = runs.scan(runtime, clock=lambda: T0 + 25 * HOUR)
    assert (result.expired_orders, more) == (1, True), "one batch, then the call's turn"
    result, again = runs.dispatch(runtime, clock=lambda: T0 + 25 * HOUR)
    assert (result.sent, again) == (1, 0.0)
    broker.delete(DEFAULT_QUEUE)  # the call was taken
    result, more = runs.scan(runtime, clock=lambda: T0 + 25 * HOUR)
    assert (result.expired_orders, more) == (3, False)
