"""Nothing a charger sends can crash the gateway or write a half row; every bad CALL gets its CallError.

Raw frames over a real, authenticated connection; after each bad frame a Heartbeat proves the
connection is still up.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from core import models
from tests.gateway.support import BY_PROTOCOL, basic_auth, password_of, rows, run, running_gateway

GOOD_METER_16 = {
    "connectorId": 1,
    "meterValue": [
        {
            "timestamp": "2026-03-02T17:00:00Z",
            "sampledValue": [{"value": "50", "measurand": "SoC", "unit": "Percent"}],
        }
    ],
}

# (protocol, frame sent, expected [unique id, error code]); frames are text unless bytes.
CASES = [
    ("1.6", "this is not JSON", ["-1", "FormationViolation"]),
    ("2.0.1", "this is not JSON", ["-1", "RpcFrameworkError"]),
    ("2.1", "{also not json", ["-1", "RpcFrameworkError"]),
    ("1.6", "{}", ["-1", "FormationViolation"]),  # JSON, but not an OCPP-J array
    ("1.6", [2, "f5", "Heartbeat", {}, {}], ["f5", "FormationViolation"]),  # five elements
    ("2.0.1", [7, "t1", "Heartbeat", {}], ["t1", "MessageTypeNotSupported"]),
    # schema: wrong type, missing field, extra field, bad enum
    (
        "1.6",
        [2, "s1", "BootNotification", {"chargePointVendor": 5, "chargePointModel": "M"}],
        ["s1", "TypeConstraintViolation"],
    ),
    ("1.6", [2, "s2", "BootNotification", {"chargePointVendor": "V"}], ["s2", "ProtocolError"]),
    ("1.6", [2, "s3", "Heartbeat", {"extra": 1}], ["s3", "FormationViolation"]),  # the 1.6 spelling
    ("2.0.1", [2, "s4", "Heartbeat", {"extra": 1}], ["s4", "FormatViolation"]),
    (
        "2.1",
        [
            2,
            "s5",
            "StatusNotification",
            {
                "timestamp": "2026-03-02T17:00:00Z",
                "connectorStatus": "Discharging",
                "evseId": 1,
                "connectorId": 1,
            },
        ],
        ["s5", "FormatViolation"],
    ),
    # values the schema lets through but that cannot be readings
    (
        "1.6",
        [
            2,
            "v1",
            "MeterValues",
            {
                "connectorId": 1,
                "meterValue": [
                    {
                        "timestamp": "2026-03-02T17:00:00Z",
                        "sampledValue": [{"value": "lots", "measurand": "SoC"}],
                    }
                ],
            },
        ],
        ["v1", "PropertyConstraintViolation"],
    ),
    (
        "2.1",
        [
            2,
            "v2",
            "TransactionEvent",
            {
                "eventType": "Started",
                "timestamp": "yesterday",
                "triggerReason": "Authorized",
                "seqNo": 0,
                "transactionInfo": {"transactionId": "T1"},
            },
        ],
        ["v2", "PropertyConstraintViolation"],
    ),
    # actions: unknown -> NotImplemented; known but not for a central system -> NotSupported
    ("1.6", [2, "a1", "FooBar", {}], ["a1", "NotImplemented"]),
    ("2.0.1", [2, "a2", "FooBar", {}], ["a2", "NotImplemented"]),
    ("2.1", [2, "a3", "FooBar", {}], ["a3", "NotImplemented"]),  # the library would not answer at all
    ("1.6", [2, "a4", "Reset", {"type": "Hard"}], ["a4", "NotSupported"]),
    (
        "2.1",
        [2, "a5", "NotifyPriorityCharging", {"transactionId": "T1", "activated": True}],
        ["a5", "NotSupported"],
    ),
]


async def exchange(ws, frame) -> list:
    """Send a frame, return the next answer (answering any CALL the gateway makes meanwhile)."""
    await ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if message[0] == 2:
            await ws.send(json.dumps([3, message[1], {"status": "Accepted"}]))
            continue
        return message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_bad_frames_get_call_errors_and_the_connection_stays_up(engine, protocol):
    charger_id = BY_PROTOCOL[protocol]
    cases = [(frame, expected) for p, frame, expected in CASES if p == protocol]

    async def scenario():
        answers = []
        async with running_gateway(engine) as gateway:
            async with connect(
                f"{gateway.url}/{charger_id}",
                subprotocols=[f"ocpp{protocol}"],
                additional_headers=basic_auth(charger_id, password_of(charger_id)),
            ) as ws:
                for number, (frame, _) in enumerate(cases):
                    answers.append(await exchange(ws, frame))
                    alive = await exchange(ws, [2, f"hb{number}", "Heartbeat", {}])
                    assert alive[0] == 3 and "currentTime" in alive[2], f"connection dead after {frame!r}"
            await gateway.writer.join()
        return answers

    answers = run(scenario())
    for (frame, expected), answer in zip(cases, answers, strict=True):
        assert answer[0] == 4, f"{frame!r} got {answer}"
        assert answer[1:3] == expected, f"{frame!r} got {answer}"
        assert isinstance(answer[4], dict)
    # The refused MeterValues / TransactionEvent left nothing behind.
    assert rows(engine, models.MeterSample, models.MeterSample.charger_id == charger_id) == []
    assert rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id) == []


@pytest.mark.timeout(30)
def test_a_good_message_after_bad_ones_is_stored(engine):
    async def scenario():
        async with running_gateway(engine) as gateway:
            async with connect(
                f"{gateway.url}/CP-CAR-01",
                subprotocols=["ocpp1.6"],
                additional_headers=basic_auth("CP-CAR-01", password_of("CP-CAR-01")),
            ) as ws:
                await exchange(ws, "\ufffd garbage")  # (a binary frame closes: test_hardening.py)
                await exchange(ws, [2, "x", "MeterValues", {"connectorId": 1}])
                answer = await exchange(ws, [2, "ok", "MeterValues", GOOD_METER_16])
            await gateway.writer.join()
            return answer

    assert run(scenario()) == [3, "ok", {}]
    (sample,) = rows(engine, models.MeterSample, models.MeterSample.charger_id == "CP-CAR-01")
    assert sample.soc == 0.5
