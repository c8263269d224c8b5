"""How instants and money look to people: Asia/Shanghai wall-clock time, yuan with two decimals."""

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_time(instant: datetime) -> str:
    """``2026-11-28 20:00`` in Asia/Shanghai (UTC+8, no daylight saving)."""
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local_time_precise(instant: datetime) -> str:
    """``2026-11-28 20:00:00 +08:00``: for operators and error messages, where seconds matter."""
    return instant.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S %z").replace("+0800", "+08:00")


def yuan(fen: int) -> str:
    """``123456`` fen -> ``1,234.56``, exactly (integer arithmetic, no floats)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
