"""Declarative base and the project-wide column types.

Instants are stored as UTC and always come back timezone-aware, on SQLite (which has no time zones)
as on PostgreSQL. A naive datetime is refused at bind time: it is always a bug, never an instant.
"""

import enum
from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Enum,
    Integer,
    MetaData,
    literal_column,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Row ids: 64-bit on PostgreSQL; SQLite's rowid alias must be spelled INTEGER (it is 64-bit anyway).
Id = BigInteger().with_variant(Integer(), "sqlite")
# Money in fen: one billion yuan is 10^11 fen, past 32 bits.
Fen = BigInteger


class UTCDateTime(TypeDecorator[datetime]):
    """An aware-UTC instant on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def one_of(column: str, values: type[enum.StrEnum], name: str | None = None) -> CheckConstraint:
    """A CHECK that ``column`` holds one of the enum's values (NULL passes; nullability is separate)."""
    listed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name or f"{column}_valid")


def partial(condition: str) -> dict:
    """Keyword arguments that make an ``Index`` partial on both backends (an index of due rows only)."""
    clause = text(condition)
    return {"sqlite_where": clause, "postgresql_where": clause}


def inline(value: enum.StrEnum) -> ColumnElement:
    """A state constant written into the SQL instead of bound as a parameter. Only then can a partial
    index whose predicate names that state serve the query in every plan: neither SQLite nor a
    PostgreSQL generic plan (psycopg prepares a statement after five runs) can see through ``$1``."""
    return literal_column(f"'{value.value}'")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        # Enums are stored as their values in a VARCHAR; the CHECK comes from ``one_of``.
        enum.Enum: Enum(enum.Enum, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
    }
