"""The facts of a simulated charger, as registered at the central system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimCharger:
    """The facts of a simulated charger (as registered at the central system)."""

    id: str
    protocol: str  # "1.6", "2.0.1", "2.1"
    password: str
    max_charge_kw: float
    max_discharge_kw: float = 0.0
    efficiency: float = 0.95
    accepts_negative_limits: bool = False
    vendor: str = "V2G Console"
    model: str = "Simulator"

    @classmethod
    def from_demo(cls, charger) -> SimCharger:
        """From a core.demo.DemoCharger."""
        return cls(
            id=charger.id,
            protocol=charger.protocol,
            password=charger.password,
            max_charge_kw=charger.max_charge_kw,
            max_discharge_kw=charger.max_discharge_kw,
            efficiency=charger.efficiency,
            accepts_negative_limits=charger.accepts_negative_limits,
            vendor=charger.vendor or "V2G Console",
            model=charger.model or "Simulator",
        )

    def discharges_on(self, *, setpoint: bool) -> bool:
        """Whether it discharges on a negative 2.1 setpoint (`setpoint`) or on a negative limit."""
        if self.max_discharge_kw <= 0:
            return False
        if setpoint:
            return self.protocol == "2.1"
        return self.protocol == "2.1" or self.accepts_negative_limits
