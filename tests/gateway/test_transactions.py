"""Boot, status, meter values and a whole transaction, over real WebSockets, for OCPP 1.6, 2.0.1 and 2.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import models
from core.clock import FixedClock
from tests.gateway.support import (
    BY_PROTOCOL,
    DEMO,
    SITE_ID,
    FakePlanning,
    rows,
    run,
    running_gateway,
    simulated,
    wait_until,
)


def ms(at):
    """OCPP timestamps travel with millisecond precision."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_boot_status_meter_values_and_a_whole_transaction_are_stored(engine, protocol):
    charger_id = BY_PROTOCOL[protocol]
    vehicle = next(v for v in DEMO.vehicles if v.home_charger_id == charger_id)
    demo_charger = next(c for c in DEMO.chargers if c.id == charger_id)
    planning = FakePlanning()

    def charger():
        return rows(engine, models.Charger, models.Charger.id == charger_id)[0]

    async def scenario():
        async with running_gateway(engine, planning=planning) as gateway:
            sim = simulated(gateway.url, charger_id)
            await sim.start()
            await sim.wait_ready()
            await wait_until(lambda: charger().connected and charger().vendor, what="boot stored")
            sim.plug_in()
            await wait_until(lambda: len(sim.readings) >= 6 and sim.transaction_id, what="meter values")
            sim.unplug()
            await wait_until(lambda: sim.pending == 0, what="everything sent")
            await gateway.writer.join()
            during = charger()
            await sim.stop()
        return sim, during

    sim, during = run(scenario())

    # Boot and status.
    assert (during.vendor, during.model) == (demo_charger.vendor, demo_charger.model)
    assert during.connected and during.last_seen is not None
    after = charger()
    assert not after.connected  # the gateway stopped: nobody is connected
    assert after.status == "Available"

    # One session, linked to the vehicle by its id tag, from plug-in to plug-out.
    (session,) = rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id)
    first, last = sim.readings[0], sim.readings[-1]
    assert session.vehicle_id == vehicle.id and session.id_tag == vehicle.id_tag
    assert session.transaction_id == sim.transaction_id or session.ended_at is not None
    assert (session.started_at, session.ended_at) == (ms(first.at), ms(last.at))
    # energy = spread of the import register, 1 Wh rounding in the messages
    assert session.energy_in_kwh == pytest.approx((last.import_wh - first.import_wh) / 1000, abs=0.002)
    assert session.energy_in_kwh > 0
    assert session.soc_start == pytest.approx(first.soc, abs=1e-6)
    assert session.soc_end == pytest.approx(last.soc, abs=1e-6) and session.soc_end > session.soc_start

    # Every reading exactly once, in kW / kWh / fraction, linked to the session.
    samples = rows(
        engine,
        models.MeterSample,
        models.MeterSample.charger_id == charger_id,
        order_by=models.MeterSample.time,
    )
    assert [s.time for s in samples] == [ms(r.at) for r in sim.readings]
    for sample, reading in zip(samples, sim.readings, strict=True):
        assert sample.session_id == session.id
        assert sample.power_kw == pytest.approx(reading.power_kw, abs=1e-3)
        assert sample.soc == pytest.approx(reading.soc, abs=1e-6)
        assert sample.energy_import_kwh == pytest.approx(reading.import_wh / 1000, abs=1e-3)
    # No dispatch: the safe default lets it charge at full power.
    assert max(s.power_kw for s in samples) == pytest.approx(demo_charger.max_charge_kw)

    # 2.x: the vehicle's needs (departure, energy) are on the session.
    if protocol != "1.6":
        assert session.departure_at is not None and session.departure_at > session.started_at
        assert session.energy_request_kwh == pytest.approx(
            (vehicle.target_soc - vehicle.arrival_soc) * vehicle.battery_kwh, abs=0.01
        )
        assert session.ev_charging_needs["max_charge_kw"] == pytest.approx(demo_charger.max_charge_kw)
    if protocol == "2.1":
        assert session.ev_charging_needs["max_discharge_kw"] == pytest.approx(demo_charger.max_discharge_kw)
        assert session.ev_charging_needs["requested_energy_transfer"] == "DC_BPT"

    # Plug-in and plug-out each asked for a re-plan.
    assert planning.replan_requests and set(planning.replan_requests) == {SITE_ID}
    assert len(planning.replan_requests) >= 2

    # On connect the charger got the safe default profile, and answered it.
    defaults = rows(
        engine, models.ChargingProfileCommand, models.ChargingProfileCommand.charger_id == charger_id
    )
    assert [(c.action, c.status) for c in defaults] == [("default", "Accepted")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_readings_taken_within_one_millisecond_are_all_stored(engine, protocol):
    """Regression: on a loaded machine the meter tick could run right after plug_in() (or right
    before unplug()) in the same loop iteration, so two readings shared one wire millisecond and
    the gateway merged them (as it must a resent one): one sample looked lost. A clock that stands
    still forces that collision for every reading."""
    charger_id = BY_PROTOCOL[protocol]
    clock = FixedClock(datetime(2026, 11, 26, 9, 10, 20, 158_000, tzinfo=UTC))

    async def scenario():
        async with running_gateway(engine, planning=FakePlanning()) as gateway:
            sim = simulated(gateway.url, charger_id, clock=clock)
            await sim.start()
            await sim.wait_ready()
            sim.plug_in()
            await wait_until(lambda: len(sim.readings) >= 4 and sim.transaction_id, what="meter values")
            sim.unplug()
            await wait_until(lambda: sim.pending == 0, what="everything sent")
            await gateway.writer.join()
            await sim.stop()
        return sim

    sim = run(scenario())
    times = [ms(r.at) for r in sim.readings]
    assert len(set(times)) == len(times)  # one wire instant per reading
    samples = rows(
        engine,
        models.MeterSample,
        models.MeterSample.charger_id == charger_id,
        order_by=models.MeterSample.time,
    )
    assert [s.time for s in samples] == times
    (session,) = rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id)
    assert (session.started_at, session.ended_at) == (times[0], times[-1])
