"""Bad demo files: a clear error naming the file and field, and an existing database untouched."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import dispatch, models, planning
from core.clock import FixedClock, set_clock
from core.config import DEMO_DIR
from core.db import init_db, make_engine, session_scope
from core.demo import DemoDataError, read_demo, seed_demo
from core.simulator.vehicle import SimVehicle


@pytest.fixture
def demo_copy(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    return folder


@pytest.fixture
def seeded_engine(demo_engine):
    """The demo site after an operator renamed it: a reset from bad files must keep the new name."""
    with session_scope(demo_engine) as s:
        s.get(models.Site, "depot-ams").name = "Operator-edited name"
    return demo_engine


def _edit_site(folder, edit):
    doc = json.loads((folder / "site.json").read_text())
    edit(doc)
    (folder / "site.json").write_text(json.dumps(doc))


# (what was tried, how the file was broken, words the message must contain)
CORRUPTIONS = [
    ("site file deleted", lambda f: (f / "site.json").unlink(), ["site.json", "missing"]),
    ("profile deleted", lambda f: (f / "profile.csv").unlink(), ["profile.csv", "missing"]),
    ("truncated JSON", lambda f: (f / "site.json").write_text('{"site": {"id": '), ["site.json", "not valid JSON"]),
    (
        "floor above 1",
        lambda f: _edit_site(f, lambda d: d["vehicles"][3].update(soc_floor=1.5)),
        ["site.json", "vehicles[3].soc_floor", "between 0 and 1"],
    ),
    (
        "battery given as text",
        lambda f: _edit_site(f, lambda d: d["vehicles"][0].update(battery_kwh="big")),
        ["vehicles[0].battery_kwh", "expected float"],
    ),
    (
        "vehicle on an unknown charger",
        lambda f: _edit_site(f, lambda d: d["vehicles"][1].update(home_charger_id="CP-NOPE")),
        ["vehicles[1].home_charger_id", "CP-NOPE"],
    ),
    (
        "unknown OCPP version",
        lambda f: _edit_site(f, lambda d: d["chargers"][2].update(protocol="1.5")),
        ["chargers[2].protocol"],
    ),
    (
        "unknown time zone",
        lambda f: _edit_site(f, lambda d: d["site"].update(timezone="Mars/Olympus")),
        ["site.timezone", "Mars/Olympus"],
    ),
    (
        "departure not a clock time",
        lambda f: _edit_site(f, lambda d: d["vehicles"][5].update(usual_departure="7am")),
        ["vehicles[5].usual_departure", "HH:MM"],
    ),
    (
        "price that is not a number",
        lambda f: (f / "profile.csv").write_text(
            (f / "profile.csv").read_text().replace(",0.15458,", ",abc,", 1)
        ),
        ["profile.csv", "row", "column import_price_per_kwh", "abc"],
    ),
    (
        "profile cut short",
        lambda f: (f / "profile.csv").write_text("\n".join((f / "profile.csv").read_text().splitlines()[:100])),
        ["profile.csv", "expected 672 rows"],
    ),
    (
        "profile column renamed",
        lambda f: (f / "profile.csv").write_text((f / "profile.csv").read_text().replace("pv_kw", "solar", 1)),
        ["profile.csv", "pv_kw"],
    ),
]


@pytest.mark.parametrize(("tried", "corrupt", "words"), CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_corrupt_demo_file_names_file_and_field(demo_copy, tried, corrupt, words):
    corrupt(demo_copy)
    with pytest.raises(DemoDataError) as caught:
        read_demo(demo_copy)
    for word in words:
        assert word in str(caught.value), f"{tried}: {caught.value}"


@pytest.mark.parametrize(("tried", "corrupt", "words"), CORRUPTIONS[2:5], ids=[c[0] for c in CORRUPTIONS[2:5]])
def test_corrupt_demo_leaves_existing_database_untouched(demo_copy, seeded_engine, tried, corrupt, words):
    corrupt(demo_copy)
    with pytest.raises(DemoDataError):
        seed_demo(demo_dir=demo_copy, engine=seeded_engine, reset=True)
    with session_scope(seeded_engine) as s:
        assert s.get(models.Site, "depot-ams").name == "Operator-edited name"
        assert len(s.exec(models.Vehicle.__table__.select()).all()) == 20


def test_shipped_demo_is_valid_and_realistic():
    demo = read_demo(DEMO_DIR)
    assert demo.site["timezone"] == "Europe/Amsterdam"
    assert len(demo.vehicles) == 20
    # EV charging alone could exceed the import limit: that is what dispatch is for.
    assert sum(c.max_charge_kw for c in demo.chargers) > demo.site["import_limit_kw"]
    assert any(p < 0 for p in demo.profile.export_price_per_kwh), "the real October 2024 week has a negative hour"
    assert max(demo.profile.pv_kw) > 50


# --- the demo shows V2G: prices are the real week, and some vehicle discharges on the first day ---

PRICE_SOURCE = DEMO_DIR / "day_ahead_nl_2024-10-07.csv"
RETAIL_MARKUP_PER_KWH = 0.12  # taxes and network fees on top of the day-ahead price (data/README.md)


def test_profile_prices_are_the_real_day_ahead_week():
    """profile.csv's prices are the copied ENTSO-E hours, untouched: export = day-ahead, import = + mark-up."""
    with PRICE_SOURCE.open(encoding="utf-8") as handle:
        hours = {
            datetime.fromisoformat(row["utc"].replace("Z", "+00:00")): float(row["eur_per_mwh"]) / 1000
            for row in csv.DictReader(line for line in handle if not line.startswith("#"))
        }
    with (DEMO_DIR / "profile.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(hours) == 7 * 24 and len(rows) == 7 * 96
    first = datetime.fromisoformat(rows[0]["local_time"])
    assert first.isoformat() == "2024-10-07T00:00:00+02:00" and first.weekday() == 0  # Monday, local time
    for row in rows:
        hour = datetime.fromisoformat(row["local_time"]).astimezone(UTC).replace(minute=0)
        assert float(row["export_price_per_kwh"]) == pytest.approx(hours[hour], abs=1e-9), row
        assert float(row["import_price_per_kwh"]) == pytest.approx(hours[hour] + RETAIL_MARKUP_PER_KWH, abs=1e-9), row


ZONE = ZoneInfo("Europe/Amsterdam")
TUESDAY = date(2026, 12, 1)  # the day of the test run's T0 (tests/conftest.py)
# Every 3 hours over T0's day, then noon on each other day of that week (each day has its own prices).
DEMO_STARTS = [datetime.combine(TUESDAY, time(hour), ZONE) for hour in range(0, 24, 3)] + [
    datetime.combine(TUESDAY + timedelta(days=shift), time(12), ZONE) for shift in (-1, 1, 2, 3, 4, 5)
]
# Seeded mid-week: the stored prices (a week either side) then cover every start and its 48 h ahead.
SEEDED_AT = datetime.combine(TUESDAY + timedelta(days=2), time(0), ZONE)


@pytest.fixture(scope="module")
def demo_week_template(tmp_path_factory):
    """A database file with the demo seeded on a pinned clock (the tests copy it)."""
    path = tmp_path_factory.mktemp("demo-week") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    set_clock(FixedClock(SEEDED_AT.astimezone(UTC)))
    try:
        init_db(engine)
        seed_demo(demo_dir=DEMO_DIR, engine=engine)
    finally:
        set_clock(None)
        engine.dispose()
    return path


def _last_arrival(vehicle: SimVehicle, at: datetime) -> datetime:
    """The start of the visit that has the vehicle at the depot at `at` (its usual arrival, at or before)."""
    hour, minute = (int(x) for x in vehicle.usual_arrival.split(":"))
    arrival = datetime.combine(at.astimezone(ZONE).date(), time(hour, minute), ZONE)
    return arrival if arrival <= at else datetime.combine(arrival.date() - timedelta(days=1), time(hour, minute), ZONE)


def _first_planned_discharge(engine, start: datetime):
    """Play the demo's first day from `start` as the simulator does and return the first discharge planned
    to happen before `start` + 24 h, as (planned at, vehicle, step start, kW), or None.

    Vehicles are plugged in when their usual day has them at the depot (at `start` those already there,
    as the simulator starts them), each arriving with its arrival SoC and reporting it fresh; the site is
    re-planned at `start` and whenever a vehicle that may discharge arrives, and between plans every
    vehicle follows the plan (its SoC moves as the simulated battery's would).
    """
    demo = read_demo(DEMO_DIR)
    chargers = {c.id: c for c in demo.chargers}
    sims = {v.id: SimVehicle.from_demo(v, demo.site["timezone"]) for v in demo.vehicles}
    home = {v.id: v.home_charger_id for v in demo.vehicles}
    end = start + timedelta(hours=24)
    arrivals = sorted(
        {
            datetime.combine(start.date() + timedelta(days=day), time(*map(int, v.usual_arrival.split(":"))), ZONE)
            for v in demo.vehicles
            if v.v2g_allowed and chargers[v.home_charger_id].max_discharge_kw > 0
            for day in (0, 1)
        }
    )
    replans = [start] + [a for a in arrivals if start < a < end]
    plugged: dict[str, tuple[datetime, int]] = {}  # vehicle -> (visit's arrival, PlugSession id)
    previous = None  # (planned at, problem, result)
    for at in (t.astimezone(UTC) for t in replans):
        if previous is not None:  # the vehicles followed the last plan until now
            planned_at, problem, result = previous
            for entry, powers in zip(problem.scenario["vehicles"], result.power_kw, strict=True):
                steps = int((at - planned_at) / timedelta(minutes=15))
                for power_kw in powers[:steps]:
                    sims[entry["id"]].run(float(power_kw), 900, chargers[entry["charger"]].efficiency)
        set_clock(FixedClock(at))
        with session_scope(engine) as s:
            for n, (vehicle_id, sim) in enumerate(sims.items()):
                visit = _last_arrival(sim, at) if sim.at_depot(at) else None
                if vehicle_id in plugged and plugged[vehicle_id][0] != visit:  # it left since
                    s.get(models.PlugSession, plugged.pop(vehicle_id)[1]).ended_at = at
                if visit is None:
                    continue
                if vehicle_id not in plugged:
                    sim.soc = sim.arrival_soc
                    plug = models.PlugSession(
                        charger_id=home[vehicle_id],
                        vehicle_id=vehicle_id,
                        transaction_id=f"{at:%d%H%M}-{n}",
                        started_at=at - timedelta(minutes=1),
                    )
                    s.add(plug)
                    s.flush()
                    plugged[vehicle_id] = (visit, plug.id)
                s.add(
                    models.MeterSample(
                        time=at - timedelta(seconds=1),
                        charger_id=home[vehicle_id],
                        session_id=plugged[vehicle_id][1],
                        power_kw=0.0,
                        soc=sim.soc,
                    )
                )
        with session_scope(engine) as s:
            problem = planning.build_problem(session=s, site=s.get(models.Site, "depot-ams"), at=at)
        assert problem.assumed_price_steps == 0, "every price the plan saw is one the demo seeded"
        result = dispatch.plan(problem.scenario, time_limit_s=20)
        assert result.status == "optimal", result.status_reason
        for entry, powers in zip(problem.scenario["vehicles"], result.power_kw, strict=True):
            for k, power_kw in enumerate(powers):
                step = problem.start + timedelta(minutes=15 * k)
                if step < end and power_kw < -1.0:
                    return at, entry["id"], step, float(power_kw)
        previous = (at, problem, result)
    return None


@pytest.mark.parametrize("start", DEMO_STARTS, ids=[f"{s:%a-%H%M}" for s in DEMO_STARTS])
def test_demo_discharges_within_its_first_day_whatever_time_it_starts(tmp_path, demo_week_template, start):
    """The demo's main feature shows within a simulated day: some vehicle is planned to discharge."""
    shutil.copy(demo_week_template, tmp_path / "demo.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        found = _first_planned_discharge(engine, start.astimezone(UTC))
    finally:
        set_clock(None)
        engine.dispose()
    assert found is not None, f"demo started {start:%a %H:%M}: no discharge planned in its first 24 h"
    planned_at, vehicle_id, step, power_kw = found
    local = step.astimezone(ZONE)
    # In the evening peak: inside the site's V2G windows (weekdays 17-21 h, weekends 16-22 h).
    assert 16 <= local.hour < 22, (vehicle_id, local, power_kw)
