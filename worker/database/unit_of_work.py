"""The transaction boundary of every use case, and the two decisions a use case makes about its end.

A use case runs inside ``transaction()`` on a ``UnitOfWork``, a SQLAlchemy session that also carries:

- whether to commit even when the use case is refused: ``keep_applied_timers()``, called where a
  timer that was already due is applied before the action is checked (``worker.services.locking``).
  The timeout stands, as the scan would apply it anyway; the refused action itself writes nothing.
- how many notifications it wrote: ``notifications_written(n)``, called where outbox rows are inserted
  (``worker.services.records``, ``worker.services.settlement``), so that once committed the caller
  can have a sweep queued for them.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from worker.errors import Conflict, XingtuError


class UnitOfWork(Session):
    """A session with its commit decisions as state a reader can follow (see the module docstring)."""

    keep_on_refusal: bool = False
    new_notifications: int = 0

    def keep_applied_timers(self) -> None:
        """Commit what this transaction wrote so far even if the use case is then refused."""
        self.keep_on_refusal = True

    def notifications_written(self, count: int) -> None:
        self.new_notifications += count


def _is_unique_violation(exc: IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def _is_lock_timeout(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "55P03"  # PostgreSQL's lock_not_available


@contextmanager
def transaction(
    factory: sessionmaker[UnitOfWork], after_commit: Callable[[int], None] | None = None
) -> Iterator[UnitOfWork]:
    """One use case, one transaction: commit on success, roll back on any error.

    A refusal (``XingtuError``) rolls back unless the use case called ``keep_applied_timers()``. A lost
    race (a versioned UPDATE that matched no row, or a unique index that another transaction filled
    first, or a lock on PostgreSQL not granted within its lock timeout) becomes ``Conflict``, with nothing
    written. Once committed, the number of notifications written goes to ``after_commit`` (never before:
    a worker must not look for rows it cannot see yet).
    """
    uow = factory()

    def commit() -> None:
        uow.commit()
        if uow.new_notifications and after_commit is not None:
            after_commit(uow.new_notifications)

    try:
        yield uow
        commit()
    except XingtuError:
        if uow.keep_on_refusal:
            commit()
        else:
            uow.rollback()
        raise
    except StaleDataError:
        uow.rollback()
        raise Conflict(
            "the order was changed by another operation at the same moment; nothing was written, try again"
        ) from None
    except IntegrityError as exc:
        uow.rollback()
        if _is_unique_violation(exc):
            raise Conflict(
                "another operation wrote the same record at the same moment; nothing was written, try again"
            ) from None
        raise
    except OperationalError as exc:
        uow.rollback()
        if _is_lock_timeout(exc):
            raise Conflict(
                "another operation held what this one needs for too long (the lock timeout); nothing was written,"
                " try again"
            ) from None
        raise
    except BaseException:
        uow.rollback()
        raise
    finally:
        uow.close()
