"""The worker's logs against the running stack: with XINGTU_LOG_FORMAT=json every line a worker (``xingtu
worker`` or ``celery -A worker.app worker``) or a separate beat writes is one JSON object, a task's lines
name it, a failed send names its notification and order, and neither a secret nor a full phone number
shows; an idle worker says nothing about its scans and sweeps at INFO, and all of it at DEBUG."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest
import sqlalchemy as sa

from models.states import NotificationStatus
from tests.stack.test_security import FULL_PHONES
from tests.stack.test_worker import WAIT, call, notes
from tests.support import REDIS_URL
from tests.webhook import Webhook
from worker.runtime.celery_config import make_app
from worker.settings import Settings

# Every secret a worker may hold, each a value that cannot turn up in a log by chance.
SECRETS = {
    "XINGTU_SMS_WEBHOOK_SECRET": "whsec-Q7pX2mZ9-webhook",
    "XINGTU_ALIYUN_ACCESS_KEY_SECRET": "aliyun-K3yS3cr3t-8842",
    "XINGTU_TENCENT_SECRET_KEY": "tencent-S3cretK3y-5519",
    "XINGTU_RECEIPTS_TOKEN": "receipts-t0ken-0123456789abcdef",
}
DATABASE_PASSWORD = "pg-Passw0rd-7731"  # the test server trusts local connections, so any password does
TEXT_LINE = re.compile(r"^\[[\d\- :,]+: (?P<level>[A-Z]+)/[^\]]+\] (?P<message>.*)$")  # Celery's text format


@cache
def _caller():
    return make_app(Settings(broker_url=REDIS_URL))


def _json_lines(text: str) -> list[dict]:
    """Each line of a log, which must be one JSON object with the four fields every line has."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            parsed = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(parsed, dict) and {"time", "level", "logger", "message"} <= set(parsed), line
        lines.append(parsed)
    return lines


def _no_secret_in(text: str) -> None:
    for shown in (*SECRETS.values(), DATABASE_PASSWORD, *FULL_PHONES):
        assert shown not in text, f"{shown} in: {text[-1500:]}"


@pytest.fixture
def secret_env(database_url):
    """JSON logs, every secret set, and the database's URL with a password in it."""
    url = sa.engine.make_url(database_url).set(password=DATABASE_PASSWORD).render_as_string(hide_password=False)
    return {**SECRETS, "XINGTU_LOG_FORMAT": "json", "XINGTU_DATABASE_URL": url}


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True)
@pytest.mark.parametrize("xingtu", [False, True], ids=["celery", "xingtu"])
def test_json_logs_of_a_worker_whose_send_fails_once(start_worker, xingtu_cli, db, secret_env, xingtu):
    with Webhook(secret=SECRETS["XINGTU_SMS_WEBHOOK_SECRET"]) as provider:
        provider.respond = lambda body: (503 if provider.keys().count(body["id"]) == 1 else 200, 0)
        env = {**secret_env, "XINGTU_SMS_WEBHOOK_URL": provider.url}
        worker = start_worker(xingtu=xingtu, env=env)
        added = [xingtu_cli(side, "add", "--name", side, "--phone", phone, env=env)
                 for side, phone in (("client", "13800000001"), ("creator", "13900000002"))]  # fmt: skip
        assert all(done.returncode == 0 for done in added), added
        published = _caller().send_task("xingtu.publish_order", kwargs={
            "client_id": 1, "creator_id": 1, "title": "夏季新品", "amount_fen": 10_001,
        })  # fmt: skip
        order = published.get(timeout=WAIT)
        key = f"order-{order['id']}:order_published:creator"
        provider.wait_for(lambda: notes(db)[key].status is NotificationStatus.SENT, WAIT, "the SMS on its second try")
        worker.stop()  # its last lines too: the shutdown notice is Celery's, printed unless we see to it
    log = worker.log.read_text()
    lines = _json_lines(log)
    assert any(".> transport:" in line["message"] and "[tasks]" in line["message"] for line in lines)  # the banner
    assert any(line["message"] == "worker: Warm shutdown (MainProcess)" for line in lines)
    received, succeeded = (
        [line for line in lines if line["message"].startswith(f"Task xingtu.publish_order[{published.id}] {what}")]
        for what in ("received", "succeeded")
    )
    assert [(line["task_id"], line["task_name"]) for line in received + succeeded] == [
        (published.id, "xingtu.publish_order")
    ] * 2
    [failed] = [line for line in lines if line["logger"] == "worker.services.outbox"]
    assert failed["level"] == "WARNING" and "+86139****0002" in failed["message"] and "503" in failed["message"]
    assert (failed["notification_id"], failed["order_id"]) == (notes(db)[key].id, order["id"])
    assert failed["task_name"] == "xingtu.dispatch" and failed["task_id"]
    _no_secret_in(log)
    for done in added:
        _no_secret_in(done.stdout + done.stderr)
        _json_lines(done.stderr)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # beat opens no database
def test_a_separate_beat_logs_json_lines(broker, stack_env, secret_env, tmp_path):
    """``celery -A worker.app beat`` as docker-compose runs it (RedBeat), its banner a log line."""
    path = tmp_path / "beat.log"
    beat = subprocess.Popen(
        [str(Path(sys.executable).parent / "celery"), "-A", "worker.app", "beat", "--scheduler=redbeat.RedBeatScheduler",
         "--loglevel=INFO"],
        env={**stack_env, **secret_env}, stdout=path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + WAIT
        while b"beat: Acquired lock" not in path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # a couple of scans and sweeps sent, every second
    finally:
        os.killpg(beat.pid, signal.SIGTERM)
        try:
            beat.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(beat.pid, signal.SIGKILL)
            beat.wait(timeout=10)
    log = path.read_text()
    lines = _json_lines(log)
    banner = lines[0]["message"]
    assert banner.startswith("celery beat v") and banner.endswith("scheduler redbeat.RedBeatScheduler"), banner
    assert any(line["message"] == "beat: Acquired lock" for line in lines), log
    assert not any("Sending due task" in line["message"] for line in lines)  # DEBUG, below --loglevel=INFO
    _no_secret_in(log)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # an idle run's lines, whatever the database
@pytest.mark.parametrize("loglevel", ["INFO", "DEBUG"])
def test_an_idle_worker_is_quiet_about_its_jobs_at_info(start_worker, loglevel):
    worker = start_worker(loglevel=loglevel)  # text logs; scan and dispatch every second (stack_env)
    assert call("accept_order", order_id=999, creator_id=1)["error"]["code"] == "not_found"  # another task's run
    time.sleep(4)
    _, _, idle = worker.log.read_text().partition(" ready.\n")
    lines = [match.groupdict() for match in map(TEXT_LINE.match, idle.splitlines()) if match]
    about_jobs = [line for line in lines if re.search(r"xingtu\.(scan|dispatch)", line["message"])]
    other_task = {line["level"] for line in lines if "xingtu.accept_order[" in line["message"]}
    assert other_task == {"INFO"}, lines  # received and succeeded, as before
    if loglevel == "INFO":
        assert about_jobs == [], about_jobs
        return
    assert {line["level"] for line in about_jobs} == {"DEBUG"}
    for job in ("scan", "dispatch"):
        for said in (f"Scheduler: Sending due task {job} (xingtu.{job})", f"Task xingtu.{job}[", "] succeeded in "):
            assert any(said in line["message"] and f"xingtu.{job}" in line["message"] for line in about_jobs), said
