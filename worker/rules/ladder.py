"""The penalty ladder for off-platform deals (私下接单), as pure functions.

1st violation: the post is taken down; 2nd: suspended 7 days; 3rd: suspended 3 calendar months on the
Asia/Shanghai calendar; 4th and later: banned for good. Each violation takes the next step from its own
moment, also when it comes during a suspension.
"""

import calendar
from datetime import datetime, timedelta
from typing import Protocol

from models.states import CreatorStatus, Sanction
from worker.errors import CreatorClosed, CreatorSanctioned
from worker.formats.display import SHANGHAI, local_time_precise
from worker.rules.deadlines import is_due

LADDER = (Sanction.POST_TAKEDOWN, Sanction.SUSPENDED_7D, Sanction.SUSPENDED_3M)


class CreatorFacts(Protocol):
    id: int
    status: CreatorStatus
    suspended_until: datetime | None
    violation_count: int


def sanction_for(number: int) -> Sanction:
    return LADDER[number - 1] if number <= len(LADDER) else Sanction.PERMANENT_BAN


def add_months(instant: datetime, months: int) -> datetime:
    """The same wall-clock time ``months`` later on the Asia/Shanghai calendar; a day the target month
    lacks (31 January + 1 month) becomes that month's last day."""
    local = instant.astimezone(SHANGHAI)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(instant.tzinfo)


def suspension_end(sanction: Sanction, at: datetime) -> datetime | None:
    if sanction is Sanction.SUSPENDED_7D:
        return at + timedelta(days=7)
    if sanction is Sanction.SUSPENDED_3M:
        return add_months(at, 3)
    return None


def standing_after(sanction: Sanction, until: datetime | None, current: CreatorStatus) -> CreatorStatus:
    """A suspension or a ban changes the creator's status; a takedown leaves it as it was. A closed
    account stays closed under a suspension (reopening finds it still running), but a ban is for good."""
    if sanction is Sanction.PERMANENT_BAN:
        return CreatorStatus.BANNED
    if current is CreatorStatus.CLOSED:
        return current
    return CreatorStatus.SUSPENDED if until is not None else current


def suspension_over(creator: CreatorFacts, now: datetime) -> bool:
    """The suspension's end is exclusive, like every deadline: at that instant it is over."""
    return creator.status is CreatorStatus.SUSPENDED and is_due(creator.suspended_until, now)


def ensure_may_work(creator: CreatorFacts, refusal: str, now: datetime) -> None:
    """A suspended, banned or closed creator can be neither published to nor accept; ``refusal`` starts
    the message (``cannot publish to creator 7``)."""
    if creator.status is CreatorStatus.CLOSED:
        raise CreatorClosed(f"{refusal}: the creator has closed their account")
    if creator.status is CreatorStatus.BANNED:
        raise CreatorSanctioned(
            f"{refusal}: banned for good (violation {creator.violation_count}, {Sanction.PERMANENT_BAN})"
        )
    if creator.status is CreatorStatus.SUSPENDED and not suspension_over(creator, now):
        raise CreatorSanctioned(
            f"{refusal}: suspended until {local_time_precise(creator.suspended_until)}"
            f" (violation {creator.violation_count}, {sanction_for(creator.violation_count)})"
        )
