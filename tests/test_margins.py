"""The planning margins: the measured SoC advanced to the moment the plan takes effect, a guard band above
each floor, the target met a buffer before departure (core/planning/margins.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.planning.margins import (
    EXPECTED_PROFILE_LATENCY,
    FLOOR_GUARD_BAND_SOC,
    floor_guard_band,
    planned_departure,
    soc_at_step_start,
)
from tests.conftest import T0


def test_a_charging_vehicle_is_planned_from_its_soc_at_the_start_of_the_step():
    """Measured 7 minutes into the step at 36 kW (32.4 kW into a 100 kWh battery, efficiency 0.9): the
    plan, which counts the whole step, starts from what the SoC was when the step began."""
    soc = soc_at_step_start(0.5, measured_at=T0 + timedelta(minutes=7), power_kw=36.0, step_start=T0, battery_kwh=100.0, efficiency=0.9)
    assert soc == pytest.approx(0.5 - 32.4 * (7 / 60) / 100)


def test_a_reading_from_before_the_step_is_carried_forward_and_kept_within_the_battery():
    soc = soc_at_step_start(0.5, measured_at=T0 - timedelta(seconds=20), power_kw=-18.0, step_start=T0, battery_kwh=100.0, efficiency=0.9)
    assert soc == pytest.approx(0.5 - 20.0 * (20 / 3600) / 100)  # 18 kW at the meter takes 20 kW from the battery
    assert soc_at_step_start(0.001, measured_at=T0 - timedelta(hours=1), power_kw=-50, step_start=T0, battery_kwh=10, efficiency=1) == 0.0


def test_the_guard_band_covers_what_the_plan_counts_twice():
    """Eight minutes into the step plus the latency, at most 50 kW (battery side 50/0.95) could leave a
    60 kWh battery that the plan believes is still its to schedule."""
    band = floor_guard_band(at=T0 + timedelta(minutes=8), step_start=T0, max_discharge_kw=50.0, battery_kwh=60.0, efficiency=0.95)
    hours = (timedelta(minutes=8) + EXPECTED_PROFILE_LATENCY).total_seconds() / 3600
    assert band == pytest.approx(FLOOR_GUARD_BAND_SOC + 50 / 0.95 * hours / 60)
    assert floor_guard_band(at=T0, step_start=T0, max_discharge_kw=0.0, battery_kwh=60.0, efficiency=0.95) == 0.0


def test_the_target_is_planned_for_a_buffer_before_departure():
    assert planned_departure(T0, timedelta(minutes=15)) == T0 - timedelta(minutes=15)
