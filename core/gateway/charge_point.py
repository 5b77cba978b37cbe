"""What every connected charge point has, whatever its OCPP version.

`GatewayChargePoint` is mixed into the `ocpp` library's ChargePoint of each version (see
handlers_v16.py and handlers_v2.py). It hardens the library's receive path, so that nothing a
charger sends can end its connection or the gateway:

* a frame that is not OCPP-J (bad JSON, missing elements, unknown message type) gets a CallError
  (the library only logs it and the charger waits for an answer that never comes);
* an action nobody handles gets NotImplemented when unknown and NotSupported when known, as OCPP-J
  defines them (the library has the two the other way round, and in 2.1 answers nothing at all);
* on 1.6, error codes use the 1.6 spelling (FormationViolation, OccurenceConstraintViolation);
* any other exception while handling one frame is logged and the connection stays up;
* a message id longer than OCPP-J's 36 characters, or a frame nested deeper than MAX_JSON_DEPTH, is
  refused with the bad-frame CallError (id "-1", never echoed back), the depth checked before the
  frame is parsed (the json module would recurse); a binary frame closes the connection with 1003
  (OCPP-J frames are text). The frame size is bounded by the server (websockets `max_size`: 1009).

The per-message path does only what the bare library does plus queuing: liveness (Charger.last_seen)
is queued at most once per SEEN_RESOLUTION_S per connection, not for every message.

It also records the handling time of every CALL and sends the outbox's commands (`send_command`):
always `suppress=False`, with a timeout, and given up at once when the connection drops.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from typing import TYPE_CHECKING

from ocpp.charge_point import camel_to_snake_case, remove_nones, serialize_as_dict, snake_to_camel_case
from ocpp.exceptions import (
    FormatViolationError,
    InternalError,
    NotSupportedError,
    OCPPError,
    PropertyConstraintViolationError,
    ProtocolError,
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
MAX_MESSAGE_ID_LENGTH = 36  # OCPP-J: the message id is a string of at most 36 characters
# The deepest OCPP 2.1 message (a SetChargingProfile with V2X curves) nests about 10 levels.
MAX_JSON_DEPTH = 32
SEEN_RESOLUTION_S = 5.0  # Charger.last_seen is at most this old while the charger talks
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_CALL_HEAD = re.compile(r'\s*\[\s*2\s*,\s*"([^"\\]{1,36})"')

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
    # (charger id, power kW) of a connector / EVSE 0 reading -> True when that charger's main meter is
    # a configured site meter (core.meters.runner.MeterRunner.feed_main_meter).
    main_meter: Callable[[str, float], bool] | None = None


def nested_deeper_than(raw: str, limit: int) -> bool:
    """True when the JSON text nests arrays/objects more than `limit` deep (brackets in strings
    do not count). C-speed string scans; the usual message has fewer brackets than `limit` in all."""
    if raw.count("[") + raw.count("{") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", raw))
    return max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)), default=0) > limit


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
        self._seen_queued_at = -SEEN_RESOLUTION_S  # monotonic time of the last ChargerSeen queued

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

    def fed_to_site_meter(self, readings: tuple[Reading, ...]) -> bool:
        """Connector / EVSE 0 readings of a charger whose main meter is a site meter go to the meter
        runner instead of the charger's own samples (they measure the site, not a vehicle)."""
        powers = [r.power_kw for r in readings if r.power_kw is not None]
        hook = self.context.main_meter
        return bool(hook is not None and powers and hook(self.id, powers[-1]))

    # -- receiving --

    async def start(self) -> None:
        """Receive and answer frames until the connection closes (raises ConnectionClosed)."""
        while True:
            message = await self._connection.recv()
            if not isinstance(message, str):
                log.warning("%s: binary frame (%d bytes): closing with 1003", self.id, len(message))
                await self._connection.close(1003, "OCPP-J frames are text frames")
                return
            try:
                await self.route_message(message)
            except ConnectionClosed:
                raise
            except Exception:
                # One bad frame must never end the connection (the library's loop would).
                log.exception("%s: error while handling frame %.200r", self.id, message)

    async def route_message(self, raw_msg) -> None:
        received = time.perf_counter()
        if nested_deeper_than(raw_msg, MAX_JSON_DEPTH):
            head = _CALL_HEAD.match(raw_msg)
            error = FormatViolationError(details={"cause": f"frame nested deeper than {MAX_JSON_DEPTH} levels"})
            await self._answer_bad_frame(raw_msg, error, frame=[2, head.group(1)] if head else None)
            return
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
        if not isinstance(msg.unique_id, str) or len(msg.unique_id) > MAX_MESSAGE_ID_LENGTH:
            # Not echoed: a charger must not make us send back what it sent (OCPP-J: "-1" when the
            # message id cannot be read).
            cause = f"message id must be a string of at most {MAX_MESSAGE_ID_LENGTH} characters"
            await self._answer_bad_frame(raw_msg, ProtocolError(details={"cause": cause}), frame=[2, "-1"])
            return
        if received - self._seen_queued_at >= SEEN_RESOLUTION_S:
            self._seen_queued_at = received
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
                raise NotSupportedError(details={"cause": f"{msg.action} is not supported by this central system"})
            raise OcppNotImplementedError(details={"cause": f"{msg.action!r} is not an OCPP {self.protocol} action"})
        return await super()._handle_call(msg)

    async def _answer_bad_frame(self, raw_msg, error: OCPPError, *, frame: list | None = None) -> None:
        """The CallError for a frame that is no valid OCPP-J CALL; `frame` when already known."""
        if frame is None:
            try:
                frame = json.loads(raw_msg)
            except (TypeError, ValueError, RecursionError):
                frame = None
        if isinstance(frame, list) and frame and frame[0] in (MessageType.CallResult, MessageType.CallError):
            log.warning("%s: malformed answer frame ignored: %.200r", self.id, raw_msg)
            return  # never answer an answer
        unique_id = frame[1] if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str) else "-1"
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
