"""Idempotency keys through a real worker (``celery worker --beat``, two pool processes) and Redis: one
publish message delivered twice, a pool process SIGKILLed in the middle of a call with a key (run again,
applied once) and of one without (answered ``worker_lost``, applied never), two pool processes racing
one key, a key reused for another call, a call held past PostgreSQL's lock timeout.

A test that needs a call held in the middle takes a lock the call needs: on PostgreSQL the client's row
``FOR UPDATE`` (``publish_order`` locks it ``FOR SHARE``), on SQLite the database's write lock (``BEGIN
IMMEDIATE``). It keeps it well under the lock timeout (5 s), except where the timeout is the point.
Those tests keep beat quiet (on SQLite a scan or a sweep would take the second pool process, waiting on
the same lock); a call's own after-commit sweep still sends its SMS.
"""

import json
import os
import re
import signal
import socket
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cache

import pytest
import sqlalchemy as sa

from models import IdempotencyKey, LedgerEntry, Notification, Order, OrderEvent, Violation
from models.states import LedgerKind, NotificationKind, NotificationStatus, OrderEventKind
from tests.market import Market
from tests.support import REDIS_URL
from worker.database.engines import POSTGRES_LOCK_TIMEOUT_S, make_engine
from worker.runtime.celery_config import make_app
from worker.settings import Settings

WAIT = 15  # seconds: a hang guard for every answer, not a speed target
QUIET = {"XINGTU_SCAN_INTERVAL": "60", "XINGTU_DISPATCH_INTERVAL": "60"}
on_postgresql = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)


@cache
def _caller():
    return make_app(Settings(broker_url=REDIS_URL))


def send(name: str, task_id: str | None = None, **kwargs):
    """A task of the API sent by name through Redis, as another service sends it: its AsyncResult."""
    return _caller().send_task(f"xingtu.{name}", kwargs=kwargs, task_id=task_id)


def call(name: str, **kwargs) -> dict:
    return send(name, **kwargs).get(timeout=WAIT)


HOST = f"w0@{socket.gethostname()}"  # the first worker ``start_worker`` starts (``--hostname=w0@%h``)


def inspect():
    return _caller().control.inspect(destination=[HOST], timeout=2)


def parties(db, database_url: str) -> tuple[int, int]:
    market = Market(db, Settings(database_url=database_url))
    now = datetime.now(timezone.utc)
    return market.client(now=now), market.creator(now=now)


def publish_args(client_id: int, creator_id: int, **changes) -> dict:
    return {"client_id": client_id, "creator_id": creator_id, "title": "夏季新品", "amount_fen": 10_001, **changes}


def counts(db) -> dict[str, int]:
    """The rows a publish writes, table by table, and the keys kept."""
    with db() as session:

        def count(model, *where) -> int:
            return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

        return {
            "orders": count(Order),
            "published events": count(OrderEvent, OrderEvent.event == OrderEventKind.PUBLISHED),
            "escrows": count(LedgerEntry, LedgerEntry.kind == LedgerKind.ESCROW),
            "order_published notifications": count(Notification, Notification.kind == NotificationKind.ORDER_PUBLISHED),
            "keys": count(IdempotencyKey),
        }


ONCE = {"orders": 1, "published events": 1, "escrows": 1, "order_published notifications": 1, "keys": 1}
NEVER = dict.fromkeys(ONCE, 0)


def is_order(answer: object) -> bool:
    return isinstance(answer, dict) and isinstance(answer.get("id"), int) and answer.get("status") == "pending"


def same(*answers: dict) -> bool:
    return len({json.dumps(answer, sort_keys=True, ensure_ascii=False) for answer in answers}) == 1


def wait_until(predicate, what: str, timeout: float = WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := predicate():
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def holding_the_client(database_url: str, client_id: int):
    """Hold what ``publish_order`` needs: the client's row (PostgreSQL) or the write lock (SQLite)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.begin()  # on SQLite BEGIN IMMEDIATE (worker.database.engines): the write lock
            if engine.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT id FROM clients WHERE id = :id FOR UPDATE"), {"id": client_id})
            yield
            connection.rollback()
    finally:
        engine.dispose()


def lock_waiters(database_url: str) -> int:
    """How many backends of this PostgreSQL database wait on a lock (a fresh snapshot per look)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar()  # fmt: skip
    finally:
        engine.dispose()


def running(task_ids: set[str]) -> dict[str, int]:
    """The pids of the pool processes running these tasks, once all of them run (else {})."""
    tasks = (inspect().active() or {}).get(HOST, [])
    pids = {task["id"]: task["worker_pid"] for task in tasks if task.get("worker_pid")}
    return pids if task_ids <= set(pids) else {}


def held_in_the_database(database_url: str, results) -> dict[str, int]:
    """Wait until every call of ``results`` waits on the test's lock; the pool pids running them."""
    pids = wait_until(lambda: running({r.id for r in results}), "the calls to start in the pool")
    if database_url.startswith("postgresql"):
        wait_until(lambda: lock_waiters(database_url) >= len(results), "the calls to wait on the lock")
    else:
        time.sleep(0.3)  # SQLite shows no lock waits: time for the calls to reach their BEGIN IMMEDIATE
    return pids


def pool_pids() -> list[int]:
    return (inspect().stats() or {}).get(HOST, {}).get("pool", {}).get("processes", [])


def gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # dead, not yet reaped
    except (FileNotFoundError, ProcessLookupError):  # reaped before the open, or between it and the read
        return True


def kill_pool_process(pid: int) -> None:
    """SIGKILL one pool process, as the OOM killer would: no chance to clean up.

    The worker may take up to 5 s to notice (Celery's periodic ``maintain_pool``) when the process's
    sentinel does not wake it: always so here with a worker on SQLite, now and then on PostgreSQL."""
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: gone(pid), f"pool process {pid} to die")


def log_lines(worker, *needles: str) -> list[str]:
    return [line for line in worker.log.read_text().splitlines() if all(n in line for n in needles)]


def killed_and_replaced(worker, pid: int, before: list[int]) -> list[int]:
    """The worker's main process lives on, saw ``pid`` die and runs a new pool process in its place."""
    assert worker.process.poll() is None, "the worker's main process died"
    wait_until(lambda: log_lines(worker, f"pid:{pid} exited with 'signal 9 (SIGKILL)'"), "the worker to see it die")
    after = wait_until(lambda: len(pids := pool_pids()) == 2 and pid not in pids and pids, "a replacement process")
    assert len(set(after) - set(before)) == 1, f"pool processes {before} -> {after}"
    return after


# --- the same message twice ----------------------------------------------------------------------------


def test_the_same_publish_message_delivered_twice_applies_once(database_url, broker, start_worker, webhook, db):
    client_id, creator_id = parties(db, database_url)
    task_id = str(uuid.uuid4())
    first = send("publish_order", task_id, **publish_args(client_id, creator_id), idempotency_key="publish-twice")
    [message] = broker.lrange("celery", 0, -1)
    broker.lpush("celery", message)  # the very same bytes (id, delivery tag) again: a redelivery
    worker = start_worker()  # reserves both: they run side by side, one per pool process
    answer = first.get(timeout=WAIT)
    assert is_order(answer), answer
    succeeded = wait_until(lambda: len(lines := log_lines(worker, f"[{task_id}] succeeded")) == 2 and lines,
                           "both deliveries to be answered")  # fmt: skip
    assert len({re.sub(r".* succeeded in [0-9.e-]+s: ", "", line) for line in succeeded}) == 1, succeeded
    retried = call("publish_order", **publish_args(client_id, creator_id), idempotency_key="publish-twice")
    assert same(retried, answer) and retried["id"] == answer["id"]
    assert counts(db) == ONCE

    def sent():
        with db() as session:
            return session.scalars(sa.select(Notification.status)).all() == [NotificationStatus.SENT]

    webhook.wait_for(sent, WAIT, "the order_published SMS")
    assert Counter(webhook.keys()) == {f"order-{answer['id']}:order_published:creator": 1}
    assert len(log_lines(worker, f"[{task_id}] received")) == 2


# --- a pool process killed in the middle of a call -------------------------------------------------------


def test_a_keyed_call_whose_pool_process_is_killed_runs_again_and_applies_once(database_url, broker, start_worker, db):
    worker = start_worker(env=QUIET)
    client_id, creator_id = parties(db, database_url)
    before = pool_pids()
    with holding_the_client(database_url, client_id):  # released as soon as the process is dead
        result = send("publish_order", **publish_args(client_id, creator_id), idempotency_key="killed-1")
        pid = held_in_the_database(database_url, [result])[result.id]
        kill_pool_process(pid)
    answer = result.get(timeout=WAIT)
    assert is_order(answer), answer
    assert counts(db) == ONCE
    killed_and_replaced(worker, pid, before)
    assert len(log_lines(worker, f"[{result.id}] received")) == 2  # delivered again after the kill
    assert len(log_lines(worker, f"[{result.id}] succeeded")) == 1
    assert same(call("publish_order", **publish_args(client_id, creator_id), idempotency_key="killed-1"), answer)
    wait_until(lambda: broker.hlen("unacked") == 0, "the message to be acknowledged")
    assert broker.llen("celery") == 0


@on_postgresql  # the worker_lost answer is the worker's, whatever the database; SQLite adds 5 s (see below)
def test_a_call_without_a_key_whose_pool_process_is_killed_answers_worker_lost(database_url, broker, start_worker, db):
    worker = start_worker(env=QUIET)
    client_id, creator_id = parties(db, database_url)
    before = pool_pids()
    with holding_the_client(database_url, client_id):
        result = send("publish_order", **publish_args(client_id, creator_id))
        pid = held_in_the_database(database_url, [result])[result.id]
        kill_pool_process(pid)
    answer = result.get(timeout=WAIT)  # an answer, not a WorkerLostError raised here
    assert answer["error"]["code"] == "worker_lost", answer
    assert result.state == "SUCCESS"
    killed_and_replaced(worker, pid, before)
    time.sleep(0.5)  # time enough for a redelivery to apply, had there been one
    assert counts(db) == NEVER
    assert len(log_lines(worker, f"[{result.id}] received")) == 1
    assert log_lines(worker, f"[{result.id}]: its worker process died")
    assert broker.llen("celery") == 0 and broker.hlen("unacked") == 0
    assert is_order(call("publish_order", **publish_args(client_id, creator_id)))  # and the worker works on


# --- two processes racing one key ------------------------------------------------------------------------


@on_postgresql
def test_two_pool_processes_racing_one_key_apply_it_once(database_url, start_worker, db):
    worker = start_worker(env=QUIET)
    client_id, creator_id = parties(db, database_url)
    with holding_the_client(database_url, client_id):
        # the first to insert the key waits on the client, the other on the first's uncommitted key
        results = [send("publish_order", **publish_args(client_id, creator_id), idempotency_key="raced") for _ in "ab"]
        pids = held_in_the_database(database_url, results)
        assert len(set(pids.values())) == 2, pids
    answers = [result.get(timeout=WAIT) for result in results]
    assert is_order(answers[0]) and same(*answers), answers
    assert counts(db) == ONCE
    assert all(len(log_lines(worker, f"[{result.id}] succeeded")) == 1 for result in results)


# --- refusals under a key --------------------------------------------------------------------------------


@on_postgresql
def test_a_key_reused_with_other_arguments_is_refused_and_writes_nothing(database_url, start_worker, db):
    start_worker()
    client_id, creator_id = parties(db, database_url)
    first = call("publish_order", **publish_args(client_id, creator_id), idempotency_key="k-1")
    assert is_order(first), first
    with db() as session:
        kept = session.get(IdempotencyKey, "k-1")
    for name, kwargs in (
        ("publish_order", publish_args(client_id, creator_id, amount_fen=20_002)),
        ("publish_order", publish_args(client_id, creator_id, title="另一个标题")),
        ("record_violation", {"creator_id": creator_id, "evidence": "私下接广告"}),
    ):
        refused = call(name, **kwargs, idempotency_key="k-1")
        assert refused["error"]["code"] == "idempotency_key_reused", refused
    assert counts(db) == ONCE
    with db() as session:
        now = session.get(IdempotencyKey, "k-1")
        assert session.scalar(sa.select(sa.func.count()).select_from(Violation)) == 0
    assert (now.call, now.fingerprint, now.answer, now.created_at) == (
        kept.call, kept.fingerprint, kept.answer, kept.created_at
    )  # fmt: skip
    assert same(call("publish_order", **publish_args(client_id, creator_id), idempotency_key="k-1"), first)


@on_postgresql
def test_a_keyed_call_held_past_the_lock_timeout_answers_conflict_and_keeps_no_key(database_url, start_worker, db):
    start_worker(env=QUIET)
    client_id, creator_id = parties(db, database_url)
    with holding_the_client(database_url, client_id):
        started = time.monotonic()
        refused = call("publish_order", **publish_args(client_id, creator_id), idempotency_key="held")
        waited = time.monotonic() - started
    assert refused["error"]["code"] == "conflict", refused
    assert POSTGRES_LOCK_TIMEOUT_S <= waited < POSTGRES_LOCK_TIMEOUT_S + 3, waited
    assert counts(db) == NEVER  # the key's claim went with the rest: free for the retry
    retried = call("publish_order", **publish_args(client_id, creator_id), idempotency_key="held")
    assert is_order(retried), retried
    assert counts(db) == ONCE
