"""The dispatch problem built from the database: a `v2g-scenario/1` document for core.dispatch, and
what links its vehicles back to plug-in sessions and chargers.

Building a problem only reads (`build_problem` writes nothing and flushes nothing), so a dispatch
run can build it, close its session and solve with no lock held.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from core import models, signals
from core.config import get_settings
from core.departures import departure_in_force
from core.planning.forecast import (
    MonthPeak,
    grid_signal_entries,
    load_pv_forecast,
    price_forecast,
    tariff_entry,
)
from core.planning.margins import floor_guard_band, planned_departure
from core.planning.state import (
    open_plugs,
    override_in_force,
    site_load_in_force,
    site_v2g_windows,
    soc_in_force,
    v2g_step_ranges,
)
from core.rules.discharge import effective_soc_floor, may_discharge
from core.rules.steps import HORIZON_STEPS, STEP_MINUTES, floor_step, step_index
from core.rules.taper import taper_start_soc_of


@dataclass
class PlannedVehicle:
    """What the plan needs to know about one plugged-in vehicle beyond the scenario itself."""

    vehicle_id: str
    charger_id: str
    session_id: int
    transaction_id: str
    soc_known: bool
    departure: datetime
    departure_source: str
    soc_floor: float = 0.0  # the effective floor (the plan keeps a guard band above it)


@dataclass
class Problem:
    """A dispatch problem built from the database: the scenario and what links it back.

    `month_peak` is the demand-peak bookkeeping the run keeps on the site row when it stores its
    result (None when the tariff has no demand charge).
    """

    scenario: dict
    start: datetime
    vehicles: list[PlannedVehicle] = field(default_factory=list)
    assumed_price_steps: int = 0
    forecast_source: str = "history"
    month_peak: MonthPeak | None = None


def _horizon_step(start: datetime, at: datetime) -> int:
    """The step boundary at or after `at`, kept within the horizon and after the first step."""
    return min(HORIZON_STEPS, max(1, step_index(start, at)))


def apply_override(entry: dict, override: models.Override | None, *, start: datetime, can_discharge: bool) -> dict:
    """A scenario vehicle with the operator's override in force (core.controls.start_override).

    charge_now: full power to 100 % until the override ends (its end as the stay's end), no discharge;
    pause: plugged in only from the end of the pause (no power before), or not at all if it outlasts the stay;
    discharge_now: discharge allowed from now until the override ends (where the charger allows it).
    """
    if override is None:
        return entry
    until_step = _horizon_step(start, override.until)
    if override.kind == "charge_now":
        entry["departure_step"] = min(entry["departure_step"], until_step)
        entry["soc_target"] = 1.0
        entry["v2g_windows"] = []
    elif override.kind == "pause":
        entry["arrival_step"] = min(until_step, entry["departure_step"])
        entry["v2g_windows"] = [[max(a, until_step), b] for a, b in entry["v2g_windows"] if b > until_step]
    elif override.kind == "discharge_now" and can_discharge:
        entry["v2g_windows"] = merge_ranges([*entry["v2g_windows"], [0, until_step]])
    return entry


def merge_ranges(ranges: list[list[int]]) -> list[list[int]]:
    """Overlapping or touching [first, end) step ranges merged into one, in order."""
    merged: list[list[int]] = []
    for a, b in sorted(ranges):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def build_problem(*, session: Session, site: models.Site, at: datetime) -> Problem:
    """The dispatch problem (a `v2g-scenario/1` document) for the site as the database holds it at `at`."""
    settings = get_settings()
    buffer = timedelta(minutes=settings.departure_buffer_min)
    profile = signals.demo_profile()
    start = floor_step(at)
    import_prices, export_prices, assumed = price_forecast(session=session, site=site, start=start, profile=profile)
    load_kw, pv_kw, forecast_source = load_pv_forecast(session=session, site=site, start=start, profile=profile)
    load_kw, pv_kw, forecast_source = site_load_in_force(
        session=session, site=site, at=at, start=start, load_kw=load_kw, pv_kw=pv_kw, source=forecast_source,
        sample_interval_s=settings.meter_interval_s,
    )  # the site meter: its reading for the step underway, or the worst case while it is stale

    windows = site_v2g_windows(session=session, site_id=site.id)
    chargers = {c.id: c for c in session.exec(select(models.Charger).where(models.Charger.site_id == site.id))}
    problem = Problem(scenario={}, start=start, assumed_price_steps=assumed, forecast_source=forecast_source)
    scenario_chargers, scenario_vehicles = [], []
    for plug in open_plugs(session=session, charger_ids=list(chargers)):
        vehicle = session.get(models.Vehicle, plug.vehicle_id)
        charger = chargers[plug.charger_id]
        floor = effective_soc_floor(vehicle, site)
        soc, soc_known = soc_in_force(
            session=session, plug=plug, floor=floor, at=at, meter_interval_s=settings.meter_interval_s,
            battery_kwh=vehicle.battery_kwh, efficiency=charger.efficiency,
        )  # fmt: skip
        departure, departure_source, target_soc = departure_in_force(
            session=session, vehicle=vehicle, site=site, plug=plug, at=at
        )
        can_discharge = may_discharge(vehicle, charger, soc_known=soc_known)
        band = floor_guard_band(
            at=at, step_start=start, max_discharge_kw=min(charger.max_discharge_kw, vehicle.max_discharge_kw),
            battery_kwh=vehicle.battery_kwh, efficiency=charger.efficiency,
        ) if can_discharge else 0.0  # fmt: skip
        scenario_chargers.append(
            {
                "id": charger.id,
                "max_charge_kw": charger.max_charge_kw,
                "max_discharge_kw": charger.max_discharge_kw if can_discharge else 0.0,
                "efficiency": charger.efficiency,
            }
        )
        entry = {
            "id": vehicle.id,
            "charger": charger.id,
            "arrival_step": 0,
            "departure_step": _horizon_step(start, planned_departure(departure, buffer)),
            "capacity_kwh": vehicle.battery_kwh,
            "soc_arrival": min(1.0, max(0.0, soc)),
            "soc_target": target_soc,
            "soc_floor": min(floor + band, target_soc),
            "max_charge_kw": vehicle.max_charge_kw,
            "max_discharge_kw": vehicle.max_discharge_kw,
            # the CC/CV taper near full, by the vehicle's kind (core.rules.taper)
            "taper_start_soc": taper_start_soc_of(vehicle),
            "v2g_windows": (
                v2g_step_ranges(windows, vehicle_id=vehicle.id, start=start, timezone=site.timezone)
                if can_discharge
                else []
            ),
        }
        override = override_in_force(session=session, vehicle_id=vehicle.id, at=at)
        scenario_vehicles.append(apply_override(entry, override, start=start, can_discharge=can_discharge))
        problem.vehicles.append(
            PlannedVehicle(
                vehicle_id=vehicle.id,
                charger_id=charger.id,
                session_id=plug.id,
                transaction_id=plug.transaction_id,
                soc_known=soc_known,
                departure=departure,
                departure_source=departure_source,
                soc_floor=floor,
            )
        )

    tariff, problem.month_peak = tariff_entry(
        session=session, site=site, at=at, import_prices=import_prices, export_prices=export_prices
    )
    problem.scenario = {
        "format": "v2g-scenario/1",
        "name": f"{site.id} {start.isoformat()}",
        "start": start.isoformat().replace("+00:00", "Z"),
        "timezone": site.timezone,
        "currency": site.currency,
        "step_minutes": STEP_MINUTES,
        "horizon_steps": HORIZON_STEPS,
        "site": {
            "import_limit_kw": site.import_limit_kw,
            "export_limit_kw": site.export_limit_kw,
            "base_load_kw": load_kw,
            "pv_kw": pv_kw,
        },
        "tariff": tariff,
        "grid_signals": grid_signal_entries(session=session, site=site, start=start),
        "chargers": scenario_chargers,
        "vehicles": scenario_vehicles,
        "degradation_cost_per_kwh": site.degradation_cost_per_kwh,
    }
    return problem
