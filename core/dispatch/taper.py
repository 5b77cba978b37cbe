"""Charging taper near full, the engine's extension of v2g-scenario/1 (format section 13).

A vehicle with `taper_start_soc` s0 < 1 takes its full power Pc up to s0, then linearly less, down to
`MIN_TAPER_FRACTION` of Pc at 100 %. The limit of a step is the curve at the SoC where the step starts.

This curve MUST EQUAL `core.rules.taper.charge_limit_kw`, the one the simulator and the departure
forecast use. core/dispatch may not import core.rules (both rank 2, pure), so the curve is written again
here, vectorised; tests/dispatch/test_dispatch_taper.py checks that the two give the same numbers.
"""

from __future__ import annotations

import numpy as np

MIN_TAPER_FRACTION = 0.1  # must equal core.rules.taper.MIN_TAPER_FRACTION
NO_TAPER = 1.0


def taper_limit_kw(max_kw, soc, taper_start_soc) -> np.ndarray:
    """The most a battery at `soc` (0-1) takes, given its full power and where its taper starts
    (arrays broadcast): full power up to the taper start, then linear down to a tenth at 100 %, 0 when full."""
    max_kw, soc, start = np.broadcast_arrays(*(np.asarray(a, float) for a in (max_kw, soc, taper_start_soc)))
    left = (1.0 - soc) / np.where(start < 1.0, 1.0 - start, 1.0)
    tapered = max_kw * (MIN_TAPER_FRACTION + (1.0 - MIN_TAPER_FRACTION) * left)
    limit = np.where((soc <= start) | (start >= 1.0), max_kw, tapered)
    return np.where(soc >= 1.0, 0.0, limit)


def taper_row(max_kw, capacity_kwh, taper_start_soc) -> tuple[np.ndarray, np.ndarray]:
    """The tapered part of the curve as `charge + slope * E_start <= intercept` (kW per kWh, kW): the same
    line, written in the battery energy at the start of the step. Only for taper starts below 1."""
    span = np.asarray(capacity_kwh) * (1.0 - np.asarray(taper_start_soc))
    slope = max_kw * (1.0 - MIN_TAPER_FRACTION) / span
    return slope, max_kw * MIN_TAPER_FRACTION + slope * capacity_kwh


def fastest_energy_kwh(e_arr, cap, eta, max_kw, taper_start_soc, steps, dt: float) -> np.ndarray:
    """Battery energy (V, max(steps) + 1) at the boundaries of charging as fast as the taper allows, from
    `e_arr` for `steps` steps (each vehicle's own count; its energy stays put after them), never past `cap`."""
    e_arr, cap, eta, max_kw, start, steps = (
        np.atleast_1d(np.asarray(a)) for a in (e_arr, cap, eta, max_kw, taper_start_soc, steps)
    )
    energy = np.empty((len(e_arr), int(steps.max(initial=0)) + 1))
    energy[:, 0] = e_arr
    for k in range(energy.shape[1] - 1):
        now = energy[:, k]
        kw = taper_limit_kw(max_kw, now / cap, start)
        energy[:, k + 1] = np.where(k < steps, np.minimum(cap, now + eta * dt * kw), now)
    return energy


def taper_limits_kw(fleet, energy_kwh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per step (V, N): the taper limit at the energy where the step starts, the same one energy tolerance
    (tolE) lower (what rule V8 checks against, so a plan that keeps the curve up to rounding of the energy
    is not flagged), and which steps are checked: the plugged steps of vehicles with a taper."""
    cap = fleet.capacity_kwh[:, None]
    start_kwh = np.nan_to_num(energy_kwh[:, :-1])
    pc, taper_start = fleet.charge_limit_kw[:, None], fleet.taper_start_soc[:, None]
    limit = taper_limit_kw(pc, start_kwh / cap, taper_start)
    lenient = taper_limit_kw(pc, (start_kwh - fleet.energy_tol_kwh[:, None]) / cap, taper_start)
    return limit, lenient, fleet.plugged & (taper_start < 1.0)
