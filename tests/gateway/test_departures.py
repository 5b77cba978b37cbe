"""Every departure is recorded as met or short, with why, by the gateway's own path: simulated
chargers (OCPP 1.6, 2.0.1 and 2.1 over real WebSockets) plug in and out, and the transaction that
ends each session stores its outcome."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import models
from core.clock import now
from core.db import session_scope
from tests.gateway.support import FakePlanning, rows, run, running_gateway, simulated, wait_until

CAR, VAN, BUS = "CP-CAR-01", "CP-VAN-01", "CP-BUS-01"


@pytest.mark.timeout(60)
def test_each_departure_is_recorded_met_or_short_with_its_reason(engine):
    with session_scope(engine) as s:
        # CAR-01 (arrives at 40 %): its operators' schedule asks only 30 %, below its own 80 %.
        s.add(models.DepartureSchedule(vehicle_id="CAR-01", weekdays="0123456", departure_time="07:00", target_soc=0.3))
        # VAN-01 (35 %) must leave in a minute with 90 %: out of reach.
        s.add(models.DepartureOverride(vehicle_id="VAN-01", departs_at=now() + timedelta(minutes=1), target_soc=0.9))
    # BUS-01 (45 %) usually leaves at 05:30 with 95 %, and leaves now.

    async def scenario():
        async with running_gateway(engine, planning=FakePlanning()) as gateway:
            sims = [simulated(gateway.url, charger_id) for charger_id in (CAR, VAN, BUS)]
            for sim in sims:
                await sim.start()
                await sim.wait_ready()
                sim.plug_in()
            await wait_until(lambda: all(len(sim.readings) >= 3 and sim.transaction_id for sim in sims), what="meter values")
            for sim in sims:
                sim.unplug()
            await wait_until(lambda: all(sim.pending == 0 for sim in sims), what="everything sent")
            await gateway.writer.join()
            for sim in sims:
                await sim.stop()
        return {sim.charger.id: sim for sim in sims}

    sims = run(scenario())
    outcomes = {o.charger_id: o for o in rows(engine, models.DepartureOutcome)}
    assert set(outcomes) == {CAR, VAN, BUS}
    sessions = {p.charger_id: p for p in rows(engine, models.PlugSession)}
    for charger_id, outcome in outcomes.items():
        plug = sessions[charger_id]
        assert (outcome.session_id, outcome.vehicle_id, outcome.departed_at) == (plug.id, plug.vehicle_id, plug.ended_at)
        assert outcome.soc_at_departure == pytest.approx(sims[charger_id].soc, abs=1e-4)  # its last reading

    car = outcomes[CAR]
    assert car.met and car.target_soc == 0.3 and car.short_kwh == 0.0 and car.reason == ""

    van = outcomes[VAN]
    assert not van.met and van.target_soc == 0.9
    assert van.short_kwh == pytest.approx((0.9 - van.soc_at_departure) * 75.0, abs=0.01)
    assert van.reason == "not reachable in the time plugged in"

    bus = outcomes[BUS]
    assert not bus.met and bus.target_soc == 0.95 and bus.short_kwh > 150
    assert bus.reason.startswith("left early (planned Wed 05:30, left Tue "), bus.reason  # the site's clock
