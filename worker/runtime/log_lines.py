"""One log line as XINGTU_LOG_FORMAT says (``text`` as ever, or ``json``), and the CLI's logging.

Apart from ``worker.runtime.logs`` (Celery's side: its handlers, banners, the jobs' lines at DEBUG) so
that a command that runs no Celery never imports it: a read's wall time is mostly imports.

A JSON line carries only these fields: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``;
``task_id`` and ``task_name`` on a line logged inside a task, or on Celery's lines about one;
``order_id`` and ``notification_id`` where the log site passes them (``extra=``); an exception as
``exc_info``, its traceback one string. Whatever else a library hangs on its records stays out (Celery's
``data`` holds a task's arguments and traceback), so a line shows nothing its message does not already.
"""

import logging
import sys
from collections.abc import Mapping
from datetime import datetime, timezone

from pythonjsonlogger.json import JsonFormatter

ABOUT = ("order_id", "notification_id")  # what a log site may pass with ``extra=``


class JsonLines(JsonFormatter):
    """A record as one JSON object with the fields of the module docstring, non-ASCII text as it is."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data.update(_task(record))
        log_data.update((key, record.__dict__[key]) for key in ABOUT if record.__dict__.get(key) is not None)
        log_data.update(message_dict)  # exc_info and stack_info, formatted by python-json-logger


def _task(record: logging.LogRecord) -> dict:
    """The task a line was logged in; or, for Celery's lines about a task outside it (the main process
    receiving it), the task Celery's record names. A process that never imported Celery runs no task."""
    celery = sys.modules.get("celery")
    if celery is not None and celery.current_task and celery.current_task.request.id:
        return {"task_id": celery.current_task.request.id, "task_name": celery.current_task.name}
    about = record.__dict__.get("data")
    if record.name.startswith("celery.") and isinstance(about, Mapping) and about.get("id"):
        return {"task_id": about["id"], "task_name": about.get("name")}
    return {}


def configure_cli(log_format: str) -> None:
    """The CLI's own lines (warnings, such as a hand-off the broker did not take) on stderr, as
    ``LEVEL: message`` or JSON; ``xingtu worker`` then leaves the rest to Celery (``logs.install``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter("%(levelname)s: %(message)s"))
    logging.basicConfig(handlers=[handler], level=logging.WARNING)
    quiet_libraries()


def quiet_libraries() -> None:
    """httpx logs every request at INFO with its URL: a webhook's may carry a token, and the outbox
    records every send's outcome already. Its warnings stay."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
