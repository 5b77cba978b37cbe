"""A simulated vehicle: its battery, and when it is at the depot.

Energy is counted at the charger's meter (grid side). Charging stores `power x efficiency` in the
battery; discharging takes `power / efficiency` out of it (the losses are the vehicle's either way),
so the SoC follows the metered power exactly as the console sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.rules.taper import NO_TAPER, charge_limit_kw, default_taper_start_soc

# The vehicle's own battery management never lets it go lower than this, whatever is asked.
BMS_MIN_SOC = 0.05


@dataclass
class SimVehicle:
    """One vehicle of the fleet, with the state of its battery."""

    id: str
    id_tag: str
    kind: str
    battery_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    target_soc: float
    arrival_soc: float
    usual_arrival: str  # local HH:MM
    usual_departure: str  # local HH:MM
    timezone: str
    soc: float = 0.0
    taper_start_soc: float = NO_TAPER  # where its charging power starts to fall (core.rules.taper)

    def __post_init__(self):
        if not self.soc:
            self.soc = self.arrival_soc

    @classmethod
    def from_demo(cls, vehicle, timezone: str, *, taper: bool = False) -> SimVehicle:
        """From a core.demo.DemoVehicle and the site's time zone; `taper`: the kind's CC/CV taper."""
        return cls(
            id=vehicle.id,
            id_tag=vehicle.id_tag,
            kind=vehicle.kind,
            battery_kwh=vehicle.battery_kwh,
            max_charge_kw=vehicle.max_charge_kw,
            max_discharge_kw=vehicle.max_discharge_kw,
            target_soc=vehicle.target_soc,
            arrival_soc=vehicle.arrival_soc,
            usual_arrival=vehicle.usual_arrival,
            usual_departure=vehicle.usual_departure,
            timezone=timezone,
            taper_start_soc=NO_TAPER if not taper else default_taper_start_soc(vehicle.kind),
        )

    def charge_limit_kw(self) -> float:
        """The most the battery takes now (its taper near full)."""
        return charge_limit_kw(self.max_charge_kw, self.soc, self.taper_start_soc)

    # -- when it is there --

    def at_depot(self, at: datetime) -> bool:
        """Whether its usual day has it at the depot at `at` (arrival to departure, across midnight)."""
        minute = _local_minute(at, self.timezone)
        arrive, leave = _minute_of(self.usual_arrival), _minute_of(self.usual_departure)
        if arrive <= leave:
            return arrive <= minute < leave
        return minute >= arrive or minute < leave

    def next_departure(self, at: datetime) -> datetime:
        """The next time, after `at`, that it usually leaves (aware, same zone as `at`)."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        hour, minute = divmod(_minute_of(self.usual_departure), 60)
        candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if candidate <= local:
            candidate = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
        return candidate.astimezone(at.tzinfo)

    def energy_to_target_kwh(self) -> float:
        """Battery energy still missing to its target SoC (0 when above it)."""
        return max(0.0, (self.target_soc - self.soc) * self.battery_kwh)

    # -- the battery --

    def run(self, power_kw: float, seconds: float, efficiency: float) -> tuple[float, float]:
        """Let `power_kw` flow (at the meter) for `seconds`; returns the metered (import, export) kWh.

        Stops early when the battery is full or at the BMS minimum, so the metered energy is what
        really flowed.
        """
        if seconds <= 0 or power_kw == 0:
            return 0.0, 0.0
        hours = seconds / 3600.0
        if power_kw > 0:
            room_kwh = max(0.0, (1.0 - self.soc) * self.battery_kwh)
            stored_kwh = min(power_kw * efficiency * hours, room_kwh)
            self.soc = min(1.0, self.soc + stored_kwh / self.battery_kwh)
            return stored_kwh / efficiency, 0.0
        available_kwh = max(0.0, (self.soc - BMS_MIN_SOC) * self.battery_kwh)
        taken_kwh = min(-power_kw / efficiency * hours, available_kwh)
        self.soc = max(BMS_MIN_SOC, self.soc - taken_kwh / self.battery_kwh)
        return 0.0, taken_kwh * efficiency


def _minute_of(hhmm: str) -> int:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return hour * 60 + minute


def _local_minute(at: datetime, timezone: str) -> int:
    local = at.astimezone(ZoneInfo(timezone))
    return local.hour * 60 + local.minute
