"""Fixtures of the site meter tests: the demo site in a database of the test's own, a real Mosquitto
broker on a free port, and the clock (standing still, or the run's clock for the gateway tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from core.clock import get_clock, set_clock


@pytest.fixture
def engine(demo_engine):
    return demo_engine


@pytest.fixture
def running_clock():
    """The run's clock (pinned at T0, running at real speed), for tests that run the gateway."""
    previous = get_clock()
    set_clock(None)
    yield
    set_clock(previous)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mosquitto(tmp_path):
    """A real Mosquitto broker (Debian's, `make test-deps` installs it) on a free port; its port."""
    exe = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    if exe is None:
        # Never a skip: `make test` installs it, so a missing broker is a broken setup, not a pass.
        pytest.fail("mosquitto is not installed: run `make test` (its test-deps step installs it)")
    port, conf = free_port(), tmp_path / "mosquitto.conf"
    # Our own configuration, never the package's: loopback only, no persistence file, log to the pipe.
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n")
    broker = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(100):  # until the listener accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert broker.poll() is None, broker.stderr.read()
            time.sleep(0.05)
    yield port
    broker.terminate()
    assert broker.wait(timeout=5) == 0
