"""``xingtu db ...``, ``xingtu scan`` and ``xingtu notifications ...``: for operators."""

import click

from models.states import NotificationStatus
from worker import schema
from worker.cli.app import App, pass_app
from worker.cli.render import NOTIFICATION_HEADER, notification_row, scan_text, upgrade_text
from worker.clock import utcnow
from worker.db import transaction
from worker.serialize import notification_json
from worker.services import queries, timers


@click.group(help="The database schema.")
def db() -> None:
    pass


@db.command(help="Create the schema, or upgrade it to this version's. Safe to run again.")
@pass_app
def upgrade(app: App) -> None:
    app.emit(schema.upgrade(app.engine(check_schema=False)), upgrade_text)


@click.command(help="Apply every due timer now: acceptance timeouts, cancellation response timeouts, reminders.")
@click.option("--dry-run", is_flag=True, help="Count what is due; change nothing.")
@pass_app
def scan(app: App, dry_run: bool) -> None:
    now = utcnow()
    if dry_run:
        result = app.read(lambda session: timers.count_due(session, now))
    else:
        result = timers.ScanResult()
        while True:  # batch after batch, each its own transaction, until nothing is left due
            with transaction(app.sessions()) as session:
                batch = timers.scan_batch(session, now, app.settings.cancel_timeout_policy, app.settings.scan_batch_size)
            result += batch
            if not batch.total:
                break
    app.emit({**result.as_dict(), "dry_run": dry_run}, scan_text)


@click.group(help="The SMS outbox.")
def notifications() -> None:
    pass


@notifications.command(name="list", help="List outbox notifications in id order (phones masked).")
@click.option("--status", type=click.Choice([s.value for s in NotificationStatus]), help="Only this status.")
@click.option("--order", "order_id", type=int, help="Only this order's.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@pass_app
def list_(app: App, status: str | None, order_id: int | None, limit: int | None) -> None:
    with app.sessions()() as session:
        rows = queries.notifications(
            session, status=status and NotificationStatus(status), order_id=order_id, limit=limit
        )
        app.emit_rows((notification_json(n) for n in rows), dict, NOTIFICATION_HEADER, notification_row)
