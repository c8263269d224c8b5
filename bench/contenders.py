"""The three ways to cancel what is due, each run in its own process by ``bench.scan``:

- project: this worker's scan, exactly as beat runs it (``worker.runtime.runs.scan``: bounded batches, each its
  own transaction, records and outbox rows, new notifications queued on Redis after commit);
- floor: the same writes as bare set-based SQL in one transaction, with no Python per row;
- peer: what most Celery apps do: load the due orders through the ORM, cancel them one at a time,
  committing each.

Prints one JSON line: orders cancelled, seconds, peak resident memory.
"""

import json
import resource
import sys
import time

from sqlalchemy import select

from bench.data import NOW
from models import LedgerEntry, Notification, Order, OrderEvent
from models.states import (
    CancelReason,
    LedgerKind,
    NotificationKind,
    NotificationStatus,
    OrderStatus,
    Role,
)
from worker.database.engines import make_engine, session_factory
from worker.runtime import runs
from worker.runtime.celery_config import make_app
from worker.runtime.context import Runtime
from worker.settings import Settings


def project(url: str, broker: str, limit: int) -> int:
    settings = Settings(database_url=url, broker_url=broker)
    runtime = Runtime.build(settings, make_app(settings))
    cancelled, more = 0, True
    while more:  # the task re-queues itself while work remains; here the next run starts at once
        result, more = runs.scan(runtime, clock=lambda: NOW)
        cancelled += result.expired_orders
    return cancelled


FLOOR_POSTGRESQL = """
WITH cancelled AS (
    UPDATE orders SET status = 'cancelled', cancel_reason = 'acceptance_timeout', cancelled_at = :now,
        creator_payout_fen = 0, client_refund_fen = amount_fen, remind_at = NULL, updated_at = :now,
        version = version + 1
    WHERE status = 'pending' AND accept_deadline <= :now
    RETURNING orders.id, client_id, creator_id, title, amount_fen
), events AS (
    INSERT INTO order_events (order_id, at, actor_role, event, from_status, to_status, details)
    SELECT id, :now, 'system', 'acceptance_timed_out', 'pending', 'cancelled',
        json_build_object('cancel_reason', 'acceptance_timeout', 'creator_payout_fen', 0,
                          'client_refund_fen', amount_fen, 'request_id', NULL)
    FROM cancelled
), ledger AS (
    INSERT INTO ledger_entries (order_id, kind, amount_fen, at)
    SELECT id, 'client_refund', amount_fen, :now FROM cancelled
)
INSERT INTO notifications (idempotency_key, kind, order_id, recipient_role, recipient_id, phone, params,
    status, attempts, created_at, due_at)
SELECT 'order-' || c.id || ':order_cancelled:' || r.role, 'order_cancelled', c.id, r.role,
    CASE r.role WHEN 'client' THEN c.client_id ELSE c.creator_id END, '+8613900000000',
    json_build_object('title', c.title, 'cancel_reason', 'acceptance_timeout', 'reason', NULL, 'auto_confirmed', false,
                      'creator_payout_fen', 0, 'client_refund_fen', c.amount_fen),
    'pending', 0, :now, :now
FROM cancelled c CROSS JOIN (VALUES ('client'), ('creator')) AS r(role)
"""

FLOOR_SQLITE = [
    "CREATE TEMP TABLE cancelled AS SELECT id, client_id, creator_id, title, amount_fen FROM orders"
    " WHERE status = 'pending' AND accept_deadline <= :now",
    "UPDATE orders SET status = 'cancelled', cancel_reason = 'acceptance_timeout', cancelled_at = :now,"
    " creator_payout_fen = 0, client_refund_fen = amount_fen, remind_at = NULL, updated_at = :now,"
    " version = version + 1 WHERE id IN (SELECT id FROM temp.cancelled)",
    "INSERT INTO order_events (order_id, at, actor_role, event, from_status, to_status, details)"
    " SELECT id, :now, 'system', 'acceptance_timed_out', 'pending', 'cancelled', json_object('cancel_reason',"
    " 'acceptance_timeout', 'creator_payout_fen', 0, 'client_refund_fen', amount_fen, 'request_id', NULL)"
    " FROM temp.cancelled",
    "INSERT INTO ledger_entries (order_id, kind, amount_fen, at)"
    " SELECT id, 'client_refund', amount_fen, :now FROM temp.cancelled",
    "INSERT INTO notifications (idempotency_key, kind, order_id, recipient_role, recipient_id, phone, params,"
    " status, attempts, created_at, due_at)"
    " SELECT 'order-' || c.id || ':order_cancelled:' || r.role, 'order_cancelled', c.id, r.role,"
    " CASE r.role WHEN 'client' THEN c.client_id ELSE c.creator_id END, '+8613900000000',"
    " json_object('title', c.title, 'cancel_reason', 'acceptance_timeout', 'reason', NULL, 'auto_confirmed',"
    " json('false'), 'creator_payout_fen', 0, 'client_refund_fen', c.amount_fen), 'pending', 0, :now, :now"
    " FROM temp.cancelled c CROSS JOIN (SELECT 'client' AS role UNION ALL SELECT 'creator') AS r",
]


def floor(url: str, broker: str, limit: int) -> int:
    from sqlalchemy import text

    engine = make_engine(url)
    with engine.begin() as connection:
        now = NOW if engine.dialect.name == "postgresql" else NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
        statements = [FLOOR_POSTGRESQL] if engine.dialect.name == "postgresql" else FLOOR_SQLITE
        for statement in statements:
            connection.execute(text(statement), {"now": now})
        return connection.exec_driver_sql("SELECT count(*) FROM ledger_entries").scalar()


def peer(url: str, broker: str, limit: int) -> int:
    """Capped at ``limit`` orders: at this rate a full run would take minutes; the rate is what counts."""
    sessions = session_factory(make_engine(url))
    with sessions() as session:
        due = session.scalars(
            select(Order).where(Order.status == OrderStatus.PENDING, Order.accept_deadline <= NOW).limit(limit)
        ).all()
        for order in due:
            order.status, order.cancel_reason = OrderStatus.CANCELLED, CancelReason.ACCEPTANCE_TIMEOUT
            order.cancelled_at, order.updated_at, order.remind_at = NOW, NOW, None
            order.creator_payout_fen, order.client_refund_fen = 0, order.amount_fen
            money = {"creator_payout_fen": 0, "client_refund_fen": order.amount_fen}
            session.add(
                OrderEvent(
                    order_id=order.id,
                    at=NOW,
                    actor_role=Role.SYSTEM,
                    event="acceptance_timed_out",
                    from_status=OrderStatus.PENDING,
                    to_status=OrderStatus.CANCELLED,
                    details={"cancel_reason": "acceptance_timeout", "request_id": None, **money},
                )
            )
            session.add(
                LedgerEntry(order_id=order.id, kind=LedgerKind.CLIENT_REFUND, amount_fen=order.amount_fen, at=NOW)
            )
            for role, party in ((Role.CLIENT, order.client_id), (Role.CREATOR, order.creator_id)):
                session.add(
                    Notification(
                        idempotency_key=f"order-{order.id}:order_cancelled:{role}",
                        kind=NotificationKind.ORDER_CANCELLED,
                        order_id=order.id,
                        recipient_role=role,
                        recipient_id=party,
                        phone="+8613900000000",
                        params={
                            "title": order.title,
                            "cancel_reason": "acceptance_timeout",
                            "reason": None,
                            "auto_confirmed": False,
                            **money,
                        },
                        status=NotificationStatus.PENDING,
                        attempts=0,
                        created_at=NOW,
                        due_at=NOW,
                    )
                )
            session.commit()
        return len(due)  # fmt: skip


def main() -> None:
    contender, url, broker, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    started = time.perf_counter()
    cancelled = {"project": project, "floor": floor, "peer": peer}[contender](url, broker, limit)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cancelled": cancelled, "seconds": seconds, "peak_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main()
