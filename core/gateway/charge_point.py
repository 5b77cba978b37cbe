"""What every connected charge point has, whatever its OCPP version.

`GatewayChargePoint` is mixed into the `ocpp` library's ChargePoint of each version (see
handlers_v16.py and handlers_v2.py). It hardens the library's receive path, so that nothing a
charger sends can end its connection or the gateway:

* a frame that is not OCPP-J (bad JSON, missing elements, unknown message type) gets a CallError
  (the library only logs it and the charger waits for an answer that never comes);
* an action nobody handles gets NotImplemented when unknown and NotSupported when known, as OCPP-J
  defines them (the library has the two the other way round, and in 2.1 answers nothing at all);
* on 1.6, error codes use the 1.6 spelling (FormationViolation, OccurenceConstraintViolation);
* any other exception while handling one frame is logged and the connection stays up.

It also records the handling time of every CALL and sends the outbox's commands (`send_command`):
always `suppress=False`, with a timeout, and given up at once when the connection drops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import (
    InternalError,
    NotSupportedError,
    OCPPError,
    PropertyConstraintViolationError,
    UnknownCallErrorCodeError,
)
from ocpp.exceptions import (
    NotImplementedError as OcppNotImplementedError,
)
from ocpp.messages import Call, CallError, MessageType, unpack, validate_payload
from ocpp.v16.enums import Action as Action16
from ocpp.v21.enums import Action as Action21
from ocpp.v201.enums import Action as Action201
from websockets.exceptions import ConnectionClosed

from core.clock import now
from core.gateway.meter import MeterValueError, Reading, parse_timestamp, readings_from_meter_values
from core.gateway.stats import LatencyStats
from core.gateway.telemetry_writer import ChargerSeen, EventNotStored

if TYPE_CHECKING:
    from core.gateway.telemetry_writer import Event, TelemetryWriter

log = logging.getLogger(__name__)

KNOWN_ACTIONS = {
    "1.6": {a.value for a in Action16},
    "2.0.1": {a.value for a in Action201},
    "2.1": {a.value for a in Action21},
}
# OCPP-J 1.6 §4.2.3 spells two codes differently from 2.x (and from the library).
_CODES_16 = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}


@dataclass(frozen=True)
class CommandAnswer:
    """The outcome of one command: Accepted, Rejected (or another status the charger gave),
    CallError, Timeout or Offline; `detail` is stored as ChargingProfileCommand.answer."""

    status: str
    detail: dict = field(default_factory=dict)


@dataclass
class GatewayContext:
    """What handlers need from the gateway; nothing here blocks."""

    writer: TelemetryWriter
    stats: LatencyStats
    heartbeat_interval_s: int = 300
    on_first_message: Callable[[GatewayChargePoint], None] | None = None


def iso_now() -> str:
    """The current time for an OCPP answer: ISO 8601 UTC with "Z"."""
    return now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GatewayChargePoint:
    """Mixin over `ocpp.v16/v201/v21.ChargePoint`; `protocol` is "1.6", "2.0.1" or "2.1"."""

    protocol: str = ""

    def __init__(self, charger_id: str, connection, *, context: GatewayContext, call_timeout_s: float = 10.0):
        super().__init__(charger_id, connection, response_timeout=call_timeout_s)
        self.context = context
        self._spoke = False

    # -- for handlers --

    def put(self, event: Event) -> None:
        """Hand an event that needs no acknowledgement to the telemetry writer (never blocks)."""
        self.context.writer.put(event)

    async def store(self, event: Event):
        """Hand an event to the telemetry writer and wait until it is committed (answer only then:
        a crash must not lose what the charger was told is stored). An event that cannot be stored
        is answered with InternalError, so that the charger sends it again."""
        try:
            return await self.context.writer.store(event)
        except EventNotStored as exc:
            raise InternalError(details={"cause": "could not be stored; send it again"}) from exc

    def time_of(self, value: str) -> datetime:
        """A timestamp from the payload, or PropertyConstraintViolation for the charger."""
        try:
            return parse_timestamp(value)
        except MeterValueError as exc:
            raise PropertyConstraintViolationError(details={"cause": str(exc)}) from exc

    def readings_of(self, meter_value: list[dict] | None) -> tuple[Reading, ...]:
        """Readings from a meterValue list, or PropertyConstraintViolation for the charger."""
        try:
            return tuple(readings_from_meter_values(meter_value or [], protocol=self.protocol))
        except MeterValueError as exc:
            raise PropertyConstraintViolationError(details={"cause": str(exc)}) from exc

    # -- receiving --

    async def start(self) -> None:
        """Receive and answer frames until the connection closes (raises ConnectionClosed)."""
        while True:
            message = await self._connection.recv()
            try:
                await self.route_message(message)
            except ConnectionClosed:
                raise
            except Exception:
                # One bad frame must never end the connection (the library's loop would).
                log.exception("%s: error while handling frame %.200r", self.id, message)

    async def route_message(self, raw_msg) -> None:
        received = time.perf_counter()
        try:
            msg = unpack(raw_msg)
        except OCPPError as error:
            await self._answer_bad_frame(raw_msg, error)
            return
        if msg.message_type_id != MessageType.Call:
            if self._call_lock.locked():  # an answer to our CALL in flight
                self._response_queue.put_nowait(msg)
            else:  # unsolicited: dropped, or it would pile up for the next call to skip
                log.warning("%s: answer to no CALL of ours ignored: %.200r", self.id, raw_msg)
            return
        self.put(ChargerSeen(self.id, now()))
        try:
            await self._handle_call(msg)
        except OCPPError as error:
            await self._send_call_error(msg.unique_id, error)
        except ConnectionClosed:
            raise
        except Exception:
            log.exception("%s: error while handling %s", self.id, msg.action)
            await self._send_call_error(msg.unique_id, InternalError())
        self.context.stats.record(str(msg.action), time.perf_counter() - received)
        if not self._spoke:
            # The charger has spoken (BootNotification after a power-up, anything after a mere
            # reconnect): now it can be resynchronised.
            self._spoke = True
            if self.context.on_first_message is not None:
                self.context.on_first_message(self)

    async def _handle_call(self, msg):
        handlers = self.route_map.get(msg.action) if isinstance(msg.action, str) else None
        if not handlers or "_on_action" not in handlers:
            if isinstance(msg.action, str) and msg.action in KNOWN_ACTIONS[self.protocol]:
                raise NotSupportedError(
                    details={"cause": f"{msg.action} is not supported by this central system"}
                )
            raise OcppNotImplementedError(
                details={"cause": f"{msg.action!r} is not an OCPP {self.protocol} action"}
            )
        return await super()._handle_call(msg)

    async def _answer_bad_frame(self, raw_msg, error: OCPPError) -> None:
        try:
            frame = json.loads(raw_msg)
        except (TypeError, ValueError):
            frame = None
        if isinstance(frame, list) and frame and frame[0] in (MessageType.CallResult, MessageType.CallError):
            log.warning("%s: malformed answer frame ignored: %.200r", self.id, raw_msg)
            return  # never answer an answer
        unique_id = (
            frame[1] if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str) else "-1"
        )
        if self.protocol == "1.6":
            code = "FormationViolation"
        elif isinstance(frame, list) and frame and frame[0] not in (2, 3, 4) and unique_id != "-1":
            code = "MessageTypeNotSupported"
        else:
            code = "RpcFrameworkError"
        details = dict(error.details or {})
        details.pop("ocpp_message", None)
        log.warning("%s: malformed frame answered with %s: %.200r", self.id, code, raw_msg)
        await self._send(CallError(unique_id, code, error.description, _jsonable(details)).to_json())
        self.context.stats.errors_sent += 1

    async def _send_call_error(self, unique_id: str, error: OCPPError) -> None:
        code = error.code
        if self.protocol == "1.6":
            code = _CODES_16.get(code, code)
        details = dict(error.details or {})
        details.pop("ocpp_message", None)  # the library puts a Python object here
        await self._send(CallError(unique_id, code, error.description, _jsonable(details)).to_json())
        self.context.stats.errors_sent += 1

    # -- sending the outbox's commands --

    async def send_command(self, *, action: str, payload: dict) -> CommandAnswer:
        """Send SetChargingProfile ("set", "default", "guard", "boost") or ClearChargingProfile ("clear") and return the answer.

        `payload` is the camelCase wire form (core.charging_profiles). Never call this from inside a
        message handler: the answer arrives through the receive loop that the handler is blocking.
        """
        action_name = "ClearChargingProfile" if action == "clear" else "SetChargingProfile"
        try:
            request = getattr(self._call, action_name)(**camel_to_snake_case(payload))
            wire = remove_nones(snake_to_camel_case(serialize_as_dict(request)))
            await validate_payload(Call("local-check", action_name, wire), self._ocpp_version)
        except (TypeError, OCPPError) as exc:
            # Our own payload is wrong: say so, and do not bother the charger with it.
            return CommandAnswer("CallError", {"local": True, "error": str(exc)})

        call = asyncio.ensure_future(self.call(request, suppress=False))
        closed = asyncio.ensure_future(self._connection.wait_closed())
        try:
            done, _ = await asyncio.wait({call, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if call not in done:
            # The library would wait out its whole timeout for an answer that cannot come.
            call.cancel()
            return CommandAnswer("Offline", {"error": "connection closed before the answer"})
        try:
            result = call.result()
        except OCPPError as exc:
            details = dict(exc.details or {})
            details.pop("ocpp_message", None)
            return CommandAnswer(
                "CallError", {"code": exc.code, "description": exc.description, "details": _jsonable(details)}
            )
        except UnknownCallErrorCodeError as exc:
            return CommandAnswer("CallError", {"code": "unknown", "description": str(exc)})
        except TimeoutError:
            return CommandAnswer("Timeout", {"error": f"no answer within {self._response_timeout} s"})
        except ConnectionClosed:
            return CommandAnswer("Offline", {"error": "connection closed"})
        status = str(getattr(result.status, "value", result.status))
        detail = {"status": status}
        if getattr(result, "status_info", None):
            detail["status_info"] = _jsonable(result.status_info)
        return CommandAnswer(status, detail)

    async def close(self, reason: str) -> None:
        """Close this connection (a newer one of the same charger replaced it)."""
        await self._connection.close(1000, reason)


def _jsonable(value):
    """The value as plain JSON (the library may hand over Decimals or objects)."""
    return json.loads(json.dumps(value, default=str))
