"""``xingtu order ...``: publish, act on and read orders."""

import click

from models.states import OrderStatus
from worker.cli.context import App, idempotent, pass_app
from worker.cli.render import (
    EVENT_HEADER,
    ORDER_HEADER,
    event_row,
    order_row,
    order_text,
)
from worker.cli.sides import as_creator_side
from worker.cli.values import COUNT, FEN, ID
from worker.formats.serialize import event_json, order_json
from worker.services import cancellation, orders, reads


@click.group(help="Publish orders, act on them, read them.")
def order() -> None:
    pass


@order.command(help="Publish an order: escrow the amount and start the acceptance window.")
@click.option("--client", "client_id", required=True, type=ID, help="The publishing client's id.")
@click.option("--creator", "creator_id", required=True, type=ID, help="The creator it is offered to.")
@click.option("--amount-fen", required=True, type=FEN, help="Amount in fen (1 yuan = 100 fen), 1 to 100000000000.")
@click.option("--title", required=True, help="Title, 1 to 100 characters.")
@idempotent
@pass_app
def publish(app: App, client_id: int, creator_id: int, amount_fen: int, title: str) -> None:
    app.emit_shown(
        orders.publish, order_text, client_id=client_id, creator_id=creator_id, title=title, amount_fen=amount_fen
    )


@order.command(help="Accept a pending order, before its acceptance deadline.")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_creator_side
@idempotent
@pass_app
def accept(app: App, order_id: int, **side: int) -> None:
    app.emit_shown(orders.accept, order_text, order_id=order_id, **side)


@order.command(help="Decline a pending order: it is cancelled at once, nothing is paid.")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_creator_side
@click.option("--reason", required=True, help="Why, 1 to 500 characters.")
@idempotent
@pass_app
def decline(app: App, order_id: int, reason: str, **side: int) -> None:
    app.emit_shown(cancellation.decline, order_text, order_id=order_id, reason=reason, **side)


@order.command(help="Record a video upload; the first one means production has started.")
@click.argument("order_id", metavar="ORDER", type=ID)
@as_creator_side
@click.option("--video", required=True, help="A reference to the uploaded video.")
@idempotent
@pass_app
def upload(app: App, order_id: int, video: str, **side: int) -> None:
    app.emit_shown(orders.upload, order_text, order_id=order_id, video=video, **side)


@order.command(help="Complete an order with at least one upload: the creator is paid in full.")
@click.argument("order_id", metavar="ORDER", type=ID)
@click.option("--client", "client_id", required=True, type=ID, help="The order's client.")
@idempotent
@pass_app
def complete(app: App, order_id: int, client_id: int) -> None:
    app.emit_shown(orders.complete, order_text, order_id=order_id, client_id=client_id)


@order.command(help="Show an order and its latest cancellation request.")
@click.argument("order_id", metavar="ORDER", type=ID)
@pass_app
def show(app: App, order_id: int) -> None:
    app.emit(app.read(lambda session: order_json(reads.order(session, order_id))), order_text)


@order.command(name="list", help="List orders in id order.")
@click.option("--status", type=click.Choice([s.value for s in OrderStatus]), help="Only orders in this state.")
@click.option("--limit", type=COUNT, help="At most this many.")
@pass_app
def list_(app: App, status: str | None, limit: int | None) -> None:
    with app.read_sessions()() as session:
        rows = (order_json(o) for o in reads.orders(session, status=status and OrderStatus(status), limit=limit))
        app.emit_rows(rows, dict, ORDER_HEADER, order_row)


@order.command(help="The audit trail of an order, oldest first.")
@click.argument("order_id", metavar="ORDER", type=ID)
@pass_app
def history(app: App, order_id: int) -> None:
    events = app.read(lambda session: [event_json(e) for e in reads.history(session, order_id)])
    app.emit_rows(events, dict, EVENT_HEADER, event_row)
