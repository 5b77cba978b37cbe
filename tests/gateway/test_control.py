"""Control out: a profile written to the outbox reaches the charger, which obeys it; the answer is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import models
from core.charging_profiles import build_charging_profile
from core.clock import now
from core.gateway.registry import Registry
from tests.gateway.support import (
    DEMO,
    add_command,
    commands,
    plugged_in,
    rows,
    run,
    running_gateway,
    wait_until,
)


def profile_for(charger_id: str, power_kw: float, transaction_id: str | None) -> dict:
    """What core.planning would write: one setpoint from a minute ago, for the next hour."""
    charger = next(c for c in DEMO.chargers if c.id == charger_id)
    return build_charging_profile(
        protocol=charger.protocol,
        periods=[(now() - timedelta(minutes=1), power_kw)],
        max_charge_kw=charger.max_charge_kw,
        max_discharge_kw=charger.max_discharge_kw,
        accepts_negative_limits=charger.accepts_negative_limits,
        transaction_id=transaction_id,
        end=now() + timedelta(hours=1),
    )


def negatives(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in negatives(v)]
    if isinstance(value, list):
        return [n for v in value for n in negatives(v)]
    return (
        [float(value)] if isinstance(value, int | float) and not isinstance(value, bool) and value < 0 else []
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("charger_id", "limit_kw"), [("CP-CAR-01", 5.0), ("CP-VAN-03", 7.5), ("CP-BUS-01", 42.0)]
)
def test_a_profile_in_the_outbox_sets_the_power_and_its_answer_is_recorded(engine, charger_id, limit_kw):
    async def scenario():
        async with running_gateway(engine) as gateway:
            sim = await plugged_in(gateway, engine, charger_id)
            command_id = add_command(
                engine, charger_id, profile_for(charger_id, limit_kw, sim.transaction_id)
            )
            command = await wait_until(
                lambda: next(
                    (c for c in commands(engine, charger_id) if c.id == command_id and c.answered_at), None
                ),
                what="answer recorded",
            )
            await wait_until(lambda: sim.power_kw == pytest.approx(limit_kw), what="charger obeys")
            await wait_until(
                lambda: rows(
                    engine,
                    models.MeterSample,
                    models.MeterSample.charger_id == charger_id,
                    models.MeterSample.power_kw == limit_kw,
                ),
                what="new power metered",
            )
            await sim.stop()
            return command

    command = run(scenario())
    assert command.status == "Accepted"
    assert command.answer == {"status": "Accepted"}
    assert command.sent_at is not None and command.sent_at <= command.answered_at


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("charger_id", "asked_kw", "expected_kw"),
    [
        ("CP-BUS-01", -50.0, -50.0),  # 2.1 bidirectional: CentralSetpoint, the vehicle discharges
        ("CP-VAN-05", -30.0, -20.0),  # 2.1, clamped to the charger's 20 kW
        ("CP-VAN-01", -10.0, -10.0),  # 2.0.1 registered as accepting negative limits
        ("CP-VAN-03", -10.0, 0.0),  # 2.0.1 without: charge-only, so nothing
        ("CP-CAR-01", -5.0, 0.0),  # 1.6 one-way charger: never a discharge
    ],
)
def test_discharge_reaches_only_chargers_that_may_discharge(engine, charger_id, asked_kw, expected_kw):
    async def scenario():
        async with running_gateway(engine) as gateway:
            sim = await plugged_in(gateway, engine, charger_id)
            command_id = add_command(
                engine, charger_id, profile_for(charger_id, asked_kw, sim.transaction_id)
            )
            await wait_until(
                lambda: next(
                    (c for c in commands(engine, charger_id) if c.id == command_id and c.answered_at), None
                ),
                what="answer recorded",
            )
            await wait_until(lambda: sim.power_kw == pytest.approx(expected_kw), what="charger obeys")
            settled = len(sim.readings)
            await wait_until(lambda: len(sim.readings) >= settled + 4, what="more readings")
            await sim.stop()
            return sim, command_id

    sim, command_id = run(scenario())
    (command,) = [c for c in commands(engine, charger_id) if c.id == command_id]
    assert command.status == "Accepted"
    (_, received, _) = sim.received[-1]
    later = [r for r in sim.readings if r.power_kw == pytest.approx(expected_kw)][-4:]
    socs = [r.soc for r in later]
    if expected_kw < 0:
        assert negatives(received), "the discharge was sent"
        assert socs == sorted(socs, reverse=True) and socs[-1] < socs[0], "the SoC falls"
        assert later[-1].export_wh > later[0].export_wh
    else:
        assert negatives(command.payload) == [] and negatives(received) == [], "no discharge ever sent"
        assert socs[-1] >= socs[0], "the SoC never falls"


@pytest.mark.timeout(30)
def test_a_command_for_a_charger_that_is_not_connected_is_recorded_offline(engine):
    async def scenario():
        async with running_gateway(engine):
            command_id = add_command(engine, "CP-BUS-02", profile_for("CP-BUS-02", 10.0, None))
            return await wait_until(
                lambda: next(
                    (c for c in commands(engine, "CP-BUS-02") if c.id == command_id and c.answered_at), None
                ),
                what="answer recorded",
            )

    command = run(scenario())
    assert command.status == "Offline" and command.sent_at is None


@pytest.mark.timeout(30)
def test_a_payload_that_fails_our_own_schema_check_is_never_sent(engine):
    async def scenario():
        async with running_gateway(engine) as gateway:
            sim = await plugged_in(gateway, engine, "CP-VAN-03")
            bad = profile_for("CP-VAN-03", 5.0, sim.transaction_id)
            bad["chargingProfile"]["chargingSchedule"][0]["chargingRateUnit"] = "kW"  # not W or A
            command_id = add_command(engine, "CP-VAN-03", bad)
            command = await wait_until(
                lambda: next(
                    (c for c in commands(engine, "CP-VAN-03") if c.id == command_id and c.answered_at), None
                ),
                what="answer recorded",
            )
            await sim.stop()
            return sim, command

    sim, command = run(scenario())
    assert command.status == "CallError" and command.answer["local"] is True
    assert len([r for r in sim.received if r[0] == "SetChargingProfile"]) == 1  # only the safe default


def test_the_registry_answers_offline_for_an_unknown_charger():
    import asyncio

    answer = asyncio.run(Registry().set_charging_profile("nobody", {}))
    assert answer.status == "Offline"
