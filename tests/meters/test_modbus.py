"""Modbus TCP site meters against a real pymodbus server started by the test on a free port: a
SunSpec meter + inverter found by discovery, and a generic register map; the gateway's reader
stores site samples that match what the server serves, also after the registers change."""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.client import AsyncModbusTcpClient as Client
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from core import models
from core.meters.try_sunspec_server import start_simulator
from tests.gateway.support import gateway_settings, rows, run, running_gateway, wait_until
from tests.meters.support import configure, meter_samples

pytestmark = pytest.mark.usefixtures("running_clock")


def sample_with(engine, **expected):
    """The newest site sample whose values are `expected` (kW, to 0.01), or None."""

    def check():
        for sample in reversed(meter_samples(engine)):
            if all(getattr(sample, k) == pytest.approx(v, abs=0.01) for k, v in expected.items()):
                return sample
        return None

    return check


def test_a_sunspec_meter_and_inverter_become_site_samples_that_follow_the_registers(engine):
    async def scenario():
        sim = await start_simulator(net_import_kw=123.45, pv_kw=30.0, w_sf=1)  # 10 W steps
        configure(
            engine,
            kind="modbus",
            host="127.0.0.1",
            port=sim.port,
            sunspec=True,
            quantities="net_import_kw,pv_kw",
            poll_interval_s=0.2,
        )
        settings = gateway_settings(str(engine.url), meter_interval_s=0.2)
        try:
            async with running_gateway(engine, site_meter=True, settings=settings):
                # No charger draws anything: building = net import - EV power + PV = 123.45 + 30.
                first = await wait_until(
                    sample_with(engine, net_import_kw=123.45, pv_kw=30.0), what="the first reading"
                )
                assert first.building_load_kw == pytest.approx(153.45) and first.ev_power_kw == 0.0
                await sim.set_power(net_import_kw=-20.5, pv_kw=55.0)  # now exporting
                changed = await wait_until(sample_with(engine, net_import_kw=-20.5, pv_kw=55.0), what="the change")
                assert changed.building_load_kw == pytest.approx(34.5) and changed.time > first.time
        finally:
            await sim.stop()
        (meter,) = rows(engine, models.SiteMeter)
        assert meter.last_values == {"net_import_kw": -20.5, "pv_kw": 55.0} and meter.last_error == ""

    run(scenario())


def generic_device():
    """A meter that is not SunSpec: net import in W as int32 at 100 (big word order), PV in kW as a
    float32 at 200 (little word order), both holding registers of unit 3."""
    little = Client.convert_to_registers(12.5, Client.DATATYPE.FLOAT32, word_order="little")
    return SimDevice(id=3, simdata=[
        SimData(100, values=-250_000, datatype=DataType.INT32),
        SimData(200, values=little, datatype=DataType.REGISTERS),
    ])  # fmt: skip


def test_a_generic_register_map_is_read_with_its_types_scales_and_signs(engine):
    async def scenario():
        server = ModbusTcpServer(generic_device(), address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        port = server.transport.sockets[0].getsockname()[1]
        # The meter counts export as positive: its -250 kW is 250 kW of import.
        configure(engine, kind="modbus", host="127.0.0.1", port=port, unit_id=3, poll_interval_s=0.2,
                  net_import_sign="export_positive", registers={
                      "net_import_kw": {"address": 100, "type": "int32", "scale": 0.001},
                      "pv_kw": {"address": 200, "type": "float32", "word_order": "little"},
                  })  # fmt: skip
        try:
            async with running_gateway(engine, site_meter=True, settings=gateway_settings(str(engine.url), meter_interval_s=0.2)):
                sample = await wait_until(sample_with(engine, net_import_kw=250.0, pv_kw=12.5), what="the map's values")
                assert sample.building_load_kw == pytest.approx(262.5)
                await server.async_setValues(3, 3, 100, Client.convert_to_registers(-100_000, Client.DATATYPE.INT32))
                await wait_until(sample_with(engine, net_import_kw=100.0, pv_kw=12.5), what="the new net import")
        finally:
            await server.shutdown()

    run(scenario())


def test_a_meter_that_does_not_answer_writes_no_sample_and_says_why(engine):
    async def scenario():
        sim = await start_simulator(net_import_kw=10.0, pv_kw=None)  # a meter without an inverter model
        port = sim.port
        await sim.stop()  # nothing listens there any more
        configure(engine, kind="modbus", host="127.0.0.1", port=port, sunspec=True, poll_interval_s=0.2)
        async with running_gateway(engine, site_meter=True, settings=gateway_settings(str(engine.url), meter_interval_s=0.2)) as gateway:

            def failure_on_the_row():
                gateway.meters.write_status_now()  # rather than wait for its status interval (5 s)
                return rows(engine, models.SiteMeter)[0].last_error

            error = await wait_until(failure_on_the_row, what="the failure on the meter's row")
            await asyncio.sleep(0.5)  # a few more polls and site meter intervals
        assert f"no answer from 127.0.0.1:{port}" in error
        (meter,) = rows(engine, models.SiteMeter)
        assert meter.last_read_at is None and meter_samples(engine, since=meter.created_at) == []

    run(scenario())
