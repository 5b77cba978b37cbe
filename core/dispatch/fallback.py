"""The safe fallback plan: charge toward the target as early as the limits allow, never discharge.

Used when the optimiser fails or runs out of time. It needs no solver and cannot fail, and it keeps every
per-vehicle rule by construction: only charging, at most at the vehicle's limit, only while plugged in,
never past the target (so never past the capacity), and with no discharge the floor rule holds too.
"""

from __future__ import annotations

import numpy as np

from .problem import Scenario, parse_scenario


def fallback_plan(scenario: Scenario | dict) -> np.ndarray:
    """Powers (V, N): each vehicle charges from arrival until its target, within the site's import bound.

    Where the site's headroom is short, vehicles that leave first are served first.
    """
    return charge_early(parse_scenario(scenario), respect_site=True)


def charge_early(scenario: Scenario, *, respect_site: bool) -> np.ndarray:
    """Charge every vehicle toward its target from arrival, at its limit Pc, never discharging.

    With `respect_site` the vehicles share the site's import headroom (import bound minus base load plus
    PV) in order of departure; without it they ignore the site (uncontrolled charging).
    """
    fleet, site = scenario.fleet, scenario.site
    n, dt = scenario.horizon_steps, scenario.dt_h
    power = np.zeros((len(scenario.vehicles), n))
    energy = fleet.energy_arrival_kwh.copy()
    served_first = np.argsort(fleet.departure_step, kind="stable")
    for t in range(n):
        needed_kwh = np.maximum(fleet.energy_target_kwh - energy, 0.0)
        wanted_kw = np.where(
            fleet.plugged[:, t], np.minimum(fleet.charge_limit_kw, needed_kwh / (fleet.efficiency * dt)), 0.0
        )
        if respect_site:
            headroom_kw = max(0.0, site.import_bound_kw[t] - site.fixed_net_kw[t])
            wanted = wanted_kw[served_first]
            before = np.cumsum(wanted) - wanted
            wanted_kw[served_first] = np.clip(headroom_kw - before, 0.0, wanted)
        power[:, t] = wanted_kw
        energy += fleet.efficiency * dt * wanted_kw
    return power
