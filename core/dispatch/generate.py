"""Deterministic synthetic fleets for benchmarks and tests: `generate_fleet_scenario(n_vehicles, seed)`.

One day of 96 steps of 15 minutes from 12:00 local time on a summer weekday. The numbers follow the
shapes of the example scenarios in data/scenarios (Dutch day-ahead prices with a midday solar dip, home
and workplace stays, the AC limits of common cars) without copying any of them:

- visits: overnight at home (arrive 16:30-20:00, leave 06:00-08:30), depot (arrive 13:00-18:00, leave
  04:00-07:00), and workplace afternoons (arrive 12:00-14:00, leave 16:00-19:00) whose charger often takes an
  overnight car after them;
- 40 % bidirectional 11 kW chargers, half of their cars only in a 17:00-21:00 V2G window; the rest one-way
  7.4 or 11 kW; cars of 40 to 100 kWh with 7.4 or 11 kW limits; some arrive below their floor;
- import price = day-ahead + 0.08 /kWh, negative for two hours at midday; export price = day-ahead;
- an import limit that binds in the evening, a grid import cap 18:00-19:00, a small demand charge.
"""

from __future__ import annotations

import numpy as np

STEPS = 96
STEP_MINUTES = 15
STEPS_PER_HOUR = 4
CAR_TAPER_START_SOC = 0.8  # the default of a car in core.rules.taper


def _step(hour_after_noon: float) -> int:
    """Step index of a clock time given as hours after 12:00 (e.g. 19.5 for 07:30 next morning)."""
    return int(round(hour_after_noon * STEPS_PER_HOUR))


def _hourly_day_ahead(rng: np.random.Generator) -> np.ndarray:
    """Day-ahead price per hour from 12:00 to 12:00, EUR/kWh: midday solar dip, evening peak, night trough."""
    hours = (12 + np.arange(24)) % 24
    shape = {
        12: -0.02,
        13: -0.10,
        14: -0.12,
        15: -0.03,
        16: 0.06,
        17: 0.14,
        18: 0.21,
        19: 0.24,
        20: 0.19,
        21: 0.13,
        22: 0.10,
        23: 0.09,
        0: 0.08,
        1: 0.07,
        2: 0.065,
        3: 0.06,
        4: 0.065,
        5: 0.075,
        6: 0.10,
        7: 0.13,
        8: 0.12,
        9: 0.08,
        10: 0.04,
        11: 0.01,
    }
    return np.array([shape[h] for h in hours]) + rng.normal(0.0, 0.008, 24)


def generate_fleet_scenario(
    n_vehicles: int, seed: int = 0, *, export_request: bool = False, taper: bool = False
) -> dict:
    """A valid `v2g-scenario/1` dict with `n_vehicles` visits; the same arguments give the same dict.

    With `export_request`, a grid export request 18:00-20:00 pays 0.25 EUR/kWh on up to 1 kW per vehicle.
    With `taper`, every car's charging tapers from 80 % (the extension of format section 13).
    """
    rng = np.random.default_rng(seed)
    day_ahead = np.repeat(_hourly_day_ahead(rng), STEPS_PER_HOUR)
    hour = 12 + np.arange(STEPS) / STEPS_PER_HOUR  # hours after midnight of day one

    chargers: list[dict] = []
    vehicles: list[dict] = []
    free_after_work: list[tuple[int, int]] = []  # (charger index, step it is free from)
    for i in range(n_vehicles):
        kind = rng.choice(["home", "depot", "work"], p=[0.45, 0.25, 0.30])
        if kind == "home":
            arrival, departure = _step(rng.uniform(4.5, 8.0)), _step(rng.uniform(18.0, 20.5))
        elif kind == "depot":
            arrival, departure = _step(rng.uniform(1.0, 6.0)), _step(rng.uniform(16.0, 19.0))
        else:
            arrival, departure = _step(rng.uniform(0.0, 2.0)), _step(rng.uniform(4.0, 7.0))

        reuse = next((k for k, (_, free) in enumerate(free_after_work) if free <= arrival), None)
        if kind != "work" and reuse is not None and rng.random() < 0.8:
            charger_index = free_after_work.pop(reuse)[0]
        else:
            charger_index = len(chargers)
            chargers.append(_charger(rng, charger_index))
        if kind == "work":
            free_after_work.append((charger_index, departure))
        vehicles.append(_vehicle(rng, i, chargers[charger_index], arrival, departure))
        if taper:
            vehicles[-1]["taper_start_soc"] = CAR_TAPER_START_SOC

    base_load_kw = n_vehicles * (0.9 + 0.7 * np.exp(-(((hour - 19.0) / 2.5) ** 2)) + 0.05 * rng.random(STEPS))
    solar = np.clip(np.cos((hour % 24 - 13.5) / 12 * 2 * np.pi * 0.9), 0.0, None) ** 2
    pv_kw = n_vehicles * 1.2 * solar
    import_limit_kw = float(np.round(base_load_kw.max() + 1.6 * n_vehicles, 1))
    scenario = {
        "format": "v2g-scenario/1",
        "name": f"fleet{n_vehicles}_seed{seed}",
        "start": "2024-06-12T10:00:00Z",
        "timezone": "Europe/Amsterdam",
        "currency": "EUR",
        "step_minutes": STEP_MINUTES,
        "horizon_steps": STEPS,
        "site": {
            "import_limit_kw": import_limit_kw,
            "export_limit_kw": import_limit_kw,
            "base_load_kw": np.round(base_load_kw, 3).tolist(),
            "pv_kw": np.round(pv_kw, 3).tolist(),
        },
        "tariff": {
            "import_price": np.round(day_ahead + 0.08, 5).tolist(),
            "export_price": np.round(day_ahead, 5).tolist(),
            "demand_charge_per_kw": 0.05,
        },
        "grid_signals": [
            {
                "kind": "import_cap",
                "start_step": _step(6.0),
                "end_step": _step(7.0),
                "kw": round(0.85 * import_limit_kw, 1),
            },
        ],
        "chargers": chargers,
        "vehicles": vehicles,
        "degradation_cost_per_kwh": 0.04,
        "meta": {
            "description": f"synthetic fleet of {n_vehicles} visits (core.dispatch.generate, seed {seed})"
        },
    }
    if export_request:
        scenario["grid_signals"].append(
            {
                "kind": "export_request",
                "start_step": _step(6.0),
                "end_step": _step(8.0),
                "kw": float(n_vehicles),
                "reward_per_kwh": 0.25,
            }
        )
    return scenario


def _charger(rng: np.random.Generator, index: int) -> dict:
    if rng.random() < 0.4:
        return {
            "id": f"bd{index}",
            "max_charge_kw": 11.0,
            "max_discharge_kw": 11.0,
            "efficiency": round(float(rng.uniform(0.90, 0.93)), 3),
        }
    return {
        "id": f"ac{index}",
        "max_charge_kw": float(rng.choice([7.4, 11.0])),
        "max_discharge_kw": 0.0,
        "efficiency": round(float(rng.uniform(0.90, 0.95)), 3),
    }


def _vehicle(rng: np.random.Generator, index: int, charger: dict, arrival: int, departure: int) -> dict:
    capacity_kwh = float(rng.choice([40.0, 52.0, 58.0, 64.0, 77.0, 82.0, 100.0]))
    limit_kw = float(rng.choice([7.4, 11.0, 11.0]))
    soc_arrival = round(float(rng.uniform(0.15, 0.65)), 3)
    # Most targets are reachable at the car's own limit; about one in fifty is not (a short, empty visit).
    reach = (
        soc_arrival
        + charger["efficiency"]
        * min(limit_kw, charger["max_charge_kw"])
        * (departure - arrival)
        / STEPS_PER_HOUR
        / capacity_kwh
    )
    target = float(rng.uniform(0.7, 0.9))
    if rng.random() > 0.02:
        target = min(target, soc_arrival + 0.85 * (reach - soc_arrival))
    vehicle = {
        "id": f"ev{index}",
        "charger": charger["id"],
        "arrival_step": arrival,
        "departure_step": departure,
        "capacity_kwh": capacity_kwh,
        "soc_arrival": soc_arrival,
        "soc_target": round(max(target, 0.0), 3),
        "soc_floor": round(float(rng.uniform(0.2, 0.35)), 2),
        "max_charge_kw": limit_kw,
        "max_discharge_kw": limit_kw,
    }
    if charger["max_discharge_kw"] > 0 and rng.random() < 0.5:
        vehicle["v2g_windows"] = [[_step(5.0), _step(9.0)]]  # 17:00-21:00
    return vehicle
