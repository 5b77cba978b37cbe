"""The OCPP clients of the simulated charge point (the charger side of the ocpp library), per version.

Each answers the central system's SetChargingProfile and ClearChargingProfile by handing the profile
to the charge point (`ProfileTarget`, i.e. core.simulator.chargepoint.SimulatedChargePoint).
"""

from __future__ import annotations

from typing import Protocol

from ocpp.routing import on
from ocpp.v16 import ChargePoint as Client16Base
from ocpp.v21 import ChargePoint as Client21Base
from ocpp.v201 import ChargePoint as Client201Base


class ProfileTarget(Protocol):
    """What a client hands the profiles it receives to."""

    def on_set_charging_profile(self, raw_profile: dict) -> str: ...

    def on_clear_charging_profile(self, *, profile_id=None, purpose=None, stack_level=None) -> str: ...


class Client16(Client16Base):
    """OCPP 1.6: profiles arrive as cs_charging_profiles of a connector."""

    def __init__(self, charger_id, connection, *, sim: ProfileTarget, response_timeout: float):
        super().__init__(charger_id, connection, response_timeout=response_timeout)
        self.sim = sim

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_):
        return self._call_result.SetChargingProfile(status=self.sim.on_set_charging_profile(cs_charging_profiles))

    @on("ClearChargingProfile")
    def on_clear_charging_profile(
        self,
        id=None,
        connector_id=None,
        charging_profile_purpose=None,  # noqa: A002
        stack_level=None,
        **_,
    ):
        status = self.sim.on_clear_charging_profile(
            profile_id=id, purpose=charging_profile_purpose, stack_level=stack_level
        )
        return self._call_result.ClearChargingProfile(status=status)


class Client2x:
    """OCPP 2.0.1 and 2.1 (the same handlers): profiles arrive for an EVSE."""

    def __init__(self, charger_id, connection, *, sim: ProfileTarget, response_timeout: float):
        super().__init__(charger_id, connection, response_timeout=response_timeout)
        self.sim = sim

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id: int, charging_profile: dict, **_):
        return self._call_result.SetChargingProfile(status=self.sim.on_set_charging_profile(charging_profile))

    @on("ClearChargingProfile")
    def on_clear_charging_profile(self, charging_profile_id=None, charging_profile_criteria=None, **_):
        criteria = charging_profile_criteria or {}
        status = self.sim.on_clear_charging_profile(
            profile_id=charging_profile_id,
            purpose=criteria.get("charging_profile_purpose"),
            stack_level=criteria.get("stack_level"),
        )
        return self._call_result.ClearChargingProfile(status=status)


class Client201(Client2x, Client201Base):
    """OCPP 2.0.1."""


class Client21(Client2x, Client21Base):
    """OCPP 2.1."""


CLIENTS = {"1.6": Client16, "2.0.1": Client201, "2.1": Client21}  # by OCPP version
