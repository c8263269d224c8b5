"""Handing work to the worker through the broker without ever depending on it.

A writer has already committed when it gets here: its outbox rows are safe in the database and beat's
scheduled sweep will send them whatever happens next. So the hand-off fails fast (one connection
attempt, one-second socket timeouts, no retries) and a failure is a warning, not an error.
"""

import logging

from celery import Celery

log = logging.getLogger(__name__)
MAX_SWEEPS = 8  # at once, for one commit: more than a worker pool runs in parallel is waste
FAIL_FAST = {"socket_connect_timeout": 1, "socket_timeout": 1, "max_retries": 0}


def sweeps(app: Celery, new_notifications: int, batch: int) -> bool:
    """Queue outbox sweeps (``xingtu.dispatch``) for new notifications, one per batch of them so several
    worker processes send in parallel; False if the broker could not take them (beat's sweep will)."""
    wanted = min(-(-new_notifications // batch), MAX_SWEEPS)
    try:
        with app.connection_for_write(transport_options=FAIL_FAST) as connection:
            for _ in range(wanted):
                app.send_task("xingtu.dispatch", connection=connection, retry=False, ignore_result=True)
    except Exception as exc:  # any broker failure: the rows are committed, the scheduled sweep delivers them
        log.warning("could not queue the sending of %d notification%s (%s); the outbox sweep will send them",
                    new_notifications, "" if new_notifications == 1 else "s", exc)  # fmt: skip
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
