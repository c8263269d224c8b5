"""Timers: acceptance timeouts, cancellation response timeouts, acceptance reminders, the ends of
creators' suspensions, and the delivery receipts held for a send not yet recorded
(``worker.services.receipts``).

Set-based: each function claims up to ``limit`` due rows with one statement (on PostgreSQL
``FOR NO KEY UPDATE SKIP LOCKED``, so scans running at once split the work and no timeout is applied
twice), writes their records with multi-row INSERTs and returns how many it applied.
For one locked order, ``apply_due`` applies a timer that is due when an action touches it.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from models import CancellationRequest as Request
from models import Creator, Order, Violation
from models.states import (
    CancelReason,
    CreatorEventKind,
    CreatorStatus,
    NotificationKind,
    OrderEventKind,
    OrderStatus,
    RequestStatus,
    Role,
    TimeoutPolicy,
)  # fmt: skip
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.services import due, idempotency, receipts, settlement
from worker.services.records import SYSTEM, Records, subject


@dataclass(frozen=True)
class ScanResult:
    expired_orders: int = 0
    timed_out_requests: int = 0
    acceptance_reminders: int = 0
    lifted_suspensions: int = 0
    receipts_applied: int = 0  # held delivery receipts whose send is now recorded (``services.receipts``)
    receipts_forgotten: int = 0  # held receipts that matched nothing for ``receipts.HELD_FOR``
    idempotency_keys_forgotten: int = 0  # callers' keys kept ``XINGTU_IDEMPOTENCY_WINDOW`` (``services.idempotency``)

    def __add__(self, other: "ScanResult") -> "ScanResult":
        return ScanResult(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values())))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _claim(query, limit: int, order_id: int | None, *, of=None):
    """Due rows, skipping rows another transaction holds; optionally one order's only. Callers order by
    (due instant, id): the column order of the partial index, so a claim reads one batch of index
    entries (most overdue first) instead of sorting every due row."""
    if order_id is not None:
        query = query.where(Order.id == order_id)
    return query.limit(limit).with_for_update(of=of, skip_locked=True, key_share=True)


def _claimed_ids(query, limit: int, order_id: int | None):
    """The claim as a subquery for ``UPDATE ... WHERE id IN (...)``. It must run exactly once: a plain
    ``IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`` may be re-evaluated by PostgreSQL and update
    more than ``n`` rows, so it is a materialized CTE."""
    claim = _claim(query, limit, order_id).cte("claimed").prefix_with("MATERIALIZED", dialect="postgresql")
    return select(claim.c.id)


def expire_orders(session: UnitOfWork, now: datetime, *, limit: int, order_id: int | None = None) -> int:
    """Cancel pending orders whose acceptance deadline has come: nothing paid, everything refunded."""
    claimed = _claimed_ids(
        select(Order.id).where(*due.acceptance(now)).order_by(Order.accept_deadline, Order.id), limit, order_id
    )
    cancelled = session.scalars(
        update(Order)
        .where(Order.id.in_(claimed), Order.status == OrderStatus.PENDING)
        .values(
            **settlement.cancelled_columns(Order.amount_fen, 0, CancelReason.ACCEPTANCE_TIMEOUT, now),
            version=Order.version + 1,
        )
        .returning(Order.id)
        .execution_options(synchronize_session=False)
    ).all()
    settlement.record_cancellations(session, now, cancelled, actor=SYSTEM, event=OrderEventKind.ACCEPTANCE_TIMED_OUT)
    return len(cancelled)


def time_out_requests(session: UnitOfWork, now: datetime, policy: TimeoutPolicy, *, limit: int) -> int:
    """Settle open cancellation requests past their respond-by instant, as ``policy`` says: confirm
    them with the quote frozen at request time, or let them lapse while the order goes on."""
    # The due requests are picked first, from their partial index, and drive the join: left to
    # itself, SQLite would walk every order when few requests exist.
    late = select(Request.id, Request.order_id).where(*due.response(now))
    late = late.order_by(Request.respond_by, Request.id).limit(limit).subquery("late")
    claim = select(late.c.id).select_from(late).join(Order, Order.id == late.c.order_id).order_by(late.c.id)
    claimed = session.scalars(_claim(claim, limit, None, of=Order)).all()
    return settle_requests(session, now, policy, claimed) if claimed else 0


def settle_requests(session: UnitOfWork, now: datetime, policy: TimeoutPolicy, request_ids: list[int]) -> int:
    """Settle those of the claimed requests that are still open.

    Their orders are locked by now and a request changes only under its order's lock, so this guarded
    UPDATE reads the current state: a request answered (rejected, withdrawn, confirmed) while the
    claim waited is no longer open, and nothing here is written for it.
    """
    confirm = policy is TimeoutPolicy.AUTO_CONFIRM
    settled = session.execute(
        update(Request)
        .where(Request.id.in_(request_ids), Request.status == RequestStatus.OPEN)
        .values(status=RequestStatus.AUTO_CONFIRMED if confirm else RequestStatus.LAPSED, resolved_at=now)
        .returning(Request.id, Request.order_id, Request.initiator, Request.reason, Request.respond_by)
        .returning(Request.compensation_fen)
        .execution_options(synchronize_session=False)
    ).all()
    if not settled:
        return 0
    facts = (Order.id, Order.client_id, Order.creator_id, Order.title, Order.amount_fen)
    orders = {row.id: row for row in session.execute(select(*facts).where(Order.id.in_([r.order_id for r in settled])))}
    records = Records.for_orders(session, orders.values())
    order_changes = []
    for request in sorted(settled, key=lambda row: row.id):
        order = orders[request.order_id]
        if confirm:
            cause = rules.cancel_reason(request.initiator, OrderStatus.ACCEPTED)
            changes = settlement.cancelled_columns(order.amount_fen, request.compensation_fen, cause, now)
        else:
            _lapse(records, order, now, request_id=request.id, respond_by=request.respond_by)
            changes = {"updated_at": now}
        order_changes.append({"b_id": order.id, **changes})
    table = Order.__table__
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"), table.c.status == OrderStatus.ACCEPTED)
        .values(version=table.c.version + 1),
        order_changes,
    )
    if confirm:
        order_ids = [change["b_id"] for change in order_changes]
        settlement.record_cancellations(
            session, now, order_ids, actor=SYSTEM, event=OrderEventKind.CANCELLATION_AUTO_CONFIRMED
        )
    records.write(session)
    return len(settled)


def _lapse(records: Records, order: Any, now: datetime, *, request_id: int, respond_by: datetime) -> None:
    """A request nobody answered, under the ``lapse`` policy: it ends, the order goes on."""
    records.event(
        order.id, now, SYSTEM, OrderEventKind.CANCELLATION_LAPSED, OrderStatus.ACCEPTED, OrderStatus.ACCEPTED,
        request_id=request_id, respond_by=respond_by,
    )  # fmt: skip
    records.notify(
        NotificationKind.CANCELLATION_LAPSED, subject("request", request_id), order, (Role.CREATOR, Role.CLIENT), now,
        title=order.title, respond_by=respond_by,
    )  # fmt: skip


def write_reminders(session: UnitOfWork, now: datetime, *, limit: int) -> int:
    """Write the acceptance reminder of pending orders whose reminder time has come, once each."""
    claimed = _claimed_ids(select(Order.id).where(*due.reminder(now)).order_by(Order.remind_at, Order.id), limit, None)
    rows = session.execute(
        update(Order)
        .where(Order.id.in_(claimed), Order.remind_at.is_not(None))
        .values(remind_at=None, updated_at=now, version=Order.version + 1)
        .returning(Order.id, Order.client_id, Order.creator_id, Order.title, Order.accept_deadline)
        .execution_options(synchronize_session=False)
    ).all()
    records = Records.for_orders(session, rows)
    for row in sorted(rows, key=lambda row: row.id):
        records.event(row.id, now, SYSTEM, OrderEventKind.ACCEPTANCE_REMINDER, OrderStatus.PENDING, OrderStatus.PENDING)
        records.notify(
            NotificationKind.ACCEPTANCE_REMINDER, subject("order", row.id), row, (Role.CREATOR,), now,
            title=row.title, accept_deadline=row.accept_deadline,
        )  # fmt: skip
    records.write(session)
    return len(rows)


def lift_suspensions(session: UnitOfWork, now: datetime, *, limit: int, creator_id: int | None = None) -> int:
    """Make creators whose suspension has ended active again, and tell them. Bans never lift."""
    query = (
        select(Creator.id, Creator.suspended_until, Violation.id.label("violation_id"), Violation.number)
        .join(Violation, (Violation.creator_id == Creator.id) & (Violation.number == Creator.violation_count))
        .where(*due.lift(now))
        .order_by(Creator.suspended_until, Creator.id)
        .limit(limit)
        .with_for_update(of=Creator, skip_locked=True, key_share=True)
    )
    if creator_id is not None:
        query = query.where(Creator.id == creator_id)
    rows = session.execute(query).all()
    if not rows:
        return 0
    session.execute(
        update(Creator)
        .where(Creator.id.in_([row.id for row in rows]), Creator.status == CreatorStatus.SUSPENDED)
        .values(status=CreatorStatus.ACTIVE, suspended_until=None)
        .execution_options(synchronize_session=False)
    )
    phones = dict(
        session.execute(select(Creator.id, Creator.phone).where(Creator.id.in_([row.id for row in rows]))).all()
    )
    records = Records({(Role.CREATOR, creator): phone for creator, phone in phones.items()})
    for row in rows:
        records.creator_event(
            row.id, now, SYSTEM, CreatorEventKind.SUSPENSION_LIFTED,
            violation_id=row.violation_id, suspended_until=row.suspended_until,
        )  # fmt: skip
        records.notify_party(
            NotificationKind.SANCTION_LIFTED, subject("violation", row.violation_id), Role.CREATOR, row.id, now,
            violation_number=row.number, suspended_until=row.suspended_until,
        )  # fmt: skip
    records.write(session)
    return len(rows)


def _due_rows(now: datetime, key_window: timedelta) -> dict:
    """Each timer's due rows at ``now``, under the name of the ``ScanResult`` field that counts them."""
    return {
        "expired_orders": select(Order.id).where(*due.acceptance(now)),
        "timed_out_requests": select(Request.id).where(*due.response(now)),
        "acceptance_reminders": select(Order.id).where(*due.reminder(now)),
        "lifted_suspensions": select(Creator.id).where(*due.lift(now)),
        **receipts.due(now),
        "idempotency_keys_forgotten": idempotency.forgotten(now, key_window),
    }


def scan_batch(
    session: UnitOfWork, now: datetime, policy: TimeoutPolicy, limit: int, *, key_window: timedelta
) -> ScanResult:
    """One bounded pass over every timer, in one transaction (the caller's). One statement of
    index probes first says which timers have anything due; when none has (most passes), that is all.
    Callers' idempotency keys kept ``key_window`` are forgotten here too."""
    rows = _due_rows(now, key_window)
    found = dict(zip(rows, session.execute(select(*(exists(query) for query in rows.values()))).one()))
    return ScanResult(
        expired_orders=expire_orders(session, now, limit=limit) if found["expired_orders"] else 0,
        timed_out_requests=time_out_requests(session, now, policy, limit=limit) if found["timed_out_requests"] else 0,
        acceptance_reminders=write_reminders(session, now, limit=limit) if found["acceptance_reminders"] else 0,
        lifted_suspensions=lift_suspensions(session, now, limit=limit) if found["lifted_suspensions"] else 0,
        **_receipts(session, now, limit, found),
        idempotency_keys_forgotten=(
            idempotency.forget(session, now, key_window, limit=limit) if found["idempotency_keys_forgotten"] else 0
        ),
    )


def _receipts(session: UnitOfWork, now: datetime, limit: int, found: dict[str, bool]) -> dict[str, int]:
    if not (found["receipts_applied"] or found["receipts_forgotten"]):
        return {}
    applied, forgotten = receipts.sweep(session, now, limit=limit)
    return {"receipts_applied": applied, "receipts_forgotten": forgotten}


def count_due(session: Session, now: datetime, *, key_window: timedelta) -> ScanResult:
    """What a scan at ``now`` would apply, without writing anything (``scan --dry-run``)."""
    rows = _due_rows(now, key_window).items()
    counted = {name: session.scalar(query.with_only_columns(func.count()).order_by(None)) for name, query in rows}
    return ScanResult(**counted)


def apply_due(session: UnitOfWork, order: Order, now: datetime, policy: TimeoutPolicy) -> bool:
    """Apply whatever timer of this (locked) order is due, so correctness never waits for the scan; True
    if one was."""
    applied = 0
    if order.status is OrderStatus.PENDING and rules.is_due(order.accept_deadline, now):
        applied += expire_orders(session, now, limit=1, order_id=order.id)
    request = order.open_request
    if request is not None and rules.is_due(request.respond_by, now):
        applied += settle_requests(session, now, policy, [request.id])  # the order is locked: no claim
    return applied > 0
