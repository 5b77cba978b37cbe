"""The live state a plan starts from: who is plugged in where, their SoC and its age, the
operator's override in force, the V2G windows that apply (the departure in force is
core.departures', the same rule the pages and the departure outcomes use), and what the site's own
meter says about the building load and PV (`site_load_in_force`).

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
from core.meters.status import site_meter_status
from core.planning.margins import soc_at_step_start
from core.rules.local_time import to_local
from core.rules.staleness import is_stale
from core.rules.steps import HORIZON_STEPS, STEP, STEP_MINUTES, floor_step
from core.windows import Window, allowed_steps, step_ranges

# While the site meter is stale the plan assumes the worst credible building load: per step, the
# highest load the meter measured at that time of day over the last WORST_CASE_DAYS days, and never
# less than the last reading plus WORST_CASE_MARGIN, nor less than the forecast; PV 0.
WORST_CASE_DAYS = 14
WORST_CASE_MARGIN = 0.10


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
    """The SoC to plan from (at the start of the current step, core.planning.margins) and whether it
    is known; a stale or unknown SoC is the floor (ARCHITECTURE.md)."""
    soc, soc_time, power_kw = latest_soc(session=session, plug=plug)
    if soc is None or is_stale(soc_time, at=at, meter_interval_s=meter_interval_s):
        return floor, False
    return soc_at_step_start(
        soc,
        measured_at=soc_time,
        power_kw=power_kw,
        step_start=floor_step(at),
        battery_kwh=battery_kwh,
        efficiency=efficiency,
    ), True


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


def site_load_in_force(
    *,
    session: Session,
    site: models.Site,
    at: datetime,
    start: datetime,
    load_kw: list[float],
    pv_kw: list[float],
    source: str,
    sample_interval_s: float,
) -> tuple[list[float], list[float], str]:
    """The building load and PV per step to plan with, given the forecast (core.planning.forecast).

    A site without a meter of its own (core.meters): the forecast as it is. A fresh meter: the step
    underway takes the latest measured load and PV (what the meter sees now beats a forecast, so the
    first plan already keeps the import limit it measures). A stale meter: the worst credible load
    (WORST_CASE_DAYS, WORST_CASE_MARGIN above) and no PV, for the whole horizon, and the source says
    since when the meter is stale.
    """
    status = site_meter_status(session=session, site_id=site.id, at=at, sample_interval_s=sample_interval_s)
    if not status.configured:
        return load_kw, pv_kw, source
    latest = session.exec(
        select(models.SiteSample)
        .where(models.SiteSample.site_id == site.id)
        .order_by(col(models.SiteSample.time).desc())
        .limit(1)
    ).first()
    if not status.stale and latest is not None:
        return (
            [latest.building_load_kw, *load_kw[1:]],
            [latest.pv_kw, *pv_kw[1:]],
            f"{source}; step underway: site meter",
        )
    last_kw = latest.building_load_kw if latest is not None and status.last_sample_at is not None else 0.0
    worst = worst_case_load_kw(session=session, site=site, start=start, steps=len(load_kw))
    load = [max(w, last_kw * (1 + WORST_CASE_MARGIN), f) for w, f in zip(worst, load_kw, strict=True)]
    since = f" since {to_local(status.since, site.timezone):%H:%M}" if status.since else ""
    return load, [0.0] * len(pv_kw), f"site meter stale{since}: worst-case load, no PV"


def worst_case_load_kw(
    *, session: Session, site: models.Site, start: datetime, steps: int = HORIZON_STEPS
) -> list[float]:
    """Per step from `start`: the highest building load measured at that time of day (the same
    15-minute step of the day) over the last WORST_CASE_DAYS days; 0 where none was measured."""
    day = timedelta(days=1)
    steps_per_day = int(day / STEP)
    highest = [0.0] * steps_per_day
    rows = session.exec(
        select(models.SiteSample.time, models.SiteSample.building_load_kw)
        .where(models.SiteSample.site_id == site.id)
        .where(models.SiteSample.time >= start - WORST_CASE_DAYS * day)
        .where(models.SiteSample.time < start)
    ).all()
    for t, load in rows:
        j = int(((t - start) % day) / STEP)
        highest[j] = max(highest[j], load)
    return [highest[k % steps_per_day] for k in range(steps)]
