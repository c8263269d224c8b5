"""Handing work to the worker through the broker without ever depending on it.

A writer has already committed when it gets here: its outbox rows are safe in the database and the
dispatch sweep will send them whatever happens next. So the hand-off fails fast (one connection
attempt, one-second socket timeouts, no retries) and a failure is a warning, not an error.
"""

import logging
from collections.abc import Sequence

from celery import Celery

log = logging.getLogger(__name__)
CHUNK = 100  # notification ids per message: one task sends a batch
FAIL_FAST = {"socket_connect_timeout": 1, "socket_timeout": 1, "max_retries": 0}


def notifications(app: Celery, ids: Sequence[int]) -> bool:
    """Queue ``xingtu.send_notifications`` for the ids, a chunk per message; False if the broker could
    not take them (the sweep will)."""
    try:
        with app.connection_for_write(transport_options=FAIL_FAST) as connection:
            for start in range(0, len(ids), CHUNK):
                chunk = list(ids[start : start + CHUNK])
                app.send_task(
                    "xingtu.send_notifications", args=[chunk], connection=connection, retry=False, ignore_result=True
                )
    except Exception as exc:  # any broker failure: the rows are committed, the sweep delivers them
        log.warning("could not queue %d notifications (%s); the outbox sweep will send them", len(ids), exc)
        return False
    return True


def broker_problem(app: Celery) -> str | None:
    """Why the broker cannot be reached right now, or None when it answers."""
    try:
        with app.connection_for_write(transport_options=FAIL_FAST) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as exc:  # whatever the transport raises, it is the answer to "why not"
        return str(exc).strip() or type(exc).__name__
    return None
