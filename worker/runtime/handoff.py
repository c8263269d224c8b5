"""Handing work to the worker through the broker without ever depending on it.

A writer has already committed when it gets here: its outbox rows are safe in the database and beat's
scheduled sweep will send them whatever happens next. So the hand-off fails fast (one-second socket
timeouts, no retries) and a failure is a warning, not an error.

It is on every writing call's path, so it costs one round trip to Redis, usually none:

- each process keeps one broker connection and producer for it (``Handoff``), instead of opening a
  connection per commit;
- commits coalesce. While a sweep is queued or under way (the ``QUEUED`` key in Redis, set when one is
  queued and cleared as it ends), a commit queues none and marks ``WANTED`` instead: the sweep, when it
  has taken all that was due, finds the mark and runs again shortly after (``sweep_ending``), so a burst
  of commits is sent in a few batches by one sweep instead of one sweep a commit. The check and the
  mark are one step on the Redis side, as are the sweep's look and its clearing, so a commit is either
  seen by the sweep under way or finds none and queues its own. The keys lapse after a dispatch
  interval, so a sweep lost with its message, or a key set by a publish that then failed, delays nothing
  past beat's own sweep.
"""

import logging
from functools import cached_property

from celery import Celery
from kombu.pools import ProducerPool

log = logging.getLogger(__name__)
MAX_SWEEPS = 8  # at once, for one commit: more than a worker pool runs in parallel is waste
FAIL_FAST = {"socket_connect_timeout": 1, "socket_timeout": 1, "max_retries": 0}
QUEUED = "xingtu:sweep-queued"  # a sweep is queued or under way
WANTED = "xingtu:sweep-wanted"  # a commit since then has rows for it
# KEYS QUEUED, WANTED; ARGV lapse: 1 if this commit is to queue the sweep, else 0 with WANTED marked.
_COMMITTED = """
if redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[1]) then return 1 end
redis.call('SET', KEYS[2], 1, 'EX', ARGV[1])
return 0
"""
# KEYS QUEUED, WANTED: 1 if a commit marked rows (the mark cleared), else 0 with the sweep's key cleared.
_ENDING = """
if redis.call('DEL', KEYS[2]) == 1 then return 1 end
redis.call('DEL', KEYS[1])
return 0
"""


class Handoff:
    """This process's way to the broker for queueing sweeps (``xingtu.dispatch``) after commits, and for
    a run's look at whether calls are waiting."""

    def __init__(self, app: Celery, batch: int, lapse_seconds: float):
        self.app, self.batch, self.lapse = app, batch, max(1, round(lapse_seconds))

    @cached_property
    def _producers(self) -> ProducerPool:
        limit = self.app.conf.broker_pool_limit  # a process calling from several threads (Celery's default: 10)
        connections = self.app.connection_for_write(transport_options=FAIL_FAST).Pool(limit=limit)
        return ProducerPool(connections, limit=limit)

    def sweeps(self, new_notifications: int) -> bool:
        """Queue sweeps for new notifications: one per batch of them so several worker processes send in
        parallel, or none while one is queued already; False if the broker could not take them."""
        # At least one whatever the count says: the key set with no sweep queued would hold others back.
        wanted = min(max(1, -(-new_notifications // self.batch)), MAX_SWEEPS)
        try:
            with self._producers.acquire(block=True, timeout=1) as producer:
                client = producer.channel.client
                queued_already = not client.eval(_COMMITTED, 2, QUEUED, WANTED, self.lapse)
                if queued_already and wanted == 1:
                    return True
                for _ in range(wanted):
                    self.app.send_task("xingtu.dispatch", producer=producer, retry=False, ignore_result=True)
        except Exception as exc:  # any broker failure: the rows are committed, the scheduled sweep delivers them
            log.warning("could not queue the sending of %d notification%s (%s); the outbox sweep will send them",
                        new_notifications, "" if new_notifications == 1 else "s", exc)  # fmt: skip
            return False
        return True

    def sweep_ending(self) -> bool:
        """A sweep took all that was due: True if a commit marked rows for it since (the mark is cleared,
        and the sweep stays queued-or-under-way, to claim again); False once it is over (the key cleared,
        so the next commit queues a sweep of its own). Without the broker, False: the keys lapse on
        their own, and beat's sweep takes what is left."""
        return bool(self._ask("eval", _ENDING, 2, QUEUED, WANTED))

    def calls_waiting(self) -> bool:
        """Whether task API calls wait on the broker for a pool process (one LLEN of the default queue).
        Without the broker, False: the run goes on, as it would with no call to serve."""
        return bool(self._ask("llen", self.app.conf.task_default_queue))

    def _ask(self, command: str, *args):
        """One Redis command on this process's connection; None when the broker cannot answer."""
        try:
            with self._producers.acquire(block=True, timeout=1) as producer:
                return getattr(producer.channel.client, command)(*args)
        except Exception as exc:  # whatever the transport raises: the callers' answer is "cannot say"
            log.debug("the broker did not answer %s (%s)", command, exc)
            return None


def broker_problem(app: Celery) -> str | None:
    """Why the broker cannot be reached right now, or None when it answers."""
    try:
        with app.connection_for_write(transport_options=FAIL_FAST) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # whatever the transport raises, it is the answer to "why not"
        return str(exc).strip() or type(exc).__name__
    return None
