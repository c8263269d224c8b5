"""The money ledger: append-only (the migration installs triggers that refuse UPDATE and DELETE).

Publishing escrows the amount; finishing pays the creator and refunds the client. For every finished
order the payouts and refunds add up to the escrow, to the fen. Zero movements are not written.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Fen, Id, one_of
from models.states import LedgerKind


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(Id, ForeignKey("orders.id"), index=True)
    kind: Mapped[LedgerKind]
    amount_fen: Mapped[int] = mapped_column(Fen)
    at: Mapped[datetime]

    __table_args__ = (
        one_of("kind", LedgerKind),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )
