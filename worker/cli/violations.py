"""``xingtu violation ...``: the penalty ladder for off-platform deals."""

import click

from worker.cli.context import App, idempotent, pass_app
from worker.cli.render import VIOLATION_HEADER, violation_row
from worker.cli.values import ID
from worker.formats.serialize import violation_json
from worker.services import reads, sanctions


@click.group(help="Record off-platform deals and see the sanctions they carry.")
def violation() -> None:
    pass


@violation.command(help="Record a violation: 1st takedown, 2nd 7-day suspension, 3rd 3 months, then a ban.")
@click.option("--creator", "creator_id", required=True, type=ID, help="The creator who broke the rule.")
@click.option("--evidence", required=True, help="What was found, 1 to 2000 characters.")
@idempotent
@pass_app
def record(app: App, creator_id: int, evidence: str) -> None:
    app.emit_shown(sanctions.record, violation_row, creator_id=creator_id, evidence=evidence)


@violation.command(name="list", help="A creator's violations, oldest first.")
@click.option("--creator", "creator_id", required=True, type=ID, help="The creator.")
@pass_app
def list_(app: App, creator_id: int) -> None:
    found = app.read(lambda session: [violation_json(v) for v in reads.violations(session, creator_id)])
    app.emit_rows(found, dict, VIOLATION_HEADER, violation_row)
