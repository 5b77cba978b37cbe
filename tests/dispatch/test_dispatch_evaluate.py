"""`evaluate` against the worked example of the format and the edges of its rules and tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from core.dispatch import evaluate
from tests.dispatch.builders import charger, close, scenario, vehicle, worked_example, worked_schedule


def test_worked_example_schedule_is_feasible_and_costs_1_85():
    # Format section 11: energy 1.40, demand 0.1 * 20 = 2.00, degradation 0.02 * 10 = 0.20, rewards 1.75.
    evaluation = evaluate(worked_example(), worked_schedule())
    assert evaluation.feasible
    cost = evaluation.cost
    assert (cost.energy, cost.demand, cost.degradation, cost.rewards) == pytest.approx(
        (1.40, 2.00, 0.20, 1.75)
    )
    assert cost.total == pytest.approx(1.85)
    assert evaluation.peak_import_kw == pytest.approx(20.0)
    np.testing.assert_allclose(evaluation.net_import_kw, [20, -5, -5, 18])
    # A: 30 -> 33.6 -> 28.6 -> 23.6 -> 25.4 kWh; B: 20 -> 24 -> 24 -> 24 -> 28 kWh.
    np.testing.assert_allclose(evaluation.energy_kwh, [[30, 33.6, 28.6, 23.6, 25.4], [20, 24, 24, 24, 28]])


BREAKING_CHANGES = [
    # Format section 11, "changes that would break a rule".
    ("A", 3, -1.0, {"V3", "V7"}),  # outside A's window; and E[4] = 23.04 < 25
    ("A", 0, 10.5, {"V2", "S1"}),  # above A's own 10 kW; and net 22.5 > 22
    ("B", 3, 11.0, {"S1"}),  # net 19 > the 18 kW cap
    ("B", 3, 8.0, {"V7"}),  # E[4] = 24 + 0.5*0.8*8 = 27.2 < 28
]


@pytest.mark.parametrize(("vehicle_id", "step", "kw", "rules"), BREAKING_CHANGES)
def test_worked_example_changes_break_the_named_rules(vehicle_id, step, kw, rules):
    schedule = worked_schedule()
    schedule["power_kw"][vehicle_id][step] = kw
    evaluation = evaluate(worked_example(), schedule)
    assert not evaluation.feasible
    assert {v.rule for v in evaluation.violations} == rules


ONE_VEHICLE = scenario(
    import_price=[0.1, 0.1],
    chargers=[charger(max_charge_kw=10.0, max_discharge_kw=10.0)],
    vehicles=[vehicle(arrival_step=0, departure_step=1, soc_target=0.0)],
    import_limit_kw=20.0,
)

TOLERANCE_CASES = [
    # (powers, broken rules): power bounds are kept within 1e-6 * max(1, |B|) kW.
    ([[10 + 0.9e-5, 0]], set()),  # 10 kW limit: tolerance 1e-5 kW
    ([[10 + 1.1e-5, 0]], {"V2"}),
    ([[0, 0.9e-6]], set()),  # unplugged: |p| up to 1e-6 counts as zero
    ([[0, 1.1e-6]], {"V1"}),
    ([[-10 - 0.9e-5, 0]], set()),
    ([[-10 - 1.1e-5, 0]], {"V4"}),
]


@pytest.mark.parametrize(("powers", "rules"), TOLERANCE_CASES)
def test_tolerances_of_section_9(powers, rules):
    evaluation = evaluate(ONE_VEHICLE, np.array(powers, dtype=float))
    assert {v.rule for v in evaluation.violations} == rules


BELOW_FLOOR = scenario(
    import_price=[0.1, 0.1, 0.1],
    chargers=[charger(max_charge_kw=25.0, max_discharge_kw=25.0)],
    vehicles=[vehicle(soc_arrival=0.1, soc_target=0.0, soc_floor=0.3)],
)

FLOOR_CASES = [
    # Arrives at 10 kWh under a 30 kWh floor (R2).
    ([[0, 0, 0]], set()),  # staying below the floor is allowed
    ([[10, 0, 0]], set()),  # charging while below is allowed
    ([[-1, 0, 0]], {"V6"}),  # discharging before reaching the floor is not
    ([[25, -5, 0]], set()),  # 10 -> 35 (floor reached) -> 30: ok
    ([[25, -6, 0]], {"V6"}),  # 35 -> 29: below the floor after reaching it
]


@pytest.mark.parametrize(("powers", "rules"), FLOOR_CASES)
def test_floor_rule_for_a_vehicle_arriving_below_it(powers, rules):
    evaluation = evaluate(BELOW_FLOOR, np.array(powers, dtype=float))
    assert {v.rule for v in evaluation.violations} == rules


def test_malformed_schedule_is_infeasible_and_still_costed():
    schedule = worked_schedule()
    del schedule["power_kw"]["B"]
    schedule["power_kw"]["Z"] = [0, 0, 0, 0]
    evaluation = evaluate(worked_example(), schedule)
    assert not evaluation.feasible
    assert evaluation.malformed == ("power_kw.B: row is missing", "power_kw.Z: not a vehicle of the scenario")
    # B counts as zeros: net = [4-2+8, 4-9, 4-9, 4+4] = [10, -5, -5, 8]
    np.testing.assert_allclose(evaluation.net_import_kw, [10, -5, -5, 8])


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.update(format="v2g-schedule/2"),
        lambda s: s.update(scenario="other"),
        lambda s: s["power_kw"].update(A=[8, -9, -9]),
        lambda s: s["power_kw"].update(A=[8, -9, "x", 4]),
        lambda s: s.update(power_kw=[]),
    ],
)
def test_each_malformed_kind_is_named(change):
    schedule = worked_schedule()
    change(schedule)
    evaluation = evaluate(worked_example(), schedule)
    assert evaluation.malformed and not evaluation.feasible


def test_violation_kwh_counts_site_and_departure_misses():
    # The all-zero schedule of the worked example: B misses 28 - 20 = 8 kWh; A stays at 30 >= 25;
    # the site imports 2 or 4 kW, within its bounds. violation_kwh = 8.
    zeros = {
        "format": "v2g-schedule/1",
        "scenario": "example-2ev-4steps",
        "power_kw": {"A": [0] * 4, "B": [0] * 4},
    }
    evaluation = evaluate(worked_example(), zeros)
    assert evaluation.admissible and not evaluation.feasible
    assert close(evaluation.violation_kwh, 8.0)
