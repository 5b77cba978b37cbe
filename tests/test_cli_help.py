"""Every command-line entry point answers --help (an operator's first try) without a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.config import PROJECT_ROOT

MODULES = ["core.dispatch", "core.signals", "core.reports", "core.controls", "core.users", "core.gateway", "core.simulator", "core.admin"]


@pytest.mark.parametrize("module", MODULES)
def test_help(module):
    done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout and "Traceback" not in done.stderr


def test_app_help():
    done = subprocess.run([sys.executable, "app.py", "--help"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--no-gateway" in done.stdout, done.stderr
