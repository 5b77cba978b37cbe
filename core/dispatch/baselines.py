"""Plans to measure the optimiser against, and the comparison the CLI prints.

- Uncontrolled charging: every vehicle charges at full power from arrival until its target, whatever the
  site's limits (what happens without a console).
- Smart charging: every vehicle charges in its cheapest plugged steps (import price) until its target,
  within the site's import headroom, never discharging (a good charge-only scheduler).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evaluate import evaluate
from .fallback import charge_early
from .problem import Scenario, parse_scenario


def uncontrolled_plan(scenario: Scenario | dict) -> np.ndarray:
    """Powers (V, N): full power from arrival until the target, ignoring the site's limits."""
    return charge_early(parse_scenario(scenario), respect_site=False)


def smart_charging_plan(scenario: Scenario | dict) -> np.ndarray:
    """Powers (V, N): cheapest plugged steps first until the target, within the site's import headroom.

    Vehicles are served in order of departure; each takes the cheapest steps still having headroom.
    """
    scenario = parse_scenario(scenario)
    fleet, site = scenario.fleet, scenario.site
    dt = scenario.dt_h
    power = np.zeros((len(scenario.vehicles), scenario.horizon_steps))
    headroom_kw = np.maximum(site.import_bound_kw - site.fixed_net_kw, 0.0)
    for v in np.argsort(fleet.departure_step, kind="stable"):
        steps = np.nonzero(fleet.plugged[v])[0]
        steps = steps[np.argsort(scenario.import_price[steps], kind="stable")]
        needed_kwh = max(fleet.energy_target_kwh[v] - fleet.energy_arrival_kwh[v], 0.0)
        if needed_kwh <= 0 or len(steps) == 0:
            continue
        kw = np.minimum(fleet.charge_limit_kw[v], headroom_kw[steps])
        stored_kwh = fleet.efficiency[v] * dt * kw
        before_kwh = np.cumsum(stored_kwh) - stored_kwh
        take_kwh = np.clip(needed_kwh - before_kwh, 0.0, stored_kwh)
        kw = take_kwh / (fleet.efficiency[v] * dt)
        power[v, steps] = kw
        headroom_kw[steps] -= kw
    return power


@dataclass(frozen=True)
class PlanSummary:
    """One line of a comparison between plans of the same scenario."""

    name: str
    cost: float
    peak_import_kw: float
    discharged_kwh: float  # grid side
    targets_met: int
    vehicles: int
    feasible: bool
    violations: int


def summarise(scenario: Scenario | dict, name: str, power_kw: np.ndarray) -> PlanSummary:
    """Cost, peak import, energy discharged and targets met of one plan."""
    scenario = parse_scenario(scenario)
    fleet = scenario.fleet
    evaluation = evaluate(scenario, power_kw)
    departure_kwh = evaluation.energy_kwh[np.arange(len(scenario.vehicles)), fleet.departure_step]
    met = departure_kwh >= fleet.energy_target_kwh - fleet.energy_tol_kwh
    return PlanSummary(
        name=name,
        cost=evaluation.cost.total,
        peak_import_kw=evaluation.peak_import_kw,
        discharged_kwh=float(scenario.dt_h * np.maximum(-power_kw, 0.0).sum()),
        targets_met=int(met.sum()),
        vehicles=len(scenario.vehicles),
        feasible=evaluation.feasible,
        violations=len(evaluation.violations),
    )
