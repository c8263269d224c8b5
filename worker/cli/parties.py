"""``xingtu client ...``, ``xingtu creator ...`` and ``xingtu mcn ...``: registering parties, closing and
reopening accounts, creators' figures and record, MCN agencies signing creators."""

import click

from models import Client, Creator, Mcn
from models.states import CreatorStatus, Role
from worker.cli.context import App, idempotent, pass_app
from worker.cli.render import CREATOR_HEADER, creator_row, party_text
from worker.cli.values import COUNT, FIGURE, ID
from worker.formats.serialize import creator_json
from worker.services import accounts, agencies, creator_record, parties, views


def _group(model: type[Client] | type[Creator] | type[Mcn], word: str, help: str) -> click.Group:
    """The commands every party has: ``add`` and ``show``."""

    @click.group(name=word, help=help)
    def group() -> None:
        pass

    @group.command(help=f"Register a {word}; the phone is validated and stored in E.164.")
    @click.option("--name", required=True, help="Display name, 1 to 100 characters.")
    @click.option("--phone", required=True, help="Mobile number, e.g. +8613812341234 or 13812341234.")
    @idempotent
    @pass_app
    def add(app: App, name: str, phone: str) -> None:
        app.emit_shown(parties.add, party_text, model=model, name=name, phone=phone)

    @group.command(help=f"Show a {word}.")
    @click.argument("party_id", type=ID)
    @pass_app
    def show(app: App, party_id: int) -> None:
        app.emit(app.read(lambda session: views.shown(session, parties.get(session, model, party_id))), party_text)

    return group


def _accounts(group: click.Group, role: Role) -> None:
    """``close`` and ``reopen`` (关闭星图), for clients and creators alike."""

    @group.command(help=f"Close the {role}'s account: refused while an order is in production; pending orders end now.")
    @click.argument("account_id", type=ID)
    @click.option("--reason", required=True, help="Why, 1 to 500 characters.")
    @idempotent
    @pass_app
    def close(app: App, account_id: int, reason: str) -> None:
        app.emit_shown(accounts.close, party_text, role=role, account_id=account_id, reason=reason)

    @group.command(help=f"Reopen a closed {role} account.")
    @click.argument("account_id", type=ID)
    @idempotent
    @pass_app
    def reopen(app: App, account_id: int) -> None:
        app.emit_shown(accounts.reopen, party_text, role=role, account_id=account_id)


client = _group(Client, "client", "Register and look up clients; close and reopen their accounts.")
_accounts(client, Role.CLIENT)
creator = _group(Creator, "creator", "Register creators and see their record; close and reopen their accounts.")
_accounts(creator, Role.CREATOR)
mcn = _group(Mcn, "mcn", "MCN agencies: register them; they sign creators and act for them.")


@creator.command(help="Set a creator's figures as synced from Douyin.")
@click.argument("creator_id", type=ID)
@click.option("--followers", type=FIGURE, help="粉丝数量, a whole number from 0.")
@click.option("--average-plays", type=FIGURE, help="视频平均播放量, a whole number from 0.")
@idempotent
@pass_app
def update(app: App, creator_id: int, followers: int | None, average_plays: int | None) -> None:
    if followers is None and average_plays is None:
        raise click.UsageError("nothing to update: give --followers N and/or --average-plays N")
    app.emit_shown(accounts.update, party_text, creator_id=creator_id, followers=followers, average_plays=average_plays)


@creator.command(name="list", help="Creators with their record, by id or largest first by --sort (ties by id).")
@click.option("--status", type=click.Choice([s.value for s in CreatorStatus]), help="Only creators in this state.")
@click.option("--sort", type=click.Choice(creator_record.SORTS), help="Largest first; a null acceptance rate last.")
@click.option("--limit", type=COUNT, help="At most this many.")
@pass_app
def list_(app: App, status: str | None, sort: str | None, limit: int | None) -> None:
    with app.read_sessions()() as session:
        found = creator_record.ranked(session, status=status and CreatorStatus(status), sort=sort, limit=limit)
        app.emit_rows((creator_json(*pair) for pair in found), dict, CREATOR_HEADER, creator_row)


@mcn.command(help="Sign a creator to the MCN (a creator is signed to one MCN at a time).")
@click.argument("mcn_id", metavar="MCN", type=ID)
@click.option("--creator", "creator_id", required=True, type=ID, help="The creator to sign.")
@idempotent
@pass_app
def sign(app: App, mcn_id: int, creator_id: int) -> None:
    app.emit_shown(agencies.sign, party_text, mcn_id=mcn_id, creator_id=creator_id)


@mcn.command(help="Release a creator the MCN signs; it can no longer act for them.")
@click.argument("mcn_id", metavar="MCN", type=ID)
@click.option("--creator", "creator_id", required=True, type=ID, help="The creator to release.")
@idempotent
@pass_app
def release(app: App, mcn_id: int, creator_id: int) -> None:
    app.emit_shown(agencies.release, party_text, mcn_id=mcn_id, creator_id=creator_id)
