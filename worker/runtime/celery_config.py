"""How the Celery application is built from the settings (``worker.app`` and ``xingtu worker`` build
the one that runs).

The app keeps the settings it was built from and, in each worker process, the ``Runtime`` its tasks
use (``app.runtime``): built on first use, so after the fork and never at import.

JSON only, UTC, one message prefetched at a time. The idempotent jobs (scan, dispatch) and the task
API's calls that carry an idempotency key are acknowledged late and rejected back to the queue if their
worker dies; beat entries expire within their interval so a stalled queue never piles up duplicates.
Every task is a ``XingtuTask`` and the worker's consumer a ``XingtuConsumer``: a malformed message is
rejected with one log line instead of stopping the worker (``worker.runtime.message_guard``).

The jobs have a queue of their own (``JOBS_QUEUE``); the task API stays on Celery's default one, where
callers send without knowing our routes. A worker consumes both and takes from them in turn, so a call
is not queued behind every sweep queued before it; and a run under way makes way for a waiting call
after its batch (``worker.runtime.runs``).
"""

import os
import shutil
import tempfile
from functools import cached_property

from celery import Celery, signals
from kombu import Exchange, Queue

from worker.runtime.context import Runtime
from worker.runtime.message_guard import XingtuTask
from worker.settings import BROKER_VISIBILITY_TIMEOUT, Settings

DEFAULT_QUEUE = "celery"  # Celery's own default, which every caller's app sends to
JOBS_QUEUE = "xingtu.jobs"
JOBS = ("xingtu.scan", "xingtu.dispatch")


class XingtuCelery(Celery):
    """A Celery app built from the settings, which it keeps, and so knows how to build the runtime its
    tasks run with. It pickles as its settings (``__reduce_keys__``), so a pool that spawns its
    processes instead of forking gets the same app."""

    def __init__(self, settings: Settings, set_as_current: bool = True):
        super().__init__(
            "xingtu", broker=settings.broker_url, backend=settings.broker_url, include=["worker.tasks"],
            set_as_current=set_as_current, task_cls=XingtuTask,
        )  # fmt: skip
        self.settings = settings
        scan_every = settings.scan_interval.total_seconds()
        dispatch_every = settings.dispatch_interval.total_seconds()
        self.conf.update(
            task_serializer="json",
            result_serializer="json",
            accept_content=["json"],
            result_accept_content=["json"],
            event_serializer="json",
            enable_utc=True,
            timezone="UTC",
            worker_prefetch_multiplier=1,
            task_default_queue=DEFAULT_QUEUE,
            task_queues=[Queue(name, Exchange(name), routing_key=name) for name in (DEFAULT_QUEUE, JOBS_QUEUE)],
            task_routes={name: {"queue": JOBS_QUEUE} for name in JOBS},
            worker_consumer="worker.runtime.message_guard:XingtuConsumer",  # and XingtuTask: no message stops it
            task_acks_late=False,  # per task and per call: the jobs, and calls with a key (see worker.tasks)
            result_expires=86_400,
            broker_connection_retry_on_startup=True,
            # An unacknowledged message (a job, a keyed call) goes to another worker after the visibility
            # timeout, so callers' idempotency keys are kept at least that long (``Settings``).
            broker_transport_options={
                "socket_connect_timeout": 5,
                "socket_timeout": 30,
                "visibility_timeout": int(BROKER_VISIBILITY_TIMEOUT.total_seconds()),
            },
            worker_hijack_root_logger=True,
            worker_redirect_stdouts_level="INFO",  # the console sender's lines are information, not warnings
            beat_schedule={
                "scan": {"task": "xingtu.scan", "schedule": scan_every, "options": {"expires": scan_every}},
                "dispatch": {
                    "task": "xingtu.dispatch",
                    "schedule": dispatch_every,
                    "options": {"expires": dispatch_every},
                },
            },
            # For the separate beat of docker-compose (celery-redbeat): its lock must not outlive a scan
            # interval plus a send lease, or a restarted beat would wait longer than that to take over.
            redbeat_redis_url=settings.broker_url,
            redbeat_lock_timeout=int(scan_every + settings.send_lease.total_seconds()),
            beat_max_loop_interval=min(scan_every, dispatch_every),
        )

    def __reduce_keys__(self) -> dict:
        return {"settings": self.settings}

    @cached_property
    def runtime(self) -> Runtime:
        """The database sessions, the sender and this app, for the tasks of this process. A test may
        assign its own before calling a task in-process."""
        return Runtime.build(self.settings, self)


def make_app(settings: Settings) -> XingtuCelery:
    import worker.tasks  # noqa: F401  (its shared tasks join every app, so ``app.tasks`` has them all)

    app = XingtuCelery(settings)
    if settings.metrics_port:
        signals.worker_init.connect(_metrics_server(app, settings), weak=False)
    return app


def _metrics_server(app: Celery, settings: Settings):
    """Serve the metrics from the worker's main process, before its pool forks: the pool processes
    inherit the multiprocess directory their runs' figures go to, and the endpoint adds them up."""

    def serve(sender=None, **_):
        if getattr(sender, "app", None) is app:  # signals are global: serve for this app's worker only
            from worker.database.engines import make_engine, read_session_factory

            created = _multiprocess_dir()  # before prometheus_client's first import, which picks its mode then
            from worker.runtime.metrics import serve as start

            sessions = read_session_factory(make_engine(settings.database_url, pool_pre_ping=True))
            start(settings.metrics_port, sessions, settings)
            if created:
                signals.worker_shutdown.connect(lambda **_: shutil.rmtree(created, ignore_errors=True), weak=False)

    return serve


def _multiprocess_dir() -> str | None:
    """Where the pool processes keep their runs' figures: ``PROMETHEUS_MULTIPROC_DIR`` if set, else a
    new temporary directory (returned, to be removed at shutdown). Emptied either way: figures an earlier
    worker left would be added to this one's."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    path = given or tempfile.mkdtemp(prefix="xingtu-metrics-")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return None if given else path
