"""How a vehicle left (core.departures.record_departure), on a real database file: met within the
tolerance, or short by how many kWh and why. The gateway's path is tests/gateway/test_departures.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core import departures, models
from core.db import session_scope
from tests.conftest import T0

# VAN-01: 75 kWh, 20 kW on CP-VAN-01 (efficiency 0.94), its own target 90 %.
VAN, CHARGER = "VAN-01", "CP-VAN-01"


@pytest.fixture
def engine(demo_engine, clock):
    return demo_engine


def leave(engine, *, plugged_at, left_at, socs=(), commands=(), departs_at=T0, target=0.9):
    """A stay of VAN-01 with an operators' one-off departure at `departs_at`, its SoC readings
    [(time, soc)] and profile commands [(created, answered, status, kW)], ended at `left_at` and
    recorded; returns the outcome (detached)."""
    with session_scope(engine) as s:
        s.add(models.DepartureOverride(vehicle_id=VAN, departs_at=departs_at, target_soc=target, created_at=plugged_at))
        plug = models.PlugSession(charger_id=CHARGER, vehicle_id=VAN, transaction_id="T-1", started_at=plugged_at)
        s.add(plug)
        for t, soc in socs:
            s.add(models.MeterSample(time=t, charger_id=CHARGER, soc=soc, power_kw=0.0))
        for created, answered, status, kw in commands:
            s.add(models.ChargingProfileCommand(charger_id=CHARGER, payload={}, schedule=[[created.isoformat(), kw]],
                                                status=status, created_at=created, answered_at=answered))
        s.flush()
        plug.ended_at = left_at
        outcome = departures.record_departure(session=s, plug=plug)
        s.flush()
        s.expunge(outcome)
    return outcome


START = T0 - timedelta(hours=3)


def profile(kw: float, status: str = "Accepted"):
    return (START + timedelta(minutes=1), START + timedelta(minutes=2), status, kw)


def test_a_vehicle_within_the_tolerance_of_its_target_met_it(engine):
    outcome = leave(engine, plugged_at=START, left_at=T0, socs=[(START, 0.5), (T0, 0.9 - 0.4 / 75)])
    assert outcome.met and outcome.short_kwh == 0.0 and outcome.reason == ""
    assert (outcome.target_soc, outcome.planned_departure_at, outcome.departed_at) == (0.9, T0, T0)


def test_a_vehicle_that_left_early_says_when_it_was_planned(engine):
    outcome = leave(engine, plugged_at=START, left_at=T0 - timedelta(minutes=40), socs=[(START, 0.5), (T0 - timedelta(hours=1), 0.8)])
    assert not outcome.met and outcome.short_kwh == pytest.approx(7.5)
    assert outcome.reason == "left early (planned 13:00, left 12:20)"  # the site's clock (Amsterdam)


def test_a_target_out_of_reach_in_the_time_plugged_in(engine):
    plugged = T0 - timedelta(minutes=10)
    outcome = leave(engine, plugged_at=plugged, left_at=T0, socs=[(plugged, 0.5), (T0, 0.54)])
    assert not outcome.met and outcome.reason == "not reachable in the time plugged in"


def test_a_charger_that_rejected_its_profile(engine):
    outcome = leave(engine, plugged_at=START, left_at=T0, socs=[(START, 0.5), (T0, 0.8)], commands=[profile(15.0, "Rejected")])
    assert outcome.reason == "charger ignored its profile (last profile: Rejected)"


def test_a_charger_that_delivered_less_than_its_accepted_profile(engine):
    # 15 kW for three hours would have filled it; it left at 60 %.
    outcome = leave(engine, plugged_at=START, left_at=T0, socs=[(START, 0.5), (T0, 0.6)], commands=[profile(15.0)])
    assert outcome.reason.startswith("charger ignored its profile (") and "kWh less than its profile gives" in outcome.reason


def test_a_charger_that_followed_a_short_plan(engine):
    # 7.5 kW for three hours: 0.5 + (2 min at 20 kW + 178 min at 7.5 kW) x 0.94 / 75 = 78.7 %; it left at 80 %.
    outcome = leave(engine, plugged_at=START, left_at=T0, socs=[(START, 0.5), (T0, 0.8)], commands=[profile(7.5)])
    assert outcome.reason == "plan short by 7.5 kWh" and outcome.short_kwh == pytest.approx(7.5)


def test_a_departure_without_any_soc_is_recorded_as_unknown(engine):
    outcome = leave(engine, plugged_at=START, left_at=T0)
    assert not outcome.met and outcome.short_kwh is None and outcome.soc_at_departure is None
    assert outcome.reason == "SoC at departure unknown"


def test_a_departure_is_recorded_once_and_only_for_a_known_vehicle(engine):
    first = leave(engine, plugged_at=START, left_at=T0, socs=[(T0, 0.9)])
    with session_scope(engine) as s:
        plug = s.get(models.PlugSession, first.session_id)
        assert departures.record_departure(session=s, plug=plug).id == first.id  # a stop sent again
        stranger = models.PlugSession(charger_id="CP-BUS-01", vehicle_id=None, transaction_id="T-2", started_at=START, ended_at=T0)
        s.add(stranger)
        s.flush()
        assert departures.record_departure(session=s, plug=stranger) is None
    with session_scope(engine) as s:
        assert len(s.exec(select(models.DepartureOutcome)).all()) == 1


def test_the_fleet_reads_the_same_departure_in_force_as_one_vehicle(engine):
    """`departures_in_force` (two queries for the fleet) and `departure_in_force` (per vehicle) agree:
    a one-off beats the schedule, the schedule beats the vehicle's usual time and target."""
    with session_scope(engine) as s:
        s.add(models.DepartureSchedule(vehicle_id="BUS-01", weekdays="0123456", departure_time="05:00", target_soc=0.8))
        s.add(models.DepartureSchedule(vehicle_id="BUS-02", weekdays="0123456", departure_time="05:00", target_soc=0.8))
        s.add(models.DepartureOverride(vehicle_id="BUS-02", departs_at=T0 + timedelta(hours=2), target_soc=None))
        s.add(models.DepartureOverride(vehicle_id="BUS-02", departs_at=T0 + timedelta(hours=3), target_soc=0.7))
        site = s.get(models.Site, "depot-ams")
        plugged = []
        for vehicle_id in ("BUS-01", "BUS-02", "BUS-03"):
            vehicle = s.get(models.Vehicle, vehicle_id)
            plugged.append((vehicle, models.PlugSession(charger_id=vehicle.home_charger_id, vehicle_id=vehicle_id,
                                                        transaction_id=vehicle_id, started_at=T0)))
        s.flush()
        fleet = departures.departures_in_force(session=s, site=site, plugged=plugged, at=T0)
        for vehicle, plug in plugged:
            assert fleet[vehicle.id] == departures.departure_in_force(session=s, vehicle=vehicle, site=site, plug=plug, at=T0)
        assert fleet["BUS-01"][1:] == ("schedule", 0.8)
        assert fleet["BUS-02"] == (T0 + timedelta(hours=2), "override", 0.8)  # the soonest one-off, the schedule's target
        assert fleet["BUS-03"][1:] == ("usual", 0.95)


def test_a_demo_reset_takes_the_departures_with_their_sessions(engine):
    from core.config import DEMO_DIR
    from core.demo import seed_demo

    leave(engine, plugged_at=START, left_at=T0, socs=[(T0, 0.9)])
    assert seed_demo(demo_dir=DEMO_DIR, engine=engine, reset=True)
    with session_scope(engine) as s:
        assert s.exec(select(models.DepartureOutcome)).all() == []
