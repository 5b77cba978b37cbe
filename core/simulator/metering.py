"""The simulated charge point's physics: the power it draws, the battery it fills, the readings it takes.

`Metering` is mixed into core.simulator.chargepoint.SimulatedChargePoint and works on its state
(charger, vehicle, the profile stack, the energy registers). The power obeys the ruling charging
profile within every limit of charger, vehicle and battery (full charge without a profile); every
meter interval lets it flow, follows the vehicle's schedule and queues a reading.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from core.simulator.messages import QueuedMessage, Reading, wire_time
from core.simulator.vehicle import BMS_MIN_SOC


class Metering:
    """The physics side of SimulatedChargePoint (a mixin: it has no state of its own)."""

    def _step(self, at: datetime) -> None:
        """Let the current power flow from the last step until `at`."""
        if self._last_at is not None and self.plugged and self.vehicle is not None:
            seconds = (at - self._last_at).total_seconds()
            imported_kwh, exported_kwh = self.vehicle.run(self.power_kw, seconds, self.charger.efficiency)
            self.import_wh += imported_kwh * 1000.0
            self.export_wh += exported_kwh * 1000.0
        self._last_at = at

    def _decide(self, at: datetime) -> None:
        """Set the power the profiles (or, without any, full charge) ask for, within every limit,
        moving toward it no faster than the station ramps."""
        target = self.target_power_kw(at)
        ramp = self.realism.ramp_kw_per_s
        if ramp > 0 and self._decided_at is not None:
            most = ramp * max(0.0, (at - self._decided_at).total_seconds())
            target = min(self.power_kw + most, max(self.power_kw - most, target))
        self._set_power(at, target)
        self._decided_at = at
        self._wake_at_next_change(at)

    def _set_power(self, at: datetime, power_kw: float) -> None:
        """The power flowing from `at` on; with a journal, every change is noted (the soak's true site
        load: what a meter at the grid connection would see, not the 2-minute readings)."""
        if self.journal is not None and abs(power_kw - self.power_kw) >= 0.01:
            self.journal.power(self.charger.id, at, power_kw)
        self.power_kw = power_kw

    def _wake_at_next_change(self, at: datetime) -> None:
        """Decide again exactly when the profiles' next period begins (or one ends)."""
        if self._change_timer is not None:
            self._change_timer.cancel()
            self._change_timer = None
        change = self.stack.next_change_after(at, transaction_start=self.transaction_start)
        if change is None or not self.plugged:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not running (a unit test driving the physics by hand)
        delay_s = self.clock.sleep_seconds((change - at).total_seconds())
        self._change_timer = loop.call_later(max(0.0, delay_s), self._on_profile_change)

    def _on_profile_change(self) -> None:
        self._change_timer = None
        at = self.clock.now()
        self._step(at)
        self._decide(at)

    def target_power_kw(self, at: datetime) -> float:
        """The power at `at`: what the ruling profile asks, clamped to charger, vehicle and battery."""
        vehicle = self.vehicle
        if vehicle is None or not self.plugged:
            return 0.0
        charge_cap = min(self.charger.max_charge_kw, vehicle.charge_limit_kw())
        discharge_cap = min(self.charger.max_discharge_kw, vehicle.max_discharge_kw)
        offline_for_s = None if self.offline_since is None else (at - self.offline_since).total_seconds()
        period, station_max_kw = self.stack.period_at(
            at, transaction_id=self.transaction_id, transaction_start=self.transaction_start, offline_for_s=offline_for_s
        )
        if self.realism.ignores_profile:
            period, station_max_kw = None, None  # the faulty station: full power whatever it was told
        if period is None:
            target = charge_cap
        elif period.operation_mode == "Idle":
            target = 0.0
        elif period.setpoint_kw is not None and period.operation_mode != "ChargingOnly":
            target = period.setpoint_kw
            if target < 0 and not self.charger.discharges_on(setpoint=True):
                target = 0.0
            if period.limit_kw is not None:
                target = min(target, max(period.limit_kw, 0.0))
            if period.discharge_limit_kw is not None:
                target = max(target, period.discharge_limit_kw)
        elif period.limit_kw is not None:
            target = period.limit_kw
            if target < 0 and not self.charger.discharges_on(setpoint=False):
                target = 0.0  # a charge-only station reads a negative limit as "no power"
        else:
            target = charge_cap
        if station_max_kw is not None:
            target = min(target, station_max_kw)
        target = max(-discharge_cap if self.charger.max_discharge_kw > 0 else 0.0, min(charge_cap, target))
        if target > 0 and vehicle.soc >= 1.0:
            return 0.0
        if target < 0 and vehicle.soc <= BMS_MIN_SOC:
            return 0.0
        return target

    def _take_reading(self, at: datetime, *, context: str = "Sample.Periodic") -> Reading:
        if self.readings:
            # OCPP timestamps carry milliseconds, and the central system rightly merges readings of
            # one charger at one instant (a resent reading). So a reading taken within the same
            # millisecond as the previous one (a periodic tick just after plug-in, or just before
            # plug-out, when the loop runs both in one iteration) is stamped 1 ms later; else it
            # would be merged into the other and look lost.
            at = max(at, wire_time(self.readings[-1].at) + timedelta(milliseconds=1))
        noise = self.realism.meter_noise
        reading = Reading(
            at=at,
            power_kw=self.power_kw * (1.0 + self._noise.uniform(-noise, noise)) if noise else self.power_kw,
            soc=None if self.vehicle is None else self.vehicle.soc,
            import_wh=self.import_wh,
            export_wh=self.export_wh,
            context=context,
        )
        self.readings.append(reading)
        return reading

    async def _meter_loop(self) -> None:
        while True:
            await asyncio.sleep(self.clock.sleep_seconds(self.meter_interval_s))
            at = self.clock.now()
            self._step(at)
            if self.presence == "schedule" and self.vehicle is not None:
                here = self.vehicle.at_depot(at)
                if here and not self.plugged:
                    self._begin_transaction(at)
                    continue
                if self.plugged and not here:
                    self._end_transaction(at)
                    continue
            if self.plugged:
                self._decide(at)
                reading = self._take_reading(at)
                self._enqueue(QueuedMessage("sample", at, self.transaction_key, reading, seq_no=next(self._seq_no)))
