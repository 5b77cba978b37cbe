"""May this vehicle discharge now? The one answer, used by planning, controls, pages and profiles.

A vehicle discharges only when every one of these holds:
- the charger is bidirectional (max_discharge_kw > 0) and its protocol can carry a discharge
  setpoint: OCPP 2.1 natively, 1.6 / 2.0.1 only where the charger is registered as accepting
  negative limits (a vendor extension);
- the operator has not switched V2G off on the charger, nor on the vehicle;
- the vehicle can discharge at all (max_discharge_kw > 0);
- its SoC is known and fresh (a stale or unknown SoC is treated as the floor: no discharge).
V2G windows and the SoC floor then bound *when* and *how much* (core.windows, the optimiser).

The functions take the model objects (or anything with the same attributes); this module imports
no models so that every layer can use it.
"""

from __future__ import annotations

from typing import Any

# The OCPP version whose charging profiles carry a negative (discharge) limit as standard.
NATIVE_DISCHARGE_PROTOCOL = "2.1"


def protocol_can_discharge(protocol: str, *, accepts_negative_limits: bool = False) -> bool:
    """Whether a charging profile of this OCPP version can carry a discharge limit for this charger."""
    return protocol == NATIVE_DISCHARGE_PROTOCOL or bool(accepts_negative_limits)


def charger_can_discharge(charger: Any) -> bool:
    """The charger's hardware and protocol allow discharge (operator switches aside)."""
    return charger.max_discharge_kw > 0 and protocol_can_discharge(
        charger.protocol, accepts_negative_limits=charger.accepts_negative_limits
    )


def charger_discharge_note(charger: Any) -> str:
    """What the charger can do, in words for the Chargers page."""
    if charger.max_discharge_kw <= 0:
        return "one-way"
    if charger.protocol == NATIVE_DISCHARGE_PROTOCOL:
        return "V2X (OCPP 2.1)"
    if charger.accepts_negative_limits:
        return f"discharge via negative limits (OCPP {charger.protocol}, vendor)"
    return f"charge only: OCPP {charger.protocol} has no standard discharge"


def discharge_blocked_reason(vehicle: Any, charger: Any | None, *, soc_known: bool = True) -> str | None:
    """None when this vehicle on this charger may discharge now; else why not, in words."""
    if charger is None:
        return "the vehicle is not plugged in"
    if not charger_can_discharge(charger):
        if charger.max_discharge_kw <= 0:
            return f"charger {charger.id} is one-way"
        return f"charger {charger.id} is charge-only (OCPP {charger.protocol} has no standard discharge)"
    if charger.v2g_off:
        return f"V2G is off on charger {charger.id}"
    if not vehicle.v2g_allowed:
        return f"V2G is off for {vehicle.name}"
    if vehicle.max_discharge_kw <= 0:
        return f"{vehicle.name} cannot discharge"
    if not soc_known:
        return f"{vehicle.name}'s state of charge is unknown or stale"
    return None


def may_discharge(vehicle: Any, charger: Any | None, *, soc_known: bool = True) -> bool:
    """Whether this vehicle on this charger may discharge now (see the module docstring)."""
    return discharge_blocked_reason(vehicle, charger, soc_known=soc_known) is None


def effective_soc_floor(vehicle: Any, site: Any) -> float:
    """The vehicle's own floor, else the fleet default, never below the site's hard floor."""
    own = vehicle.soc_floor if vehicle.soc_floor is not None else site.default_soc_floor
    return max(own, site.hard_soc_floor)
