"""What the live pages are told, from a real database file: staleness, chargers that ignore their
profile, and "may this vehicle discharge" as the planner decides it."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlmodel import select

from components.fleet import v2g_text
from core import models, telemetry
from core.config import get_settings
from core.db import make_engine, session_scope
from core.planning import build_problem
from core.rules.staleness import STALE_METER_INTERVALS
from tests.conftest import T0


@pytest.fixture
def engine(demo_engine, clock):
    """The demo depot with the clock standing at T0."""
    return demo_engine


def accepted_profile(engine, charger_id: str, power_kw: float) -> None:
    with session_scope(engine) as s:
        s.add(models.ChargingProfileCommand(
            charger_id=charger_id, payload={}, schedule=[[(T0 - timedelta(hours=1)).isoformat(), power_kw]],
            status="Accepted", answered_at=T0 - timedelta(minutes=30),
        ))  # fmt: skip


def samples(engine, charger_id: str, powers_kw: list[float]) -> None:
    with session_scope(engine) as s:
        for k, p in enumerate(powers_kw):
            s.add(models.MeterSample(time=T0 - timedelta(seconds=10 * (len(powers_kw) - k)), charger_id=charger_id, power_kw=p))


def state(engine, charger_id: str) -> telemetry.ChargerState:
    return next(c for c in telemetry.charger_states("depot-ams", engine=engine) if c.charger_id == charger_id)


# (what was tried, setpoint kW, metered kW, flagged?) on a 100 kW charger: tolerance max(2, 10 %) = 10 kW.
CASES = [
    ("follows its 40 kW setpoint", 40.0, [40.0, 39.5, 40.2], False),
    ("draws full power against a 40 kW setpoint", 40.0, [100.0, 100.0, 100.0], True),
    ("once over, then back: not several samples", 40.0, [100.0, 40.0, 40.0], False),
    ("takes less than allowed (battery nearly full)", 40.0, [12.0, 11.0, 10.0], False),
    ("discharges when told to rest", 0.0, [-30.0, -30.0, -30.0], True),
]


@pytest.mark.parametrize(("tried", "setpoint_kw", "metered_kw", "flagged"), CASES, ids=[c[0] for c in CASES])
def test_a_charger_that_ignores_its_profile_is_flagged(engine, tried, setpoint_kw, metered_kw, flagged):
    accepted_profile(engine, "CP-BUS-01", setpoint_kw)
    samples(engine, "CP-BUS-01", metered_kw)
    assert state(engine, "CP-BUS-01").ignores_profile is flagged


def test_values_older_than_their_update_interval_are_stale(engine):
    # Test meter interval 2 s: stale past 2 intervals (core.rules.staleness) = 4 s.
    with session_scope(engine) as s:
        s.add(models.MeterSample(time=T0 - timedelta(seconds=3), charger_id="CP-BUS-01", power_kw=5.0))
        s.add(models.MeterSample(time=T0 - timedelta(seconds=60), charger_id="CP-BUS-02", power_kw=5.0))
    assert state(engine, "CP-BUS-01").power_kw.stale is False
    assert state(engine, "CP-BUS-02").power_kw.stale is True
    assert state(engine, "CP-BUS-03").power_kw.value is None and state(engine, "CP-BUS-03").power_kw.stale


# --- one rule for "may this vehicle discharge" and "stale", shared with the planner ----------------

SITE = "depot-ams"


def plug_in(engine, vehicle_id: str, charger_id: str, *, soc: float = 0.6, soc_age: timedelta = timedelta(seconds=1)) -> None:
    """An open session of `vehicle_id` on `charger_id` since an hour ago, with a SoC reading `soc_age` old."""
    with session_scope(engine) as s:
        s.add(models.PlugSession(charger_id=charger_id, vehicle_id=vehicle_id, transaction_id=f"T-{vehicle_id}",
                                started_at=T0 - timedelta(hours=1)))
        s.add(models.MeterSample(time=T0 - soc_age, charger_id=charger_id, power_kw=0.0, soc=soc))


def planned(engine):
    """What the planner makes of the database now: charger id -> its scenario entry, and the problem."""
    with session_scope(engine) as s:
        problem = build_problem(session=s, site=s.get(models.Site, SITE), at=T0)
    return {c["id"]: c for c in problem.scenario["chargers"]}, problem


def test_the_v2g_column_agrees_with_the_planner_on_every_demo_charger(engine):
    """The overview's V2G column said "yes" for VAN-03/VAN-04 on OCPP 2.0.1 chargers without negative
    limits, which the planner never discharges. Now one rule (core.rules.discharge) answers both."""
    with session_scope(engine) as s:
        s.get(models.Charger, "CP-BUS-02").v2g_off = True  # the operator switches, too
        s.get(models.Vehicle, "VAN-05").v2g_allowed = False
        chargers = s.exec(select(models.Charger).where(models.Charger.site_id == SITE)).all()
        homes = {v.home_charger_id: v.id for v in s.exec(select(models.Vehicle).where(models.Vehicle.site_id == SITE))}
    assert all(c.id in homes for c in chargers), "every demo charger is some vehicle's home"
    for charger_id, vehicle_id in homes.items():
        plug_in(engine, vehicle_id, charger_id)  # a fresh SoC: only the charger and the switches decide

    plan_chargers, _ = planned(engine)
    rows = {r.charger_id: r for r in telemetry.fleet(SITE, engine=engine)}
    states = {s.charger_id: s for s in telemetry.vehicle_states(SITE, engine=engine)}
    assert set(plan_chargers) == set(rows) == {c.id for c in chargers}
    for charger_id, entry in plan_chargers.items():
        discharges = entry["max_discharge_kw"] > 0
        row, state = rows[charger_id], states[charger_id]
        assert row.v2g_possible is discharges, (charger_id, row.v2g_blocked_reason)
        assert state.plugged and state.v2g_possible is discharges, (charger_id, state.v2g_blocked_reason)
        assert (row.v2g_blocked_reason is None) is discharges
        assert v2g_text(row.v2g_possible, row.v2g_blocked_reason).startswith("yes" if discharges else "no — ")

    # The cases of the issue, by name: charge-only 2.0.1, the switches, one-way chargers.
    assert not rows["CP-VAN-03"].v2g_possible and "charge-only" in rows["CP-VAN-03"].v2g_blocked_reason
    assert not rows["CP-VAN-04"].v2g_possible
    assert rows["CP-VAN-01"].v2g_possible  # 2.0.1 with the vendor's negative limits
    assert not rows["CP-BUS-02"].v2g_possible and "V2G is off" in rows["CP-BUS-02"].v2g_blocked_reason
    assert not rows["CP-VAN-05"].v2g_possible and "V2G is off" in rows["CP-VAN-05"].v2g_blocked_reason
    assert not rows["CP-CAR-01"].v2g_possible and "one-way" in rows["CP-CAR-01"].v2g_blocked_reason
    assert rows["CP-BUS-01"].v2g_possible


@pytest.mark.parametrize(("intervals", "stale"), [(1.5, False), (2.5, True)])
def test_a_soc_is_stale_for_the_pages_exactly_when_the_planner_treats_it_as_unknown(engine, intervals, stale):
    """One threshold (core.rules.staleness, 2 meter intervals): telemetry used 3 and planning 2, so a
    SoC 2.5 intervals old showed as fresh while the planner already planned from the floor."""
    assert STALE_METER_INTERVALS == 2
    age = timedelta(seconds=intervals * get_settings().meter_interval_s)
    plug_in(engine, "BUS-01", "CP-BUS-01", soc=0.8, soc_age=age)

    state = telemetry.vehicle_states(SITE, engine=engine, vehicle_id="BUS-01")[0]
    assert state.soc.value == 0.8 and state.soc.stale is stale
    assert state.v2g_possible is not stale
    if stale:
        assert "stale" in state.v2g_blocked_reason

    plan_chargers, problem = planned(engine)
    (vehicle,) = problem.vehicles
    assert vehicle.soc_known is not stale
    (entry,) = problem.scenario["vehicles"]
    assert entry["soc_arrival"] == (entry["soc_floor"] if stale else 0.8)  # unknown: planned from the floor
    assert (plan_chargers["CP-BUS-01"]["max_discharge_kw"] > 0) is not stale  # ... and no discharge


def test_caches_are_kept_per_database(tmp_path, demo_template, engine):
    """A second database in the same process gets its own settled history and setpoints, never the first's."""
    shutil.copy(demo_template, tmp_path / "other.db")
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with session_scope(engine) as s:
        s.add(models.SiteSample(site_id=SITE, time=T0 - timedelta(hours=2), building_load_kw=10.0, pv_kw=0.0,
                                ev_charge_kw=0.0, ev_discharge_kw=0.0, net_import_kw=10.0))  # fmt: skip
        run = models.DispatchRun(site_id=SITE, started_at=T0, finished_at=T0, status="optimal", horizon_start=T0)
        s.add(run)
        s.flush()
        s.add(models.Setpoint(run_id=run.id, vehicle_id="BUS-01", charger_id="CP-BUS-01", start=T0, step=0, power_kw=5.0))
        run_id = run.id
    try:
        window = {"since": T0 - timedelta(hours=3), "until": T0}
        assert len(telemetry.site_history_frame(SITE, engine=engine, **window)) == 1
        assert len(telemetry.site_history_frame(SITE, engine=other, **window)) == 0
        assert len(telemetry.plan_frame(run_id, engine=engine)) == 1
        assert len(telemetry.plan_frame(run_id, engine=other)) == 0
    finally:
        telemetry.clear_caches()
        other.dispose()


# --- on track / at risk: the forecast of the live state, not the plan's arithmetic -----------------


def stored_plan(engine, *, vehicle_id: str, charger_id: str, start, powers_kw: list[float]) -> int:
    """A finished dispatch run that plans `powers_kw` for the vehicle from `start` (0 kW after), with
    no shortfall of its own: by the plan's arithmetic the vehicle is on track."""
    with session_scope(engine) as s:
        run = models.DispatchRun(site_id=SITE, started_at=start, finished_at=start + timedelta(seconds=2),
                                 status="optimal", horizon_start=start, result_summary={"shortfalls": [], "reasons": {}})
        s.add(run)
        s.flush()
        for k in range(96):
            s.add(models.Setpoint(run_id=run.id, vehicle_id=vehicle_id, charger_id=charger_id, step=k,
                                  start=start + timedelta(minutes=15 * k), power_kw=powers_kw[k] if k < len(powers_kw) else 0.0))
        return run.id


@pytest.fixture
def bus_planned_to_80(engine):
    """BUS-01 plugged in for an hour; its operators' schedule asks 80 % (the vehicle's own target is
    95 %); a plan from 30 minutes ago took it from 60 % at 100 kW for 45 minutes: 60 + 0.75 h x 95 kW
    / 350 kWh = 80.4 %, so by the plan it reaches 80 %, and 73.6 % is where it should be now."""
    with session_scope(engine) as s:
        s.add(models.DepartureSchedule(vehicle_id="BUS-01", weekdays="0123456", departure_time="05:30", target_soc=0.80))
        s.add(models.PlugSession(charger_id="CP-BUS-01", vehicle_id="BUS-01", transaction_id="T-BUS-01",
                                 started_at=T0 - timedelta(hours=1)))
    stored_plan(engine, vehicle_id="BUS-01", charger_id="CP-BUS-01", start=T0 - timedelta(minutes=30), powers_kw=[100.0] * 3)
    yield
    telemetry.clear_caches()


def measured(engine, charger_id: str, soc: float, power_kw: float = 100.0) -> None:
    with session_scope(engine) as s:
        s.add(models.MeterSample(time=T0 - timedelta(seconds=1), charger_id=charger_id, power_kw=power_kw, soc=soc))


def test_a_vehicle_whose_soc_is_behind_its_plan_is_at_risk_with_the_kwh(engine, bus_planned_to_80):
    """The plan says 80.4 % at departure, but the bus measures 70 % where the plan expected 73.6 %:
    from 70 % the 15 minutes left of the plan bring it to 76.8 %, 11.2 kWh short of 80 %."""
    measured(engine, "CP-BUS-01", 0.70)
    (bus,) = telemetry.vehicle_states(SITE, engine=engine, vehicle_id="BUS-01")
    assert bus.target_soc == pytest.approx(0.80)  # the target in force: the operators' schedule
    assert bus.at_risk
    assert bus.shortfall_kwh == pytest.approx((0.80 - 0.70) * 350 - 0.25 * 100 * 0.95, abs=0.1)
    assert bus.shortfall_cause == f"plan delivers {bus.shortfall_kwh:.1f} kWh less than needed"
    assert bus.forecast_soc == pytest.approx(0.70 + 0.25 * 100 * 0.95 / 350, abs=1e-3)  # measured 1 s ago
    # Every page reads the same state: the overview's counts and the wall's list agree.
    snap = telemetry.site_snapshot(SITE, engine=engine)
    assert (snap.on_track, snap.at_risk) == (0, 1)
    (shown,) = [v for v in snap.vehicles if v.at_risk]
    assert (shown.vehicle_id, shown.shortfall_kwh, shown.shortfall_cause) == ("BUS-01", bus.shortfall_kwh, bus.shortfall_cause)


def test_a_vehicle_on_its_plan_is_on_track(engine, bus_planned_to_80):
    measured(engine, "CP-BUS-01", 0.60 + 0.5 * 100 * 0.95 / 350)
    (bus,) = telemetry.vehicle_states(SITE, engine=engine, vehicle_id="BUS-01")
    assert not bus.at_risk and bus.shortfall_kwh == 0.0 and bus.shortfall_cause == ""
    assert bus.forecast_soc == pytest.approx(0.60 + 0.75 * 100 * 0.95 / 350, abs=1e-3)


def test_a_vehicle_that_draws_less_than_its_accepted_profile_is_at_risk(engine, bus_planned_to_80):
    """On its plan at 73.6 %, but its last minute at 50 kW against the 100 kW its charger accepted."""
    with session_scope(engine) as s:
        s.add(models.ChargingProfileCommand(
            charger_id="CP-BUS-01", payload={}, schedule=[[(T0 - timedelta(minutes=30)).isoformat(), 100.0]],
            status="Accepted", created_at=T0 - timedelta(minutes=30), answered_at=T0 - timedelta(minutes=29),
        ))  # fmt: skip
        for k in range(5):  # one a second (the tests' meter interval is 2 s)
            s.add(models.MeterSample(time=T0 - timedelta(seconds=k), charger_id="CP-BUS-01", power_kw=50.0,
                                     soc=0.60 + 0.5 * 100 * 0.95 / 350))
    (bus,) = telemetry.vehicle_states(SITE, engine=engine, vehicle_id="BUS-01")
    assert bus.at_risk and bus.shortfall_cause.startswith("vehicle draws less than its setpoint")
    # Half of the last 15 minutes' energy, less the 0.4 % the plan had to spare.
    assert bus.shortfall_kwh == pytest.approx(0.25 * 50 * 0.95 - (0.60 + 0.75 * 95 / 350 - 0.80) * 350, abs=0.1)


def test_a_stale_soc_is_at_risk_as_unknown(engine, bus_planned_to_80):
    with session_scope(engine) as s:
        s.add(models.MeterSample(time=T0 - timedelta(minutes=5), charger_id="CP-BUS-01", power_kw=100.0, soc=0.9))
    (bus,) = telemetry.vehicle_states(SITE, engine=engine, vehicle_id="BUS-01")
    assert bus.at_risk and bus.shortfall_cause == "SoC unknown or stale" and bus.forecast_soc is None
