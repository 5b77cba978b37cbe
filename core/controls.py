"""Operator settings: validate -> persist -> audit -> ask for a re-plan.

The settings page and the command line (`python -m core.controls ...`) call the same functions, so
the same rules hold for both. Every setter is keyword-only, takes a session and the `actor` making
the change, and either raises `ValidationError` (carrying a message for EVERY invalid field, having
written nothing) or makes the change, writes one `AuditEvent` and marks the site for a re-plan, all in
the caller's transaction: the change, its audit row and the re-plan request commit together or not at
all (a preview rolls all three back).

SoC values are fractions 0-1 here (shown as % in the UI; messages speak %). Times of day are local
`HH:MM` in the site's time zone; instants are aware datetimes, stored in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from core import models
from core.clock import as_utc, now

ROLES_RANK = {"viewer": 0, "operator": 1, "admin": 2}
OVERRIDE_KINDS = ("charge_now", "pause", "discharge_now")
MAX_OVERRIDE = timedelta(hours=48)
DISPATCH_INTERVAL_RANGE_S = (10.0, 3600.0)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WEEKDAYS = re.compile(r"^[0-6]{1,7}$")

# Audit actions that change the plan; the next dispatch run is linked to them (link_pending_audits).
PLAN_ACTIONS = (
    "soc_floor.set",
    "fleet_soc_floor.set",
    "hard_soc_floor.set",
    "target.set",
    "departure_schedule.set",
    "departure_override.set",
    "departure_override.cancel",
    "v2g_window.add",
    "v2g_window.update",
    "v2g_window.delete",
    "v2g_off.set",
    "site_settings.set",
    "demand_response.set",
    "override.start",
    "override.cancel",
)


class ValidationError(ValueError):
    """One message per invalid field: {field: message}. Nothing was saved."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class PermissionDenied(PermissionError):
    """The actor's role does not allow this change."""


class _Errors(dict):
    """Collects field errors; `raise_if_any` at the end so every invalid field is reported."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self:
            raise ValidationError(self)


# --- small validators --------------------------------------------------------------------------


def _soc(errors: _Errors, name: str, value: Any, *, required: bool = True) -> float | None:
    """A SoC fraction 0-1, or None (with an error when required)."""
    if value is None or value == "":
        if required:
            errors.add(name, "required")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(name, "must be a number")
        return None
    if not 0.0 <= number <= 1.0 or number != number:
        errors.add(name, "must be between 0 and 100 %")
        return None
    return number


def _positive(errors: _Errors, name: str, value: Any, *, allow_zero: bool = False) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(name, "required" if value in (None, "") else "must be a number")
        return None
    if number != number or number < 0 or (number == 0 and not allow_zero):
        errors.add(name, "must be zero or more" if allow_zero else "must be more than 0")
        return None
    return number


def _hhmm(errors: _Errors, name: str, value: Any) -> str | None:
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        errors.add(name, "a time of day as HH:MM (00:00-23:59)")
        return None
    return value.strip()


def _weekdays(errors: _Errors, name: str, value: Any) -> str | None:
    if isinstance(value, list | tuple | set):
        value = "".join(str(v) for v in value)
    if not isinstance(value, str) or not _WEEKDAYS.match(value) or len(set(value)) != len(value):
        errors.add(name, "pick at least one weekday")
        return None
    return "".join(sorted(value))


def _site(session: Session, site_id: str | None) -> models.Site:
    if site_id is not None:
        site = session.get(models.Site, site_id)
        if site is None:
            raise ValidationError({"site": f"no site {site_id!r}"})
        return site
    site = session.exec(select(models.Site).order_by(models.Site.id)).first()
    if site is None:
        raise ValidationError({"site": "no site configured"})
    return site


def _vehicle(session: Session, vehicle_id: str | None, errors: _Errors, name: str = "vehicle") -> models.Vehicle | None:
    vehicle = session.get(models.Vehicle, vehicle_id) if vehicle_id else None
    if vehicle is None:
        errors.add(name, f"no vehicle {vehicle_id!r}" if vehicle_id else "required")
    return vehicle


def _require_actor(actor: str) -> None:
    if not actor or not str(actor).strip():
        raise ValidationError({"actor": "who makes the change is required"})


def _require_role(session: Session, actor: str, role: str) -> None:
    """The actor must be an account with at least `role` (used for admin-only settings)."""
    user = session.exec(select(models.User).where(models.User.username == actor)).first()
    if user is None or ROLES_RANK.get(user.role, -1) < ROLES_RANK[role]:
        raise PermissionDenied(f"{actor!r} is not allowed to do this: {role} only")


def local_datetime(site_timezone: str, day: date, hhmm: str) -> datetime:
    """The UTC instant at which the site's clock shows `hhmm` on local `day`."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(site_timezone))
    return as_utc(local)


def _targets(session: Session, vehicle: models.Vehicle) -> list[float]:
    """Every target SoC the vehicle may be asked to reach: its own and its schedule's."""
    targets = [vehicle.target_soc]
    schedule = session.exec(
        select(models.DepartureSchedule).where(models.DepartureSchedule.vehicle_id == vehicle.id)
    ).first()
    if schedule is not None and schedule.enabled:
        targets.append(schedule.target_soc)
    return targets


# --- audit and re-plan -------------------------------------------------------------------------


def _audit(session: Session, *, actor: str, action: str, target: str, before: dict, after: dict, site_id: str) -> models.AuditEvent:
    event = models.AuditEvent(time=now(), actor=actor, action=action, target=target, before=before, after=after)
    session.add(event)
    _ask_for_replan(session, site_id)
    session.flush()
    return event


def _ask_for_replan(session: Session, site_id: str) -> None:
    """What core.planning.request_replan does, but inside the caller's transaction.

    planning.request_replan opens its own session: called while this session holds SQLite's write
    lock it would wait out the busy timeout, and a preview that rolls back must not leave a request.
    """
    site = session.get(models.Site, site_id)
    if site is not None:
        site.replan_requested_at = now()


def link_pending_audits(session: Session, run_id: int) -> int:
    """Give the plan-changing audit rows written before dispatch run `run_id` started that run's id.

    core.planning.run_dispatch calls this once the run is stored; returns how many rows it linked.
    """
    run = session.get(models.DispatchRun, run_id)
    if run is None:
        return 0
    rows = session.exec(
        select(models.AuditEvent)
        .where(col(models.AuditEvent.dispatch_run_id).is_(None))
        .where(col(models.AuditEvent.action).in_(PLAN_ACTIONS))
        .where(models.AuditEvent.time <= run.started_at)
    ).all()
    for row in rows:
        row.dispatch_run_id = run.id
    session.flush()
    return len(rows)


def plan_in_force(session: Session, event: models.AuditEvent) -> models.DispatchRun | None:
    """The first finished dispatch run that includes the change of audit row `event`, if any yet."""
    if event.dispatch_run_id is not None:
        run = session.get(models.DispatchRun, event.dispatch_run_id)
        if run is not None and run.finished_at is not None:
            return run
    return session.exec(
        select(models.DispatchRun)
        .where(models.DispatchRun.started_at >= event.time)
        .where(col(models.DispatchRun.finished_at).is_not(None))
        .order_by(models.DispatchRun.started_at)
        .limit(1)
    ).first()


# --- SoC floors and targets --------------------------------------------------------------------


def set_soc_floor(
    *, session: Session, actor: str, floor: float | None, vehicle_id: str | None = None, site_id: str | None = None
) -> models.AuditEvent:
    """A vehicle's SoC floor (None: inherit the fleet default), or the fleet default when `vehicle_id` is None.

    Rules: 0-100 %; at or above the hard floor; at or below the target of every vehicle it applies to.
    """
    _require_actor(actor)
    errors = _Errors()
    if vehicle_id is None:
        site = _site(session, site_id)
        value = _soc(errors, "floor", floor)
        if value is not None and value < site.hard_soc_floor:
            errors.add("floor", f"must be at least the hard floor ({site.hard_soc_floor:.0%})")
        if value is not None and "floor" not in errors:
            inheriting = session.exec(
                select(models.Vehicle).where(models.Vehicle.site_id == site.id).where(col(models.Vehicle.soc_floor).is_(None))
            ).all()
            for v in inheriting:
                if value > min(_targets(session, v)):
                    errors.add("floor", f"above the target of {v.name} ({min(_targets(session, v)):.0%})")
                    break
        errors.raise_if_any()
        before = {"default_soc_floor": site.default_soc_floor}
        site.default_soc_floor = value
        return _audit(
            session, actor=actor, action="fleet_soc_floor.set", target=f"site:{site.id}",
            before=before, after={"default_soc_floor": value}, site_id=site.id,
        )

    vehicle = _vehicle(session, vehicle_id, errors)
    value = _soc(errors, "floor", floor, required=False)
    if vehicle is not None and value is not None:
        site = session.get(models.Site, vehicle.site_id)
        if value < site.hard_soc_floor:
            errors.add("floor", f"must be at least the hard floor ({site.hard_soc_floor:.0%})")
        elif value > min(_targets(session, vehicle)):
            errors.add("floor", f"must not be above the target ({min(_targets(session, vehicle)):.0%})")
    errors.raise_if_any()
    before = {"soc_floor": vehicle.soc_floor}
    vehicle.soc_floor = value
    return _audit(
        session, actor=actor, action="soc_floor.set", target=f"vehicle:{vehicle.id}",
        before=before, after={"soc_floor": value}, site_id=vehicle.site_id,
    )


def set_hard_floor(*, session: Session, actor: str, hard_floor: float, site_id: str | None = None) -> models.AuditEvent:
    """The site's hard floor, below which no floor may be set (admins only).

    Rules: 0-100 %; at or below the fleet default and every vehicle's own floor and target.
    """
    _require_actor(actor)
    site = _site(session, site_id)
    _require_role(session, actor, "admin")
    errors = _Errors()
    value = _soc(errors, "hard_floor", hard_floor)
    if value is not None:
        if value > site.default_soc_floor:
            errors.add("hard_floor", f"must not be above the fleet default floor ({site.default_soc_floor:.0%})")
        for v in session.exec(select(models.Vehicle).where(models.Vehicle.site_id == site.id)).all():
            if v.soc_floor is not None and value > v.soc_floor:
                errors.add("hard_floor", f"above the floor of {v.name} ({v.soc_floor:.0%})")
            elif value > min(_targets(session, v)):
                errors.add("hard_floor", f"above the target of {v.name}")
    errors.raise_if_any()
    before = {"hard_soc_floor": site.hard_soc_floor}
    site.hard_soc_floor = value
    return _audit(
        session, actor=actor, action="hard_soc_floor.set", target=f"site:{site.id}",
        before=before, after={"hard_soc_floor": value}, site_id=site.id,
    )


def set_target(*, session: Session, actor: str, vehicle_id: str, target: float) -> models.AuditEvent:
    """A vehicle's usual target SoC at departure. Rules: 0-100 %, at or above its effective floor."""
    _require_actor(actor)
    errors = _Errors()
    vehicle = _vehicle(session, vehicle_id, errors)
    value = _soc(errors, "target", target)
    if vehicle is not None and value is not None:
        floor = models.effective_soc_floor(vehicle, session.get(models.Site, vehicle.site_id))
        if value < floor:
            errors.add("target", f"must not be below the floor ({floor:.0%})")
    errors.raise_if_any()
    before = {"target_soc": vehicle.target_soc}
    vehicle.target_soc = value
    return _audit(
        session, actor=actor, action="target.set", target=f"vehicle:{vehicle.id}",
        before=before, after={"target_soc": value}, site_id=vehicle.site_id,
    )


# --- departures ----------------------------------------------------------------------------------


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
    _require_actor(actor)
    errors = _Errors()
    vehicle = _vehicle(session, vehicle_id, errors)
    days = _weekdays(errors, "weekdays", weekdays)
    at = _hhmm(errors, "departure_time", departure_time)
    value = _soc(errors, "target", target)
    if vehicle is not None and value is not None:
        floor = models.effective_soc_floor(vehicle, session.get(models.Site, vehicle.site_id))
        if value < floor:
            errors.add("target", f"must not be below the floor ({floor:.0%})")
    errors.raise_if_any()
    row = session.exec(select(models.DepartureSchedule).where(models.DepartureSchedule.vehicle_id == vehicle.id)).first()
    before = _schedule_dict(row)
    if row is None:
        row = models.DepartureSchedule(vehicle_id=vehicle.id)
        session.add(row)
    row.weekdays, row.departure_time, row.target_soc, row.enabled = days, at, value, bool(enabled)
    return _audit(
        session, actor=actor, action="departure_schedule.set", target=f"vehicle:{vehicle.id}",
        before=before, after=_schedule_dict(row), site_id=vehicle.site_id,
    )


def _schedule_dict(row: models.DepartureSchedule | None) -> dict:
    if row is None:
        return {}
    return {"weekdays": row.weekdays, "departure_time": row.departure_time, "target_soc": row.target_soc, "enabled": row.enabled}


def set_departure_override(
    *, session: Session, actor: str, vehicle_id: str, departs_at: datetime | None, target: float | None = None
) -> models.AuditEvent:
    """A one-off departure for one date (optionally with its own target), which expires by itself.

    Rules: the departure is in the future (within 14 days); the target, if given, 0-100 % and at or
    above the floor. A later one-off for the same vehicle replaces the pending one.
    """
    _require_actor(actor)
    errors = _Errors()
    vehicle = _vehicle(session, vehicle_id, errors)
    at = now()
    if departs_at is None:
        errors.add("departs_at", "required")
    elif departs_at.tzinfo is None:
        errors.add("departs_at", "must carry a time zone")
    elif departs_at <= at:
        errors.add("departs_at", "must be in the future")
    elif departs_at > at + timedelta(days=14):
        errors.add("departs_at", "at most 14 days ahead")
    value = _soc(errors, "target", target, required=False)
    if vehicle is not None and value is not None:
        floor = models.effective_soc_floor(vehicle, session.get(models.Site, vehicle.site_id))
        if value < floor:
            errors.add("target", f"must not be below the floor ({floor:.0%})")
    errors.raise_if_any()
    pending = _pending_departure_overrides(session, vehicle.id, at)
    before = {"departs_at": pending[0].departs_at.isoformat(), "target_soc": pending[0].target_soc} if pending else {}
    for row in pending:
        row.cancelled_at = at
    session.add(models.DepartureOverride(vehicle_id=vehicle.id, departs_at=as_utc(departs_at), target_soc=value, created_by=actor))
    return _audit(
        session, actor=actor, action="departure_override.set", target=f"vehicle:{vehicle.id}",
        before=before, after={"departs_at": as_utc(departs_at).isoformat(), "target_soc": value}, site_id=vehicle.site_id,
    )


def cancel_departure_override(*, session: Session, actor: str, vehicle_id: str) -> models.AuditEvent:
    """Drop a vehicle's pending one-off departure."""
    _require_actor(actor)
    errors = _Errors()
    vehicle = _vehicle(session, vehicle_id, errors)
    pending = _pending_departure_overrides(session, vehicle_id, now()) if vehicle else []
    if vehicle is not None and not pending:
        errors.add("vehicle", "has no pending one-off departure")
    errors.raise_if_any()
    for row in pending:
        row.cancelled_at = now()
    return _audit(
        session, actor=actor, action="departure_override.cancel", target=f"vehicle:{vehicle.id}",
        before={"departs_at": pending[0].departs_at.isoformat()}, after={}, site_id=vehicle.site_id,
    )


def _pending_departure_overrides(session: Session, vehicle_id: str, at: datetime) -> list[models.DepartureOverride]:
    return list(
        session.exec(
            select(models.DepartureOverride)
            .where(models.DepartureOverride.vehicle_id == vehicle_id)
            .where(col(models.DepartureOverride.cancelled_at).is_(None))
            .where(models.DepartureOverride.departs_at > at)
            .order_by(models.DepartureOverride.departs_at)
        ).all()
    )


# --- V2G windows ---------------------------------------------------------------------------------


def _window_dict(w: models.V2GWindow) -> dict:
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
    session: Session, errors: _Errors, *, site: models.Site, vehicle_id, weekdays, start_time, end_time, date_from, date_to
) -> tuple[str | None, str | None, str | None, date | None, date | None]:
    if vehicle_id:
        vehicle = _vehicle(session, vehicle_id, errors)
        if vehicle is not None and vehicle.site_id != site.id:
            errors.add("vehicle", "belongs to another site")
    start = _hhmm(errors, "start_time", start_time)
    end = _hhmm(errors, "end_time", end_time)
    one_off = date_from is not None or date_to is not None
    days = "0123456"
    if one_off:
        if date_from is None:
            errors.add("date_from", "required for a one-off window")
        else:
            date_to = date_to or date_from
            if date_to < date_from:
                errors.add("date_to", "must not be before the first date")
            today = now().astimezone(ZoneInfo(site.timezone)).date()
            if date_to < today:
                errors.add("date_to", "the window would be over already")
    else:
        days = _weekdays(errors, "weekdays", weekdays)
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
    weekdays: str = "0123456",
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
    _require_actor(actor)
    site = _site(session, site_id)
    errors = _Errors()
    days, start, end, date_from, date_to = _validate_window(
        session, errors, site=site, vehicle_id=vehicle_id, weekdays=weekdays,
        start_time=start_time, end_time=end_time, date_from=date_from, date_to=date_to,
    )
    if not vehicle_id and not confirm_fleet_discharge:
        errors.add("confirm", "a site-wide window allows discharge across the fleet: confirm it")
    errors.raise_if_any()
    window = models.V2GWindow(
        site_id=site.id, vehicle_id=vehicle_id or None, weekdays=days, start_time=start, end_time=end,
        date_from=date_from, date_to=date_to if date_from else None, enabled=True,
    )
    session.add(window)
    session.flush()
    return _audit(
        session, actor=actor, action="v2g_window.add", target=f"window:{window.id}",
        before={}, after=_window_dict(window), site_id=site.id,
    )


def set_window_enabled(
    *, session: Session, actor: str, window_id: int, enabled: bool, confirm_fleet_discharge: bool = False
) -> models.AuditEvent:
    """Switch a window on or off (switching a site-wide window on needs confirmation)."""
    _require_actor(actor)
    window = session.get(models.V2GWindow, window_id)
    if window is None:
        raise ValidationError({"window": f"no window {window_id}"})
    if enabled and window.vehicle_id is None and not confirm_fleet_discharge:
        raise ValidationError({"confirm": "a site-wide window allows discharge across the fleet: confirm it"})
    before = _window_dict(window)
    window.enabled = bool(enabled)
    return _audit(
        session, actor=actor, action="v2g_window.update", target=f"window:{window.id}",
        before=before, after=_window_dict(window), site_id=window.site_id,
    )


def delete_v2g_window(*, session: Session, actor: str, window_id: int) -> models.AuditEvent:
    """Remove a window."""
    _require_actor(actor)
    window = session.get(models.V2GWindow, window_id)
    if window is None:
        raise ValidationError({"window": f"no window {window_id}"})
    before, site_id = _window_dict(window), window.site_id
    session.delete(window)
    return _audit(
        session, actor=actor, action="v2g_window.delete", target=f"window:{window_id}",
        before=before, after={}, site_id=site_id,
    )


def set_v2g_off(
    *, session: Session, actor: str, off: bool, vehicle_id: str | None = None, charger_id: str | None = None
) -> models.AuditEvent:
    """'V2G off' for one vehicle (Vehicle.v2g_allowed) or one charger (Charger.v2g_off): no discharge.

    Switching V2G back on for a vehicle or charger re-enables discharge there and is a change the UI confirms.
    """
    _require_actor(actor)
    errors = _Errors()
    if bool(vehicle_id) == bool(charger_id):
        errors.add("target", "give exactly one of a vehicle or a charger")
        errors.raise_if_any()
    if vehicle_id:
        vehicle = _vehicle(session, vehicle_id, errors)
        errors.raise_if_any()
        before = {"v2g_off": not vehicle.v2g_allowed}
        vehicle.v2g_allowed = not off
        target, site_id = f"vehicle:{vehicle.id}", vehicle.site_id
    else:
        charger = session.get(models.Charger, charger_id)
        if charger is None:
            errors.add("charger", f"no charger {charger_id!r}")
        errors.raise_if_any()
        before = {"v2g_off": bool(charger.v2g_off)}
        charger.v2g_off = bool(off)
        target, site_id = f"charger:{charger.id}", charger.site_id
    return _audit(
        session, actor=actor, action="v2g_off.set", target=target, before=before, after={"v2g_off": bool(off)}, site_id=site_id
    )


# --- site settings -------------------------------------------------------------------------------


def set_site_settings(
    *,
    session: Session,
    actor: str,
    import_limit_kw: float,
    export_limit_kw: float,
    degradation_cost_per_kwh: float,
    dispatch_interval_s: float,
    site_id: str | None = None,
) -> models.AuditEvent:
    """Grid connection limits, battery degradation cost and dispatch interval.

    Rules: limits more than 0 kW; degradation cost 0 or more; dispatch interval 10-3600 s.
    """
    _require_actor(actor)
    site = _site(session, site_id)
    errors = _Errors()
    imp = _positive(errors, "import_limit_kw", import_limit_kw)
    exp = _positive(errors, "export_limit_kw", export_limit_kw)
    deg = _positive(errors, "degradation_cost_per_kwh", degradation_cost_per_kwh, allow_zero=True)
    interval = _positive(errors, "dispatch_interval_s", dispatch_interval_s)
    low, high = DISPATCH_INTERVAL_RANGE_S
    if interval is not None and not low <= interval <= high:
        errors.add("dispatch_interval_s", f"between {low:.0f} and {high:.0f} s")
    errors.raise_if_any()
    keys = ("import_limit_kw", "export_limit_kw", "degradation_cost_per_kwh", "dispatch_interval_s")
    before = {k: getattr(site, k) for k in keys}
    site.import_limit_kw, site.export_limit_kw = imp, exp
    site.degradation_cost_per_kwh, site.dispatch_interval_s = deg, interval
    return _audit(
        session, actor=actor, action="site_settings.set", target=f"site:{site.id}",
        before=before, after={k: getattr(site, k) for k in keys}, site_id=site.id,
    )


def set_demand_response_opt_in(*, session: Session, actor: str, opt_in: bool, site_id: str | None = None) -> models.AuditEvent:
    """Whether the site takes part in the utility's demand-response export requests (OpenADR).

    The VEN answers the next events optIn or optOut as this says; export requests from OpenADR that
    have not ended yet follow the setting at once, so the next dispatch run plans (or stops planning)
    for them.
    """
    _require_actor(actor)
    site = _site(session, site_id)
    before = {"demand_response_opt_in": site.demand_response_opt_in}
    site.demand_response_opt_in = bool(opt_in)
    for signal in session.exec(
        select(models.GridSignal)
        .where(models.GridSignal.site_id == site.id)
        .where(models.GridSignal.source == "openadr")
        .where(models.GridSignal.kind == "export_request")
        .where(models.GridSignal.end > now())
    ):
        signal.opted_in = bool(opt_in)
    return _audit(
        session, actor=actor, action="demand_response.set", target=f"site:{site.id}",
        before=before, after={"demand_response_opt_in": site.demand_response_opt_in}, site_id=site.id,
    )


# --- overrides -----------------------------------------------------------------------------------


def open_plug(session: Session, vehicle_id: str) -> models.PlugSession | None:
    """The vehicle's current plug-in session, if it is plugged in."""
    return session.exec(
        select(models.PlugSession)
        .where(models.PlugSession.vehicle_id == vehicle_id)
        .where(col(models.PlugSession.ended_at).is_(None))
        .order_by(col(models.PlugSession.started_at).desc())
        .limit(1)
    ).first()


def discharge_possible(vehicle: models.Vehicle, charger: models.Charger | None) -> str | None:
    """None when this vehicle on this charger may discharge now; else why not."""
    if charger is None:
        return "the vehicle is not plugged in"
    if not charger.bidirectional or not (charger.protocol == "2.1" or charger.accepts_negative_limits):
        return f"charger {charger.id} is one-way"
    if charger.v2g_off:
        return f"V2G is off on charger {charger.id}"
    if not vehicle.v2g_allowed or vehicle.max_discharge_kw <= 0:
        return f"V2G is off for {vehicle.name}"
    return None


def active_overrides(session: Session, *, at: datetime, vehicle_id: str | None = None) -> list[models.Override]:
    """Overrides in force at `at` (not cancelled, not expired), oldest first."""
    query = (
        select(models.Override)
        .where(col(models.Override.cancelled_at).is_(None))
        .where(models.Override.until > at)
        .order_by(models.Override.created_at)
    )
    if vehicle_id is not None:
        query = query.where(models.Override.vehicle_id == vehicle_id)
    return list(session.exec(query).all())


def start_override(
    *, session: Session, actor: str, vehicle_id: str, kind: str, until: datetime | None
) -> models.AuditEvent:
    """charge_now / pause / discharge_now for a plugged-in vehicle until `until` (at most 48 h ahead).

    discharge_now only on a bidirectional charger with V2G on for the vehicle and the charger. A new
    override replaces the vehicle's override in force.
    """
    _require_actor(actor)
    errors = _Errors()
    vehicle = _vehicle(session, vehicle_id, errors)
    if kind not in OVERRIDE_KINDS:
        errors.add("kind", f"one of {', '.join(OVERRIDE_KINDS)}")
    at = now()
    if until is None:
        errors.add("until", "required")
    elif until.tzinfo is None:
        errors.add("until", "must carry a time zone")
    elif until <= at:
        errors.add("until", "must be in the future")
    elif until > at + MAX_OVERRIDE:
        errors.add("until", "at most 48 hours ahead")
    plug = open_plug(session, vehicle.id) if vehicle else None
    charger = session.get(models.Charger, plug.charger_id) if plug else None
    if vehicle is not None and plug is None:
        errors.add("vehicle", "is not plugged in")
    elif vehicle is not None and kind == "discharge_now":
        reason = discharge_possible(vehicle, charger)
        if reason:
            errors.add("kind", f"cannot discharge: {reason}")
    errors.raise_if_any()
    replaced = active_overrides(session, at=at, vehicle_id=vehicle.id)
    before = {"kind": replaced[-1].kind, "until": replaced[-1].until.isoformat()} if replaced else {}
    for row in replaced:
        row.cancelled_at = at
    row = models.Override(
        site_id=vehicle.site_id, vehicle_id=vehicle.id, charger_id=charger.id, kind=kind, until=as_utc(until), created_by=actor
    )
    session.add(row)
    return _audit(
        session, actor=actor, action="override.start", target=f"vehicle:{vehicle.id}",
        before=before, after={"kind": kind, "until": as_utc(until).isoformat(), "charger": charger.id}, site_id=vehicle.site_id,
    )


def cancel_override(*, session: Session, actor: str, vehicle_id: str) -> models.AuditEvent:
    """End the vehicle's override in force."""
    _require_actor(actor)
    errors = _Errors()
    vehicle = _vehicle(session, vehicle_id, errors)
    rows = active_overrides(session, at=now(), vehicle_id=vehicle_id) if vehicle else []
    if vehicle is not None and not rows:
        errors.add("vehicle", "has no override in force")
    errors.raise_if_any()
    for row in rows:
        row.cancelled_at = now()
    return _audit(
        session, actor=actor, action="override.cancel", target=f"vehicle:{vehicle.id}",
        before={"kind": rows[-1].kind, "until": rows[-1].until.isoformat()}, after={}, site_id=vehicle.site_id,
    )


# --- what the settings forms start from ------------------------------------------------------------


def settings_snapshot(session: Session, site_id: str | None = None) -> dict:
    """The current operator settings as plain data, for the settings page and the CLI."""
    site = _site(session, site_id)
    vehicles = session.exec(select(models.Vehicle).where(models.Vehicle.site_id == site.id).order_by(models.Vehicle.id)).all()
    schedules = {r.vehicle_id: _schedule_dict(r) for r in session.exec(select(models.DepartureSchedule)).all()}
    chargers = session.exec(select(models.Charger).where(models.Charger.site_id == site.id).order_by(models.Charger.id)).all()
    windows = session.exec(select(models.V2GWindow).where(models.V2GWindow.site_id == site.id).order_by(models.V2GWindow.id)).all()
    at = now()
    return {
        "site": {
            "id": site.id, "name": site.name, "timezone": site.timezone, "currency": site.currency,
            "default_soc_floor": site.default_soc_floor, "hard_soc_floor": site.hard_soc_floor,
            "import_limit_kw": site.import_limit_kw, "export_limit_kw": site.export_limit_kw,
            "degradation_cost_per_kwh": site.degradation_cost_per_kwh, "dispatch_interval_s": site.dispatch_interval_s,
        },
        "vehicles": [
            {
                "id": v.id, "name": v.name, "soc_floor": v.soc_floor, "effective_floor": models.effective_soc_floor(v, site),
                "target_soc": v.target_soc, "usual_departure": v.usual_departure, "v2g_allowed": v.v2g_allowed,
                "schedule": schedules.get(v.id), "plugged": open_plug(session, v.id) is not None,
            }
            for v in vehicles
        ],
        "chargers": [{"id": c.id, "bidirectional": c.bidirectional, "v2g_off": bool(c.v2g_off)} for c in chargers],
        "windows": [_window_dict(w) for w in windows],
        "overrides": [
            {"vehicle_id": o.vehicle_id, "kind": o.kind, "until": o.until.isoformat()} for o in active_overrides(session, at=at)
        ],
    }


# --- the audit log -------------------------------------------------------------------------------

AUDIT_COLUMNS = ("time", "actor", "action", "target", "before", "after", "dispatch_run_id")


def list_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    timezone: str = "UTC",
    limit: int | None = 1000,
) -> list[dict]:
    """Audit rows, newest first, filtered by actor, action and local dates (inclusive), as plain dicts
    (time as local ISO text; before/after as JSON text)."""
    import json

    tz = ZoneInfo(timezone)
    query = select(models.AuditEvent).order_by(col(models.AuditEvent.time).desc(), col(models.AuditEvent.id).desc())
    if actor:
        query = query.where(models.AuditEvent.actor == actor)
    if action:
        query = query.where(models.AuditEvent.action == action)
    if date_from:
        query = query.where(models.AuditEvent.time >= as_utc(datetime(date_from.year, date_from.month, date_from.day, tzinfo=tz)))
    if date_to:
        end = date_to + timedelta(days=1)
        query = query.where(models.AuditEvent.time < as_utc(datetime(end.year, end.month, end.day, tzinfo=tz)))
    if limit:
        query = query.limit(limit)
    return [
        {
            "id": e.id,
            "time": e.time.astimezone(tz).isoformat(timespec="seconds"),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "before": json.dumps(e.before, sort_keys=True),
            "after": json.dumps(e.after, sort_keys=True),
            "dispatch_run_id": e.dispatch_run_id,
        }
        for e in session.exec(query).all()
    ]


def audit_filter_options(session: Session) -> tuple[list[str], list[str]]:
    """The actors and the actions that occur in the audit log, sorted."""
    actors = session.exec(select(models.AuditEvent.actor).distinct().order_by(models.AuditEvent.actor)).all()
    actions = session.exec(select(models.AuditEvent.action).distinct().order_by(models.AuditEvent.action)).all()
    return list(actors), list(actions)


def audit_csv(rows: list[dict]) -> str:
    """Audit rows (from list_audit) as CSV text with a header; values starting with = + - @ are quoted
    with a leading apostrophe so a spreadsheet does not run them as formulas."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        values = []
        for key in AUDIT_COLUMNS:
            value = "" if row.get(key) is None else str(row[key])
            if value[:1] in ("=", "+", "-", "@") and key in ("actor", "target"):
                value = "'" + value
            values.append(value)
        writer.writerow(values)
    return out.getvalue()


# --- preview ---------------------------------------------------------------------------------------


@dataclass
class PlanPreview:
    """One plan of the site: its cost over the horizon and what it does to the vehicles."""

    cost: float
    start: datetime
    step_minutes: int
    soc: dict[str, list[float]] = field(default_factory=dict)  # vehicle -> SoC at each boundary
    at_risk: list[str] = field(default_factory=list)  # vehicles that would miss their departure target
    targets: dict[str, float] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    status: str = "optimal"  # or "fallback"


@dataclass
class Preview:
    """The plan as it is and as it would be after a change."""

    current: PlanPreview
    proposed: PlanPreview

    @property
    def cost_delta(self) -> float:
        return self.proposed.cost - self.current.cost

    @property
    def newly_at_risk(self) -> list[str]:
        return [v for v in self.proposed.at_risk if v not in self.current.at_risk]


def _plan_summary(problem, time_limit_s: float) -> PlanPreview:
    """Plan the problem as live dispatch does (core.dispatch.plan) and keep what a preview shows."""
    import math

    from core import dispatch

    result = dispatch.plan(problem.scenario, time_limit_s=time_limit_s)
    out = PlanPreview(
        cost=float(result.cost.total), start=problem.start, step_minutes=problem.scenario["step_minutes"], status=result.status
    )
    for i, vehicle_id in enumerate(result.vehicle_ids):
        out.soc[vehicle_id] = [round(float(x), 4) if math.isfinite(x) else None for x in result.soc[i]]
    for v in problem.scenario["vehicles"]:
        out.targets[v["id"]] = min(1.0, v["soc_target"])
        out.floors[v["id"]] = v.get("soc_floor", 0.0)
    out.at_risk = sorted({s.vehicle_id for s in result.shortfalls})
    return out


def preview_change(
    *, engine, apply: Callable[[Session], Any], site_id: str | None = None, at: datetime | None = None, time_limit_s: float = 5.0
) -> Preview:
    """What the plan would become after `apply(session)` (a setter call), without keeping the change.

    Both plans are built from one session: the current one first, then the change is applied and
    flushed, the problem rebuilt and planned, and everything rolled back. A ValidationError from
    `apply` propagates, so the caller can show it before anything is planned or saved.
    """
    from core import planning

    at = at or now()
    session = Session(engine, expire_on_commit=False)
    try:
        site = _site(session, site_id)
        current = _plan_summary(planning.build_problem(session=session, site=site, at=at), time_limit_s)
        apply(session)
        session.flush()
        session.expire_all()
        site = session.get(models.Site, site.id)
        proposed = _plan_summary(planning.build_problem(session=session, site=site, at=at), time_limit_s)
        return Preview(current=current, proposed=proposed)
    finally:
        session.rollback()
        session.close()


if __name__ == "__main__":  # pragma: no cover - the command line lives in core/controls_cli.py
    import sys

    from core.controls_cli import main

    sys.exit(main())
