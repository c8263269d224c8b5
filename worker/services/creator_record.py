"""The creator record brands see before publishing (接单情况): counts of a creator's orders by how they
went, and the acceptance rate, computed by aggregate SQL.

Everything counted is in ``ix_orders_creator_record`` (creator, status, cancel reason, accepted), so one
creator's record is an index-only range read. A ranking over every creator is one aggregate pass over
the orders: SQLite reads it from that index; PostgreSQL, at its default ``random_page_cost`` of 4, prefers
a sequential scan with a hash aggregate (on SSDs, the usual 1.1 makes it read the index, about 3 times
faster at 1,000,000 orders). The acceptance rate is ``accepted / (accepted + declined + expired)``,
rounded half up to 4 decimals, in integer arithmetic (units of 0.0001), so the order ``creator list``
sorts by is exactly the figure it shows, on SQLite and PostgreSQL alike.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from models import Creator, Order
from models.base import inline
from models.sql import in_ids
from models.states import CancelReason, CreatorStatus, OrderStatus
from worker.services.reads import BATCH

RATE_UNITS = 10_000  # the rate is kept in units of 1/RATE_UNITS


def _count(condition) -> Any:
    return func.count().filter(condition)


def _counts():
    """The record's counts, as columns of an aggregate over orders grouped by creator."""
    ended = lambda reason: _count(Order.cancel_reason == inline(reason))  # noqa: E731
    return {
        "offered": func.count(),
        "accepted": func.count(Order.accepted_at),
        "completed": _count(Order.status == inline(OrderStatus.COMPLETED)),
        "in_production": _count(Order.status == inline(OrderStatus.ACCEPTED)),
        "declined": ended(CancelReason.CREATOR_DECLINED),
        "expired": ended(CancelReason.ACCEPTANCE_TIMEOUT),
        "cancelled_by_creator": ended(CancelReason.CREATOR_CANCELLED),
        "cancelled_by_client": ended(CancelReason.CLIENT_CANCELLED),
    }


def _rate(accepted, declined, expired):
    """Units of 0.0001, half up; NULL when nothing was ever answered."""
    answered = accepted + declined + expired
    return case((answered == 0, None), else_=(accepted * (2 * RATE_UNITS) + answered) // (2 * answered))


def _aggregate(*where):
    counts = _counts()
    query = select(Order.creator_id.label("creator_id"), *(column.label(name) for name, column in counts.items()))
    return query.where(*where).group_by(Order.creator_id).subquery("record")


EMPTY = dict.fromkeys(_counts(), 0) | {"acceptance_rate": None}


def _as_record(row: Any) -> dict[str, Any]:
    if row is None or row.offered is None:
        return dict(EMPTY)
    record = {name: getattr(row, name) for name in EMPTY if name != "acceptance_rate"}
    units = row.rate_units
    record["acceptance_rate"] = None if units is None else units / RATE_UNITS
    return record


def _with_rate(aggregate):
    return _rate(aggregate.c.accepted, aggregate.c.declined, aggregate.c.expired).label("rate_units")


def of(session: Session, creator_id: int) -> dict[str, Any]:
    """One creator's record: a read of that creator's entries in the index."""
    aggregate = _aggregate(Order.creator_id == creator_id)
    row = session.execute(select(aggregate, _with_rate(aggregate))).one_or_none()
    return _as_record(row)


def _records_of(session: Session, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    aggregate = _aggregate(in_ids(Order.creator_id, ids))
    rows = session.execute(select(aggregate, _with_rate(aggregate)))
    return {row.creator_id: _as_record(row) for row in rows}


def _bounded(query, limit: int | None):
    """At most ``limit`` rows, streamed in batches when there may be more than one batch of them. A
    short list is read at once: streaming is a server-side cursor on PostgreSQL, planned for its first
    rows and without parallel workers, which makes a ranking of every creator slower."""
    query = query.limit(limit)
    return query if limit is not None and limit <= BATCH else query.execution_options(yield_per=BATCH)


SORTS = ("followers", "average_plays", "acceptance_rate", "completed")


def ranked(
    session: Session, *, status: CreatorStatus | None = None, sort: str | None = None, limit: int | None = None
) -> Iterator[tuple[Creator, dict[str, Any]]]:
    """Creators with their records: by ``sort`` largest first (a ``null`` rate last), ties by id; by id
    when no sort is given. Sorting by a figure of the record ranks every creator in one aggregate pass;
    otherwise only the creators listed are counted, a batch at a time, so memory stays flat."""
    where = () if status is None else (Creator.status == status,)
    if sort in ("acceptance_rate", "completed"):
        aggregate = _aggregate()
        rate = _with_rate(aggregate)
        keys = (
            (rate.is_(None), rate.desc())
            if sort == "acceptance_rate"
            else (func.coalesce(aggregate.c.completed, 0).desc(),)
        )
        query = (
            select(Creator, aggregate, rate)
            .outerjoin(aggregate, aggregate.c.creator_id == Creator.id)
            .where(*where)
            .order_by(*keys, Creator.id)
        )
        for row in session.execute(_bounded(query, limit)):
            yield row.Creator, _as_record(row)
        return
    keys = {None: (), "followers": (Creator.followers.desc(),), "average_plays": (Creator.average_plays.desc(),)}[sort]
    query = select(Creator).where(*where).order_by(*keys, Creator.id)
    for batch in session.scalars(_bounded(query, limit)).partitions(BATCH):
        records = _records_of(session, [creator.id for creator in batch])
        for creator in batch:
            yield creator, records.get(creator.id, dict(EMPTY))
