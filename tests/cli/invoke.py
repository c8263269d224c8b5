"""Running ``xingtu`` in-process as a user would from a shell, for the CLI tests (``runner``)."""

import json
from dataclasses import dataclass

from click.testing import CliRunner

from worker.cli import main


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)


def runner(database_url: str):
    """``xingtu ARGS`` run in-process against a database, as a user would from a shell. No broker
    answers (port 1 refuses at once), so commands also prove they never wait for one."""

    def run(*args: str, env: dict[str, str] | None = None) -> Outcome:
        runner = CliRunner()
        base = {"XINGTU_DATABASE_URL": database_url, "XINGTU_BROKER_URL": "redis://127.0.0.1:1/0"}
        with runner.isolation(env={**base, **(env or {})}) as (stdout, stderr, _):
            try:
                main([str(arg) for arg in args])
                code = 0
            except SystemExit as exit_:
                code = exit_.code or 0
            return Outcome(code, stdout.getvalue().decode(), stderr.getvalue().decode())

    return run
