"""Recording a violation of the off-platform rule and applying the ladder's sanction.

A suspension or a ban also ends the creator's pending orders at once, declined on their behalf, so
each client gets the escrow back now rather than when the acceptance window runs out (the creator
could not accept anyway). Orders already accepted go on: the rules forbid publishing to and accepting
by a sanctioned creator, not finishing work under way; either side may still cancel as usual.
"""

from datetime import datetime

from models import Violation
from models.states import CreatorEventKind, CreatorStatus, NotificationKind, OrderEventKind, OrderStatus, Role
from worker import rules
from worker.database.unit_of_work import UnitOfWork
from worker.formats import validation
from worker.formats.display import local_time
from worker.services import cancellation, locking
from worker.services.records import SYSTEM, Records, subject
from worker.settings import Settings


def record(session: UnitOfWork, settings: Settings, *, creator_id: int, evidence: str, now: datetime) -> Violation:
    evidence = validation.evidence(evidence)
    creator = locking.lock_creator(session, creator_id, now)
    number = creator.violation_count + 1
    sanction = rules.sanction_for(number)
    until = rules.suspension_end(sanction, now)
    violation = Violation(
        creator_id=creator.id, number=number, at=now, evidence=evidence, sanction=sanction, suspended_until=until
    )
    session.add(violation)
    creator.violation_count = number
    creator.status = rules.standing_after(sanction, until, creator.status)
    creator.suspended_until = until if creator.status in (CreatorStatus.SUSPENDED, CreatorStatus.CLOSED) else None
    if creator.status is CreatorStatus.BANNED:
        creator.closed_at = None  # a ban ends a closed account's chance to reopen: it is banned, not closed
    session.flush()
    records = Records({(Role.CREATOR, creator.id): creator.phone})
    records.creator_event(
        creator.id, now, SYSTEM, CreatorEventKind.VIOLATION_RECORDED,
        violation_id=violation.id, number=number, sanction=sanction, suspended_until=until, evidence=evidence,
    )  # fmt: skip
    records.notify_party(
        NotificationKind.SANCTION_APPLIED, subject("violation", violation.id), Role.CREATOR, creator.id, now,
        violation_number=number, sanction=sanction, suspended_until=until,
    )  # fmt: skip
    records.write(session)
    if creator.status is not CreatorStatus.ACTIVE:
        _decline_pending(session, settings, creator.id, until, now)
    return violation


def _decline_pending(
    session: UnitOfWork, settings: Settings, creator_id: int, until: datetime | None, now: datetime
) -> None:
    reason = "达人账号已被永久封禁" if until is None else f"达人账号封禁中，{local_time(until)}前无法接单"
    pending = locking.lock_open_orders(
        session, Role.CREATOR, creator_id, now, settings.cancel_timeout_policy, statuses=(OrderStatus.PENDING,)
    )
    cancellation.end_pending(
        session, pending, initiator=Role.CREATOR, actor=SYSTEM, reason=reason,
        event=OrderEventKind.DECLINED_FOR_SANCTION, now=now,
    )  # fmt: skip
