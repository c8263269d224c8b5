"""The outbox relay: claim due notifications under a lease, send them, record what happened.

A claim marks rows ``sending`` with ``due_at`` at the end of the lease and counts the attempt, in its
own short transaction; sending happens outside any transaction; outcomes are recorded every tenth of a
second or so, each only if the row is still under this claim (same ``attempts``). A worker that dies
mid-batch leaves its unrecorded rows ``sending`` until the lease ends, when the next sweep claims them
again and the provider sees the same idempotency key. No send starts so late in the lease that a
sender keeping to its timeout could outlive it.
"""

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from time import monotonic

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Notification
from models.states import NotificationStatus as Status
from worker import rules
from worker.clock import utcnow
from worker.database.unit_of_work import UnitOfWork, transaction
from worker.errors import InvalidState, NotFound
from worker.formats.phones import mask
from worker.notify.messages import render
from worker.notify.senders import (
    SENT,
    PermanentSendError,
    Sender,
    SendError,
    Sms,
    ThrottledSendError,
    TransientSendError,
)
from worker.services import due, receipts
from worker.settings import Settings

log = logging.getLogger(__name__)
BACKOFF_CAP = timedelta(hours=1)
RECORD_EVERY = 0.1  # seconds: outcomes are written at least this often during a batch


@dataclass
class DispatchResult:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0
    throttled: int = 0  # waiting for the provider's limit to pass; no attempt spent
    # What the sender answered each send, by code ("OK" for a send it took, else ``SendError.code``)
    codes: Counter[str] = field(default_factory=Counter)

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.dead + self.released + self.throttled

    def __add__(self, other: "DispatchResult") -> "DispatchResult":
        return DispatchResult(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict:
        return {**vars(self), "codes": dict(self.codes)}


@dataclass
class _Outcomes:
    """Parameter rows for the recording UPDATEs, one list per resulting status."""

    sent: list[dict] = field(default_factory=list)
    retrying: list[dict] = field(default_factory=list)
    dead: list[dict] = field(default_factory=list)
    released: list[dict] = field(default_factory=list)
    throttled: list[dict] = field(default_factory=list)
    # (id, idempotency key, provider message id) of each send, to find the receipts held for them
    messages: list[tuple[int, str, str]] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)


def backoff(attempts: int, base: timedelta, rng: random.Random = random) -> timedelta:
    """Exponential from ``base``, capped at an hour, with jitter (half to all of the step) so rows that
    failed together do not all come back together."""
    step = min(base * 2 ** (attempts - 1), BACKOFF_CAP)
    return step * rng.uniform(0.5, 1.0)


def claim(session: Session, now: datetime, *, lease: timedelta, limit: int):
    """Take up to ``limit`` due rows (oldest due first), skipping rows another claimer holds."""
    query = (
        select(Notification.id)
        .where(*due.notification(now))
        .order_by(Notification.due_at, Notification.id)
        .limit(limit)
    )
    claimed = query.with_for_update(skip_locked=True).cte("claimed").prefix_with("MATERIALIZED", dialect="postgresql")
    return session.execute(
        update(Notification)
        .where(Notification.id.in_(select(claimed.c.id)))
        .values(status=Status.SENDING, due_at=now + lease, attempts=Notification.attempts + 1)
        .returning(
            Notification.id,
            Notification.attempts,
            Notification.idempotency_key,
            Notification.phone,
            Notification.kind,
            Notification.params,
            Notification.order_id,
            Notification.created_at,
            Notification.last_error,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    ).all()


def deliver(
    sessions: sessionmaker[Session],
    sender: Sender,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> DispatchResult:
    """Claim one batch, send it, and record each outcome promptly (within ``RECORD_EVERY`` of its send),
    so a worker that dies mid-batch leaves only its last moments' sends to go out again."""
    now = clock()
    with transaction(sessions) as session:
        rows = claim(session, now, lease=settings.send_lease, limit=settings.send_batch_size)
    last_start = now + settings.send_lease - settings.sms_webhook_timeout
    lease_ends = monotonic() + settings.send_lease.total_seconds()  # the same instant, for the senders' calls
    outcomes, result, recorded = _Outcomes(), DispatchResult(), monotonic()
    for index, row in enumerate(rows):
        if rules.is_due(last_start, clock()):  # too late in the lease to start another send: give the rest back
            outcomes.released += [{"b_id": r.id, "b_attempts": r.attempts} for r in rows[index:]]
            break
        _send(sender, settings, row, {"b_id": row.id, "b_attempts": row.attempts}, outcomes, clock, lease_ends)
        if monotonic() - recorded >= RECORD_EVERY:
            result += _flush(sessions, settings.sms_sender, outcomes, clock())
            outcomes, recorded = _Outcomes(), monotonic()
    return result + _flush(sessions, settings.sms_sender, outcomes, clock())


def _flush(sessions: sessionmaker[Session], sender: str, outcomes: _Outcomes, now: datetime) -> DispatchResult:
    with transaction(sessions) as session:
        result = _record(session, sender, outcomes, now)
        receipts.apply_held(session, sender, outcomes.messages)
        return result


def _send(sender: Sender, settings: Settings, row, key: dict, outcomes: _Outcomes, clock, lease_ends: float) -> None:
    sms = Sms(
        id=row.idempotency_key, to=row.phone, kind=row.kind, text=render(row.kind, row.params), params=row.params,
        order_id=row.order_id, created_at=row.created_at,
        retry=row.attempts > 1 or row.last_error is not None,  # also after a revive, which resets the count
        deadline=lease_ends,
    )  # fmt: skip
    try:
        message_id = sender.send(sms)
    except Exception as exc:  # a send error, or a sender bug (retried like a transient one): see _failed
        outcomes.codes[exc.code if isinstance(exc, SendError) else "error"] += 1
        _failed(settings, row, key, outcomes, clock(), exc)
        return
    outcomes.codes[SENT] += 1
    message_id = str(message_id)[:200]
    outcomes.sent.append({**key, "sent_at": clock(), "provider_message_id": message_id})
    outcomes.messages.append((row.id, row.idempotency_key, message_id))


def _failed(settings: Settings, row, key: dict, outcomes: _Outcomes, now: datetime, exc: Exception) -> None:
    """Where a failed send goes: dead (permanent, or out of attempts), waiting out a throttle, or back
    to pending after a backoff."""
    about = {"notification_id": row.id, "order_id": row.order_id}  # fields of a JSON log line
    if isinstance(exc, PermanentSendError):
        log.warning("notification %s to %s failed for good: %s", row.id, mask(row.phone), exc, extra=about)
        outcomes.dead.append({**key, "last_error": str(exc)[:1000]})
    elif isinstance(exc, ThrottledSendError):
        # A throttle spends no attempt, so the backoff cannot grow with them: it grows with the time the
        # notification has waited already (half of it, within the usual bounds).
        waited = min(BACKOFF_CAP, (now - row.created_at) / 2)
        until = exc.lifts(now) or now + max(backoff(row.attempts, settings.send_backoff), waited)
        log.warning("notification %s to %s throttled until %s: %s", row.id, mask(row.phone), until, exc, extra=about)
        outcomes.throttled.append({**key, "due_at": until, "last_error": f"{type(exc).__name__}: {exc}"[:1000]})
    else:
        level = logging.WARNING if isinstance(exc, TransientSendError) else logging.ERROR
        log.log(level, "notification %s to %s failed (attempt %s): %s", row.id, mask(row.phone), row.attempts, exc,
                extra=about)  # fmt: skip
        error = {**key, "last_error": f"{type(exc).__name__}: {exc}"[:1000]}
        if row.attempts >= settings.send_max_attempts:
            outcomes.dead.append(error)
        else:
            outcomes.retrying.append({**error, "due_at": now + backoff(row.attempts, settings.send_backoff)})


def _record(session: Session, sender: str, outcomes: _Outcomes, now: datetime) -> DispatchResult:
    """Write each outcome if the row is still under this claim; a row a later claim took over is left
    to that claim. A sent row keeps the name of the sender (``XINGTU_SMS_SENDER``) that took it."""
    table = Notification.__table__
    ours = (
        table.c.id == bindparam("b_id"),
        table.c.status == Status.SENDING,
        table.c.attempts == bindparam("b_attempts"),
    )
    result = DispatchResult(codes=outcomes.codes)
    changes = {
        "sent": {"status": Status.SENT, "sender": sender[:200]},
        "retrying": {"status": Status.PENDING},
        "dead": {"status": Status.DEAD},
        "released": {"status": Status.PENDING, "due_at": now, "attempts": table.c.attempts - 1},
        "throttled": {"status": Status.PENDING, "attempts": table.c.attempts - 1},
    }
    for name, values in changes.items():
        rows = getattr(outcomes, name)
        if rows:
            setattr(result, name, session.execute(update(table).where(*ours).values(**values), rows).rowcount)
    return result


def revive(session: UnitOfWork, settings: Settings, *, notification_id: int, now: datetime) -> Notification:
    """Give a dead notification a fresh set of attempts, due now (``xingtu notifications retry``); once
    committed a sweep is queued for it, as for a new one."""
    note = session.get(Notification, notification_id, with_for_update=True)
    if note is None:
        raise NotFound(f"notification {notification_id} does not exist")
    if note.status is not Status.DEAD:
        raise InvalidState(f"notification {notification_id} is {note.status}; only a dead one can be retried")
    note.status, note.attempts, note.due_at = Status.PENDING, 0, now
    session.notifications_written(1)
    return note
