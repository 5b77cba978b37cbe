"""Departures the operators set: a vehicle's recurring weekly schedule and one-off departures.

A one-off departure beats the schedule, which beats the vehicle's usual departure (core.planning
reads them through core.controls.in_force). A one-off expires by itself once it has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from core import models
from core.clock import as_utc, now
from core.controls.changes import record_change
from core.controls.in_force import departure_schedule, pending_departure_overrides
from core.controls.validation import (
    FieldErrors,
    require_actor,
    soc_fraction,
    time_of_day,
    vehicle_or_error,
    weekday_digits,
)
from core.controls.vehicles import check_target_above_floor

MAX_DEPARTURE_AHEAD = timedelta(days=14)


def schedule_dict(row: models.DepartureSchedule | None) -> dict:
    """A schedule as plain data ({} for none), for audit rows and the settings snapshot."""
    if row is None:
        return {}
    return {"weekdays": row.weekdays, "departure_time": row.departure_time, "target_soc": row.target_soc, "enabled": row.enabled}


def vehicle_timezone(*, session: Session, vehicle_id: str | None) -> str | None:
    """The time zone of the vehicle's site (its clock is the one departures are entered in); None if unknown."""
    vehicle = session.get(models.Vehicle, vehicle_id) if vehicle_id else None
    return session.get(models.Site, vehicle.site_id).timezone if vehicle is not None else None


def set_departure_schedule(
    *,
    session: Session,
    actor: str,
    vehicle_id: str,
    weekdays: str,
    departure_time: str,
    target: float,
    enabled: bool = True,
) -> models.AuditEvent:
    """A vehicle's recurring departure (e.g. Mon-Fri "01234" at 06:30 with 90 %), replacing any earlier one.

    Rules: at least one weekday; HH:MM; target 0-100 % and at or above the vehicle's floor.
    """
    require_actor(actor)
    errors = FieldErrors()
    vehicle = vehicle_or_error(session, vehicle_id, errors)
    days = weekday_digits(errors, "weekdays", weekdays)
    at = time_of_day(errors, "departure_time", departure_time)
    value = soc_fraction(errors, "target", target)
    if vehicle is not None and value is not None:
        check_target_above_floor(session, errors, vehicle, value)
    errors.raise_if_any()
    row = departure_schedule(session=session, vehicle_id=vehicle.id)
    before = schedule_dict(row)
    if row is None:
        row = models.DepartureSchedule(vehicle_id=vehicle.id)
        session.add(row)
    row.weekdays, row.departure_time, row.target_soc, row.enabled = days, at, value, bool(enabled)
    return record_change(
        session=session, actor=actor, action="departure_schedule.set", target=f"vehicle:{vehicle.id}",
        before=before, after=schedule_dict(row), site_id=vehicle.site_id,
    )



def set_departure_override(
    *, session: Session, actor: str, vehicle_id: str, departs_at: datetime | None, target: float | None = None
) -> models.AuditEvent:
    """A one-off departure for one date (optionally with its own target), which expires by itself.

    Rules: the departure is in the future (within 14 days); the target, if given, 0-100 % and at or
    above the floor. A later one-off for the same vehicle replaces the pending one.
    """
    require_actor(actor)
    errors = FieldErrors()
    vehicle = vehicle_or_error(session, vehicle_id, errors)
    at = now()
    if departs_at is None:
        errors.add("departs_at", "required")
    elif departs_at.tzinfo is None:
        errors.add("departs_at", "must carry a time zone")
    elif departs_at <= at:
        errors.add("departs_at", "must be in the future")
    elif departs_at > at + MAX_DEPARTURE_AHEAD:
        errors.add("departs_at", "at most 14 days ahead")
    value = soc_fraction(errors, "target", target, required=False)
    if vehicle is not None and value is not None:
        check_target_above_floor(session, errors, vehicle, value)
    errors.raise_if_any()
    pending = pending_departure_overrides(session=session, vehicle_id=vehicle.id, at=at)
    before = {"departs_at": pending[0].departs_at.isoformat(), "target_soc": pending[0].target_soc} if pending else {}
    for row in pending:
        row.cancelled_at = at
    session.add(models.DepartureOverride(vehicle_id=vehicle.id, departs_at=as_utc(departs_at), target_soc=value, created_by=actor))
    return record_change(
        session=session, actor=actor, action="departure_override.set", target=f"vehicle:{vehicle.id}",
        before=before, after={"departs_at": as_utc(departs_at).isoformat(), "target_soc": value}, site_id=vehicle.site_id,
    )


def cancel_departure_override(*, session: Session, actor: str, vehicle_id: str) -> models.AuditEvent:
    """Drop a vehicle's pending one-off departure."""
    require_actor(actor)
    errors = FieldErrors()
    vehicle = vehicle_or_error(session, vehicle_id, errors)
    pending = pending_departure_overrides(session=session, vehicle_id=vehicle_id, at=now()) if vehicle else []
    if vehicle is not None and not pending:
        errors.add("vehicle", "has no pending one-off departure")
    errors.raise_if_any()
    for row in pending:
        row.cancelled_at = now()
    return record_change(
        session=session, actor=actor, action="departure_override.cancel", target=f"vehicle:{vehicle.id}",
        before={"departs_at": pending[0].departs_at.isoformat()}, after={}, site_id=vehicle.site_id,
    )
