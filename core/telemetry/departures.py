"""How vehicles left (the outcomes core.departures records when a session ends), as the vehicle
page and the overview show them: one query each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import models
from core.db import session_scope


@dataclass(frozen=True)
class DepartureRow:
    """One departure: met, or short by `short_kwh` (None: SoC unknown) and why."""

    vehicle_id: str
    name: str
    charger_id: str
    departed_at: datetime
    planned_departure_at: datetime | None
    target_soc: float
    soc_at_departure: float | None
    short_kwh: float | None
    met: bool
    reason: str


def _row(outcome: models.DepartureOutcome, name: str) -> DepartureRow:
    return DepartureRow(
        vehicle_id=outcome.vehicle_id, name=name, charger_id=outcome.charger_id, departed_at=outcome.departed_at,
        planned_departure_at=outcome.planned_departure_at, target_soc=outcome.target_soc,
        soc_at_departure=outcome.soc_at_departure, short_kwh=outcome.short_kwh, met=outcome.met, reason=outcome.reason,
    )


def departures_since(*, session: Session, site_id: str, since: datetime) -> list[DepartureRow]:
    """The site's departures from `since` on, newest first, in the caller's transaction."""
    outcome = models.DepartureOutcome
    rows = session.exec(
        select(outcome, models.Vehicle.name)
        .join(models.Vehicle, models.Vehicle.id == outcome.vehicle_id)
        .where(models.Vehicle.site_id == site_id)
        .where(outcome.departed_at >= since)
        .order_by(col(outcome.departed_at).desc())
    ).all()
    return [_row(o, name) for o, name in rows]


def vehicle_departures(vehicle_id: str, limit: int = 10, *, engine: Engine | None = None) -> list[DepartureRow]:
    """The vehicle's latest departures, newest first."""
    outcome = models.DepartureOutcome
    with session_scope(engine) as session:
        rows = session.exec(
            select(outcome, models.Vehicle.name)
            .join(models.Vehicle, models.Vehicle.id == outcome.vehicle_id)
            .where(outcome.vehicle_id == vehicle_id)
            .order_by(col(outcome.departed_at).desc())
            .limit(limit)
        ).all()
        return [_row(o, name) for o, name in rows]
