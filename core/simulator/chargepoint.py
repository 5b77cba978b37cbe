"""A simulated charge point with its vehicle, speaking real OCPP 1.6, 2.0.1 or 2.1 to any central system.

It behaves like a well-made station:
* connects with HTTP Basic auth (ws:// or wss://) and reconnects with exponential back-off;
* sends BootNotification once per power-up (not on every reconnect, OCPP-J 2.0.1 §5.3), then its status;
* on the vehicle's arrival starts a transaction with the vehicle's id tag (1.6 StartTransaction,
  2.x TransactionEvent Started) and, on 2.x, NotifyEVChargingNeeds with departure time and energy;
* every meter interval reports power, energy registers and SoC (1.6 MeterValues, 2.x TransactionEvent
  Updated), computed from the metered power and the charger's efficiency;
* obeys the charging profiles it is sent (see profile_stack.py), discharge included where the charger
  and its protocol allow it; with no profile it charges at full power until the battery is full;
* keeps every transaction message in an ordered queue while offline and sends them after reconnecting,
  each until answered (the central system merges a resent reading by charger and time).

Time is the console's clock (core.clock): at speed 60 a 10 s meter interval passes in 1/6 s.
Use from tests:  `cp = SimulatedChargePoint(...); await cp.start(); ...; await cp.stop()`.

This module holds the charge point's state, life cycle, transactions and profile handling; its
physics are in metering.py, its connection in connection.py, its messages in messages.py and its
OCPP clients in clients.py. `SimCharger` (charger.py) and `Reading` are importable from here too.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import ssl
from collections import deque
from datetime import datetime, timedelta

from websockets.asyncio.client import ClientConnection

from core.clock import Clock, get_clock
from core.simulator.charger import SimCharger
from core.simulator.connection import OcppConnection
from core.simulator.journal import Journal
from core.simulator.messages import QueuedMessage, Reading
from core.simulator.metering import Metering
from core.simulator.profile_stack import ProfileStack, asks_for_discharge, profile_from_request
from core.simulator.realism import IDEAL, Realism
from core.simulator.vehicle import SimVehicle

__all__ = ["PRESENCES", "Reading", "SimCharger", "SimulatedChargePoint"]

log = logging.getLogger(__name__)

PRESENCES = ("schedule", "plugged", "manual")


class SimulatedChargePoint(Metering, OcppConnection):
    """One charge point (one connector / EVSE 1) with at most one vehicle.

    `presence`: "schedule" follows the vehicle's usual arrival and departure, "plugged" has it
    plugged in from the start and staying, "manual" waits for `plug_in()` / `unplug()`.
    """

    def __init__(
        self,
        *,
        charger: SimCharger,
        vehicle: SimVehicle | None,
        url: str,
        meter_interval_s: float = 10.0,
        presence: str = "schedule",
        clock: Clock | None = None,
        ssl_context: ssl.SSLContext | None = None,
        response_timeout_s: float = 10.0,
        backoff_min_s: float = 1.0,
        backoff_max_s: float = 30.0,
        password: str | None = None,
        realism: Realism = IDEAL,
        journal: Journal | None = None,
    ):
        if presence not in PRESENCES:
            raise ValueError(f"presence must be one of {PRESENCES}, got {presence!r}")
        self.charger = charger
        self.vehicle = vehicle
        self.url = url
        self.meter_interval_s = meter_interval_s
        self.presence = presence
        self.clock = clock or get_clock()
        self.ssl_context = ssl_context
        self.response_timeout_s = response_timeout_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.password = charger.password if password is None else password
        self.realism = realism
        self.journal = journal  # what it did, for the soak benchmark (core.simulator.journal)
        self._noise = random.Random(charger.id)  # meter noise, repeatable per charger

        self.stack = ProfileStack()
        self.plugged = False
        self.power_kw = 0.0
        self.import_wh = 0.0
        self.export_wh = 0.0
        self.transaction_key: str | None = None
        self.transaction_start: datetime | None = None
        self.booted = False
        self.offline_since: datetime | None = None  # when the station lost its central system
        self.away_until: datetime | None = None  # drop_connection(away_s=...): no reconnecting before this
        self.heartbeat_interval_s = 300.0
        self.ready = asyncio.Event()  # connected and booted: messages may flow
        # What tests and the benchmark look at:
        self.readings: list[Reading] = []  # every reading taken, in order
        self.received: list[tuple[str, dict, str]] = []  # (action, payload as received, our answer)
        self.round_trips_s: list[float] = []  # time from sending a message to its answer
        self.connects = 0
        self.offline_readings = 0  # readings taken while not connected (sent after reconnecting)
        self.refused_status: int | None = None  # HTTP status when the handshake was refused

        self._queue: deque[QueuedMessage] = deque()
        self._queued = asyncio.Event()
        self._tx16_ids: dict[str, int] = {}
        self._seq_no = itertools.count()
        self._tx_counter = itertools.count(1)
        self._last_at: datetime | None = None
        self._decided_at: datetime | None = None
        self._change_timer: asyncio.TimerHandle | None = None  # the next period start of the profiles
        self._ws: ClientConnection | None = None
        self._client = None
        self._tasks: list[asyncio.Task] = []

    # -- life cycle --

    async def start(self) -> None:
        """Power up: start the physics, the sender and the connection (returns at once)."""
        at = self.clock.now()
        self._last_at = at
        if self.vehicle is not None and (
            self.presence == "plugged" or (self.presence == "schedule" and self.vehicle.at_depot(at))
        ):
            self._begin_transaction(at)
        self._tasks = [
            asyncio.create_task(self._connection_loop(), name=f"sim-{self.charger.id}-connection"),
            asyncio.create_task(self._sender_loop(), name=f"sim-{self.charger.id}-sender"),
            asyncio.create_task(self._meter_loop(), name=f"sim-{self.charger.id}-meter"),
            asyncio.create_task(self._heartbeat_loop(), name=f"sim-{self.charger.id}-heartbeat"),
        ]

    async def stop(self, *, drain_s: float = 0.0) -> None:
        """Power down: stop every task and close the connection.

        With `drain_s`, first stop taking readings and give the queue that long to be sent.
        """
        if drain_s > 0 and self._tasks:
            meter = next(t for t in self._tasks if t.get_name().endswith("-meter"))
            meter.cancel()
            deadline = asyncio.get_running_loop().time() + drain_s
            while self._queue and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
        if self._change_timer is not None:
            self._change_timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._ws is not None:
            await self._ws.close(1001, "charge point going away")

    async def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Wait until connected and booted."""
        await asyncio.wait_for(self.ready.wait(), timeout_s)

    def drop_connection(self, *, away_s: float = 0.0) -> None:
        """Cut the connection without a closing handshake, as a lost network does (tests); with
        `away_s` (console seconds) the station stays out of contact that long before reconnecting."""
        if away_s > 0:
            self.away_until = self.clock.now() + timedelta(seconds=away_s)
        if self._ws is not None:
            self._ws.transport.abort()

    @property
    def pending(self) -> int:
        """Messages waiting to be sent."""
        return len(self._queue)

    @property
    def transaction_id(self) -> str | None:
        """The central system's id of the running transaction (1.6: once it answered StartTransaction)."""
        if self.transaction_key is None:
            return None
        if self.charger.protocol == "1.6":
            given = self._tx16_ids.get(self.transaction_key)
            return None if given is None else str(given)
        return self.transaction_key

    @property
    def soc(self) -> float | None:
        return None if self.vehicle is None else self.vehicle.soc

    # -- the vehicle --

    def plug_in(self) -> None:
        """The vehicle arrives now (presence "manual")."""
        if self.vehicle is None or self.plugged:
            return
        self._step(self.clock.now())
        self._begin_transaction(self.clock.now())

    def unplug(self) -> None:
        """The vehicle leaves now."""
        if self.plugged:
            at = self.clock.now()
            self._step(at)
            self._end_transaction(at)

    def _begin_transaction(self, at: datetime) -> None:
        vehicle = self.vehicle
        vehicle.soc = vehicle.arrival_soc
        self.plugged = True
        self.transaction_start = at
        if self.charger.protocol == "1.6":
            self.transaction_key = f"local-{next(self._tx_counter)}"
        else:
            self.transaction_key = f"{self.charger.id}-{at.strftime('%Y%m%dT%H%M%S')}-{next(self._tx_counter)}"
        self._seq_no = itertools.count()
        self._decide(at)
        self._enqueue(QueuedMessage("status", at, extra={"status16": "Preparing", "status2": "Occupied"}))
        reading = self._take_reading(at, context="Transaction.Begin")
        at = reading.at  # the start is its first reading's instant (see _take_reading)
        self._enqueue(QueuedMessage("start", at, self.transaction_key, reading, seq_no=next(self._seq_no)))
        if self.charger.protocol == "1.6":
            # StartTransaction carries only the energy register: the rest of the first reading
            # (power, SoC) follows in MeterValues, as 1.6 stations send their Transaction.Begin sample.
            self._enqueue(QueuedMessage("sample", at, self.transaction_key, reading))
            self._enqueue(QueuedMessage("status", at, extra={"status16": "Charging", "status2": "Occupied"}))
        else:
            self._enqueue(QueuedMessage("needs", at, self.transaction_key))
        log.info("%s: %s plugged in at SoC %.1f %%", self.charger.id, vehicle.id, vehicle.soc * 100)

    def _end_transaction(self, at: datetime) -> None:
        self._set_power(at, 0.0)
        reading = self._take_reading(at, context="Transaction.End")
        at = reading.at  # the stop is its last reading's instant (see _take_reading)
        self._enqueue(QueuedMessage("stop", at, self.transaction_key, reading, seq_no=next(self._seq_no)))
        self._enqueue(QueuedMessage("status", at, extra={"status16": "Available", "status2": "Available"}))
        self.plugged = False
        self.stack.end_transaction()
        self.transaction_key = None
        self.transaction_start = None
        log.info("%s: vehicle left at SoC %.1f %%", self.charger.id, self.vehicle.soc * 100)

    # -- profiles sent by the central system --

    def on_set_charging_profile(self, raw_profile: dict) -> str:
        """Install a profile (handler of SetChargingProfile); returns the status to answer."""
        try:
            profile = profile_from_request(raw_profile, protocol=self.charger.protocol)
        except (KeyError, IndexError, TypeError, ValueError):
            status = "Rejected"
        else:
            status = "Accepted"
            if asks_for_discharge(profile) and not (
                self.charger.discharges_on(setpoint=True) or self.charger.discharges_on(setpoint=False)
            ):
                status = "Rejected"  # a one-way (or charge-only) station refuses discharge
            elif profile.purpose == "TxProfile" and (
                self.transaction_id is None
                or (profile.transaction_id is not None and profile.transaction_id != self.transaction_id)
            ):
                status = "Rejected"  # 1.6 §3.13.4 / K01.FR.09: a TxProfile needs its transaction running
            if status == "Accepted":
                if self.realism.profile_delay_s > 0:
                    # A real station (and the EV behind it) takes a few seconds to follow a new profile.
                    loop = asyncio.get_running_loop()
                    loop.call_later(self.clock.sleep_seconds(self.realism.profile_delay_s), self._install, profile)
                else:
                    self._install(profile)
        self.received.append(("SetChargingProfile", raw_profile, status))
        log.info("%s: SetChargingProfile -> %s (now %.1f kW)", self.charger.id, status, self.power_kw)
        return status

    def _install(self, profile) -> None:
        at = self.clock.now()
        self._step(at)
        self.stack.install(profile)
        self._decide(at)

    def on_clear_charging_profile(self, *, profile_id=None, purpose=None, stack_level=None) -> str:
        """Remove the matching profiles (handler of ClearChargingProfile); returns the status to answer."""
        at = self.clock.now()
        self._step(at)
        removed = self.stack.clear(profile_id=profile_id, purpose=purpose, stack_level=stack_level)
        self._decide(at)
        status = "Accepted" if removed else "Unknown"
        self.received.append(
            (
                "ClearChargingProfile",
                {"id": profile_id, "purpose": purpose, "stack_level": stack_level},
                status,
            )
        )
        return status
