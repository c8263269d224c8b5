"""ORM models. Importing this package registers every table on ``Base.metadata``."""

from models.audit import OrderEvent
from models.base import Base
from models.idempotency import IdempotencyKey
from models.ledger import LedgerEntry
from models.orders import MAX_AMOUNT_FEN, CancellationRequest, Order
from models.outbox import Notification
from models.parties import Client, Creator, Mcn
from models.receipts import HeldReceipt
from models.sanctions import Violation
from models.trails import ClientEvent, CreatorEvent

__all__ = [
    "Base",
    "CancellationRequest",
    "Client",
    "ClientEvent",
    "Creator",
    "CreatorEvent",
    "HeldReceipt",
    "IdempotencyKey",
    "LedgerEntry",
    "MAX_AMOUNT_FEN",
    "Mcn",
    "Notification",
    "Order",
    "OrderEvent",
    "Violation",
]
