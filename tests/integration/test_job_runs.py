"""What a job run leaves behind: its figures for Prometheus and its one log line (INFO only when it did
something), and the metrics endpoint's answer with and without its database. In-process: without the
endpoint's multiprocess mode the runs' figures are on prometheus_client's default registry."""

import logging
import shutil
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import sessionmaker

from models.states import CancelReason
from worker.database.engines import make_engine
from worker.runtime import job_runs
from worker.runtime.metrics import StatusCollector
from worker.services.outbox import DispatchResult
from worker.services.timers import ScanResult
from worker.settings import Settings


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_run_that_did_something_counts_it_and_says_so_at_info(caplog):
    before = (
        value("xingtu_dispatch_notifications_total", outcome="sent"),
        value("xingtu_sends_total", sender="t", code="OK"),
    )
    runs = value("xingtu_dispatch_duration_seconds_count")
    result = DispatchResult(sent=2, dead=1)
    result.codes.update({"OK": 2, "isv.MOBILE_NUMBER_ILLEGAL": 1})
    with caplog.at_level(logging.DEBUG, logger="worker.runtime.job_runs"):
        assert job_runs.observed("dispatch", lambda: (result, False), "t") == (result, False)
    assert value("xingtu_dispatch_notifications_total", outcome="sent") == before[0] + 2
    assert value("xingtu_sends_total", sender="t", code="OK") == before[1] + 2
    assert value("xingtu_sends_total", sender="t", code="isv.MOBILE_NUMBER_ILLEGAL") >= 1
    assert value("xingtu_dispatch_duration_seconds_count") == runs + 1
    assert value("xingtu_dispatch_last_success_timestamp_seconds") > 0
    (record,) = caplog.records
    assert record.levelno == logging.INFO and record.getMessage().startswith("dispatch: 2 sent, 1 dead in ")


def test_an_idle_run_logs_at_debug_only(caplog):
    with caplog.at_level(logging.DEBUG, logger="worker.runtime.job_runs"):
        job_runs.observed("scan", lambda: (ScanResult(), False), "t")
    (record,) = caplog.records
    assert record.levelno == logging.DEBUG and "scan: nothing to do in " in record.getMessage()


def test_a_run_that_raises_is_counted_a_failure_and_not_a_success():
    failures, last = value("xingtu_scan_failures_total"), value("xingtu_scan_last_success_timestamp_seconds")
    runs = value("xingtu_scan_duration_seconds_count")

    def broken():
        raise ConnectionError("database gone")

    with pytest.raises(ConnectionError):
        job_runs.observed("scan", broken, "t")
    assert value("xingtu_scan_failures_total") == failures + 1
    assert value("xingtu_scan_last_success_timestamp_seconds") == last
    assert value("xingtu_scan_duration_seconds_count") == runs + 1, "a failed run's time is measured too"


def test_without_its_database_the_endpoint_still_answers_and_says_so():
    settings = Settings(scan_interval=timedelta(seconds=60), dispatch_interval=timedelta(seconds=10))
    engine = make_engine("postgresql://nobody:secret@127.0.0.1:9/none")  # nothing listens on port 9
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(sessionmaker(engine), settings, started=1_700_000_000.0))
    assert registry.get_sample_value("xingtu_database_up") == 0
    assert registry.get_sample_value("xingtu_scan_interval_seconds") == 60
    assert registry.get_sample_value("xingtu_worker_start_time_seconds") == 1_700_000_000.0
    assert registry.get_sample_value("xingtu_orders", {"status": "pending"}) is None
    engine.dispose()


def test_the_database_figures_name_every_cause_of_cancellation(sqlite_template, tmp_path):
    path = tmp_path / "x.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(sessionmaker(engine), Settings(), started=0.0))
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    reasons = {sample.labels["reason"] for sample in families["xingtu_order_cancellations"].samples}
    assert reasons == set(CancelReason)
    assert registry.get_sample_value("xingtu_database_up") == 1
    engine.dispose()
