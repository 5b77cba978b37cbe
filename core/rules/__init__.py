"""The shared rules of the domain, each in one place: pure functions, no database, no I/O.

- `discharge`: may this vehicle discharge on this charger now, and if not, why not; the effective
  SoC floor.
- `staleness`: when a measured value is too old to trust (the planner's safety rule, used by pages too).
- `steps`: the 15-minute step and quarter-hour arithmetic of plans, prices and reports.
- `local_time`: the site's clock (time zones, HH:MM on a local day, local date ranges).

Everything in `core` may import this package; it imports only the standard library and
`core.clock`.
"""

from core.rules.discharge import (
    charger_can_discharge,
    charger_discharge_note,
    discharge_blocked_reason,
    effective_soc_floor,
    may_discharge,
)
from core.rules.local_time import local_datetime, local_range, next_local_time, site_zone, to_local
from core.rules.staleness import STALE_METER_INTERVALS, is_stale, stale_after
from core.rules.steps import HORIZON_STEPS, HOURS_PER_STEP, STEP, STEP_MINUTES, floor_step, step_index, step_times

__all__ = [
    "HORIZON_STEPS",
    "HOURS_PER_STEP",
    "STALE_METER_INTERVALS",
    "STEP",
    "STEP_MINUTES",
    "charger_can_discharge",
    "charger_discharge_note",
    "discharge_blocked_reason",
    "effective_soc_floor",
    "floor_step",
    "is_stale",
    "local_datetime",
    "local_range",
    "may_discharge",
    "next_local_time",
    "site_zone",
    "stale_after",
    "step_index",
    "step_times",
    "to_local",
]
