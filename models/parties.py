"""The two sides of an order: clients (brands) and creators."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Id


class Party:
    """Columns both sides share. Phones are stored in E.164 and never shown unmasked."""

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Client(Party, Base):
    __tablename__ = "clients"


class Creator(Party, Base):
    __tablename__ = "creators"
