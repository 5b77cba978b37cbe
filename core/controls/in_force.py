"""What the operators' settings put in force, read-side: plug-in sessions, overrides, pending one-off
departures and the recurring departure schedule. core.planning reads these to build its problem;
the setters use them to validate and to replace what a new setting supersedes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core import models


def open_plug(*, session: Session, vehicle_id: str) -> models.PlugSession | None:
    """The vehicle's current plug-in session, if it is plugged in."""
    return session.exec(
        select(models.PlugSession)
        .where(models.PlugSession.vehicle_id == vehicle_id)
        .where(col(models.PlugSession.ended_at).is_(None))
        .order_by(col(models.PlugSession.started_at).desc())
        .limit(1)
    ).first()


def active_overrides(*, session: Session, at: datetime, vehicle_id: str | None = None) -> list[models.Override]:
    """Overrides in force at `at` (not cancelled, not expired), oldest first (the newest is the last)."""
    query = (
        select(models.Override)
        .where(col(models.Override.cancelled_at).is_(None))
        .where(models.Override.until > at)
        .order_by(models.Override.created_at)
    )
    if vehicle_id is not None:
        query = query.where(models.Override.vehicle_id == vehicle_id)
    return list(session.exec(query).all())


def pending_departure_overrides(*, session: Session, vehicle_id: str, at: datetime) -> list[models.DepartureOverride]:
    """The vehicle's one-off departures still ahead at `at` and not cancelled, soonest first."""
    return list(
        session.exec(
            select(models.DepartureOverride)
            .where(models.DepartureOverride.vehicle_id == vehicle_id)
            .where(col(models.DepartureOverride.cancelled_at).is_(None))
            .where(models.DepartureOverride.departs_at > at)
            .order_by(models.DepartureOverride.departs_at)
        ).all()
    )


def departure_schedule(
    *, session: Session, vehicle_id: str, enabled_only: bool = False
) -> models.DepartureSchedule | None:
    """The vehicle's recurring departure schedule (one per vehicle), or None; with `enabled_only`
    None too when it is switched off."""
    query = select(models.DepartureSchedule).where(models.DepartureSchedule.vehicle_id == vehicle_id)
    if enabled_only:
        query = query.where(models.DepartureSchedule.enabled)
    return session.exec(query).first()
