"""How the processes that run Celery log (``xingtu worker``, ``celery -A worker.app worker`` and ``beat``):
as text, as Celery always has, or with XINGTU_LOG_FORMAT=json as one JSON object a line, for a log
pipeline to index; and, either way, the two jobs' own Celery lines at DEBUG, so an idle worker is quiet
at INFO. The lines themselves, and the other commands' logging, are ``worker.runtime.log_lines``.

JSON goes through Celery's logging rather than around it. Celery still sets up the root logger (it hijacks
it), sets the levels and redirects the pool's stdout and stderr into it (the console sender's lines);
``after_setup_logger`` and ``after_setup_task_logger``, sent once its handlers exist, only give those
handlers the JSON formatter. (A receiver of ``setup_logging`` instead would make Celery skip all of that,
the redirection included.) What Celery prints rather than logs becomes log lines too, or every line would
not be JSON: the worker's banner, beat's, and the worker's notice of a warm shutdown (SIGTERM, what an
orchestrator sends). Celery's notices for Ctrl+C and SIGQUIT, at a terminal, stay as Celery prints them.
"""

import logging
import sys
from collections.abc import Mapping

from celery import Celery, __version__, signals
from celery.app import trace
from celery.apps.beat import Beat
from celery.apps.worker import install_worker_term_handler
from celery.utils.log import get_multiprocessing_logger

from worker.runtime.log_lines import JsonLines, quiet_libraries

JOBS = frozenset({"xingtu.scan", "xingtu.dispatch"})
# The loggers of Celery's lines for a task's run: beat sending it, the worker receiving it, its success.
RUN_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")
BEAT_SENDS = "Scheduler: Sending due task %s (%s)"  # celery.beat's (and RedBeat's): the entry, the task's name
log = logging.getLogger(__name__)


class JobRunsAtDebug(logging.Filter):
    """Celery's INFO lines for a run of the scan or the dispatch, lowered to DEBUG: beat sends both every
    few seconds, so three lines a run said nothing but that the clock ticked, and
    ``worker.runtime.job_runs`` says at INFO what a run did, when it did something. Other tasks' lines,
    and the jobs' retries and failures, keep their levels."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not _job_run(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        # The logger let it through as INFO; as DEBUG it goes on only where DEBUG is on.
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _job_run(record: logging.LogRecord) -> bool:
    if record.msg in (trace.LOG_RECEIVED, trace.LOG_SUCCESS):  # their one argument: a dict naming the task
        return isinstance(record.args, Mapping) and record.args.get("name") in JOBS
    return record.msg == BEAT_SENDS and isinstance(record.args, tuple) and record.args[-1] in JOBS


JOB_RUNS_AT_DEBUG = JobRunsAtDebug()


def install(log_format: str, app: Celery | None = None) -> None:
    """Set this process up to log in ``log_format`` once Celery sets its logging up; ``app``, for
    ``celery -A worker.app``, also gets a beat that logs its banner. Safe to call again."""
    for name in RUN_LOGGERS:
        logging.getLogger(name).addFilter(JOB_RUNS_AT_DEBUG)
    quiet_libraries()
    if log_format != "json":
        return
    root = logging.getLogger()
    if not root.handlers:  # what is logged (or warned: running as root) before Celery sets up its handlers
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLines())
        root.addHandler(handler)
    logging.captureWarnings(True)
    signals.after_setup_logger.connect(_json_handlers, weak=False)
    signals.after_setup_task_logger.connect(_json_handlers, weak=False)
    signals.celeryd_after_setup.connect(_banner_as_a_line, weak=False)
    signals.worker_ready.connect(_shutdown_unprinted, weak=False)
    signals.worker_shutting_down.connect(_shutdown_as_a_line, weak=False)
    if app is not None:  # ``celery beat`` runs the app's ``Beat`` (a cached property, filled in here)
        app.Beat = app.subclass_with_self(QuietBeat, reverse="Beat")


def _json_handlers(logger: logging.Logger, **_) -> None:
    """Celery's handlers of ``logger`` (the root, or ``celery.task``) and of the multiprocessing
    logger it sets up beside the root, with the JSON formatter."""
    others = get_multiprocessing_logger().handlers if logger is logging.getLogger() else []
    for handler in [*logger.handlers, *others]:
        handler.setFormatter(JsonLines())


def _banner_as_a_line(instance, **_) -> None:
    """The worker's banner (its broker, concurrency, queues and tasks) as one log line: Celery prints it
    as text to stdout right after this signal, unless the worker is quiet (``celery -q``)."""
    if not instance.quiet:
        log.info("%s", (instance.startup_info(artlines=False) + (instance.extra_info() or "")).strip())
        instance.quiet = True


def _shutdown_unprinted(sender, **_) -> None:
    """Celery's SIGTERM handler, installed again without the notice it prints to stdout (the consumer's
    ``controller`` is the worker); ``_shutdown_as_a_line`` logs it instead."""
    install_worker_term_handler(sender.controller, verbose=False)


def _shutdown_as_a_line(sig: str, how: str, **_) -> None:
    if sig == "SIGTERM":
        log.info("worker: %s shutdown (MainProcess)", how)


class QuietBeat(Beat):
    """``celery beat`` whose banner is a log line: Celery prints it, as text, before its logging is set
    up (and ``-q`` has already been read by then)."""

    def __init__(self, *args, quiet: bool = False, **kwargs) -> None:
        super().__init__(*args, quiet=True, **kwargs)
        self.announce = not quiet

    def setup_logging(self, colorize: bool | None = None) -> None:
        super().setup_logging(colorize)
        if self.announce:
            broker = self.app.connection().as_uri()  # its password masked, as in Celery's banner
            log.info("celery beat v%s is starting: broker %s, scheduler %s", __version__, broker, self.scheduler_cls)
