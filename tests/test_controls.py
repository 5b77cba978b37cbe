"""core.controls: every validation rule, the audit rows, all-or-nothing saving, what build_problem makes
of the operators' settings, the settings forms, the preview (core.planning), and the command line. Each test has its own SQLite file
seeded with the demo depot and a fixed clock (Tuesday 1 Dec 2026, 12:00 UTC = 13:00 in Amsterdam)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core import audit, controls, models, planning
from core.db import session_scope
from tests.conftest import T0  # a Tuesday; 13:00 in Amsterdam

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(demo_engine, clock):
    """The demo depot with the clock at T0, plus an operator (alice) and an admin (root)."""
    with session_scope(demo_engine) as s:
        s.add(models.User(username="alice", role="operator", password_hash="x"))
        s.add(models.User(username="root", role="admin", password_hash="x"))
    return demo_engine


def plug(engine, vehicle_id: str, charger_id: str, soc: float, at: datetime = T0) -> None:
    with session_scope(engine) as s:
        p = models.PlugSession(charger_id=charger_id, vehicle_id=vehicle_id, transaction_id=f"tx-{vehicle_id}", started_at=at - timedelta(hours=1))
        s.add(p)
        s.flush()
        s.add(models.MeterSample(time=at - timedelta(seconds=1), charger_id=charger_id, session_id=p.id, power_kw=0.0, soc=soc))


def audit_rows(engine) -> list[models.AuditEvent]:
    with session_scope(engine) as s:
        return list(s.exec(select(models.AuditEvent).order_by(models.AuditEvent.id)).all())


def snapshot(engine) -> dict:
    """Everything an operator setting can touch, to prove that a refused change touched nothing."""
    with session_scope(engine) as s:
        out = {}
        for table in (models.Site, models.Vehicle, models.Charger, models.V2GWindow, models.DepartureSchedule,
                      models.DepartureOverride, models.Override, models.AuditEvent):
            out[table.__name__] = [r.model_dump() for r in s.exec(select(table)).all()]
        return out


def call(engine, fn, **kwargs):
    with session_scope(engine) as s:
        return fn(session=s, **kwargs)


# --- floors and targets -------------------------------------------------------------------------


def test_vehicle_floor_is_saved_audited_and_asks_for_a_replan(engine, clock):
    call(engine, controls.set_soc_floor, actor="alice", vehicle_id="VAN-01", floor=0.4)
    with session_scope(engine) as s:
        assert s.get(models.Vehicle, "VAN-01").soc_floor == 0.4
        assert s.get(models.Site, "depot-ams").replan_requested_at == T0
    [row] = audit_rows(engine)
    assert (row.actor, row.action, row.target) == ("alice", "soc_floor.set", "vehicle:VAN-01")
    assert row.before == {"soc_floor": None} and row.after == {"soc_floor": 0.4}
    assert row.time == T0 and row.dispatch_run_id is None


@pytest.mark.parametrize(
    "floor, message",
    [
        (-0.01, "between 0 and 100 %"),
        (1.01, "between 0 and 100 %"),
        ("abc", "must be a number"),
        (float("nan"), "between 0 and 100 %"),
        (0.15, "hard floor (20%)"),  # demo hard floor is 20 %
        (0.95, "above the target (90%)"),  # VAN-01's target is 90 %
    ],
)
def test_invalid_vehicle_floor_is_refused_and_nothing_changes(engine, floor, message):
    before = snapshot(engine)
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_soc_floor, actor="alice", vehicle_id="VAN-01", floor=floor)
    assert message in err.value.errors["floor"]
    assert snapshot(engine) == before


def test_floor_checks_the_schedule_target_too(engine):
    call(engine, controls.set_departure_schedule, actor="alice", vehicle_id="VAN-01", weekdays="01234", departure_time="06:30", target=0.6)
    with pytest.raises(controls.ValidationError, match="above the target"):
        call(engine, controls.set_soc_floor, actor="alice", vehicle_id="VAN-01", floor=0.7)


def test_vehicle_floor_none_inherits_the_fleet_default(engine):
    call(engine, controls.set_soc_floor, actor="alice", vehicle_id="BUS-01", floor=None)
    with session_scope(engine) as s:
        assert s.get(models.Vehicle, "BUS-01").soc_floor is None


def test_fleet_default_floor_rules(engine):
    with pytest.raises(controls.ValidationError, match="hard floor"):
        call(engine, controls.set_soc_floor, actor="alice", floor=0.1)
    # Staff cars inherit the default and target 80 %: a 85 % default would be above their target.
    with pytest.raises(controls.ValidationError, match="above the target of Delivery van|above the target of Staff car"):
        call(engine, controls.set_soc_floor, actor="alice", floor=0.85)
    call(engine, controls.set_soc_floor, actor="alice", floor=0.4)
    with session_scope(engine) as s:
        assert s.get(models.Site, "depot-ams").default_soc_floor == 0.4
    assert audit_rows(engine)[-1].action == "fleet_soc_floor.set"


def test_hard_floor_is_for_admins_only_and_stays_below_floors(engine):
    with pytest.raises(controls.PermissionDenied):
        call(engine, controls.set_hard_floor, actor="alice", hard_floor=0.25)
    with pytest.raises(controls.PermissionDenied):
        call(engine, controls.set_hard_floor, actor="nobody", hard_floor=0.25)
    with pytest.raises(controls.ValidationError, match="fleet default"):
        call(engine, controls.set_hard_floor, actor="root", hard_floor=0.32)  # default floor is 30 %
    call(engine, controls.set_hard_floor, actor="root", hard_floor=0.25)
    assert audit_rows(engine)[-1].after == {"hard_soc_floor": 0.25}


def test_target_must_not_be_below_the_floor(engine):
    with pytest.raises(controls.ValidationError, match="below the floor"):
        call(engine, controls.set_target, actor="alice", vehicle_id="BUS-01", target=0.3)  # floor 35 %
    call(engine, controls.set_target, actor="alice", vehicle_id="BUS-01", target=0.8)


def test_unknown_vehicle_and_missing_actor(engine):
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_soc_floor, actor="alice", vehicle_id="NOPE", floor=0.4)
    assert "NOPE" in err.value.errors["vehicle"]
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_soc_floor, actor=" ", vehicle_id="VAN-01", floor=0.4)
    assert "actor" in err.value.errors


# --- departures -----------------------------------------------------------------------------------


def test_schedule_reports_every_invalid_field_and_saves_nothing(engine):
    before = snapshot(engine)
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_departure_schedule, actor="alice", vehicle_id="VAN-01", weekdays="", departure_time="25:00", target=0.1)
    assert set(err.value.errors) == {"weekdays", "departure_time", "target"}
    assert snapshot(engine) == before
    # one field valid, another not: still nothing saved
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_departure_schedule, actor="alice", vehicle_id="VAN-01", weekdays="01234", departure_time="6:30", target=0.9)
    assert set(err.value.errors) == {"departure_time"}
    assert snapshot(engine) == before


def test_recurring_schedule_sets_departure_and_target_in_the_problem(engine, clock):
    plug(engine, "VAN-01", "CP-VAN-05", soc=0.5)
    call(engine, controls.set_departure_schedule, actor="alice", vehicle_id="VAN-01", weekdays="01234", departure_time="06:30", target=0.95)
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
    [pv] = problem.vehicles
    # Tue 13:00 local -> next weekday 06:30 is Wed 06:30 CET = 05:30 UTC
    assert pv.departure == datetime(2026, 12, 2, 5, 30, tzinfo=UTC) and pv.departure_source == "schedule"
    [v] = problem.scenario["vehicles"]
    assert v["soc_target"] == 0.95
    # 12:00 -> 05:30 next day = 17.5 h = 70 steps of 15 min, planned to be met one step (the
    # 15-minute departure buffer) earlier
    assert v["departure_step"] == 69


def test_schedule_skips_days_not_in_it(engine, clock):
    clock.set(datetime(2026, 12, 4, 12, 0, tzinfo=UTC))  # Friday
    plug(engine, "VAN-01", "CP-VAN-05", soc=0.5, at=clock.now())
    call(engine, controls.set_departure_schedule, actor="alice", vehicle_id="VAN-01", weekdays="01234", departure_time="06:30", target=0.9)
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=clock.now())
    assert problem.vehicles[0].departure == datetime(2026, 12, 7, 5, 30, tzinfo=UTC)  # Monday


def test_one_off_departure_rules(engine, clock):
    with pytest.raises(controls.ValidationError, match="future"):
        call(engine, controls.set_departure_override, actor="alice", vehicle_id="VAN-01", departs_at=T0 - timedelta(minutes=1))
    with pytest.raises(controls.ValidationError, match="14 days"):
        call(engine, controls.set_departure_override, actor="alice", vehicle_id="VAN-01", departs_at=T0 + timedelta(days=15))
    with pytest.raises(controls.ValidationError, match="time zone"):
        call(engine, controls.set_departure_override, actor="alice", vehicle_id="VAN-01", departs_at=datetime(2026, 12, 2, 4))
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_departure_override, actor="alice", vehicle_id="VAN-01", departs_at=None, target=2)
    assert set(err.value.errors) == {"departs_at", "target"}


def test_one_off_departure_wins_then_expires_by_itself(engine, clock):
    plug(engine, "VAN-01", "CP-VAN-05", soc=0.5)
    once = controls.local_datetime("Europe/Amsterdam", date(2026, 12, 2), "05:00")  # 04:00 UTC
    call(engine, controls.set_departure_override, actor="alice", vehicle_id="VAN-01", departs_at=once, target=1.0)
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
    assert problem.vehicles[0].departure == datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    assert problem.vehicles[0].departure_source == "override"
    assert problem.scenario["vehicles"][0]["soc_target"] == 1.0
    later = clock.advance(hours=17)  # 05:00 UTC on Wednesday: the one-off has passed
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=later)
    assert problem.vehicles[0].departure_source == "usual"
    assert problem.scenario["vehicles"][0]["soc_target"] == 0.9


# --- V2G windows --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field, message",
    [
        ({"start_time": "17:00", "end_time": "17:00"}, "end_time", "must differ"),
        ({"start_time": "7pm", "end_time": "21:00"}, "start_time", "HH:MM"),
        ({"start_time": "17:00", "end_time": "24:00"}, "end_time", "HH:MM"),
        ({"start_time": "17:00", "end_time": "21:00", "weekdays": "7"}, "weekdays", "weekday"),
        ({"start_time": "17:00", "end_time": "21:00", "weekdays": ""}, "weekdays", "weekday"),
        ({"start_time": "17:00", "end_time": "21:00", "date_from": date(2026, 12, 5), "date_to": date(2026, 12, 4)}, "date_to", "before"),
        ({"start_time": "17:00", "end_time": "21:00", "date_from": date(2026, 11, 30)}, "date_to", "over already"),
        ({"start_time": "17:00", "end_time": "21:00", "vehicle_id": "NOPE"}, "vehicle", "NOPE"),
    ],
)
def test_invalid_window_is_refused(engine, kwargs, field, message):
    before = snapshot(engine)
    kwargs = {"vehicle_id": "BUS-01", **kwargs}
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.add_v2g_window, actor="alice", **kwargs)
    assert message in err.value.errors[field]
    assert snapshot(engine) == before


def test_site_wide_window_needs_confirmation(engine):
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.add_v2g_window, actor="alice", start_time="10:00", end_time="12:00")
    assert "confirm" in err.value.errors
    call(engine, controls.add_v2g_window, actor="alice", start_time="10:00", end_time="12:00", confirm_fleet_discharge=True)
    assert audit_rows(engine)[-1].action == "v2g_window.add"


def test_window_across_midnight_and_one_off_all_day_reach_the_problem(engine, clock):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    with session_scope(engine) as s:  # drop the demo windows so only ours count
        for w in s.exec(select(models.V2GWindow)).all():
            s.delete(w)
    call(engine, controls.add_v2g_window, actor="alice", vehicle_id="BUS-01", weekdays="1", start_time="22:00", end_time="02:00")
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
    # Tue 22:00 local = 21:00 UTC = step 36; Wed 02:00 local = 01:00 UTC = step 52
    assert problem.scenario["vehicles"][0]["v2g_windows"] == [[36, 52]]
    call(engine, controls.add_v2g_window, actor="alice", vehicle_id="BUS-01", start_time="00:00", end_time="00:00",
         date_from=date(2026, 12, 1))
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
    # all of Tuesday (local) from now: steps 0..43 (23:00 UTC), then the midnight window to step 52
    assert problem.scenario["vehicles"][0]["v2g_windows"] == [[0, 52]]


def test_v2g_off_per_charger_and_vehicle(engine, clock):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    call(engine, controls.set_v2g_off, actor="alice", charger_id="CP-BUS-01", off=True)
    with session_scope(engine) as s:
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
    assert problem.scenario["chargers"][0]["max_discharge_kw"] == 0.0
    assert problem.scenario["vehicles"][0]["v2g_windows"] == []
    call(engine, controls.set_v2g_off, actor="alice", charger_id="CP-BUS-01", off=False, confirm=True)
    call(engine, controls.set_v2g_off, actor="alice", vehicle_id="BUS-01", off=True)
    with session_scope(engine) as s:
        assert s.get(models.Vehicle, "BUS-01").v2g_allowed is False
        problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=T0)
    assert problem.scenario["vehicles"][0]["v2g_windows"] == []
    with pytest.raises(controls.ValidationError):
        call(engine, controls.set_v2g_off, actor="alice", off=True)


def test_v2g_back_on_needs_confirmation(engine):
    call(engine, controls.set_v2g_off, actor="alice", vehicle_id="BUS-01", off=True)
    before = snapshot(engine)
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_v2g_off, actor="alice", vehicle_id="BUS-01", off=False)
    assert err.value.errors == {"confirm": "V2G on for BUS-01: discharge will be allowed again"}
    assert snapshot(engine) == before
    with pytest.raises(controls.ValidationError) as err:  # an unknown charger is reported before the question
        call(engine, controls.set_v2g_off, actor="alice", charger_id="NOPE", off=False)
    assert set(err.value.errors) == {"charger"}
    call(engine, controls.set_v2g_off, actor="alice", vehicle_id="BUS-01", off=False, confirm=True)
    with session_scope(engine) as s:
        assert s.get(models.Vehicle, "BUS-01").v2g_allowed is True
    assert audit_rows(engine)[-1].after == {"v2g_off": False}


# --- site settings ------------------------------------------------------------------------------


def test_site_settings_all_invalid_fields_reported(engine):
    before = snapshot(engine)
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.set_site_settings, actor="alice", import_limit_kw=0, export_limit_kw=-5,
             degradation_cost_per_kwh=-0.01, dispatch_interval_s=5)
    assert set(err.value.errors) == {"import_limit_kw", "export_limit_kw", "degradation_cost_per_kwh", "dispatch_interval_s"}
    with pytest.raises(controls.ValidationError) as err:  # three valid, one not: nothing saved
        call(engine, controls.set_site_settings, actor="alice", import_limit_kw=300, export_limit_kw=200,
             degradation_cost_per_kwh=0.02, dispatch_interval_s="")
    assert set(err.value.errors) == {"dispatch_interval_s"}
    assert snapshot(engine) == before
    call(engine, controls.set_site_settings, actor="alice", import_limit_kw=300, export_limit_kw=200,
         degradation_cost_per_kwh=0, dispatch_interval_s=30)
    row = audit_rows(engine)[-1]
    assert row.before["import_limit_kw"] == 400.0 and row.after["import_limit_kw"] == 300.0


# --- overrides ------------------------------------------------------------------------------------


def test_override_rules(engine, clock):
    with pytest.raises(controls.ValidationError, match="not plugged in"):
        call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="charge_now", until=T0 + timedelta(hours=1))
    plug(engine, "CAR-01", "CP-CAR-01", soc=0.5)
    with pytest.raises(controls.ValidationError, match="one-way"):
        call(engine, controls.start_override, actor="alice", vehicle_id="CAR-01", kind="discharge_now", until=T0 + timedelta(hours=1))
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)
    with pytest.raises(controls.ValidationError) as err:
        call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="boost", until=T0)
    assert set(err.value.errors) == {"kind", "until"}
    with pytest.raises(controls.ValidationError, match="48 hours"):
        call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="pause", until=T0 + timedelta(hours=49))
    call(engine, controls.set_v2g_off, actor="alice", charger_id="CP-BUS-01", off=True)
    with pytest.raises(controls.ValidationError, match="V2G is off"):
        call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="discharge_now", until=T0 + timedelta(hours=1))


def test_overrides_shape_the_problem_and_expire(engine, clock):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.8)

    def vehicle(at=T0):
        with session_scope(engine) as s:
            return planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=at).scenario["vehicles"][0]

    normal = vehicle()
    call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="pause", until=T0 + timedelta(hours=2))
    paused = vehicle()
    assert paused["arrival_step"] == 8  # 2 h = 8 steps without power
    call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="charge_now", until=T0 + timedelta(hours=3))
    charging = vehicle()
    assert (charging["soc_target"], charging["departure_step"], charging["v2g_windows"]) == (1.0, 12, [])
    call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="discharge_now", until=T0 + timedelta(hours=1))
    discharging = vehicle()
    assert discharging["v2g_windows"][0][0] == 0 and discharging["v2g_windows"][0][1] >= 4
    with session_scope(engine) as s:  # only the newest override is in force
        assert [o.kind for o in controls.active_overrides(session=s, at=T0)] == ["discharge_now"]
    after = vehicle(clock.advance(hours=1, minutes=1))  # every override has ended: back to the normal plan
    assert (after["arrival_step"], after["soc_target"]) == (0, normal["soc_target"])
    assert after["departure_step"] == normal["departure_step"] - 4  # the horizon moved on by 4 steps
    with session_scope(engine) as s:
        assert controls.active_overrides(session=s, at=clock.now()) == []
    call(engine, controls.start_override, actor="alice", vehicle_id="BUS-01", kind="pause", until=clock.now() + timedelta(hours=1))
    call(engine, controls.cancel_override, actor="alice", vehicle_id="BUS-01")
    assert audit_rows(engine)[-1].action == "override.cancel"
    with pytest.raises(controls.ValidationError, match="no override"):
        call(engine, controls.cancel_override, actor="alice", vehicle_id="BUS-01")


# --- dispatch link, preview, CLI ------------------------------------------------------------------


def test_link_pending_audits_and_plan_in_force(engine, clock):
    event = call(engine, controls.set_soc_floor, actor="alice", vehicle_id="VAN-01", floor=0.4)
    with session_scope(engine) as s:
        early = models.DispatchRun(site_id="depot-ams", started_at=T0 - timedelta(minutes=1), finished_at=T0, status="optimal")
        s.add(early)
        s.flush()
        assert audit.link_pending_audits(session=s, run_id=early.id) == 0  # started before the change
        assert audit.plan_in_force(session=s, event=s.get(models.AuditEvent, event.id)) is None
    clock.advance(minutes=1)
    with session_scope(engine) as s:
        run = models.DispatchRun(site_id="depot-ams", started_at=clock.now(), finished_at=clock.now(), status="optimal")
        s.add(run)
        s.flush()
        assert audit.link_pending_audits(session=s, run_id=run.id) == 1
        row = s.get(models.AuditEvent, event.id)
        assert row.dispatch_run_id == run.id
        assert audit.plan_in_force(session=s, event=row).id == run.id
        assert audit.link_pending_audits(session=s, run_id=run.id) == 0  # linked once


def test_preview_shows_the_new_plan_and_keeps_nothing(engine, clock):
    plug(engine, "BUS-01", "CP-BUS-01", soc=0.9)
    with session_scope(engine) as s:  # allow discharge for the whole afternoon so the floor binds
        s.add(models.V2GWindow(site_id="depot-ams", vehicle_id="BUS-01", weekdays="0123456", start_time="13:00", end_time="23:00"))
    before = snapshot(engine)
    preview = planning.preview_change(
        engine=engine,
        apply=lambda s: controls.set_soc_floor(session=s, actor="alice", vehicle_id="BUS-01", floor=0.7),
        time_limit_s=20,
    )
    assert snapshot(engine) == before  # the change, its audit row and the re-plan request were rolled back
    new_curve = [x for x in preview.proposed.soc["BUS-01"] if x is not None]
    assert min(new_curve) >= 0.7 - 1e-6
    assert preview.current.cost <= preview.proposed.cost + 1e-6  # a tighter floor never makes the plan cheaper
    with pytest.raises(controls.ValidationError):
        planning.preview_change(
            engine=engine, apply=lambda s: controls.set_soc_floor(session=s, actor="alice", vehicle_id="BUS-01", floor=2)
        )
    assert snapshot(engine) == before


def test_cli_valid_and_invalid(engine, capsys):
    from core.controls.__main__ import main

    assert main(["set-floor", "VAN-02", "40", "--actor", "alice"], engine=engine) == 0
    with session_scope(engine) as s:
        assert s.get(models.Vehicle, "VAN-02").soc_floor == 0.4
    assert audit_rows(engine)[-1].actor == "alice"
    before = snapshot(engine)
    assert main(["set-floor", "VAN-02", "150", "--actor", "alice"], engine=engine) == 2
    assert main(["set-floor", "VAN-02", "forty", "--actor", "alice"], engine=engine) == 2
    assert main(["set-departure", "VAN-02", "--days", "9", "--time", "6:3", "--target", "10", "--actor", "alice"], engine=engine) == 2
    assert main(["set-hard-floor", "25", "--actor", "alice"], engine=engine) == 2
    assert main(["add-window", "--start", "10:00", "--end", "11:00", "--actor", "alice"], engine=engine) == 2
    err = capsys.readouterr().err
    assert "floor: must be between 0 and 100 %" in err and "weekdays" in err and "departure_time" in err and "confirm" in err
    assert snapshot(engine) == before
    assert main(["site-settings", "--import-kw", "350", "--actor", "alice"], engine=engine) == 0


def test_cli_v2g_back_on_needs_confirm(engine, capsys):
    from core.controls.__main__ import main

    assert main(["v2g-off", "--charger", "CP-BUS-01", "--actor", "alice"], engine=engine) == 0
    before = snapshot(engine)
    assert main(["v2g-off", "--charger", "CP-BUS-01", "--on", "--actor", "alice"], engine=engine) == 2
    assert "confirm: V2G on for CP-BUS-01" in capsys.readouterr().err
    assert snapshot(engine) == before
    assert main(["v2g-off", "--charger", "CP-BUS-01", "--on", "--confirm", "--actor", "alice"], engine=engine) == 0
    rows = audit_rows(engine)
    assert len(rows) == len(before["AuditEvent"]) + 1
    assert (rows[-1].action, rows[-1].target, rows[-1].after) == ("v2g_off.set", "charger:CP-BUS-01", {"v2g_off": False})
    with session_scope(engine) as s:
        assert s.get(models.Charger, "CP-BUS-01").v2g_off is False


# --- the settings forms ---------------------------------------------------------------------------


def test_one_off_form_converts_the_local_date_and_time(engine, clock):
    values = {"vehicle": "VAN-01", "departs_date": "2026-12-02", "departs_time": "05:00", "target": 100}
    saved = controls.save_form("oneoff", values, actor="alice", engine=engine)
    [row] = audit_rows(engine)
    assert saved == {"audit_id": row.id, "saved_at": T0.isoformat()}
    assert row.after == {"departs_at": "2026-12-02T04:00:00+00:00", "target_soc": 1.0}  # 05:00 CET = 04:00 UTC
    before = snapshot(engine)
    with pytest.raises(controls.ValidationError) as err:
        controls.save_form("oneoff", {**values, "departs_date": ""}, actor="alice", engine=engine)
    assert err.value.errors == {"departs_date": "required"}
    with pytest.raises(controls.ValidationError) as err:  # form and setter errors together, nothing saved
        controls.save_form("override", {"vehicle": "VAN-01", "kind": "boost", "minutes": 0}, actor="alice", engine=engine)
    assert set(err.value.errors) == {"vehicle", "kind", "until", "minutes"}
    with pytest.raises(controls.ValidationError) as err:
        controls.save_form("oneoff", {**values, "departs_time": "5 am"}, actor="alice", engine=engine)
    assert controls.field_errors("oneoff", err.value.errors, ["vehicle", "departs_date", "departs_time", "target"]) == {
        "departs_time": "a time of day as HH:MM"
    }
    assert snapshot(engine) == before


def test_forms_fleet_floor_site_wide_window_and_v2g_confirmation(engine):
    controls.save_form("floor", {"vehicle": None, "floor": 40}, actor="alice", engine=engine)
    assert audit_rows(engine)[-1].action == "fleet_soc_floor.set"
    window = {"vehicle": None, "weekdays": ["0", "1"], "start_time": "17:00", "end_time": "21:00"}
    with pytest.raises(controls.ValidationError) as err:
        controls.save_form("window", window, actor="alice", engine=engine)
    assert set(err.value.errors) == {"confirm"}
    controls.save_form("window", window, actor="alice", confirmed=True, engine=engine)
    assert audit_rows(engine)[-1].after["vehicle_id"] is None
    controls.save_form("v2g_off", {"target": "vehicle:BUS-01", "off": "off"}, actor="alice", engine=engine)
    with pytest.raises(controls.ValidationError) as err:
        controls.save_form("v2g_off", {"target": "vehicle:BUS-01", "off": "on"}, actor="alice", engine=engine)
    assert set(err.value.errors) == {"confirm"}
    controls.save_form("v2g_off", {"target": "vehicle:BUS-01", "off": "on"}, actor="alice", confirmed=True, engine=engine)
    assert audit_rows(engine)[-1].after == {"v2g_off": False}
    with pytest.raises(ValueError, match="unknown settings form"):
        controls.form_change("nope", {}, actor="alice")


def test_settings_snapshot_and_plan_in_force(engine, clock):
    data = controls.settings_snapshot(engine=engine)
    assert data["site"]["id"] == "depot-ams" and {v["id"] for v in data["vehicles"]} >= {"BUS-01", "VAN-01"}
    saved = controls.save_form("floor", {"vehicle": "VAN-01", "floor": 40}, actor="alice", engine=engine)
    assert controls.plans_in_force([saved["audit_id"], None], engine=engine) == [None, None]
    clock.advance(minutes=1)
    with session_scope(engine) as s:
        s.add(models.DispatchRun(site_id="depot-ams", started_at=clock.now(), finished_at=clock.now(), status="optimal"))
    [run, none] = controls.plans_in_force([saved["audit_id"], None], engine=engine)
    assert none is None and run["status"] == "optimal"
    assert run["finished_at"].utcoffset() == timedelta(hours=1)  # on the site's clock (CET)


def test_cli_runs_as_a_module(demo_engine):
    """`python -m core.controls` in a real process against this test's own database file."""
    env = {**os.environ, "DATABASE_URL": demo_engine.url.render_as_string(hide_password=False)}
    bad = subprocess.run([sys.executable, "-m", "core.controls", "set-floor", "BUS-01", "10", "--actor", "ops"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "hard floor" in bad.stderr, bad.stderr
    good = subprocess.run([sys.executable, "-m", "core.controls", "set-floor", "BUS-01", "40", "--actor", "ops"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stderr
    with session_scope(demo_engine) as s:
        assert s.get(models.Vehicle, "BUS-01").soc_floor == 0.4
        assert [r.actor for r in s.exec(select(models.AuditEvent)).all()] == ["ops"]


# --- the audit log ---------------------------------------------------------------------------------


def test_audit_list_filters_and_csv(engine, clock):
    call(engine, controls.set_soc_floor, actor="alice", vehicle_id="VAN-01", floor=0.4)
    clock.advance(days=1)  # Wednesday 2 Dec, 13:00 local
    call(engine, controls.set_target, actor="bob", vehicle_id="VAN-01", target=0.8)
    clock.set(datetime(2026, 12, 2, 23, 30, tzinfo=UTC))  # 00:30 on Thursday 3 Dec in Amsterdam
    call(engine, controls.set_soc_floor, actor="=cmd()", vehicle_id="VAN-02", floor=0.5)
    tz = "Europe/Amsterdam"
    with session_scope(engine) as s:
        every = audit.list_audit(session=s, timezone=tz)
        assert [r["actor"] for r in every] == ["=cmd()", "bob", "alice"]  # newest first
        assert [r["actor"] for r in audit.list_audit(session=s, actor="bob", timezone=tz)] == ["bob"]
        assert [r["action"] for r in audit.list_audit(session=s, action="soc_floor.set", timezone=tz)] == ["soc_floor.set"] * 2
        # local dates: 23:30 UTC on 2 Dec is 3 Dec in Amsterdam
        assert [r["actor"] for r in audit.list_audit(session=s, date_from=date(2026, 12, 2), date_to=date(2026, 12, 2), timezone=tz)] == ["bob"]
        assert [r["actor"] for r in audit.list_audit(session=s, date_from=date(2026, 12, 3), timezone=tz)] == ["=cmd()"]
        assert audit.audit_filter_options(session=s) == (["=cmd()", "alice", "bob"], ["soc_floor.set", "target.set"])
    text = audit.audit_csv(every)
    lines = text.strip().splitlines()
    assert lines[0] == "time,actor,action,target,before,after,dispatch_run_id"
    assert lines[1].startswith("2026-12-03T00:30:00+01:00,'=cmd(),soc_floor.set,vehicle:VAN-02,")  # no formula injection
    assert '"{""soc_floor"": 0.4}"' in lines[3]
