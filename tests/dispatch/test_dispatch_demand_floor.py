"""A monthly demand charge: only a peak above the billing period's peak so far is charged.

`tariff.demand_peak_floor_kw` is this engine's extension of v2g-scenario/1 (core/planning fills
it with the month's peak of 15-minute net import so far).
"""

from __future__ import annotations

import pytest

from core.dispatch import plan


def scenario(floor_kw: float | None, import_price: list[float]) -> dict:
    # 4 one-hour steps, no building load; one car needs 10 kWh (0 % -> 100 % of 10 kWh, efficiency 1),
    # charger 10 kW; demand charge 10 per kW of peak.
    tariff = {"import_price": import_price, "export_price": [0.0] * 4, "demand_charge_per_kw": 10.0}
    if floor_kw is not None:
        tariff["demand_peak_floor_kw"] = floor_kw
    return {
        "format": "v2g-scenario/1", "name": "demand", "step_minutes": 60, "horizon_steps": 4,
        "site": {"import_limit_kw": 100.0, "export_limit_kw": 100.0, "base_load_kw": [0.0] * 4},
        "tariff": tariff,
        "chargers": [{"id": "c", "max_charge_kw": 10.0, "efficiency": 1.0}],
        "vehicles": [{"id": "v", "charger": "c", "arrival_step": 0, "departure_step": 4, "capacity_kwh": 10.0,
                      "soc_arrival": 0.0, "soc_target": 1.0}],
    }  # fmt: skip


def test_without_a_floor_the_peak_is_flattened():
    # Cheapest first, 10 kW in the 0.10 hour: energy 1.0 + demand 10 x 10 = 101. Spread, 2.5 kW each
    # hour: energy 2.5 x (0.1 + 0.3 + 0.3 + 0.3) = 2.5 + demand 10 x 2.5 = 27.5, the optimum.
    result = plan(scenario(None, [0.1, 0.3, 0.3, 0.3]))
    assert result.peak_import_kw == pytest.approx(2.5, abs=1e-6)


def test_under_this_months_peak_the_cheapest_hour_is_used_at_full_power():
    # The month already peaked at 12 kW: charging 10 kW in the cheapest hour raises no bill.
    result = plan(scenario(12.0, [0.1, 0.3, 0.3, 0.3]))
    assert list(result.power_kw[0]) == pytest.approx([10.0, 0.0, 0.0, 0.0], abs=1e-6)
    # The optimiser's objective carries the month's demand charge so far: 1.0 energy + 10 x 12.
    assert result.objective == pytest.approx(1.0 + 120.0, abs=1e-6)


def test_a_floor_between_the_two_is_reached_but_not_exceeded():
    # Peak so far 5 kW: charge 5 kW in two hours, the cheapest first, never above 5 kW.
    result = plan(scenario(5.0, [0.1, 0.2, 0.3, 0.3]))
    assert max(result.power_kw[0]) == pytest.approx(5.0, abs=1e-6)
    assert list(result.power_kw[0]) == pytest.approx([5.0, 5.0, 0.0, 0.0], abs=1e-6)
