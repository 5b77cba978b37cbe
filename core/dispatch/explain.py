"""One short sentence per vehicle saying what its plan does first and why, for the operator.

The sentence is about the vehicle's first plugged step ("now" when it is plugged in at step 0), with the
scenario's time zone for clock times and its currency for money; without a start time, steps are shown
by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .problem import Scenario
from .taper import fastest_energy_kwh, taper_limit_kw

ACTIVE_KW = 1e-6
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "C$"}


@dataclass(frozen=True)
class Shortfall:
    """A vehicle that will leave below its target."""

    vehicle_id: str
    missing_kwh: float  # E_target - energy at departure
    cause: str  # "time", "power", "taper" (the battery takes less near full) or "site capacity"
    detail: str  # a human-readable account of the cause


class Clock:
    """Boundary indices as local clock times, and money in the scenario's currency."""

    def __init__(self, scenario: Scenario):
        self.step = timedelta(minutes=scenario.step_minutes)
        self.start = _parse_start(scenario.start)
        self.zone = _zone(scenario.timezone)
        self.symbol = CURRENCY_SYMBOLS.get(scenario.currency or "", scenario.currency or "")

    def at(self, boundary: int) -> str:
        """The clock time of a boundary in the site's time zone ("19:00"), or "step 28" without a start."""
        if self.start is None:
            return f"step {boundary}"
        moment = self.start + boundary * self.step
        if self.zone is None:
            return moment.strftime("%H:%M UTC")
        return moment.astimezone(self.zone).strftime("%H:%M")

    def price(self, per_kwh: float) -> str:
        return f"{per_kwh:.2f} {self.symbol}/kWh" if self.symbol else f"{per_kwh:.2f}/kWh"

    def per_kw(self, per_kw: float) -> str:
        return f"{per_kw:.2f} {self.symbol}/kW" if self.symbol else f"{per_kw:.2f}/kW"


def _parse_start(start: str | None) -> datetime | None:
    if start is None:
        return None
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def find_shortfalls(scenario: Scenario, energy_kwh: np.ndarray, net_kw: np.ndarray) -> list[Shortfall]:
    """Every vehicle that leaves below its target, by how many kWh and why.

    The cause is decided against what the vehicle could reach on its own, ignoring the site: if charging at
    its limit in every plugged step falls short of the target, the cause is "time" (too short a stay even at
    full power), "power" (its limit is zero, or its own limit is below the charger's and the charger's
    would have been enough) or "taper" (full power all the way would have been enough, but its battery
    takes less near full). Otherwise the site took it: "site capacity".
    """
    fleet, dt = scenario.fleet, scenario.dt_h
    clock = Clock(scenario)
    chargers = {c.id: c for c in scenario.chargers}
    found = []
    for v, vehicle in enumerate(scenario.vehicles):
        a, d = int(fleet.arrival_step[v]), int(fleet.departure_step[v])
        missing = fleet.energy_target_kwh[v] - energy_kwh[v, d]
        if missing <= fleet.energy_tol_kwh[v]:
            continue
        pc, eta = fleet.charge_limit_kw[v], fleet.efficiency[v]
        hours = (d - a) * dt
        if fleet.target_unreachable[v]:
            target_kwh = fleet.energy_target_kwh[v] - fleet.energy_tol_kwh[v]
            charger_kw = chargers[vehicle.charger].max_charge_kw
            at_charger_kwh = _reach_kwh(fleet, v, charger_kw, d - a, dt)
            untapered_kwh = fleet.energy_arrival_kwh[v] + eta * pc * dt * (d - a)
            if pc <= 0:
                cause, detail = "power", "no charging power (limit 0 kW)"
            elif pc < charger_kw and at_charger_kwh >= target_kwh:
                cause, detail = "power", f"the vehicle takes at most {pc:g} kW (charger {charger_kw:g} kW)"
            elif untapered_kwh >= target_kwh:
                reach = fleet.energy_reach_kwh[v] / fleet.capacity_kwh[v]
                cause = "taper"
                detail = (
                    f"the battery takes less above {fleet.taper_start_soc[v]:.0%}: "
                    f"at most {reach:.1%} in {hours:.1f} h"
                )
            else:
                needed_h = (fleet.energy_target_kwh[v] - fleet.energy_arrival_kwh[v]) / (eta * pc)
                cause, detail = "time", f"plugged in {hours:.1f} h, needs {needed_h:.1f} h at {pc:g} kW"
            site_kwh = fleet.energy_required_kwh[v] - energy_kwh[v, d]
            if site_kwh > fleet.energy_tol_kwh[v]:
                detail += f"; the site's import bound took another {site_kwh:.1f} kWh"
        else:
            cause, detail = "site capacity", _binding_import_bound(scenario, net_kw, a, d, clock)
        found.append(Shortfall(vehicle.id, float(missing), cause, detail))
    return found


def _binding_import_bound(scenario: Scenario, net_kw: np.ndarray, a: int, d: int, clock: Clock) -> str:
    """Which import bound was full during a stay: "grid import cap until 19:00" or the site limit."""
    site = scenario.site
    bound = site.import_bound_kw
    full = net_kw >= bound - 1e-6 * np.maximum(1.0, np.abs(bound)) - 1e-3
    full_steps = [t for t in range(a, d) if full[t]]
    if not full_steps:
        return "site limits"
    return _bound_name(scenario, full_steps[-1], clock, full)


def _bound_name(scenario: Scenario, t: int, clock: Clock, full: np.ndarray) -> str:
    """The import bound of step t, and the clock time at which its run of full steps ends."""
    end = t
    while end < scenario.horizon_steps and full[end]:
        end += 1
    if scenario.site.import_bound_kw[t] < scenario.import_limit_kw:
        return f"grid import cap until {clock.at(end)}"
    return f"site import limit {scenario.import_limit_kw:g} kW until {clock.at(end)}"


def explain(
    scenario: Scenario,
    power_kw: np.ndarray,
    energy_kwh: np.ndarray,
    net_kw: np.ndarray,
    shortfalls: list[Shortfall],
    fallback_reason: str | None = None,
) -> dict[str, str]:
    """A short reason per vehicle id, e.g. "charging now: cheapest hours before 07:00 departure".

    With `fallback_reason`, the plan is the safe fallback and every reason says so first.
    """
    clock = Clock(scenario)
    missing = {s.vehicle_id: s for s in shortfalls}
    value = _marginal_value_per_kwh(scenario, net_kw)
    reasons = {}
    for v, vehicle in enumerate(scenario.vehicles):
        shortfall = missing.get(vehicle.id)
        if fallback_reason is not None and shortfall is None and (power_kw[v] > ACTIVE_KW).any():
            text = "charges as early as limits allow, never discharges"
        else:
            text = _reason(scenario, v, power_kw[v], energy_kwh[v], net_kw, value, shortfall, clock)
        if fallback_reason is not None:
            text = f"safe fallback plan ({fallback_reason}): {text}"
        reasons[vehicle.id] = text
    return reasons


def _marginal_value_per_kwh(scenario: Scenario, net_kw: np.ndarray) -> np.ndarray:
    """What a kWh at the site is worth per step: the import price unless the site exports (a charge then
    forgoes, and a discharge earns, the export price plus the rewards of the export requests it fills)."""
    exporting = net_kw < -ACTIVE_KW
    value = np.where(exporting, scenario.export_price, scenario.import_price).astype(float)
    for request in scenario.site.export_requests:
        unfilled = request.active & exporting & (-net_kw <= request.kw + ACTIVE_KW)
        value[unfilled] += request.reward_per_kwh
    return value


def _reason(
    scenario: Scenario,
    v: int,
    power: np.ndarray,
    energy: np.ndarray,
    net_kw: np.ndarray,
    value: np.ndarray,
    shortfall: Shortfall | None,
    clock: Clock,
) -> str:
    fleet, site = scenario.fleet, scenario.site
    a, d = int(fleet.arrival_step[v]), int(fleet.departure_step[v])
    if a == d:
        return "not plugged in during this plan"
    target_pct = f"{min(scenario.vehicles[v].soc_target, 1.0):.0%}"
    floor_pct = f"{scenario.vehicles[v].soc_floor:.0%}"
    when = "now" if a == 0 else f"from {clock.at(a)}"
    leaving = (
        f"{clock.at(d)} departure" if d < scenario.horizon_steps else f"the end of the plan at {clock.at(d)}"
    )
    charging = np.nonzero(power > ACTIVE_KW)[0]
    discharging = np.nonzero(power < -ACTIVE_KW)[0]
    p0 = power[a]

    if shortfall is not None:
        soc = energy[a:d] / fleet.capacity_kwh[v]
        limit_kw = taper_limit_kw(fleet.charge_limit_kw[v], soc, fleet.taper_start_soc[v])
        full = np.all(power[a:d] >= limit_kw - ACTIVE_KW)
        action = "charging at full power" if full and fleet.charge_limit_kw[v] > 0 else "charging"
        if len(charging) == 0:
            action = "held"
        return (
            f"{action}: will miss its {target_pct} target by {shortfall.missing_kwh:.1f} kWh "
            f"({shortfall.cause}: {shortfall.detail})"
        )

    if p0 > ACTIVE_KW:
        later_discharge = discharging[discharging > a]
        if len(later_discharge):
            t = int(later_discharge[0])
            return (
                f"charging {when}: storing energy at {clock.price(value[a])} to discharge from "
                f"{clock.at(t)} at {clock.price(value[t])}"
            )
        if scenario.import_price[a] < 0:
            return f"charging {when}: negative price {clock.price(scenario.import_price[a])}"
        if net_kw[a] < -ACTIVE_KW:
            return f"charging {when}: using the site's surplus (exporting pays only {clock.price(value[a])})"
        needed_steps = _steps_at_full_power(fleet, v, scenario.dt_h)
        if needed_steps >= d - a:
            return f"charging {when} at full power: every step is needed to reach {target_pct} by {leaving}"
        return f"charging {when}: cheapest hours before {leaving}"

    if p0 < -ACTIVE_KW:
        floor = f"floor {floor_pct} respected"
        for request in site.export_requests:
            if request.active[a] and net_kw[a] < -ACTIVE_KW and request.reward_per_kwh > 0:
                return (
                    f"discharging {when}: grid export request pays {clock.price(request.reward_per_kwh)} "
                    f"until {clock.at(min(request.end_step, scenario.horizon_steps))}, {floor}"
                )
        peak = max(net_kw.max(initial=0.0), 0.0)
        if scenario.demand_charge_per_kw > 0 and net_kw[a] > 0 and net_kw[a] >= peak - 1e-3:
            return (
                f"discharging {when}: holding down the site's peak import "
                f"(demand charge {clock.per_kw(scenario.demand_charge_per_kw)}), {floor}"
            )
        if len(charging):
            grid_kwh = power[charging]
            cost = float(np.dot(grid_kwh, value[charging]) / grid_kwh.sum())
            return (
                f"discharging {when}: price {clock.price(value[a])} above the {clock.price(cost)} "
                f"it cost to charge, {floor}"
            )
        return (
            f"discharging {when}: price {clock.price(value[a])}, energy above its {target_pct} target, "
            f"{floor}"
        )

    needs_energy = energy[a] < fleet.energy_target_kwh[v] - fleet.energy_tol_kwh[v]
    bound = site.import_bound_kw
    full = net_kw >= bound - 1e-6 * np.maximum(1.0, np.abs(bound)) - 1e-3
    if needs_energy and full[a] and fleet.charge_limit_kw[v] > 0:
        return f"held {when}: {_bound_name(scenario, a, clock, full)}"
    later_charge = charging[charging > a]
    if len(later_charge):
        t = int(later_charge[0])
        if value[t] < value[a] - 1e-9:
            return (
                f"waiting {when}: charges from {clock.at(t)} at {clock.price(value[t])} "
                f"(now {clock.price(value[a])}), before {leaving}"
            )
        if scenario.demand_charge_per_kw > 0 and net_kw[a] >= max(net_kw.max(initial=0.0), 0.0) - 1e-3:
            return (
                f"waiting {when}: the site is at its peak import of {net_kw[a]:.1f} kW "
                f"(demand charge {clock.per_kw(scenario.demand_charge_per_kw)}); charges from {clock.at(t)}"
            )
        return f"waiting {when}: charges from {clock.at(t)}, before {leaving}"
    if len(discharging):
        t = int(discharging[0])
        return (
            f"waiting {when}: discharges from {clock.at(t)} at {clock.price(value[t])}, "
            f"floor {floor_pct} respected"
        )
    return "idle: target reached"


def _steps_at_full_power(fleet, v: int, dt: float) -> float:
    """Steps of charging at the vehicle's limit (its taper near full) that its target needs."""
    needed_kwh = fleet.energy_required_kwh[v] - fleet.energy_arrival_kwh[v]
    per_step_kwh = fleet.efficiency[v] * fleet.charge_limit_kw[v] * dt
    if per_step_kwh <= 0:
        return np.inf
    steps = needed_kwh / per_step_kwh - 1e-9
    if fleet.taper_start_soc[v] >= 1.0 or steps <= 0:
        return steps
    a, d = int(fleet.arrival_step[v]), int(fleet.departure_step[v])
    fastest = _fastest(fleet, v, fleet.charge_limit_kw[v], d - a, dt)
    reached = fastest >= fleet.energy_required_kwh[v] - fleet.energy_tol_kwh[v]
    if not reached.any():
        return np.inf
    m = int(reached.argmax())  # the last step, m - 1, may need only part of its energy
    part = (fleet.energy_required_kwh[v] - fastest[m - 1]) / (fastest[m] - fastest[m - 1])
    return m - 1 + part - 1e-9


def _fastest(fleet, v: int, max_kw: float, steps: int, dt: float) -> np.ndarray:
    """The energy at each boundary of vehicle v charging as fast as `max_kw` and its taper allow."""
    args = (fleet.energy_arrival_kwh, fleet.capacity_kwh, fleet.efficiency)
    return fastest_energy_kwh(*(a[v] for a in args), max_kw, fleet.taper_start_soc[v], steps, dt)[0]


def _reach_kwh(fleet, v: int, max_kw: float, steps: int, dt: float) -> float:
    """What vehicle v reaches in `steps` steps at `max_kw`, within its taper and its capacity."""
    return float(_fastest(fleet, v, max_kw, steps, dt)[-1])
