"""Starting and stopping the worker processes a benchmark measures."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent  # so the worker can import bench.noop


def wait_until(done, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def worker(app: str, env: dict[str, str], concurrency: int = 2, beat: bool = False):
    """A Celery worker in its own process group: yields once its pool is consuming, then stops it."""
    log = Path(tempfile.mkstemp(prefix="xingtu-bench-worker-", suffix=".log")[1])
    command = [str(BIN / "celery"), "-A", app, "worker", f"--concurrency={concurrency}", "--loglevel=INFO",
               "--without-mingle", "--without-gossip"]  # fmt: skip
    if beat:
        command += ["--beat", "--scheduler=celery.beat:Scheduler"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        log.unlink(missing_ok=True)
