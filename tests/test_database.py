"""Models round-trip through a real SQLite file; DATABASE_URL is honoured; seeding is idempotent."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from core import models
from core.config import DEMO_DIR, PROJECT_ROOT
from core.db import make_engine, session_scope
from core.demo import seed_demo


def test_sqlite_file_is_in_wal_mode_with_a_busy_timeout(empty_engine):
    with empty_engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_models_round_trip_with_aware_utc_times(empty_engine):
    t0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe switches to summer time
    with session_scope(empty_engine) as s:
        s.add(models.Site(id="s1", name="Depot", import_limit_kw=100, export_limit_kw=50))
        s.flush()
        s.add(models.Charger(id="CP1", site_id="s1", protocol="2.1", max_charge_kw=22, max_discharge_kw=22))
        s.flush()
        s.add(models.Vehicle(id="V1", site_id="s1", name="Van", battery_kwh=75, max_charge_kw=22, id_tag="T1"))
        s.add(models.MeterSample(time=t0, charger_id="CP1", power_kw=-7.5, soc=0.55, energy_export_kwh=1.25))
        s.add(
            models.ChargingProfileCommand(
                charger_id="CP1", payload={"chargingProfile": {"id": 1, "periods": [0, -7500]}}
            )
        )
        s.add(models.AuditEvent(actor="op", action="set_soc_floor", before={"soc_floor": 0.3}, after={"soc_floor": 0.4}))
    with session_scope(empty_engine) as s:
        sample = s.exec(select(models.MeterSample)).one()
        assert sample.time == t0 and sample.time.tzinfo is not None
        assert sample.power_kw == -7.5 and sample.soc == 0.55
        command = s.exec(select(models.ChargingProfileCommand)).one()
        assert command.payload["chargingProfile"]["periods"] == [0, -7500]
        assert command.status == "pending"
        audit = s.exec(select(models.AuditEvent)).one()
        assert audit.before == {"soc_floor": 0.3} and audit.after == {"soc_floor": 0.4}
        assert s.get(models.Charger, "CP1").bidirectional


def test_a_time_in_another_zone_is_stored_as_the_same_instant(empty_engine):
    amsterdam_noon = datetime.fromisoformat("2026-07-01T12:00:00+02:00")
    with session_scope(empty_engine) as s:
        s.add(models.Site(id="s1", name="Depot", import_limit_kw=100, export_limit_kw=50))
        s.flush()
        s.add(models.SiteSample(site_id="s1", time=amsterdam_noon, building_load_kw=10, net_import_kw=10))
    with session_scope(empty_engine) as s:
        assert s.exec(select(models.SiteSample)).one().time == datetime(2026, 7, 1, 10, tzinfo=UTC)


def test_naive_times_are_refused(empty_engine):
    with pytest.raises(Exception, match="naive datetime"), session_scope(empty_engine) as s:
        s.add(models.Site(id="s1", name="Depot", import_limit_kw=100, export_limit_kw=50))
        s.flush()
        s.add(models.SiteSample(site_id="s1", time=datetime(2026, 1, 1), building_load_kw=1, net_import_kw=1))


def _counts(engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {
            table.__name__: s.exec(select(func.count()).select_from(table)).one()
            for table in (models.Site, models.Charger, models.Vehicle, models.V2GWindow, models.PricePoint)
        }


def test_seeding_twice_leaves_one_copy(empty_engine):
    assert seed_demo(demo_dir=DEMO_DIR, engine=empty_engine) is True
    first = _counts(empty_engine)
    assert seed_demo(demo_dir=DEMO_DIR, engine=empty_engine) is False
    assert _counts(empty_engine) == first
    assert first["Site"] == 1 and first["Vehicle"] == 20 and first["Charger"] == 20
    # Prices cover a week either side of now, every 15 minutes.
    assert first["PricePoint"] == 2 * 7 * 96


def test_reset_reseeds_without_duplicates(demo_engine):
    with session_scope(demo_engine) as s:
        s.get(models.Site, "depot-ams").import_limit_kw = 1.0
    assert seed_demo(demo_dir=DEMO_DIR, engine=demo_engine, reset=True) is True
    with session_scope(demo_engine) as s:
        assert s.get(models.Site, "depot-ams").import_limit_kw == 400.0
    assert _counts(demo_engine)["Vehicle"] == 20


def test_charger_passwords_are_stored_hashed(demo_engine):
    with session_scope(demo_engine) as s:
        charger = s.get(models.Charger, "CP-BUS-01")
    assert "demo-bus-01-pw" not in charger.password_hash
    from core.security import verify_password

    assert verify_password("demo-bus-01-pw", charger.password_hash)
    assert not verify_password("wrong", charger.password_hash)


def test_demo_prices_follow_the_site_time_zone(demo_engine):
    with session_scope(demo_engine) as s:
        points = s.exec(select(models.PricePoint).order_by(models.PricePoint.start)).all()
    assert all(b.start - a.start == timedelta(minutes=15) for a, b in zip(points, points[1:], strict=False))
    assert all(p.end - p.start == timedelta(minutes=15) for p in points)


def test_database_url_selects_another_database(tmp_path):
    """`python app.py --reset-demo` with DATABASE_URL set writes there and nowhere else."""
    target = tmp_path / "elsewhere.db"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{target}")
    done = subprocess.run(
        [sys.executable, "app.py", "--reset-demo"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    engine = make_engine(f"sqlite:///{target}")
    assert _counts(engine)["Vehicle"] == 20
    engine.dispose()


def test_reset_after_operators_used_the_site_keeps_the_audit_trail(demo_engine):
    """Tried: overrides, a one-off departure, a dispatch run and an audit row linked to it, then --reset-demo."""
    at = datetime(2026, 11, 26, 12, tzinfo=UTC)
    with session_scope(demo_engine) as s:
        run = models.DispatchRun(site_id="depot-ams", started_at=at, finished_at=at, status="optimal")
        s.add(run)
        s.flush()
        s.add(models.Setpoint(run_id=run.id, vehicle_id="BUS-01", charger_id="CP-BUS-01", step=0, start=at, power_kw=5))
        s.add(models.Override(site_id="depot-ams", vehicle_id="BUS-01", kind="pause", until=at + timedelta(hours=1)))
        s.add(models.DepartureOverride(vehicle_id="BUS-01", departs_at=at + timedelta(hours=5)))
        s.add(models.AuditEvent(actor="op", action="set_soc_floor", target="BUS-01", dispatch_run_id=run.id))
    assert seed_demo(demo_dir=DEMO_DIR, engine=demo_engine, reset=True)
    with session_scope(demo_engine) as s:
        audit = s.exec(select(models.AuditEvent)).one()
        assert audit.actor == "op" and audit.dispatch_run_id is None
        assert s.exec(select(models.Override)).all() == []
        assert s.exec(select(models.DispatchRun)).all() == []
