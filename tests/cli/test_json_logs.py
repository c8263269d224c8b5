"""The CLI's own log lines under XINGTU_LOG_FORMAT: with ``json`` one JSON object a line on stderr,
beside the answer on stdout; without it the ``LEVEL: message`` lines of before. Each case is a real
``xingtu`` process, as an operator runs it: a process sets its logging up once."""

import json
import os
import subprocess
import sys
from pathlib import Path

XINGTU = Path(sys.executable).parent / "xingtu"
# Port 1 refuses at once: the publish's hand-off to the worker fails, and the CLI warns that it did.
DEAD_BROKER = "redis://127.0.0.1:1/0"


def _publish(database_url: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(XINGTU), "--json", "order", "publish", "--client", "1", "--creator", "1", "--amount-fen", "100",
         "--title", "夏季新品"],
        env={**os.environ, "XINGTU_DATABASE_URL": database_url, "XINGTU_BROKER_URL": DEAD_BROKER, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _parties(xingtu) -> None:
    assert xingtu("client", "add", "--name", "品牌", "--phone", "13800000001").code == 0
    assert xingtu("creator", "add", "--name", "达人", "--phone", "13900000002").code == 0


def test_json_log_lines_on_stderr_and_the_answer_on_stdout(xingtu, database_url):
    _parties(xingtu)
    done = _publish(database_url, {"XINGTU_LOG_FORMAT": "json"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "pending"
    [line] = [json.loads(text) for text in done.stderr.splitlines()]
    assert list(line) == ["time", "level", "logger", "message"]
    assert (line["level"], line["logger"]) == ("WARNING", "worker.runtime.handoff")
    assert line["message"].startswith("could not queue the sending of 1 notification (")
    assert line["message"].endswith("the outbox sweep will send them")
    assert "13900000002" not in done.stderr


def test_text_log_lines_stay_as_they_were(xingtu, database_url):
    _parties(xingtu)
    done = _publish(database_url, {"XINGTU_LOG_FORMAT": ""})
    assert done.returncode == 0, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("WARNING: could not queue the sending of 1 notification (")
    assert line.endswith("the outbox sweep will send them")


def test_a_malformed_log_format_stops_the_command_naming_it(xingtu, database_url):
    _parties(xingtu)
    done = _publish(database_url, {"XINGTU_LOG_FORMAT": "yaml"})
    assert done.returncode == 1
    assert done.stderr == "error: XINGTU_LOG_FORMAT='yaml' must be one of: text, json\n"
    assert json.loads(done.stdout)["error"]["code"] == "invalid_setting"
    assert xingtu("--json", "order", "list").json == []  # refused before anything was written
