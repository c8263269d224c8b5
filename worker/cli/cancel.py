"""``xingtu cancel ...``: the cancellation handshake, acted on by one side of the order."""

import click

from models.states import Role
from worker.cli.context import App, idempotent, pass_app
from worker.cli.render import order_text
from worker.cli.sides import as_party
from worker.cli.values import ID
from worker.services import cancellation


@click.group(help="Ask to cancel an order, and answer such a request.")
def cancel() -> None:
    pass


@cancel.command(help="Ask to cancel. On a pending order it takes effect at once (a creator's request declines it).")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_party
@click.option("--reason", required=True, help="Why, 1 to 500 characters.")
@idempotent
@pass_app
def request(app: App, order_id: int, role: Role, actor_id: int, reason: str) -> None:
    app.emit_shown(cancellation.request, order_text, order_id=order_id, role=role, actor_id=actor_id, reason=reason)


@cancel.command(help="Agree to the other side's request: the order is cancelled and the quote settled.")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_party
@idempotent
@pass_app
def confirm(app: App, order_id: int, role: Role, actor_id: int) -> None:
    app.emit_shown(cancellation.confirm, order_text, order_id=order_id, role=role, actor_id=actor_id)


@cancel.command(help="Refuse the other side's request: the order goes on.")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_party
@click.option("--reason", help="Why (optional), 1 to 500 characters.")
@idempotent
@pass_app
def reject(app: App, order_id: int, role: Role, actor_id: int, reason: str | None) -> None:
    app.emit_shown(cancellation.reject, order_text, order_id=order_id, role=role, actor_id=actor_id, reason=reason)


@cancel.command(help="Take back your own request: the order goes on.")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_party
@idempotent
@pass_app
def withdraw(app: App, order_id: int, role: Role, actor_id: int) -> None:
    app.emit_shown(cancellation.withdraw, order_text, order_id=order_id, role=role, actor_id=actor_id)
