"""Declarative base, column types and mixins shared by every table.

Money columns are :data:`Amount` (``Numeric(19, 4)``, Decimal in Python, never float);
instants are :class:`UTCDateTime`, which refuses naive datetimes and always returns UTC-aware
ones, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, MetaData, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

#: Constraint names are explicit so that migrations (and SQLite batch mode) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A UTC instant: naive datetimes are refused on the way in, results are UTC-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: instants must be timezone-aware (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Amounts of money: 15 digits before the point, 4 after (room for 3-decimal currencies).
Amount = Numeric(19, 4, asdecimal=True)
#: ISO 4217 code.
CurrencyCode = String(3)


class Base(DeclarativeBase):
    """Base of every arcadence table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads a class-level dict)
        datetime: UTCDateTime(),
        Decimal: Amount,
        dict[str, Any]: JSON(),
    }


class OrgOwned:
    """Mixin for rows that belong to one organisation: an indexed, non-null ``organisation_id``."""

    @declared_attr
    def organisation_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("organisations.id", ondelete="CASCADE"), index=True, nullable=False)
