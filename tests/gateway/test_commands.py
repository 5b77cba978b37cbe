"""The command lines: `python -m core.gateway [add-charger ...]` and `python -m core.simulator`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlmodel import func, select

from core import models
from core.config import PROJECT_ROOT, get_settings
from core.db import session_scope
from core.gateway.__main__ import main as gateway_main
from core.security import verify_password
from tests.gateway.support import rows


@pytest.fixture
def database_env(engine, monkeypatch):
    """DATABASE_URL pointing at this test's database, for code that reads the settings."""
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    get_settings.cache_clear()
    yield str(engine.url)
    get_settings.cache_clear()


def test_add_charger_registers_a_charger_with_a_hashed_password(engine, database_env, capsys):
    status = gateway_main(
        [
            "add-charger",
            "CP-NEW-01",
            "--password",
            "a-good-password-16",
            "--protocol",
            "2.1",
            "--max-charge-kw",
            "50",
            "--max-discharge-kw",
            "25",
        ]
    )
    assert status == 0
    assert "registered CP-NEW-01 at site depot-ams" in capsys.readouterr().out
    (charger,) = rows(engine, models.Charger, models.Charger.id == "CP-NEW-01")
    assert (charger.protocol, charger.max_charge_kw, charger.max_discharge_kw) == ("2.1", 50.0, 25.0)
    assert charger.password_hash != "a-good-password-16" and verify_password(
        "a-good-password-16", charger.password_hash
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            [
                "CP-X",
                "--password",
                "short",
                "--protocol",
                "1.6",
                "--max-charge-kw",
                "11",
                "--max-discharge-kw",
                "0",
            ],
            "password: 8 to 40 characters",
        ),
        (
            [
                "CP-X",
                "--password",
                "long-enough-pw",
                "--protocol",
                "1.6",
                "--max-charge-kw",
                "-3",
                "--max-discharge-kw",
                "0",
            ],
            "max charge power must be more than 0 kW",
        ),
        (
            [
                "CP-CAR-01",
                "--password",
                "long-enough-pw",
                "--protocol",
                "1.6",
                "--max-charge-kw",
                "11",
                "--max-discharge-kw",
                "0",
            ],
            "already registered",
        ),
        (
            [
                "CP-X",
                "--password",
                "long-enough-pw",
                "--protocol",
                "1.6",
                "--max-charge-kw",
                "11",
                "--max-discharge-kw",
                "0",
                "--site",
                "nowhere",
            ],
            "no site 'nowhere'",
        ),
    ],
)
def test_add_charger_says_clearly_what_is_wrong(engine, database_env, capsys, arguments, message):
    assert gateway_main(["add-charger", *arguments]) == 2
    assert message in capsys.readouterr().err
    assert rows(engine, models.Charger, models.Charger.id == "CP-X") == []


def test_add_charger_refuses_an_unknown_protocol(database_env, capsys):
    with pytest.raises(SystemExit) as exit_info:
        gateway_main(
            [
                "add-charger",
                "CP-X",
                "--password",
                "long-enough-pw",
                "--protocol",
                "2.0",
                "--max-charge-kw",
                "11",
                "--max-discharge-kw",
                "0",
            ]
        )
    assert exit_info.value.code == 2
    assert "invalid choice: '2.0'" in capsys.readouterr().err


@pytest.mark.timeout(60)
def test_gateway_and_simulator_processes_run_together_and_stop_cleanly_on_sigterm(engine, database_env):
    env = {
        **os.environ,
        "DATABASE_URL": database_env,
        "V2G_DEMO": "1",
        "V2G_METER_INTERVAL_S": "0.2",
        "V2G_CLOCK_SPEED": "1",
        "V2G_CLOCK_START": "",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "core.gateway",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dispatch",
            "--log-level",
            "WARNING",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    simulator = None
    try:
        line = gateway.stdout.readline()
        assert "gateway listening on ws://127.0.0.1:" in line, line + gateway.stderr.read()
        url = line.split(" on ", 1)[1].split("/<", 1)[0]
        simulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "core.simulator",
                "--url",
                url,
                "--only",
                "CP-BUS-03,CP-CAR-04",
                "--all-plugged",
                "--meter-interval",
                "0.2",
                "--log-level",
                "WARNING",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session_scope(engine) as session:
                counts = {
                    charger_id: session.exec(
                        select(func.count())
                        .select_from(models.MeterSample)
                        .where(models.MeterSample.charger_id == charger_id)
                    ).one()
                    for charger_id in ("CP-BUS-03", "CP-CAR-04")
                }
                site_samples = session.exec(select(func.count()).select_from(models.SiteSample)).one()
            if min(counts.values()) >= 5 and site_samples >= 3:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"not enough telemetry: {counts}, {site_samples} site samples")

        simulator.send_signal(signal.SIGTERM)
        assert simulator.wait(15) == 0, simulator.stderr.read()
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(15) == 0, gateway.stderr.read()
        summary = json.loads(gateway.stdout.read().strip().splitlines()[-1])
        assert summary["handling_ms"]["count"] > 10
    finally:
        for process in (simulator, gateway):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(5)

    sessions = rows(engine, models.PlugSession)
    assert {s.charger_id for s in sessions} == {"CP-BUS-03", "CP-CAR-04"}
    assert {s.vehicle_id for s in sessions} == {"BUS-03", "CAR-04"}
    assert not any(c.connected for c in rows(engine, models.Charger))
