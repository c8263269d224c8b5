"""The worker never dies of a message: raw task messages framed exactly as Celery frames protocol 2 (its
own headers, properties and queue), only their body shape (or task name, or id) wrong, pushed through
the real Redis to a real ``xingtu worker``. Before worker.runtime.message_guard each one stopped the
worker ("Unrecoverable error"), put itself back on the queue and stopped it again at every restart.

And ``xingtu worker`` says so when Celery does stop: a non-zero exit after an unrecoverable error, 0
after SIGTERM."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from functools import cache

import pytest

from tests.support import REDIS_URL
from worker.runtime.celery_config import make_app
from worker.settings import Settings

WAIT = 30  # seconds: a hang guard, not a speed target

# What Celery's default strategy died of, with the problem the log line names.
MALFORMED_BODIES = [
    ({"client_id": 1, "creator_id": 1}, "the body is a JSON object without args, not the list [args, kwargs, embed]"),
    ("publish", "the body is a string, not the list [args, kwargs, embed]"),
    (None, "the body is null, not the list [args, kwargs, embed]"),
    ([1], "the body is a list of 1 item, not the 3 of [args, kwargs, embed]"),
    ([[], {"client_id": 1}], "the body is a list of 2 items, not the 3 of [args, kwargs, embed]"),
    (["1", {}, {}], "args is a string, not a list"),
    ([[], [["client_id", 1]], {}], "kwargs is a list of 1 item, not an object"),
]
# And what the consumer died of before any strategy: (task name header, id header kept, what the line names).
MALFORMED_HEADERS = [
    (["xingtu.publish_order"], True, "the task name is a list of 1 item, not a string"),
    ("xingtu.no_such_task", False, "no task has that name, and the message has no id"),
]


@pytest.fixture
def database_url(tmp_path, sqlite_template):
    """SQLite only: these tests are about the broker's messages, not the database."""
    path = tmp_path / "xingtu.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@cache
def _sender():
    return make_app(Settings(broker_url=REDIS_URL))


def push(body, *, task: object = "xingtu.publish_order", drop_id: bool = False) -> str:
    """One task message as Celery frames and sends it (``create_task_message``, ``send_task_message``),
    with ``body`` in place of its ``[args, kwargs, embed]``; its id."""
    app, task_id = _sender(), str(uuid.uuid4())
    message = app.amqp.create_task_message(task_id, "xingtu.publish_order", (), {})
    headers = {"task": task, **({"id": None} if drop_id else {})}
    with app.producer_or_acquire() as producer:
        app.amqp.send_task_message(producer, "xingtu.publish_order", message._replace(body=body), headers=headers)
    return task_id


def ids_on_the_broker(broker) -> set[str]:
    """The ids of the task messages queued or awaiting acknowledgement (kombu's ``unacked`` hash, what a
    restart or a warm shutdown would put back on the queue)."""
    queued = [json.loads(raw) for raw in broker.lrange("celery", 0, -1)]
    unacked = [json.loads(raw)[0] for raw in broker.hvals("unacked")]
    return {message["headers"].get("id") for message in queued + unacked}


def rejection_lines(log) -> list[str]:
    return [line for line in log.read_text().splitlines() if "Rejected a malformed task message" in line]


def test_each_malformed_message_is_rejected_with_one_line_and_the_worker_serves_on(start_worker, broker):
    worker = start_worker(xingtu=True, concurrency=1)
    expected = {}  # the id pushed: the line its rejection is logged with, up to the body's repr
    for body, problem in MALFORMED_BODIES:
        task_id = push(body)
        expected[task_id] = (
            f"ERROR/MainProcess] Rejected a malformed task message xingtu.publish_order[{task_id}]: {problem}; body="
        )
    for task, keep_id, problem in MALFORMED_HEADERS:
        task_id = push([[], {}, {}], task=task, drop_id=not keep_id)
        shown = f"{task!r}[{task_id}]" if keep_id else f"{task}[None]"
        expected[task_id] = (
            f"ERROR/MainProcess] Rejected a malformed task message {shown}: {problem}; body=[[], {{}}, {{}}]"
        )

    deadline = time.monotonic() + WAIT
    while len(rejection_lines(worker.log)) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.05)
    answer = _sender().send_task("xingtu.publish_order", kwargs={"client_id": 1}).get(timeout=WAIT)
    assert set(answer) == {"error"}, answer  # a normal call is still answered, after all of them
    assert worker.process.poll() is None, worker.log.read_text()[-3000:]

    lines = rejection_lines(worker.log)
    assert len(lines) == len(expected), "\n".join(lines)  # one line per message, none delivered twice
    for line_start in expected.values():
        assert sum(line_start in line for line in lines) == 1, (line_start, lines)
    assert all(len(line) < 600 for line in lines)
    log = worker.log.read_text()
    assert "Unrecoverable error" not in log and "Traceback" not in log  # the one line is all there is
    assert not ids_on_the_broker(broker) & set(expected)  # rejected for good: neither queued nor unacked

    worker.stop()  # SIGTERM: a warm shutdown, which restores what is unacked; none of them is
    assert worker.process.returncode == 0, log[-3000:]
    assert not ids_on_the_broker(broker) & set(expected)


# A worker whose consumer fails on an unknown task: Celery's "Unrecoverable error", made to happen.
FAILING_WORKER = """
from worker.runtime.message_guard import XingtuConsumer


def fail(self, body, message, exc):
    raise RuntimeError("injected: the consumer fails on an unknown task")


XingtuConsumer.on_unknown_task = fail
from worker.cli import main

main(["worker", "--concurrency=1"])
"""


def test_xingtu_worker_exits_non_zero_when_celery_stops_on_an_unrecoverable_error(stack_env, broker, tmp_path):
    push([[], {}, {}], task="xingtu.no_such_task")
    worker = subprocess.Popen([sys.executable, "-c", FAILING_WORKER], env=stack_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        output, _ = worker.communicate(timeout=WAIT * 2)
    finally:  # a worker that did not stop must not outlive the test: its beat would feed every later test
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    done = worker
    assert "Unrecoverable error: RuntimeError('injected: the consumer fails on an unknown task')" in output, output
    assert done.returncode == 1, output[-3000:]
