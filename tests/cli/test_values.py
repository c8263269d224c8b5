"""The whole numbers the commands take (ids, amounts in fen, figures, counts, ports), found by walking the
click group so that an option added later is covered too: a malformed one is a usage error (exit 2)
naming the option, before anything is read or written; help names each by its kind (``--client ID``),
never by the 64-bit bound. What the rules allow of a well-formed amount stays theirs to refuse
(``invalid_amount``, exit 1, in ``test_contract``)."""

import click
import pytest

from tests.cli.invoke import runner
from tests.market import Market
from tests.support import shared_database
from worker.cli import cli
from worker.cli.values import COUNT, FEN, FIGURE, ID, PORT, WholeNumber
from worker.database.engines import make_engine, session_factory
from worker.settings import Settings


def commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    """Every command under ``group``, with the words that name it."""
    context = click.Context(group)
    for name in group.list_commands(context):  # the top-level group loads each command as it is named
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(commands())
NUMBERS = [(path, command, param) for path, command in COMMANDS for param in command.params
           if isinstance(param.type, WholeNumber)]  # fmt: skip


def hint(command: click.Command, param: click.Parameter) -> str:
    """How click names the parameter in an error: ``'--client'``, or an argument's metavar (``'ORDER'``)."""
    return param.get_error_hint(click.Context(command))


def invocation(path: tuple[str, ...], command: click.Command, malformed: click.Parameter) -> list[str]:
    """The command with ``abc`` for ``malformed`` and a well-formed value for every other required one."""

    def value(param: click.Parameter) -> str:
        return "abc" if param is malformed else "1" if isinstance(param.type, WholeNumber) else "x"

    given = [param for param in command.params if param.required or param is malformed]
    arguments = [value(param) for param in given if isinstance(param, click.Argument)]
    options = [word for param in given if isinstance(param, click.Option) for word in (param.opts[0], value(param))]
    return [*path, *arguments, *options]


def test_every_id_and_amount_is_of_its_kind_and_every_kind_is_used():
    """A new ``--something-id`` or amount typed as text or int would escape the cases below."""
    astray = [
        (path, param.name) for path, command in COMMANDS for param in command.params
        if (param.name.endswith("_id") or "amount" in param.name) and param.type is not (FEN if "amount" in param.name else ID)
    ]  # fmt: skip
    assert astray == []
    assert {param.type for *_, param in NUMBERS} == {ID, FEN, FIGURE, COUNT, PORT}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def world(request, sqlite_template, tmp_path_factory):
    """A client, a creator, an MCN and an order: rows 1 that every case's well-formed values name."""
    url = shared_database(request, sqlite_template, tmp_path_factory, "values")
    xingtu = runner(url)
    for party in ("client", "creator", "mcn"):
        assert xingtu(party, "add", "--name", "甲", "--phone", "13800000001").code == 0
    assert xingtu("order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 100, "--title", "t").code == 0
    engine = make_engine(url)
    yield xingtu, Market(session_factory(engine), Settings(database_url=url))
    engine.dispose()


@pytest.mark.parametrize(
    ("path", "command", "param"), NUMBERS, ids=[f"{' '.join(path)} {hint(c, p)}" for path, c, p in NUMBERS]
)
def test_a_malformed_number_is_a_usage_error_naming_it(world, path, command, param):
    xingtu, market = world
    before = market.dump()
    result = xingtu("--json", *invocation(path, command, param))
    message = f"Invalid value for {hint(command, param)}: 'abc' is not {param.type.name} (a whole number"
    assert (result.code, result.json["error"]["code"]) == (2, "usage"), result.stderr
    assert result.json["error"]["message"].startswith(message)
    assert result.stderr.rstrip().endswith(f"error: {result.json['error']['message']}")
    assert market.dump() == before


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_help_names_each_number_by_its_kind(tmp_path, path, command):
    result = runner(f"sqlite:///{tmp_path / 'unused.db'}")(*path, "--help")
    assert result.code == 0, result.stderr
    assert "9223372036854775807" not in result.stdout and "INTEGER" not in result.stdout
    usage = result.stdout.splitlines()[0].split()
    for param in command.params:
        if isinstance(param.type, WholeNumber) and isinstance(param, click.Argument):
            assert param.make_metavar(click.Context(command)) in usage
        elif isinstance(param.type, WholeNumber):
            assert f"{param.opts[0]} {param.type.metavar}" in result.stdout
