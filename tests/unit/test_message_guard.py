"""The check that keeps a malformed task message from stopping the worker (worker.runtime.message_guard):
every shape Celery's default strategy chokes on is named, every message Celery itself sends passes, the
log line is one bounded line, and every task of the app and its consumer use the guard."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from worker.runtime import message_guard
from worker.runtime.celery_config import make_app
from worker.runtime.message_guard import (
    TaskStrategies,
    XingtuConsumer,
    XingtuTask,
    describe,
    guarded,
    message_problem,
)
from worker.settings import Settings

HEADERS = {"task": "xingtu.publish_order", "id": "m-1", "timelimit": [None, None]}


@pytest.fixture(scope="module")
def app():
    return make_app(Settings(broker_url="redis://127.0.0.1:1/0"))  # never connects


@pytest.mark.parametrize(
    "body, says",
    [
        ({"a": 1}, "the body is a JSON object without args, not the list [args, kwargs, embed]"),
        ({"a": 1, "b": 2, "c": 3}, "the body is a JSON object without args"),  # would unpack into its keys
        ("abc", "the body is a string, not the list [args, kwargs, embed]"),
        ("args", "the body is a string"),  # Celery's `'args' in payload` would take it for the hybrid form
        (None, "the body is null, not the list"),
        (7, "the body is a number, not the list"),
        (True, "the body is a boolean, not the list"),
        ([], "the body is a list of 0 items, not the 3 of [args, kwargs, embed]"),
        ([1], "the body is a list of 1 item, not the 3 of [args, kwargs, embed]"),
        ([[], {}], "the body is a list of 2 items, not the 3"),
        ([[], {}, {}, {}], "the body is a list of 4 items, not the 3"),
        (["abc", {}, {}], "args is a string, not a list"),  # would run the task with the letters as arguments
        ([{"a": 1}, {}, {}], "args is an object, not a list"),
        ([[], [], {}], "kwargs is a list of 0 items, not an object"),
        ([[], "k", {}], "kwargs is a string, not an object"),
        ([[], {}, "e"], "embed is a string, not an object or null"),
        ([[], {}, {"callbacks": "x"}], "embed's callbacks is a string, not a list or null"),
        ([[], {}, {"errbacks": {}}], "embed's errbacks is an object, not a list or null"),
        ([[], {}, {"chord": []}], "embed's chord is a list of 0 items, not an object or null"),
        ({"args": "abc"}, "args is a string, not a list"),
        ({"args": [], "kwargs": [1]}, "kwargs is a list of 1 item, not an object"),
    ],
)
def test_each_body_the_default_strategy_chokes_on_is_named(body, says):
    assert says in message_problem(HEADERS, body)


@pytest.mark.parametrize(
    "headers, says",
    [
        ({"task": "xingtu.scan"}, "the message has no id"),
        ({**HEADERS, "id": None}, "the message has no id"),
        ({**HEADERS, "id": ""}, "the message has no id"),
        ({**HEADERS, "id": 5}, "the message id is a number, not a string"),
        ({**HEADERS, "id": ["m-1"]}, "the message id is a list of 1 item, not a string"),
        ({**HEADERS, "timelimit": [1]}, "timelimit is a list of 1 item, not [hard, soft] seconds"),
        ({**HEADERS, "timelimit": "ab"}, "timelimit is a string"),
        ({**HEADERS, "timelimit": ["1", None]}, "timelimit is a list of 2 items"),
        ({**HEADERS, "timelimit": [True, None]}, "timelimit is a list of 2 items"),
    ],
)
def test_the_headers_the_worker_reads_before_the_task_runs(headers, says):
    assert says in message_problem(headers, [[], {}, None])


@pytest.mark.parametrize(
    "headers, body",
    [
        (HEADERS, [[], {}, None]),
        (HEADERS, [[1, "a"], {"x": {"y": 1}}, {}]),
        ({**HEADERS, "timelimit": [30, 20.5]}, [[], {}, {"callbacks": [], "errbacks": None, "chain": [], "chord": {}}]),
        ({**HEADERS, "timelimit": None}, [[], {}, {}]),
        ({"task": "xingtu.scan"}, {"args": [], "kwargs": {}, "id": "m-2"}),  # hybrid / protocol 1: the id in the body
        ({"task": "xingtu.scan", "id": "m-3"}, {"args": [1]}),  # Celery reads a missing kwargs as {}
    ],
)
def test_what_is_well_formed_passes(headers, body):
    assert message_problem(headers, body) is None


def test_every_message_celery_itself_sends_passes(app):
    """Framed by Celery's own protocol 2 (links, a chain, a chord, time limits, eta, expires), through JSON."""
    link = app.signature("xingtu.dispatch")
    now = datetime.now(timezone.utc)
    messages = [
        app.amqp.create_task_message("m-1", "xingtu.publish_order", (), {"client_id": 1}),
        app.amqp.create_task_message("m-2", "xingtu.scan", (1, "a"), {}, time_limit=30, soft_time_limit=20),
        app.amqp.create_task_message("m-3", "xingtu.scan", (), {}, callbacks=[link], errbacks=[link], chain=[link],
                                     chord=link, eta=now + timedelta(minutes=1), expires=now + timedelta(hours=1)),
    ]  # fmt: skip
    for message in messages:
        assert message_problem(json.loads(json.dumps(message.headers)), json.loads(json.dumps(message.body))) is None


def test_the_log_line_is_one_bounded_line():
    huge = [["x" * 100_000] * 1000, {"nested": [[[[["deep"]]]]], "text": "two\nlines"}, {str(n): n for n in range(50)}]
    line = describe("xingtu.publish_order", "m-1\nforged line", huge, "kwargs is a string,\n  not an object")
    assert "\n" not in line and len(line) < 600
    assert line.startswith("Rejected a malformed task message xingtu.publish_order['m-1\\nforged line']: ")
    assert ": kwargs is a string, not an object; body=[[" in line
    body = line.split("; body=", 1)[1]
    assert len(body) <= message_guard.BODY_REPR_CHARS and body.endswith("…")
    plain = describe("xingtu.scan", "m-2", {"a": 1}, "the body is a JSON object without args")
    assert plain == (
        "Rejected a malformed task message xingtu.scan[m-2]: the body is a JSON object without args; body={'a': 1}"
    )
    assert len(describe("x" * 500, "i" * 500, None, "p" * 500)) < 600


def test_every_task_of_the_app_and_its_consumer_use_the_guard(app):
    ours = {name: task for name, task in app.tasks.items() if name.startswith("xingtu.")}
    assert {"xingtu.scan", "xingtu.dispatch", "xingtu.publish_order", "xingtu.reopen_account"} <= set(ours)
    for task in app.tasks.values():  # shared tasks take the app's Task class, Celery's built-in ones too
        assert isinstance(task, XingtuTask), task.name
        assert task.Strategy == "worker.runtime.message_guard:guarded"
    assert app.tasks["xingtu.scan"].acks_late  # the tasks' own options still apply over the base class
    assert app.conf.worker_consumer == "worker.runtime.message_guard:XingtuConsumer"
    assert XingtuConsumer.Strategies is TaskStrategies and callable(guarded)


def test_a_task_name_that_is_not_a_string_is_an_unknown_task():
    strategies = TaskStrategies({"xingtu.scan": "strategy"})
    assert strategies["xingtu.scan"] == "strategy"
    for name in (["xingtu.scan"], {"a": 1}, None, 5):
        with pytest.raises(KeyError):
            strategies[name]  # a list or an object would be a TypeError, which stops the worker
