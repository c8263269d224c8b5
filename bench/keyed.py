"""What an idempotency key costs a caller: ``xingtu.publish_order`` round trips through real Redis and a
real worker, with a fresh key each, without one, and repeated with a key already answered, taken in
turn (keyed, unkeyed, repeat, keyed, ...) in the same run so the machine's noise falls on all three.

Sequential calls, one in flight: this is latency, what one caller waits; the hand-off of the outbox
sweep after each publish is part of it for all three alike.
"""

import os
import statistics
import time

import redis

from bench import data, processes
from worker.runtime.celery_config import make_app
from worker.settings import Settings

CALLS = int(os.environ.get("BENCH_KEYED_CALLS", "300"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def measure(backend: str, calls: int = CALLS) -> dict[str, float]:
    """Median and p99 milliseconds per publish for each kind of call, and keyed/unkeyed."""
    url = data.copy(data.template(backend, 1000, 0))  # parties 1..N exist; nothing is due
    env = {"XINGTU_DATABASE_URL": url, "XINGTU_BROKER_URL": REDIS, "XINGTU_DISPATCH_INTERVAL": "3600",
           "XINGTU_SCAN_INTERVAL": "3600", "XINGTU_SMS_SENDER": "bench.noop:NoopSender"}  # fmt: skip
    redis.Redis.from_url(REDIS).flushdb()
    timings: dict[str, list[float]] = {"unkeyed": [], "keyed": [], "repeat": []}
    try:
        with processes.worker("worker.app", env, concurrency=2):
            publish = make_app(Settings(database_url=url, broker_url=REDIS)).signature("xingtu.publish_order")

            def timed(kind: str, n: int, **key: str) -> None:
                started = time.perf_counter()
                answer = publish.apply_async(kwargs={"client_id": 1, "creator_id": 1 + n % 100, "title": "t",
                                                     "amount_fen": 100 + n, **key}).get(timeout=30)  # fmt: skip
                timings[kind].append((time.perf_counter() - started) * 1000)
                assert "error" not in answer, answer

            for n in range(calls + 20):  # the first 20 of each warm the pools
                timed("keyed", n, idempotency_key=f"bench-{n}")
                timed("unkeyed", n)
                timed("repeat", n, idempotency_key=f"bench-{n}")  # the same call again: its recorded answer
    finally:
        data.drop(url)
    result = {}
    for kind, values in timings.items():
        values = values[20:]
        result[f"{kind}_p50_ms"] = statistics.median(values)
        result[f"{kind}_p99_ms"] = statistics.quantiles(values, n=100)[98]
    result["keyed/unkeyed"] = result["keyed_p50_ms"] / result["unkeyed_p50_ms"]
    return result


def report(results: dict[str, dict[str, float]]) -> None:
    for backend, run in results.items():
        print(f"publish_order through the worker, {backend}: p50/p99 ms unkeyed {run['unkeyed_p50_ms']:.1f}/"
              f"{run['unkeyed_p99_ms']:.1f}, keyed {run['keyed_p50_ms']:.1f}/{run['keyed_p99_ms']:.1f}, repeated"
              f" key {run['repeat_p50_ms']:.1f}/{run['repeat_p99_ms']:.1f}; keyed/unkeyed p50"
              f" {run['keyed/unkeyed']:.2f}")  # fmt: skip
