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
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import random
import ssl
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ocpp.exceptions import OCPPError
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Client16Base
from ocpp.v21 import ChargePoint as Client21Base
from ocpp.v201 import ChargePoint as Client201Base
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from core.clock import Clock, get_clock
from core.simulator.profile_stack import ProfileStack, asks_for_discharge, profile_from_request
from core.simulator.vehicle import BMS_MIN_SOC, SimVehicle

log = logging.getLogger(__name__)

PRESENCES = ("schedule", "plugged", "manual")
DC_VOLTAGE_V = 800.0


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


@dataclass(frozen=True)
class Reading:
    """One meter reading as the station takes it."""

    at: datetime
    power_kw: float
    soc: float | None
    import_wh: float
    export_wh: float
    context: str = "Sample.Periodic"


@dataclass
class _Queued:
    """A transaction-related message waiting to be sent, in order (1.6 §3.7 / 2.0.1 E)."""

    kind: str  # "start", "needs", "sample", "stop", "status"
    at: datetime
    transaction_key: str = ""  # 2.x: the transaction id; 1.6: ours, mapped to the central system's id
    reading: Reading | None = None
    seq_no: int = 0
    offline: bool = False
    extra: dict = field(default_factory=dict)


class _Offline(Exception):
    """The connection went away before an answer came."""


class SimulatedChargePoint:
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

        self.stack = ProfileStack()
        self.plugged = False
        self.power_kw = 0.0
        self.import_wh = 0.0
        self.export_wh = 0.0
        self.transaction_key: str | None = None
        self.transaction_start: datetime | None = None
        self.booted = False
        self.heartbeat_interval_s = 300.0
        self.ready = asyncio.Event()  # connected and booted: messages may flow
        # What tests and the benchmark look at:
        self.readings: list[Reading] = []  # every reading taken, in order
        self.received: list[tuple[str, dict, str]] = []  # (action, payload as received, our answer)
        self.round_trips_s: list[float] = []  # time from sending a message to its answer
        self.connects = 0
        self.offline_readings = 0  # readings taken while not connected (sent after reconnecting)
        self.refused_status: int | None = None  # HTTP status when the handshake was refused

        self._queue: deque[_Queued] = deque()
        self._queued = asyncio.Event()
        self._tx16_ids: dict[str, int] = {}
        self._seq_no = itertools.count()
        self._tx_counter = itertools.count(1)
        self._last_at: datetime | None = None
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
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._ws is not None:
            await self._ws.close(1001, "charge point going away")

    async def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Wait until connected and booted."""
        await asyncio.wait_for(self.ready.wait(), timeout_s)

    def drop_connection(self) -> None:
        """Cut the connection without a closing handshake, as a lost network does (tests)."""
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
            self.transaction_key = (
                f"{self.charger.id}-{at.strftime('%Y%m%dT%H%M%S')}-{next(self._tx_counter)}"
            )
        self._seq_no = itertools.count()
        self._decide(at)
        self._enqueue(_Queued("status", at, extra={"status16": "Preparing", "status2": "Occupied"}))
        reading = self._take_reading(at, context="Transaction.Begin")
        at = reading.at  # the start is its first reading's instant (see _take_reading)
        self._enqueue(_Queued("start", at, self.transaction_key, reading, seq_no=next(self._seq_no)))
        if self.charger.protocol == "1.6":
            # StartTransaction carries only the energy register: the rest of the first reading
            # (power, SoC) follows in MeterValues, as 1.6 stations send their Transaction.Begin sample.
            self._enqueue(_Queued("sample", at, self.transaction_key, reading))
            self._enqueue(_Queued("status", at, extra={"status16": "Charging", "status2": "Occupied"}))
        else:
            self._enqueue(_Queued("needs", at, self.transaction_key))
        log.info("%s: %s plugged in at SoC %.1f %%", self.charger.id, vehicle.id, vehicle.soc * 100)

    def _end_transaction(self, at: datetime) -> None:
        self.power_kw = 0.0
        reading = self._take_reading(at, context="Transaction.End")
        at = reading.at  # the stop is its last reading's instant (see _take_reading)
        self._enqueue(_Queued("stop", at, self.transaction_key, reading, seq_no=next(self._seq_no)))
        self._enqueue(_Queued("status", at, extra={"status16": "Available", "status2": "Available"}))
        self.plugged = False
        self.stack.end_transaction()
        self.transaction_key = None
        self.transaction_start = None
        log.info("%s: vehicle left at SoC %.1f %%", self.charger.id, self.vehicle.soc * 100)

    # -- physics --

    def _step(self, at: datetime) -> None:
        """Let the current power flow from the last step until `at`."""
        if self._last_at is not None and self.plugged and self.vehicle is not None:
            seconds = (at - self._last_at).total_seconds()
            imported_kwh, exported_kwh = self.vehicle.run(self.power_kw, seconds, self.charger.efficiency)
            self.import_wh += imported_kwh * 1000.0
            self.export_wh += exported_kwh * 1000.0
        self._last_at = at

    def _decide(self, at: datetime) -> None:
        """Set the power the profiles (or, without any, full charge) ask for, within every limit."""
        self.power_kw = self.target_power_kw(at)

    def target_power_kw(self, at: datetime) -> float:
        """The power at `at`: what the ruling profile asks, clamped to charger, vehicle and battery."""
        vehicle = self.vehicle
        if vehicle is None or not self.plugged:
            return 0.0
        charge_cap = min(self.charger.max_charge_kw, vehicle.max_charge_kw)
        discharge_cap = min(self.charger.max_discharge_kw, vehicle.max_discharge_kw)
        period, station_max_kw = self.stack.period_at(
            at, transaction_id=self.transaction_id, transaction_start=self.transaction_start
        )
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
            at = max(at, _wire_time(self.readings[-1].at) + timedelta(milliseconds=1))
        reading = Reading(
            at=at,
            power_kw=self.power_kw,
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
                self._enqueue(_Queued("sample", at, self.transaction_key, reading, seq_no=next(self._seq_no)))

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
                at = self.clock.now()
                self._step(at)
                self.stack.install(profile)
                self._decide(at)
        self.received.append(("SetChargingProfile", raw_profile, status))
        log.info("%s: SetChargingProfile -> %s (now %.1f kW)", self.charger.id, status, self.power_kw)
        return status

    def on_clear_charging_profile(self, *, profile_id=None, purpose=None, stack_level=None) -> str:
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

    # -- connection --

    def _enqueue(self, item: _Queued) -> None:
        item.offline = not self.ready.is_set()
        if item.offline and item.reading is not None:
            self.offline_readings += 1
        self._queue.append(item)
        self._queued.set()

    async def _connection_loop(self) -> None:
        delay_s = self.backoff_min_s
        subprotocol = f"ocpp{self.charger.protocol}"
        secret = base64.b64encode(f"{self.charger.id}:{self.password}".encode()).decode()
        while True:
            try:
                async with connect(
                    self.url,
                    subprotocols=[subprotocol],
                    additional_headers={"Authorization": f"Basic {secret}"},
                    ssl=self.ssl_context,
                    open_timeout=10,
                    close_timeout=2,
                ) as ws:
                    if ws.subprotocol != subprotocol:
                        raise InvalidHandshake(f"central system did not accept {subprotocol}")
                    self.refused_status = None
                    await self._serve(ws)
                    delay_s = self.backoff_min_s  # it was up: start the back-off anew
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                self.refused_status = exc.response.status_code
                log.warning(
                    "%s: refused by the central system (HTTP %s)", self.charger.id, self.refused_status
                )
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, _Offline) as exc:
                log.info("%s: connection lost or failed (%s)", self.charger.id, exc)
            except OCPPError as exc:
                log.warning("%s: central system answered with an error (%s)", self.charger.id, exc)
            self.ready.clear()
            self._ws, self._client = None, None
            # Exponential back-off with jitter, so a fleet does not reconnect in one burst.
            await asyncio.sleep(delay_s * random.uniform(0.8, 1.2))
            delay_s = min(self.backoff_max_s, delay_s * 2)

    async def _serve(self, ws: ClientConnection) -> None:
        client_class = {"1.6": _Client16, "2.0.1": _Client201, "2.1": _Client21}[self.charger.protocol]
        client = client_class(self.charger.id, ws, sim=self, response_timeout=self.response_timeout_s)
        self._ws, self._client = ws, client
        self.connects += 1
        receiver = asyncio.create_task(client.start())
        try:
            while not self.booted:
                result = await self._call(self._boot_request())
                if result.status == "Accepted":
                    self.booted = True
                    self.heartbeat_interval_s = float(result.interval or self.heartbeat_interval_s)
                else:  # Pending / Rejected: try again after the interval it gave
                    await asyncio.sleep(max(1.0, float(result.interval or 10)))
            await self._call(self._status_request(self.clock.now()))
            self.ready.set()
            await receiver  # until the connection closes
        finally:
            self.ready.clear()
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, Exception):
                await receiver

    async def _call(self, request):
        """Send a request and return the answer; _Offline when the connection drops meanwhile."""
        client, ws = self._client, self._ws
        if client is None or ws is None:
            raise _Offline("not connected")
        sent = asyncio.get_running_loop().time()
        call = asyncio.ensure_future(client.call(request, suppress=False))
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            done, _ = await asyncio.wait({call, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if call not in done:
            call.cancel()
            raise _Offline("connection closed before the answer")
        result = call.result()
        self.round_trips_s.append(asyncio.get_running_loop().time() - sent)
        return result

    async def _sender_loop(self) -> None:
        while True:
            await self.ready.wait()
            if not self._queue:
                self._queued.clear()
                await self._queued.wait()
                continue
            item = self._queue[0]
            try:
                result = await self._call(self._request(item))
            except (_Offline, ConnectionClosed, TimeoutError) as exc:
                log.info("%s: %s not delivered (%s); will resend", self.charger.id, item.kind, exc)
                await asyncio.sleep(0.05)
                continue
            except OCPPError as exc:
                # The central system refused it: resending the same message cannot help.
                log.warning("%s: %s refused: %s", self.charger.id, item.kind, exc)
                result = None
            if item.kind == "start" and self.charger.protocol == "1.6" and result is not None:
                self._tx16_ids[item.transaction_key] = int(result.transaction_id)
                if item.transaction_key == self.transaction_key:
                    self._decide(self.clock.now())  # a TxProfile may now apply
            self._queue.popleft()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            client = self._client
            if self.ready.is_set() and client is not None:
                with contextlib.suppress(_Offline, ConnectionClosed, TimeoutError, OCPPError):
                    await self._call(client._call.Heartbeat())

    # -- the OCPP requests --

    def _boot_request(self):
        calls = self._calls()
        if self.charger.protocol == "1.6":
            return calls.BootNotification(
                charge_point_vendor=self.charger.vendor, charge_point_model=self.charger.model
            )
        return calls.BootNotification(
            charging_station={"vendor_name": self.charger.vendor, "model": self.charger.model},
            reason="PowerUp",
        )

    def _status_request(self, at: datetime, *, status16: str | None = None, status2: str | None = None):
        calls = self._calls()
        if self.charger.protocol == "1.6":
            status16 = status16 or ("Charging" if self.plugged else "Available")
            return calls.StatusNotification(
                connector_id=1, error_code="NoError", status=status16, timestamp=_iso(at)
            )
        status2 = status2 or ("Occupied" if self.plugged else "Available")
        return calls.StatusNotification(
            timestamp=_iso(at), connector_status=status2, evse_id=1, connector_id=1
        )

    def _calls(self):
        return self._client._call

    def _request(self, item: _Queued):
        if item.kind == "status":
            return self._status_request(
                item.at, status16=item.extra["status16"], status2=item.extra["status2"]
            )
        if self.charger.protocol == "1.6":
            return self._request16(item)
        return self._request2x(item)

    def _request16(self, item: _Queued):
        calls = self._calls()
        reading = item.reading
        transaction_id = self._tx16_ids.get(item.transaction_key)
        if item.kind == "start":
            return calls.StartTransaction(
                connector_id=1,
                id_tag=self.vehicle.id_tag,
                meter_start=int(round(reading.import_wh)),
                timestamp=_iso(item.at),
            )
        if item.kind == "sample":
            return calls.MeterValues(
                connector_id=1, transaction_id=transaction_id, meter_value=[_meter_value16(reading)]
            )
        if item.kind == "stop":
            if transaction_id is None:  # its start was refused: nothing to stop at the central system
                return calls.MeterValues(connector_id=1, meter_value=[_meter_value16(reading)])
            return calls.StopTransaction(
                meter_stop=int(round(reading.import_wh)),
                timestamp=_iso(item.at),
                transaction_id=transaction_id,
                reason="EVDisconnected",
                id_tag=self.vehicle.id_tag,
                transaction_data=[_meter_value16(reading)],
            )
        raise ValueError(f"no 1.6 message for {item.kind}")

    def _request2x(self, item: _Queued):
        calls = self._calls()
        reading = item.reading
        if item.kind == "needs":
            return calls.NotifyEVChargingNeeds(charging_needs=self._charging_needs(item.at), evse_id=1)
        event = {
            "start": ("Started", "CablePluggedIn"),
            "sample": ("Updated", "MeterValuePeriodic"),
            "stop": ("Ended", "EVDeparted"),
        }[item.kind]
        transaction_info = {"transaction_id": item.transaction_key}
        extra = {}
        if item.kind == "start":
            transaction_info["charging_state"] = "Charging"
            extra = {
                "id_token": {"id_token": self.vehicle.id_tag, "type": "ISO14443"},
                "evse": {"id": 1, "connector_id": 1},
            }
        if item.kind == "stop":
            transaction_info["stopped_reason"] = "EVDisconnected"
        return calls.TransactionEvent(
            event_type=event[0],
            timestamp=_iso(item.at),
            trigger_reason=event[1],
            seq_no=item.seq_no,
            transaction_info=transaction_info,
            meter_value=[_meter_value2x(reading)],
            offline=item.offline,
            **extra,
        )

    def _charging_needs(self, at: datetime) -> dict:
        """NotifyEVChargingNeeds.chargingNeeds (snake_case) from the vehicle's state and its departure."""
        vehicle = self.vehicle
        energy_wh = int(round(vehicle.energy_to_target_kwh() * 1000))
        max_charge_w = int(min(self.charger.max_charge_kw, vehicle.max_charge_kw) * 1000)
        needs = {
            "requested_energy_transfer": "DC",
            "departure_time": _iso(vehicle.next_departure(at)),
            "dc_charging_parameters": {
                "ev_max_current": int(max_charge_w / DC_VOLTAGE_V),
                "ev_max_voltage": int(DC_VOLTAGE_V),
                "energy_amount": energy_wh,
                "ev_max_power": max_charge_w,
                "state_of_charge": int(vehicle.soc * 100),
                "ev_energy_capacity": int(vehicle.battery_kwh * 1000),
            },
        }
        if self.charger.protocol == "2.1":
            v2x = {
                "max_charge_power": max_charge_w,
                "ev_target_energy_request": energy_wh,
                "target_soc": int(round(vehicle.target_soc * 100)),
            }
            bidirectional = self.charger.max_discharge_kw > 0 and vehicle.max_discharge_kw > 0
            if bidirectional:
                needs["requested_energy_transfer"] = "DC_BPT"
                v2x["max_discharge_power"] = int(
                    min(self.charger.max_discharge_kw, vehicle.max_discharge_kw) * 1000
                )
            needs["control_mode"] = "ScheduledControl"
            needs["v2x_charging_parameters"] = v2x
        return needs


# --- the OCPP clients (the charger side of the library) --------------------------------------------


class _Client16(Client16Base):
    def __init__(self, charger_id, connection, *, sim: SimulatedChargePoint, response_timeout: float):
        super().__init__(charger_id, connection, response_timeout=response_timeout)
        self.sim = sim

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id: int, cs_charging_profiles: dict, **_):
        return self._call_result.SetChargingProfile(
            status=self.sim.on_set_charging_profile(cs_charging_profiles)
        )

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


class _Client2x:
    def __init__(self, charger_id, connection, *, sim: SimulatedChargePoint, response_timeout: float):
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


class _Client201(_Client2x, Client201Base):
    pass


class _Client21(_Client2x, Client21Base):
    pass


# --- message parts ----------------------------------------------------------------------------------


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _wire_time(at: datetime) -> datetime:
    """`at` as it travels in a message: truncated to the millisecond, as _iso writes it."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _sampled(reading: Reading) -> list[tuple[str, float, str, str | None]]:
    """(measurand, value, unit, location) of one reading; SoC with four decimals of a percent."""
    values = [
        ("Power.Active.Import", round(max(reading.power_kw, 0.0) * 1000.0, 1), "W", None),
        ("Power.Active.Export", round(max(-reading.power_kw, 0.0) * 1000.0, 1), "W", None),
        ("Energy.Active.Import.Register", round(reading.import_wh, 1), "Wh", None),
        ("Energy.Active.Export.Register", round(reading.export_wh, 1), "Wh", None),
    ]
    if reading.soc is not None:
        values.append(("SoC", round(reading.soc * 100.0, 4), "Percent", "EV"))
    return values


def _meter_value16(reading: Reading) -> dict:
    sampled = []
    for measurand, value, unit, location in _sampled(reading):
        entry = {"value": f"{value}", "context": reading.context, "measurand": measurand, "unit": unit}
        if location:
            entry["location"] = location
        sampled.append(entry)
    return {"timestamp": _iso(reading.at), "sampled_value": sampled}


def _meter_value2x(reading: Reading) -> dict:
    sampled = []
    for measurand, value, unit, location in _sampled(reading):
        entry = {
            "value": value,
            "context": reading.context,
            "measurand": measurand,
            "unit_of_measure": {"unit": unit},
        }
        entry["location"] = location or "Outlet"
        sampled.append(entry)
    return {"timestamp": _iso(reading.at), "sampled_value": sampled}
