"""Prometheus metrics (``XINGTU_METRICS_PORT``), served by the worker's main process.

Two kinds, and the dashboards and alerts aggregate them differently (docs/operations.md):

- **What the database says**, read at scrape time: the same figures as ``xingtu status``. The counters
  among them are totals the database keeps (rows are never deleted), so every worker serves the same
  values, which survive restarts: take the ``max`` across instances.
- **What this worker's runs did**: how long each scan and dispatch took, when one last succeeded, what
  it applied and sent, and the code of every send. Jobs run in the pool's processes, so these are kept
  in prometheus_client's multiprocess mode, in files under ``PROMETHEUS_MULTIPROC_DIR`` that the main
  process adds up when scraped: take the ``sum`` (counts) or ``max`` (timestamps) across instances.

prometheus_client picks its multiprocess mode when first imported, so this module is imported only
once the worker has set that directory up, before its pool forks (``celery_config``).
"""

import logging
import time
from dataclasses import fields

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from worker.clock import utcnow
from worker.notify.senders import SENT
from worker.services import reads
from worker.services.outbox import DispatchResult
from worker.services.timers import ScanResult
from worker.settings import Settings

log = logging.getLogger(__name__)

# Runs take milliseconds when idle and XINGTU_RUN_BUDGET (2 s by default) or a batch longer when busy.
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)
SCAN_APPLIED = [f.name for f in fields(ScanResult)]
DISPATCH_OUTCOMES = [f.name for f in fields(DispatchResult) if f.name != "codes"]


class Job:
    """The figures of one job's runs; ``counts`` is what they did, labelled ``label`` by ``values``."""

    def __init__(self, job: str, counted: str, label: str, values: list[str], help_: str):
        self.duration = Histogram(
            f"xingtu_{job}_duration_seconds", f"How long each {job} run took, failed ones included.",
            buckets=RUN_BUCKETS,
        )  # fmt: skip
        self.last_success = Gauge(
            f"xingtu_{job}_last_success_timestamp_seconds", f"When a {job} run last succeeded (Unix time).",
            multiprocess_mode="max",
        )  # fmt: skip
        self.failures = Counter(f"xingtu_{job}_failures", f"{job.capitalize()} runs that raised (retried).")
        self.counts = Counter(f"xingtu_{job}_{counted}", help_, [label])
        self.values = values

    def zero(self) -> None:
        """Every series from 0, so the first count after a restart shows in ``increase()``."""
        self.failures.inc(0)
        for value in self.values:
            self.counts.labels(value).inc(0)


SCAN = Job("scan", "applied", "what", SCAN_APPLIED, "What scans applied: timers, reminders, receipts, old keys.")
DISPATCH = Job(
    "dispatch", "notifications", "outcome", DISPATCH_OUTCOMES, "What dispatches did with the notifications claimed."
)
SENDS = Counter("xingtu_sends", "Sends by the sender's answer: OK, or the provider's error code.", ["sender", "code"])
JOBS = {"scan": SCAN, "dispatch": DISPATCH}


class StatusCollector:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, started: float):
        self.sessions, self.settings, self.started = sessions, settings, started

    def collect(self):
        # The settings the alerts measure against, so the rules need no copy of them.
        for key, value, help_ in [
            ("scan_interval_seconds", self.settings.scan_interval, "XINGTU_SCAN_INTERVAL."),
            ("dispatch_interval_seconds", self.settings.dispatch_interval, "XINGTU_DISPATCH_INTERVAL."),
        ]:
            yield GaugeMetricFamily(f"xingtu_{key}", help_, value=value.total_seconds())
        yield GaugeMetricFamily(
            "xingtu_worker_start_time_seconds", "When this worker started serving metrics (Unix time).",
            value=self.started,
        )  # fmt: skip
        try:
            with self.sessions() as session:
                report = reads.status(session, utcnow())
        except DBAPIError as error:  # the runs' figures are still worth serving
            log.warning("metrics: the database did not answer (%s)", type(error.orig).__name__)
            yield GaugeMetricFamily("xingtu_database_up", "Whether the database answered this scrape.", value=0)
            return
        yield GaugeMetricFamily("xingtu_database_up", "Whether the database answered this scrape.", value=1)
        yield from self._figures(report)

    @staticmethod
    def _figures(report: dict):
        for key, label, help_ in [
            ("orders", "status", "Orders by status."),
            ("notifications", "status", "Outbox notifications by status."),
        ]:
            family = GaugeMetricFamily(f"xingtu_{key}", help_, labels=[label])
            for name, count in report[key].items():
                family.add_metric([name], count)
            yield family
        cancellations = CounterMetricFamily(
            "xingtu_order_cancellations", "Cancelled orders by cause (cancel_reason).", labels=["reason"]
        )
        for reason, count in report["cancellations"].items():
            cancellations.add_metric([reason], count)
        yield cancellations
        for key, help_ in [
            ("overdue_pending_orders", "Pending orders past their acceptance deadline (0 while healthy)."),
            ("oldest_overdue_pending_seconds", "Age of the oldest overdue pending order."),
            ("open_cancellation_requests", "Open cancellation requests."),
            ("overdue_cancellation_requests", "Open requests past their respond-by instant."),
            ("due_notifications", "Notifications due to be sent now."),
            ("oldest_due_notification_seconds", "Age of the oldest due notification."),
            ("unconfirmed_notifications", "Sent through Aliyun or Tencent over an hour ago, no delivery receipt yet."),
            ("oldest_unconfirmed_seconds", "Age of the oldest unconfirmed send."),
            ("held_receipts", "Delivery receipts waiting for their send to be recorded, or matching nothing."),
            ("unknown_receipts", "Held delivery receipts that match no notification."),
        ]:
            yield GaugeMetricFamily(f"xingtu_{key}", help_, value=report[key])
        for key, help_ in [
            ("orders_expired", "Orders cancelled because nobody accepted them in time."),
            ("orders_cancelled", "Orders cancelled for any reason."),
            ("notifications_sent", "Notifications the sender took (sent, delivered or undelivered since)."),
            ("notifications_failed", "Notifications that failed at least once (sent later, retrying, or dead)."),
        ]:
            yield CounterMetricFamily(f"xingtu_{key}", help_, value=report["totals"][key])


def serve(port: int, sessions: sessionmaker[Session], settings: Settings) -> None:
    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry)
    registry.register(StatusCollector(sessions, settings, time.time()))
    SCAN.zero()
    DISPATCH.zero()
    SENDS.labels(settings.sms_sender, SENT).inc(0)  # the providers' error codes are not known in advance
    start_http_server(port, addr="0.0.0.0", registry=registry)
    log.info("serving Prometheus metrics on port %s", port)
