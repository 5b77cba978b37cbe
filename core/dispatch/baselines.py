"""Plans to measure the optimiser against, and the comparison the CLI prints.

- Uncontrolled charging: every vehicle charges at full power from arrival until its target, whatever the
  site's limits (what happens without a console).
- Smart charging: every vehicle charges in its cheapest plugged steps (import price) until its target,
  within the site's import headroom, never discharging (a good charge-only scheduler).
Both keep a vehicle's charging taper near full (format section 13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .evaluate import evaluate
from .fallback import charge_early
from .problem import Scenario, parse_scenario
from .taper import taper_limit_kw

# What the cuts lose shrinks geometrically each round where a step at full power is well inside the taper.
MAX_TAPER_ROUNDS = 40


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
        if fleet.taper_start_soc[v] < 1.0:
            power[v] = _within_taper(scenario, v, power[v], steps, headroom_kw, needed_kwh)
        headroom_kw -= power[v]
    return power


def _within_taper(
    scenario: Scenario, v: int, kw: np.ndarray, by_price: np.ndarray, headroom_kw: np.ndarray, needed_kwh: float
) -> np.ndarray:
    """A tapered vehicle's cheapest-first powers cut to its taper in time order; what the cuts lose is
    taken again in the cheapest steps with room left, a few rounds (a baseline, not an optimum). If that
    does not settle, the vehicle charges as early as its taper and the headroom allow."""
    fleet, dt = scenario.fleet, scenario.dt_h
    eta, settled_kwh = fleet.efficiency[v], 1e-9 * max(1.0, fleet.capacity_kwh[v])
    for _ in range(MAX_TAPER_ROUNDS):
        kw, limit_kw = _cut_to_taper(scenario, v, kw)
        missing_kwh = needed_kwh - eta * dt * kw.sum()
        if missing_kwh <= settled_kwh:
            return kw
        room_kwh = eta * dt * np.maximum(np.minimum(limit_kw, headroom_kw) - kw, 0.0)[by_price]
        before_kwh = np.cumsum(room_kwh) - room_kwh
        kw[by_price] += np.clip(missing_kwh - before_kwh, 0.0, room_kwh) / (eta * dt)
    kw = np.zeros_like(kw)
    energy, target = fleet.energy_arrival_kwh[v], fleet.energy_arrival_kwh[v] + needed_kwh
    pc, cap, start = fleet.charge_limit_kw[v], fleet.capacity_kwh[v], fleet.taper_start_soc[v]
    for t in np.nonzero(fleet.plugged[v])[0]:
        limit = float(taper_limit_kw(pc, energy / cap, start))
        kw[t] = max(0.0, min(limit, headroom_kw[t], (target - energy) / (eta * dt)))
        energy += eta * dt * kw[t]
    return kw


def _cut_to_taper(scenario: Scenario, v: int, kw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The powers of vehicle v, each cut to the taper at the energy where its step starts, and that limit."""
    fleet, dt = scenario.fleet, scenario.dt_h
    pc, cap, eta = fleet.charge_limit_kw[v], fleet.capacity_kwh[v], fleet.efficiency[v]
    start = fleet.taper_start_soc[v]
    kw, limit_kw = kw.copy(), np.where(fleet.plugged[v], pc, 0.0)
    energy = fleet.energy_arrival_kwh[v] + np.concatenate([[0.0], np.cumsum(eta * dt * kw)])
    # Up to the first step that starts past the taper nothing changes; from there, step by step.
    past = np.nonzero(fleet.plugged[v] & (energy[:-1] > start * cap))[0]
    if len(past) == 0:
        return kw, limit_kw
    now_kwh = energy[past[0]]
    for t in range(past[0], int(fleet.departure_step[v])):
        limit_kw[t] = float(taper_limit_kw(pc, now_kwh / cap, start))
        kw[t] = min(kw[t], limit_kw[t])
        now_kwh += eta * dt * kw[t]
    return kw, limit_kw


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
