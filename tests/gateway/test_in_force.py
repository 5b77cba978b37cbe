"""The profile in force between two readings, and the site meter's estimate of a charger's power.

A station reads its power every meter interval but switches at the period start: the site meter
must not add a reading from before a switch as if it still held (the soak saw 2-minute-old readings
summed with fresh ones put the site 35-90 kW "over" its limit when it was not, and the guard then
held back buses that needed the energy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core import models
from core.charging_profiles import GUARD_PROFILE_ID, GUARD_STACK_LEVEL, build_charging_profile
from core.gateway.in_force import estimate_power_kw, limit_in_force_kw

T = datetime(2026, 12, 1, 2, 45, tzinfo=UTC)


def _command(action: str, schedule: list, answered_at: datetime, *, until: datetime | None = None):
    payload = {}
    if until is not None:
        payload = build_charging_profile(
            protocol="2.0.1", periods=[(answered_at, schedule[0][1])], max_charge_kw=100, max_discharge_kw=0,
            accepts_negative_limits=False, transaction_id="tx", end=until, profile_id=GUARD_PROFILE_ID,
            stack_level=GUARD_STACK_LEVEL,
        )  # fmt: skip
    return models.ChargingProfileCommand(
        charger_id="CP-1", action=action, payload=payload, status="Accepted", answered_at=answered_at,
        schedule=[[t.isoformat(), kw] for t, kw in schedule],
    )  # fmt: skip


def test_the_dispatch_schedule_rules_between_its_period_starts():
    plan = _command("set", [(T, 20.0), (T + timedelta(minutes=15), 0.0)], T - timedelta(minutes=3))
    assert limit_in_force_kw([plan], T + timedelta(minutes=14)) == 20.0
    assert limit_in_force_kw([plan], T + timedelta(minutes=15)) == 0.0
    assert limit_in_force_kw([plan], T - timedelta(minutes=4)) is None  # not yet accepted: the safe default


def test_a_guard_cap_rules_until_it_ends_even_when_a_new_plan_is_accepted():
    plan = _command("set", [(T, 100.0)], T - timedelta(minutes=3))
    cap = _command("guard", [(T, 60.0)], T + timedelta(minutes=1), until=T + timedelta(minutes=20))
    replan = _command("set", [(T, 90.0)], T + timedelta(minutes=2))
    commands = [plan, cap, replan]
    assert limit_in_force_kw(commands, T + timedelta(seconds=30)) == 100.0
    assert limit_in_force_kw(commands, T + timedelta(minutes=5)) == 60.0
    assert limit_in_force_kw(commands, T + timedelta(minutes=21)) == 90.0


def test_a_default_profile_returns_to_the_safe_default():
    plan = _command("set", [(T, 20.0)], T - timedelta(minutes=3))
    default = _command("default", [], T + timedelta(minutes=1))
    assert limit_in_force_kw([plan, default], T + timedelta(minutes=2)) is None


def test_a_reading_from_before_a_switch_is_moved_by_the_switch():
    # Lowered from 20 to 0 kW after the reading: it draws at most 0 now.
    assert estimate_power_kw(20.0, limit_then_kw=20.0, limit_now_kw=0.0) == 0.0
    # Raised 0 -> 100 kW: the reading plus the rise.
    assert estimate_power_kw(0.0, limit_then_kw=0.0, limit_now_kw=100.0) == 100.0
    # A tapering vehicle that took 40 of 60 kW takes no more than the rise on top: 40 + 20, below the new 80.
    assert estimate_power_kw(40.0, limit_then_kw=60.0, limit_now_kw=80.0) == 60.0
    # Discharge: from -20 kW to rest, and from rest to -20 kW.
    assert estimate_power_kw(-20.0, limit_then_kw=-20.0, limit_now_kw=0.0) == 0.0
    assert estimate_power_kw(0.0, limit_then_kw=0.0, limit_now_kw=-20.0) == -20.0
    # Nothing changed, or nothing known: the reading stands.
    assert estimate_power_kw(37.5, limit_then_kw=50.0, limit_now_kw=50.0) == 37.5
    assert estimate_power_kw(37.5, limit_then_kw=None, limit_now_kw=0.0) == 37.5
