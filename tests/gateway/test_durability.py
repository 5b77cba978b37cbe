"""Nothing acknowledged is lost: a charger is answered only once what it sent is committed, and OCPP 1.6
transaction ids come from the database, so a crash or a restart never hands one out twice.

Tried over real WebSockets with the `ocpp` library as the charger: every answer is followed at once
(no waiting for the writer) by a look into the database, which must already hold what was answered.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import websockets
from ocpp.v16 import ChargePoint as Client16
from ocpp.v16 import call
from ocpp.v201 import ChargePoint as Client201
from ocpp.v201 import call as call201

from core import models
from core.clock import now
from tests.gateway.support import DEMO, FakePlanning, basic_auth, password_of, rows, run, running_gateway

CHARGER_16, CHARGER_201 = "CP-CAR-01", "CP-VAN-01"


def _iso(at) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _vehicle_of(charger_id: str):
    return next(v for v in DEMO.vehicles if v.home_charger_id == charger_id)


async def _connected(gateway, charger_id: str, protocol: str, client_class):
    ws = await websockets.connect(
        f"{gateway.url}/{charger_id}", subprotocols=[f"ocpp{protocol}"],
        additional_headers=basic_auth(charger_id, password_of(charger_id)),
    )  # fmt: skip
    client = client_class(charger_id, ws, response_timeout=20)
    listener = asyncio.create_task(client.start())
    return ws, client, listener


async def _start_16(client, *, id_tag: str, timestamp: str, meter_start_wh: int = 12_000) -> int:
    answer = await client.call(call.StartTransaction(connector_id=1, id_tag=id_tag, meter_start=meter_start_wh, timestamp=timestamp))
    return answer.transaction_id


def _session(engine, charger_id: str, transaction_id: str):
    found = rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id, models.PlugSession.transaction_id == transaction_id)
    return found[0] if found else None


@pytest.mark.timeout(60)
def test_a_16_transaction_start_and_its_meter_values_are_stored_before_they_are_answered(engine):
    """Tried: StartTransaction, then MeterValues, each looked up in the database the moment its answer
    arrives. The session must be there with its vehicle and meter start, every reading with it."""
    vehicle = _vehicle_of(CHARGER_16)

    async def scenario():
        async with running_gateway(engine, planning=FakePlanning()) as gateway:
            ws, client, listener = await _connected(gateway, CHARGER_16, "1.6", Client16)
            try:
                started = now()
                tx = await _start_16(client, id_tag=vehicle.id_tag, timestamp=_iso(started))
                plug = await asyncio.to_thread(_session, engine, CHARGER_16, str(tx))
                answered_readings = []
                for k in range(5):
                    at = _iso(now())
                    await client.call(call.MeterValues(connector_id=1, transaction_id=tx, meter_value=[{
                        "timestamp": at,
                        "sampledValue": [
                            {"value": str(12_000 + 100 * (k + 1)), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                            {"value": "7000", "measurand": "Power.Active.Import", "unit": "W"},
                        ],
                    }]))  # fmt: skip
                    stored = await asyncio.to_thread(
                        rows, engine, models.MeterSample, models.MeterSample.charger_id == CHARGER_16
                    )
                    answered_readings.append((k, len(stored)))
                    await asyncio.sleep(0.01)
            finally:
                listener.cancel()
                await ws.close()
        return tx, plug, answered_readings

    tx, plug, answered = run(scenario())
    assert plug is not None, "the StartTransaction was answered before its session was stored"
    assert (plug.vehicle_id, plug.id_tag) == (vehicle.id, vehicle.id_tag)
    # the meter start sample plus one per answered MeterValues, each there when its answer came
    assert [count for _, count in answered] == [2, 3, 4, 5, 6]


@pytest.mark.timeout(90)
def test_16_transaction_ids_come_from_the_database_and_are_never_given_twice(engine):
    """Tried: a StartTransaction, the same one sent again (the charger missed our answer), the
    gateway restarted (a new process would read only the database), then new transactions on
    two chargers. The resend gets the same id, every other start a new one, across the restart."""
    car = _vehicle_of(CHARGER_16)

    async def session_of_gateway(starts: list[tuple[str, str]]) -> list[int]:
        async with running_gateway(engine, planning=FakePlanning()) as gateway:
            ws, client, listener = await _connected(gateway, CHARGER_16, "1.6", Client16)
            try:
                return [await _start_16(client, id_tag=tag, timestamp=ts) for tag, ts in starts]
            finally:
                listener.cancel()
                await ws.close()

    t0 = now()
    first = _iso(t0)
    before = run(session_of_gateway([(car.id_tag, first), (car.id_tag, first)]))
    after = run(session_of_gateway([(car.id_tag, _iso(t0 + timedelta(seconds=5))), ("unknown-tag", first)]))
    assert before[0] == before[1], "a resent StartTransaction must get the id it was given"
    assert len(set(after)) == 2 and min(after) > before[0], f"ids given twice: {before} then {after}"
    given = [r.id for r in rows(engine, models.Ocpp16TransactionId, models.Ocpp16TransactionId.charger_id == CHARGER_16)]
    assert sorted(given) == sorted({before[0], *after})


@pytest.mark.timeout(60)
def test_an_id_token_after_plug_in_links_the_session_to_its_vehicle(engine):
    """Tried (2.0.1): TransactionEvent Started with no idToken (cable first), then Updated with the
    van's token (authorised). The session must get the van, before the Updated is answered."""
    van = _vehicle_of(CHARGER_201)

    async def scenario():
        async with running_gateway(engine, planning=FakePlanning()) as gateway:
            ws, client, listener = await _connected(gateway, CHARGER_201, "2.0.1", Client201)
            try:
                info = {"transaction_id": "tx-cable-first"}
                await client.call(call201.TransactionEvent(
                    event_type="Started", timestamp=_iso(now()), trigger_reason="CablePluggedIn", seq_no=0,
                    transaction_info=info, evse={"id": 1, "connector_id": 1},
                ))  # fmt: skip
                without = await asyncio.to_thread(_session, engine, CHARGER_201, "tx-cable-first")
                await client.call(call201.TransactionEvent(
                    event_type="Updated", timestamp=_iso(now()), trigger_reason="Authorized", seq_no=1,
                    transaction_info=info, id_token={"id_token": van.id_tag, "type": "ISO14443"},
                ))  # fmt: skip
                with_token = await asyncio.to_thread(_session, engine, CHARGER_201, "tx-cable-first")
            finally:
                listener.cancel()
                await ws.close()
        return without, with_token

    without, with_token = run(scenario())
    assert without is not None and without.vehicle_id is None
    assert (with_token.vehicle_id, with_token.id_tag) == (van.id, van.id_tag)
