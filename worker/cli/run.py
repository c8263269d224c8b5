"""``xingtu worker``: a Celery worker with an embedded beat, for one machine."""

import click

from worker.cli.context import App, pass_app
from worker.errors import BrokerUnavailable
from worker.notify.senders import load_sender
from worker.runtime.celery_config import make_app
from worker.runtime.handoff import broker_problem

LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


@click.command(name="worker")
@click.option("--concurrency", type=click.IntRange(min=1), help="Worker processes (default: one per CPU).")
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
    problem = broker_problem(celery_app)
    if problem:
        raise BrokerUnavailable(
            f"no broker answers at XINGTU_BROKER_URL ({problem}); start Redis (`make run` starts a local"
            " redis-server if one is installed) or point XINGTU_BROKER_URL at one"
        )
    argv = ["worker", "--beat", "--scheduler=celery.beat:Scheduler", f"--loglevel={loglevel.upper()}"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    celery_app.worker_main(argv)
