"""The planning margins: the measured SoC advanced to the moment the plan takes effect, a guard band above
each floor, the target met a buffer before departure (core/planning/margins.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.planning.margins import (
    EXPECTED_PROFILE_LATENCY,
    FLOOR_GUARD_BAND_SOC,
    advanced_soc,
    floor_guard_band,
    planned_departure,
)
from tests.conftest import T0


def test_a_charging_vehicle_is_planned_from_where_it_will_be_when_the_plan_takes_effect():
    # 100 kWh, 36 kW at the meter, efficiency 0.9: 32.4 kW into the battery; reading 50 s old + 10 s latency
    soc = advanced_soc(0.5, measured_at=T0 - timedelta(seconds=50), power_kw=36.0, at=T0, battery_kwh=100.0, efficiency=0.9)
    assert soc == pytest.approx(0.5 + 32.4 * (60 / 3600) / 100)


def test_a_discharging_vehicle_is_planned_lower_and_never_below_empty():
    soc = advanced_soc(0.5, measured_at=T0 - timedelta(seconds=50), power_kw=-18.0, at=T0, battery_kwh=100.0, efficiency=0.9)
    assert soc == pytest.approx(0.5 - 20.0 * (60 / 3600) / 100)  # 18 kW at the meter takes 20 kW from the battery
    assert advanced_soc(0.001, measured_at=T0 - timedelta(hours=1), power_kw=-50, at=T0, battery_kwh=10, efficiency=1) == 0.0


def test_the_guard_band_covers_what_the_plan_counts_twice():
    """Eight minutes into the step plus the latency, at most 50 kW (battery side 50/0.95) could leave a
    60 kWh battery that the plan believes is still its to schedule."""
    band = floor_guard_band(at=T0 + timedelta(minutes=8), step_start=T0, max_discharge_kw=50.0, battery_kwh=60.0, efficiency=0.95)
    hours = (timedelta(minutes=8) + EXPECTED_PROFILE_LATENCY).total_seconds() / 3600
    assert band == pytest.approx(FLOOR_GUARD_BAND_SOC + 50 / 0.95 * hours / 60)
    assert floor_guard_band(at=T0, step_start=T0, max_discharge_kw=0.0, battery_kwh=60.0, efficiency=0.95) == 0.0


def test_the_target_is_planned_for_a_buffer_before_departure():
    assert planned_departure(T0, timedelta(minutes=15)) == T0 - timedelta(minutes=15)
