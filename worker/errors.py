"""Named errors for refused operations.

Each carries a stable ``code`` that the CLI and the task API hand to callers, and a message that says
what is wrong in words a person can act on. A refusal is a result, never a crash: nothing it touched is
written (bar a timeout that was already due, see ``worker.database.unit_of_work``).
"""


class XingtuError(Exception):
    """A refused operation or an unusable configuration; ``code`` is stable, ``message`` is for people."""

    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class InvalidInput(XingtuError):
    """A value the caller supplied is malformed; the code names the field (``invalid_amount``)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.code = f"invalid_{field}"


class NotFound(XingtuError):
    code = "not_found"


class NotAllowed(XingtuError):
    """The actor exists but has no right to this action on this order."""

    code = "not_allowed"


class InvalidState(XingtuError):
    """The order (or its request) is not in a state that allows the action."""

    code = "invalid_state"


class DeadlinePassed(InvalidState):
    """The action came at or after its deadline; the timeout's effect has been applied instead."""

    code = "deadline_passed"


class CancellationPending(InvalidState):
    """An open cancellation request freezes the order."""

    code = "cancellation_pending"


class Conflict(XingtuError):
    """Another operation changed the order at the same moment and won; nothing was written."""

    code = "conflict"


class IdempotencyKeyReused(XingtuError):
    """The caller's idempotency key was recorded for a different call (another task or other arguments)."""

    code = "idempotency_key_reused"


class SettingsError(XingtuError):
    code = "invalid_setting"


class BrokerUnavailable(XingtuError):
    """No broker answers at ``XINGTU_BROKER_URL``, so the worker cannot start."""

    code = "broker_unavailable"


class DatabaseError(XingtuError):
    """The database cannot be used as it is (unreachable, or its schema is not current)."""

    code = "database_unavailable"


class NothingUploaded(InvalidState):
    """An order can be completed only after its creator uploaded at least one video."""

    code = "no_upload"


class CreatorSanctioned(XingtuError):
    """The creator is suspended or banned for off-platform deals."""

    code = "creator_sanctioned"


class CreatorClosed(XingtuError):
    """The creator has closed their account (关闭星图): nothing can be published to them."""

    code = "creator_closed"


class ClientClosed(XingtuError):
    """The client has closed their account: they cannot publish."""

    code = "client_closed"


class OpenOrders(XingtuError):
    """An account cannot close while orders of it are in production; the message names them."""

    code = "open_orders"
