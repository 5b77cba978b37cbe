"""When discharge (V2G) is allowed: V2G windows, site-wide or per vehicle, recurring or one-off, and the
operator's "V2G off" switch per vehicle or per charger.

Anything that allows discharge across the fleet or again where it was off needs an explicit
confirmation (`confirm_fleet_discharge` / `confirm`): without it the setter raises a ValidationError
on "confirm" and saves nothing, for the settings page and the command line alike.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from core import models
from core.clock import now
from core.controls.changes import record_change
from core.controls.validation import (
    FieldErrors,
    ValidationError,
    require_actor,
    site_or_error,
    time_of_day,
    vehicle_or_error,
    weekday_digits,
)
from core.rules.local_time import to_local

ALL_WEEK = "0123456"
FLEET_DISCHARGE_CONFIRM = "a site-wide window allows discharge across the fleet: confirm it"


def window_dict(w: models.V2GWindow) -> dict:
    """A window as plain data, for audit rows and the settings snapshot."""
    return {
        "id": w.id,
        "vehicle_id": w.vehicle_id,
        "weekdays": w.weekdays,
        "start_time": w.start_time,
        "end_time": w.end_time,
        "date_from": w.date_from.isoformat() if w.date_from else None,
        "date_to": w.date_to.isoformat() if w.date_to else None,
        "enabled": w.enabled,
    }


def _validate_window(
    session: Session, errors: FieldErrors, *, site: models.Site, vehicle_id, weekdays, start_time, end_time, date_from, date_to
) -> tuple[str | None, str | None, str | None, date | None, date | None]:
    if vehicle_id:
        vehicle = vehicle_or_error(session, vehicle_id, errors)
        if vehicle is not None and vehicle.site_id != site.id:
            errors.add("vehicle", "belongs to another site")
    start = time_of_day(errors, "start_time", start_time)
    end = time_of_day(errors, "end_time", end_time)
    one_off = date_from is not None or date_to is not None
    days = ALL_WEEK
    if one_off:
        if date_from is None:
            errors.add("date_from", "required for a one-off window")
        else:
            date_to = date_to or date_from
            if date_to < date_from:
                errors.add("date_to", "must not be before the first date")
            if date_to < to_local(now(), site.timezone).date():
                errors.add("date_to", "the window would be over already")
    else:
        days = weekday_digits(errors, "weekdays", weekdays)
    # Start = end is allowed only as 00:00-00:00 on a one-off window, which means "all day" (core.windows).
    if start and end and start == end and not (one_off and start == "00:00"):
        errors.add("end_time", "must differ from the start (an end before the start crosses midnight)")
    return days, start, end, date_from, date_to


def add_v2g_window(
    *,
    session: Session,
    actor: str,
    start_time: str,
    end_time: str,
    weekdays: str = ALL_WEEK,
    vehicle_id: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    site_id: str | None = None,
    confirm_fleet_discharge: bool = False,
) -> models.AuditEvent:
    """A V2G window: site-wide (vehicle_id None) or for one vehicle; recurring (weekdays) or one-off
    (date_from..date_to). An end before the start crosses midnight.

    A site-wide window enables discharge across the fleet and needs `confirm_fleet_discharge=True`.
    """
    require_actor(actor)
    site = site_or_error(session, site_id)
    errors = FieldErrors()
    days, start, end, date_from, date_to = _validate_window(
        session, errors, site=site, vehicle_id=vehicle_id, weekdays=weekdays,
        start_time=start_time, end_time=end_time, date_from=date_from, date_to=date_to,
    )
    if not vehicle_id and not confirm_fleet_discharge:
        errors.add("confirm", FLEET_DISCHARGE_CONFIRM)
    errors.raise_if_any()
    window = models.V2GWindow(
        site_id=site.id, vehicle_id=vehicle_id or None, weekdays=days, start_time=start, end_time=end,
        date_from=date_from, date_to=date_to if date_from else None, enabled=True,
    )
    session.add(window)
    session.flush()
    return record_change(
        session=session, actor=actor, action="v2g_window.add", target=f"window:{window.id}",
        before={}, after=window_dict(window), site_id=site.id,
    )


def set_window_enabled(
    *, session: Session, actor: str, window_id: int, enabled: bool, confirm_fleet_discharge: bool = False
) -> models.AuditEvent:
    """Switch a window on or off (switching a site-wide window on needs confirmation)."""
    require_actor(actor)
    window = session.get(models.V2GWindow, window_id)
    if window is None:
        raise ValidationError({"window": f"no window {window_id}"})
    if enabled and window.vehicle_id is None and not confirm_fleet_discharge:
        raise ValidationError({"confirm": FLEET_DISCHARGE_CONFIRM})
    before = window_dict(window)
    window.enabled = bool(enabled)
    return record_change(
        session=session, actor=actor, action="v2g_window.update", target=f"window:{window.id}",
        before=before, after=window_dict(window), site_id=window.site_id,
    )


def delete_v2g_window(*, session: Session, actor: str, window_id: int) -> models.AuditEvent:
    """Remove a window."""
    require_actor(actor)
    window = session.get(models.V2GWindow, window_id)
    if window is None:
        raise ValidationError({"window": f"no window {window_id}"})
    before, site_id = window_dict(window), window.site_id
    session.delete(window)
    return record_change(
        session=session, actor=actor, action="v2g_window.delete", target=f"window:{window_id}",
        before=before, after={}, site_id=site_id,
    )


def set_v2g_off(
    *,
    session: Session,
    actor: str,
    off: bool,
    vehicle_id: str | None = None,
    charger_id: str | None = None,
    confirm: bool = False,
) -> models.AuditEvent:
    """'V2G off' for one vehicle (Vehicle.v2g_allowed) or one charger (Charger.v2g_off): no discharge.

    Switching V2G back on (`off=False`) allows discharge there again and needs `confirm=True`;
    without it a ValidationError on "confirm" says so and nothing is saved.
    """
    require_actor(actor)
    errors = FieldErrors()
    if bool(vehicle_id) == bool(charger_id):
        errors.add("target", "give exactly one of a vehicle or a charger")
        errors.raise_if_any()
    if vehicle_id:
        vehicle = vehicle_or_error(session, vehicle_id, errors)
        errors.raise_if_any()
    else:
        charger = session.get(models.Charger, charger_id)
        if charger is None:
            errors.add("charger", f"no charger {charger_id!r}")
        errors.raise_if_any()
    if not off and not confirm:
        raise ValidationError({"confirm": f"V2G on for {vehicle_id or charger_id}: discharge will be allowed again"})
    if vehicle_id:
        before = {"v2g_off": not vehicle.v2g_allowed}
        vehicle.v2g_allowed = not off
        target, site_id = f"vehicle:{vehicle.id}", vehicle.site_id
    else:
        before = {"v2g_off": bool(charger.v2g_off)}
        charger.v2g_off = bool(off)
        target, site_id = f"charger:{charger.id}", charger.site_id
    return record_change(
        session=session, actor=actor, action="v2g_off.set", target=target, before=before, after={"v2g_off": bool(off)}, site_id=site_id
    )
