"""Live dispatch end to end on 127.0.0.1: gateway + scheduler + core.planning + simulated chargers
speaking real OCPP (the `ocpp` library on both ends).

What is tried: a price spike inside a V2G window makes the 2.1 bus discharge (its simulated SoC
falls) while its plan still reaches the target at departure; the 1.6 one-way car never gets a
discharge limit and never discharges; raising the bus's floor above its SoC stops the discharge at
the next run, which the setting's re-plan request triggers at once.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core import controls, models, planning
from core.clock import now
from core.db import session_scope
from tests.gateway.support import SITE_ID, commands, plugged_in, rows, run, running_gateway, wait_until

pytestmark = pytest.mark.timeout(120)


def spike_prices_and_open_window(engine) -> None:
    """Prices of 1.20 in / 1.00 out for the next hour, and a one-off V2G window over today and tomorrow."""
    start = now() - timedelta(minutes=15)
    with session_scope(engine) as s:
        site = s.get(models.Site, SITE_ID)
        today = now().astimezone(ZoneInfo(site.timezone)).date()
        s.add(models.V2GWindow(site_id=SITE_ID, start_time="00:00", end_time="00:00", weekdays="",
                               date_from=today, date_to=today + timedelta(days=1)))
        for p in s.exec(select(models.PricePoint).where(models.PricePoint.site_id == SITE_ID)
                        .where(models.PricePoint.start >= start).where(models.PricePoint.start < start + timedelta(hours=1))):
            p.import_price_per_kwh, p.export_price_per_kwh = 1.20, 1.00


def latest_run(engine) -> models.DispatchRun | None:
    found = rows(engine, models.DispatchRun, models.DispatchRun.finished_at.is_not(None), order_by=models.DispatchRun.id.desc())
    return found[0] if found else None


def accepted_dispatch_profile(engine, charger_id: str, after_id: int = 0):
    return [c for c in commands(engine, charger_id) if c.run_id and c.id > after_id and c.status == "Accepted"]


def test_price_spike_discharges_the_bus_and_a_raised_floor_stops_it(engine):
    spike_prices_and_open_window(engine)

    async def scenario():
        async with running_gateway(engine, planning=planning, dispatch=True) as gateway:
            bus = await plugged_in(gateway, engine, "CP-BUS-01")
            car = await plugged_in(gateway, engine, "CP-CAR-01")
            # Plug-ins ask for a re-plan; the scheduler runs dispatch within seconds and the
            # outbox sender delivers the profiles.
            await wait_until(lambda: accepted_dispatch_profile(engine, "CP-BUS-01"), timeout_s=30, what="bus profile accepted")
            soc_before = bus.vehicle.soc
            await wait_until(lambda: bus.power_kw < -10, timeout_s=10, what="bus discharging")
            await wait_until(lambda: bus.vehicle.soc < soc_before - 1e-4, timeout_s=10, what="bus SoC falling")

            run_row = latest_run(engine)
            assert run_row.status == "optimal"
            plan = rows(engine, models.Setpoint, models.Setpoint.run_id == run_row.id, models.Setpoint.vehicle_id == "BUS-01",
                        order_by=models.Setpoint.step)
            departure_step = max(sp.step for sp in plan if sp.soc_end is not None)
            assert plan[departure_step].soc_end >= 0.95 - 1e-6, "the bus still leaves at its target"

            # The one-way car: never a negative limit, never negative power.
            for command in commands(engine, "CP-CAR-01"):
                limits = command.payload.get("csChargingProfiles", {}).get("chargingSchedule", {}).get("chargingSchedulePeriod", [])
                assert all(p["limit"] >= 0 for p in limits)
            assert all((s.power_kw or 0) >= 0 for s in rows(engine, models.MeterSample, models.MeterSample.charger_id == "CP-CAR-01"))
            assert car.power_kw >= 0

            # The operator raises the bus's floor above its SoC, through the same service as the
            # Settings page; the change asks for a re-plan, which runs at once: no more discharge.
            last_command = commands(engine, "CP-BUS-01")[-1].id
            with session_scope(engine) as s:
                audit_id = controls.set_soc_floor(session=s, actor="operator-e2e", vehicle_id="BUS-01", floor=0.9).id
            await wait_until(lambda: accepted_dispatch_profile(engine, "CP-BUS-01", last_command), timeout_s=30,
                             what="new bus profile after the floor change")
            await wait_until(lambda: bus.power_kw >= 0, timeout_s=10, what="bus stops discharging")
            [audit] = rows(engine, models.AuditEvent, models.AuditEvent.id == audit_id)
            assert audit.after == {"soc_floor": 0.9} and audit.dispatch_run_id is not None, "the run that applied it"
            await bus.stop()
            await car.stop()

    run(scenario(), timeout_s=100)
