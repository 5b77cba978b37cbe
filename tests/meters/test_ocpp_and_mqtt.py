"""The two other kinds of site meter: a charging station's main meter (OCPP connector / EVSE 0 meter
values, from a real authenticated WebSocket client) and MQTT (a real Mosquitto broker started by the
test), with JSON and plain-number payloads."""

from __future__ import annotations

import asyncio
import json

import aiomqtt
import pytest
from websockets.asyncio.client import connect

from core import models
from tests.gateway.support import (
    BY_PROTOCOL,
    basic_auth,
    gateway_settings,
    password_of,
    rows,
    run,
    running_gateway,
    wait_until,
)
from tests.gateway.test_bad_input import exchange
from tests.meters.support import configure, meter_samples

pytestmark = pytest.mark.usefixtures("running_clock")


def main_meter_values(protocol: str, watts: float) -> dict:
    """MeterValues of the station's main meter: connector 0 (1.6) or EVSE 0 (2.x), import in W."""
    sampled = {"value": str(watts) if protocol == "1.6" else watts, "measurand": "Power.Active.Import"}
    meter_value = [{"timestamp": "2026-12-01T12:00:00Z", "sampledValue": [sampled]}]
    return (
        {"connectorId": 0, "meterValue": meter_value} if protocol == "1.6" else {"evseId": 0, "meterValue": meter_value}
    )


@pytest.mark.parametrize("protocol", ["1.6", "2.1"])
def test_a_stations_main_meter_is_the_site_meter_and_not_a_vehicle(engine, protocol):
    charger_id = BY_PROTOCOL[protocol]
    configure(engine, kind="ocpp", charger_id=charger_id, poll_interval_s=1)

    async def scenario():
        async with running_gateway(engine, site_meter=True, settings=gateway_settings(str(engine.url), meter_interval_s=0.2)) as gateway:
            async with connect(f"{gateway.url}/{charger_id}", subprotocols=[f"ocpp{protocol}"],
                               additional_headers=basic_auth(charger_id, password_of(charger_id))) as ws:  # fmt: skip
                answer = await exchange(ws, [2, "m1", "MeterValues", main_meter_values(protocol, 150_000)])
                assert answer[0] == 3, answer
                sample = await wait_until(lambda: meter_samples(engine), what="a site sample")
            await gateway.writer.join()
        return sample[-1]

    sample = run(scenario())
    assert (sample.net_import_kw, sample.building_load_kw, sample.ev_power_kw) == (150.0, 150.0, 0.0)
    # The site's power is not the charger's: no meter sample of 150 kW for the station.
    assert [s for s in rows(engine, models.MeterSample, models.MeterSample.charger_id == charger_id)
            if s.power_kw == 150.0] == []  # fmt: skip


def test_mqtt_json_and_plain_number_payloads_become_site_samples(engine, mosquitto):
    configure(engine, kind="mqtt", host="127.0.0.1", port=mosquitto, topic="site/grid", poll_interval_s=1, paths={
        "net_import_kw": {"path": "grid.power_w", "scale": 0.001},  # JSON on the meter's topic, in W
        "pv_kw": {"topic": "site/pv", "path": ""},                  # a plain number in kW on its own topic
    })  # fmt: skip

    async def scenario():
        settings = gateway_settings(str(engine.url), meter_interval_s=0.2)
        async with (
            running_gateway(engine, site_meter=True, settings=settings) as gateway,
            aiomqtt.Client("127.0.0.1", port=mosquitto) as broker,
        ):

            async def publish_until(check, grid_w: float, pv_kw: float, what: str):
                for _ in range(100):  # the gateway may not have subscribed yet: publish again
                    await broker.publish("site/grid", json.dumps({"grid": {"power_w": grid_w}}), qos=1)
                    await broker.publish("site/pv", str(pv_kw), qos=1)
                    found = await asyncio.to_thread(check)
                    if found:
                        return found
                    await asyncio.sleep(0.1)
                raise AssertionError(f"no site sample with {what}")

            def sample_of(net_kw, pv_kw):
                return lambda: [s for s in meter_samples(engine) if (s.net_import_kw, s.pv_kw) == (net_kw, pv_kw)]

            (first, *_) = await publish_until(sample_of(42.0, 3.5), 42_000, 3.5, "42 kW import, 3.5 kW PV")
            assert first.building_load_kw == 45.5
            await broker.publish("site/grid", "not a number", qos=1)  # refused, the reader goes on
            await publish_until(sample_of(-10.0, 20.0), -10_000, 20.0, "10 kW export, 20 kW PV")

            def meter_row():
                gateway.meters.write_status_now()
                return rows(engine, models.SiteMeter)[0]

            meter = await wait_until(meter_row, what="the meter's row")
            assert meter.last_values == {"net_import_kw": -10.0, "pv_kw": 20.0}

    run(scenario())
