"""Scenario validity (format section 3): every malformed kind is refused with a message naming the field."""

from __future__ import annotations

import numpy as np
import pytest

from core.dispatch import ScenarioError, parse_scenario
from tests.dispatch.builders import charger, scenario, vehicle, worked_example


def valid() -> dict:
    # Two chargers, two vehicles, 4 steps; each case below breaks one thing.
    return scenario(
        import_price=[0.1, 0.2, 0.3, 0.4],
        chargers=[charger("c1", max_discharge_kw=10.0), charger("c2")],
        vehicles=[
            vehicle("ev1", "c1", v2g_windows=[[1, 3]]),
            vehicle("ev2", "c2", arrival_step=1, departure_step=3),
        ],
        grid_signals=[{"kind": "import_cap", "start_step": 0, "end_step": 2, "kw": 50.0}],
    )


def setting(path: str, value):
    """A change to the valid scenario: set the value at a dotted path ("vehicles.0.soc_floor")."""

    def change(doc):
        *parents, last = path.split(".")
        for key in parents:
            doc = doc[int(key)] if isinstance(doc, list) else doc[key]
        if value is DELETE:
            del doc[last]
        elif isinstance(doc, list):
            doc[int(last)] = value
        else:
            doc[last] = value

    return change


DELETE = object()

MALFORMED = [
    (setting("format", "v2g-scenario/2"), 'format: must be "v2g-scenario/1"'),
    (setting("name", DELETE), "name: is required"),
    (setting("name", ""), "name: must be a non-empty string"),
    (setting("currency", "eur"), "currency: must be 3 upper-case letters"),
    (setting("step_minutes", 15.5), "step_minutes: must be an integer"),
    (setting("horizon_steps", 0), "horizon_steps: must be >= 1"),
    (setting("horizon_steps", True), "horizon_steps: must be a number"),
    (setting("site", DELETE), "site: is required"),
    (setting("site.import_limit_kw", "22"), "site.import_limit_kw: must be a number"),
    (setting("site.export_limit_kw", float("nan")), "site.export_limit_kw: must be a finite number"),
    (
        setting("site.base_load_kw", [1.0, 2.0, 3.0]),
        "site.base_load_kw: must have 4 numbers (horizon_steps), got 3",
    ),
    (setting("site.pv_kw", [0, 0, 0, 0, 0]), "site.pv_kw: must have 4 numbers (horizon_steps), got 5"),
    (setting("tariff.import_price.2", "0.3"), "tariff.import_price[2]: must be a number"),
    (setting("tariff.export_price", 0.1), "tariff.export_price: must be a list of 4 numbers"),
    (setting("tariff.demand_charge_per_kw", -1), "tariff.demand_charge_per_kw: must be >= 0"),
    (
        setting("grid_signals.0.kind", "curtail"),
        'grid_signals[0].kind: must be "import_cap" or "export_request"',
    ),
    (setting("grid_signals.0.end_step", 1.5), "grid_signals[0].end_step: must be an integer"),
    (
        setting("grid_signals", [{"kind": "export_request", "start_step": 0, "end_step": 1, "kw": -1}]),
        "grid_signals[0].kw: must be >= 0",
    ),
    (
        setting(
            "grid_signals",
            [{"kind": "export_request", "start_step": 0, "end_step": 1, "kw": 1, "reward_per_kwh": -0.5}],
        ),
        "grid_signals[0].reward_per_kwh: must be >= 0",
    ),
    (setting("chargers.0.efficiency", 0), "chargers[0].efficiency: must be > 0 and <= 1"),
    (setting("chargers.0.efficiency", 1.2), "chargers[0].efficiency: must be > 0 and <= 1"),
    (setting("chargers.0.max_charge_kw", -7), "chargers[0].max_charge_kw: must be >= 0"),
    (setting("chargers.1.id", "c1"), 'chargers[1].id: "c1" is already the id of chargers[0]'),
    (setting("vehicles.1.id", "ev1"), 'vehicles[1].id: "ev1" is already the id of vehicles[0]'),
    (setting("vehicles.0.charger", "c9"), 'vehicles[0].charger: "c9" is not the id of a charger'),
    (setting("vehicles.1.charger", "c1"), 'vehicles[1].arrival_step: plugged into charger "c1" at step 1'),
    (setting("vehicles.0.arrival_step", -1), "vehicles[0].arrival_step: must be >= 0"),
    (setting("vehicles.1.departure_step", 0), "vehicles[1].departure_step: must be >= arrival_step"),
    (setting("vehicles.0.departure_step", 5), "vehicles[0].departure_step: must be <= horizon_steps (4)"),
    (setting("vehicles.0.capacity_kwh", 0), "vehicles[0].capacity_kwh: must be > 0"),
    (setting("vehicles.0.soc_arrival", 1.01), "vehicles[0].soc_arrival: must be <= 1"),
    (setting("vehicles.0.soc_target", -0.1), "vehicles[0].soc_target: must be >= 0"),
    (setting("vehicles.1.soc_floor", 1.5), "vehicles[1].soc_floor: must be <= 1"),
    (setting("vehicles.0.max_discharge_kw", -1), "vehicles[0].max_discharge_kw: must be >= 0"),
    (
        setting("vehicles.0.v2g_windows", [[1, 2, 3]]),
        "vehicles[0].v2g_windows[0]: must be a [start_step, end_step]",
    ),
    (setting("vehicles.0.v2g_windows", [[1, 2.5]]), "vehicles[0].v2g_windows[0][1]: must be an integer"),
    (setting("vehicles.0.v2g_windows", "17-21"), "vehicles[0].v2g_windows: must be a list"),
    (setting("vehicles", {"ev1": {}}), "vehicles: must be a list of objects"),
    (setting("chargers.0", "c1"), "chargers[0]: must be an object"),
    (setting("degradation_cost_per_kwh", -0.01), "degradation_cost_per_kwh: must be >= 0"),
]


@pytest.mark.parametrize(("change", "message"), MALFORMED, ids=[m for _, m in MALFORMED])
def test_malformed_scenario_names_the_field(change, message):
    doc = valid()
    parse_scenario(doc)  # the starting point is valid
    change(doc)
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(doc)
    assert str(raised.value).startswith(message)


def test_a_scenario_must_be_an_object():
    with pytest.raises(ScenarioError, match="^scenario: must be an object"):
        parse_scenario([1, 2])


VALID_EDGES = [
    # One may leave at the boundary the next arrives (d1 = a2).
    (setting("vehicles.1", vehicle("ev2", "c1", arrival_step=4, departure_step=4)), None),
    # A stay of zero length is ignored in the one-vehicle-per-charger check.
    (setting("vehicles.1", vehicle("ev2", "c1", arrival_step=2, departure_step=2)), None),
    (
        setting("vehicles.0.departure_step", 2),
        setting("vehicles.1", vehicle("ev2", "c1", arrival_step=2, departure_step=4)),
    ),
    # Integral floats are integers; null optional fields take their defaults; unknown keys are ignored.
    (setting("step_minutes", 15.0), setting("meta", {"source": "test"})),
    (setting("site.pv_kw", None), setting("vehicles.0.v2g_windows", None)),
    (setting("vehicles.0.soc_target", 1.7), None),  # above 1 means 1 (R4)
    (setting("grid_signals.0.kw", -5.0), None),  # a negative import cap forces export
]


@pytest.mark.parametrize(("first", "second"), VALID_EDGES)
def test_valid_edge_cases_are_accepted(first, second):
    doc = valid()
    first(doc)
    if second:
        second(doc)
    parse_scenario(doc)


def test_derived_quantities_of_the_worked_example():
    # Format section 11: A has Pc = min(11, 10) = 10, Pd = min(11, 9) = 9, E_req = 25, D = {1, 2};
    # B has Pc = 11, Pd = 0, E_reach = min(40, 20 + 0.8*11*0.5*4) = 37.6, E_req = 28.
    # L_imp = [22, 22, 22, 18].
    s = parse_scenario(worked_example())
    fleet = s.fleet
    np.testing.assert_allclose(fleet.charge_limit_kw, [10, 11])
    np.testing.assert_allclose(fleet.discharge_limit_kw, [9, 0])
    np.testing.assert_allclose(fleet.energy_reach_kwh, [48, 37.6])
    np.testing.assert_allclose(fleet.energy_required_kwh, [25, 28])
    assert fleet.discharge_allowed.tolist() == [[False, True, True, False], [False] * 4]
    np.testing.assert_allclose(s.site.import_bound_kw, [22, 22, 22, 18])
    np.testing.assert_allclose(s.site.fixed_net_kw, [2, 4, 4, 4])
