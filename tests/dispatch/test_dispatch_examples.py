"""The four example scenarios of data/scenarios, and a generated fleet, planned end to end."""

from __future__ import annotations

import json

from core.dispatch import (
    HighsSettings,
    evaluate,
    generate_fleet_scenario,
    parse_scenario,
    plan,
    smart_charging_plan,
    to_schedule,
    uncontrolled_plan,
)
from tests.dispatch.builders import EXAMPLE_FILES, close


def test_there_are_four_examples():
    assert len(EXAMPLE_FILES) == 4


def test_example_plans_are_feasible_and_cost_what_they_say(example_scenario):
    result = plan(example_scenario)
    assert result.status == "optimal", result.status_reason
    schedule = json.loads(json.dumps(to_schedule(result)))  # through JSON, as a file would be
    evaluation = evaluate(example_scenario, schedule)
    assert evaluation.feasible, evaluation.violations[:3]
    assert close(evaluation.cost.total, result.objective)
    assert result.shortfalls == []
    assert set(result.reasons) == set(result.vehicle_ids)


def test_example_plans_beat_both_baselines_when_they_keep_the_rules(example_scenario):
    result = plan(example_scenario)
    for baseline in (smart_charging_plan(example_scenario), uncontrolled_plan(example_scenario)):
        evaluation = evaluate(example_scenario, baseline)
        if evaluation.feasible:
            assert result.objective <= evaluation.cost.total + 1e-6 * max(1.0, abs(evaluation.cost.total))


def test_schedule_document_has_the_format_keys(example_scenario):
    result = plan(example_scenario)
    schedule = to_schedule(result)
    scenario = parse_scenario(example_scenario)
    assert schedule["format"] == "v2g-schedule/1"
    assert schedule["scenario"] == scenario.name
    assert list(schedule["power_kw"]) == scenario.vehicle_ids
    assert all(len(row) == scenario.horizon_steps for row in schedule["power_kw"].values())


def test_generated_fleet_is_deterministic_valid_and_feasible():
    first, again = generate_fleet_scenario(30, seed=7), generate_fleet_scenario(30, seed=7)
    assert first == again
    assert generate_fleet_scenario(30, seed=8) != first
    scenario = parse_scenario(first)
    assert len(scenario.vehicles) == 30
    assert (scenario.import_price < 0).any()  # some negative prices
    assert (scenario.fleet.discharge_limit_kw > 0).any() and (scenario.fleet.discharge_limit_kw == 0).any()
    result = plan(first)
    assert result.status == "optimal"
    assert evaluate(first, result.power_kw).feasible
    # The import bound binds somewhere: the plan would import more if it could.
    assert (result.net_import_kw >= scenario.site.import_bound_kw - 1e-6).any()


def test_both_floor_models_keep_the_rules_on_a_generated_fleet():
    # 25 visits: some arrive below their floor, on one-way and on bidirectional chargers. The exact floor
    # rule (MIP) is optimal; the two-solve approximation for large fleets may cost more, never less, and
    # both keep every rule and beat smart charging. In both, some vehicles that arrived below their floor
    # discharge once above it.
    doc = generate_fleet_scenario(25, seed=1)
    scenario = parse_scenario(doc)
    below = scenario.fleet.arrives_below_floor
    may_discharge = scenario.fleet.discharge_allowed.any(axis=1)
    assert (below & may_discharge).any() and (below & ~may_discharge).any()
    exact = plan(doc, settings=HighsSettings(exact_max_slots=10**9))
    two_solve = plan(doc, settings=HighsSettings(exact_max_slots=0))
    smart = evaluate(doc, smart_charging_plan(doc)).cost.total
    for result in (exact, two_solve):
        assert result.status == "optimal", result.status_reason
        assert evaluate(doc, result.power_kw).feasible
        assert result.objective <= smart
        assert (result.power_kw[below] < -1e-6).any()
    assert exact.objective <= two_solve.objective + 1e-6 * abs(two_solve.objective)
