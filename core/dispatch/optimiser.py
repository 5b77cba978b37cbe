"""The dispatch linear programme, built with numpy arrays and solved with HiGHS (highspy).

Variables (kW unless noted), for each plugged step of each vehicle ("slot"):
    charge[j] >= 0 (<= Pc), discharge[j] >= 0 (<= Pd, only in the steps D of R3),
    energy[j] (kWh, battery energy at the end of the slot, between the floor and the capacity; only for
    vehicles that may discharge or whose taper may bind: one that only charges has a rising energy, bounded
    at departure);
for each vehicle: shortfall (kWh below its departure requirement, penalised);
for each step: site import, site export, import excess and export excess (penalised), export-request
rewards; and one peak import when there is a demand charge.
A vehicle with a charging taper (format section 13) charges at most the curve at the energy where the slot
starts: a linear row in the charge and the previous slot's energy, only in slots that could pass the taper.

The objective is the cost of format section 8, written the same way: import cost - export revenue +
demand charge on the peak + degradation on the battery side of every discharge - export-request rewards.
Violations are priced at `penalty_per_kwh`, far above any cost, so the plan first misses the departure
requirements and site bounds by as few kWh as possible (format section 10) and then costs the least.

Three things are not linear (format section 12). Small models (up to `exact_max_slots` plugged
vehicle-steps: a site of a few dozen vehicles over a day) handle them exactly with binaries, as a MIP;
large fleets, where a MIP would be slow, with warm-started LP re-solves that always keep the rules:
- A vehicle that charges and discharges in one step (it pays when energy must be wasted, e.g. with
  negative prices and a full battery). Caught after a solve; where netting the two to one power would
  overfill the battery: exact, a binary "charging or discharging" per slot of that vehicle; large, each
  such slot is fixed to the direction the LP mostly took.
- A site that imports and exports in one step, which looks profitable where the import price is below
  the export price plus the export-request rewards. Exact: a binary "import or export" per such step;
  large: each run of such steps is fixed to importing or to exporting, whichever costs less.
- Rule V6 for a vehicle that arrives below its floor. Exact: a "floor reached" binary per boundary,
  non-decreasing in time; discharge needs it, and once set the energy stays at or above the floor.
  Large: a first solve forbids those vehicles to discharge; a second lets each discharge from the
  boundary at which the first plan reached its floor, keeping the floor from there on (never worse than
  the first, but it may miss a plan that charges to the floor early only to discharge).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import highspy
import numpy as np

from .evaluate import battery_energy_kwh
from .problem import Scenario
from .taper import taper_limit_kw, taper_limits_kw, taper_row

INF = highspy.kHighsInf
BOTH_NONZERO_KW = 1e-7  # charge and discharge (or import and export) both above this: a conflict
MAX_SETTLING_ROUNDS = 12


# What the large-fleet path gave up, as reported in `OptimiserOutput.approximations`. Only the first keeps
# every charge-only plan (such as smart charging) within reach, so the plan never costs more than those.
FLOOR_BY_TWO_SOLVES = "below-floor vehicles discharge only after the floor their first plan reached"
VEHICLE_DIRECTIONS_FIXED = "charge or discharge fixed in steps where the LP did both"
SITE_DIRECTIONS_FIXED = "import or export fixed per run of steps where both looked profitable"


class SolverFailure(RuntimeError):
    """HiGHS did not return an optimal plan (time limit, numerical trouble, ...)."""


class Infeasible(SolverFailure):
    """HiGHS proved the model infeasible (only possible once directions are fixed)."""


@dataclass(frozen=True)
class OptimiserOutput:
    power_kw: np.ndarray  # (V, N) one signed power per vehicle and step
    objective: float  # the model's cost (format section 8), penalties excluded
    shortfall_kwh: np.ndarray  # (V,) kWh below the departure requirement E_req
    import_excess_kw: np.ndarray  # (N,) net import above its bound, forced by the fixed load
    export_excess_kw: np.ndarray  # (N,)
    solves: int  # HiGHS runs, including MIP re-solves
    binaries: int  # binaries added for exactness
    approximations: tuple[str, ...]  # what the large-fleet path gave up; empty when exact


@dataclass(frozen=True)
class HighsSettings:
    """HiGHS options. Dual simplex after presolve was fastest on 96-step fleets up to 1000 vehicles."""

    solver: str = "simplex"
    presolve: str = "on"
    threads: int = 1
    mip_rel_gap: float = 1e-7
    # Models with at most this many plugged vehicle-steps are solved exactly (binaries, MIP); larger
    # ones with the LP re-solves described at the top. Measured on 2 cores: the MIP of 50 vehicles over
    # 96 steps took 0.4 to 1.5 s and of 200 vehicles 3 to 9 s, against 0.05 and 0.3 s for their LPs.
    exact_max_slots: int = 1500


def optimise(
    scenario: Scenario, *, deadline: float, settings: HighsSettings = HighsSettings()
) -> OptimiserOutput:
    """Solve the dispatch LP of a scenario before `deadline` (a `time.perf_counter()` value).

    Small models are solved exactly; large ones by the LP re-solves described at the top, and exactly
    after all if those fixes leave no feasible direction. Raises `SolverFailure` when HiGHS cannot
    return an optimal plan in time.
    """
    exact = scenario.fleet.plugged.sum() <= settings.exact_max_slots
    try:
        return _optimise(scenario, deadline, settings, exact)
    except Infeasible:
        if exact:
            raise
        return _optimise(scenario, deadline, settings, exact=True)


def _optimise(scenario: Scenario, deadline: float, settings: HighsSettings, exact: bool) -> OptimiserOutput:
    model = _DispatchModel(scenario, exact)
    highs = model.make_highs(settings)
    below_floor = model.slot_below_floor & model.has_discharge
    if not below_floor.any():
        return _solve_exclusive(highs, model, deadline)
    if model.exact:
        _add_floor_indicators(highs, model, _floor_indicator_slots(model))
        return _solve_exclusive(highs, model, deadline)

    _set_discharge_upper(highs, model, ~below_floor)  # first solve: no discharge below the floor
    model.approximations.add(FLOOR_BY_TWO_SOLVES)
    first = _solve_exclusive(highs, model, deadline)
    switch = _floor_switch(model, first)
    if switch is None:
        return first
    try:
        second = _solve_exclusive(highs, model, deadline, floor_switch=switch)
    except SolverFailure:  # includes Infeasible: fixed directions may not suit the second solve
        return first  # keeps every rule; its below-floor vehicles just never discharge
    return replace(second, solves=first.solves + second.solves)


# --- the model --------------------------------------------------------------------------------------


class _DispatchModel:
    """Index arrays of every variable and the HiGHS model they form."""

    def __init__(self, scenario: Scenario, exact: bool):
        self.scenario = scenario
        self.exact = exact
        fleet, site = scenario.fleet, scenario.site
        n, dt = scenario.horizon_steps, scenario.dt_h
        self.n_vehicles = count = len(scenario.vehicles)

        # Slots: the plugged steps of every vehicle, vehicle by vehicle, in time order.
        steps_plugged = fleet.departure_step - fleet.arrival_step
        offset = np.concatenate([[0], np.cumsum(steps_plugged)])
        n_slots = int(offset[-1])
        slot_v = np.repeat(np.arange(count), steps_plugged)
        slot_t = np.arange(n_slots) - offset[slot_v] + fleet.arrival_step[slot_v]
        first = slot_t == fleet.arrival_step[slot_v]
        self.slot_v, self.slot_t = slot_v, slot_t
        eta = fleet.efficiency[slot_v]
        pc = fleet.charge_limit_kw[slot_v]
        pd = fleet.discharge_limit_kw[slot_v]
        self.has_charge = pc > 0
        self.has_discharge = fleet.discharge_allowed[slot_v, slot_t]
        self.slot_below_floor = fleet.arrives_below_floor[slot_v]

        # Taper (format section 13): charge <= the curve at the energy where the slot starts. The first slot
        # of a stay starts at E_arr, a bound on its column; later slots that could start past the taper get
        # a row (below) with the previous slot's energy. Vehicles without a taper get nothing.
        cap = fleet.capacity_kwh[slot_v]
        taper_start = fleet.taper_start_soc[slot_v]
        start_max_kwh = fleet.energy_arrival_kwh[slot_v] + eta * pc * dt * (slot_t - fleet.arrival_step[slot_v])
        taper_slot = self.has_charge & (taper_start < 1.0) & (start_max_kwh > taper_start * cap)
        charge_upper = pc.copy()
        at_arrival = taper_slot & first
        charge_upper[at_arrival] = taper_limit_kw(
            pc[at_arrival], fleet.energy_arrival_kwh[slot_v[at_arrival]] / cap[at_arrival], taper_start[at_arrival]
        )

        lp = _LpArrays()
        self.charge = lp.cols_where(self.has_charge, 0.0, charge_upper, 0.0)
        discharge_cost = scenario.degradation_cost_per_kwh * dt / eta  # battery side (R8)
        self.discharge = lp.cols_where(self.has_discharge, 0.0, pd, discharge_cost)

        # Battery energy is tracked step by step only for vehicles that may discharge somewhere, or whose
        # taper binds in some slot (its rows need the energy where the slot starts). Any other vehicle only
        # charges and has a rising energy, so only its departure energy is bounded (below by E_req, above by
        # the capacity) and its floor holds by itself.
        may_discharge = fleet.discharge_allowed.any(axis=1)
        self.may_discharge = may_discharge[slot_v]
        tracked_vehicle = may_discharge | (np.bincount(slot_v[taper_slot], minlength=count) > 0)
        self.tracked = tracked = tracked_vehicle[slot_v]
        energy_floor = np.where(self.slot_below_floor, 0.0, fleet.energy_floor_kwh[slot_v])
        self.energy = lp.cols_where(tracked, energy_floor, cap, 0.0)

        # Energy balance of every tracked slot: E[j] - E[j-1] - dt*eta*charge + dt/eta*discharge = 0, with
        # E[j-1] = E_arr (a constant) in the first slot of a stay.
        j = np.nonzero(tracked)[0]
        rhs = np.where(first[j], fleet.energy_arrival_kwh[slot_v[j]], 0.0)
        balance = np.full(n_slots, -1)
        balance[j] = lp.rows(len(j), rhs, rhs)
        lp.entries(balance[j], self.energy[j], 1.0)
        later = j[~first[j]]
        lp.entries(balance[later], self.energy[later - 1], -1.0)
        charged = j[self.has_charge[j]]
        lp.entries(balance[charged], self.charge[charged], -dt * eta[charged])
        discharged = np.nonzero(self.has_discharge)[0]  # all tracked
        lp.entries(balance[discharged], self.discharge[discharged], dt / eta[discharged])

        # Taper rows of the later slots: charge[j] + slope * E[j-1] <= intercept (all tracked).
        self.taper_slots = later_taper = np.nonzero(taper_slot & ~first)[0]
        slope, intercept = taper_row(pc[later_taper], cap[later_taper], taper_start[later_taper])
        taper_rows = lp.rows(len(later_taper), -INF, intercept)
        lp.entries(taper_rows, self.charge[later_taper], 1.0)
        lp.entries(taper_rows, self.energy[later_taper - 1], slope)

        # Departure requirement (R4) with a penalised shortfall, which keeps the model feasible when site
        # limits keep a vehicle from its requirement. Tracked: E at departure + shortfall >= E_req.
        # Charge-only: E_req - E_arr <= sum of dt*eta*charge + shortfall <= cap - E_arr.
        self.penalty_per_kwh = _penalty_per_kwh(scenario)
        self.stays = stays = np.nonzero(steps_plugged > 0)[0]
        required = fleet.energy_required_kwh[stays]
        self.shortfall = lp.cols(len(stays), 0.0, required, self.penalty_per_kwh)
        stay_tracked = tracked_vehicle[stays]
        e_arr = fleet.energy_arrival_kwh[stays]
        departure = lp.rows(
            len(stays),
            np.where(stay_tracked, required, required - e_arr),
            np.where(stay_tracked, INF, fleet.capacity_kwh[stays] - e_arr),
        )
        lp.entries(departure, self.shortfall, 1.0)
        last_slot = offset[stays + 1] - 1
        lp.entries(departure[stay_tracked], self.energy[last_slot[stay_tracked]], 1.0)
        row_of_stay = np.full(count, -1)
        row_of_stay[stays] = departure
        summed = np.nonzero(~tracked & self.has_charge)[0]
        lp.entries(row_of_stay[slot_v[summed]], self.charge[summed], dt * eta[summed])

        # Site: sum of vehicle powers - import + export = -(base load - PV) in every step.
        plugged_charge_kw = np.bincount(slot_t, weights=np.where(self.has_charge, pc, 0.0), minlength=n)
        plugged_discharge_kw = np.bincount(slot_t, weights=np.where(self.has_discharge, pd, 0.0), minlength=n)
        # What the vehicles can physically add or take bounds import and export (and sizes the big-M of
        # the import-or-export binaries).
        self.import_max_kw = np.maximum(0.0, site.fixed_net_kw + plugged_charge_kw)
        self.export_max_kw = np.maximum(0.0, plugged_discharge_kw - site.fixed_net_kw)
        self.site_import = lp.cols(n, 0.0, self.import_max_kw, dt * scenario.import_price)
        self.site_export = lp.cols(n, 0.0, self.export_max_kw, -dt * scenario.export_price)
        site_balance = lp.rows(n, -site.fixed_net_kw, -site.fixed_net_kw)
        lp.entries(site_balance[slot_t[self.has_charge]], self.charge[self.has_charge], 1.0)
        lp.entries(site_balance[slot_t[self.has_discharge]], self.discharge[self.has_discharge], -1.0)
        lp.entries(site_balance, self.site_import, -1.0)
        lp.entries(site_balance, self.site_export, 1.0)

        # S1 and S2 with penalised excess: import - export - import_excess <= L_imp, and the mirror.
        self.import_excess = lp.cols(n, 0.0, INF, dt * self.penalty_per_kwh)
        self.export_excess = lp.cols(n, 0.0, INF, dt * self.penalty_per_kwh)
        import_bound = lp.rows(n, -INF, site.import_bound_kw)
        lp.entries(import_bound, self.site_import, 1.0)
        lp.entries(import_bound, self.site_export, -1.0)
        lp.entries(import_bound, self.import_excess, -1.0)
        export_bound = lp.rows(n, -INF, np.full(n, site.export_limit_kw))
        lp.entries(export_bound, self.site_export, 1.0)
        lp.entries(export_bound, self.site_import, -1.0)
        lp.entries(export_bound, self.export_excess, -1.0)

        if scenario.demand_charge_per_kw > 0:  # peak >= import in every step
            # A peak below the billing period's peak so far costs nothing more: the peak column starts
            # there (0 for a plain scenario), so only raising the period's peak is charged.
            peak = lp.cols(1, scenario.demand_peak_floor_kw, INF, scenario.demand_charge_per_kw)
            peak_rows = lp.rows(n, -INF, 0.0)
            lp.entries(peak_rows, self.site_import, 1.0)
            lp.entries(peak_rows, np.repeat(peak, n), -1.0)

        # Export requests (R6, R7): reward on min(export, kw), concave, so exact with reward <= export.
        reward_per_kwh_now = np.zeros(n)
        for request in site.export_requests:
            if request.kw <= 0 or request.reward_per_kwh <= 0:
                continue
            steps = np.nonzero(request.active)[0]
            reward = lp.cols(len(steps), 0.0, request.kw, -dt * request.reward_per_kwh)
            reward_rows = lp.rows(len(steps), -INF, 0.0)
            lp.entries(reward_rows, reward, 1.0)
            lp.entries(reward_rows, self.site_export[steps], -1.0)
            reward_per_kwh_now[steps] += request.reward_per_kwh
        # Importing and exporting at once only looks profitable where the export pays more than import costs.
        self.site_nonconvex = scenario.import_price < scenario.export_price + reward_per_kwh_now

        self.lp = lp
        self.col_lower, self.col_upper, self.col_cost = lp.column_arrays()
        self.is_cost = np.ones(lp.n_cols, dtype=bool)  # which columns carry the format's cost
        for penalised in (self.shortfall, self.import_excess, self.export_excess):
            self.is_cost[penalised] = False
        self.pc, self.pd = pc, pd
        self.vehicles_with_binaries: set[int] = set()
        self.steps_settled: set[int] = set()  # non-convex steps with a binary or a fixed direction
        self.approximations: set[str] = set()

    def make_highs(self, settings: HighsSettings) -> highspy.Highs:
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("solver", settings.solver)
        highs.setOptionValue("presolve", settings.presolve)
        highs.setOptionValue("threads", settings.threads)
        highs.setOptionValue("mip_rel_gap", settings.mip_rel_gap)
        if settings.solver == "ipm":
            highs.setOptionValue("run_crossover", "on")  # a vertex: clean powers at their bounds
        _check(highs.passModel(self.lp.to_highs_lp()), "the model")
        return highs

    def powers(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Charge and discharge per slot from a solution vector, and the netted power matrix (V, N)."""
        charge = np.where(self.has_charge, x[np.maximum(self.charge, 0)], 0.0)
        discharge = np.where(self.has_discharge, x[np.maximum(self.discharge, 0)], 0.0)
        charge = np.clip(charge, 0.0, self.pc)
        discharge = np.clip(discharge, 0.0, self.pd)
        power = np.zeros((self.n_vehicles, self.scenario.horizon_steps))
        net = charge - discharge
        power[self.slot_v, self.slot_t] = np.where(np.abs(net) < 1e-9, 0.0, net)
        return charge, discharge, power


class _LpArrays:
    """Columns, rows and matrix entries of an LP, appended block by block as numpy arrays."""

    def __init__(self):
        self.n_cols = 0
        self.n_rows = 0
        self._cols: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def cols(self, count: int, lower, upper, cost) -> np.ndarray:
        index = np.arange(self.n_cols, self.n_cols + count)
        self._cols.append(
            tuple(np.broadcast_to(np.asarray(a, float), (count,)) for a in (lower, upper, cost))
        )
        self.n_cols += count
        return index

    def cols_where(self, mask: np.ndarray, lower, upper, cost) -> np.ndarray:
        """One column per True entry of `mask`; returns an index per entry, -1 where there is no column."""
        index = np.full(mask.shape, -1)
        pick = lambda a: np.broadcast_to(np.asarray(a, float), mask.shape)[mask]  # noqa: E731
        index[mask] = self.cols(int(mask.sum()), pick(lower), pick(upper), pick(cost))
        return index

    def rows(self, count: int, lower, upper) -> np.ndarray:
        index = np.arange(self.n_rows, self.n_rows + count)
        self._rows.append(tuple(np.broadcast_to(np.asarray(a, float), (count,)) for a in (lower, upper)))
        self.n_rows += count
        return index

    def entries(self, rows: np.ndarray, cols: np.ndarray, values) -> None:
        rows, cols = np.asarray(rows), np.asarray(cols)
        self._entries.append((rows, cols, np.broadcast_to(np.asarray(values, float), rows.shape)))

    def column_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.concatenate([c[i] for c in self._cols]) for i in range(3))

    def to_highs_lp(self) -> highspy.HighsLp:
        lower, upper, cost = self.column_arrays()
        rows = np.concatenate([e[0] for e in self._entries])
        cols = np.concatenate([e[1] for e in self._entries])
        values = np.concatenate([e[2] for e in self._entries])
        order = np.argsort(rows, kind="stable")
        start = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=self.n_rows))])

        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_cols, self.n_rows
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
        lp.row_lower_ = np.concatenate([r[0] for r in self._rows])
        lp.row_upper_ = np.concatenate([r[1] for r in self._rows])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.n_cols, self.n_rows
        lp.a_matrix_.start_ = start.astype(np.int32)
        lp.a_matrix_.index_ = cols[order].astype(np.int32)
        lp.a_matrix_.value_ = values[order]
        return lp


def _penalty_per_kwh(scenario: Scenario) -> float:
    """A price per kWh of violation far above what a kWh can be worth in the scenario's cost.

    A kWh moved through a battery is worth at most the largest price, reward, degradation and demand
    charge per kWh of one step, divided by eta twice (into a battery and out of another).
    """
    value = (
        np.abs(scenario.import_price).max()
        + np.abs(scenario.export_price).max()
        + sum(r.reward_per_kwh for r in scenario.site.export_requests)
        + scenario.degradation_cost_per_kwh
        + scenario.demand_charge_per_kw / scenario.dt_h
    )
    eta_min = scenario.fleet.efficiency.min(initial=1.0)
    return float(1000.0 * max(1.0, value) / eta_min**2)


# --- solving ------------------------------------------------------------------------------------------


def _floor_indicator_slots(model: _DispatchModel) -> np.ndarray:
    """Slots of below-floor vehicles that may discharge, from the second plugged step to the last step
    in which discharge is allowed: each gets a binary "floor reached at the boundary where it starts"."""
    fleet = model.scenario.fleet
    allowed = fleet.discharge_allowed
    last_allowed = np.where(allowed.any(axis=1), allowed.shape[1] - 1 - allowed[:, ::-1].argmax(axis=1), -1)
    v, t = model.slot_v, model.slot_t
    return np.nonzero(model.slot_below_floor & (t > fleet.arrival_step[v]) & (t <= last_allowed[v]))[0]


def _add_floor_indicators(highs: highspy.Highs, model: _DispatchModel, slots: np.ndarray) -> None:
    """Rule V6 exactly for vehicles that arrive below their floor (format section 12).

    z[j] = 1: the floor has been reached by the boundary at which slot j starts. z never falls back;
    discharge in slot j needs z[j] = 1; with z[j] = 1 the energy at both ends of slot j is at least the floor.
    The arrival slot has no z: it starts below the floor, so it never discharges.
    """
    arrival_slot = model.slot_below_floor & (model.slot_t == model.scenario.fleet.arrival_step[model.slot_v])
    _set_discharge_upper(highs, model, ~arrival_slot)
    count = len(slots)
    if count == 0:
        return
    z = _add_binaries(highs, count)
    floor = model.scenario.fleet.energy_floor_kwh[model.slot_v[slots]]
    rows, cols, values, lower, upper = [], [], [], [], []

    def row(entries, lo, up):
        index = len(lower)
        for col, value in entries:
            rows.append(index)
            cols.append(col)
            values.append(value)
        lower.append(lo)
        upper.append(up)

    previous = {int(j): k for k, j in enumerate(slots)}
    for k, j in enumerate(slots.tolist()):
        if j - 1 in previous:  # z never falls back within a stay
            row([(z[k], 1.0), (z[previous[j - 1]], -1.0)], 0.0, INF)
        row([(model.energy[j - 1], 1.0), (z[k], -floor[k])], 0.0, INF)  # energy where slot j starts
        row([(model.energy[j], 1.0), (z[k], -floor[k])], 0.0, INF)  # and where it ends
        if model.has_discharge[j]:
            row([(model.discharge[j], 1.0), (z[k], -model.pd[j])], -INF, 0.0)
    _add_rows(highs, np.array(rows), np.array(cols), np.array(values), np.array(lower), np.array(upper))


def _add_binaries(highs: highspy.Highs, count: int) -> np.ndarray:
    first = highs.getNumCol()
    index = np.arange(first, first + count, dtype=np.int32)
    empty = np.array([], np.int32)
    _check(
        highs.addCols(
            count, np.zeros(count), np.zeros(count), np.ones(count), 0, empty, empty, np.array([], float)
        ),
        "addCols",
    )
    integer = np.full(count, int(highspy.HighsVarType.kInteger), np.uint8)
    _check(highs.changeColsIntegrality(count, index, integer), "changeColsIntegrality")
    return index


def _add_rows(highs: highspy.Highs, rows, cols, values, lower, upper) -> None:
    """Append rows given as (row, col, value) entries with rows numbered from 0."""
    order = np.argsort(rows, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(lower)))[:-1]])
    _check(
        highs.addRows(
            len(lower),
            lower.astype(float),
            upper.astype(float),
            len(values),
            starts.astype(np.int32),
            cols[order].astype(np.int32),
            values[order].astype(float),
        ),
        "addRows",
    )


def _set_discharge_upper(highs: highspy.Highs, model: _DispatchModel, allowed: np.ndarray) -> None:
    slots = np.nonzero(model.has_discharge)[0]
    cols = model.discharge[slots].astype(np.int32)
    upper = np.where(allowed[slots], model.pd[slots], 0.0)
    _check(highs.changeColsBounds(len(cols), cols, np.zeros(len(cols)), upper), "changeColsBounds")


def _floor_switch(model: _DispatchModel, solution: OptimiserOutput) -> np.ndarray | None:
    """Per slot, the floor boundary b* of a below-floor vehicle in `solution`; None if nothing changes.

    b* is where the first plan reached the floor. From there the vehicle may discharge, down to the floor.
    """
    scenario = model.scenario
    fleet = scenario.fleet
    energy = battery_energy_kwh(scenario, solution.power_kw)
    stay = ~np.isnan(energy)
    reached = stay & (energy >= _floor_bound_kwh(fleet)[:, None])
    b_star = np.where(reached.any(axis=1), reached.argmax(axis=1), scenario.horizon_steps + 1)
    slot_b_star = b_star[model.slot_v]
    gains = model.slot_below_floor & model.has_discharge & (model.slot_t >= slot_b_star)
    return slot_b_star if gains.any() else None


def _solve_exclusive(
    highs: highspy.Highs,
    model: _DispatchModel,
    deadline: float,
    floor_switch: np.ndarray | None = None,
) -> OptimiserOutput:
    """Solve; where charge and discharge (or import and export) coincide, settle them and solve again."""
    if floor_switch is not None:
        _apply_floor_switch(highs, model, floor_switch)
    solves = 0
    for _ in range(MAX_SETTLING_ROUNDS):
        x = _run(highs, deadline)
        solves += 1
        slots, steps = _conflicts(model, x)
        if not len(slots) and not steps:
            return _output(model, x, solves)
        if model.exact:
            _add_exclusivity(highs, model, slots, steps)
        elif len(slots):  # settle vehicles first: a vehicle wasting energy distorts the site's choice
            _fix_vehicle_directions(highs, model, x, slots)
        else:
            solves += _fix_site_directions(highs, model, steps, deadline)
    raise SolverFailure("charge/discharge exclusivity did not settle")


def _apply_floor_switch(highs: highspy.Highs, model: _DispatchModel, b_star: np.ndarray) -> None:
    """Let below-floor vehicles discharge from b*, keeping the energy at or above the floor from b*."""
    fleet = model.scenario.fleet
    below = model.slot_below_floor
    _set_discharge_upper(highs, model, ~below | (model.slot_t >= b_star))
    # energy[j] is the energy at boundary slot_t + 1; the floor holds at every boundary >= b*. The first
    # plan is at or above the same bound there (it never discharged), so the bound never cuts it off.
    slots = np.nonzero(below & model.may_discharge & (model.slot_t + 1 >= b_star))[0]
    if len(slots):
        cols = model.energy[slots].astype(np.int32)
        lower = _floor_bound_kwh(fleet)[model.slot_v[slots]]
        _check(highs.changeColsBounds(len(cols), cols, lower, model.col_upper[cols]), "changeColsBounds")


def _check(status: highspy.HighsStatus, call: str) -> None:
    if status == highspy.HighsStatus.kError:
        raise SolverFailure(f"HiGHS refused {call}")


def _floor_bound_kwh(fleet) -> np.ndarray:
    """The floor used for below-floor vehicles once reached: a tenth of tolE under it, leaving the rest
    of the tolerance of section 9 for rounding in the solver."""
    return fleet.energy_floor_kwh - 0.1 * fleet.energy_tol_kwh


def _run(highs: highspy.Highs, deadline: float) -> np.ndarray:
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise SolverFailure("time limit reached before HiGHS could finish")
    highs.setOptionValue("time_limit", remaining)
    highs.run()
    status = highs.getModelStatus()
    if status == highspy.HighsModelStatus.kTimeLimit:
        raise SolverFailure("time limit reached before HiGHS could finish")
    if status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        raise Infeasible("HiGHS found the model infeasible")
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverFailure(f"HiGHS ended with status {highs.modelStatusToString(status)!r}")
    return np.asarray(highs.getSolution().col_value)


def _conflicts(model: _DispatchModel, x: np.ndarray) -> tuple[np.ndarray, set[int]]:
    """Slots that charge and discharge at once in vehicles where netting them would overfill the battery,
    and non-convex steps where the site imports and exports at once."""
    charge, discharge, power = model.powers(x)
    both = np.minimum(charge, discharge) > BOTH_NONZERO_KW
    both &= ~np.isin(model.slot_v, list(model.vehicles_with_binaries))  # exclusive up to MIP tolerance
    slots = np.array([], dtype=int)
    if both.any():
        # Netting to one power stores more energy than the LP had (eta*c - g/eta <= net effect), so it
        # keeps floors and targets; only the capacity (and a taper, below) can break.
        scenario = model.scenario
        candidates = np.unique(model.slot_v[both])
        energy = battery_energy_kwh(scenario, power)
        cap = scenario.fleet.capacity_kwh[candidates, None]
        over = np.nanmax(energy[candidates] - cap, axis=1) > 0.5 * scenario.fleet.energy_tol_kwh[candidates]
        # Netting raises the energy of later slots, which lowers their taper limit: that can break it too.
        _, lenient_kw, tapered = taper_limits_kw(scenario.fleet, energy)
        above = tapered & (power - lenient_kw > 0.5e-6 * np.maximum(1.0, lenient_kw))
        over |= above[candidates].any(axis=1)
        slots = np.nonzero(both & np.isin(model.slot_v, candidates[over]))[0]
    site_both = np.minimum(x[model.site_import], x[model.site_export]) > BOTH_NONZERO_KW
    steps = set(np.nonzero(site_both & model.site_nonconvex)[0].tolist()) - model.steps_settled
    return slots, steps


def _add_exclusivity(highs: highspy.Highs, model: _DispatchModel, slots: np.ndarray, steps: set[int]) -> None:
    """Exact: binary u per slot, charge <= Pc*u, discharge <= Pd*(1-u); binary y per step, import or export.

    Every slot of a conflicting vehicle, and every non-convex step, gets its binary at once, so one more
    round usually settles it.
    """
    vehicles = set(model.slot_v[slots].tolist())
    if vehicles:
        both = np.isin(model.slot_v, list(vehicles)) & model.has_charge & model.has_discharge
        j = np.nonzero(both)[0]
        _add_either_or(highs, model.charge[j], model.pc[j], model.discharge[j], model.pd[j])
        model.vehicles_with_binaries |= vehicles
    if steps:
        t = np.setdiff1d(np.nonzero(model.site_nonconvex)[0], list(model.steps_settled))
        _add_either_or(
            highs, model.site_import[t], model.import_max_kw[t], model.site_export[t], model.export_max_kw[t]
        )
        model.steps_settled |= set(t.tolist())


def _fix_vehicle_directions(highs: highspy.Highs, model: _DispatchModel, x: np.ndarray, slots) -> None:
    """Large models: each conflicting slot keeps only the direction the LP mostly took."""
    charge, discharge, _ = model.powers(x)
    charging = charge[slots] >= discharge[slots]
    closed = np.where(charging, model.discharge[slots], model.charge[slots]).astype(np.int32)
    zeros = np.zeros(len(closed))
    _check(highs.changeColsBounds(len(closed), closed, zeros, zeros), "changeColsBounds")
    model.approximations.add(VEHICLE_DIRECTIONS_FIXED)


def _fix_site_directions(
    highs: highspy.Highs, model: _DispatchModel, steps: set[int], deadline: float
) -> int:
    """Large models: each run of consecutive non-convex steps holding a conflict is fixed to importing or
    to exporting, whichever gives the lower objective (other runs as they stand). A run where neither
    direction is feasible as a whole is split into single steps. Returns the number of solves."""
    solves = 0
    runs = [run for run in _runs(model.site_nonconvex) if steps.intersection(run.tolist())]
    while runs:
        run = runs.pop(0)
        objective = {}
        for direction in ("import", "export"):
            _set_site_direction(highs, model, run, direction)
            solves += 1
            try:
                _run(highs, deadline)
            except Infeasible:
                continue
            objective[direction] = highs.getInfo().objective_function_value
        if not objective:
            if len(run) == 1:
                raise SolverFailure(f"no feasible import or export direction in step {run[0]}")
            _set_site_direction(highs, model, run, "both")
            runs = [run[i : i + 1] for i in range(len(run))] + runs
            continue
        best = min(objective, key=objective.get)
        if best != direction:
            _set_site_direction(highs, model, run, best)
        model.steps_settled |= set(run.tolist())
    model.approximations.add(SITE_DIRECTIONS_FIXED)
    return solves


def _set_site_direction(
    highs: highspy.Highs, model: _DispatchModel, steps: np.ndarray, direction: str
) -> None:
    """Let the site only "import", only "export", or do "both" in `steps` (a closed side's upper bound
    becomes zero)."""
    zeros = np.zeros(len(steps))
    import_upper = zeros if direction == "export" else model.import_max_kw[steps]
    export_upper = zeros if direction == "import" else model.export_max_kw[steps]
    cols = np.concatenate([model.site_import[steps], model.site_export[steps]]).astype(np.int32)
    upper = np.concatenate([import_upper, export_upper])
    _check(highs.changeColsBounds(len(cols), cols, np.zeros(len(cols)), upper), "changeColsBounds")


def _runs(mask: np.ndarray) -> list[np.ndarray]:
    """The runs of consecutive True entries of a boolean array, as index arrays."""
    index = np.nonzero(mask)[0]
    return np.split(index, np.nonzero(np.diff(index) > 1)[0] + 1) if len(index) else []


def _add_either_or(highs: highspy.Highs, a_cols, a_max, b_cols, b_max) -> None:
    """For each pair: a <= a_max * u and b <= b_max * (1 - u), u binary."""
    count = len(a_cols)
    if count == 0:
        return
    u = _add_binaries(highs, count)
    # Rows a - a_max*u <= 0 (row 2k) and b + b_max*u <= b_max (row 2k + 1).
    rows = np.repeat(np.arange(2 * count), 2)
    cols = np.column_stack([a_cols, u, b_cols, u]).reshape(-1)
    values = np.column_stack([np.ones(count), -np.asarray(a_max), np.ones(count), np.asarray(b_max)]).reshape(
        -1
    )
    upper = np.column_stack([np.zeros(count), np.asarray(b_max)]).reshape(-1)
    _add_rows(highs, rows, cols, values, np.full(2 * count, -INF), upper)


def _output(model: _DispatchModel, x: np.ndarray, solves: int) -> OptimiserOutput:
    _, _, power = model.powers(x)
    n_cost = model.lp.n_cols  # binaries added later have no cost
    shortfall = np.zeros(model.n_vehicles)
    shortfall[model.stays] = x[model.shortfall]
    return OptimiserOutput(
        power_kw=power,
        objective=float(np.dot(model.col_cost[model.is_cost], x[:n_cost][model.is_cost])),
        shortfall_kwh=shortfall,
        import_excess_kw=x[model.import_excess],
        export_excess_kw=x[model.export_excess],
        solves=solves,
        binaries=len(x) - n_cost,
        approximations=tuple(sorted(model.approximations)),
    )
