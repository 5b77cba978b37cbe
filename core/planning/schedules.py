"""Setpoint schedules as stored on a charging-profile command: [[start ISO, kW], ...], one period per
run of equal power; reading one at an instant, and whether a new plan differs enough to be sent.

Pure functions (core.telemetry reads schedules with `schedule_power_at` too).
"""

from __future__ import annotations

from datetime import datetime

from core.rules.steps import STEP, step_times

# A plan differing from the last one sent by less than this is not sent again.
CHANGE_THRESHOLD_KW = 0.1


def compress(start: datetime, powers_kw: list[float]) -> list[list]:
    """[[start ISO, kW], ...] with one period per run of equal power (kW rounded to 0.01)."""
    periods: list[list] = []
    for k, power_kw in enumerate(powers_kw):
        power_kw = round(float(power_kw), 2)
        if not periods or periods[-1][1] != power_kw:
            periods.append([(start + STEP * k).isoformat(), power_kw])
    return periods


def schedule_power_at(schedule: list[list] | None, at: datetime) -> float | None:
    """The power a stored setpoint schedule ([[start ISO, kW], ...]) gives at `at` (None before it starts)."""
    value = None
    for start_iso, power_kw in schedule or []:
        if datetime.fromisoformat(start_iso) <= at:
            value = power_kw
        else:
            break
    return value


def plan_changed(previous: list[list], new: list[list], start: datetime) -> bool:
    """Whether two schedules differ by more than CHANGE_THRESHOLD_KW at any step of the horizon from `start`."""
    if not previous:
        return True
    for t in step_times(start):
        old, fresh = schedule_power_at(previous, t), schedule_power_at(new, t)
        if old is None or fresh is None or abs(old - fresh) > CHANGE_THRESHOLD_KW:
            return True
    return False
