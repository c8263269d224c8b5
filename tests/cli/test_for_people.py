"""Output without --json: short, aligned, Chinese intact; and the installed console script itself."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time

from tests.cli.invoke import runner


@pytest.fixture
def order_id(xingtu):
    xingtu("client", "add", "--name", "品牌甲", "--phone", "13800000001")
    xingtu("creator", "add", "--name", "达人乙", "--phone", "13900000002")
    with freeze_time("2026-11-27 04:00:00"):
        xingtu("order", "publish", "--client", 1, "--creator", 1, "--amount-fen", 123456, "--title", "夏季新品 🎬")
    return 1


def test_order_show(xingtu, order_id):
    with freeze_time("2026-11-27 05:00:00"):
        xingtu("cancel", "request", order_id, "--client", 1, "--reason", "预算调整")
    text = xingtu("order", "show", order_id).stdout
    assert text.splitlines()[0] == "order 1  已取消 cancelled (client_cancelled)  《夏季新品 🎬》"
    assert "¥1,234.56" in text and "2026-11-28 12:00:00 +08:00" in text and "预算调整" in text
    value_columns = {re.match(r"\s+\S.*?\s{2,}", line).end() for line in text.splitlines()[1:]}
    assert len(value_columns) == 1, text  # every value starts in the same column


def test_lists_are_aligned_tables(xingtu, order_id):
    lines = xingtu("order", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "AMOUNT", "ACCEPT", "BY", "TITLE"]
    assert lines[1].index("夏季新品") == lines[0].index("TITLE")
    notes = xingtu("notifications", "list").stdout.splitlines()
    assert notes[1].index("【星图】您收到新任务《夏季新品 🎬》") == notes[0].index("TEXT")
    assert "+86139****0002" in notes[1] and "+8613900000002" not in notes[1]


def test_history_shows_its_instants_in_shanghai_time_and_counts_read_as_english(xingtu, order_id):
    history = xingtu("order", "history", order_id).stdout
    assert "accept_deadline=2026-11-28 12:00:00 +08:00" in history and "+00:00" not in history
    with freeze_time("2026-11-28 04:00:00"):
        scanned = xingtu("scan").stdout
    assert scanned.startswith("scan applied: 1 expired order, 0 timed-out cancellation requests,"), scanned


def test_an_error_for_people_is_one_line_on_stderr(xingtu, order_id):
    result = xingtu("order", "accept", order_id, "--creator", 7)
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == "error: creator 7 is not the creator of order 1\n"


def test_the_installed_console_script(tmp_path):
    script = shutil.which("xingtu", path=str(Path(sys.executable).parent))
    assert script, "the xingtu console script is not installed next to this Python"
    env = {**os.environ, "XINGTU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}

    def run(*args):
        return subprocess.run([script, *args], env=env, capture_output=True, text=True, timeout=60)

    assert run("--json", "db", "upgrade").returncode == 0
    listed = run("--json", "order", "list")
    assert (listed.returncode, listed.stdout.strip()) == (0, "[]")
    missing = run("--json", "order", "show", "9")
    assert missing.returncode == 1 and '"code": "not_found"' in missing.stdout
    assert run("--help").returncode == 0 and "Usage: xingtu" in run("--help").stdout


@pytest.mark.parametrize("command", [["--json", "order", "list"], ["--json", "worker"], ["--json", "scan"]])
def test_a_bad_setting_is_one_clear_line_in_a_fresh_process(tmp_path, command):
    script = shutil.which("xingtu", path=str(Path(sys.executable).parent))
    env = {
        **os.environ,
        "XINGTU_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "XINGTU_CANCEL_TIMEOUT_POLICY": "never",
    }
    result = subprocess.run([script, *command], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == "error: XINGTU_CANCEL_TIMEOUT_POLICY='never' must be one of: auto_confirm, lapse\n"
    assert '"code": "invalid_setting"' in result.stdout


def test_the_worker_entry_point_names_a_bad_setting(tmp_path):
    celery = shutil.which("celery", path=str(Path(sys.executable).parent))
    env = {**os.environ, "XINGTU_SCAN_INTERVAL": "often"}
    result = subprocess.run([celery, "-A", "worker.app", "worker"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "error: XINGTU_SCAN_INTERVAL='often' is not a duration" in result.stderr


@pytest.mark.parametrize(
    "database, code",
    [
        ("sqlite:///{tmp}/not-a-database.db", "database_unavailable"),
        ("mysql://someone@127.0.0.1/none", "invalid_setting"),
        ("postgresql://postgres@127.0.0.1:5432/postgres?no_such_option=1", "database_unavailable"),
    ],
)
def test_an_unusable_database_is_one_clear_line(tmp_path, database, code):
    (tmp_path / "not-a-database.db").write_text("this is not SQLite\n" * 100)
    script = shutil.which("xingtu", path=str(Path(sys.executable).parent))
    env = {**os.environ, "XINGTU_DATABASE_URL": database.format(tmp=tmp_path)}
    result = subprocess.run([script, "--json", "status"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f'"code": "{code}"' in result.stdout and result.stderr.startswith("error: ")


def test_a_sender_that_cannot_be_built_is_a_settings_error(xingtu):
    result = xingtu("--json", "notifications", "dispatch", env={"XINGTU_SMS_SENDER": "json:loads"})
    assert result.code == 1 and result.json["error"]["code"] == "invalid_setting"
    assert "XINGTU_SMS_SENDER='json:loads' could not be set up" in result.stderr


def test_a_relative_sqlite_url_is_named_by_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    xingtu = runner("sqlite:///xingtu.db")
    missing = xingtu("order", "list")
    assert missing.code == 1 and f"there is no database at {tmp_path / 'xingtu.db'} (" in missing.stderr
    assert "is relative to the current directory" in missing.stderr
    upgraded = xingtu("--json", "db", "upgrade")
    assert upgraded.json["database"] == f"sqlite:///{tmp_path / 'xingtu.db'}"
