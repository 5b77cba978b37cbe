"""Will each plugged-in vehicle leave with its target? The departure and target in force
(core.departures), the stored plan's schedule from now on, the measured SoC and what the vehicle
has been drawing, forecast by core.rules.departure_forecast: the one status every page shows.

A few queries for the whole fleet, never one per vehicle; a run's schedules are read once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import String, cast, func, or_
from sqlmodel import Session, col, select

from core import models
from core.config import get_settings
from core.departures import departures_in_force
from core.planning import schedule_power_at
from core.rules.departure_forecast import (
    Battery,
    DepartureForecast,
    expected_charge_kw,
    forecast_departure,
    observed_ratio,
)
from core.rules.steps import HORIZON_STEPS, STEP
from core.rules.taper import taper_start_soc_of
from core.telemetry.cache import DatabaseCache
from core.telemetry.chargers import _latest_commands
from core.telemetry.plans import PlanSummary
from core.telemetry.readings import Reading

# What a vehicle has been drawing: its samples of the last minute ...
OBSERVED_WINDOW = timedelta(seconds=60)
# ... taken at least this long after its charger accepted the profile (the power takes a moment to follow).
PROFILE_SETTLE = timedelta(seconds=15)


@dataclass(frozen=True)
class VehicleForecast:
    """A plugged-in vehicle's departure and target in force, and its forecast."""

    departure: datetime
    target_soc: float
    forecast: DepartureForecast


@dataclass(frozen=True)
class Plugged:
    """What the forecast needs of one plugged-in vehicle."""

    vehicle: models.Vehicle
    plug: models.PlugSession
    charger: models.Charger | None
    soc: Reading


Periods = list[tuple[datetime, float]]

# A finished run's setpoints never change: each vehicle's schedule is built once per run (and database).
_run_schedules = DatabaseCache(maxsize=4)


def plan_schedules(*, session: Session, run_id: int) -> dict[str, Periods]:
    """Each vehicle's planned power in a run, [(start, kW), ...] with one period per run of equal
    power (the plan covers HORIZON_STEPS steps from its start)."""
    return _run_schedules.get(session, (run_id,), lambda: _read_schedules(session, run_id))


def _read_schedules(session: Session, run_id: int) -> dict[str, Periods]:
    # Only the steps where a vehicle's power changes leave the database (a few of its 96).
    setpoint = models.Setpoint
    steps = (
        select(
            setpoint.vehicle_id, cast(setpoint.start, String).label("start"), setpoint.power_kw,
            func.lag(setpoint.power_kw).over(partition_by=setpoint.vehicle_id, order_by=setpoint.step).label("previous_kw"),
        )
        .where(setpoint.run_id == run_id)
        .subquery()
    )
    rows = session.exec(
        select(steps.c.vehicle_id, steps.c.start, steps.c.power_kw)
        .where(or_(steps.c.previous_kw.is_(None), steps.c.previous_kw != steps.c.power_kw))
    ).all()
    out: dict[str, Periods] = {}
    for vehicle_id, start, power_kw in sorted(rows):
        out.setdefault(vehicle_id, []).append((_utc(start), power_kw))
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fleet_forecasts(
    *, session: Session, site: models.Site, plan: PlanSummary, plugged: list[Plugged], at: datetime
) -> dict[str, VehicleForecast]:
    """The forecast of every plugged-in vehicle, by vehicle id."""
    if not plugged:
        return {}
    in_force = departures_in_force(session=session, site=site, plugged=[(p.vehicle, p.plug) for p in plugged], at=at)
    schedules = plan_schedules(session=session, run_id=plan.run_id) if plan.run_id is not None else {}
    plan_end = (plan.horizon_start or at) + HORIZON_STEPS * STEP
    charger_ids = [p.plug.charger_id for p in plugged]
    accepted = _latest_commands(session, charger_ids, status="Accepted")
    # What they draw matters only where the charger accepted a profile for this stay.
    followed = [p.plug.charger_id for p in plugged if _profile_of_stay(p, accepted.get(p.plug.charger_id)) is not None]
    recent = _recent_power(session, followed, since=at - OBSERVED_WINDOW) if followed else {}
    meter_interval_s = get_settings().meter_interval_s
    found = {}
    for p in plugged:
        departure, _source, target = in_force[p.vehicle.id]
        battery = _battery(p.vehicle, p.charger)
        periods = schedules.get(p.vehicle.id)
        if periods and plan.started_at is not None and plan.started_at >= p.plug.started_at:
            # Beyond its horizon the planner has not planned yet: taken as charging at full power.
            schedule = [*periods, (plan_end, battery.max_charge_kw)]
        else:
            # Not planned yet (just plugged in): the charger follows its safe default, full power.
            schedule = [(p.plug.started_at, battery.max_charge_kw)]
        ratio = _observed(p, battery, accepted.get(p.plug.charger_id), recent.get(p.plug.charger_id, []))
        forecast = forecast_departure(
            soc=p.soc.value, soc_at=p.soc.at, now=at, departure=departure, target_soc=target, battery=battery,
            schedule=schedule, meter_interval_s=meter_interval_s, observed=ratio,
        )
        found[p.vehicle.id] = VehicleForecast(departure=departure, target_soc=target, forecast=forecast)
    return found


def _battery(vehicle: models.Vehicle, charger: models.Charger | None) -> Battery:
    max_kw = min(vehicle.max_charge_kw, charger.max_charge_kw) if charger else vehicle.max_charge_kw
    efficiency = charger.efficiency if charger else 1.0
    return Battery(vehicle.battery_kwh, max_kw, efficiency, taper_start_soc_of(vehicle))


def _recent_power(
    session: Session, charger_ids: list[str], *, since: datetime
) -> dict[str, list[tuple[datetime, float, float | None]]]:
    """Each charger's (time, kW, SoC) samples since `since`, in one query."""
    sample = models.MeterSample
    out: dict[str, list[tuple[datetime, float, float | None]]] = {}
    for charger_id, time, power_kw, soc in session.exec(
        select(sample.charger_id, sample.time, sample.power_kw, sample.soc)
        .where(col(sample.charger_id).in_(charger_ids))
        .where(sample.time >= since)
        .where(col(sample.power_kw).is_not(None))
    ):
        out.setdefault(charger_id, []).append((time, power_kw, soc))
    return out


def _profile_of_stay(
    p: Plugged, accepted: models.ChargingProfileCommand | None
) -> models.ChargingProfileCommand | None:
    """The charger's last accepted profile, if it is a schedule sent for this stay."""
    if accepted is None or not accepted.schedule or accepted.answered_at is None or accepted.created_at < p.plug.started_at:
        return None
    return accepted


def _observed(
    p: Plugged,
    battery: Battery,
    accepted: models.ChargingProfileCommand | None,
    samples: list[tuple[datetime, float, float | None]],
) -> float | None:
    """The observed/planned power ratio when the vehicle has drawn clearly less than the profile its
    charger accepted for this stay asks (and its battery allows), else None."""
    accepted = _profile_of_stay(p, accepted)
    if accepted is None:
        return None
    settled = accepted.answered_at + PROFILE_SETTLE
    pairs = []
    for time, power_kw, soc in samples:
        if time < settled or time < p.plug.started_at:
            continue
        expected = expected_charge_kw(schedule_power_at(accepted.schedule, time), soc if soc is not None else p.soc.value, battery)
        if expected is not None:
            pairs.append((power_kw, expected))
    return observed_ratio(pairs)


def clear_forecast_cache() -> None:
    """Forget the cached plan schedules (tests, benchmarks)."""
    _run_schedules.cache_clear()
