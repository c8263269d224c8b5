"""Which side of an order a command acts as: ``--client ID``, ``--creator ID`` or ``--mcn ID`` (an MCN acts
as the creator side of the orders of creators it signs), exactly one of them."""

import functools

import click

from models.states import Role
from worker.cli.values import ID


def as_party(command):
    """Add ``--client ID | --creator ID | --mcn ID`` (exactly one) and pass ``role, actor_id`` on."""

    @click.option("--client", "client_id", type=ID, help="Act as this client.")
    @click.option("--creator", "creator_id", type=ID, help="Act as this creator.")
    @click.option("--mcn", "mcn_id", type=ID, help="Act as the creator side, for an MCN signing them.")
    @functools.wraps(command)
    def wrapper(*args, client_id: int | None, creator_id: int | None, mcn_id: int | None, **kwargs):
        role, actor_id = exactly_one(client=client_id, creator=creator_id, mcn=mcn_id)
        return command(*args, role=role, actor_id=actor_id, **kwargs)

    return wrapper


def as_creator_side(command):
    """Add ``--creator ID | --mcn ID`` (exactly one) and pass ``creator_id`` or ``mcn_id`` on."""

    @click.option("--creator", "creator_id", type=ID, help="The order's creator.")
    @click.option("--mcn", "mcn_id", type=ID, help="An MCN signing the order's creator, acting for them.")
    @functools.wraps(command)
    def wrapper(*args, creator_id: int | None, mcn_id: int | None, **kwargs):
        role, actor_id = exactly_one(creator=creator_id, mcn=mcn_id)
        return command(*args, **{"creator_id" if role is Role.CREATOR else "mcn_id": actor_id}, **kwargs)

    return wrapper


def exactly_one(**options: int | None) -> tuple[Role, int]:
    """The role and id of the one ``--client``/``--creator``/``--mcn`` option given, or a usage error."""
    given = [(Role(name), value) for name, value in options.items() if value is not None]
    if len(given) != 1:
        raise click.UsageError(f"give exactly one of {' or '.join(f'--{name} ID' for name in options)}")
    return given[0]
