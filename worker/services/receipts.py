"""Applying delivery receipts (状态报告) to the outbox.

A receipt moves a `sent` notification of the provider that sent it to `delivered` or `undelivered`,
with the receipt's instant and, when undelivered, the provider's error; it is matched by the
provider's message id, or by the idempotency key Aliyun echoes as ``OutId``. Nothing moves a
notification backwards: a second receipt for one that has its receipt changes nothing.

A receipt that cannot be applied yet is held (``models.receipts.HeldReceipt``):

- its notification is not recorded as sent yet (the provider's push beat the worker's commit, or the
  send's outcome is being looked up): it is applied when the send is recorded (``apply_held``, in the
  same transaction), and by the scan (``sweep``) should the two cross;
- it matches no notification (``unknown``): logged, counted by ``xingtu status``, forgotten by the scan
  after ``HELD_FOR``, in case its send is recorded late after all.

The notification row is locked before it is judged, so a receipt and the recording of its send are
ordered: either the send is recorded first and the receipt applies, or the receipt is held first and
the recording (which waits for the lock) finds it.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import HeldReceipt, Notification
from models.outbox import UNCONFIRMED
from models.states import RECEIPT_SENDERS
from models.states import NotificationStatus as Status
from worker.notify.receipts import Receipt

log = logging.getLogger(__name__)
CONFIRM_WITHIN = timedelta(hours=1)  # a receipt normally comes within seconds; after this, say so
HELD_FOR = timedelta(days=3)  # Aliyun retries a push for 16 minutes; a send is recorded within its lease
CONFIRMED = (Status.DELIVERED, Status.UNDELIVERED)

# What ``record`` says of each receipt.
APPLIED, DUPLICATE, EARLY, UNKNOWN = "applied", "duplicate", "early", "unknown"


def record(session: Session, receipts: Iterable[Receipt], now: datetime) -> Counter[str]:
    """Apply each receipt, or hold it; how many of each outcome."""
    outcomes: Counter[str] = Counter()
    for receipt in receipts:
        outcomes[_record_one(session, receipt, now)] += 1
    return outcomes


def _record_one(session: Session, receipt: Receipt, now: datetime) -> str:
    note = session.scalars(_matching(receipt).with_for_update()).first()
    if note is not None and note.status is Status.SENT and note.sender == receipt.provider:
        _apply(session, note.id, receipt)
        return APPLIED
    if note is not None and note.status in CONFIRMED:
        return DUPLICATE
    if not _hold(session, receipt, now):
        return DUPLICATE
    if note is None or note.status is Status.SENT:  # nothing of ours, or sent by another sender
        log.warning(
            "%s receipt for message %s matches no notification sent through %s; held for %s",
            receipt.provider, receipt.message_id, receipt.provider, HELD_FOR,
        )  # fmt: skip
        return UNKNOWN
    return EARLY


def _same_message(provider, message_id, out_id):
    """A notification a receipt (or the columns of a held one) names: by the provider's message id from
    that provider, or by the idempotency key echoed as ``out_id``."""
    by_id = (Notification.provider_message_id == message_id) & (Notification.sender == provider)
    return or_(Notification.idempotency_key == out_id, by_id) if out_id is not None else by_id


def _matching(receipt: Receipt):
    return select(Notification).where(_same_message(receipt.provider, receipt.message_id, receipt.out_id))


def _apply(session: Session, note_id: int, receipt: HeldReceipt | Receipt) -> bool:
    """Whether the notification, still `sent`, took the receipt."""
    return (
        session.execute(
            update(Notification)
            .where(Notification.id == note_id, Notification.status == Status.SENT)
            .values(
                status=Status.DELIVERED if receipt.delivered else Status.UNDELIVERED,
                receipt_at=receipt.reported_at,
                receipt_error=receipt.error,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def _hold(session: Session, receipt: Receipt, now: datetime) -> bool:
    """Keep the receipt for later; False if the same one is held already (a push repeated)."""
    held = HeldReceipt(
        provider=receipt.provider, message_id=receipt.message_id, out_id=receipt.out_id,
        delivered=receipt.delivered, error=receipt.error, reported_at=receipt.reported_at, received_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(held)
    except IntegrityError:  # (provider, message_id) is unique
        return False
    return True


def apply_held(session: Session, sender: str, sent: list[tuple[int, str, str]]) -> int:
    """Apply the receipts held for notifications just recorded as sent, ``(id, idempotency key,
    provider message id)`` each; in the recording's transaction. With nothing held (nearly always), one
    index probe per notification."""
    if sender not in RECEIPT_SENDERS or not sent:
        return 0
    by_message = {message_id: note_id for note_id, _, message_id in sent}
    by_key = {key: note_id for note_id, key, _ in sent}
    held = session.scalars(
        select(HeldReceipt).where(
            HeldReceipt.provider == sender,
            or_(HeldReceipt.message_id.in_(by_message), HeldReceipt.out_id.in_(by_key)),
        )
    ).all()
    applied = 0
    for receipt in held:  # one that another claim's row took over stays held, for the sweep
        if _apply(session, by_message.get(receipt.message_id) or by_key[receipt.out_id], receipt):
            session.delete(receipt)
            applied += 1
    return applied


def _held_message():
    return _same_message(HeldReceipt.provider, HeldReceipt.message_id, HeldReceipt.out_id)


def _sent_through_its_provider():
    """The held receipt's notification is sent, by the receipt's provider (as ``_apply`` requires)."""
    return (Notification.status == Status.SENT) & (Notification.sender == HeldReceipt.provider)


def _matches():
    return _held_message() & _sent_through_its_provider()


def unconfirmed(now: datetime) -> tuple:
    """Conditions for sends through a provider that pushes receipts, unconfirmed ``CONFIRM_WITHIN`` after
    they went out; the partial index ``ix_notifications_unconfirmed`` serves them (hence its predicate
    spelled out)."""
    return text(UNCONFIRMED), Notification.sent_at < now - CONFIRM_WITHIN


def unknown():
    """Held receipts that match no notification at all, sent or not."""
    return select(HeldReceipt.id).select_from(HeldReceipt).where(~exists().where(_held_message()))


def due(now: datetime) -> dict:
    """The scan's receipt work at ``now``, under the names of the ``ScanResult`` fields that count it."""
    return {
        # Driven from the held receipts (nearly always none), each looked up by the notifications' indexes.
        # Two EXISTS, by key and by message id, each one index search: the OR of ``_matches`` inside one
        # subquery makes SQLite read every notification.
        "receipts_applied": select(HeldReceipt.id).where(
            exists().where(Notification.idempotency_key == HeldReceipt.out_id, _sent_through_its_provider())
            | exists().where(Notification.provider_message_id == HeldReceipt.message_id, _sent_through_its_provider())
        ),
        "receipts_forgotten": select(HeldReceipt.id).where(HeldReceipt.received_at < now - HELD_FOR),
    }


def sweep(session: Session, now: datetime, *, limit: int) -> tuple[int, int]:
    """The scan's part: apply up to ``limit`` held receipts whose send is recorded now, and forget up to
    ``limit`` held longer than ``HELD_FOR``. Returns (applied, forgotten)."""
    rows = session.execute(select(HeldReceipt, Notification.id).join(Notification, _matches()).limit(limit)).all()
    for receipt, note_id in rows:  # the join found the notification sent: it takes the receipt
        _apply(session, note_id, receipt)
        session.delete(receipt)
    old = due(now)["receipts_forgotten"].limit(limit)
    forgotten = session.execute(
        delete(HeldReceipt).where(HeldReceipt.id.in_(old)).execution_options(synchronize_session=False)
    ).rowcount
    if forgotten:
        log.warning("forgot %s delivery receipts that matched no sent notification for %s", forgotten, HELD_FOR)
    return len(rows), forgotten
