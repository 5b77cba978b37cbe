"""The optimiser on small literal problems whose optimum is worked out by hand.

Unless a case says otherwise: steps of 1 h (so kW and kWh per step are the same number), efficiency 1,
no base load, export price = import price, a 100 kWh battery arriving at 50 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.dispatch import HighsSettings, evaluate, plan
from core.dispatch.optimiser import SITE_DIRECTIONS_FIXED, VEHICLE_DIRECTIONS_FIXED
from tests.dispatch.builders import charger, close, scenario, vehicle, worked_example

BIDIRECTIONAL = charger(max_charge_kw=10.0, max_discharge_kw=10.0)

CASES = [
    pytest.param(
        # Needs 0.7*100 - 50 = 20 kWh = 2 steps at 10 kW: the two cheapest, steps 1 (0.1) and 2 (0.2).
        # cost = 10*0.1 + 10*0.2 = 3.0
        scenario(import_price=[0.3, 0.1, 0.2, 0.4], vehicles=[vehicle(soc_target=0.7)]),
        [[0, 10, 10, 0]],
        3.0,
        id="cheapest-steps",
    ),
    pytest.param(
        # eta 0.8: 16 kWh into the battery needs 16/0.8 = 20 kWh from the grid, again steps 1 and 2.
        scenario(
            import_price=[0.3, 0.1, 0.2, 0.4],
            chargers=[charger(efficiency=0.8)],
            vehicles=[vehicle(soc_target=0.66)],
        ),
        [[0, 10, 10, 0]],
        3.0,
        id="efficiency-grid-side",
    ),
    pytest.param(
        # Arbitrage with eta 0.9 and degradation 0.02/kWh: 1 kWh bought at 0.10 stores 0.9 kWh and sells
        # 0.81 kWh at 0.20: 0.162 - 0.02*0.9 = 0.144 > 0.10, so it pays. The target (stay at 50 kWh)
        # caps the discharge at 0.81 of the charge: charge 10 kW, discharge 8.1 kW.
        # cost = 10*0.10 - 8.1*0.20 + 0.02*8.1/0.9 = 1.0 - 1.62 + 0.18 = -0.44
        scenario(
            import_price=[0.10, 0.20],
            chargers=[charger(max_charge_kw=10, max_discharge_kw=10, efficiency=0.9)],
            degradation_cost_per_kwh=0.02,
        ),
        [[10, -8.1]],
        -0.44,
        id="arbitrage-beats-losses",
    ),
    pytest.param(
        # Same, selling at 0.14: 0.81*0.14 - 0.018 = 0.0954 < 0.10 buys nothing: idle.
        scenario(
            import_price=[0.10, 0.14],
            chargers=[charger(max_charge_kw=10, max_discharge_kw=10, efficiency=0.9)],
            degradation_cost_per_kwh=0.02,
        ),
        [[0, 0]],
        0.0,
        id="arbitrage-below-losses",
    ),
    pytest.param(
        # Selling at 0.20 but degradation 0.08: 0.162 - 0.072 = 0.090 < 0.10: idle.
        scenario(
            import_price=[0.10, 0.20],
            chargers=[charger(max_charge_kw=10, max_discharge_kw=10, efficiency=0.9)],
            degradation_cost_per_kwh=0.08,
        ),
        [[0, 0]],
        0.0,
        id="arbitrage-below-degradation",
    ),
    pytest.param(
        # Demand charge 1/kW on the peak, flat price 0.1, base load [4, 0, 0, 0], 20 kWh to charge: fill the
        # valley to a flat peak P with (P-4) + 3P = 20, P = 6: powers [2, 6, 6, 6].
        # cost = 0.1*(4 + 20) + 1*6 = 8.4
        scenario(
            import_price=[0.1] * 4,
            base_load_kw=[4, 0, 0, 0],
            demand_charge_per_kw=1.0,
            vehicles=[vehicle(soc_target=0.7)],
        ),
        [[2, 6, 6, 6]],
        8.4,
        id="demand-charge-flattens",
    ),
    pytest.param(
        # An import cap of 3 kW in steps 0-1 holds the cheap charging to 3 kW; the other 14 kWh go to step 2
        # (0.3) at 10 kW and step 3 (0.4) at 4 kW. cost = 6*0.1 + 10*0.3 + 4*0.4 = 5.2
        scenario(
            import_price=[0.1, 0.1, 0.3, 0.4],
            vehicles=[vehicle(soc_target=0.7)],
            grid_signals=[{"kind": "import_cap", "start_step": 0, "end_step": 2, "kw": 3}],
        ),
        [[3, 3, 10, 4]],
        5.2,
        id="import-cap-holds-charging",
    ),
    pytest.param(
        # A one-way charger never discharges, even when the vehicle could and selling pays 5/kWh.
        scenario(
            import_price=[0.1, 5.0],
            chargers=[charger(max_discharge_kw=0.0)],
            vehicles=[vehicle(max_discharge_kw=10.0, soc_target=0.0)],
        ),
        [[0, 0]],
        0.0,
        id="one-way-charger",
    ),
    pytest.param(
        # Selling at 5/kWh with a 50 kW limit: the 30 % floor leaves 50 - 30 = 20 kWh to sell. cost = -100
        scenario(
            import_price=[5.0],
            chargers=[charger(max_charge_kw=50, max_discharge_kw=50)],
            vehicles=[vehicle(soc_target=0.0, soc_floor=0.3)],
        ),
        [[-20]],
        -100.0,
        id="floor-respected",
    ),
    pytest.param(
        # 20 kWh may go (target 30 %) and step 0 pays most, but the V2G window is step 1 only: [0, -10, 0].
        # cost = -10*0.5
        scenario(
            import_price=[1.0, 0.5, 0.0],
            chargers=[BIDIRECTIONAL],
            vehicles=[vehicle(soc_target=0.3, v2g_windows=[[1, 2]])],
        ),
        [[0, -10, 0]],
        -5.0,
        id="v2g-window-respected",
    ),
    pytest.param(
        # Without the window both paying steps are used: 10 + 10 kWh. cost = -10*1.0 - 10*0.5 = -15
        scenario(import_price=[1.0, 0.5, 0.0], chargers=[BIDIRECTIONAL], vehicles=[vehicle(soc_target=0.3)]),
        [[-10, -10, 0]],
        -15.0,
        id="no-window-every-plugged-step",
    ),
    pytest.param(
        # A negative price pays for charging: 10 kWh in step 0 (paid 0.1/kWh) although the target is met.
        scenario(import_price=[-0.1, 0.2]),
        [[10, 0]],
        -1.0,
        id="negative-price-charges",
    ),
    pytest.param(
        # Full battery, price -1 (importing pays, exporting costs). Charging and discharging at once would
        # waste energy and import 10 - 10*0.81 = 1.9 kW for free money, but a vehicle has one power per
        # step (format section 6): it cannot charge, and discharging costs: idle.
        scenario(
            import_price=[-1.0],
            chargers=[charger(max_charge_kw=10, max_discharge_kw=10, efficiency=0.9)],
            vehicles=[vehicle(soc_arrival=1.0, soc_target=1.0)],
        ),
        [[0]],
        0.0,
        id="no-charge-and-discharge-at-once",
    ),
    pytest.param(
        # Export pays 0.3 and import costs 0.1: importing and exporting at once looks like money, but the site
        # has one net power. Base load 5 kW; discharging would export but the target forbids it. cost = 0.5
        scenario(import_price=[0.1], export_price=[0.3], base_load_kw=[5.0], chargers=[BIDIRECTIONAL]),
        [[0]],
        0.5,
        id="no-import-and-export-at-once",
    ),
    pytest.param(
        # An export request pays 1/kWh on up to 5 kW; degradation 0.1/kWh: discharge exactly 5 kW.
        # cost = 0.1*5 - 1.0*5 = -4.5
        scenario(
            import_price=[0.0],
            chargers=[charger(max_charge_kw=20, max_discharge_kw=20)],
            vehicles=[vehicle(soc_target=0.0)],
            degradation_cost_per_kwh=0.1,
            grid_signals=[
                {"kind": "export_request", "start_step": 0, "end_step": 1, "kw": 5, "reward_per_kwh": 1.0}
            ],
        ),
        [[-5]],
        -4.5,
        id="export-request-up-to-kw",
    ),
]


@pytest.mark.parametrize(("doc", "expected_kw", "expected_cost"), CASES)
def test_optimum_known_by_hand(doc, expected_kw, expected_cost):
    result = plan(doc)
    assert result.status == "optimal"
    np.testing.assert_allclose(result.power_kw, expected_kw, atol=1e-6)
    assert close(result.objective, expected_cost)
    evaluation = evaluate(doc, result.power_kw)
    assert evaluation.feasible, evaluation.violations
    assert close(evaluation.cost.total, expected_cost)


def test_worked_example_reaches_the_least_cost_of_the_format():
    # Format section 11: the least-cost feasible schedule of the worked example costs 631/405 EUR.
    result = plan(worked_example())
    assert result.status == "optimal" and result.feasible
    assert close(result.objective, 631 / 405)
    assert close(result.cost.total, 631 / 405)


def test_below_floor_vehicle_discharges_only_after_reaching_its_floor():
    # Arrives at 10 % with a 30 % floor. Cheap step 0 (0.1), expensive step 1 (1.0), target 0.
    # It must first charge to the floor; then it may sell what is above it: charge 10 kW in step 0
    # (10 -> 20 kWh... below 30, so no discharge yet). With 25 kW: 10 -> 35 kWh, then sell 5 kWh.
    doc = scenario(
        import_price=[0.1, 1.0],
        chargers=[charger(max_charge_kw=25, max_discharge_kw=25)],
        vehicles=[vehicle(soc_arrival=0.1, soc_target=0.0, soc_floor=0.3)],
    )
    result = plan(doc)
    evaluation = evaluate(doc, result.power_kw)
    assert evaluation.feasible
    # Buying 25 kWh at 0.1 to sell 5 at 1.0 costs 2.5 - 5.0 = -2.5, better than idle (0).
    np.testing.assert_allclose(result.power_kw, [[25, -5]], atol=1e-6)
    assert close(result.objective, -2.5)


def test_below_floor_vehicle_that_cannot_reach_its_floor_never_discharges():
    # 10 kW for one step lifts 10 -> 20 kWh, still under the 30 kWh floor: no discharge in step 1.
    doc = scenario(
        import_price=[0.1, 1.0],
        chargers=[BIDIRECTIONAL],
        vehicles=[vehicle(soc_arrival=0.1, soc_target=0.0, soc_floor=0.3)],
    )
    result = plan(doc)
    assert (result.power_kw >= 0).all()
    assert evaluate(doc, result.power_kw).feasible


def test_vehicle_that_is_never_plugged_in_has_a_zero_row():
    doc = scenario(
        import_price=[0.1, 0.2], vehicles=[vehicle(arrival_step=1, departure_step=1, soc_target=0.9)]
    )
    result = plan(doc)
    assert (result.power_kw == 0).all()
    assert result.reasons["ev1"] == "not plugged in during this plan"


LARGE_FLEET_PATH = HighsSettings(exact_max_slots=0)


def test_large_fleet_path_fixes_site_directions_and_reports_it():
    # The import-and-export case of CASES: export pays 0.3, import costs 0.1, so the LP relaxation imports
    # and exports at once. Without binaries the large-fleet path fixes the step to importing (exporting
    # would need a 5 kW discharge below the target): idle, cost 5 kW * 0.1 = 0.5, as the exact model.
    doc = scenario(import_price=[0.1], export_price=[0.3], base_load_kw=[5.0], chargers=[BIDIRECTIONAL])
    result = plan(doc, settings=LARGE_FLEET_PATH)
    assert result.status == "optimal" and result.feasible
    assert SITE_DIRECTIONS_FIXED in result.approximations
    np.testing.assert_allclose(result.power_kw, [[0]], atol=1e-6)
    assert close(result.objective, 0.5)


def test_large_fleet_path_on_the_worked_example_keeps_the_rules():
    result = plan(worked_example(), settings=LARGE_FLEET_PATH)
    assert result.status == "optimal" and result.feasible
    assert close(result.objective, evaluate(worked_example(), result.power_kw).cost.total)
    assert result.objective >= 631 / 405 - 1e-9


def test_large_fleet_path_never_charges_and_discharges_at_once():
    # The full battery at price -1 of CASES: without a binary, the slot is fixed to one direction.
    doc = scenario(
        import_price=[-1.0],
        chargers=[charger(max_charge_kw=10, max_discharge_kw=10, efficiency=0.9)],
        vehicles=[vehicle(soc_arrival=1.0, soc_target=1.0)],
    )
    result = plan(doc, settings=LARGE_FLEET_PATH)
    np.testing.assert_allclose(result.power_kw, [[0]], atol=1e-6)
    assert VEHICLE_DIRECTIONS_FIXED in result.approximations
    assert close(result.objective, 0.0)
