"""Test setup shared by every test.

Each test session gets its own SQLite file, seeded with the demo site, selected through
DATABASE_URL before anything reads the settings. The console's clock is pinned: every process of the
run (tests, and the gateway, simulator and web app they start, which inherit the environment)
starts its clock at T0, a Tuesday noon, and lets it run from there at real speed, so no test depends
on the time of day it is run at. Tests that need time to stand still use the `clock` fixture. Browser tests use dash[testing] on Debian's
chromium + chromium-driver: headless (pyproject addopts), offline, with performance logging on so
a test can see every request the page made.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="v2g-tests-"))
os.environ["DATABASE_URL"] = f"sqlite:///{_SESSION_DIR / 'v2g-test.db'}"
os.environ.setdefault("V2G_DEMO", "1")
# Live pages poll every second and chargers report every 2 s in tests, so staleness shows quickly.
os.environ.setdefault("V2G_POLL_INTERVAL_S", "1")
os.environ.setdefault("V2G_METER_INTERVAL_S", "2")

# The run's clock: T0 at the start of the run, then real speed (core.clock.ScaledClock at 1x).
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # Tuesday 13:00 in Amsterdam
os.environ.setdefault("V2G_CLOCK_START", T0.isoformat())
os.environ.setdefault("V2G_CLOCK_ANCHOR_EPOCH", repr(time.time()))

# Property tests explore new random examples on a developer's machine; on CI (CI=true) they replay a
# fixed derandomised set, so a run is reproducible.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ARTIFACTS = Path(os.environ.get("DASH_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))


def pytest_setup_options():
    """dash.testing hook: the base Chrome options of every browser test."""
    from selenium.webdriver.chrome.options import Options

    class OptionsWithNetworkLog(Options):
        # dash.testing sets goog:loggingPrefs to browser-only after this hook; keep the
        # performance (network) log on as well so tests can list every request.
        def set_capability(self, name, value):
            if name == "goog:loggingPrefs":
                value = {**value, "performance": "ALL"}
            super().set_capability(name, value)

    options = OptionsWithNetworkLog()
    options.add_argument("--window-size=1280,900")
    options.add_argument("--disable-component-update")
    options.add_argument("--disable-background-networking")
    # Never hand a non-local host name to DNS; a request to one still shows in the performance log.
    options.add_argument("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1")
    return options


def _patch_dash_snapshots() -> None:
    """dash.testing writes failure screenshots to /tmp/dash_artifacts; keep them with ours."""
    try:
        from dash.testing.browser import Browser
    except ImportError:
        return

    def take_snapshot(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}_{self.session_id}.png"))

    Browser.take_snapshot = take_snapshot


_patch_dash_snapshots()


@pytest.fixture(scope="session", autouse=True)
def demo_database():
    """The session's database, created and seeded once with the demo site."""
    from core.config import get_settings
    from core.db import init_db
    from core.demo import seed_demo

    get_settings.cache_clear()
    engine = init_db()
    seed_demo(demo_dir=get_settings().demo_dir, engine=engine)
    return engine


@pytest.fixture
def clock():
    """The console's clock stands still at T0 for this test (advance it with `clock.advance(minutes=5)`)."""
    from core.clock import FixedClock, set_clock

    fixed = FixedClock(T0)
    set_clock(fixed)
    yield fixed
    set_clock(None)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A database file seeded once with the demo site at T0; tests get copies of it."""
    from core.clock import FixedClock, set_clock
    from core.config import get_settings
    from core.db import init_db, make_engine
    from core.demo import seed_demo

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    set_clock(FixedClock(T0))
    try:
        init_db(engine)
        seed_demo(demo_dir=get_settings().demo_dir, engine=engine)
    finally:
        set_clock(None)
        engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def demo_engine(tmp_path, demo_template):
    """A database of this test's own, holding the demo site as seeded at T0."""
    from core.db import make_engine

    path = tmp_path / "v2g.db"
    shutil.copy(demo_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def empty_engine(tmp_path):
    """A database of this test's own with every table and no rows."""
    from core.db import init_db, make_engine

    engine = init_db(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    yield engine
    engine.dispose()


@pytest.fixture
def artifacts_dir(tmp_path_factory) -> Path:
    """Where a test saves screenshots: the pytest tmp dir, mirrored into ./artifacts for CI."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
