"""``xingtu client ...`` and ``xingtu creator ...``."""

import click

from models import Client, Creator
from worker.cli.context import ID, App, pass_app
from worker.cli.render import party_text
from worker.formats.serialize import party_json
from worker.services import parties


def _group(model: type[Client] | type[Creator], word: str) -> click.Group:
    @click.group(name=word, help=f"Register and look up {word}s.")
    def group() -> None:
        pass

    @group.command(help=f"Register a {word}; the phone is validated and stored in E.164.")
    @click.option("--name", required=True, help="Display name, 1 to 100 characters.")
    @click.option("--phone", required=True, help="Mobile number, e.g. +8613812341234 or 13812341234.")
    @pass_app
    def add(app: App, name: str, phone: str) -> None:
        app.emit(party_json(app.act(parties.add, model=model, name=name, phone=phone)), party_text)

    @group.command(help=f"Show a {word}.")
    @click.argument("party_id", metavar="ID", type=ID)
    @pass_app
    def show(app: App, party_id: int) -> None:
        app.emit(app.read(lambda session: party_json(parties.get(session, model, party_id))), party_text)

    return group


client = _group(Client, "client")
creator = _group(Creator, "creator")
