"""Prometheus metrics (``XINGTU_METRICS_PORT``): the same figures as ``xingtu status``, read from the
database at scrape time. The counters are totals the database keeps (rows are never deleted), so they
agree across worker processes and survive restarts."""

import logging

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy.orm import Session, sessionmaker

from worker.clock import utcnow
from worker.services import reads

log = logging.getLogger(__name__)


class StatusCollector:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def collect(self):
        with self.sessions() as session:
            now = utcnow()
            report = reads.status(session, now)
        orders = GaugeMetricFamily("xingtu_orders", "Orders by status.", labels=["status"])
        for name, count in report["orders"].items():
            orders.add_metric([name], count)
        outbox = GaugeMetricFamily("xingtu_notifications", "Outbox notifications by status.", labels=["status"])
        for name, count in report["notifications"].items():
            outbox.add_metric([name], count)
        yield orders
        yield outbox
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


def serve(port: int, sessions: sessionmaker[Session]) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(sessions))
    start_http_server(port, addr="0.0.0.0", registry=registry)
    log.info("serving Prometheus metrics on port %s", port)
