"""Checks for what callers type: amounts, titles, names, reasons, video references.

Each returns the clean value or raises ``InvalidInput`` naming the field, the limit and what was given.
"""

import re
import unicodedata

from models import MAX_AMOUNT_FEN
from worker.errors import InvalidInput
from worker.formats.display import yuan

_WHOLE_NUMBER = re.compile(r"\s*[+-]?[0-9]{1,20}\s*")
# Characters that are not text: controls (newline, NUL, escape...) and lone surrogates.
_NOT_TEXT = {"Cc", "Cs"}


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def text(field: str, value: object, max_length: int) -> str:
    """Trimmed text of 1 to ``max_length`` characters with no control characters."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"{field} must be text; got {_preview(value)}")
    trimmed = value.strip()
    if not trimmed:
        raise InvalidInput(field, f"{field} is required and cannot be blank")
    if len(trimmed) > max_length:
        raise InvalidInput(field, f"{field} is {len(trimmed)} characters; at most {max_length} are allowed")
    for position, char in enumerate(trimmed, start=1):
        if unicodedata.category(char) in _NOT_TEXT:
            raise InvalidInput(field, f"{field} has a control character (U+{ord(char):04X}) at position {position}")
    return trimmed


def title(value: object) -> str:
    return text("title", value, 100)


def name(value: object) -> str:
    return text("name", value, 100)


def reason(value: object) -> str:
    return text("reason", value, 500)


def video(value: object) -> str:
    return text("video", value, 500)


def evidence(value: object) -> str:
    return text("evidence", value, 2000)


def amount_fen(value: object) -> int:
    """A whole number of fen from 1 to 10^11 (one billion yuan), given as an int or its digits."""
    limits = f"a whole number of fen from 1 to {MAX_AMOUNT_FEN} (¥{yuan(MAX_AMOUNT_FEN)})"
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("amount", f"amount_fen must be {limits}; got {_preview(value)}")
    if not 1 <= value <= MAX_AMOUNT_FEN:
        raise InvalidInput("amount", f"amount_fen must be {limits}; got {value}")
    return value


def figure(field: str, value: object) -> int:
    """A non-negative whole number (followers, average plays), given as an int or its digits."""
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InvalidInput(field, f"{field} must be a non-negative whole number; got {_preview(value)}")
    return value


_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]{1,255}")


def idempotency_key(value: object) -> str:
    """A caller's idempotency key: 1 to 255 printable ASCII characters (space to ``~``), kept as given;
    keys are compared exactly, case included."""
    if not isinstance(value, str):
        raise InvalidInput("idempotency_key", f"idempotency_key must be text; got {_preview(value)}")
    if not _PRINTABLE_ASCII.fullmatch(value):
        problem = next(
            (f"has {_preview(char)} at position {n}" for n, char in enumerate(value, 1) if not " " <= char <= "~"),
            f"is {len(value)} characters",
        )
        raise InvalidInput(
            "idempotency_key", f"idempotency_key must be 1 to 255 printable ASCII characters; it {problem}"
        )
    return value
