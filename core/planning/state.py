"""The live state a plan starts from: who is plugged in where, their SoC and its age, the departure
and the operator's override in force, and the V2G windows that apply.

Reads only. The operators' settings are read through core.controls' read-side queries, so the
planner and the settings page agree on what is in force.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import controls, models
from core.db import session_scope
from core.planning.margins import advanced_soc
from core.rules.local_time import next_local_time, to_local
from core.rules.staleness import is_stale
from core.rules.steps import HORIZON_STEPS, STEP_MINUTES
from core.windows import Window, allowed_steps, step_ranges

# Without any departure known, a vehicle is planned to stay this long.
DEFAULT_STAY = timedelta(hours=24)
# A weekly schedule's next departure is looked for this many days ahead.
SCHEDULE_LOOKAHEAD_DAYS = 8


@contextmanager
def discarded_session(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose work is rolled back when the block ends.

    For reading the state a plan starts from (no lock outlives the block, so no solve runs under
    one) and for the preview's change, which must never be kept.
    """
    with session_scope(engine) as session:
        try:
            yield session
        finally:
            session.rollback()


def open_plugs(*, session: Session, charger_ids: list[str]) -> list[models.PlugSession]:
    """The open plug-in sessions with a known vehicle on these chargers, one per charger.

    Where a connector shows two open sessions, the first-started one is kept (as the planner always did).
    """
    plugs = session.exec(
        select(models.PlugSession)
        .where(col(models.PlugSession.ended_at).is_(None))
        .where(col(models.PlugSession.charger_id).in_(charger_ids))
        .where(col(models.PlugSession.vehicle_id).is_not(None))
        .order_by(models.PlugSession.started_at)
    ).all()
    by_charger: dict[str, models.PlugSession] = {}
    for plug in plugs:
        by_charger.setdefault(plug.charger_id, plug)
    return list(by_charger.values())


def latest_soc(*, session: Session, plug: models.PlugSession) -> tuple[float | None, datetime | None, float | None]:
    """The latest SoC the charger reported during this plug-in session, when, and the power measured
    with it ((None, None, None) if none)."""
    sample = session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == plug.charger_id)
        .where(models.MeterSample.time >= plug.started_at)
        .where(col(models.MeterSample.soc).is_not(None))
        .order_by(col(models.MeterSample.time).desc())
        .limit(1)
    ).first()
    return (sample.soc, sample.time, sample.power_kw) if sample else (None, None, None)


def soc_in_force(
    *,
    session: Session,
    plug: models.PlugSession,
    floor: float,
    at: datetime,
    meter_interval_s: float,
    battery_kwh: float,
    efficiency: float,
) -> tuple[float, bool]:
    """The SoC to plan from and whether it is known: the measured SoC advanced by its age and the
    profile latency (core.planning.margins); a stale or unknown SoC is the floor (ARCHITECTURE.md)."""
    soc, soc_time, power_kw = latest_soc(session=session, plug=plug)
    if soc is None or is_stale(soc_time, at=at, meter_interval_s=meter_interval_s):
        return floor, False
    return advanced_soc(
        soc, measured_at=soc_time, power_kw=power_kw, at=at, battery_kwh=battery_kwh, efficiency=efficiency
    ), True


def next_scheduled_departure(at: datetime, schedule: models.DepartureSchedule, timezone: str) -> datetime | None:
    """The next departure of a weekly schedule after `at` (within the coming 8 days)."""
    candidate = next_local_time(at, schedule.departure_time, timezone)
    for _ in range(SCHEDULE_LOOKAHEAD_DAYS):
        if str(to_local(candidate, timezone).weekday()) in schedule.weekdays:
            return candidate
        candidate = next_local_time(candidate, schedule.departure_time, timezone)
    return None


def operator_departure(
    *, session: Session, vehicle: models.Vehicle, site: models.Site, at: datetime
) -> tuple[datetime | None, str, float]:
    """Departure and target the operators set (core.controls): a pending one-off departure first,
    then the recurring schedule; (None, "", the vehicle's target) when neither applies."""
    pending = controls.pending_departure_overrides(session=session, vehicle_id=vehicle.id, at=at)
    one_off = pending[0] if pending else None
    schedule = controls.departure_schedule(session=session, vehicle_id=vehicle.id, enabled_only=True)
    recurring = next_scheduled_departure(at, schedule, site.timezone) if schedule else None
    if one_off is not None and (recurring is None or one_off.departs_at <= recurring):
        if one_off.target_soc is not None:
            target = one_off.target_soc
        else:
            target = schedule.target_soc if schedule else vehicle.target_soc
        return one_off.departs_at, "override", target
    if recurring is not None:
        return recurring, "schedule", schedule.target_soc
    return None, "", vehicle.target_soc


def departure_in_force(
    *, session: Session, vehicle: models.Vehicle, site: models.Site, plug: models.PlugSession, at: datetime
) -> tuple[datetime, str, float]:
    """When the vehicle leaves, where that comes from, and the SoC it must leave with.

    The operators' departure first, then the vehicle's usual time, then what the vehicle reported on
    plug-in, else a stay of 24 hours.
    """
    departure, source, target_soc = operator_departure(session=session, vehicle=vehicle, site=site, at=at)
    if departure is not None:
        return departure, source, target_soc
    if vehicle.usual_departure:
        return next_local_time(at, vehicle.usual_departure, site.timezone), "usual", target_soc
    if plug.departure_at is not None:
        return plug.departure_at, "vehicle", target_soc
    return at + DEFAULT_STAY, "default", target_soc


def override_in_force(*, session: Session, vehicle_id: str, at: datetime) -> models.Override | None:
    """The operator's override in force for the vehicle at `at` (the latest started), if any."""
    overrides = controls.active_overrides(session=session, at=at, vehicle_id=vehicle_id)
    return max(overrides, key=lambda o: o.created_at) if overrides else None


def site_v2g_windows(*, session: Session, site_id: str) -> list[models.V2GWindow]:
    """The site's enabled V2G windows (site-wide and per vehicle)."""
    return list(
        session.exec(
            select(models.V2GWindow).where(models.V2GWindow.site_id == site_id).where(models.V2GWindow.enabled)
        ).all()
    )


def v2g_step_ranges(
    windows: list[models.V2GWindow], *, vehicle_id: str, start: datetime, timezone: str
) -> list[list[int]]:
    """The horizon's steps (as [first, end) ranges) inside a window that applies to the vehicle."""
    applying = [
        Window(w.start_time, w.end_time, w.weekdays, w.date_from, w.date_to)
        for w in windows
        if w.vehicle_id in (None, vehicle_id)
    ]
    flags = allowed_steps(applying, start=start, steps=HORIZON_STEPS, step_minutes=STEP_MINUTES, timezone=timezone)
    return step_ranges(flags)
