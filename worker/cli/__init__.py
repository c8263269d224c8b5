"""The ``xingtu`` command line: ``xingtu [--json] GROUP COMMAND ...``.

Exit status: 0 done; 1 refused (nothing written, bar a timeout that was already due) or unusable
settings or database; 2 a usage error. Errors print ``error: ...`` on stderr and, with ``--json``,
``{"error": {"code": ..., "message": ...}}`` on stdout.
"""

import importlib
import sys

import click
from sqlalchemy.exc import DBAPIError

from worker.cli.context import App, unavailable
from worker.errors import SettingsError, XingtuError
from worker.runtime import log_lines

# Each command's module, imported when the command runs (or help lists it): a read needs neither Celery
# nor the SMS senders, which would cost it more than the read itself.
COMMANDS = {
    "cancel": "worker.cli.cancel", "client": "worker.cli.parties", "creator": "worker.cli.parties",
    "db": "worker.cli.admin", "mcn": "worker.cli.parties", "notifications": "worker.cli.admin",
    "order": "worker.cli.orders", "receipts": "worker.cli.receipts", "scan": "worker.cli.admin",
    "sms": "worker.cli.sms", "status": "worker.cli.admin", "violation": "worker.cli.violations",
    "worker": "worker.cli.run",
}  # fmt: skip


class Commands(click.Group):
    """The top-level group, loading each command from its module on first use (``COMMANDS``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if name not in self.commands:
            command = getattr(importlib.import_module(COMMANDS[name]), name)
            _accept_json(command)
            self.add_command(command, name)
        return self.commands[name]


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON value on stdout.")
@click.version_option(package_name="xingtu-worker", prog_name="xingtu", message="%(prog)s %(version)s")
@click.pass_obj
def cli(app: App, as_json: bool) -> None:
    """xingtu-worker: orders, cancellations and their timers for a Xingtu-style creator marketplace.

    The database comes from XINGTU_DATABASE_URL (default sqlite:///xingtu.db).
    """
    app.as_json = as_json


def _json_after_the_command(context: click.Context, _option: click.Parameter, as_json: bool) -> None:
    if as_json:
        context.find_object(App).as_json = True


def _accept_json(command: click.Command) -> None:
    """Every command takes ``--json`` too (``xingtu order show 1 --json``), as the group does before it."""
    if isinstance(command, click.Group):
        for each in command.commands.values():
            _accept_json(each)
    else:
        command.params.append(click.Option(
            ["--json"], is_flag=True, expose_value=False, callback=_json_after_the_command,
            help="Print exactly one JSON value on stdout (as xingtu --json).",
        ))  # fmt: skip


class UsageFailure(XingtuError):
    code = "usage"


def _log_format(app: App) -> str:
    """XINGTU_LOG_FORMAT, before anything logs. Unusable settings leave the lines text: the command
    stops on them when it reads them, naming the variable, as it would without this."""
    try:
        return app.settings.log_format
    except SettingsError:
        return "text"


def main(args: list[str] | None = None) -> None:
    args = sys.argv[1:] if args is None else args
    # Known before parsing, so even a usage error answers in JSON (``--json`` before or after the command).
    app = App(as_json="--json" in args[: args.index("--") if "--" in args else len(args)])
    log_lines.configure_cli(_log_format(app))
    try:
        cli.main(args=args, prog_name="xingtu", standalone_mode=False, obj=app)
    except click.exceptions.NoArgsIsHelpError as exc:  # bare ``xingtu`` or ``xingtu order``: its help, once
        if app.as_json:
            app.fail(UsageFailure(f"give a command: {exc.ctx.command_path} --help lists them"), exit_code=2)
        click.echo(exc.ctx.get_help(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        click.echo(exc.format_message() if exc.ctx is None else f"{exc.ctx.get_usage()}\n", err=True, nl=False)
        app.fail(UsageFailure(exc.format_message()), exit_code=2)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except XingtuError as exc:
        app.fail(exc)
    except DBAPIError as exc:
        app.fail(unavailable(app.settings.database_url, exc))
