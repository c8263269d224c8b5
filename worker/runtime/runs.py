"""The worker's recurring jobs as bounded runs: batch after batch, each its own transaction, until
nothing is left or the run's time budget is spent. A run that stops with work left says so, and the
task re-queues itself, so a day's backlog drains in many short transactions instead of one long one."""

from collections.abc import Callable
from datetime import datetime
from time import monotonic

from worker.clock import utcnow
from worker.database.unit_of_work import transaction
from worker.runtime.context import Runtime
from worker.services import outbox, timers

# How long a sweep that commits keep feeding waits before it claims again, off its process: their rows
# gather into one batch, and the pool process serves calls meanwhile instead of sending one row at a time.
GATHER = 0.05


def _makes_way(runtime: Runtime, started: float) -> bool:
    """Whether a run with work left ends here and queues itself again: its budget is spent, or a task API
    call waits for a pool process (so a call waits for a batch, not for a whole run)."""
    return monotonic() - started >= runtime.settings.run_budget.total_seconds() or runtime.handoff.calls_waiting()


def scan(runtime: Runtime, clock: Callable[[], datetime] = utcnow) -> tuple[timers.ScanResult, bool]:
    """Apply due timers; returns what was applied and whether more may be due."""
    settings, started, total = runtime.settings, monotonic(), timers.ScanResult()
    limit = settings.scan_batch_size
    while True:
        with transaction(runtime.sessions, runtime.after_commit) as session:
            batch = timers.scan_batch(
                session, clock(), settings.cancel_timeout_policy, limit, key_window=settings.idempotency_window
            )
        total += batch
        full = max(batch.as_dict().values()) >= limit
        if not full or _makes_way(runtime, started):
            return total, full


def dispatch(runtime: Runtime, clock: Callable[[], datetime] = utcnow) -> tuple[outbox.DispatchResult, float | None]:
    """Send due notifications; returns the outcomes and, when more may be due, in how many seconds to run
    again (None when nothing is left)."""
    settings, started, total = runtime.settings, monotonic(), outbox.DispatchResult()
    while True:
        batch = outbox.deliver(runtime.sessions, runtime.sender, settings, clock=clock)
        total += batch
        if batch.claimed < settings.send_batch_size:  # it took all that was due, except what commits since marked
            return total, GATHER if runtime.handoff.sweep_ending() else None
        if _makes_way(runtime, started):
            return total, 0.0
