"""What the live pages are told, from a real database file: staleness and chargers that ignore their profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import models, telemetry
from core.clock import FixedClock, set_clock
from core.config import DEMO_DIR
from core.db import init_db, make_engine, session_scope
from core.demo import seed_demo

T0 = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path):
    set_clock(FixedClock(T0))
    engine = make_engine(f"sqlite:///{tmp_path / 'telemetry.db'}")
    init_db(engine)
    seed_demo(demo_dir=DEMO_DIR, engine=engine)
    yield engine
    set_clock(None)
    engine.dispose()


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
    return next(c for c in telemetry.charger_states("depot-ams", engine) if c.charger_id == charger_id)


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
    # Test meter interval 2 s: stale past 3 intervals = 6 s.
    with session_scope(engine) as s:
        s.add(models.MeterSample(time=T0 - timedelta(seconds=4), charger_id="CP-BUS-01", power_kw=5.0))
        s.add(models.MeterSample(time=T0 - timedelta(seconds=60), charger_id="CP-BUS-02", power_kw=5.0))
    assert state(engine, "CP-BUS-01").power_kw.stale is False
    assert state(engine, "CP-BUS-02").power_kw.stale is True
    assert state(engine, "CP-BUS-03").power_kw.value is None and state(engine, "CP-BUS-03").power_kw.stale
