"""Safe when silent: a charger that loses the console stops discharging on its own, within a bound.

Tried over real WebSockets: a discharging profile reaches the simulated station, then the gateway goes
away (as after a crash) and the station stays out of contact. OCPP 1.6 / 2.0.1 profiles carry a short
validTo (renewed by every dispatch run while in contact); 2.1 profiles carry maxOfflineDuration. The
simulator honours both like a compliant station, so the fallback to the charge-only safe default
underneath can be seen. The bounds are shortened to seconds here; the console's is
charging_profiles.OFFLINE_FALLBACK_S (15 min).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.charging_profiles import (
    OFFLINE_FALLBACK_S,
    build_charging_profile,
    charging_profile_of,
    offline_fallback_s,
    valid_to_of,
)
from core.clock import now
from tests.gateway.support import DEMO, add_command, commands, plugged_in, run, running_gateway, wait_until

BOUND_S = 2


def discharging_profile(charger_id: str, transaction_id: str, *, issued_at) -> dict:
    charger = next(c for c in DEMO.chargers if c.id == charger_id)
    return build_charging_profile(
        protocol=charger.protocol,
        periods=[(issued_at - timedelta(minutes=1), -10.0)],
        max_charge_kw=charger.max_charge_kw,
        max_discharge_kw=charger.max_discharge_kw,
        accepts_negative_limits=charger.accepts_negative_limits,
        transaction_id=transaction_id,
        end=issued_at + timedelta(hours=24),
        issued_at=issued_at,
        offline_validity_s=BOUND_S,
        max_offline_duration_s=BOUND_S,
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("charger_id", ["CP-VAN-01", "CP-BUS-01"], ids=["2.0.1 by validTo", "2.1 by maxOfflineDuration"])
def test_a_charger_out_of_contact_falls_back_to_charge_only_within_the_bound(engine, charger_id):
    async def scenario():
        async with running_gateway(engine) as gateway:
            sim = await plugged_in(gateway, engine, charger_id, backoff_min_s=30.0, backoff_max_s=30.0)
            add_command(engine, charger_id, discharging_profile(charger_id, sim.transaction_id, issued_at=now()))
            await wait_until(lambda: commands(engine, charger_id)[-1].status == "Accepted", what="profile accepted")
            await wait_until(lambda: sim.power_kw < 0, what="discharging")
        silent_at = now()  # the gateway is gone: nobody renews the profile any more
        discharged_late_kwh = 0.0
        while (now() - silent_at).total_seconds() < BOUND_S + 2:
            await asyncio.sleep(0.1)
            if sim.power_kw < 0 and (now() - silent_at).total_seconds() > BOUND_S + 0.5:
                discharged_late_kwh += -sim.power_kw * 0.1 / 3600
        power_after = sim.power_kw
        await sim.stop()
        return power_after, discharged_late_kwh

    power_after, late_kwh = run(scenario())
    assert power_after > 0, "the station must be back on the charge-only safe default"
    assert late_kwh == 0.0, "no discharge after the bound"


def test_only_discharging_1x_and_2x_profiles_are_short_lived():
    """A 1.6 / 2.0.1 profile that discharges ends OFFLINE_FALLBACK_S after it was issued; one that only
    charges (never above the safe default) keeps its schedule's end; 2.1 relies on maxOfflineDuration."""
    issued = now().replace(microsecond=0)
    periods = [(issued, -5.0), (issued + timedelta(hours=2), 7.0)]
    common = dict(max_charge_kw=11.0, max_discharge_kw=11.0, accepts_negative_limits=True, end=issued + timedelta(hours=24), issued_at=issued)
    short = build_charging_profile(protocol="2.0.1", periods=periods, **common)
    assert valid_to_of(short) == issued + timedelta(seconds=OFFLINE_FALLBACK_S)
    charge_only = build_charging_profile(protocol="1.6", periods=[(issued, 7.0)], **common)
    assert valid_to_of(charge_only) == issued + timedelta(hours=24)
    v21 = build_charging_profile(protocol="2.1", periods=periods, **common)
    assert charging_profile_of(v21)["maxOfflineDuration"] == OFFLINE_FALLBACK_S
    assert valid_to_of(v21) == issued + timedelta(hours=24)


def test_the_bound_grows_with_a_slow_dispatch_interval():
    """A sped-up demo plans less often in console time: the bound is then three dispatch intervals."""
    assert offline_fallback_s(60) == OFFLINE_FALLBACK_S
    assert offline_fallback_s(600) == 1800


def test_the_planner_renews_a_short_lived_profile_before_it_ends():
    """While in contact, every dispatch run sends a discharging profile again once less than
    RENEW_WHEN_LEFT_S of it is left, so it never lapses while the console is up."""
    from core import models
    from core.charging_profiles import RENEW_WHEN_LEFT_S
    from core.planning.store import _renewal_due

    issued = now().replace(microsecond=0)
    payload = build_charging_profile(
        protocol="2.0.1", periods=[(issued, -5.0)], max_charge_kw=11.0, max_discharge_kw=11.0,
        accepts_negative_limits=True, issued_at=issued,
    )  # fmt: skip
    last = models.ChargingProfileCommand(charger_id="CP-VAN-01", action="set", payload=payload)
    left_when_due = timedelta(seconds=OFFLINE_FALLBACK_S - RENEW_WHEN_LEFT_S)
    assert not _renewal_due(last, issued + left_when_due - timedelta(seconds=30))
    assert _renewal_due(last, issued + left_when_due + timedelta(seconds=30))
