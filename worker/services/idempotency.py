"""Caller-chosen idempotency keys: a call made again with its key answers what it answered the first
time and changes nothing (SPEC "Idempotent calls").

``once`` runs inside the call's own transaction, so the key, its call and its answer commit with the
call's effects or not at all:

1. It claims the key by inserting its row (``INSERT ... ON CONFLICT DO NOTHING``). A second call with
   the same key at the same moment waits on that row: on PostgreSQL until the first transaction ends
   (at most the lock timeout, then ``conflict``), on SQLite behind the database's write lock.
2. A key already recorded answers its recorded answer when the call is the same one (same
   fingerprint: name and arguments), is refused ``idempotency_key_reused`` when it is not, and is
   claimed afresh once it has been kept ``XINGTU_IDEMPOTENCY_WINDOW`` (``rules.key_forgotten``).
3. The call runs and its answer is written on the key's row. A refused call gives its claim back, so
   nothing is recorded and its retry is judged afresh.

``shown_once`` is how the CLI and the task API make a call with it. The scan forgets old keys in bounded
batches (``forget``), skipping any row a call holds.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from models import IdempotencyKey
from worker import rules
from worker.clock import utcnow
from worker.database.unit_of_work import UnitOfWork, transaction
from worker.errors import Conflict, IdempotencyKeyReused, XingtuError
from worker.formats import validation
from worker.formats.display import local_time
from worker.services import views

if TYPE_CHECKING:
    from worker.runtime.context import Runtime

Answer = dict[str, Any]


@dataclass(frozen=True)
class Claim:
    """A call made under a caller's key: the key, the call's name (its task or command) and a hash of
    the call's arguments."""

    key: str
    call: str
    fingerprint: str

    @classmethod
    def of(cls, key: object, call: str, arguments: Mapping[str, Any]) -> "Claim | None":
        """``call`` with ``arguments`` under ``key`` (checked), or None when no key was given. An argument
        left out and one given as None are the same call (``--mcn`` not given is ``mcn_id=None``)."""
        if key is None:
            return None
        given = {name: value for name, value in arguments.items() if value is not None}
        canonical = json.dumps([call, given], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return cls(validation.idempotency_key(key), call, hashlib.sha256(canonical.encode()).hexdigest())


def once(
    session: UnitOfWork, claim: Claim | None, now: datetime, window: timedelta, run: Callable[[], Answer]
) -> Answer:
    """``run()``'s answer, recorded under the claim's key; or, when the key already holds this call, its
    recorded answer, with nothing run. Without a claim (no key given), just ``run()``."""
    if claim is None:
        return run()
    recorded = _claim(session, claim, now, window)
    if recorded is not None:
        return json.loads(recorded)
    try:
        answer = run()
    except XingtuError:
        # A refusal that keeps timers it applied still commits: its key must not come with them.
        if session.keep_on_refusal:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.key == claim.key))
        raise
    recorded = json.dumps(answer, ensure_ascii=False)
    session.execute(update(IdempotencyKey).where(IdempotencyKey.key == claim.key).values(answer=recorded))
    return answer


def shown_once(
    runtime: "Runtime", claim: Claim | None, use_case: Callable[..., Any], arguments: Mapping[str, Any]
) -> Answer:
    """A caller's call, as the CLI and the task API make it: ``use_case`` in one transaction at the
    current instant, once per key, answering the JSON of what it returned (``views.shown``) or what the
    key's first call answered; its SMS are queued once committed."""
    settings, now = runtime.settings, utcnow()
    with transaction(runtime.sessions, runtime.after_commit) as session:
        return once(
            session,
            claim,
            now,
            settings.idempotency_window,
            lambda: views.shown(session, use_case(session, settings, now=now, **arguments)),
        )


def _claim(session: UnitOfWork, claim: Claim, now: datetime, window: timedelta) -> str | None:
    """None once this transaction holds the key for the claimed call; the recorded answer when that call
    was already made with it."""
    key = claim.key
    row = {"call": claim.call, "fingerprint": claim.fingerprint, "answer": None, "created_at": now}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(IdempotencyKey).values(key=key, **row).on_conflict_do_nothing()
    if session.execute(insert.returning(IdempotencyKey.key)).first() is not None:
        return None
    columns = (IdempotencyKey.call, IdempotencyKey.fingerprint, IdempotencyKey.answer, IdempotencyKey.created_at)
    found = session.execute(select(*columns).where(IdempotencyKey.key == key)).one_or_none()
    if found is not None and rules.key_forgotten(found.created_at, now, window):
        unchanged = (IdempotencyKey.key == key, IdempotencyKey.created_at == found.created_at)
        if session.execute(update(IdempotencyKey).where(*unchanged).values(**row)).rowcount:
            return None
        found = None
    if found is None or found.answer is None:  # forgotten, or claimed afresh, between two statements
        raise Conflict(
            f"another call with idempotency key {key!r} changed it at the same moment; nothing was written, try again"
        )
    if found.fingerprint != claim.fingerprint:
        other = " with other arguments" if found.call == claim.call else ""
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was used at {local_time(found.created_at)} for {found.call}{other};"
            " nothing was done: a new call needs a new key"
        )
    return found.answer


def forgotten(now: datetime, window: timedelta):
    """The keys kept ``window`` by ``now``, oldest first (the index on ``created_at`` orders them)."""
    recorded = IdempotencyKey.created_at
    return select(IdempotencyKey.key).where(rules.key_forgotten(recorded, now, window)).order_by(recorded)


def forget(session: UnitOfWork, now: datetime, window: timedelta, *, limit: int) -> int:
    """The scan's part: forget up to ``limit`` keys kept ``window`` by ``now``; a key a call holds at
    this moment is skipped (the call's own check forgets it), so the scan never waits for a call."""
    old = forgotten(now, window).limit(limit).with_for_update(skip_locked=True).cte("old")
    old = old.prefix_with("MATERIALIZED", dialect="postgresql")  # run once: never more than ``limit`` rows
    statement = delete(IdempotencyKey).where(IdempotencyKey.key.in_(select(old.c.key))).returning(IdempotencyKey.key)
    return len(session.execute(statement.execution_options(synchronize_session=False)).all())  # no rowcount after WITH
