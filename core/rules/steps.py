"""The 15-minute step: plans, prices, ledgers and reports all count in it."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

STEP_MINUTES = 15
STEP = timedelta(minutes=STEP_MINUTES)
HOURS_PER_STEP = STEP_MINUTES / 60
HORIZON_STEPS = 96  # a plan covers 24 h


def floor_step(t: datetime) -> datetime:
    """The start of the 15-minute step that contains `t` (steps start on the quarter hour)."""
    return t.replace(minute=t.minute - t.minute % STEP_MINUTES, second=0, microsecond=0)


def step_times(start: datetime, steps: int = HORIZON_STEPS) -> list[datetime]:
    """The start of each of `steps` steps from `start`."""
    return [start + STEP * k for k in range(steps)]


def step_index(start: datetime, at: datetime) -> int:
    """How many whole or part steps lie between `start` and `at` (rounded up; 0 at or before `start`)."""
    return max(0, math.ceil((at - start).total_seconds() / STEP.total_seconds()))
