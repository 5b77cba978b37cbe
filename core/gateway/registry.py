"""The registry of connected charge points, with the commands the rest of the gateway may give them."""

from __future__ import annotations

from core.gateway.charge_point import CommandAnswer, GatewayChargePoint

OFFLINE = CommandAnswer("Offline", {"error": "charger not connected"})


class Registry:
    """Charger id -> its live connection; at most one per charger (the newest)."""

    def __init__(self) -> None:
        self._by_id: dict[str, GatewayChargePoint] = {}

    def add(self, charge_point: GatewayChargePoint) -> GatewayChargePoint | None:
        """Register a new connection; returns the one it replaces (still open: close it)."""
        previous = self._by_id.get(charge_point.id)
        self._by_id[charge_point.id] = charge_point
        return previous if previous is not charge_point else None

    def discard(self, charge_point: GatewayChargePoint) -> bool:
        """Forget a connection that ended; False when a newer one of the charger already replaced it."""
        if self._by_id.get(charge_point.id) is charge_point:
            del self._by_id[charge_point.id]
            return True
        return False

    def get(self, charger_id: str) -> GatewayChargePoint | None:
        return self._by_id.get(charger_id)

    def __contains__(self, charger_id: str) -> bool:
        return charger_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    async def set_charging_profile(self, charger_id: str, payload: dict) -> CommandAnswer:
        """SetChargingProfile on a charger (payload in wire form, from core.charging_profiles)."""
        return await self.send(charger_id, action="set", payload=payload)

    async def clear_charging_profile(self, charger_id: str, payload: dict) -> CommandAnswer:
        """ClearChargingProfile on a charger (payload in wire form, from core.charging_profiles)."""
        return await self.send(charger_id, action="clear", payload=payload)

    async def send(self, charger_id: str, *, action: str, payload: dict) -> CommandAnswer:
        """An outbox command ("set", "default" or "clear"); Offline when the charger is not connected."""
        charge_point = self._by_id.get(charger_id)
        if charge_point is None:
            return OFFLINE
        return await charge_point.send_command(action=action, payload=payload)
