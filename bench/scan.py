"""The scan benchmark: project, floor and peer on fresh copies of the same seeded database, each in
its own process (so its peak memory is its own), and the time of a scan with nothing due."""

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from bench import data
from models.states import TimeoutPolicy
from worker.database.engines import make_engine, session_factory
from worker.database.unit_of_work import transaction
from worker.services import timers
from worker.settings import Settings

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PEER_MAX = int(os.environ.get("BENCH_PEER_MAX", "2000"))
CONTENDERS = ("project", "floor", "peer")


def run(contender: str, backend: str, orders: int, due: int) -> dict:
    """One contender on a fresh copy: orders cancelled, seconds, orders per second, peak memory."""
    url = data.copy(data.template(backend, orders, due))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.contenders", contender, url, REDIS, str(PEER_MAX)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{contender} on {backend} failed:\n{exc.stderr[-3000:]}") from None
    finally:
        data.drop(url)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "rate": result["cancelled"] / result["seconds"]}


def noop_scan_ms(backend: str, orders: int, runs: int = 50) -> float:
    """Median milliseconds of one scan pass (one transaction, every timer) with ``orders`` live orders
    and nothing due, as beat runs it every interval."""
    url = data.copy(data.template(backend, orders, 0))
    engine = make_engine(url)
    sessions = session_factory(engine)
    batch = Settings().scan_batch_size
    try:
        timings = []
        for _ in range(runs + 5):
            started = time.perf_counter()
            with transaction(sessions) as session:
                timers.scan_batch(session, data.NOW, TimeoutPolicy.AUTO_CONFIRM, batch, key_window=timedelta(hours=24))
            timings.append((time.perf_counter() - started) * 1000)
        return statistics.median(timings[5:])  # the first runs warm the pool and the statement cache
    finally:
        engine.dispose()
        data.drop(url)
