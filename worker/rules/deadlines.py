"""When a deadline has come. Deadlines are exclusive: at the deadline instant an action is already late
and its timer is due. This is the one spelling of that rule, for the use cases (Python instants) and the
scan (SQL columns, ``Order.accept_deadline <= now``) alike."""

from datetime import datetime
from typing import Any


def is_due(deadline: Any, now: datetime) -> Any:
    """True (or the SQL condition) once ``now`` has reached ``deadline``."""
    return deadline <= now
