"""The ``xingtu`` command line: ``xingtu [--json] GROUP COMMAND ...``.

Exit status: 0 done; 1 refused (nothing written, bar a timeout that was already due) or unusable
settings or database; 2 a usage error. Errors print ``error: ...`` on stderr and, with ``--json``,
``{"error": {"code": ..., "message": ...}}`` on stdout.
"""

import sys

import click
from sqlalchemy.exc import DBAPIError

from worker.cli.admin import db, notifications, scan, status
from worker.cli.cancel import cancel
from worker.cli.context import App, unavailable
from worker.cli.orders import order
from worker.cli.parties import client, creator, mcn
from worker.cli.receipts import receipts
from worker.cli.run import worker
from worker.cli.sms import sms
from worker.cli.violations import violation
from worker.errors import SettingsError, XingtuError
from worker.runtime import logs


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


def _accept_json(group: click.Group) -> None:
    """Every command takes ``--json`` too (``xingtu order show 1 --json``), as the group does before it."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_json(command)
        else:
            command.params.append(click.Option(
                ["--json"], is_flag=True, expose_value=False, callback=_json_after_the_command,
                help="Print exactly one JSON value on stdout (as xingtu --json).",
            ))  # fmt: skip


for command in (db, client, creator, mcn, order, cancel, violation, scan, notifications, sms, receipts, status, worker):
    cli.add_command(command)
_accept_json(cli)


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
    logs.configure_cli(_log_format(app))
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
