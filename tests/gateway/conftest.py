"""Fixtures of the gateway tests: every test gets its own SQLite file holding the demo site.

Self-contained: engines are passed explicitly, nothing relies on DATABASE_URL. The demo site is
seeded once per session into a template file (hashing 20 passwords takes a second) and copied.
"""

from __future__ import annotations

import shutil

import pytest

from core.clock import Clock, get_clock, set_clock
from core.config import DEMO_DIR
from core.db import init_db, make_engine
from core.demo import seed_demo


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("gateway-template") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    seed_demo(demo_dir=DEMO_DIR, engine=engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def engine(tmp_path, demo_template):
    path = tmp_path / "v2g.db"
    shutil.copy(demo_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def real_clock():
    """The gateway tests run on the real clock, whatever another test left behind."""
    try:
        previous = get_clock()
    except Exception:
        previous = None
    set_clock(Clock())
    yield
    set_clock(previous)
