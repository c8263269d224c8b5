"""What each run of the two jobs did, for whoever watches the worker: one INFO line when a run did
something (an idle run's line is DEBUG, so an idle worker is quiet), and the run's Prometheus figures
(``worker.runtime.metrics``): its duration, when one last succeeded, its counts, every send's code."""

import logging
import time
from collections.abc import Callable

from worker.services.outbox import DispatchResult
from worker.services.timers import ScanResult

log = logging.getLogger(__name__)
Run = tuple[ScanResult | DispatchResult, bool]  # what ``worker.runtime.runs`` returns


def observed(job: str, run: Callable[[], Run], sender: str) -> Run:
    """Make the run, recording it; a run that raises is counted a failure and re-raised (to be retried)."""
    # Imported here, in the pool process: prometheus_client must first be imported after the metrics
    # endpoint set up its multiprocess mode (``worker.runtime.metrics``).
    from worker.runtime.metrics import JOBS, SENDS

    figures, started = JOBS[job], time.monotonic()
    try:
        result, more = run()
    except BaseException:
        figures.failures.inc()
        raise
    finally:
        elapsed = time.monotonic() - started
        figures.duration.observe(elapsed)
    figures.last_success.set(time.time())
    counts = result.as_dict()
    for code, count in counts.pop("codes", {}).items():
        SENDS.labels(sender, code).inc(count)
    for name, count in counts.items():
        figures.counts.labels(name).inc(count)
    level = logging.INFO if any(counts.values()) else logging.DEBUG
    log.log(level, "%s: %s in %.3f s", job, summary(counts), elapsed)
    return result, more


def summary(counts: dict[str, int]) -> str:
    done = [f"{count} {name.replace('_', ' ')}" for name, count in counts.items() if count]
    return ", ".join(done) or "nothing to do"
