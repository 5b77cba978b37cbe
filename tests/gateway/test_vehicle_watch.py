"""The departure watch: a vehicle behind its target near its departure gets full power at once, without
waiting for the next plan; one on track is left alone; the site's import headroom bounds the boost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import models
from core.db import session_scope
from core.gateway.vehicle_watch import VehicleWatch, kwh_short_at_departure
from tests.conftest import T0
from tests.gateway.support import SITE_ID, gateway_settings, rows


def _setup(engine, *, soc: float, power_kw: float, departs_in: timedelta, site_net_import_kw: float | None = None):
    with session_scope(engine) as s:
        s.get(models.Charger, "CP-BUS-01").connected = True
        plug = models.PlugSession(charger_id="CP-BUS-01", vehicle_id="BUS-01", transaction_id="w1", started_at=T0 - timedelta(hours=3))
        s.add(plug)
        s.flush()
        s.add(models.MeterSample(time=T0 - timedelta(seconds=1), charger_id="CP-BUS-01", session_id=plug.id, power_kw=power_kw, soc=soc))
        s.add(models.DispatchRun(
            site_id=SITE_ID, started_at=T0 - timedelta(minutes=1), finished_at=T0 - timedelta(minutes=1), horizon_start=T0,
            trigger="test", result_summary={"departures": {"BUS-01": (T0 + departs_in).isoformat()}, "targets": {"BUS-01": 0.95}},
        ))  # fmt: skip
        if site_net_import_kw is not None:
            s.add(models.SiteSample(site_id=SITE_ID, time=T0 - timedelta(seconds=1), building_load_kw=0, pv_kw=0,
                                    ev_power_kw=power_kw, ev_charge_kw=power_kw, ev_discharge_kw=0, net_import_kw=site_net_import_kw))


def _boosts(engine):
    return [c for c in rows(engine, models.ChargingProfileCommand, models.ChargingProfileCommand.charger_id == "CP-BUS-01") if c.action == "boost"]


def _watch(engine):
    return VehicleWatch(engine=engine, settings=gateway_settings(str(engine.url), meter_interval_s=10.0))


def test_a_bus_behind_near_its_departure_goes_to_full_power_once(engine, clock):
    _setup(engine, soc=0.80, power_kw=20.0, departs_in=timedelta(minutes=20))  # 20 kW for 20 min: 6 of 52 kWh
    watch = _watch(engine)
    assert watch.check(T0) == 1
    [boost] = _boosts(engine)
    assert boost.schedule[0][1] == pytest.approx(100.0)  # the bus charger's full power
    assert watch.check(T0 + timedelta(seconds=10)) == 0  # once per stay: the next plan takes over


def test_a_bus_on_track_is_left_alone(engine, clock):
    _setup(engine, soc=0.94, power_kw=60.0, departs_in=timedelta(minutes=20))
    assert _watch(engine).check(T0) == 0 and _boosts(engine) == []


def test_the_boost_stays_within_the_site_import_headroom(engine, clock):
    # limit 400 kW (headroom 8): a reading of 372 kW leaves 20 kW more for the bus
    _setup(engine, soc=0.80, power_kw=20.0, departs_in=timedelta(minutes=20), site_net_import_kw=372.0)
    assert _watch(engine).check(T0) == 1
    [boost] = _boosts(engine)
    assert boost.schedule[0][1] == pytest.approx(40.0)


def test_the_shortfall_forecast_follows_the_taper():
    flat = kwh_short_at_departure(soc=0.85, target_soc=1.0, battery_kwh=100, power_kw=50, max_charge_kw=50, efficiency=1, hours_left=0.3, taper_start_soc=1.0)
    tapered = kwh_short_at_departure(soc=0.85, target_soc=1.0, battery_kwh=100, power_kw=50, max_charge_kw=50, efficiency=1, hours_left=0.3, taper_start_soc=0.8)
    assert flat == pytest.approx(0.0) and tapered > 5.0


def test_a_discharge_that_reaches_the_floor_stops_at_once(engine, clock):
    """A van discharging 0.2 % above its floor: the floor watch caps it at 0 kW without waiting for the
    next plan, once per hold; one further above its floor discharges on."""
    from core.rules.discharge import effective_soc_floor

    with session_scope(engine) as s:
        floor = effective_soc_floor(s.get(models.Vehicle, "VAN-01"), s.get(models.Site, SITE_ID))
        s.get(models.Charger, "CP-VAN-01").connected = True
        s.get(models.Charger, "CP-VAN-05").connected = True
        for vehicle_id, charger_id, soc in (("VAN-01", "CP-VAN-01", floor + 0.002), ("VAN-05", "CP-VAN-05", floor + 0.2)):
            plug = models.PlugSession(charger_id=charger_id, vehicle_id=vehicle_id, transaction_id=f"f-{vehicle_id}", started_at=T0 - timedelta(hours=1))
            s.add(plug)
            s.flush()
            s.add(models.MeterSample(time=T0 - timedelta(seconds=1), charger_id=charger_id, session_id=plug.id, power_kw=-10.0, soc=soc))
    watch = _watch(engine)
    assert watch.check(T0) == 1
    held = [c for c in rows(engine, models.ChargingProfileCommand) if c.action == "guard"]
    assert [(c.charger_id, c.schedule[0][1]) for c in held] == [("CP-VAN-01", 0.0)]
    assert watch.check(T0 + timedelta(seconds=10)) == 0
