"""Read a `v2g-scenario/1` document into a checked, typed `Scenario`.

The format is defined in `scenario-format.md` next to this module: section 2 gives every
field, section 3 what makes a scenario valid, section 4 the quantities derived from it. A scenario that
breaks section 3 is refused with a `ScenarioError` whose message starts with the offending field, for
example ``vehicles[2].soc_floor: must be <= 1``.

`Scenario.fleet` holds the section 4 quantities as numpy arrays (one row per vehicle) and
`Scenario.site` the per-step site bounds, so the optimiser, the baselines and `evaluate` all read the
same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

SCENARIO_FORMAT = "v2g-scenario/1"
SIGNAL_KINDS = ("import_cap", "export_request")


class ScenarioError(ValueError):
    """A scenario that is not valid (format section 3). `field` names the offending field."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Charger:
    id: str
    max_charge_kw: float
    max_discharge_kw: float
    efficiency: float


@dataclass(frozen=True)
class Vehicle:
    """One visit of one vehicle to one charger (format section 2.6)."""

    id: str
    charger: str
    arrival_step: int
    departure_step: int
    capacity_kwh: float
    soc_arrival: float
    soc_target: float
    soc_floor: float
    max_charge_kw: float | None
    max_discharge_kw: float | None
    v2g_windows: tuple[tuple[int, int], ...] | None  # None: every plugged step


@dataclass(frozen=True)
class GridSignal:
    kind: str  # "import_cap" or "export_request"
    start_step: int
    end_step: int
    kw: float
    reward_per_kwh: float


@dataclass(frozen=True)
class ExportRequest:
    """An export request reduced to what the cost needs: where it is active, its kW and its reward."""

    active: np.ndarray  # bool per step
    kw: float
    reward_per_kwh: float
    start_step: int
    end_step: int


@dataclass(frozen=True)
class SiteArrays:
    """Per-step site quantities (format sections 2.2 to 2.4)."""

    fixed_net_kw: np.ndarray  # base_load_kw - pv_kw
    import_bound_kw: np.ndarray  # L_imp[t]: import_limit_kw and every active import cap, the lowest (R5)
    export_limit_kw: float
    export_requests: tuple[ExportRequest, ...]


@dataclass(frozen=True)
class FleetArrays:
    """Section 4 quantities, one entry per vehicle in scenario order."""

    arrival_step: np.ndarray  # int
    departure_step: np.ndarray  # int
    capacity_kwh: np.ndarray
    efficiency: np.ndarray  # eta of the vehicle's charger
    charge_limit_kw: np.ndarray  # Pc
    discharge_limit_kw: np.ndarray  # Pd
    energy_arrival_kwh: np.ndarray  # E_arr
    energy_floor_kwh: np.ndarray  # E_floor
    energy_target_kwh: np.ndarray  # E_target = min(soc_target, 1) * cap
    energy_reach_kwh: np.ndarray  # E_reach: charging at Pc in every plugged step
    energy_required_kwh: np.ndarray  # E_req = min(E_target, E_reach)   (R4)
    target_unreachable: np.ndarray  # bool: E_target > E_reach + tolE
    arrives_below_floor: np.ndarray  # bool: E_arr < E_floor - tolE
    energy_tol_kwh: np.ndarray  # tolE = 1e-6 * max(1, cap)
    plugged: np.ndarray  # bool (V, N): plugged in during step t
    discharge_allowed: np.ndarray  # bool (V, N): the steps D of R3


@dataclass(frozen=True)
class Scenario:
    """A valid `v2g-scenario/1` document. Build it with `parse_scenario`."""

    name: str
    start: str | None
    timezone: str | None
    currency: str | None
    step_minutes: int
    horizon_steps: int
    import_limit_kw: float
    export_limit_kw: float
    base_load_kw: np.ndarray
    pv_kw: np.ndarray
    import_price: np.ndarray
    export_price: np.ndarray
    demand_charge_per_kw: float
    grid_signals: tuple[GridSignal, ...]
    chargers: tuple[Charger, ...]
    vehicles: tuple[Vehicle, ...]
    degradation_cost_per_kwh: float
    # Extension, not in v2g-scenario/1: the billing period's peak import so far. The demand charge
    # then prices only a peak above it (a monthly demand charge), see optimiser.
    demand_peak_floor_kw: float = 0.0

    @property
    def dt_h(self) -> float:
        """Length of one step in hours."""
        return self.step_minutes / 60.0

    @property
    def vehicle_ids(self) -> list[str]:
        return [v.id for v in self.vehicles]

    @cached_property
    def site(self) -> SiteArrays:
        n = self.horizon_steps
        import_bound = np.full(n, self.import_limit_kw, dtype=float)
        requests = []
        for signal in self.grid_signals:
            active = np.zeros(n, dtype=bool)
            active[max(0, signal.start_step) : max(0, min(n, signal.end_step))] = True
            if signal.kind == "import_cap":
                import_bound[active] = np.minimum(import_bound[active], signal.kw)
            elif active.any():
                requests.append(
                    ExportRequest(
                        active, signal.kw, signal.reward_per_kwh, signal.start_step, signal.end_step
                    )
                )
        return SiteArrays(
            fixed_net_kw=self.base_load_kw - self.pv_kw,
            import_bound_kw=import_bound,
            export_limit_kw=self.export_limit_kw,
            export_requests=tuple(requests),
        )

    @cached_property
    def fleet(self) -> FleetArrays:
        n, dt = self.horizon_steps, self.dt_h
        chargers = {c.id: c for c in self.chargers}
        vehicles = self.vehicles
        count = len(vehicles)

        def column(values, dtype=float):
            return np.array(list(values), dtype=dtype).reshape(count)

        arrival = column((v.arrival_step for v in vehicles), int)
        departure = column((v.departure_step for v in vehicles), int)
        cap = column(v.capacity_kwh for v in vehicles)
        eta = column(chargers[v.charger].efficiency for v in vehicles)
        charge_limit = column(_limit(chargers[v.charger].max_charge_kw, v.max_charge_kw) for v in vehicles)
        discharge_limit = column(
            _limit(chargers[v.charger].max_discharge_kw, v.max_discharge_kw) for v in vehicles
        )
        e_arr = column(v.soc_arrival for v in vehicles) * cap
        e_floor = column(v.soc_floor for v in vehicles) * cap
        e_target = np.minimum(column(v.soc_target for v in vehicles), 1.0) * cap
        steps_plugged = departure - arrival
        e_reach = np.minimum(cap, e_arr + eta * charge_limit * dt * steps_plugged)
        tol_e = 1e-6 * np.maximum(1.0, cap)

        step = np.arange(n)
        plugged = (step >= arrival[:, None]) & (step < departure[:, None])
        in_window = np.zeros((count, n), dtype=bool)
        for i, vehicle in enumerate(vehicles):
            if vehicle.v2g_windows is None:
                in_window[i] = True
            for start, end in vehicle.v2g_windows or ():
                in_window[i, max(0, start) : max(0, min(n, end))] = True
        discharge_allowed = plugged & in_window & (discharge_limit > 0)[:, None]

        return FleetArrays(
            arrival_step=arrival,
            departure_step=departure,
            capacity_kwh=cap,
            efficiency=eta,
            charge_limit_kw=charge_limit,
            discharge_limit_kw=discharge_limit,
            energy_arrival_kwh=e_arr,
            energy_floor_kwh=e_floor,
            energy_target_kwh=e_target,
            energy_reach_kwh=e_reach,
            energy_required_kwh=np.minimum(e_target, e_reach),
            target_unreachable=e_target > e_reach + tol_e,
            arrives_below_floor=e_arr < e_floor - tol_e,
            energy_tol_kwh=tol_e,
            plugged=plugged,
            discharge_allowed=discharge_allowed,
        )


def _limit(charger_kw: float, vehicle_kw: float | None) -> float:
    """Effective limit: the charger's, lowered by the vehicle's own when it has one."""
    return charger_kw if vehicle_kw is None else min(charger_kw, vehicle_kw)


# --- reading and checking -------------------------------------------------------------------------


def parse_scenario(doc: Any) -> Scenario:
    """Check a scenario document (a dict read from JSON) and return it as a `Scenario`.

    Raises `ScenarioError` naming the first offending field when the document is not valid
    (format section 3). Unknown keys are ignored at every level.
    """
    if isinstance(doc, Scenario):
        return doc
    top = _Fields(doc, "")
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

    site = _Fields(top.required("site"), "site")
    import_limit_kw = site.number("import_limit_kw")
    export_limit_kw = site.number("export_limit_kw")
    base_load_kw = site.series("base_load_kw", n)
    pv_kw = site.series("pv_kw", n, required=False)

    tariff = _Fields(top.required("tariff"), "tariff")
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


def _grid_signal(fields: _Fields) -> GridSignal:
    kind = fields.string("kind")
    if kind not in SIGNAL_KINDS:
        raise ScenarioError(fields.path("kind"), f'must be "import_cap" or "export_request", got "{kind}"')
    is_request = kind == "export_request"
    start_step = fields.integer("start_step")
    end_step = fields.integer("end_step")
    kw = fields.number("kw", minimum=0.0 if is_request else None)
    reward = fields.number("reward_per_kwh", required=False, minimum=0.0) if is_request else None
    return GridSignal(kind, start_step, end_step, kw, reward or 0.0)


def _charger(fields: _Fields) -> Charger:
    charger_id = fields.string("id")
    max_charge_kw = fields.number("max_charge_kw", minimum=0.0)
    max_discharge_kw = fields.number("max_discharge_kw", required=False, minimum=0.0) or 0.0
    efficiency = fields.number("efficiency")
    if not 0.0 < efficiency <= 1.0:
        raise ScenarioError(fields.path("efficiency"), "must be > 0 and <= 1")
    return Charger(charger_id, max_charge_kw, max_discharge_kw, efficiency)


def _vehicle(fields: _Fields) -> Vehicle:
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
    )


def _check_ids(items, kind: str) -> None:
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in seen:
            raise ScenarioError(
                f"{kind}[{i}].id", f'"{item.id}" is already the id of {kind}[{seen[item.id]}]'
            )
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


class _Fields:
    """Typed reads of one JSON object, each error naming its field (format section 1, JSON types)."""

    def __init__(self, obj: Any, where: str):
        if not isinstance(obj, dict):
            raise ScenarioError(where or "scenario", "must be an object")
        self.obj = obj
        self.where = where

    def path(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def required(self, key: str) -> Any:
        value = self.obj.get(key)
        if value is None:
            raise ScenarioError(self.path(key), "is required")
        return value

    def _get(self, key: str, required: bool) -> Any:
        return self.required(key) if required else self.obj.get(key)

    def string(self, key: str, required: bool = True) -> str | None:
        value = self._get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ScenarioError(self.path(key), "must be a non-empty string")
        return value

    def number(
        self,
        key: str,
        required: bool = True,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
    ) -> float | None:
        value = self._get(key, required)
        if value is None:
            return None
        return _number(value, self.path(key), minimum=minimum, maximum=maximum, above=above)

    def integer(self, key: str, required: bool = True, minimum: int | None = None) -> int | None:
        value = self._get(key, required)
        if value is None:
            return None
        return _integer(value, self.path(key), minimum=minimum)

    def series(self, key: str, n: int, required: bool = True) -> np.ndarray | None:
        value = self._get(key, required)
        if value is None:
            return None
        where = self.path(key)
        if not isinstance(value, list):
            raise ScenarioError(where, f"must be a list of {n} numbers (horizon_steps)")
        if len(value) != n:
            raise ScenarioError(where, f"must have {n} numbers (horizon_steps), got {len(value)}")
        return np.array([_number(x, f"{where}[{t}]") for t, x in enumerate(value)], dtype=float)

    def objects(self, key: str, required: bool = True) -> list[_Fields]:
        value = self._get(key, required)
        if value is None:
            return []
        where = self.path(key)
        if not isinstance(value, list):
            raise ScenarioError(where, "must be a list of objects")
        return [_Fields(item, f"{where}[{i}]") for i, item in enumerate(value)]

    def windows(self, key: str) -> tuple[tuple[int, int], ...] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        where = self.path(key)
        if not isinstance(value, list):
            raise ScenarioError(where, "must be a list of [start_step, end_step] pairs")
        pairs = []
        for i, pair in enumerate(value):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ScenarioError(f"{where}[{i}]", "must be a [start_step, end_step] pair")
            pairs.append((_integer(pair[0], f"{where}[{i}][0]"), _integer(pair[1], f"{where}[{i}][1]")))
        return tuple(pairs)


def _number(
    value: Any,
    where: str,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
) -> float:
    # bool is an int in Python but not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(where, "must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise ScenarioError(where, "must be a finite number")
    if minimum is not None and value < minimum:
        raise ScenarioError(where, f"must be >= {minimum:g}")
    if maximum is not None and value > maximum:
        raise ScenarioError(where, f"must be <= {maximum:g}")
    if above is not None and value <= above:
        raise ScenarioError(where, f"must be > {above:g}")
    return value


def _integer(value: Any, where: str, minimum: int | None = None) -> int:
    number = _number(value, where)
    if not number.is_integer():
        raise ScenarioError(where, "must be an integer")
    if minimum is not None and number < minimum:
        raise ScenarioError(where, f"must be >= {minimum}")
    return int(number)
