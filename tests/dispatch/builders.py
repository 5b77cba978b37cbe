"""Small literal scenarios for the dispatch tests: defaults that stay out of the way.

Defaults: steps of 60 minutes (dt = 1 h, so kW and kWh per step are the same number), no base load, no
PV, site limits of 1000 kW, efficiency 1, no degradation, no demand charge.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "data" / "scenarios"
EXAMPLE_FILES = sorted(SCENARIO_DIR.glob("*.json"))

# The worked example of format section 11 (least-cost feasible schedule: 631/405 EUR).
WORKED_EXAMPLE = {
    "format": "v2g-scenario/1",
    "name": "example-2ev-4steps",
    "start": "2024-01-22T16:00:00Z",
    "timezone": "Europe/Amsterdam",
    "currency": "EUR",
    "step_minutes": 30,
    "horizon_steps": 4,
    "site": {
        "import_limit_kw": 22,
        "export_limit_kw": 10,
        "base_load_kw": [4, 4, 4, 4],
        "pv_kw": [2, 0, 0, 0],
    },
    "tariff": {
        "import_price": [0.20, 0.40, 0.40, 0.10],
        "export_price": [0.05, 0.30, 0.30, 0.02],
        "demand_charge_per_kw": 0.1,
    },
    "grid_signals": [
        {"kind": "export_request", "start_step": 1, "end_step": 3, "kw": 3, "reward_per_kwh": 0.5},
        {"kind": "export_request", "start_step": 2, "end_step": 3, "kw": 8, "reward_per_kwh": 0.1},
        {"kind": "import_cap", "start_step": 3, "end_step": 4, "kw": 18},
    ],
    "chargers": [
        {"id": "c1", "max_charge_kw": 11, "max_discharge_kw": 11, "efficiency": 0.9},
        {"id": "c2", "max_charge_kw": 11, "efficiency": 0.8},
    ],
    "vehicles": [
        {
            "id": "A",
            "charger": "c1",
            "arrival_step": 0,
            "departure_step": 4,
            "capacity_kwh": 50,
            "soc_arrival": 0.6,
            "soc_target": 0.5,
            "soc_floor": 0.3,
            "max_charge_kw": 10,
            "max_discharge_kw": 9,
            "v2g_windows": [[1, 3]],
        },
        {
            "id": "B",
            "charger": "c2",
            "arrival_step": 0,
            "departure_step": 4,
            "capacity_kwh": 40,
            "soc_arrival": 0.5,
            "soc_target": 0.7,
        },
    ],
    "degradation_cost_per_kwh": 0.02,
}
WORKED_SCHEDULE = {
    "format": "v2g-schedule/1",
    "scenario": "example-2ev-4steps",
    "power_kw": {"A": [8, -9, -9, 4], "B": [10, 0, 0, 10]},
}


def worked_example() -> dict:
    return copy.deepcopy(WORKED_EXAMPLE)


def worked_schedule() -> dict:
    return copy.deepcopy(WORKED_SCHEDULE)


def load_example(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def charger(id="c1", max_charge_kw=10.0, max_discharge_kw=0.0, efficiency=1.0) -> dict:
    return {
        "id": id,
        "max_charge_kw": max_charge_kw,
        "max_discharge_kw": max_discharge_kw,
        "efficiency": efficiency,
    }


def vehicle(
    id="ev1",
    charger="c1",
    arrival_step=0,
    departure_step=None,
    capacity_kwh=100.0,
    soc_arrival=0.5,
    soc_target=0.5,
    soc_floor=0.0,
    **extra,
) -> dict:
    """A visit; departure_step None means the end of the horizon (filled in by `scenario`)."""
    return {
        "id": id,
        "charger": charger,
        "arrival_step": arrival_step,
        "departure_step": departure_step,
        "capacity_kwh": capacity_kwh,
        "soc_arrival": soc_arrival,
        "soc_target": soc_target,
        "soc_floor": soc_floor,
        **extra,
    }


def scenario(
    *,
    import_price,
    export_price=None,
    chargers=None,
    vehicles=None,
    step_minutes=60,
    base_load_kw=None,
    pv_kw=None,
    import_limit_kw=1000.0,
    export_limit_kw=1000.0,
    demand_charge_per_kw=0.0,
    degradation_cost_per_kwh=0.0,
    grid_signals=(),
) -> dict:
    """A scenario whose horizon is the length of `import_price`; export price defaults to the import price."""
    n = len(import_price)
    vehicles = copy.deepcopy(vehicles if vehicles is not None else [vehicle()])
    for v in vehicles:
        if v["departure_step"] is None:
            v["departure_step"] = n
    return {
        "format": "v2g-scenario/1",
        "name": "test",
        "step_minutes": step_minutes,
        "horizon_steps": n,
        "site": {
            "import_limit_kw": import_limit_kw,
            "export_limit_kw": export_limit_kw,
            "base_load_kw": list(base_load_kw or [0.0] * n),
            "pv_kw": list(pv_kw or [0.0] * n),
        },
        "tariff": {
            "import_price": list(import_price),
            "export_price": list(export_price if export_price is not None else import_price),
            "demand_charge_per_kw": demand_charge_per_kw,
        },
        "grid_signals": list(grid_signals),
        "chargers": copy.deepcopy(chargers if chargers is not None else [charger()]),
        "vehicles": vehicles,
        "degradation_cost_per_kwh": degradation_cost_per_kwh,
    }


def close(a: float, b: float, rel: float = 1e-6) -> bool:
    """Equal within the format's tolerance for costs and energies."""
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))
