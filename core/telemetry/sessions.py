"""A vehicle's plug-in sessions, as the vehicle page lists them."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import models
from core.db import session_scope


def vehicle_sessions(vehicle_id: str, limit: int = 20, *, engine: Engine | None = None) -> list[models.PlugSession]:
    """The vehicle's latest plug-in sessions, newest first (detached rows: read their fields only)."""
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(models.PlugSession)
                .where(models.PlugSession.vehicle_id == vehicle_id)
                .order_by(col(models.PlugSession.started_at).desc())
                .limit(limit)
            )
        )
