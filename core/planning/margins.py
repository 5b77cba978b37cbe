"""The margins that turn a plan into a promise the live loop can keep.

A plan counts in 15-minute steps from the start of the current step; the world does not wait for it.
So each cycle:
- starts from the latest measured SoC carried to the start of the current step at the power the
  charger measured with it: the plan counts the whole current step as its own, so it must start from
  the SoC of the step's start, not from one taken part-way through it (counting the part already
  over twice left vehicles short by up to a step's energy, run after run);
- keeps a guard band above every SoC floor: a small fixed part, plus what a full-power discharge could
  take in the part of the current step that is already over or lost to latency (the plan counts that
  time as its own);
- aims to reach the target `departure_buffer` before the departure (default 15 minutes; setting
  V2G_DEPARTURE_BUFFER_MIN), so a late reading, a slow ramp or a taper does not leave a vehicle short.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# From the dispatch run to the charger following its new profile: the outbox, the charger's own
# controller, the vehicle's response (real stations: 1-10 s).
EXPECTED_PROFILE_LATENCY = timedelta(seconds=10)
# The fixed part of the guard band above each floor (SoC fraction).
FLOOR_GUARD_BAND_SOC = 0.005


def soc_at_step_start(
    soc: float, *, measured_at: datetime, power_kw: float | None, step_start: datetime, battery_kwh: float, efficiency: float
) -> float:
    """The SoC measured at `measured_at` carried to `step_start` (back, or forward for a reading from
    before it) at the measured power (battery side: charging stores power x efficiency, discharging
    takes power / efficiency)."""
    if not power_kw or battery_kwh <= 0:
        return soc
    hours = (step_start - measured_at).total_seconds() / 3600.0
    battery_kw = power_kw * efficiency if power_kw > 0 else power_kw / efficiency
    return min(1.0, max(0.0, soc + battery_kw * hours / battery_kwh))


def floor_guard_band(*, at: datetime, step_start: datetime, max_discharge_kw: float, battery_kwh: float, efficiency: float) -> float:
    """The SoC kept free above a floor in this cycle's plan (see the module docstring)."""
    if max_discharge_kw <= 0 or battery_kwh <= 0:
        return 0.0
    counted_twice_h = ((at - step_start) + EXPECTED_PROFILE_LATENCY).total_seconds() / 3600.0
    return FLOOR_GUARD_BAND_SOC + max_discharge_kw / efficiency * counted_twice_h / battery_kwh


def planned_departure(departure: datetime, buffer: timedelta) -> datetime:
    """When the plan must have the vehicle at its target: `buffer` before it leaves."""
    return departure - buffer
