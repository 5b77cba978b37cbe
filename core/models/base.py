"""Column types shared by every table: aware UTC datetimes and JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, TypeDecorator
from sqlmodel import Field

from core.clock import now


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and gives them back aware, so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a time zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _utc_field(*, index: bool = False, nullable: bool = False, default_now: bool = False) -> Any:
    column = Column(UTCDateTime(), index=index, nullable=nullable)
    if default_now:
        return Field(default_factory=now, sa_column=column)
    return Field(default=None, sa_column=column)


def _json_field(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))
