"""The departure forecast (core.rules.departure_forecast): the measured SoC followed along the plan,
capped by the taper and by what the vehicle really draws, and why a vehicle is at risk."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.rules.departure_forecast import (
    CAUSE_DRAWS_LESS,
    CAUSE_NO_TIME,
    CAUSE_STALE,
    Battery,
    advance_soc,
    expected_charge_kw,
    forecast_departure,
    meets_target,
    observed_ratio,
    tolerance_kwh,
)
from core.rules.taper import charge_limit_kw
from tests.conftest import T0

VAN = Battery(battery_kwh=75.0, max_charge_kw=20.0)  # efficiency 1, no taper: easy arithmetic
METER_S = 10.0


def forecast(*, soc=0.5, soc_age=timedelta(seconds=5), departure=T0 + timedelta(hours=4), target=0.9,
             battery=VAN, schedule=None, observed=None):
    return forecast_departure(
        soc=soc, soc_at=T0 - soc_age, now=T0, departure=departure, target_soc=target, battery=battery,
        schedule=[(T0, 10.0)] if schedule is None else schedule, meter_interval_s=METER_S, observed=observed,
    )


def test_a_plan_that_reaches_the_target_is_on_track():
    f = forecast(schedule=[(T0, 10.0)])  # 40 kWh in 4 h; 30 kWh needed
    assert not f.at_risk and f.short_kwh == 0.0 and f.cause == ""
    assert f.soc_at_departure == pytest.approx(1.0)  # a battery is never fuller than full


def test_a_plan_that_delivers_too_little_is_at_risk_with_its_kwh():
    f = forecast(schedule=[(T0, 5.0)])  # 20 kWh of the 30 kWh needed, though full power would do
    assert f.at_risk
    assert f.short_kwh == pytest.approx(10.0, abs=0.1)
    assert f.cause == "plan delivers 10.0 kWh less than needed"
    assert meets_target(f.soc_at_full_power, 0.9, 75.0)


def test_the_soc_is_followed_from_when_it_was_measured_not_from_the_plans_start():
    """A plan whose first step started before the SoC was measured delivers only what is left of it."""
    schedule = [(T0 - timedelta(minutes=10), 20.0), (T0 + timedelta(minutes=5), 0.0)]
    f = forecast(soc=0.8, target=0.9, soc_age=timedelta(seconds=0), schedule=schedule)
    # The plan counted 15 min x 20 kWh = 5 kWh; from now only 5 min are left: 1.67 kWh.
    assert f.soc_at_departure == pytest.approx(0.8 + 20 * (5 / 60) / 75)
    assert f.at_risk and f.short_kwh == pytest.approx(7.5 - 20 * 5 / 60, abs=0.01)


def test_the_taper_near_full_makes_a_plan_short():
    """A bus planned at 100 kW from 85 % to 95 %: the battery takes less and less above 85 %."""
    bus = Battery(battery_kwh=350.0, max_charge_kw=100.0, taper_start_soc=0.85)
    schedule = [(T0, 100.0), (T0 + timedelta(minutes=21), 0.0)]  # 35 kWh: exactly 85 -> 95 % without the taper
    f = forecast(soc=0.85, soc_age=timedelta(0), target=0.95, battery=bus, schedule=schedule,
                 departure=T0 + timedelta(hours=3))
    assert f.at_risk and f.short_kwh > 5.0
    assert f.cause.startswith("plan delivers") and "takes less near full" in f.cause
    assert meets_target(f.soc_at_full_power, 0.95, 350.0)  # time enough: the plan is what is short


def test_the_taper_walk_agrees_with_a_fine_integration():
    bus = Battery(battery_kwh=350.0, max_charge_kw=100.0, efficiency=0.95, taper_start_soc=0.85)
    walked = advance_soc(0.8, start=T0, end=T0 + timedelta(hours=2), schedule=[(T0, 100.0)], battery=bus)
    soc = 0.8
    for _ in range(7200):  # one-second Euler steps
        soc = min(1.0, soc + charge_limit_kw(100.0, soc, 0.85) * 0.95 / 3600 / 350.0)
    assert walked == pytest.approx(soc, abs=1e-3)


def test_a_vehicle_that_draws_less_than_its_setpoint_is_at_risk():
    schedule = [(T0, 7.5)]  # 30 kWh in 4 h: exactly what is needed
    assert not forecast(schedule=schedule).at_risk
    f = forecast(schedule=schedule, observed=0.6)
    assert f.at_risk and f.short_kwh == pytest.approx(12.0, abs=0.1)
    assert f.cause.startswith(CAUSE_DRAWS_LESS) and "60 %" in f.cause


def test_not_enough_time_at_full_power_is_told_apart_from_a_short_plan():
    f = forecast(soc=0.3, departure=T0 + timedelta(hours=1), schedule=[(T0, 20.0)])  # 20 of 45 kWh
    assert f.at_risk and f.cause.startswith(CAUSE_NO_TIME)
    assert f.soc_at_full_power == pytest.approx(0.3 + 20 / 75, abs=1e-3)
    assert "57 %" in f.cause


@pytest.mark.parametrize("soc, age", [(None, timedelta(seconds=5)), (0.5, timedelta(seconds=3 * METER_S))])
def test_an_unknown_or_stale_soc_is_at_risk_as_unknown(soc, age):
    f = forecast(soc=soc, soc_age=age)
    assert f.at_risk and f.cause == CAUSE_STALE
    assert f.soc_at_departure is None and f.short_kwh == 0.0


def test_the_tolerance_is_half_a_percent_or_half_a_kwh_whichever_is_larger():
    assert tolerance_kwh(350.0) == pytest.approx(1.75)
    assert tolerance_kwh(60.0) == pytest.approx(0.5)
    assert meets_target(0.95 - 1.7 / 350, 0.95, 350.0) and not meets_target(0.95 - 1.8 / 350, 0.95, 350.0)
    # 0.4 kWh short of the target: on track, not at risk.
    f = forecast(schedule=[(T0, 7.5 - 0.1)])
    assert not f.at_risk and f.short_kwh == 0.0


def test_efficiency_counts_as_the_planner_counts_it():
    battery = Battery(battery_kwh=100.0, max_charge_kw=50.0, efficiency=0.9)
    hour = {"start": T0, "end": T0 + timedelta(hours=1), "battery": battery}
    assert advance_soc(0.5, schedule=[(T0, 10.0)], **hour) == pytest.approx(0.5 + 0.09)
    assert advance_soc(0.5, schedule=[(T0, -9.0)], **hour) == pytest.approx(0.5 - 0.1)
    assert advance_soc(0.5, schedule=[(T0 + timedelta(minutes=30), 10.0)], **hour) == pytest.approx(0.545)


def test_draws_clearly_less_needs_every_sample_clearly_below():
    assert observed_ratio([(6.0, 10.0)] * 3) == pytest.approx(0.6)
    assert observed_ratio([(6.0, 10.0), (9.5, 10.0), (6.0, 10.0)]) is None  # one sample followed the setpoint
    assert observed_ratio([(6.0, 10.0)] * 2) is None  # too few samples
    assert observed_ratio([(19.5, 20.0)] * 3) is None  # within 10 %
    # What a vehicle should draw: the setpoint, capped by its taper; nothing when not charging.
    bus = Battery(battery_kwh=350.0, max_charge_kw=100.0, taper_start_soc=0.85)
    assert expected_charge_kw(100.0, 0.95, bus) == pytest.approx(charge_limit_kw(100.0, 0.95, 0.85))
    assert expected_charge_kw(30.0, 0.5, bus) == 30.0
    assert expected_charge_kw(0.0, 0.5, bus) is None and expected_charge_kw(None, 0.5, bus) is None
