"""Read a `v2g-scenario/1` document into a checked, typed `Scenario`.

The format is defined in `scenario-format.md` next to this module: section 2 gives every
field, section 3 what makes a scenario valid, section 4 the quantities derived from it. A scenario that
breaks section 3 is refused with a `ScenarioError` whose message starts with the offending field, for
example ``vehicles[2].soc_floor: must be <= 1``.

The typed `Scenario` and its section 4 arrays live in `scenario.py`, the typed JSON reads in
`fields.py`; their public names are importable from here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .fields import Fields, ScenarioError
from .scenario import (
    Charger,
    ExportRequest,
    FleetArrays,
    GridSignal,
    Scenario,
    SiteArrays,
    Vehicle,
)

__all__ = [
    "SCENARIO_FORMAT",
    "SIGNAL_KINDS",
    "Charger",
    "ExportRequest",
    "FleetArrays",
    "GridSignal",
    "Scenario",
    "ScenarioError",
    "SiteArrays",
    "Vehicle",
    "parse_scenario",
]

SCENARIO_FORMAT = "v2g-scenario/1"
SIGNAL_KINDS = ("import_cap", "export_request")


def parse_scenario(doc: Any) -> Scenario:
    """Check a scenario document (a dict read from JSON) and return it as a `Scenario`.

    Raises `ScenarioError` naming the first offending field when the document is not valid
    (format section 3). Unknown keys are ignored at every level.
    """
    if isinstance(doc, Scenario):
        return doc
    top = Fields(doc, "")
    fmt = top.string("format")
    if fmt != SCENARIO_FORMAT:
        raise ScenarioError("format", f'must be "{SCENARIO_FORMAT}", got "{fmt}"')
    name = top.string("name")
    start = top.string("start", required=False)
    timezone = top.string("timezone", required=False)
    currency = top.string("currency", required=False)
    if currency is not None and not (len(currency) == 3 and currency.isascii() and currency.isupper()):
        raise ScenarioError("currency", "must be 3 upper-case letters (ISO 4217)")
    step_minutes = top.integer("step_minutes", minimum=1)
    n = top.integer("horizon_steps", minimum=1)

    site = Fields(top.required("site"), "site")
    import_limit_kw = site.number("import_limit_kw")
    export_limit_kw = site.number("export_limit_kw")
    base_load_kw = site.series("base_load_kw", n)
    pv_kw = site.series("pv_kw", n, required=False)

    tariff = Fields(top.required("tariff"), "tariff")
    import_price = tariff.series("import_price", n)
    export_price = tariff.series("export_price", n)
    demand_charge = tariff.number("demand_charge_per_kw", required=False, minimum=0.0) or 0.0
    demand_peak_floor = tariff.number("demand_peak_floor_kw", required=False, minimum=0.0) or 0.0

    grid_signals = tuple(_grid_signal(item) for item in top.objects("grid_signals", required=False))
    chargers = tuple(_charger(item) for item in top.objects("chargers"))
    vehicles = tuple(_vehicle(item) for item in top.objects("vehicles"))
    degradation = top.number("degradation_cost_per_kwh", required=False, minimum=0.0) or 0.0

    _check_ids(chargers, "chargers")
    _check_ids(vehicles, "vehicles")
    charger_ids = {c.id for c in chargers}
    for i, vehicle in enumerate(vehicles):
        if vehicle.charger not in charger_ids:
            raise ScenarioError(f"vehicles[{i}].charger", f'"{vehicle.charger}" is not the id of a charger')
        if vehicle.arrival_step < 0:
            raise ScenarioError(f"vehicles[{i}].arrival_step", "must be >= 0 (R1)")
        if vehicle.departure_step < vehicle.arrival_step:
            raise ScenarioError(f"vehicles[{i}].departure_step", "must be >= arrival_step (R1)")
        if vehicle.departure_step > n:
            raise ScenarioError(f"vehicles[{i}].departure_step", f"must be <= horizon_steps ({n}) (R1)")
    _check_one_vehicle_per_charger(vehicles)

    return Scenario(
        name=name,
        start=start,
        timezone=timezone,
        currency=currency,
        step_minutes=step_minutes,
        horizon_steps=n,
        import_limit_kw=import_limit_kw,
        export_limit_kw=export_limit_kw,
        base_load_kw=base_load_kw,
        pv_kw=pv_kw if pv_kw is not None else np.zeros(n),
        import_price=import_price,
        export_price=export_price,
        demand_charge_per_kw=demand_charge,
        demand_peak_floor_kw=demand_peak_floor,
        grid_signals=grid_signals,
        chargers=chargers,
        vehicles=vehicles,
        degradation_cost_per_kwh=degradation,
    )


def _grid_signal(fields: Fields) -> GridSignal:
    kind = fields.string("kind")
    if kind not in SIGNAL_KINDS:
        raise ScenarioError(fields.path("kind"), f'must be "import_cap" or "export_request", got "{kind}"')
    is_request = kind == "export_request"
    start_step = fields.integer("start_step")
    end_step = fields.integer("end_step")
    kw = fields.number("kw", minimum=0.0 if is_request else None)
    reward = fields.number("reward_per_kwh", required=False, minimum=0.0) if is_request else None
    return GridSignal(kind, start_step, end_step, kw, reward or 0.0)


def _charger(fields: Fields) -> Charger:
    charger_id = fields.string("id")
    max_charge_kw = fields.number("max_charge_kw", minimum=0.0)
    max_discharge_kw = fields.number("max_discharge_kw", required=False, minimum=0.0) or 0.0
    efficiency = fields.number("efficiency")
    if not 0.0 < efficiency <= 1.0:
        raise ScenarioError(fields.path("efficiency"), "must be > 0 and <= 1")
    return Charger(charger_id, max_charge_kw, max_discharge_kw, efficiency)


def _vehicle(fields: Fields) -> Vehicle:
    return Vehicle(
        id=fields.string("id"),
        charger=fields.string("charger"),
        arrival_step=fields.integer("arrival_step"),
        departure_step=fields.integer("departure_step"),
        capacity_kwh=fields.number("capacity_kwh", above=0.0),
        soc_arrival=fields.number("soc_arrival", minimum=0.0, maximum=1.0),
        soc_target=fields.number("soc_target", minimum=0.0),
        soc_floor=fields.number("soc_floor", required=False, minimum=0.0, maximum=1.0) or 0.0,
        max_charge_kw=fields.number("max_charge_kw", required=False, minimum=0.0),
        max_discharge_kw=fields.number("max_discharge_kw", required=False, minimum=0.0),
        v2g_windows=fields.windows("v2g_windows"),
        # Extension (format section 13): absent or 1 = no taper.
        taper_start_soc=fields.number("taper_start_soc", required=False, above=0.0, maximum=1.0) or 1.0,
    )


def _check_ids(items, kind: str) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in seen:
            raise ScenarioError(f"{kind}[{i}].id", f'"{item.id}" is already the id of {kind}[{seen[item.id]}]')
        seen[item.id] = i


def _check_one_vehicle_per_charger(vehicles: tuple[Vehicle, ...]) -> None:
    """Two stays on one charger must not overlap; one may arrive at the boundary the other leaves."""
    stays: dict[str, list[tuple[int, int, int]]] = {}
    for i, v in enumerate(vehicles):
        if v.arrival_step < v.departure_step:
            stays.setdefault(v.charger, []).append((v.arrival_step, v.departure_step, i))
    for charger, visits in stays.items():
        visits.sort()
        for (_, end, i), (start, _, j) in zip(visits, visits[1:], strict=False):
            if start < end:
                raise ScenarioError(
                    f"vehicles[{j}].arrival_step",
                    f'plugged into charger "{charger}" at step {start} while vehicles[{i}] '
                    f'("{vehicles[i].id}") stays until step {end}',
                )
