"""Live dispatch from a real database file: the problem the engine sees, and the outbox it fills."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from core import controls, dispatch, models, planning
from core.db import session_scope

# Thursday 26 Nov 2026, 17:00 UTC = 18:00 in Amsterdam: inside the weekday 17:00-21:00 V2G window.
# Not conftest's T0 (Tuesday 13:00, outside every window): the expected steps of windows and
# departures, the discharge into a price spike and the November billing month all depend on it.
T0 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


@pytest.fixture
def engine(demo_engine, clock):
    """The demo depot with the clock standing at this file's T0. The demo prices were seeded for
    the week either side of conftest's T0 (1 Dec), which covers this T0 and its 24-hour horizon."""
    clock.set(T0)
    return demo_engine


def plug(engine, vehicle_id: str, charger_id: str, *, soc: float | None, soc_age_s: float = 1, tx: str = "1") -> int:
    with session_scope(engine) as s:
        session = models.PlugSession(charger_id=charger_id, vehicle_id=vehicle_id, transaction_id=tx, started_at=T0 - timedelta(hours=1))
        s.add(session)
        s.flush()
        if soc is not None:
            s.add(models.MeterSample(time=T0 - timedelta(seconds=soc_age_s), charger_id=charger_id, session_id=session.id, power_kw=0.0, soc=soc))
        return session.id


def problem(engine):
    with session_scope(engine) as s:
        return planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)


def vehicle_entry(prob, vehicle_id):
    return next(v for v in prob.scenario["vehicles"] if v["id"] == vehicle_id)


def charger_entry(prob, charger_id):
    return next(c for c in prob.scenario["chargers"] if c["id"] == charger_id)


def test_plugged_vehicle_becomes_a_scenario_vehicle_with_its_live_soc(engine):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.6)
    prob = problem(engine)
    bus = vehicle_entry(prob, "BUS-01")
    assert bus["soc_arrival"] == 0.6 and bus["charger"] == "CP-BUS-01" and bus["arrival_step"] == 0
    # Next usual departure 05:30 local = 04:30 UTC next day: 11.5 h after 17:00 UTC = 46 steps; the plan
    # aims 15 minutes (the departure buffer) earlier: step 45.
    assert bus["departure_step"] == 45
    # the floor 35 % plus the plan's guard band (core.planning.margins): 0.5 % + 10 s at 100 kW
    assert 0.355 < bus["soc_floor"] < 0.36 and bus["soc_target"] == 0.95
    # The V2G window 17:00-21:00 local is 16:00-20:00 UTC: steps 0..11 from 17:00 UTC, and again
    # on Friday from 16:00 UTC (step 92) to the end of the horizon.
    assert bus["v2g_windows"] == [[0, 12], [92, 96]]
    assert charger_entry(prob, "CP-BUS-01")["max_discharge_kw"] == 100.0
    assert len(prob.scenario["tariff"]["import_price"]) == 96


def test_stale_soc_is_treated_as_the_floor_and_never_discharges(engine):
    # Stale means older than 2 meter intervals (2 x 2 s in tests); this reading is 5 minutes old.
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.9, soc_age_s=300)
    prob = problem(engine)
    bus = vehicle_entry(prob, "BUS-01")
    assert bus["soc_arrival"] == bus["soc_floor"] == 0.35
    assert bus["v2g_windows"] == [] and charger_entry(prob, "CP-BUS-01")["max_discharge_kw"] == 0.0


def test_one_way_charger_and_unsupported_protocol_never_discharge(engine):
    plug(engine, "CAR-01", "CP-CAR-01", soc=0.5, tx="2")  # 1.6, 11 kW one-way
    plug(engine, "VAN-03", "CP-VAN-03", soc=0.8, tx="3")  # 2.0.1 bidirectional hardware, no negative limits
    plug(engine, "VAN-01", "CP-VAN-01", soc=0.8, tx="4")  # 2.0.1 that accepts negative limits
    prob = problem(engine)
    assert charger_entry(prob, "CP-CAR-01")["max_discharge_kw"] == 0.0
    assert charger_entry(prob, "CP-VAN-03")["max_discharge_kw"] == 0.0
    assert charger_entry(prob, "CP-VAN-01")["max_discharge_kw"] == 20.0


def test_price_spike_in_window_discharges_the_bus_and_it_still_leaves_at_target(engine):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    with session_scope(engine) as s:
        for p in s.exec(select(models.PricePoint).where(models.PricePoint.start >= T0).where(models.PricePoint.start < T0 + timedelta(hours=1))):
            p.import_price_per_kwh, p.export_price_per_kwh = 1.20, 1.00  # a spike for the first hour
    run_id = planning.run_dispatch(site_id="depot-ams", trigger="test", engine=engine)
    with session_scope(engine) as s:
        run = s.get(models.DispatchRun, run_id)
        setpoints = s.exec(select(models.Setpoint).where(models.Setpoint.run_id == run_id).order_by(models.Setpoint.step)).all()
        command = s.exec(select(models.ChargingProfileCommand).where(models.ChargingProfileCommand.charger_id == "CP-BUS-01")).one()
    assert run.status == "optimal"
    assert min(sp.power_kw for sp in setpoints[:4]) < -10, "discharges into the price spike"
    soc_at_departure = next(sp.soc_end for sp in setpoints if sp.step == 44)  # the end of the last planned step
    assert soc_at_departure >= 0.95 - 1e-6
    assert all(sp.soc_end is None or sp.soc_end >= 0.35 - 1e-6 for sp in setpoints)
    # The 2.1 profile carries the discharge as a negative setpoint.
    periods = command.payload["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"]
    assert any(p.get("setpoint", 0) < 0 for p in periods), periods


def test_unchanged_plan_is_not_sent_again_but_a_changed_one_is(engine):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    planning.run_dispatch(site_id="depot-ams", trigger="test", engine=engine)
    planning.run_dispatch(site_id="depot-ams", trigger="test", engine=engine)
    with session_scope(engine) as s:
        assert len(s.exec(select(models.ChargingProfileCommand)).all()) == 1
        s.get(models.Vehicle, "BUS-01").soc_floor = 0.79  # raised floor: no more discharge to 35 %
    run_id = planning.run_dispatch(site_id="depot-ams", trigger="setting", engine=engine)
    with session_scope(engine) as s:
        commands = s.exec(select(models.ChargingProfileCommand).order_by(models.ChargingProfileCommand.id)).all()
        setpoints = s.exec(select(models.Setpoint).where(models.Setpoint.run_id == run_id)).all()
    assert len(commands) == 2
    assert all(sp.soc_end is None or sp.soc_end >= 0.79 - 1e-6 for sp in setpoints)


def test_replan_request_is_seen_once(engine, clock):
    assert not planning.replan_wanted(site_id="depot-ams", engine=engine)
    planning.request_replan(site_id="depot-ams", engine=engine)
    assert planning.replan_wanted(site_id="depot-ams", engine=engine)
    clock.advance(seconds=1)
    planning.run_dispatch(site_id="depot-ams", trigger="plug", engine=engine)
    assert not planning.replan_wanted(site_id="depot-ams", engine=engine)


def test_forecast_uses_the_same_weekday_and_time_of_past_weeks_before_the_demo_profile(engine):
    # Building load 500 kW one and two weeks ago at the horizon's first step; the forecast is their mean.
    with session_scope(engine) as s:
        for weeks, load_kw in ((1, 400.0), (2, 600.0)):
            t = T0 - timedelta(days=7 * weeks) + timedelta(minutes=5)
            s.add(models.SiteSample(site_id="depot-ams", time=t, building_load_kw=load_kw, pv_kw=10.0, net_import_kw=load_kw - 10))
    prob = problem(engine)
    assert prob.scenario["site"]["base_load_kw"][0] == 500.0
    assert prob.scenario["site"]["pv_kw"][0] == 10.0
    # Steps without history fall back to the demo profile (real load shapes), and the run says so.
    assert prob.scenario["site"]["base_load_kw"][1] != 500.0
    assert prob.forecast_source == "history + demo profile"


def test_monthly_demand_charge_prices_only_a_new_monthly_peak(engine, clock):
    """Tried: a tariff with 12 EUR per kW of monthly peak; this month's 15-minute means peaked at
    300 kW (a quarter of 290 and 310 kW readings); the problem charges 12/kW above 300 kW only. A
    later, higher quarter raises the floor at the next run; last month's samples never count."""
    def sample(at, kw):
        s.add(models.SiteSample(site_id="depot-ams", time=at, building_load_kw=kw, net_import_kw=kw))

    with session_scope(engine) as s:
        s.add(models.Tariff(site_id="depot-ams", name="TOU", demand_charge_per_kw_month=12.0))
        sample(datetime(2026, 11, 10, 9, 1, tzinfo=UTC), 290.0)
        sample(datetime(2026, 11, 10, 9, 14, tzinfo=UTC), 310.0)
        sample(datetime(2026, 10, 20, 9, 0, tzinfo=UTC), 900.0)  # October: another billing month
    tariff = problem(engine).scenario["tariff"]
    assert (tariff["demand_charge_per_kw"], tariff["demand_peak_floor_kw"]) == (12.0, 300.0)

    with session_scope(engine) as s:
        sample(T0 + timedelta(minutes=2), 350.0)
    later = clock.advance(minutes=16)
    with session_scope(engine) as s:
        tariff = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=later).scenario["tariff"]
    assert tariff["demand_peak_floor_kw"] == 350.0



def write_during_each_solve(engine, monkeypatch) -> list[bool]:
    """Make every solve first write a meter sample through a second connection on the same file with a
    short busy timeout, as the gateway's telemetry writer would: it fails with "database is locked"
    if the planner holds SQLite's write lock while it solves. Returns the list of writes that succeeded."""
    written: list[bool] = []
    real_plan = dispatch.plan

    def plan_while_the_telemetry_writer_writes(scenario, **kwargs):
        other = create_engine(engine.url, connect_args={"timeout": 0.5})
        try:
            with Session(other) as s:
                s.add(models.MeterSample(time=T0, charger_id="CP-CAR-01", power_kw=1.0))
                s.commit()
                written.append(True)
        finally:
            other.dispose()
        return real_plan(scenario, **kwargs)

    monkeypatch.setattr(dispatch, "plan", plan_while_the_telemetry_writer_writes)
    return written


def test_the_lp_is_solved_with_no_write_lock_held(engine, monkeypatch):
    """run_dispatch reads in a closed session, solves with none open, then stores in one transaction."""
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    with session_scope(engine) as s:
        s.add(models.Tariff(site_id="depot-ams", name="TOU", demand_charge_per_kw_month=12.0))
    written = write_during_each_solve(engine, monkeypatch)
    run_id = planning.run_dispatch(site_id="depot-ams", trigger="test", engine=engine)
    assert written == [True]
    with session_scope(engine) as s:
        run = s.get(models.DispatchRun, run_id)
        assert run.status == "optimal" and run.finished_at is not None
        assert len(s.exec(select(models.Setpoint).where(models.Setpoint.run_id == run_id)).all()) == 96
        assert s.exec(select(models.ChargingProfileCommand).where(models.ChargingProfileCommand.run_id == run_id)).all()
        # The month-peak bookkeeping is written with the run, not while the problem was built.
        assert s.get(models.Site, "depot-ams").month_peak_through == T0


def test_the_preview_rolls_back_before_it_solves(engine, monkeypatch):
    """The preview's change holds the write lock only while the problem is rebuilt, not during the solves."""
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    written = write_during_each_solve(engine, monkeypatch)
    preview = planning.preview_change(
        engine=engine,
        apply=lambda s: controls.set_soc_floor(session=s, actor="alice", vehicle_id="BUS-01", floor=0.7),
        time_limit_s=20,
    )
    assert written == [True, True]
    assert preview.proposed.floors["BUS-01"] == 0.7 and preview.current.floors["BUS-01"] == 0.35
    with session_scope(engine) as s:
        assert s.get(models.Vehicle, "BUS-01").soc_floor != 0.7, "a preview keeps nothing"
