"""How the processes log (``worker.runtime.log_lines``, ``worker.runtime.logs``): XINGTU_LOG_FORMAT, the JSON line's fields, and
Celery's per-run lines of the two jobs lowered to DEBUG. A real worker's logs are in tests/stack/test_logs.py,
the CLI's in tests/cli/test_json_logs.py; here no logging set-up of the test process is changed."""

import io
import json
import logging
from datetime import datetime, timedelta

import pytest
from celery import Celery
from celery.app import trace

from worker.errors import SettingsError
from worker.runtime.log_lines import JsonLines, quiet_libraries
from worker.runtime.logs import BEAT_SENDS, JOB_RUNS_AT_DEBUG, RUN_LOGGERS
from worker.settings import Settings


@pytest.mark.parametrize("raw, chosen", [("", "text"), ("text", "text"), ("json", "json"), (" JSON ", "json")])
def test_the_log_format_setting(raw, chosen):
    assert Settings.from_env({"XINGTU_LOG_FORMAT": raw}).log_format == chosen


def test_a_malformed_log_format_is_refused_naming_the_setting_and_the_formats():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"XINGTU_LOG_FORMAT": "yaml"})
    assert refused.value.message == "XINGTU_LOG_FORMAT='yaml' must be one of: text, json"


@pytest.fixture
def lines():
    """A logger of this test's own whose records go through the JSON formatter into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_a_json_line_has_the_four_fields_and_the_time_in_utc(lines):
    logger, read = lines
    before = datetime.now().astimezone()
    logger.warning("notification %s to %s failed: %s", 7, "+86139****0002", "【星图】503")
    [line] = read()
    assert list(line) == ["time", "level", "logger", "message"]
    assert (line["level"], line["logger"]) == ("WARNING", "tests.logs")
    assert line["message"] == "notification 7 to +86139****0002 failed: 【星图】503"  # not \u-escaped
    instant = datetime.fromisoformat(line["time"])
    assert instant.utcoffset() == timedelta(0) and abs(instant - before) < timedelta(seconds=5)


def test_the_ids_a_log_site_passes_are_fields_and_nothing_else_a_record_carries_is(lines):
    logger, read = lines
    logger.warning("failed", extra={"notification_id": 3, "order_id": 9, "data": {"kwargs": "{'phone': ...}"}})
    logger.info("no order yet", extra={"order_id": None})
    failed, no_order = read()
    assert (failed["notification_id"], failed["order_id"]) == (3, 9) and "data" not in failed
    assert "order_id" not in no_order


def test_an_exception_is_one_field_of_the_same_line(lines):
    logger, read = lines
    try:
        raise ValueError("the provider answered 503")
    except ValueError:
        logger.exception("the send failed")
    [line] = read()
    assert line["message"] == "the send failed"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].endswith("ValueError: the provider answered 503")


def test_a_line_logged_inside_a_task_names_the_task(lines):
    logger, read = lines
    app = Celery("tests", set_as_current=False)

    @app.task(name="tests.logs.send")
    def send():
        logger.warning("inside", extra={"notification_id": 1})

    result = send.apply()
    logger.warning("outside")
    inside, outside = read()
    assert (inside["task_id"], inside["task_name"], inside["notification_id"]) == (result.id, "tests.logs.send", 1)
    assert "task_id" not in outside and "task_name" not in outside


@pytest.fixture
def celery_lines():
    """What reaches a handler of the root logger from Celery's run loggers, with the filter on them."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    for name in RUN_LOGGERS:
        logging.getLogger(name).addFilter(JOB_RUNS_AT_DEBUG)

    def at(new_level: int) -> list[logging.LogRecord]:
        root.setLevel(new_level)
        return records

    yield at
    root.removeHandler(handler)
    root.setLevel(level)


def _run_lines(task: str) -> None:
    """Celery's own lines for one run of ``task``, logged as Celery logs them."""
    context = {"id": "5f0c", "name": task, "args": "()", "kwargs": "{}", "eta": None}
    logging.getLogger("celery.beat").info(BEAT_SENDS, task.split(".")[-1], task)
    logging.getLogger("celery.worker.strategy").info(trace.LOG_RECEIVED, context, extra={"data": context})
    trace.info(trace.LOG_SUCCESS, {**context, "return_value": "{'sent': 0}", "runtime": 0.01})


@pytest.mark.parametrize("job", ["xingtu.scan", "xingtu.dispatch"])
def test_a_jobs_run_lines_are_debug(celery_lines, job):
    quiet = celery_lines(logging.INFO)
    _run_lines(job)
    assert quiet == []
    shown = celery_lines(logging.DEBUG)
    _run_lines(job)
    assert [(r.name, r.levelname) for r in shown] == [
        ("celery.beat", "DEBUG"), ("celery.worker.strategy", "DEBUG"), ("celery.app.trace", "DEBUG"),
    ]  # fmt: skip
    assert job in shown[1].getMessage()


def test_other_tasks_lines_and_a_jobs_retry_keep_their_levels(celery_lines):
    records = celery_lines(logging.INFO)
    _run_lines("xingtu.publish_order")
    trace.info(trace.LOG_RETRY, {"id": "5f0c", "name": "xingtu.dispatch", "exc": "Retry in 1s"})
    logging.getLogger("celery.app.trace").error(trace.LOG_FAILURE, {"id": "5f0c", "name": "xingtu.scan",
                                                                    "description": "raised", "exc": "boom"})  # fmt: skip
    assert [r.levelname for r in records] == ["INFO", "INFO", "INFO", "INFO", "ERROR"]


def test_httpx_does_not_log_each_request_and_its_url_at_info():
    quiet_libraries()  # what the CLI and every Celery process do
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
