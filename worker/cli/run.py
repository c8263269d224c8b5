"""``xingtu worker``: a Celery worker with an embedded beat, for one machine."""

import sys

import click
from celery import Celery, signals

from worker.cli.context import App, pass_app
from worker.cli.values import COUNT
from worker.errors import BrokerUnavailable
from worker.notify.senders import load_sender
from worker.runtime import logs
from worker.runtime.celery_config import make_app
from worker.runtime.handoff import broker_problem

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


@click.command(name="worker")
@click.option("--concurrency", type=COUNT, help="Worker processes (default: one per CPU).")
@click.option("--loglevel", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO", show_default=True)
@pass_app
def worker(app: App, concurrency: int | None, loglevel: str) -> None:
    """Run the worker and its timers: the scan every XINGTU_SCAN_INTERVAL, the outbox sweep every
    XINGTU_DISPATCH_INTERVAL, and the task API. Beat runs inside this process and keeps no schedule file
    or lock, so a restarted worker is back at work within one interval. For several machines run
    `celery -A worker.app worker` on each and one beat (see docker-compose.yml)."""
    app.engine()  # an unreachable database or an old schema stops here, with the fix named
    load_sender(app.settings)  # and so does a sender's missing or malformed setting (each process builds its own)
    celery_app = make_app(app.settings)  # the same app as ``celery -A worker.app``, from the same settings
    logs.install(app.settings.log_format)
    problem = broker_problem(celery_app)
    if problem:
        raise BrokerUnavailable(
            f"no broker answers at XINGTU_BROKER_URL ({problem}); start Redis (`make run` starts a local"
            " redis-server if one is installed) or point XINGTU_BROKER_URL at one"
        )
    argv = ["worker", "--beat", "--scheduler=celery.beat:Scheduler", f"--loglevel={loglevel.upper()}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    exitcode = _run(celery_app, argv)
    if exitcode:
        sys.exit(exitcode)


def _run(celery_app: Celery, argv: list[str]) -> int | None:
    """Run the worker; the exit code it stopped with. ``worker_main`` drops it (Celery's ``start`` discards
    what its command line returns), so a worker stopped by an unrecoverable error would exit 0 and look
    like a clean stop to whatever restarts it. The code is the WorkController's, as ``celery worker``
    exits with: 0 (or None) after a warm shutdown (SIGTERM), 1 after an unrecoverable error, a cold
    shutdown or Ctrl+C."""
    started = []

    def keep(sender=None, **_):
        if getattr(sender, "app", None) is celery_app:  # signals are global: this app's worker only
            started.append(sender)

    signals.worker_init.connect(keep, weak=False)
    try:
        celery_app.worker_main(argv)
    finally:
        signals.worker_init.disconnect(keep)
    return started[-1].exitcode if started else None
