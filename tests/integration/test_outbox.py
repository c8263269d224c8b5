"""The outbox relay against the database, with a fake sender: leases, retries, dead letters."""

import random
import threading
import time
from datetime import timedelta

import pytest

from models.states import NotificationStatus as Status
from tests.market import HOUR, SECOND, T0
from worker.errors import InvalidState
from worker.notify.senders import PermanentSendError, TransientSendError
from worker.services import outbox


class FakeSender:
    """Records what it is asked to send; ``fail`` maps an idempotency key to errors to raise first."""

    def __init__(self, fail: dict | None = None):
        self.calls = []
        self.fail = fail or {}
        self.lock = threading.Lock()

    def send(self, sms):
        with self.lock:
            self.calls.append(sms)
            errors = self.fail.get(sms.id)
            if errors:
                raise errors.pop(0)
        return f"msg-{sms.id}"

    @property
    def keys(self):
        return [sms.id for sms in self.calls]


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def deliver(market, sender, at, **kwargs):
    return outbox.deliver(market.sessions, sender, market.settings, clock=Clock(at), **kwargs)


def by_key(market):
    return {n.idempotency_key: n for n in market.notifications()}


def test_due_notifications_are_sent_once_with_their_key(market):
    order = market.publish()
    sender = FakeSender()
    assert deliver(market, sender, T0 + SECOND).sent == 1
    (sms,) = sender.calls
    assert (sms.id, sms.to, sms.kind, sms.order_id) == (f"order-{order.id}:order_published:creator", "+8613900000002",
                                                        "order_published", order.id)  # fmt: skip
    assert sms.params["title"] == "夏季新品推广" and sms.text.startswith("【星图】")
    note = by_key(market)[sms.id]
    assert (note.status, note.attempts, note.sent_at, note.provider_message_id) == (
        Status.SENT, 1, T0 + SECOND, f"msg-{sms.id}",
    )  # fmt: skip
    assert deliver(market, sender, T0 + HOUR).claimed == 0 and len(sender.calls) == 1


def test_a_transient_failure_backs_off_then_succeeds(market):
    market.publish()
    key = market.notifications()[0].idempotency_key
    sender = FakeSender({key: [TransientSendError("503"), TransientSendError("timeout")]})
    base = market.settings.send_backoff
    assert deliver(market, sender, T0).retrying == 1
    first = by_key(market)[key]
    assert first.status is Status.PENDING and first.attempts == 1 and first.last_error == "TransientSendError: 503"
    assert T0 + base * 0.5 <= first.due_at <= T0 + base
    assert deliver(market, sender, first.due_at - SECOND).claimed == 0
    assert deliver(market, sender, first.due_at).retrying == 1
    second = by_key(market)[key]
    assert first.due_at + base <= second.due_at <= first.due_at + 2 * base  # the step doubled
    assert deliver(market, sender, second.due_at).sent == 1
    assert by_key(market)[key].attempts == 3 and sender.keys == [key] * 3


def test_a_permanent_failure_is_dead_at_once(market):
    market.publish()
    key = market.notifications()[0].idempotency_key
    assert deliver(market, FakeSender({key: [PermanentSendError("400 bad number")]}), T0).dead == 1
    note = by_key(market)[key]
    assert (note.status, note.attempts, note.last_error) == (Status.DEAD, 1, "400 bad number")
    assert deliver(market, FakeSender(), T0 + HOUR).claimed == 0


def test_too_many_attempts_end_dead(market):
    few = market.configured(send_max_attempts=2)
    few.publish()
    key = few.notifications()[0].idempotency_key
    sender = FakeSender({key: [TransientSendError("1"), TransientSendError("2"), TransientSendError("3")]})
    deliver(few, sender, T0)
    assert deliver(few, sender, T0 + HOUR).dead == 1
    assert by_key(few)[key].status is Status.DEAD and len(sender.calls) == 2


def test_each_send_is_counted_by_the_code_the_sender_answered(market):
    for _ in range(4):
        market.publish()
    first, second, third = (note.idempotency_key for note in market.notifications()[:3])
    failures = {
        first: [PermanentSendError("bad number", "isv.MOBILE_NUMBER_ILLEGAL")],
        second: [TransientSendError("x")],
    }
    result = deliver(market, FakeSender({**failures, third: [ZeroDivisionError("oops")]}), T0)
    assert result.codes == {"isv.MOBILE_NUMBER_ILLEGAL": 1, "transient": 1, "error": 1, "OK": result.sent}
    assert result.as_dict()["codes"] == dict(result.codes) and result.sent >= 1


def test_a_sender_bug_is_retried_like_a_transient_failure(market):
    market.publish()
    key = market.notifications()[0].idempotency_key
    assert deliver(market, FakeSender({key: [ZeroDivisionError("oops")]}), T0).retrying == 1
    assert by_key(market)[key].last_error == "ZeroDivisionError: oops"


def test_a_claim_holds_a_lease_and_a_dead_claimer_is_taken_over(market):
    market.publish()
    lease = market.settings.send_lease
    with market.sessions.begin() as session:  # a worker claims, then dies before recording anything
        (row,) = outbox.claim(session, T0, lease=lease, limit=10)
    key = row.idempotency_key
    assert by_key(market)[key].status is Status.SENDING
    sender = FakeSender()
    assert deliver(market, sender, T0 + lease - SECOND).claimed == 0
    assert deliver(market, sender, T0 + lease).sent == 1
    assert sender.keys == [key] and by_key(market)[key].attempts == 2


def test_a_late_outcome_does_not_overwrite_the_claim_that_took_over(market):
    market.publish()
    lease = market.settings.send_lease
    with market.sessions.begin() as session:
        (stale,) = outbox.claim(session, T0, lease=lease, limit=10)
    deliver(market, FakeSender({stale.idempotency_key: [TransientSendError("x")]}), T0 + lease)
    late = {"b_id": stale.id, "b_attempts": stale.attempts, "sent_at": T0 + lease, "provider_message_id": "late"}
    with market.sessions.begin() as session:  # the first claimer wakes up and reports success
        assert outbox._record(session, "console", outbox._Outcomes(sent=[late]), T0).sent == 0
    note = by_key(market)[stale.idempotency_key]
    assert note.status is Status.PENDING and note.provider_message_id is None


def test_no_send_starts_too_late_to_finish_within_the_lease(market):
    for _ in range(3):
        market.publish()
    lease, timeout = market.settings.send_lease, market.settings.sms_webhook_timeout
    clock = Clock(T0)
    sender = FakeSender()
    original = sender.send

    def slow_send(sms):  # each send takes long enough that the third would start too late
        clock.now += (lease - timeout) / 2
        return original(sms)

    sender.send = slow_send
    result = outbox.deliver(market.sessions, sender, market.settings, clock=clock)
    assert (result.sent, result.released) == (2, 1)
    released = [n for n in market.notifications() if n.status is Status.PENDING]
    assert len(released) == 1 and released[0].attempts == 0 and released[0].due_at == clock.now


def test_claims_at_once_split_the_rows(market):
    for _ in range(30):
        market.publish()
    small = market.configured(send_batch_size=4)
    sender = FakeSender()
    barrier = threading.Barrier(3)

    def drain():
        barrier.wait()
        while deliver(small, sender, T0).claimed:
            pass

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sender.keys) == sorted(n.idempotency_key for n in market.notifications())
    assert {n.status for n in market.notifications()} == {Status.SENT}


def test_retry_revives_a_dead_notification(market):
    market.publish()
    key = market.notifications()[0].idempotency_key
    deliver(market, FakeSender({key: [PermanentSendError("no")]}), T0)
    note_id = by_key(market)[key].id
    revived = market.run(outbox.revive, notification_id=note_id, now=T0 + HOUR)
    assert (revived.status, revived.attempts, revived.due_at) == (Status.PENDING, 0, T0 + HOUR)
    assert deliver(market, FakeSender(), T0 + HOUR).sent == 1
    with pytest.raises(InvalidState, match="is sent; only a dead one can be retried"):
        market.run(outbox.revive, notification_id=note_id, now=T0 + HOUR)


@pytest.mark.parametrize("attempts, low, high", [(1, 15, 30), (2, 30, 60), (3, 60, 120), (20, 1800, 3600)])
def test_backoff_doubles_with_jitter_up_to_an_hour(attempts, low, high):
    rng = random.Random(7)
    for _ in range(50):
        delay = outbox.backoff(attempts, timedelta(seconds=30), rng)
        assert timedelta(seconds=low) <= delay <= timedelta(seconds=high)


def test_outcomes_are_recorded_as_the_batch_goes(market):
    """A worker killed in the middle of a slow batch must not leave the sends it already made
    unrecorded: they would all go out again."""
    for _ in range(3):
        market.publish()
    seen = []

    class Slow(FakeSender):
        def send(self, sms):
            seen.append(sorted(n.status.value for n in market.notifications()))
            time.sleep(outbox.RECORD_EVERY * 1.5)
            return super().send(sms)

    assert deliver(market, Slow(), T0).sent == 3
    assert seen[-1] == ["sending", "sent", "sent"]  # while sending the third, the first two are recorded
