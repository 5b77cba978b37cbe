"""Interoperability with a charge point we did not write: npm `ocpp-rpc` (strict mode), as 1.6, 2.0.1, 2.1.

Its strict mode validates every CALL it receives against its own copy of the OCPP schemas (ajv, with
formats), so the safe default and the dispatch profile our gateway sends must pass a validator that
is not the `ocpp` library's. The node dependencies are installed on first use (`npm ci`, from the
committed package-lock.json); node_modules is not committed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from core import models
from core.charging_profiles import build_charging_profile
from core.clock import now
from core.gateway.auth import register_charger
from tests.gateway.support import add_command, commands, rows, run, running_gateway, wait_until

INTEROP = Path(__file__).resolve().parent
CHARGERS = {  # id, protocol, max charge kW, max discharge kW, accepts negative limits
    "1.6": ("RPC-16", 22.0, 0.0, False),
    "2.0.1": ("RPC-201", 22.0, 11.0, True),
    "2.1": ("RPC-21", 22.0, 11.0, False),
}
PASSWORD = "interop-password-0123"


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, with tests/interop/node_modules installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        # Node.js 20 and npm come with this kind of machine; a missing one must fail, not pass silently.
        pytest.fail("Node.js and npm are needed for the interop test (install Debian's nodejs and npm)")
    if not (INTEROP / "node_modules" / "ocpp-rpc").is_dir():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=INTEROP, capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            pytest.fail(f"`npm ci` in {INTEROP} failed:\n{result.stdout}\n{result.stderr}")
    return node


@pytest.mark.timeout(90)
@pytest.mark.parametrize("protocol", ["1.6", "2.0.1", "2.1"])
def test_ocpp_rpc_strict_charger_boots_meters_and_accepts_our_profiles(engine, node, protocol):
    charger_id, max_charge_kw, max_discharge_kw, negative_limits = CHARGERS[protocol]
    register_charger(
        engine=engine,
        charger_id=charger_id,
        password=PASSWORD,
        protocol=protocol,
        max_charge_kw=max_charge_kw,
        max_discharge_kw=max_discharge_kw,
        accepts_negative_limits=negative_limits,
    )

    def profile_for(transaction_id):
        # Charge now, discharge in half an hour (where this charger may discharge at all).
        return build_charging_profile(
            protocol=protocol,
            periods=[(now() - timedelta(minutes=1), 11.0), (now() + timedelta(minutes=30), -7.4)],
            max_charge_kw=max_charge_kw,
            max_discharge_kw=max_discharge_kw,
            accepts_negative_limits=negative_limits,
            transaction_id=transaction_id,
            end=now() + timedelta(hours=2),
        )

    async def scenario():
        async with running_gateway(engine) as gateway:
            process = await asyncio.create_subprocess_exec(
                node,
                str(INTEROP / "rpc_charger.js"),
                gateway.url,
                f"ocpp{protocol}",
                charger_id,
                PASSWORD,
                cwd=INTEROP,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stderr = asyncio.create_task(process.stderr.read())  # ajv's warnings must not fill the pipe
            events, payload, sender = [], None, None
            async for raw in process.stdout:
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                events.append(event)
                if event["event"] == "transaction":
                    payload = profile_for(event["transactionId"])
                    sender = asyncio.create_task(send_bad_then_good(engine, charger_id, payload))
            await process.wait()
            if sender is not None:
                await sender
            await gateway.writer.join()
            return process.returncode, events, payload, (await stderr).decode(errors="replace")

    returncode, events, payload, stderr = run(scenario(), timeout_s=80)
    assert returncode == 0, f"{events}\n{stderr[-3000:]}"
    assert not [e for e in events if e["event"] in ("error", "unhandled")], events
    # The one thing its validator refused is the deliberately bad profile (a validFrom that is not a
    # date-time, which the `ocpp` library does not check): proof that the validator is at work.
    (failure,) = [e for e in events if e["event"] == "strict-validation-failure"]
    assert "date-time" in failure["message"]

    # It got the safe default and then our profile, exactly as built, and accepted both.
    received = [e["params"] for e in events if e["event"] == "SetChargingProfile"]
    assert len(received) == 2
    profile_key = "csChargingProfiles" if protocol == "1.6" else "chargingProfile"
    assert received[0][profile_key]["chargingProfilePurpose"] == "TxDefaultProfile"
    assert received[1] == payload
    periods = payload[profile_key]["chargingSchedule"]
    periods = (periods if protocol == "1.6" else periods[0])["chargingSchedulePeriod"]
    if protocol == "2.1":
        assert periods[1]["operationMode"] == "CentralSetpoint" and periods[1]["setpoint"] == -7400.0
    elif protocol == "2.0.1":
        assert periods[1]["limit"] == -7400.0  # registered as accepting negative limits
    else:
        assert periods[1]["limit"] == 0.0  # one-way
    sent = commands(engine, charger_id)
    assert [(c.action, c.status) for c in sent] == [
        ("default", "Accepted"),
        ("set", "CallError"),
        ("set", "Accepted"),
    ]
    assert sent[1].answer["code"] in ("FormatViolation", "FormationViolation")

    # Its telemetry is stored: one closed session, readings with power and SoC.
    (session,) = rows(engine, models.PlugSession, models.PlugSession.charger_id == charger_id)
    assert session.id_tag == "TAG-RPC" and session.vehicle_id is None and session.ended_at is not None
    samples = rows(
        engine,
        models.MeterSample,
        models.MeterSample.charger_id == charger_id,
        models.MeterSample.soc.is_not(None),
    )
    assert (
        len(samples) >= 2
        and samples[0].soc == pytest.approx(0.44)
        and samples[0].power_kw == pytest.approx(7.4)
    )
    (charger,) = rows(engine, models.Charger, models.Charger.id == charger_id)
    assert (charger.vendor, charger.model) == ("ocpp-rpc", "strict")
    if protocol != "1.6":
        assert session.departure_at is not None and session.energy_request_kwh == pytest.approx(30.0)


async def send_bad_then_good(engine, charger_id: str, payload: dict) -> None:
    """Into the outbox: a profile only a strict validator refuses, then (once answered) the good one."""
    bad = copy.deepcopy(payload)
    key = "csChargingProfiles" if "csChargingProfiles" in bad else "chargingProfile"
    bad[key]["validFrom"] = "yesterday"
    bad_id = add_command(engine, charger_id, bad)
    await wait_until(
        lambda: [c for c in commands(engine, charger_id) if c.id == bad_id and c.answered_at],
        what="the bad profile answered",
    )
    add_command(engine, charger_id, payload)
