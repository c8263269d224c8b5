"""When a deadline has come. Deadlines are exclusive: at the deadline instant an action is already late
and its timer is due. This is the one spelling of that rule, for the use cases (Python instants) and the
scan (SQL columns, ``Order.accept_deadline <= now``) alike."""

from datetime import datetime, timedelta
from typing import Any


def is_due(deadline: Any, now: datetime) -> Any:
    """True (or the SQL condition) once ``now`` has reached ``deadline``."""
    return deadline <= now


def key_forgotten(recorded_at: Any, now: datetime, window: timedelta) -> Any:
    """True (or the SQL condition) once a caller's idempotency key recorded at ``recorded_at`` has been
    kept ``window``: from then on it is new again. Spelled on the recorded instant, so the scan's
    condition reads its index."""
    return is_due(recorded_at, now - window)
