"""Properties on random small scenarios (hypothesis), judged by `evaluate`, the format's referee.

- The plan keeps every per-vehicle rule (V1 to V6, and V8 for a charging taper), always.
- Its reported objective is its cost as the format computes it.
- Whenever a baseline (smart charging, uncontrolled, fallback) keeps every rule, so does the plan, and
  it costs no more.
- It never misses the rules by more kWh than the fallback does (format section 10 ranking).

The exact model (binaries) must hold all of them. The large-fleet path is run on the same scenarios: it
must keep the rules and report its cost; the baseline comparisons must hold unless it had to fix a
charge/discharge or import/export direction (which may cut off a baseline's plan), as it then reports.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.dispatch import (
    HighsSettings,
    evaluate,
    fallback_plan,
    parse_scenario,
    plan,
    smart_charging_plan,
    uncontrolled_plan,
)
from core.dispatch.optimiser import FLOOR_BY_TWO_SOLVES

MODELS = {"exact": HighsSettings(), "large-fleet": HighsSettings(exact_max_slots=0)}


def rounded(low: float, high: float, places: int = 2):
    return st.floats(low, high, allow_nan=False).map(lambda x: round(x, places))


@st.composite
def small_scenarios(draw) -> dict:
    n = draw(st.integers(2, 8))
    series = lambda low, high: draw(st.lists(rounded(low, high), min_size=n, max_size=n))  # noqa: E731
    import_price = series(-0.2, 0.6)
    if draw(st.booleans()):
        export_price = [round(p - draw(rounded(0.0, 0.1)), 3) for p in import_price]
    else:
        export_price = series(-0.1, 0.6)  # may pay more than import costs: needs the site binaries

    chargers, vehicles = [], []
    for c in range(draw(st.integers(1, 3))):
        chargers.append(
            {
                "id": f"c{c}",
                "max_charge_kw": draw(st.sampled_from([0.0, 3.7, 7.4, 11.0, 22.0])),
                "max_discharge_kw": draw(st.sampled_from([0.0, 0.0, 7.4, 11.0])),
                "efficiency": draw(st.sampled_from([0.8, 0.9, 0.95, 1.0])),
            }
        )
        # Up to two stays one after the other on each charger (arrival = departure is allowed).
        bounds = sorted(draw(st.lists(st.integers(0, n), min_size=2, max_size=4)))
        for k in range(len(bounds) // 2):
            vehicle = {
                "id": f"ev{len(vehicles)}",
                "charger": f"c{c}",
                "arrival_step": bounds[2 * k],
                "departure_step": bounds[2 * k + 1],
                "capacity_kwh": draw(st.sampled_from([20.0, 40.0, 60.0, 100.0])),
                "soc_arrival": draw(rounded(0.0, 1.0)),
                "soc_target": draw(rounded(0.0, 1.1)),
                "soc_floor": draw(rounded(0.0, 0.6)),
            }
            if draw(st.booleans()):
                vehicle["max_charge_kw"] = draw(st.sampled_from([3.7, 7.4, 11.0]))
                vehicle["max_discharge_kw"] = draw(st.sampled_from([0.0, 3.7, 11.0]))
            if draw(st.booleans()):
                start = draw(st.integers(0, n))
                vehicle["v2g_windows"] = [[start, draw(st.integers(start, n + 1))]]
            if draw(st.booleans()):  # the engine's extension (format section 13)
                vehicle["taper_start_soc"] = draw(st.sampled_from([0.3, 0.8, 0.9, 1.0]))
            vehicles.append(vehicle)

    grid_signals = []
    if draw(st.booleans()):
        start = draw(st.integers(0, n - 1))
        grid_signals.append(
            {
                "kind": "import_cap",
                "start_step": start,
                "end_step": draw(st.integers(start, n)),
                "kw": draw(rounded(-5.0, 40.0)),
            }
        )
    if draw(st.booleans()):
        start = draw(st.integers(0, n - 1))
        grid_signals.append(
            {
                "kind": "export_request",
                "start_step": start,
                "end_step": draw(st.integers(start, n)),
                "kw": draw(rounded(0.0, 15.0)),
                "reward_per_kwh": draw(rounded(0.0, 1.0)),
            }
        )
    return {
        "format": "v2g-scenario/1",
        "name": "random",
        "step_minutes": draw(st.sampled_from([15, 30, 60])),
        "horizon_steps": n,
        "site": {
            "import_limit_kw": draw(rounded(5.0, 60.0)),
            "export_limit_kw": draw(rounded(0.0, 60.0)),
            "base_load_kw": series(0.0, 15.0),
            "pv_kw": series(0.0, 10.0),
        },
        "tariff": {
            "import_price": import_price,
            "export_price": export_price,
            "demand_charge_per_kw": draw(st.sampled_from([0.0, 0.0, 0.2, 1.0])),
        },
        "grid_signals": grid_signals,
        "chargers": chargers,
        "vehicles": vehicles,
        "degradation_cost_per_kwh": draw(st.sampled_from([0.0, 0.02, 0.05])),
    }


def within(a: float, b: float) -> bool:
    """a <= b, up to the format's relative tolerance."""
    return a <= b + 1e-6 * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=small_scenarios())
def test_plan_keeps_the_rules_and_beats_every_baseline_that_does(model, doc):
    scenario = parse_scenario(doc)
    result = plan(scenario, settings=MODELS[model])
    assert result.status == "optimal", result.status_reason
    evaluation = evaluate(scenario, result.power_kw)
    assert evaluation.admissible, evaluation.violations
    assert abs(result.objective - evaluation.cost.total) <= 1e-6 * max(1.0, abs(evaluation.cost.total))
    if model == "exact":
        assert result.approximations == ()
    if set(result.approximations) - {FLOOR_BY_TWO_SOLVES}:
        return

    for name, power in [
        ("smart charging", smart_charging_plan(scenario)),
        ("uncontrolled", uncontrolled_plan(scenario)),
        ("fallback", fallback_plan(scenario)),
    ]:
        baseline = evaluate(scenario, power)
        if baseline.feasible:
            assert evaluation.feasible, (name, evaluation.violations)
            assert within(evaluation.cost.total, baseline.cost.total), name
        if name == "fallback":
            assert within(evaluation.violation_kwh, baseline.violation_kwh)
