"""The running stack: a real Redis, real worker processes (``celery -A worker.app worker -B`` or
``xingtu worker``) and the test webhook as the SMS provider.

Redis comes from XINGTU_TEST_REDIS_URL (default redis://127.0.0.1:6379/13, a database of its own that
each test flushes). Without it these tests skip, or fail under XINGTU_REQUIRE_SERVICES=1.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from tests.support import REDIS_URL, free_port, service_missing
from tests.webhook import Webhook
from worker.database.engines import make_engine, session_factory

BIN = Path(sys.executable).parent


@pytest.fixture
def db(database_url):
    """Sessions on the stack's database, for looking at what the processes wrote."""
    engine = make_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def webhook():
    with Webhook() as hook:
        yield hook


@pytest.fixture
def stack_env(database_url, broker, webhook):
    """The environment of every process in the stack: fast timers, the webhook sender."""
    return {
        **os.environ,
        "XINGTU_DATABASE_URL": database_url,
        "XINGTU_BROKER_URL": REDIS_URL,
        "XINGTU_SMS_SENDER": "webhook",
        "XINGTU_SMS_WEBHOOK_URL": webhook.url,
        "XINGTU_SMS_WEBHOOK_SECRET": webhook.secret,
        "XINGTU_SMS_WEBHOOK_TIMEOUT": "2",
        "XINGTU_SEND_LEASE": "4",
        "XINGTU_SEND_BACKOFF": "1",
        "XINGTU_SCAN_INTERVAL": "1",
        "XINGTU_DISPATCH_INTERVAL": "1",
        "XINGTU_ACCEPT_REMINDER_LEAD": "0",
        # A test's workers have no neighbours from before to sync with: celery's own variables for
        # --without-mingle and --without-gossip take about a second off every start.
        "CELERY_WORKER_WITHOUT_MINGLE": "1",
        "CELERY_WORKER_WITHOUT_GOSSIP": "1",
    }


class Worker:
    """One worker process (its own process group, so a kill takes its pool children too)."""

    def __init__(self, command: list[str], env: dict, log: Path):
        self.log = log
        self.process = subprocess.Popen(
            command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 30) -> "Worker":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"worker did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no chance to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def start_worker(stack_env, tmp_path):
    """Start workers (``celery`` by default, or ``xingtu worker``); all are stopped after the test."""
    started = []

    def start(*, xingtu: bool = False, env: dict | None = None, concurrency: int = 2, loglevel: str = "INFO") -> Worker:
        name = f"w{len(started)}"
        if xingtu:
            command = [str(BIN / "xingtu"), "worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}"]
        else:
            command = [str(BIN / "celery"), "-A", "worker.app", "worker", "--beat", "--scheduler=celery.beat:Scheduler",
                       f"--concurrency={concurrency}", f"--loglevel={loglevel}", f"--hostname={name}@%h"]  # fmt: skip
        worker = Worker(command, {**stack_env, **(env or {})}, tmp_path / f"{name}.log").wait_ready()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def xingtu_cli(stack_env):
    """The console script in a subprocess, as another service or an operator would run it."""

    def run(*args, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(BIN / "xingtu"), *map(str, args)], env={**stack_env, **(env or {})},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    return run


class OwnRedis:
    """A redis-server on a free port that keeps nothing on disk: a restart loses every message."""

    def __init__(self, tmp_path):
        if shutil.which("redis-server") is None:
            service_missing("redis-server (apt-get install redis-server)", "not installed")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = tmp_path / "redis.log"
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start:\n{self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def queued(self) -> int:
        return redis.Redis.from_url(self.url).llen("celery")


@pytest.fixture
def own_redis(tmp_path):
    """A broker of the test's own, to kill and restart empty without touching the Redis other tests share.
    Ask for it before ``start_worker``: the workers are then stopped before it is killed."""
    server = OwnRedis(tmp_path)
    yield server
    server.kill()
