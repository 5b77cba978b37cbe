"""Will this vehicle leave with its target SoC? The forecast from the live state, and whether a
departure met its target, with one tolerance for both: a page never says "on track" about a vehicle
that then leaves short, and a vehicle that left a rounding error below its target counts as met.

The forecast starts from the measured SoC at the instant it was measured and follows the stored
plan's schedule to the departure. Each period's charging is capped by the most the battery takes
(its taper near full, core.rules.taper) and, when the vehicle has been drawing clearly less than
its setpoint, scaled by the observed/planned ratio. Efficiency is counted as the planner and the
simulator count it: charging stores kW x efficiency, discharging takes kW / efficiency.
The same walk at full power says whether the target can still be reached at all.

Pure: no database and no clock (the caller passes `now`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.rules.staleness import is_stale
from core.rules.taper import NO_TAPER, charge_limit_kw

# A departure misses its target only by more than this: 0.5 % SoC or 0.5 kWh, whichever is larger.
TOLERANCE_SOC = 0.005
TOLERANCE_KWH = 0.5
# "Draws clearly less than its setpoint": every one of at least this many samples below the power
# expected of it by more than DRAWS_LESS_KW or DRAWS_LESS_FRACTION of it, whichever is larger.
DRAWS_LESS_MIN_SAMPLES = 3
DRAWS_LESS_KW = 1.0
DRAWS_LESS_FRACTION = 0.1

CAUSE_STALE = "SoC unknown or stale"
CAUSE_NO_TIME = "not enough time at full power"
CAUSE_DRAWS_LESS = "vehicle draws less than its setpoint"

Schedule = Sequence[tuple[datetime, float]]  # [(start, kW), ...]: each period lasts until the next starts


def tolerance_kwh(battery_kwh: float) -> float:
    """How far below its target a vehicle may leave and still count as having met it, in kWh."""
    return max(TOLERANCE_SOC * battery_kwh, TOLERANCE_KWH)


def short_kwh(soc: float, target_soc: float, battery_kwh: float) -> float:
    """The energy missing from `soc` to `target_soc` (0 when at or above it)."""
    return max(0.0, (target_soc - soc) * battery_kwh)


def meets_target(soc: float, target_soc: float, battery_kwh: float) -> bool:
    """Whether `soc` meets `target_soc` within the tolerance."""
    return short_kwh(soc, target_soc, battery_kwh) <= tolerance_kwh(battery_kwh)


@dataclass(frozen=True)
class Battery:
    """What limits charging: the pack, the lower of the charger's and the vehicle's max power, the
    charger's efficiency and where the taper starts."""

    battery_kwh: float
    max_charge_kw: float
    efficiency: float = 1.0
    taper_start_soc: float = NO_TAPER


def advance_soc(soc: float, *, start: datetime, end: datetime, schedule: Schedule, battery: Battery,
                ratio: float = 1.0) -> float:
    """The SoC at `end` of a battery at `soc` at `start` that follows `schedule` (sorted; each period
    lasts until the next begins, the last until `end`; no power before the first). Charging is
    scaled by `ratio` and capped by the max power and the taper; discharging is taken as planned."""
    periods = list(schedule)
    for k, (period_start, power_kw) in enumerate(periods):
        period_end = periods[k + 1][0] if k + 1 < len(periods) else end
        a, b = max(period_start, start), min(period_end, end)
        if b > a:
            soc = _run(soc, power_kw, (b - a).total_seconds() / 3600.0, battery, ratio)
    return soc


def _run(soc: float, power_kw: float, hours: float, battery: Battery, ratio: float) -> float:
    """`power_kw` for `hours` from `soc`, solved exactly: the taper is linear from its start to 100 %
    (core.rules.taper; its slope is read from the rule itself), so charging is flat until the taper
    falls below the power wanted, then approaches full exponentially."""
    if power_kw < 0:
        return max(0.0, soc + power_kw * hours / battery.efficiency / battery.battery_kwh)
    wanted_kw = min(power_kw * ratio, battery.max_charge_kw)
    if wanted_kw <= 0 or soc >= 1.0:
        return soc
    per_kwh = battery.efficiency / battery.battery_kwh  # SoC per kWh at the charger
    start, full_kw = battery.taper_start_soc, battery.max_charge_kw
    flat_until, slope = 1.0, 0.0
    if start < 1.0:
        middle = (start + 1.0) / 2
        slope = (charge_limit_kw(full_kw, middle, start) - full_kw) / (middle - start)  # kW per unit of SoC, < 0
        flat_until = min(1.0, start + (wanted_kw - full_kw) / slope)  # where the taper falls to `wanted_kw`
    if soc < flat_until:
        to_taper_h = (flat_until - soc) / (wanted_kw * per_kwh)
        if to_taper_h >= hours or flat_until >= 1.0:
            return min(1.0, soc + wanted_kw * per_kwh * hours)
        soc, hours = flat_until, hours - to_taper_h
    # On the taper: dSoC/dt = per_kwh * (full_kw + slope * (SoC - start)), which would reach 0 kW at `limit`.
    limit = start - full_kw / slope
    return min(1.0, limit + (soc - limit) * math.exp(per_kwh * slope * hours))


def expected_charge_kw(setpoint_kw: float | None, soc: float | None, battery: Battery) -> float | None:
    """What a vehicle at `soc` should draw on a charging setpoint (capped by its max and its taper);
    None when the setpoint does not charge, or is unknown."""
    if setpoint_kw is None or setpoint_kw <= 0:
        return None
    limit_kw = battery.max_charge_kw if soc is None else charge_limit_kw(battery.max_charge_kw, soc, battery.taper_start_soc)
    return min(setpoint_kw, limit_kw)


def observed_ratio(samples: Sequence[tuple[float, float]]) -> float | None:
    """Measured / expected power when the vehicle drew clearly less than expected in every one of
    `samples` [(measured kW, expected kW), ...] (at least DRAWS_LESS_MIN_SAMPLES); None otherwise."""
    if len(samples) < DRAWS_LESS_MIN_SAMPLES:
        return None
    for measured_kw, expected_kw in samples:
        if expected_kw - measured_kw <= max(DRAWS_LESS_KW, DRAWS_LESS_FRACTION * expected_kw):
            return None
    expected = sum(e for _, e in samples)
    return max(0.0, min(1.0, sum(max(0.0, m) for m, _ in samples) / expected))


@dataclass(frozen=True)
class DepartureForecast:
    """The SoC a vehicle will leave with, following its plan (None: its SoC is unknown or stale),
    the SoC it would reach at full power from now, the kWh it will be short (0 when on track),
    whether it is at risk and why."""

    soc_at_departure: float | None
    soc_at_full_power: float | None
    short_kwh: float
    at_risk: bool
    cause: str


def plan_short_cause(missing_kwh: float) -> str:
    return f"plan delivers {missing_kwh:.1f} kWh less than needed"


def forecast_departure(
    *,
    soc: float | None,
    soc_at: datetime | None,
    now: datetime,
    departure: datetime,
    target_soc: float,
    battery: Battery,
    schedule: Schedule,
    meter_interval_s: float,
    observed: float | None = None,
) -> DepartureForecast:
    """The forecast at `departure` of a vehicle whose SoC `soc` was measured at `soc_at`, following
    `schedule` (the stored plan from now on), scaled by `observed` (the observed/planned power
    ratio, when it draws clearly less than its setpoint). At risk when it will leave below
    `target_soc` by more than the tolerance, or when its SoC is unknown or stale (core.rules.staleness)."""
    if soc is None or soc_at is None or is_stale(soc_at, at=now, meter_interval_s=meter_interval_s):
        return DepartureForecast(None, None, 0.0, True, CAUSE_STALE)
    kwh = battery.battery_kwh

    def walk(plan: Schedule, ratio: float = 1.0, walk_battery: Battery = battery) -> float:
        return advance_soc(soc, start=soc_at, end=departure, schedule=plan, battery=walk_battery, ratio=ratio)

    planned = walk(schedule, observed if observed is not None else 1.0)
    full = walk([(soc_at, battery.max_charge_kw)])
    if meets_target(planned, target_soc, kwh):
        return DepartureForecast(planned, full, 0.0, False, "")
    missing = short_kwh(planned, target_soc, kwh)
    if not meets_target(full, target_soc, kwh):
        cause = f"{CAUSE_NO_TIME} (reaches {full * 100:.0f} % by departure)"
    elif observed is not None and meets_target(walk(schedule), target_soc, kwh):
        cause = f"{CAUSE_DRAWS_LESS} (takes {observed * 100:.0f} % of it)"
    else:
        untapered = Battery(kwh, battery.max_charge_kw, battery.efficiency, NO_TAPER)
        tapering = meets_target(walk(schedule, walk_battery=untapered), target_soc, kwh)
        cause = plan_short_cause(missing) + (" (the battery takes less near full)" if tapering else "")
    return DepartureForecast(planned, full, missing, True, cause)
