"""Charging taper near full (`taper_start_soc`, the engine's extension: format section 13).

Steps of 1 h, efficiency 1, a 100 kWh battery on a 10 kW charger unless a case says otherwise; taper from
80 %: at 85 % the vehicle takes 10 * (0.1 + 0.9 * 0.75) = 7.75 kW, at 90 % 5.5 kW. From 70 % the fastest
charge runs 70 -> 80 -> 90 -> 95.5 -> 98.525 kWh.
"""

from __future__ import annotations

import numpy as np
import pytest

import core.dispatch.engine as engine
import core.rules.taper as rules_taper
from core.dispatch import (
    HighsSettings,
    ScenarioError,
    evaluate,
    fallback_plan,
    parse_scenario,
    plan,
    smart_charging_plan,
    uncontrolled_plan,
)
from core.dispatch import taper as dispatch_taper
from core.dispatch.optimiser import OptimiserOutput, _DispatchModel
from tests.dispatch.builders import charger, scenario, vehicle

MODELS = {"exact": HighsSettings(), "large-fleet": HighsSettings(exact_max_slots=0)}
TAPER = {"taper_start_soc": 0.8}


def one_vehicle(import_price, **fields) -> dict:
    return scenario(import_price=import_price, vehicles=[vehicle(**fields)])


# --- the curve ---------------------------------------------------------------------------------------


def test_the_curve_equals_the_one_of_core_rules():
    # core/dispatch may not import core.rules (same rank), so it has its own copy: the two must agree.
    assert dispatch_taper.MIN_TAPER_FRACTION == rules_taper.MIN_TAPER_FRACTION
    assert dispatch_taper.NO_TAPER == rules_taper.NO_TAPER
    socs = np.linspace(0.0, 1.0, 1001)
    for start in [0.05, 0.5, 0.8, 0.85, 0.9, 0.999, 1.0]:
        for max_kw in [0.0, 3.7, 11.0, 150.0]:
            ours = dispatch_taper.taper_limit_kw(max_kw, socs, start)
            theirs = [rules_taper.charge_limit_kw(max_kw, float(soc), start) for soc in socs]
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, err_msg=f"start {start}, {max_kw} kW")


def test_the_taper_row_is_the_same_line():
    # charge + slope * E <= intercept is the tapered part of the curve, written in kWh.
    slope, intercept = dispatch_taper.taper_row(10.0, 100.0, 0.8)
    for energy_kwh in [80.0, 85.0, 99.0]:
        assert intercept - slope * energy_kwh == pytest.approx(rules_taper.charge_limit_kw(10.0, energy_kwh / 100, 0.8))


# --- the scenario ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [(0, "must be > 0"), (-0.2, "must be > 0"), (1.2, "must be <= 1"), ("0.8", "must be a number"),
     (True, "must be a number"), (float("nan"), "must be a finite number")],
)  # fmt: skip
def test_bad_taper_values_are_refused_naming_the_field(value, problem):
    doc = one_vehicle([0.1] * 4, taper_start_soc=value)
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(doc)
    assert raised.value.field == "vehicles[0].taper_start_soc"
    assert raised.value.problem == problem


def test_the_reach_follows_the_taper():
    fleet = parse_scenario(one_vehicle([0.1] * 4, soc_arrival=0.7, soc_target=1.0, **TAPER)).fleet
    assert fleet.taper_start_soc[0] == 0.8
    assert fleet.energy_reach_kwh[0] == pytest.approx(98.525)
    assert fleet.target_unreachable[0]
    plain = parse_scenario(one_vehicle([0.1] * 4, soc_arrival=0.7, soc_target=1.0)).fleet
    assert plain.taper_start_soc[0] == 1.0
    assert plain.energy_reach_kwh[0] == 100.0
    assert not plain.target_unreachable[0]


def rows_and_columns(doc: dict) -> tuple[int, int, int]:
    """The model's rows and columns, and how many of the rows are taper rows."""
    model = _DispatchModel(parse_scenario(doc), exact=True)
    return model.lp.n_rows, model.lp.n_cols, len(model.taper_slots)


def test_a_taper_start_of_one_is_no_taper_and_adds_nothing():
    absent = one_vehicle([0.1] * 4, soc_arrival=0.7, soc_target=1.0)
    one = one_vehicle([0.1] * 4, soc_arrival=0.7, soc_target=1.0, taper_start_soc=1.0)
    assert plan(one).power_kw.tolist() == plan(absent).power_kw.tolist()
    assert rows_and_columns(one) == rows_and_columns(absent) == (13, 21, 0)


def test_a_taper_the_stay_cannot_reach_adds_nothing():
    # 10 % -> at most 50 % in 4 h: the taper from 80 % never binds, so nothing is tracked or added.
    tapered = one_vehicle([0.1] * 4, soc_arrival=0.1, soc_target=0.5, **TAPER)
    assert rows_and_columns(tapered) == rows_and_columns(one_vehicle([0.1] * 4, soc_arrival=0.1, soc_target=0.5))
    # 70 %: the energy is tracked (4 more columns and balance rows) and steps 2 and 3 get a taper row; step 1
    # starts at 80 % at most, still at full power.
    assert rows_and_columns(one_vehicle([0.1] * 4, soc_arrival=0.7, soc_target=1.0, **TAPER)) == (19, 25, 2)


# --- the optimiser -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_a_vehicle_near_full_charges_at_the_tapered_power(model):
    # 85 % -> 95 %, cheapest hour first: 7.75 kW is all it takes at 85 %; at 92.75 % the rest, 2.25 kWh.
    doc = one_vehicle([0.1, 0.5, 0.6], soc_arrival=0.85, soc_target=0.95, **TAPER)
    result = plan(doc, settings=MODELS[model])
    assert result.status == "optimal"
    np.testing.assert_allclose(result.power_kw, [[7.75, 2.25, 0.0]], atol=1e-6)
    assert evaluate(doc, result.power_kw).feasible
    # Without the taper the cheapest hour does it all.
    np.testing.assert_allclose(plan(one_vehicle([0.1, 0.5, 0.6], soc_arrival=0.85, soc_target=0.95)).power_kw,
                               [[10.0, 0.0, 0.0]], atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_with_a_taper_the_target_comes_later_so_charging_starts_earlier(model):
    # 70 % -> 98 %, prices falling: at full power all the way 2.8 h (start at step 1); the taper makes it
    # 3.83 h, so it must start at once, and the fastest charge reaches the target one step later.
    prices = [0.4, 0.3, 0.2, 0.1]
    plain = one_vehicle(prices, soc_arrival=0.7, soc_target=0.98)
    tapered = one_vehicle(prices, soc_arrival=0.7, soc_target=0.98, **TAPER)
    untapered_kw = plan(plain, settings=MODELS[model]).power_kw[0]
    tapered_kw = plan(tapered, settings=MODELS[model]).power_kw[0]
    np.testing.assert_allclose(untapered_kw, [0.0, 8.0, 10.0, 10.0], atol=1e-6)
    first = lambda kw: int(np.nonzero(kw > 1e-6)[0][0])  # noqa: E731
    assert first(tapered_kw) < first(untapered_kw)
    evaluation = evaluate(tapered, tapered_kw[None, :])
    assert evaluation.feasible
    assert evaluation.energy_kwh[0, -1] == pytest.approx(98.0, abs=1e-6)

    reached = lambda doc: int(np.argmax(evaluate(doc, fallback_plan(doc)).energy_kwh[0] >= 98.0 - 1e-6))  # noqa: E731
    assert (reached(plain), reached(tapered)) == (3, 4)


@pytest.mark.parametrize("model", MODELS)
def test_a_target_out_of_reach_only_because_of_the_taper_is_a_taper_shortfall(model):
    # 70 % -> 100 % in 4 h: 40 kWh at full power would do, the taper stops at 98.525 kWh.
    doc = one_vehicle([0.1] * 4, soc_arrival=0.7, soc_target=1.0, **TAPER)
    result = plan(doc, settings=MODELS[model])
    np.testing.assert_allclose(result.power_kw, [[10.0, 10.0, 5.5, 3.025]], atol=1e-6)
    assert result.feasible  # the requirement is the reach (R4)
    [shortfall] = result.shortfalls
    assert shortfall.cause == "taper"
    assert shortfall.missing_kwh == pytest.approx(1.475)
    assert shortfall.detail == "the battery takes less above 80%: at most 98.5% in 4.0 h"
    assert result.reasons["ev1"].startswith("charging at full power: will miss its 100% target by 1.5 kWh (taper")


def test_a_target_out_of_reach_even_without_the_taper_is_still_a_time_shortfall():
    doc = one_vehicle([0.1] * 2, soc_arrival=0.7, soc_target=1.0, **TAPER)
    [shortfall] = plan(doc).shortfalls
    assert shortfall.cause == "time"


@pytest.mark.parametrize("model", MODELS)
def test_a_v2g_vehicle_keeps_its_taper_when_it_cycles(model):
    # Buy low, sell high, buy low again, twice near full: every charge stays within the curve.
    doc = scenario(
        import_price=[0.05, 0.05, 0.9, 0.05, 0.05, 0.9],
        chargers=[charger(max_charge_kw=10.0, max_discharge_kw=10.0, efficiency=0.9)],
        vehicles=[vehicle(soc_arrival=0.8, soc_target=0.9, soc_floor=0.2, **TAPER)],
    )
    result = plan(doc, settings=MODELS[model])
    assert result.status == "optimal"
    assert (result.power_kw < 0).any()
    evaluation = evaluate(doc, result.power_kw)
    assert evaluation.feasible, evaluation.violations


# --- the referee -------------------------------------------------------------------------------------


def test_evaluate_flags_a_charge_above_the_curve():
    doc = one_vehicle([0.1] * 3, soc_arrival=0.85, soc_target=0.85, **TAPER)
    assert evaluate(doc, np.array([[7.75 + 0.9e-5, 0.0, 0.0]])).feasible  # within the power tolerance
    evaluation = evaluate(doc, np.array([[8.0, 0.0, 0.0]]))
    assert [(v.rule, v.step) for v in evaluation.violations] == [("V8", 0)]
    assert evaluation.violations[0].amount == pytest.approx(0.25)
    assert evaluation.violations[0].message == "ev1: charges 8 kW in step 0, above its taper limit 7.75 kW at 85.0%"
    assert not evaluation.admissible
    # The same plan without a taper keeps every rule.
    assert evaluate(one_vehicle([0.1] * 3, soc_arrival=0.85, soc_target=0.85), np.array([[8.0, 0, 0]])).feasible


def test_a_plan_above_the_curve_is_never_handed_out(monkeypatch):
    doc = one_vehicle([0.1] * 3, soc_arrival=0.85, soc_target=0.95, **TAPER)

    def ignores_the_taper(scenario, **kwargs):
        power = np.array([[10.0, 0.0, 0.0]])
        return OptimiserOutput(power, 1.0, np.zeros(1), np.zeros(3), np.zeros(3), 1, 0, ())

    monkeypatch.setattr(engine, "optimise", ignores_the_taper)
    result = plan(doc)
    assert result.status == "fallback"
    assert "rule V8" in result.status_reason
    assert evaluate(doc, result.power_kw).feasible


# --- the fallback and the baselines ------------------------------------------------------------------


def test_the_fallback_and_the_baselines_keep_the_curve():
    doc = one_vehicle([0.4, 0.3, 0.2, 0.1], soc_arrival=0.7, soc_target=1.0, **TAPER)
    np.testing.assert_allclose(fallback_plan(doc), [[10.0, 10.0, 5.5, 3.025]])
    np.testing.assert_allclose(uncontrolled_plan(doc), [[10.0, 10.0, 5.5, 3.025]])
    assert evaluate(doc, fallback_plan(doc)).feasible
    # Cheapest hours first, cut to the curve, what is cut taken again in the cheapest hours left: 95 %.
    doc = one_vehicle([0.4, 0.3, 0.2, 0.1], soc_arrival=0.7, soc_target=0.95, **TAPER)
    smart = smart_charging_plan(doc)
    evaluation = evaluate(doc, smart)
    assert evaluation.feasible, evaluation.violations
    assert smart[0, 0] == 0.0  # the most expensive hour is not needed


def test_the_fallback_soaks_up_pv_only_within_the_curve():
    # 20 kW of PV above a 0 kW export limit; one car at 90 % can take 5.5 kW of it, one at 50 % its full
    # 10 kW: the rest must be exported (S2 is broken, unavoidably), the taper is kept.
    doc = scenario(
        import_price=[-0.1],
        pv_kw=[20.0],
        export_limit_kw=0.0,
        chargers=[charger("c1"), charger("c2")],
        vehicles=[
            vehicle("full", "c1", soc_arrival=0.9, soc_target=0.9, **TAPER),
            vehicle("empty", "c2", soc_arrival=0.5, soc_target=0.5, **TAPER),
        ],
    )
    power = fallback_plan(doc)
    np.testing.assert_allclose(power, [[5.5], [10.0]])
    evaluation = evaluate(doc, power)
    assert evaluation.admissible
    assert {v.rule for v in evaluation.violations} == {"S2"}
