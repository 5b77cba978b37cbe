"""Plan a scenario: the optimiser when it succeeds, the safe fallback when it does not.

`plan(scenario)` returns a `DispatchResult` with one power per vehicle per step, the SoC trajectories,
the site's net import, the cost and its parts, the status, a reason per vehicle and the shortfalls.
`to_schedule(result)` writes it as a `v2g-schedule/1` document.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .evaluate import PER_VEHICLE_RULES, SCHEDULE_FORMAT, CostBreakdown, Violation, evaluate
from .explain import Shortfall, explain, find_shortfalls
from .fallback import fallback_plan
from .optimiser import HighsSettings, SolverFailure, optimise
from .problem import Scenario, parse_scenario

DEFAULT_TIME_LIMIT_S = 10.0


@dataclass(frozen=True)
class DispatchResult:
    """A plan for one scenario. Arrays are in scenario order of vehicles (`vehicle_ids`)."""

    scenario_name: str
    vehicle_ids: list[str]
    status: str  # "optimal" or "fallback"
    status_reason: str  # why the fallback was used; "" when optimal
    power_kw: np.ndarray  # (V, N): > 0 charging, < 0 discharging
    soc: np.ndarray  # (V, N + 1) SoC at each boundary; NaN outside arrival..departure
    net_import_kw: np.ndarray  # (N,) > 0 importing, < 0 exporting
    objective: float  # cost of format section 8 as the optimiser computed it (the fallback: as evaluated)
    cost: CostBreakdown  # the same cost, evaluated from the powers, with its parts
    peak_import_kw: float
    solve_time_s: float  # model build + solve (and the fallback, when used)
    approximations: tuple[str, ...]  # what the large-fleet path of the optimiser gave up; () when exact
    reasons: dict[str, str]  # per vehicle id
    shortfalls: list[Shortfall]  # vehicles that will leave below their target
    violations: list[Violation]  # rules the plan cannot keep (section 7): forced by the scenario

    @property
    def feasible(self) -> bool:
        return not self.violations

    def power_by_vehicle(self) -> dict[str, np.ndarray]:
        return dict(zip(self.vehicle_ids, self.power_kw, strict=True))


def plan(
    scenario: Scenario | dict,
    *,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    settings: HighsSettings | None = None,
) -> DispatchResult:
    """Plan every vehicle of a scenario (a `v2g-scenario/1` dict or a parsed `Scenario`).

    Raises `ScenarioError` for a malformed scenario. Never fails otherwise: if HiGHS fails or runs past
    `time_limit_s` (model build included), the result is the safe fallback plan, with status "fallback".
    A scenario whose rules cannot all hold still gets its best plan (least kWh of violation, then least
    cost), with each missed target listed in `shortfalls`.
    """
    scenario = parse_scenario(scenario)
    started = time.perf_counter()
    status, status_reason = "optimal", ""
    try:
        output = optimise(scenario, deadline=started + time_limit_s, settings=settings or HighsSettings())
        solve_time_s = time.perf_counter() - started
        power_kw, objective, approximations = output.power_kw, output.objective, output.approximations
        evaluation = evaluate(scenario, power_kw)
        if not evaluation.admissible:  # a safety net: never hand out a plan that breaks V1 to V6 or V8
            broken = next(v for v in evaluation.violations if v.rule in PER_VEHICLE_RULES)
            raise SolverFailure(f"the optimised plan broke rule {broken.rule}: {broken.message}")
    except Exception as exc:  # whatever went wrong, the site gets the safe plan
        status = "fallback"
        status_reason = str(exc) if isinstance(exc, SolverFailure) else f"solver error: {exc!r}"
        power_kw = fallback_plan(scenario)
        solve_time_s = time.perf_counter() - started
        evaluation = evaluate(scenario, power_kw)
        objective = evaluation.cost.total
        approximations = ()

    shortfalls = find_shortfalls(scenario, evaluation.energy_kwh, evaluation.net_import_kw)
    reasons = explain(
        scenario,
        power_kw,
        evaluation.energy_kwh,
        evaluation.net_import_kw,
        shortfalls,
        fallback_reason=status_reason if status == "fallback" else None,
    )
    return DispatchResult(
        scenario_name=scenario.name,
        vehicle_ids=scenario.vehicle_ids,
        status=status,
        status_reason=status_reason,
        power_kw=power_kw,
        soc=evaluation.energy_kwh / scenario.fleet.capacity_kwh[:, None],
        net_import_kw=evaluation.net_import_kw,
        objective=objective,
        cost=evaluation.cost,
        peak_import_kw=evaluation.peak_import_kw,
        solve_time_s=solve_time_s,
        approximations=approximations,
        reasons=reasons,
        shortfalls=shortfalls,
        violations=list(evaluation.violations),
    )


def to_schedule(result: DispatchResult) -> dict:
    """The result as a `v2g-schedule/1` document (format section 5), with extra keys for people.

    `format`, `scenario` and `power_kw` are the format; the rest (status, cost, SoC, net import, reasons,
    shortfalls) is allowed by it and ignored by any reader of the format.
    """
    return {
        "format": SCHEDULE_FORMAT,
        "scenario": result.scenario_name,
        "power_kw": {
            vid: _numbers(row) for vid, row in zip(result.vehicle_ids, result.power_kw, strict=True)
        },
        "status": result.status,
        "status_reason": result.status_reason,
        "objective": result.objective,
        "cost": {
            "energy": result.cost.energy,
            "demand": result.cost.demand,
            "degradation": result.cost.degradation,
            "rewards": result.cost.rewards,
            "total": result.cost.total,
        },
        "peak_import_kw": result.peak_import_kw,
        "solve_time_s": result.solve_time_s,
        "approximations": list(result.approximations),
        "net_import_kw": _numbers(result.net_import_kw),
        "soc": {vid: _numbers(row) for vid, row in zip(result.vehicle_ids, result.soc, strict=True)},
        "reasons": result.reasons,
        "shortfalls": [
            {"vehicle": s.vehicle_id, "missing_kwh": s.missing_kwh, "cause": s.cause, "detail": s.detail}
            for s in result.shortfalls
        ],
    }


def _numbers(row: np.ndarray) -> list[float | None]:
    """Plain floats for JSON; NaN (no SoC outside a stay) becomes null."""
    return [None if math.isnan(x) else float(x) for x in row.tolist()]
