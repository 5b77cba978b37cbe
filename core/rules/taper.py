"""Charging taper near full: a battery takes its full power only up to a point (constant current),
then less and less as it nears 100 % (constant voltage). Plans and the simulator use the same curve.

The curve is linear from the vehicle's full charging power at `taper_start_soc` down to
`MIN_TAPER_FRACTION` of it at 100 %: a simple CC/CV model that is close enough for 15-minute plans
(the real curve is convex; linear errs on the slow side above ~90 %, which is the safe side).
"""

from __future__ import annotations

MIN_TAPER_FRACTION = 0.1
# Where the taper starts when the vehicle's own figure is not known: buses and vans (large packs,
# LFP/NMC) hold full power longer than cars.
DEFAULT_TAPER_START_SOC = {"bus": 0.85, "van": 0.8, "car": 0.8}
NO_TAPER = 1.0


def default_taper_start_soc(kind: str) -> float:
    """The taper start of a vehicle of this kind (bus, van, car)."""
    return DEFAULT_TAPER_START_SOC.get(kind, 0.8)


def taper_start_soc_of(vehicle) -> float:
    """Where this vehicle's taper starts: its own figure when an admin set one (Vehicle.taper_start_soc),
    else the default of its kind."""
    own = getattr(vehicle, "taper_start_soc", None)
    return own if own is not None else default_taper_start_soc(vehicle.kind)


def charge_limit_kw(max_charge_kw: float, soc: float, taper_start_soc: float = NO_TAPER) -> float:
    """The most a battery at `soc` (0-1) takes, given its full power and where its taper starts."""
    if soc <= taper_start_soc or taper_start_soc >= 1.0:
        return max_charge_kw if soc < 1.0 else 0.0
    if soc >= 1.0:
        return 0.0
    left = (1.0 - soc) / (1.0 - taper_start_soc)
    return max_charge_kw * (MIN_TAPER_FRACTION + (1.0 - MIN_TAPER_FRACTION) * left)
