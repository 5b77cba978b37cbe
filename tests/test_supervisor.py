"""core/supervisor.py on real child processes: a child that dies is restarted with back-off and
logged; a stopped supervisor ends its children and restarts none."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

import pytest

from core.supervisor import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


def wait_for(predicate, timeout_s: float = 20.0):
    """Poll until `predicate()` is truthy (returns it) or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail("timed out")


def is_running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone and not a zombie awaiting its parent)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "core.supervisor" and r.levelno == logging.WARNING]


def test_a_killed_child_is_restarted_and_logged(caplog):
    caplog.set_level(logging.WARNING, logger="core.supervisor")
    with Supervisor({"sleeper": SLEEPER}, initial_delay_s=0.05) as supervisor:
        first = wait_for(lambda: supervisor.pid("sleeper"))
        os.kill(first, signal.SIGKILL)
        second = wait_for(lambda: (pid := supervisor.pid("sleeper")) and pid != first and pid)
        assert is_running(second)
        wait_for(lambda: any("restarted" in m for m in warnings_of(caplog)))
    died, restarted = warnings_of(caplog)[:2]
    assert died == f"sleeper (pid {first}) was killed by signal SIGKILL; restarting in 0.05 s"
    assert restarted == f"sleeper restarted (pid {second})"


def test_a_crashing_child_is_restarted_with_growing_delay(caplog):
    caplog.set_level(logging.WARNING, logger="core.supervisor")
    supervisor = Supervisor({"crasher": CRASHER}, initial_delay_s=0.05, max_delay_s=0.2, reset_after_s=30)
    supervisor.start()
    try:
        wait_for(lambda: sum("restarting in" in m for m in warnings_of(caplog)) >= 4)
    finally:
        supervisor.stop()
    deaths = [m for m in warnings_of(caplog) if "restarting in" in m]
    assert all("exited with code 3" in m for m in deaths)
    delays = [m.rpartition("restarting in ")[2] for m in deaths[:4]]
    assert delays == ["0.05 s", "0.1 s", "0.2 s", "0.2 s"]  # doubling, capped at max_delay_s


def test_a_child_that_ran_long_enough_starts_again_from_the_first_delay(caplog):
    caplog.set_level(logging.WARNING, logger="core.supervisor")
    # Runs 0.3 s, then crashes: longer than reset_after_s, so every death is a fresh one.
    command = [sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(1)"]
    with Supervisor({"flaky": command}, initial_delay_s=0.05, reset_after_s=0.2):
        wait_for(lambda: sum("restarting in" in m for m in warnings_of(caplog)) >= 3)
    deaths = [m for m in warnings_of(caplog) if "restarting in" in m]
    assert all(m.endswith("exited with code 1; restarting in 0.05 s") for m in deaths)


def test_stopping_ends_the_child_and_restarts_none(caplog):
    caplog.set_level(logging.WARNING, logger="core.supervisor")
    supervisor = Supervisor({"sleeper": SLEEPER}, initial_delay_s=0.05)
    supervisor.start()
    pid = wait_for(lambda: supervisor.pid("sleeper"))
    supervisor.stop()
    assert not is_running(pid)
    time.sleep(0.3)  # several restart delays: nothing may come back
    assert supervisor.pid("sleeper") is None
    assert warnings_of(caplog) == []
    supervisor.stop()  # a second stop is harmless


def test_a_child_that_cannot_start_is_retried(caplog, tmp_path):
    caplog.set_level(logging.WARNING, logger="core.supervisor")
    with Supervisor({"missing": [str(tmp_path / "no-such-program")]}, initial_delay_s=0.05, max_delay_s=0.1):
        wait_for(lambda: len(warnings_of(caplog)) >= 2)
    assert all(m.startswith("missing could not start") for m in warnings_of(caplog))


def test_bad_back_off_values_are_refused():
    with pytest.raises(ValueError, match="initial_delay_s"):
        Supervisor({"x": SLEEPER}, initial_delay_s=0)
    with pytest.raises(ValueError, match="initial_delay_s"):
        Supervisor({"x": SLEEPER}, initial_delay_s=2, max_delay_s=1)
