"""``xingtu db ...``, ``scan``, ``notifications ...`` and ``status``: for operators."""

import click

from models.states import NotificationStatus
from worker.cli.context import App, idempotent, pass_app
from worker.cli.render import (
    NOTIFICATION_HEADER,
    dispatch_text,
    notification_row,
    scan_text,
    status_text,
    upgrade_text,
)
from worker.cli.values import COUNT, ID
from worker.clock import utcnow
from worker.database import schema
from worker.formats.serialize import notification_json
from worker.runtime import runs
from worker.services import outbox, reads, timers


@click.group(help="The database schema.")
def db() -> None:
    pass


@db.command(help="Create the schema, or upgrade it to this version's. Safe to run again.")
@pass_app
def upgrade(app: App) -> None:
    app.emit(schema.upgrade(app.engine(check_schema=False)), upgrade_text)


@click.command(
    help="Apply every due timer now: acceptance timeouts, cancellation response timeouts, reminders,"
    " the ends of suspensions."
)
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@pass_app
def scan(app: App, dry_run: bool) -> None:
    if dry_run:
        now = utcnow()
        result = app.read(lambda session: timers.count_due(session, now, key_window=app.settings.idempotency_window))
    else:
        result, more = timers.ScanResult(), True
        while more:  # bounded runs, as the worker's, until nothing is left due
            run, more = runs.scan(app.runtime)
            result += run
    app.emit({**result.as_dict(), "dry_run": dry_run}, scan_text)


@click.group(help="The SMS outbox.")
def notifications() -> None:
    pass


@notifications.command(name="list", help="List outbox notifications in id order (phones masked).")
@click.option("--status", type=click.Choice([s.value for s in NotificationStatus]), help="Only this status.")
@click.option("--order", "order_id", type=ID, help="Only this order's.")
@click.option("--limit", type=COUNT, help="At most this many.")
@pass_app
def list_(app: App, status: str | None, order_id: int | None, limit: int | None) -> None:
    with app.read_sessions()() as session:
        rows = reads.notifications(
            session, status=status and NotificationStatus(status), order_id=order_id, limit=limit
        )
        app.emit_rows((notification_json(n) for n in rows), dict, NOTIFICATION_HEADER, notification_row)


@notifications.command(help="Send every notification due now, in this process, through XINGTU_SMS_SENDER.")
@pass_app
def dispatch(app: App) -> None:
    result, again = outbox.DispatchResult(), 0.0
    while again is not None:  # in the foreground, without the pauses a worker's sweep takes
        run, again = runs.dispatch(app.runtime)
        result += run
    app.emit(result.as_dict(), dispatch_text)


@notifications.command(help="Give a dead notification a fresh set of attempts, due now.")
@click.argument("notification_id", type=ID)
@idempotent
@pass_app
def retry(app: App, notification_id: int) -> None:
    app.emit_shown(outbox.revive, notification_row, notification_id=notification_id)


@click.command(help="How the worker is doing: orders, overdue timers, the outbox.")
@pass_app
def status(app: App) -> None:
    now = utcnow()
    app.emit(app.read(lambda session: reads.status(session, now)), status_text)
