"""The safe fallback plan: charge toward the target as early as the limits allow, never discharge,
and soak up whatever the site would otherwise export above its export limit.

Used when the optimiser fails or runs out of time. It needs no solver and cannot fail, and it keeps
every rule that a charge-only plan can keep:
- per vehicle, by construction: only charging, at most at the vehicle's limit (its taper near full:
  the curve at the SoC where the step starts), only while plugged in, never past its capacity; with no
  discharge the floor and window rules hold too;
- the import bound: vehicles share the headroom (import bound minus base load plus PV), those that
  leave first served first;
- the export limit: where PV above the building's load would push more than the export limit onto
  the grid (negative prices, full batteries: the case where naive charging fails), vehicles with
  room take the surplus, beyond their target if need be, up to their capacity (and their taper).
  Whenever any charge-only plan keeps the export limit, this one does, step by step (with a taper,
  up to this: charging toward a target early lowers what a battery can take in a later surplus).
"""

from __future__ import annotations

import numpy as np

from .problem import Scenario, parse_scenario
from .taper import taper_limit_kw


def fallback_plan(scenario: Scenario | dict) -> np.ndarray:
    """Powers (V, N) of the safe plan described above."""
    return charge_early(parse_scenario(scenario), respect_site=True)


def charge_early(scenario: Scenario, *, respect_site: bool) -> np.ndarray:
    """Charge every vehicle toward its target from arrival, at its limit Pc (or its taper), never discharging.

    With `respect_site` the vehicles share the site's import headroom in order of departure and take
    the surplus above the export limit; without it they ignore the site (uncontrolled charging).
    """
    fleet, site = scenario.fleet, scenario.site
    n, dt = scenario.horizon_steps, scenario.dt_h
    power = np.zeros((len(scenario.vehicles), n))
    energy = fleet.energy_arrival_kwh.copy()
    served_first = np.argsort(fleet.departure_step, kind="stable")
    for t in range(n):
        plugged = fleet.plugged[:, t]
        # The most each vehicle takes in this step: Pc, or its taper at the SoC where the step starts.
        limit_kw = taper_limit_kw(fleet.charge_limit_kw, energy / fleet.capacity_kwh, fleet.taper_start_soc)
        needed_kwh = np.maximum(fleet.energy_target_kwh - energy, 0.0)
        wanted_kw = np.where(plugged, np.minimum(limit_kw, needed_kwh / (fleet.efficiency * dt)), 0.0)
        if respect_site:
            headroom_kw = max(0.0, site.import_bound_kw[t] - site.fixed_net_kw[t])
            wanted = wanted_kw[served_first]
            before = np.cumsum(wanted) - wanted
            wanted_kw[served_first] = np.clip(headroom_kw - before, 0.0, wanted)
            surplus_kw = -(site.fixed_net_kw[t] + wanted_kw.sum()) - site.export_limit_kw
            if surplus_kw > 0:
                wanted_kw += _absorb(surplus_kw, wanted_kw, limit_kw, energy, plugged, fleet, dt)
        power[:, t] = wanted_kw
        energy += fleet.efficiency * dt * wanted_kw
    return power


def _absorb(
    surplus_kw: float,
    planned_kw: np.ndarray,
    limit_kw: np.ndarray,
    energy_kwh: np.ndarray,
    plugged: np.ndarray,
    fleet,
    dt: float,
) -> np.ndarray:
    """Extra charging power per vehicle that takes `surplus_kw`, as far as the vehicles have room (below
    `limit_kw`, their limit in this step, and their capacity): spread in proportion to each one's room (so
    no one battery fills first and leaves later steps short)."""
    room_kwh = np.maximum(fleet.capacity_kwh - energy_kwh - fleet.efficiency * dt * planned_kw, 0.0)
    room_kw = np.where(plugged, np.minimum(limit_kw - planned_kw, room_kwh / (fleet.efficiency * dt)), 0.0)
    room_kw = np.maximum(room_kw, 0.0)
    total = room_kw.sum()
    if total <= 0:
        return np.zeros_like(planned_kw)
    return room_kw * min(1.0, surplus_kw / total)
