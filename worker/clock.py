"""The one clock.

Every use case reads it once and passes ``now`` down, so a use case sees a single instant and tests can
freeze it (freezegun patches ``datetime.now``; an outside faked system clock works the same way).
"""

from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(timezone.utc)
