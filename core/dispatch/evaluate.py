"""Check a schedule against every rule of the format and compute its cost (format sections 5 to 10).

`evaluate` is the referee: the optimiser, the baselines, the fallback, the tests and the CLI all judge a
plan with it, so "feasible" and "cost" mean one thing everywhere. Everything is computed from the powers
exactly as given, with the tolerances of section 9.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .problem import Scenario, parse_scenario
from .taper import taper_limits_kw

SCHEDULE_FORMAT = "v2g-schedule/1"
ZERO_POWER_TOL_KW = 1e-6  # V1, and what counts as a discharge (V3, V6)
# V8 is the engine's extension (format section 13): charge within the vehicle's taper.
PER_VEHICLE_RULES = ("V1", "V2", "V3", "V4", "V5", "V6", "V8")


@dataclass(frozen=True)
class CostBreakdown:
    """The cost of a schedule and its parts (format section 8), in the scenario's currency."""

    energy: float
    demand: float
    degradation: float
    rewards: float

    @property
    def total(self) -> float:
        return self.energy + self.demand + self.degradation - self.rewards


@dataclass(frozen=True)
class Violation:
    """One broken rule. `step` is a step index for V1-V4, V8, S1, S2 and a boundary index for V5-V7."""

    rule: str
    vehicle_id: str | None
    step: int
    amount: float  # by how much the bound is missed: kW for power rules, kWh for energy rules
    message: str


@dataclass(frozen=True)
class Evaluation:
    """Everything the format says about one schedule of one scenario."""

    malformed: tuple[str, ...]  # why the schedule document is malformed (section 5); empty if it is not
    violations: tuple[Violation, ...]
    cost: CostBreakdown
    peak_import_kw: float
    net_import_kw: np.ndarray  # (N,) site net import, > 0 importing
    energy_kwh: np.ndarray  # (V, N + 1) battery energy at each boundary; NaN outside arrival..departure
    violation_kwh: float  # section 10: total by which V7, S1 and S2 are missed

    @property
    def feasible(self) -> bool:
        return not self.malformed and not self.violations

    @property
    def admissible(self) -> bool:
        """Not malformed and keeps V1 to V6 and V8 (only V7, S1, S2 may be broken; section 10)."""
        return not self.malformed and not any(v.rule in PER_VEHICLE_RULES for v in self.violations)


def evaluate(scenario: Scenario | dict, schedule: dict | np.ndarray) -> Evaluation:
    """Judge a schedule: a `v2g-schedule/1` document, or a (vehicles x steps) array of kW, vehicles in
    scenario order."""
    scenario = parse_scenario(scenario)
    if isinstance(schedule, np.ndarray):
        power_kw, malformed = np.asarray(schedule, dtype=float), []
        if power_kw.shape != (len(scenario.vehicles), scenario.horizon_steps):
            raise ValueError(
                f"power array must have shape {(len(scenario.vehicles), scenario.horizon_steps)}"
            )
    else:
        power_kw, malformed = read_schedule(scenario, schedule)

    energy = battery_energy_kwh(scenario, power_kw)
    net = net_import_kw(scenario, power_kw)
    violations = _vehicle_violations(scenario, power_kw, energy) + _site_violations(scenario, net)
    return Evaluation(
        malformed=tuple(malformed),
        violations=tuple(violations),
        cost=schedule_cost(scenario, power_kw, net),
        peak_import_kw=float(max(net.max(initial=0.0), 0.0)),
        net_import_kw=net,
        energy_kwh=energy,
        violation_kwh=_violation_kwh(scenario, net, energy),
    )


def read_schedule(scenario: Scenario, doc: Any) -> tuple[np.ndarray, list[str]]:
    """The power array of a schedule document and the reasons it is malformed (section 5).

    A missing or malformed row counts as all zeros and an unknown key is ignored, so the cost stays defined.
    """
    n = scenario.horizon_steps
    power_kw = np.zeros((len(scenario.vehicles), n))
    if not isinstance(doc, dict):
        return power_kw, ["schedule: must be an object"]
    problems = []
    if doc.get("format") != SCHEDULE_FORMAT:
        problems.append(f'format: must be "{SCHEDULE_FORMAT}"')
    if doc.get("scenario") != scenario.name:
        problems.append(f'scenario: must be the scenario\'s name "{scenario.name}"')
    rows = doc.get("power_kw")
    if not isinstance(rows, dict):
        return power_kw, [*problems, "power_kw: must be an object with one row per vehicle"]
    for i, vehicle_id in enumerate(scenario.vehicle_ids):
        row = rows.get(vehicle_id)
        if row is None:
            problems.append(f"power_kw.{vehicle_id}: row is missing")
        elif not _is_number_list(row, n):
            problems.append(f"power_kw.{vehicle_id}: must be a list of {n} finite numbers")
        else:
            power_kw[i] = row
    known = set(scenario.vehicle_ids)
    problems += [f"power_kw.{key}: not a vehicle of the scenario" for key in rows if key not in known]
    return power_kw, problems


def _is_number_list(row: Any, n: int) -> bool:
    return (
        isinstance(row, list)
        and len(row) == n
        and all(isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) for x in row)
    )


def battery_energy_kwh(scenario: Scenario, power_kw: np.ndarray) -> np.ndarray:
    """Battery energy at every boundary (section 6), shape (V, N + 1); NaN outside arrival..departure."""
    fleet, dt = scenario.fleet, scenario.dt_h
    eta = fleet.efficiency[:, None]
    # Charging stores eta of the grid energy; discharging takes 1/eta of it from the battery.
    step_kwh = np.where(power_kw >= 0, dt * eta * power_kw, dt * power_kw / eta)
    step_kwh = np.where(fleet.plugged, step_kwh, 0.0)
    count = len(scenario.vehicles)
    energy = fleet.energy_arrival_kwh[:, None] + np.hstack(
        [np.zeros((count, 1)), np.cumsum(step_kwh, axis=1)]
    )
    return np.where(_stay_boundaries(scenario), energy, np.nan)


def _stay_boundaries(scenario: Scenario) -> np.ndarray:
    """bool (V, N + 1): the boundaries arrival..departure of each vehicle, both included."""
    fleet = scenario.fleet
    boundary = np.arange(scenario.horizon_steps + 1)
    return (boundary >= fleet.arrival_step[:, None]) & (boundary <= fleet.departure_step[:, None])


def net_import_kw(scenario: Scenario, power_kw: np.ndarray) -> np.ndarray:
    """Site net import per step: base load - PV + every vehicle's power (section 6)."""
    return scenario.site.fixed_net_kw + power_kw.sum(axis=0)


def schedule_cost(scenario: Scenario, power_kw: np.ndarray, net: np.ndarray | None = None) -> CostBreakdown:
    """The cost of section 8, from the powers exactly as given (nothing clipped)."""
    dt = scenario.dt_h
    if net is None:
        net = net_import_kw(scenario, power_kw)
    imp, exp = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    energy = float(np.sum(dt * (scenario.import_price * imp - scenario.export_price * exp)))
    demand = scenario.demand_charge_per_kw * float(imp.max(initial=0.0))
    discharged_kwh = dt * np.maximum(-power_kw, 0.0) / scenario.fleet.efficiency[:, None]
    degradation = scenario.degradation_cost_per_kwh * float(discharged_kwh.sum())
    rewards = sum(
        r.reward_per_kwh * dt * float(np.minimum(exp, r.kw)[r.active].sum())
        for r in scenario.site.export_requests
    )
    return CostBreakdown(energy=energy, demand=demand, degradation=degradation, rewards=float(rewards))


def _power_tol(bound: np.ndarray | float) -> np.ndarray:
    return 1e-6 * np.maximum(1.0, np.abs(bound))


def _vehicle_violations(scenario: Scenario, power_kw: np.ndarray, energy: np.ndarray) -> list[Violation]:
    fleet = scenario.fleet
    ids = scenario.vehicle_ids
    found: list[Violation] = []

    def report(rule: str, mask: np.ndarray, amount: np.ndarray, describe) -> None:
        for v, t in zip(*np.nonzero(mask), strict=True):
            found.append(Violation(rule, ids[v], int(t), float(amount[v, t]), describe(v, t)))

    p = power_kw
    pc = fleet.charge_limit_kw[:, None]
    pd = fleet.discharge_limit_kw[:, None]
    discharging = -p > ZERO_POWER_TOL_KW

    report(
        "V1",
        ~fleet.plugged & (np.abs(p) > ZERO_POWER_TOL_KW),
        np.abs(p),
        lambda v, t: f"{ids[v]}: {p[v, t]:g} kW in step {t} while not plugged in",
    )
    report(
        "V2",
        p - pc > _power_tol(pc),
        p - pc,
        lambda v, t: f"{ids[v]}: charges {p[v, t]:g} kW in step {t}, above its limit {pc[v, 0]:g} kW",
    )
    report(
        "V3",
        discharging & ~fleet.discharge_allowed,
        -p,
        lambda v, t: f"{ids[v]}: discharges {-p[v, t]:g} kW in step {t}, where discharge is not allowed",
    )
    report(
        "V4",
        -p - pd > _power_tol(pd),
        -p - pd,
        lambda v, t: f"{ids[v]}: discharges {-p[v, t]:g} kW in step {t}, above its limit {pd[v, 0]:g} kW",
    )

    # V8 (extension, section 13): within the taper at the energy where the step starts.
    taper_kw, lenient_kw, tapered = taper_limits_kw(fleet, energy)
    report(
        "V8",
        tapered & (p - lenient_kw > _power_tol(lenient_kw)),
        p - taper_kw,
        lambda v, t: (
            f"{ids[v]}: charges {p[v, t]:g} kW in step {t}, above its taper limit {taper_kw[v, t]:.6g} kW "
            f"at {energy[v, t] / fleet.capacity_kwh[v]:.1%}"
        ),
    )

    stay = _stay_boundaries(scenario)
    cap = fleet.capacity_kwh[:, None]
    tol_e = fleet.energy_tol_kwh[:, None]
    e = np.where(stay, energy, 0.0)
    report(
        "V5",
        stay & (e - cap > tol_e),
        e - cap,
        lambda v, b: f"{ids[v]}: {e[v, b]:.6g} kWh at boundary {b}, above its capacity {cap[v, 0]:g} kWh",
    )

    # V6 (R2): the floor holds from the first boundary b* at which it is reached; a vehicle that arrives
    # at or above its floor has b* = arrival. No discharge in a step that starts before b*.
    floor = fleet.energy_floor_kwh[:, None]
    reached = stay & (e >= floor - tol_e)
    first_reached = np.where(reached.any(axis=1), reached.argmax(axis=1), fleet.departure_step + 1)
    b_star = np.where(fleet.arrives_below_floor, first_reached, fleet.arrival_step)[:, None]
    step = np.arange(scenario.horizon_steps)
    boundary = np.arange(scenario.horizon_steps + 1)
    report(
        "V6",
        fleet.plugged & (step < b_star) & discharging,
        -p,
        lambda v, t: f"{ids[v]}: discharges {-p[v, t]:g} kW in step {t} before reaching its floor",
    )
    report(
        "V6",
        stay & (boundary >= b_star) & (floor - e > tol_e),
        floor - e,
        lambda v, b: f"{ids[v]}: {e[v, b]:.6g} kWh at boundary {b}, below its floor {floor[v, 0]:.6g} kWh",
    )

    departure_kwh = energy[np.arange(len(ids)), fleet.departure_step]
    missing = fleet.energy_required_kwh - departure_kwh
    for v in np.nonzero(missing > fleet.energy_tol_kwh)[0]:
        d = int(fleet.departure_step[v])
        found.append(
            Violation(
                "V7",
                ids[v],
                d,
                float(missing[v]),
                f"{ids[v]}: leaves with {departure_kwh[v]:.6g} kWh at boundary {d}, "
                f"{missing[v]:.6g} kWh short of the {fleet.energy_required_kwh[v]:.6g} kWh required",
            )
        )
    return found


def _site_violations(scenario: Scenario, net: np.ndarray) -> list[Violation]:
    site = scenario.site
    found = []
    over_import = net - site.import_bound_kw
    for t in np.nonzero(over_import > _power_tol(site.import_bound_kw))[0]:
        found.append(
            Violation(
                "S1",
                None,
                int(t),
                float(over_import[t]),
                f"site imports {net[t]:g} kW in step {t}, above its bound {site.import_bound_kw[t]:g} kW",
            )
        )
    over_export = -net - site.export_limit_kw
    for t in np.nonzero(over_export > _power_tol(site.export_limit_kw))[0]:
        found.append(
            Violation(
                "S2",
                None,
                int(t),
                float(over_export[t]),
                f"site exports {-net[t]:g} kW in step {t}, above its limit {site.export_limit_kw:g} kW",
            )
        )
    return found


def _violation_kwh(scenario: Scenario, net: np.ndarray, energy: np.ndarray) -> float:
    """Section 10: the kWh by which V7, S1 and S2 are missed, each term counted beyond its tolerance."""
    site, fleet, dt = scenario.site, scenario.fleet, scenario.dt_h
    over_import = net - site.import_bound_kw
    over_export = -net - site.export_limit_kw
    site_kw = np.where(over_import > _power_tol(site.import_bound_kw), over_import, 0.0) + np.where(
        over_export > _power_tol(site.export_limit_kw), over_export, 0.0
    )
    missing = fleet.energy_required_kwh - energy[np.arange(len(scenario.vehicles)), fleet.departure_step]
    return float(dt * site_kw.sum() + np.where(missing > fleet.energy_tol_kwh, missing, 0.0).sum())
