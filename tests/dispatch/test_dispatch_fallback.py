"""When the solver fails or runs out of time, the safe fallback plan is used and said to be used."""

from __future__ import annotations

import numpy as np
import pytest

import core.dispatch.engine as engine
from core.dispatch import evaluate, fallback_plan, parse_scenario, plan
from tests.dispatch.builders import charger, scenario, vehicle, worked_example

# A scenario where the optimum discharges (sell at 1.0 what costs 0.1): the fallback must not.
ARBITRAGE = scenario(
    import_price=[0.3, 0.1, 1.0, 0.1],
    chargers=[charger(max_charge_kw=10.0, max_discharge_kw=10.0)],
    vehicles=[vehicle(soc_arrival=0.5, soc_target=0.7)],
)


def test_the_optimum_of_the_arbitrage_scenario_discharges():
    assert (plan(ARBITRAGE).power_kw < 0).any()


def test_zero_time_limit_gives_the_fallback_plan():
    result = plan(ARBITRAGE, time_limit_s=0.0)
    assert result.status == "fallback"
    assert "time limit" in result.status_reason
    assert result.reasons["ev1"] == (
        "safe fallback plan (time limit reached before HiGHS could finish): "
        "charges as early as limits allow, never discharges"
    )
    # Charge as early as limits allow, never discharge: 20 kWh at 10 kW in steps 0 and 1.
    np.testing.assert_allclose(result.power_kw, [[10, 10, 0, 0]])
    evaluation = evaluate(ARBITRAGE, result.power_kw)
    assert evaluation.feasible
    assert result.objective == pytest.approx(evaluation.cost.total)  # 10*0.3 + 10*0.1 = 4.0
    assert result.objective == pytest.approx(4.0)


def test_solver_failure_gives_the_fallback_plan(monkeypatch):
    def broken_solver(*args, **kwargs):
        raise RuntimeError("HiGHS crashed")

    monkeypatch.setattr(engine, "optimise", broken_solver)
    result = plan(worked_example())
    assert result.status == "fallback"
    assert "HiGHS crashed" in result.status_reason
    assert (result.power_kw >= 0).all()
    assert evaluate(worked_example(), result.power_kw).admissible


def test_fallback_shares_site_headroom_by_departure():
    # Import limit 12 kW, base load 2 kW: 10 kW of headroom. The car leaving first (ev2, step 2) gets its
    # 10 kW first; ev1 takes what is left. eta 1, 1 h steps, each needs 20 kWh.
    doc = scenario(
        import_price=[0.1] * 4,
        base_load_kw=[2] * 4,
        import_limit_kw=12.0,
        chargers=[charger("c1"), charger("c2")],
        vehicles=[
            vehicle("ev1", "c1", soc_target=0.7),
            vehicle("ev2", "c2", departure_step=2, soc_target=0.7),
        ],
    )
    power = fallback_plan(parse_scenario(doc))
    np.testing.assert_allclose(power, [[0, 0, 10, 10], [10, 10, 0, 0]])
    assert evaluate(doc, power).feasible


def test_fallback_never_discharges_and_keeps_vehicle_rules_on_the_examples(example_scenario):
    power = fallback_plan(parse_scenario(example_scenario))
    assert (power >= 0).all()
    assert evaluate(example_scenario, power).admissible


# Negative prices at noon, PV far above the building and the export limit, batteries nearly full:
# the case where "charge to target, no discharge" exported above the limit although the vehicles could
# take the surplus. 1 h steps, eta 1.
PV_SURPLUS = scenario(
    import_price=[0.2, -0.05, -0.10, -0.05, 0.3],
    export_price=[0.1, -0.05, -0.10, -0.05, 0.2],
    base_load_kw=[10, 10, 10, 10, 10],
    pv_kw=[0, 60, 80, 60, 0],
    export_limit_kw=40.0,
    chargers=[charger("c1", max_charge_kw=22.0), charger("c2", max_charge_kw=22.0, max_discharge_kw=22.0)],
    vehicles=[
        vehicle("ev1", "c1", capacity_kwh=100.0, soc_arrival=0.60, soc_target=0.62),
        vehicle("ev2", "c2", capacity_kwh=100.0, soc_arrival=0.60, soc_target=0.62),
    ],
)


@pytest.mark.parametrize("time_limit_s", [0.0, 1e-4], ids=["no time at all", "a tight time limit"])
def test_the_fallback_keeps_the_export_limit_with_pv_surplus_and_full_batteries(time_limit_s):
    """Tried: the solver out of time on the PV-surplus scenario. The fallback must keep every site
    limit (here: absorb 10-30 kW of surplus into the vehicles) since a feasible plan exists."""
    result = plan(PV_SURPLUS, time_limit_s=time_limit_s)
    assert result.status == "fallback"
    evaluation = evaluate(PV_SURPLUS, result.power_kw)
    assert evaluation.feasible, [v.message for v in evaluation.violations]
    assert (result.power_kw >= 0).all()
    assert (-result.net_import_kw <= 40.0 + 1e-6).all()
    # The optimum exists and is feasible too: the fallback is not giving up a plan the solver finds.
    assert evaluate(PV_SURPLUS, plan(PV_SURPLUS).power_kw).feasible


def test_the_fallback_fills_batteries_only_as_far_as_they_go():
    """Where the surplus exceeds what the vehicles can take, they take all they can, never past full."""
    doc = scenario(
        import_price=[-0.1, -0.1],
        pv_kw=[200, 200],
        export_limit_kw=10.0,
        chargers=[charger("c1", max_charge_kw=50.0)],
        vehicles=[vehicle("ev1", "c1", capacity_kwh=60.0, soc_arrival=0.5, soc_target=0.6)],
    )
    power = fallback_plan(doc)
    np.testing.assert_allclose(power, [[30.0, 0.0]])  # 30 kWh of room, taken at once; then full
