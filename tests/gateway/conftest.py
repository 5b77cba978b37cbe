"""Fixtures of the gateway tests: every test gets its own SQLite file holding the demo site.

Self-contained: engines are passed explicitly, nothing relies on DATABASE_URL. The database is a
copy of the session's demo template (tests/conftest.py: hashing 20 passwords takes a second).
"""

from __future__ import annotations

import pytest

from core.clock import get_clock, set_clock


@pytest.fixture
def engine(demo_engine):
    return demo_engine


@pytest.fixture(autouse=True)
def running_clock():
    """The gateway tests run on the run's clock (pinned at T0, running at real speed: the same clock
    the gateway and simulator processes they start use), whatever another test left behind."""
    try:
        previous = get_clock()
    except Exception:
        previous = None
    set_clock(None)
    yield
    set_clock(previous)
