"""The hot path (issue 15): what the platform calls all day, against what it could cost at the least.

1. **The task API against bare Celery**, on PostgreSQL, through real Redis: a real worker (``celery -A
   worker.app worker``, 2 processes, no beat) answers ``xingtu.publish_order``, ``xingtu.accept_order``,
   ``xingtu.record_upload`` and ``xingtu.request_cancellation`` + ``xingtu.respond_to_cancellation``
   (confirm) as one pair; a bare Celery app (``bare`` below: a task that does nothing, its own queue in
   the same Redis database, its own worker of 2 processes) is the reference. For each: p50/p99 of
   sequential round trips (``send_task`` + ``.get()``, one in flight) and calls/s with many in flight
   (the oldest answer awaited whenever the window is full). The calls seed one another: publish creates
   the orders accept takes, which upload and the cancellations then use, one order per call.
2. **Each use case in-process against its raw-SQL floor**, on PostgreSQL and SQLite: the use case inside
   ``transaction()`` on a real ``Runtime``'s session factory, with its answer's JSON as the task makes it
   and the after-commit hand-off off, against the same rows (order, audit event, ledger entries, outbox
   rows, request), with the reads of the parties and the order the checks need, written with the bare
   driver (psycopg with its default automatic prepared statements, sqlite3) in one transaction per call.
   The two alternate call by call in the same database. Beside them, the hand-off after commit
   (``Runtime.after_commit``), ms per commit amortised over a burst against the same Redis: alone (no
   worker starting the sweeps), and while the task API's worker takes them.
3. **The CLI's wall time** as subprocesses: ``xingtu --json order show 1`` (a read), ``xingtu --json client
   add`` (a write), ``python -c pass``; medians.
4. **Under the scan**: on a copy holding BENCH_TASK_SCAN_DUE orders past their deadline by the real clock,
   the worker's scan (``xingtu.scan``, as beat queues it) cancels them while publish round trips run one
   after another; their p99 against the same worker's idle p99 just before; then the same while the
   outbox the scan filled is sent (noop sender; no beat here, so an outbox not sent within OUTBOX_WAIT of
   the scan is reported as not done, with what it left).

Sizes: BENCH_TASK_CALLS (2000 calls with BENCH_TASK_INFLIGHT=64 in flight), BENCH_TASK_SEQUENTIAL (300
round trips, and in-process calls), BENCH_TASK_SCAN_DUE (100000), BENCH_TASK_CLI_RUNS (10). ``python -m
bench.task_api`` runs this part alone: it prints its block and ``task-api/bare: ...`` and writes
bench/results/task_api.json. Needs PostgreSQL (BENCH_POSTGRES_URL) and Redis (BENCH_REDIS_URL).
"""

import json
import os
import re
import sqlite3
import statistics
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery
from sqlalchemy import event, func, make_url, select

from bench import data, processes, record
from models import Notification, Order
from models.states import NotificationStatus, OrderStatus, Role
from worker.clock import utcnow
from worker.database.engines import make_engine, session_factory
from worker.database.unit_of_work import transaction
from worker.runtime.celery_config import JOBS_QUEUE, make_app
from worker.runtime.context import Runtime
from worker.services import cancellation, orders, views
from worker.settings import Settings

CALLS = int(os.environ.get("BENCH_TASK_CALLS", "2000"))
SEQUENTIAL = int(os.environ.get("BENCH_TASK_SEQUENTIAL", "300"))
INFLIGHT = int(os.environ.get("BENCH_TASK_INFLIGHT", "64"))
SCAN_DUE = int(os.environ.get("BENCH_TASK_SCAN_DUE", "100000"))
CLI_RUNS = int(os.environ.get("BENCH_TASK_CLI_RUNS", "10"))
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
WARM = 20  # round trips (and in-process calls) first, not counted: pools, caches, the second pool process
CONCURRENCY = 2
TIMEOUT = 300  # seconds a caller waits for one answer (under the scan, a call may queue behind long runs)
OUTBOX_WAIT = 120  # seconds after the scan for its outbox to be sent (no beat runs the scheduled sweep here)
BACKENDS = ("postgresql", "sqlite")
RESULTS = Path(__file__).parent / "results"

# The reference: Celery's own round trip through the same Redis, a task that does nothing, on its own
# queue so the project's worker never sees it (``celery -A bench.task_api:bare worker``).
bare = Celery("bare", broker=REDIS, backend=REDIS, set_as_current=False)
bare.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                 result_accept_content=["json"], worker_prefetch_multiplier=1, task_default_queue="bench.bare")  # fmt: skip


@bare.task(name="bench.bare_noop")
def bare_noop() -> None:
    return None


# --- the calls ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One call: the task API's name and keyword arguments, and the use case it runs with its own."""

    task: str
    api: dict[str, Any]
    use_case: Callable[..., Any] | None = None
    arguments: dict[str, Any] | None = None


@dataclass(frozen=True)
class Placed:
    """An order a publish placed, for the calls that act on it next."""

    id: int
    client_id: int
    creator_id: int


def _published(n: int) -> dict[str, Any]:
    return {"client_id": 1 + n % data.PARTIES, "creator_id": 1 + n * 7 % data.PARTIES, "title": f"推广 #{n}",
            "amount_fen": 10_000 + n}  # fmt: skip


def _publish(n: int, _order: Placed | None) -> list[Step]:
    return [Step("xingtu.publish_order", _published(n), orders.publish, _published(n))]


def _accept(n: int, order: Placed) -> list[Step]:
    arguments = {"order_id": order.id, "creator_id": order.creator_id}
    return [Step("xingtu.accept_order", arguments, orders.accept, arguments)]


def _upload(n: int, order: Placed) -> list[Step]:
    arguments = {"order_id": order.id, "creator_id": order.creator_id, "video": f"https://v.douyin.com/b{n}"}
    return [Step("xingtu.record_upload", arguments, orders.upload, arguments)]


def _cancel(n: int, order: Placed) -> list[Step]:
    """The client asks (the creator has uploaded, so the quote pays the creator half), the creator confirms."""
    client, creator = {"client_id": order.client_id}, {"creator_id": order.creator_id}
    return [
        Step("xingtu.request_cancellation", {"order_id": order.id, "reason": "预算调整", **client},
             cancellation.request, {"order_id": order.id, "reason": "预算调整", "role": Role.CLIENT, "actor_id": order.client_id}),
        Step("xingtu.respond_to_cancellation", {"order_id": order.id, "answer": "confirm", **creator},
             cancellation.respond, {"order_id": order.id, "answer": "confirm", "role": Role.CREATOR, "actor_id": order.creator_id}),
    ]  # fmt: skip


def _bare(n: int, _order: Placed | None) -> list[Step]:
    return [Step("bench.bare_noop", {})]


# In this order: each kind's calls act on the orders the publishes placed.
KINDS: dict[str, Callable[[int, Any], list[Step]]] = {
    "publish": _publish, "accept": _accept, "upload": _upload, "cancel": _cancel,
}  # fmt: skip
LABELS = {"bare": "bare Celery no-op", "publish": "xingtu.publish_order", "accept": "xingtu.accept_order",
          "upload": "xingtu.record_upload", "cancel": "request + confirm cancellation (a pair)"}  # fmt: skip


def _placed(answers: dict[int, dict]) -> list[Placed]:
    return [Placed(a["id"], a["client_id"], a["creator_id"]) for _, a in sorted(answers.items())]


def _p99(values: list[float]) -> float:
    """The 99th percentile as the other benches take it; the largest value when there are too few for one."""
    return statistics.quantiles(values, n=100)[98] if len(values) >= 100 else max(values)


# --- 1. the task API through a real worker ---------------------------------------------------------


def _answer(result) -> Any:
    answer = result.get(timeout=TIMEOUT)
    if isinstance(answer, dict) and "error" in answer:
        raise RuntimeError(f"a call was refused: {answer['error']}")
    return answer


def _send(app: Celery, step: Step):
    return app.send_task(step.task, kwargs=step.api)


def _round_trips(app: Celery, steps: list[Step]) -> Any:
    """The steps one after another, each awaited: the first one's answer."""
    answers = [_answer(_send(app, step)) for step in steps]
    return answers[0]


def _sequential(app: Celery, calls: dict[int, list[Step]], until: threading.Event | None = None):
    """Milliseconds of each call's round trips, one call in flight, and the answers; stops early once
    ``until`` is set."""
    timings, answers = [], {}
    for n, steps in calls.items():
        if until is not None and until.is_set():
            break
        started = time.perf_counter()
        answers[n] = _round_trips(app, steps)
        timings.append((time.perf_counter() - started) * 1000)
    return timings, answers


def _throughput(app: Celery, calls: dict[int, list[Step]], inflight: int) -> tuple[float, dict[int, Any]]:
    """Calls per second with up to ``inflight`` in flight: whenever the window is full the oldest is
    awaited, and a call's next step (the confirmation of a request) is sent once its first is answered."""
    window: deque = deque()
    answers: dict[int, Any] = {}
    waiting = iter(calls.items())
    started = time.perf_counter()
    more = True
    while more or window:
        if more and len(window) < inflight:
            n, steps = next(waiting, (None, None))
            if steps is None:
                more = False
            else:
                window.append((n, steps[1:], _send(app, steps[0])))
            continue
        n, rest, result = window.popleft()
        answers.setdefault(n, _answer(result))
        if rest:
            window.append((n, rest[1:], _send(app, rest[0])))
    return len(calls) / (time.perf_counter() - started), answers


def _kind(app: Celery, steps_of: Callable[[int, Any], list[Step]], placed: list[Placed] | None):
    """One kind of call: WARM + SEQUENTIAL round trips one at a time, then CALLS with INFLIGHT in flight."""
    calls = {n: steps_of(n, placed[n] if placed else None) for n in range(WARM + SEQUENTIAL + CALLS)}
    timings, answers = _sequential(app, {n: calls[n] for n in range(WARM + SEQUENTIAL)})
    rate, more = _throughput(app, {n: calls[n] for n in range(WARM + SEQUENTIAL, len(calls))}, INFLIGHT)
    figures = {"p50_ms": statistics.median(timings[WARM:]), "p99_ms": _p99(timings[WARM:]), "calls_per_s": rate}
    return figures, {**answers, **more}


def _worker_env(url: str) -> dict[str, str]:
    return {"XINGTU_DATABASE_URL": url, "XINGTU_BROKER_URL": REDIS, "XINGTU_DISPATCH_INTERVAL": "3600",
            "XINGTU_SCAN_INTERVAL": "3600", "XINGTU_SMS_SENDER": "bench.noop:NoopSender"}  # fmt: skip


def api(backend: str = "postgresql") -> tuple[dict[str, dict[str, float]], float]:
    """The bare no-op, then each kind of call through the project's worker, on a fresh copy; and the
    hand-off's ms a commit while that worker takes the sweeps."""
    redis.Redis.from_url(REDIS).flushdb()
    with processes.worker("bench.task_api:bare", {}, CONCURRENCY):
        figures = {"bare": _kind(bare, _bare, None)[0]}
    url = data.copy(data.template(backend, data.PARTIES, 0))
    try:
        with processes.worker("worker.app", _worker_env(url), CONCURRENCY):
            app = make_app(Settings(database_url=url, broker_url=REDIS))
            placed = None
            for kind, steps_of in KINDS.items():
                figures[kind], answers = _kind(app, steps_of, placed)
                placed = placed or _placed(answers)
                print(f"task API, {kind}: {figures[kind]['calls_per_s']:,.0f} calls/s", flush=True)
            beside_worker = handoff_ms(worker=True)
    finally:
        data.drop(url)
        redis.Redis.from_url(REDIS).flushdb()
    return figures, beside_worker


# --- 4. publish while the worker's scan cancels what is due ------------------------------------------


def _seed_due(url: str) -> None:
    """SCAN_DUE pending orders all past their deadline (``data.seed``'s), moved back in time so that NOW
    is a day ago by the real clock the worker reads."""
    data.seed(url, SCAN_DUE, SCAN_DUE)
    engine = make_engine(url)
    dialect = engine.dialect.name
    seconds = int((data.NOW - (datetime.now(timezone.utc) - timedelta(days=1))).total_seconds())

    def back(column: str) -> str:
        if dialect == "postgresql":
            return f"{column} = {column} - {seconds} * INTERVAL '1 second'"
        return f"{column} = strftime('%Y-%m-%d %H:%M:%S', {column}, '-{seconds} seconds') || '.000000'"

    with engine.begin() as connection:
        data.run(
            connection,
            dialect,
            f"UPDATE orders SET {', '.join(map(back, ('published_at', 'accept_deadline', 'updated_at')))}",
        )
        for table in ("clients", "creators"):
            data.run(connection, dialect, f"UPDATE {table} SET {back('created_at')}")
        if dialect == "sqlite":
            connection.exec_driver_sql("ANALYZE")
    if dialect == "postgresql":  # the update left a dead copy of every order behind
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _count(sessions, query) -> int:
    with sessions() as session:
        return session.scalar(query)


def under_scan(backend: str = "postgresql") -> dict[str, float]:
    """Publish round trips, one at a time: idle, then while the worker's scan cancels SCAN_DUE due orders,
    then while the outbox the scan filled is sent (the same worker, the same copy); when each phase ended."""
    url = data.copy(data.cached(backend, f"taskscan_{SCAN_DUE}", _seed_due))
    sessions = session_factory(make_engine(url))
    due = (
        select(func.count())
        .select_from(Order)
        .where(Order.status == OrderStatus.PENDING, Order.accept_deadline <= func.now())
    )
    unsent = select(func.count()).select_from(Notification).where(Notification.status == NotificationStatus.PENDING)
    redis.Redis.from_url(REDIS).flushdb()
    try:
        with processes.worker("worker.app", _worker_env(url), CONCURRENCY):
            app = make_app(Settings(database_url=url, broker_url=REDIS))
            _sequential(app, {n: _publish(n, None) for n in range(WARM)})
            calls = [{n: _publish(n, None) for n in range(WARM + i * SEQUENTIAL, WARM + (i + 1) * SEQUENTIAL)} for i in range(3)]  # fmt: skip
            idle, _ = _sequential(app, calls[0])
            assert _count(sessions, due) == SCAN_DUE, "every seeded order is due by the real clock"
            ended = {"scan": threading.Event(), "outbox": threading.Event()}
            seconds = {}
            started = time.perf_counter()
            app.send_task("xingtu.scan")

            def watch() -> None:  # a phase not done in time is reported as such (None), with what it left
                for phase, left, timeout in (("scan", due, 600), ("outbox", unsent, OUTBOX_WAIT)):
                    try:
                        processes.wait_until(lambda: _count(sessions, left) == 0, f"the {phase}", timeout=timeout)
                        seconds[phase] = time.perf_counter() - started
                    except RuntimeError:
                        seconds[phase], seconds[f"{phase}_left"] = None, _count(sessions, left)
                    ended[phase].set()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            scanning, _ = _sequential(app, calls[1], until=ended["scan"])
            sending, _ = _sequential(app, calls[2], until=ended["outbox"])
            watcher.join()
    finally:
        sessions.kw["bind"].dispose()
        data.drop(url)
        redis.Redis.from_url(REDIS).flushdb()
    figures = {"due": SCAN_DUE, "scan_s": seconds["scan"], "outbox_s": seconds["outbox"],
               "scan_left": seconds.get("scan_left", 0), "outbox_left": seconds.get("outbox_left", 0)}  # fmt: skip
    for phase, timings in (("idle", idle), ("scan", scanning), ("sending", sending)):
        if timings:
            figures |= {f"{phase}_p50_ms": statistics.median(timings), f"{phase}_p99_ms": _p99(timings),
                        f"{phase}_max_ms": max(timings), f"{phase}_calls": len(timings)}  # fmt: skip
    return figures


# --- 2. the use cases in-process against their raw-SQL floors ---------------------------------------


class Refused(Exception):
    """A floor found the rows not as the call expects (the floor checks what the use case checks)."""


class Driver:
    """One connection of the bare driver (psycopg, sqlite3) for the floors: SQL with ``:name`` parameters,
    a row-lock clause that only PostgreSQL takes (SQLite's transactions are ``BEGIN IMMEDIATE``, as the
    project's), instants as each backend stores them, and a count of the statements sent."""

    def __init__(self, url: str):
        parsed = make_url(url)
        self.postgres = parsed.get_backend_name() == "postgresql"
        if self.postgres:
            self.connection = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
        else:
            self.connection = sqlite3.connect(parsed.database, isolation_level=None)
            self.connection.execute("PRAGMA foreign_keys = ON")
        self.statements = 0
        self._sql: dict[tuple[str, str], str] = {}

    def at(self, instant: datetime) -> datetime | str:
        return instant if self.postgres else instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _text(self, sql: str, lock: str = "") -> str:
        if (sql, lock) not in self._sql:
            text = f"{sql} {lock}" if lock and self.postgres else sql
            self._sql[sql, lock] = re.sub(r"(?<!:):(\w+)", r"%(\1)s", text) if self.postgres else text
        return self._sql[sql, lock]

    def one(self, sql: str, lock: str = "", **params: Any) -> tuple:
        self.statements += 1
        row = self.connection.execute(self._text(sql, lock), params).fetchone()
        if row is None:
            raise Refused(f"no row for {params}")
        return row

    def run(self, sql: str, **params: Any) -> None:
        self.statements += 1
        if self.connection.execute(self._text(sql), params).rowcount != 1:
            raise Refused(f"not exactly one row changed by {sql[:40]}... for {params}")

    def many(self, sql: str, rows: list[dict[str, Any]]) -> None:
        self.statements += 1
        self.connection.cursor().executemany(self._text(sql), rows)

    @contextmanager
    def transaction(self):
        if not self.postgres:
            self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.connection.rollback() if self.postgres else self.connection.execute("ROLLBACK")
            raise
        self.connection.commit() if self.postgres else self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


INSERT_EVENT = ("INSERT INTO order_events (order_id, at, actor_role, actor_id, event, from_status, to_status, details)"
                " VALUES (:order_id, :now, :role, :actor_id, :event, :from_status, :to_status, :details)")  # fmt: skip
INSERT_LEDGER = (
    "INSERT INTO ledger_entries (order_id, kind, amount_fen, at) VALUES (:order_id, :kind, :amount_fen, :now)"
)
INSERT_NOTIFICATION = (
    "INSERT INTO notifications (idempotency_key, kind, order_id, recipient_role, recipient_id, phone, params, status,"
    " attempts, created_at, due_at) VALUES (:key, :kind, :order_id, :role, :recipient_id, :phone, :params, 'pending', 0,"
    " :now, :now)"
)  # fmt: skip
CREATOR_PHONES = "JOIN creators c ON c.id = o.creator_id LEFT JOIN mcns m ON m.id = c.mcn_id"
LOCK = "FOR NO KEY UPDATE"


def _json(**values: Any) -> str:
    return json.dumps({k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()})


def _event(db: Driver, order_id: int, now, role: str, actor_id: int, event: str, from_status, to_status, **details):
    db.run(INSERT_EVENT, order_id=order_id, now=now, role=role, actor_id=actor_id, event=event,
           from_status=from_status, to_status=to_status, details=_json(**details))  # fmt: skip


def _notify(db: Driver, about: str, kind: str, order_id: int, recipients: list[tuple[str, int, str]], now, **params):
    """One outbox row per (role, id, phone), in one statement."""
    rows = [{"key": f"{about}:{kind}:{role}", "kind": kind, "order_id": order_id, "role": role, "recipient_id": rid,
             "phone": phone, "params": _json(**params), "now": now} for role, rid, phone in recipients]  # fmt: skip
    db.many(INSERT_NOTIFICATION, rows)


def _creator_side(creator_id: int, phone: str, mcn_id: int | None, mcn_phone: str | None) -> list[tuple[str, int, str]]:
    """The creator, and the MCN signing them, who gets a copy."""
    return [("creator", creator_id, phone)] + ([("mcn", mcn_id, mcn_phone)] if mcn_id is not None else [])


def floor_publish(db: Driver, settings: Settings, n: int, _order: Placed | None) -> Placed:
    a, now = _published(n), utcnow()
    deadline = now + settings.accept_window
    with db.transaction():
        (client_status,) = db.one("SELECT status FROM clients WHERE id = :id", "FOR SHARE", id=a["client_id"])
        status, phone, mcn_id, mcn_phone = db.one(
            "SELECT c.status, c.phone, c.mcn_id, m.phone FROM creators c LEFT JOIN mcns m ON m.id = c.mcn_id"
            " WHERE c.id = :id", f"{LOCK} OF c", id=a["creator_id"],
        )  # fmt: skip
        if client_status != "active" or status != "active":
            raise Refused(f"publish {n}: client {client_status}, creator {status}")
        (order_id,) = db.one(
            "INSERT INTO orders (client_id, creator_id, title, amount_fen, status, published_at, accept_deadline,"
            " remind_at, upload_count, updated_at, version) VALUES (:client_id, :creator_id, :title, :amount_fen,"
            " 'pending', :now, :deadline, :remind_at, 0, :now, 1) RETURNING id",
            **a, now=db.at(now), deadline=db.at(deadline), remind_at=db.at(deadline - settings.accept_reminder_lead),
        )  # fmt: skip
        _event(db, order_id, db.at(now), "client", a["client_id"], "published", None, "pending",
               amount_fen=a["amount_fen"], accept_deadline=deadline)  # fmt: skip
        db.run(INSERT_LEDGER, order_id=order_id, kind="escrow", amount_fen=a["amount_fen"], now=db.at(now))
        _notify(db, f"order-{order_id}", "order_published", order_id, _creator_side(a["creator_id"], phone, mcn_id, mcn_phone),
                db.at(now), title=a["title"], amount_fen=a["amount_fen"], accept_deadline=deadline)  # fmt: skip
    return Placed(order_id, a["client_id"], a["creator_id"])


def floor_accept(db: Driver, settings: Settings, n: int, order: Placed) -> None:
    now = db.at(utcnow())
    with db.transaction():  # the creator first, then the order, as the project locks them
        (creator_status,) = db.one("SELECT status FROM creators WHERE id = (SELECT creator_id FROM orders WHERE id = :id)",
                                   LOCK, id=order.id)  # fmt: skip
        status, creator_id, version, open_ = db.one(
            "SELECT status, creator_id, version, accept_deadline > :now FROM orders WHERE id = :id", LOCK, id=order.id, now=now
        )  # fmt: skip
        if creator_status != "active" or status != "pending" or creator_id != order.creator_id or not open_:
            raise Refused(f"accept {order}: creator {creator_status}, order {status}")
        db.run("UPDATE orders SET status = 'accepted', accepted_at = :now, remind_at = NULL, updated_at = :now,"
               " version = version + 1 WHERE id = :id AND version = :version", now=now, id=order.id, version=version)  # fmt: skip
        _event(db, order.id, now, "creator", creator_id, "accepted", "pending", "accepted")


OPEN_REQUEST = "SELECT 1 FROM cancellation_requests r WHERE r.order_id = o.id AND r.status = 'open'"


def floor_upload(db: Driver, settings: Settings, n: int, order: Placed) -> None:
    now = db.at(utcnow())
    video = f"https://v.douyin.com/b{n}"
    with db.transaction():
        status, creator_id, version, upload_count, frozen = db.one(
            f"SELECT status, creator_id, version, upload_count, EXISTS ({OPEN_REQUEST}) FROM orders o WHERE o.id = :id",
            f"{LOCK} OF o", id=order.id,
        )  # fmt: skip
        if status != "accepted" or creator_id != order.creator_id or frozen:
            raise Refused(f"upload {order}: {status}, frozen {frozen}")
        db.run("UPDATE orders SET upload_count = upload_count + 1, first_upload_at = COALESCE(first_upload_at, :now),"
               " updated_at = :now, version = version + 1 WHERE id = :id AND version = :version",
               now=now, id=order.id, version=version)  # fmt: skip
        _event(db, order.id, now, "creator", creator_id, "video_uploaded", "accepted", "accepted",
               video=video, upload_count=upload_count + 1)  # fmt: skip


def floor_cancel(db: Driver, settings: Settings, n: int, order: Placed) -> None:
    """The request (an open request with its frozen quote, the creator told), then its confirmation (the
    order cancelled and settled, both sides told), two transactions like the pair of calls."""
    now = utcnow()
    respond_by = now + settings.cancel_response_window
    with db.transaction():
        status, title, amount, uploads, version, phone, mcn_id, mcn_phone, frozen = db.one(
            f"SELECT o.status, o.title, o.amount_fen, o.upload_count, o.version, c.phone, c.mcn_id, m.phone,"
            f" EXISTS ({OPEN_REQUEST}) FROM orders o {CREATOR_PHONES} WHERE o.id = :id AND o.client_id = :client",
            f"{LOCK} OF o", id=order.id, client=order.client_id,
        )  # fmt: skip
        if status != "accepted" or frozen:
            raise Refused(f"request {order}: {status}, frozen {frozen}")
        quote = (amount * settings.compensation_percent + 50) // 100 if uploads else 0
        db.run("UPDATE orders SET updated_at = :now, version = version + 1 WHERE id = :id AND version = :version",
               now=db.at(now), id=order.id, version=version)  # fmt: skip
        (request_id,) = db.one(
            "INSERT INTO cancellation_requests (order_id, initiator, reason, status, requested_at, respond_by,"
            " compensation_fen) VALUES (:id, 'client', :reason, 'open', :now, :respond_by, :quote) RETURNING id",
            id=order.id, reason="预算调整", now=db.at(now), respond_by=db.at(respond_by), quote=quote,
        )  # fmt: skip
        _event(db, order.id, db.at(now), "client", order.client_id, "cancellation_requested", "accepted", "accepted",
               request_id=request_id, reason="预算调整", compensation_fen=quote, respond_by=respond_by)  # fmt: skip
        _notify(db, f"request-{request_id}", "cancellation_requested", order.id,
                _creator_side(order.creator_id, phone, mcn_id, mcn_phone), db.at(now), title=title, initiator="client",
                reason="预算调整", compensation_fen=quote, refund_fen=amount - quote, respond_by=respond_by,
                policy=str(settings.cancel_timeout_policy))  # fmt: skip
    now = db.at(utcnow())
    with db.transaction():
        status, title, amount, version, client_phone, phone, mcn_id, mcn_phone, request_id, initiator, reason, quote = db.one(
            f"SELECT o.status, o.title, o.amount_fen, o.version, cl.phone, c.phone, c.mcn_id, m.phone, r.id, r.initiator,"
            f" r.reason, r.compensation_fen FROM orders o JOIN clients cl ON cl.id = o.client_id {CREATOR_PHONES}"
            " LEFT JOIN cancellation_requests r ON r.order_id = o.id AND r.status = 'open' WHERE o.id = :id"
            " AND o.creator_id = :creator", f"{LOCK} OF o", id=order.id, creator=order.creator_id,
        )  # fmt: skip
        if status != "accepted" or initiator != "client":
            raise Refused(f"confirm {order}: {status}, request by {initiator}")
        refund = amount - quote
        db.run("UPDATE orders SET status = 'cancelled', cancel_reason = 'client_cancelled', cancelled_at = :now,"
               " creator_payout_fen = :payout, client_refund_fen = :refund, remind_at = NULL, updated_at = :now,"
               " version = version + 1 WHERE id = :id AND version = :version",
               now=now, payout=quote, refund=refund, id=order.id, version=version)  # fmt: skip
        db.run(
            "UPDATE cancellation_requests SET status = 'confirmed', resolved_at = :now WHERE id = :id",
            now=now,
            id=request_id,
        )
        _event(db, order.id, now, "creator", order.creator_id, "cancellation_confirmed", "accepted", "cancelled",
               cancel_reason="client_cancelled", creator_payout_fen=quote, client_refund_fen=refund, request_id=request_id)  # fmt: skip
        db.many(INSERT_LEDGER, [{"order_id": order.id, "kind": kind, "amount_fen": fen, "now": now}
                                for kind, fen in (("creator_payout", quote), ("client_refund", refund)) if fen > 0])  # fmt: skip
        told = [("client", order.client_id, client_phone)] + _creator_side(order.creator_id, phone, mcn_id, mcn_phone)
        _notify(db, f"order-{order.id}", "order_cancelled", order.id, told, now, title=title, cancel_reason="client_cancelled",
                reason=reason, auto_confirmed=False, creator_payout_fen=quote, client_refund_fen=refund)  # fmt: skip


FLOORS = {"publish": floor_publish, "accept": floor_accept, "upload": floor_upload, "cancel": floor_cancel}


def _in_process(runtime: Runtime, steps: list[Step]) -> Any:
    """The steps as the task runs them, minus Celery and the hand-off: each use case in its transaction,
    its answer's JSON made inside it; the first one's answer."""
    answers = []
    for step in steps:
        with transaction(runtime.sessions) as session:
            result = step.use_case(session, runtime.settings, now=utcnow(), **step.arguments)
            answers.append(views.shown(session, result))
    return answers[0]


def use_cases(backend: str) -> dict[str, Any]:
    """Each kind in-process against its floor, alternating call by call on one fresh copy, ms a call
    (medians) and statements a call; then the CLI's wall time on the same copy."""
    url = data.copy(data.template(backend, data.PARTIES, 0))
    settings = Settings(database_url=url, broker_url=REDIS)
    runtime = Runtime.build(settings, make_app(settings))
    engine = runtime.sessions.kw["bind"]
    sent = [0]

    def count(connection, cursor, statement, *_):
        sent[0] += not statement.startswith("BEGIN")  # SQLite's BEGIN IMMEDIATE; PostgreSQL's is implicit

    event.listen(engine, "before_cursor_execute", count)
    db = Driver(url)
    figures: dict[str, Any] = {}
    placed: dict[str, list[Placed] | None] = {"project": None, "floor": None}  # each side acts on its own orders
    try:
        for kind, steps_of in KINDS.items():
            timings: dict[str, list[float]] = {"project": [], "floor": []}
            made: dict[str, list] = {"project": [], "floor": []}
            for n in range(WARM + SEQUENTIAL):
                if n == WARM:
                    sent[0] = db.statements = 0
                order = {side: None if placed[side] is None else placed[side][n] for side in placed}
                steps = steps_of(n, order["project"])
                started = time.perf_counter()
                made["project"].append(_in_process(runtime, steps))
                timings["project"].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                made["floor"].append(FLOORS[kind](db, settings, n, order["floor"]))
                timings["floor"].append((time.perf_counter() - started) * 1000)
            if placed["project"] is None:  # the publishes: their orders for the other kinds
                placed = {"project": _placed(dict(enumerate(made["project"]))), "floor": made["floor"]}
            project, floor = (statistics.median(timings[side][WARM:]) for side in ("project", "floor"))
            figures[kind] = {"project_ms": project, "floor_ms": floor, "ratio": project / floor,
                             "project_statements": sent[0] / SEQUENTIAL, "floor_statements": db.statements / SEQUENTIAL}  # fmt: skip
        figures["cli"] = cli(url)
    finally:
        db.close()
        engine.dispose()
        data.drop(url)
    return figures


def handoff_ms(burst: int = CALLS, *, worker: bool = False) -> float:
    """Milliseconds of ``Runtime.after_commit`` for one new notification (what each publish's commit
    does), amortised over ``burst`` commits in a row against REDIS: alone, with no worker taking the sweeps
    (so a hand-off that coalesces queues one sweep for the whole burst), or with ``worker`` running, which
    starts the sweeps as they come."""
    settings = Settings(database_url="sqlite://", broker_url=REDIS)  # the hand-off never touches the database
    runtime = Runtime.build(settings, make_app(settings))
    queue = redis.Redis.from_url(REDIS)
    if not worker:
        queue.flushdb()
    try:
        runtime.after_commit(1)  # the first connects, as a process's first commit does
        started = time.perf_counter()
        for _ in range(burst):
            runtime.after_commit(1)
        elapsed = time.perf_counter() - started
        assert worker or queue.llen(JOBS_QUEUE) >= 1, "the hand-off queued its sweeps"
    finally:
        if not worker:
            queue.flushdb()
    return elapsed / burst * 1000


# --- 3. the CLI as a user waits for it ----------------------------------------------------------------


def cli(url: str) -> dict[str, float]:
    write = ("client", "add", "--name", "基准客户", "--phone", "+8613912345678")
    return {
        "read_ms": record.median_ms(record._xingtu(url, ("order", "show", "1")), CLI_RUNS, warm=1),
        "write_ms": record.median_ms(record._xingtu(url, write), CLI_RUNS, warm=1),
        "python_ms": record.median_ms(record._process(url, [sys.executable, "-c", "pass"]), CLI_RUNS, warm=1),
    }


# --- together ---------------------------------------------------------------------------------------


def measure() -> dict[str, Any]:
    section: dict[str, Any] = {"calls": CALLS, "sequential": SEQUENTIAL, "inflight": INFLIGHT,
                               "concurrency": CONCURRENCY, "scan_due": SCAN_DUE, "cli_runs": CLI_RUNS}  # fmt: skip
    section["api"], section["handoff_worker_ms"] = api("postgresql")
    section["under_scan"] = under_scan("postgresql")
    print("task API under the scan: done", flush=True)
    for backend in BACKENDS:
        section[backend] = use_cases(backend)
        print(f"use cases in-process, {backend}: done", flush=True)
    section["handoff_ms"] = handoff_ms()
    return section


def report(section: dict[str, Any]) -> None:
    """The block ``make bench`` prints (without the machine-readable ``ratio_line``)."""
    calls, bare_rate = section["api"], section["api"]["bare"]["calls_per_s"]
    print(f"task API on PostgreSQL through Redis, a worker of {section['concurrency']} processes ({section['sequential']:,}"
          f" round trips one at a time; {section['calls']:,} calls with {section['inflight']} in flight):")  # fmt: skip
    print(f"{'call':<42}{'p50 ms':>9}{'p99 ms':>9}{'calls/s':>10}{'÷ bare':>9}")
    for kind, run in calls.items():
        print(f"{LABELS[kind]:<42}{run['p50_ms']:>9.1f}{run['p99_ms']:>9.1f}{run['calls_per_s']:>10,.0f}"
              f"{run['calls_per_s'] / bare_rate:>9.2f}")  # fmt: skip
    scan = section["under_scan"]

    def when(phase: str, wait: str) -> str:
        if scan[f"{phase}_s"] is None:
            return f"NOT done {wait}, {scan[f'{phase}_left']:,} left"
        return f"done after {scan[f'{phase}_s']:.1f} s"

    print(f"publish round trips, one at a time, while the worker's scan cancels {scan['due']:,} due orders"
          f" ({when('scan', 'in 600 s')}) and then while their outbox is sent"
          f" ({when('outbox', f'{OUTBOX_WAIT} s after the scan')}):")  # fmt: skip
    for phase in ("idle", "scan", "sending"):
        if f"{phase}_calls" in scan:
            print(f"  {phase:<8} p50 {scan[f'{phase}_p50_ms']:>7.1f} ms  p99 {scan[f'{phase}_p99_ms']:>8.1f} ms  max"
                  f" {scan[f'{phase}_max_ms']:>8.1f} ms  ({scan[f'{phase}_calls']} calls)")  # fmt: skip
    if "scan_calls" in scan:
        few = " (p99: the largest, of fewer than 100 calls)" if scan["scan_calls"] < 100 else ""
        print(f"  p99 while scanning / idle p99: {scan['scan_p99_ms'] / scan['idle_p99_ms']:.1f}x{few}")
    print()
    print(f"use cases in-process, ms a call (medians of {section['sequential']:,}; no hand-off) against their floor, the same"
          " rows written with the driver; statements a call, use case/floor:")  # fmt: skip
    print(f"{'':<10}" + "".join(f"{backend:>44}" for backend in BACKENDS))
    print(f"{'call':<10}" + f"{'use case':>10}{'floor':>9}{'ratio':>9}{'statements':>16}" * len(BACKENDS))
    for kind in KINDS:
        row = f"{kind:<10}"
        for backend in BACKENDS:
            run = section[backend][kind]
            statements = f"{run['project_statements']:.0f}/{run['floor_statements']:.0f}"
            row += f"{run['project_ms']:>10.2f}{run['floor_ms']:>9.2f}{run['ratio']:>9.2f}{statements:>16}"
        print(row)
    print(
        f"hand-off after commit: {section['handoff_ms']:.2f} ms a commit alone (no worker starting the sweeps),"
        f" {section['handoff_worker_ms']:.2f} ms with the worker taking them (amortised over {section['calls']:,})"
    )
    for backend in BACKENDS:
        run = section[backend]["cli"]
        print(f"CLI wall time, {backend} (median of {section['cli_runs']}): read (order show) {run['read_ms'] / 1000:.2f} s,"
              f" write (client add) {run['write_ms'] / 1000:.2f} s, python -c pass {run['python_ms'] / 1000:.3f} s")  # fmt: skip


def ratio_line(section: dict[str, Any]) -> str:
    """``task-api/bare: publish=R accept=R``: calls/s of each against the bare no-op's."""
    calls = section["api"]
    ratio = {kind: calls[kind]["calls_per_s"] / calls["bare"]["calls_per_s"] for kind in ("publish", "accept")}
    return f"task-api/bare: publish={ratio['publish']:.2f} accept={ratio['accept']:.2f}"


def main() -> None:
    section = {"date": datetime.now(timezone.utc).date().isoformat(), **measure()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "task_api.json").write_text(json.dumps(section, indent=2))
    print()
    report(section)
    print(ratio_line(section))


if __name__ == "__main__":
    main()
