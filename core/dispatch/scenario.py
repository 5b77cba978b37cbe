"""The checked, typed `v2g-scenario/1` and the quantities derived from it.

`Scenario` holds a valid document (format section 2; build it with `core.dispatch.problem.parse_scenario`).
`Scenario.fleet` holds the section 4 quantities as numpy arrays (one row per vehicle) and
`Scenario.site` the per-step site bounds, so the optimiser, the baselines and `evaluate` all read the
same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .taper import fastest_energy_kwh


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
    # Extension, not in v2g-scenario/1 (format section 13): where the charging taper starts; 1 = none.
    taper_start_soc: float = 1.0


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
    energy_reach_kwh: np.ndarray  # E_reach: charging at Pc (or its taper) in every plugged step
    energy_required_kwh: np.ndarray  # E_req = min(E_target, E_reach)   (R4)
    target_unreachable: np.ndarray  # bool: E_target > E_reach + tolE
    arrives_below_floor: np.ndarray  # bool: E_arr < E_floor - tolE
    energy_tol_kwh: np.ndarray  # tolE = 1e-6 * max(1, cap)
    plugged: np.ndarray  # bool (V, N): plugged in during step t
    discharge_allowed: np.ndarray  # bool (V, N): the steps D of R3
    taper_start_soc: np.ndarray  # extension (section 13): where the charging taper starts; 1 = no taper


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
                    ExportRequest(active, signal.kw, signal.reward_per_kwh, signal.start_step, signal.end_step)
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
        discharge_limit = column(_limit(chargers[v.charger].max_discharge_kw, v.max_discharge_kw) for v in vehicles)
        e_arr = column(v.soc_arrival for v in vehicles) * cap
        e_floor = column(v.soc_floor for v in vehicles) * cap
        e_target = np.minimum(column(v.soc_target for v in vehicles), 1.0) * cap
        steps_plugged = departure - arrival
        e_reach = np.minimum(cap, e_arr + eta * charge_limit * dt * steps_plugged)
        taper_start = column(v.taper_start_soc for v in vehicles)
        tapered = np.nonzero(taper_start < 1.0)[0]
        if len(tapered):  # the fastest charge follows the taper: step by step
            trajectory = fastest_energy_kwh(
                *(a[tapered] for a in (e_arr, cap, eta, charge_limit, taper_start, steps_plugged)), dt
            )
            e_reach[tapered] = trajectory[np.arange(len(tapered)), steps_plugged[tapered]]
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
            taper_start_soc=taper_start,
        )


def _limit(charger_kw: float, vehicle_kw: float | None) -> float:
    """Effective limit: the charger's, lowered by the vehicle's own when it has one."""
    return charger_kw if vehicle_kw is None else min(charger_kw, vehicle_kw)
