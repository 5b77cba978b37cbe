"""What the planner and the overview make of the site meter, with the clock standing still: the first
plan keeps the import limit the meter measures; a meter that stops answering is stale, and then the
plan assumes the worst-case load (core.planning.state) and the overview says so."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from core import controls, models, planning, telemetry
from core.clock import now
from core.db import session_scope
from core.gateway.sitemeter import SiteMeter
from core.meters.runner import MeterRunner
from core.meters.status import site_meter_status
from core.meters.try_sunspec_server import start_simulator
from core.planning.state import WORST_CASE_MARGIN
from tests.conftest import T0
from tests.gateway.support import gateway_settings, run, wait_until
from tests.meters.support import ACTOR, SITE_ID, configure, meter_samples

pytestmark = pytest.mark.usefixtures("clock")
SAMPLE_INTERVAL_S = 2.0  # the site meter interval of the test settings (conftest: V2G_METER_INTERVAL_S)


def plug_bus_charging_now(engine) -> None:
    """BUS-01 plugged in at 40 %, the operator's charge-now override in force: it wants all 100 kW."""
    with session_scope(engine) as session:
        plug = models.PlugSession(charger_id="CP-BUS-01", vehicle_id="BUS-01", transaction_id="1",
                                  started_at=T0 - timedelta(hours=1))  # fmt: skip
        session.add(plug)
        session.flush()
        session.add(models.MeterSample(time=T0 - timedelta(seconds=1), charger_id="CP-BUS-01", session_id=plug.id,
                                       power_kw=0.0, soc=0.4))  # fmt: skip
        controls.start_override(session=session, actor=ACTOR, vehicle_id="BUS-01", kind="charge_now",
                                until=T0 + timedelta(hours=2))  # fmt: skip


def first_step_power_kw(engine) -> float:
    run_id = planning.run_dispatch(site_id=SITE_ID, trigger="test", engine=engine)
    with session_scope(engine) as session:
        setpoint = session.exec(
            select(models.Setpoint).where(models.Setpoint.run_id == run_id).where(models.Setpoint.step == 0)
        ).one()
        return setpoint.power_kw


def problem(engine):
    with session_scope(engine) as session:
        return planning.build_problem(session=session, site=session.get(models.Site, SITE_ID), at=now())


def test_the_first_plan_keeps_the_measured_import_limit_and_a_silent_meter_means_the_worst_case(engine, clock):
    plug_bus_charging_now(engine)
    # Without a meter the planner has only the forecast (the demo profile): the bus gets its 100 kW.
    assert first_step_power_kw(engine) == pytest.approx(100.0, abs=0.5)
    with session_scope(engine) as session:  # a busy day three days ago, 15:00 UTC: 600 kW
        session.add(models.SiteSample(site_id=SITE_ID, time=T0 - timedelta(days=3) + timedelta(hours=3),
                                      building_load_kw=600.0, net_import_kw=600.0))  # fmt: skip
        session.add(models.SiteSample(site_id=SITE_ID, time=T0 - timedelta(days=20) + timedelta(hours=4),
                                      building_load_kw=900.0, net_import_kw=900.0))  # too long ago to count  # fmt: skip

    async def scenario():
        sim = await start_simulator(net_import_kw=380.0, pv_kw=5.0)  # the connection limit is 400 kW
        configure(engine, kind="modbus", host="127.0.0.1", port=sim.port, sunspec=True,
                  quantities="net_import_kw,pv_kw", poll_interval_s=0.2)  # fmt: skip
        runner = MeterRunner(engine=engine, sample_interval_s=SAMPLE_INTERVAL_S)
        site_meter = SiteMeter(
            engine=engine, settings=gateway_settings(str(engine.url), meter_interval_s=SAMPLE_INTERVAL_S)
        )
        site_meter.meters = runner
        await runner.start()
        try:
            (sample,) = await wait_until(lambda: site_meter.write_samples(T0), what="a reading")
            assert (sample.net_import_kw, sample.pv_kw, sample.building_load_kw) == (380.0, 5.0, 385.0)
            # The first plan: the step underway has the measured load, so the bus gets what the
            # connection has left: 400 - 380 = 20 kW.
            assert problem(engine).scenario["site"]["base_load_kw"][0] == 385.0
            assert await asyncio.to_thread(first_step_power_kw, engine) == pytest.approx(20.0, abs=0.5)
            assert not telemetry.site_snapshot(SITE_ID, engine=engine).site_meter.stale

            await sim.stop()  # the meter stops answering
            clock.advance(seconds=30)  # well past 2 x the sample interval

            def failed():
                runner.write_status_now()
                with session_scope(engine) as session:
                    return session.exec(select(models.SiteMeter.last_error)).one()

            await wait_until(failed, what="a failed read")
            assert site_meter.write_samples(T0 + timedelta(seconds=30)) == []  # no sample from a silent meter
        finally:
            await runner.stop()

    run(scenario())
    with session_scope(engine) as session:
        status = site_meter_status(session=session, site_id=SITE_ID, at=T0 + timedelta(seconds=30),
                                   sample_interval_s=SAMPLE_INTERVAL_S)  # fmt: skip
    assert status.stale and status.since == T0
    site = problem(engine).scenario["site"]
    worst_now = 385.0 * (1 + WORST_CASE_MARGIN)
    assert min(site["base_load_kw"]) >= worst_now and site["pv_kw"] == [0.0] * 96
    assert site["base_load_kw"][12] == 600.0  # 15:00 UTC: the highest load seen at that time of day
    assert site["base_load_kw"][16] < 900.0  # 20 days ago is outside the two weeks looked at
    assert problem(engine).forecast_source.startswith("site meter stale since 13:00: worst-case load")
    note = telemetry.site_snapshot(SITE_ID, engine=engine).site_meter_note
    assert note == "site meter stale since 13:00 — planning with worst-case load"
    assert len(meter_samples(engine, since=T0)) == 1
