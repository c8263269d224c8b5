"""No-op parts for the dispatch benchmark: an SMS sender that sends nothing, and a bare Celery app
whose task does nothing but note when it ran (the reference: Celery's own floor through Redis)."""

import os
import time

import redis
from celery import Celery


class NoopSender:
    def __init__(self, settings=None):
        pass

    def send(self, sms) -> str:
        return sms.id


BARE_REDIS = os.environ.get("BENCH_BARE_REDIS_URL", "redis://127.0.0.1:6379/15")
app = Celery("bare", broker=BARE_REDIS)
app.conf.update(task_serializer="json", accept_content=["json"], worker_prefetch_multiplier=1, task_ignore_result=True)
_counter = None


@app.task(name="bench.noop")
def noop() -> None:
    """Counts itself and keeps the first and last instants it ran."""
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(BARE_REDIS)
    now = time.time()
    pipe = _counter.pipeline()
    pipe.incr("bench:done")
    pipe.set("bench:first", now, nx=True)
    pipe.set("bench:last", now)
    pipe.execute()
