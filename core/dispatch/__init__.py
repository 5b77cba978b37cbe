"""Dispatch: plan when each vehicle charges and discharges (pure computation: no database, no I/O).

The input is a `v2g-scenario/1` document and the output a `v2g-schedule/1` document, both defined in
`scenario-format.md` next to this package. Typical use:

    from core.dispatch import plan, to_schedule, evaluate

    result = plan(scenario_dict, time_limit_s=10)     # DispatchResult
    schedule = to_schedule(result)                     # v2g-schedule/1 dict
    assert evaluate(scenario_dict, schedule).feasible  # the format's referee

Two extensions of the format (its section 13), used by live dispatch:
- `tariff.demand_peak_floor_kw`, the billing period's peak import so far, for a monthly demand charge.
  The optimiser then charges `demand_charge_per_kw` only on a peak above it (its objective includes the
  charge on the floor); `evaluate`, the format's referee, ignores the field like any unknown key.
- `vehicles[i].taper_start_soc`, where the vehicle's charging taper starts (absent or 1: none). Every
  plan keeps the taper (rule V8 of `evaluate`) and the reach of a target follows it (`taper.py`).
"""

from .baselines import PlanSummary, smart_charging_plan, summarise, uncontrolled_plan
from .engine import DEFAULT_TIME_LIMIT_S, DispatchResult, plan, to_schedule
from .evaluate import CostBreakdown, Evaluation, Violation, evaluate
from .explain import Shortfall
from .fallback import fallback_plan
from .generate import generate_fleet_scenario
from .optimiser import HighsSettings
from .problem import Scenario, ScenarioError, parse_scenario

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "CostBreakdown",
    "DispatchResult",
    "Evaluation",
    "HighsSettings",
    "PlanSummary",
    "Scenario",
    "ScenarioError",
    "Shortfall",
    "Violation",
    "evaluate",
    "fallback_plan",
    "generate_fleet_scenario",
    "parse_scenario",
    "plan",
    "smart_charging_plan",
    "summarise",
    "to_schedule",
    "uncontrolled_plan",
]
