"""The live state a plan starts from: who is plugged in where, their SoC and its age, the
operator's override in force, and the V2G windows that apply (the departure in force is
core.departures', the same rule the pages and the departure outcomes use).

Reads only. The operators' settings are read through core.controls' read-side queries, so the
planner and the settings page agree on what is in force.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import controls, models
from core.db import session_scope
from core.planning.margins import soc_at_step_start
from core.rules.staleness import is_stale
from core.rules.steps import HORIZON_STEPS, STEP_MINUTES, floor_step
from core.windows import Window, allowed_steps, step_ranges


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
        soc, measured_at=soc_time, power_kw=power_kw, step_start=floor_step(at), battery_kwh=battery_kwh,
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
