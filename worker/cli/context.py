"""What every command shares: settings, the database, the clock, and how results and errors print.

Settings and the engine are built on first use, so ``--help`` works without a database; each command
reads the clock once, when it runs.
"""

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from worker.database import schema
from worker.database.engines import make_engine, masked, read_session_factory, session_factory
from worker.database.unit_of_work import UnitOfWork
from worker.errors import DatabaseError, SettingsError, XingtuError
from worker.services import idempotency
from worker.settings import Settings

if TYPE_CHECKING:
    from worker.runtime.context import Runtime


@dataclass
class App:
    as_json: bool = False
    idempotency_key: str | None = None  # a writing command's ``--idempotency-key`` (``idempotent``)
    _settings: Settings | None = field(default=None, repr=False)
    _sessions: sessionmaker[UnitOfWork] | None = field(default=None, repr=False)
    _read_sessions: sessionmaker[UnitOfWork] | None = field(default=None, repr=False)
    _runtime: "Runtime | None" = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    def engine(self, *, check_schema: bool = True):
        url = self.settings.database_url
        try:
            engine = make_engine(url)
            path = engine.url.database if engine.dialect.name == "sqlite" else None
            if check_schema and path and path != ":memory:" and not Path(path).exists():
                relative = "" if Path(path).is_absolute() else (
                    f" (XINGTU_DATABASE_URL={url} is relative to the current directory; sqlite:////path/to/xingtu.db"
                    " names one file wherever it is run)"
                )  # fmt: skip
                raise DatabaseError(
                    f"there is no database at {Path(path).resolve()}{relative}: run `xingtu db upgrade` to create it"
                )
            if check_schema:
                schema.ensure_current(engine)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise SettingsError(
                f"XINGTU_DATABASE_URL={masked_setting(url)} is not a usable database URL: {exc}"
            ) from None
        except DBAPIError as exc:
            raise unavailable(url, exc) from None
        return engine

    def sessions(self) -> sessionmaker[UnitOfWork]:
        if self._sessions is None:
            self._sessions = session_factory(self.engine())
        return self._sessions

    def read_sessions(self) -> sessionmaker[Session]:
        if self._read_sessions is None:
            self._read_sessions = read_session_factory(self.sessions().kw["bind"])
        return self._read_sessions

    @property
    def runtime(self) -> "Runtime":
        """The jobs' view of this database; its Celery app only publishes (after commit, fail-fast).
        Imported here: only a command that writes or runs jobs needs Celery."""
        from worker.runtime.celery_config import make_app
        from worker.runtime.context import Runtime

        if self._runtime is None:
            self._runtime = Runtime(self.settings, make_app(self.settings), self.sessions())
        return self._runtime

    def act(self, use_case: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        """Run one use case in one transaction at the current instant, once per ``--idempotency-key``:
        the JSON of what it returned (``views.shown``), or what the key's first call answered. Its SMS
        are queued once committed."""
        command = click.get_current_context()
        claim = idempotency.Claim.of(self.idempotency_key, command.command_path, command.params)
        return idempotency.shown_once(self.runtime, claim, use_case, kwargs)

    def emit_shown(self, use_case: Callable[..., Any], human: Callable[[Any], str], **kwargs: Any) -> None:
        """``act``, printing its answer."""
        self.emit(self.act(use_case, **kwargs), human)

    def read(self, query: Callable[[Session], Any]) -> Any:
        with self.read_sessions()() as session:
            return query(session)

    def emit(self, value: Any, human: Callable[[Any], str]) -> None:
        click.echo(json.dumps(value, ensure_ascii=False) if self.as_json else human(value))

    def emit_rows(
        self, rows: Iterable[Any], to_json: Callable[[Any], dict], human_header: str, human_row: Callable[[Any], str]
    ) -> None:
        """Stream a list: a JSON array, or a table for people, one row at a time."""
        if self.as_json:
            click.echo("[", nl=False)
            for index, row in enumerate(rows):
                click.echo(("," if index else "") + json.dumps(to_json(row), ensure_ascii=False), nl=False)
            click.echo("]")
            return
        click.echo(human_header)
        for row in rows:
            click.echo(human_row(row))

    def fail(self, error: XingtuError, exit_code: int = 1) -> None:
        click.echo(f"error: {error.message}", err=True)
        if self.as_json:
            click.echo(json.dumps({"error": error.as_dict()}, ensure_ascii=False))
        sys.exit(exit_code)


def unavailable(url: str, exc: DBAPIError) -> DatabaseError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return DatabaseError(f"cannot use the database {masked_setting(url)}: {reason}")


def masked_setting(url: str) -> str:
    try:
        return masked(url)
    except ArgumentError:
        return repr(url)


pass_app = click.make_pass_decorator(App)


def _remember_key(context: click.Context, _option: click.Parameter, key: str | None) -> None:
    context.find_object(App).idempotency_key = key


def idempotent(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--idempotency-key KEY`` to a writing command: run again with the same key and the same
    arguments, the command prints what it printed the first time and changes nothing."""
    return click.option(
        "--idempotency-key", metavar="KEY", expose_value=False, callback=_remember_key,
        help="Apply this at most once: run again with the same KEY (1 to 255 printable ASCII characters, e.g. a"
        " UUID) and arguments, it prints the first answer and changes nothing.",
    )(command)  # fmt: skip
