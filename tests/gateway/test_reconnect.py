"""A connection lost mid-transaction: the charger reconnects and gets its profile again; no reading or
session is lost or doubled."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from websockets.asyncio.client import connect

from core import models
from core.charging_profiles import build_charging_profile
from core.clock import now
from tests.gateway.support import (
    DEMO,
    add_command,
    basic_auth,
    commands,
    password_of,
    plugged_in,
    rows,
    run,
    running_gateway,
    wait_until,
)


def ms(at):
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("charger_id", ["CP-CAR-02", "CP-BUS-02"])  # 1.6 and 2.1
def test_a_dropped_connection_loses_and_doubles_nothing(engine, charger_id):
    charger = next(c for c in DEMO.chargers if c.id == charger_id)

    async def scenario():
        async with running_gateway(engine) as gateway:
            # The back-off keeps it offline for a while, so readings pile up to be sent afterwards.
            sim = await plugged_in(
                gateway, engine, charger_id, meter_interval_s=0.1, backoff_min_s=0.6, backoff_max_s=0.6
            )
            payload = build_charging_profile(
                protocol=charger.protocol,
                periods=[(now() - timedelta(minutes=1), 6.0)],
                max_charge_kw=charger.max_charge_kw,
                transaction_id=sim.transaction_id,
                end=now() + timedelta(hours=1),
            )
            add_command(engine, charger_id, payload)
            await wait_until(lambda: sim.power_kw == pytest.approx(6.0), what="profile obeyed")

            def answered(action):
                return len([c for c in commands(engine, charger_id) if c.action == action and c.answered_at])

            for round_ in (1, 2):  # twice, the second time while readings are being sent
                sim.drop_connection()
                await wait_until(lambda: not sim.ready.is_set(), what="connection lost", timeout_s=5)
                await wait_until(lambda: sim.ready.is_set() and sim.pending == 0, what="back and caught up")
                # Its profile comes back after each reconnect: safe default, then the TxProfile again.
                await wait_until(
                    lambda r=round_: answered("default") == 1 + r and answered("set") == 1 + r,
                    what="profile resent after the reconnect",
                )
            assert sim.power_kw == pytest.approx(6.0)
            sim.unplug()
            await wait_until(lambda: sim.pending == 0, what="plug-out sent")
            await gateway.writer.join()
            await sim.stop()
            return sim

    sim = run(scenario())
    assert sim.connects == 3 and sim.offline_readings > 0

    # Every reading the charger took is stored exactly once.
    samples = rows(
        engine,
        models.MeterSample,
        models.MeterSample.charger_id == charger_id,
        order_by=models.MeterSample.time,
    )
    assert [s.time for s in samples] == [ms(r.at) for r in sim.readings]
    # One session for the one transaction, closed at the plug-out.
    (session,) = rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id)
    assert session.ended_at == ms(sim.readings[-1].at)
    assert all(s.session_id == session.id for s in samples)

    sent = commands(engine, charger_id)
    assert [(c.action, c.status) for c in sent if c.action == "default"] == [("default", "Accepted")] * 3
    profiles = [c for c in sent if c.action == "set"]
    assert {c.status for c in profiles} == {"Accepted"} and len(
        {json.dumps(c.payload) for c in profiles}
    ) == 1
    tx_profiles = [
        p
        for action, p, _ in sim.received
        if action == "SetChargingProfile" and p.get("charging_profile_purpose") == "TxProfile"
    ]
    assert len(tx_profiles) == 3


@pytest.mark.timeout(30)
def test_a_resent_message_is_merged_not_doubled(engine):
    """A charger that did not get our answer sends the same message again: one session, one reading."""
    charger_id = "CP-CAR-03"
    start = [
        2,
        "s1",
        "StartTransaction",
        {
            "connectorId": 1,
            "idTag": "TAG-CAR-03",
            "meterStart": 1000,
            "timestamp": "2026-03-02T17:00:00.000Z",
        },
    ]

    def meter(unique_id, tx, value):
        return [
            2,
            unique_id,
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": tx,
                "meterValue": [
                    {
                        "timestamp": "2026-03-02T17:00:10.000Z",
                        "sampledValue": [
                            {"value": value, "measurand": "Power.Active.Import", "unit": "W"},
                            {"value": "41.5", "measurand": "SoC", "unit": "Percent", "location": "EV"},
                        ],
                    }
                ],
            },
        ]

    async def scenario():
        async with running_gateway(engine) as gateway:
            async with connect(
                f"{gateway.url}/{charger_id}",
                subprotocols=["ocpp1.6"],
                additional_headers=basic_auth(charger_id, password_of(charger_id)),
            ) as ws:
                answers = []
                for frame in (start, start):  # StartTransaction twice: the same transaction id
                    await ws.send(json.dumps(frame))
                    answers.append(await _answer_to(ws, "s1"))
                tx = answers[0][2]["transactionId"]
                for unique_id in ("m1", "m2"):
                    await ws.send(json.dumps(meter(unique_id, tx, "11000")))
                    await _answer_to(ws, unique_id)
            await gateway.writer.join()
            return answers

    answers = run(scenario())
    assert answers[0][2]["transactionId"] == answers[1][2]["transactionId"]
    (session,) = rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id)
    samples = rows(
        engine,
        models.MeterSample,
        models.MeterSample.charger_id == charger_id,
        order_by=models.MeterSample.time,
    )
    # the start register (17:00:00) and the one reading (17:00:10), each once
    assert [(s.energy_import_kwh, s.power_kw, s.soc) for s in samples] == [
        (1.0, None, None),
        (None, 11.0, 0.415),
    ]
    assert session.vehicle_id == "CAR-03"


async def _answer_to(ws, unique_id):
    """The answer to our CALL `unique_id`, skipping the gateway's own CALLs (it sends the safe default)."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame[0] == 2:  # a CALL from the gateway: answer it so it does not wait
            await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
            continue
        if frame[1] == unique_id:
            return frame
