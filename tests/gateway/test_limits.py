"""Limits held on every reading: the site-limit guard on the site meter, and break-before-make in the outbox.

A connection's fuse trips on a reading, not on a 15-minute mean. Tried: (1) the guard's rule on single
readings; (2) the real gateway with its site meter and simulated chargers drawing full power against
an import limit they exceed: the guard caps the largest ones within a reading or two and records the
excursion; (3) one dispatch run that lowers one charger and raises another: the raise goes out only
after the lowering was answered.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core import models
from core.charging_profiles import build_charging_profile
from core.clock import now
from core.db import session_scope
from core.rules.limit_guard import guard_decision, headroom_kw
from tests.gateway.support import (
    DEMO,
    SITE_ID,
    commands,
    gateway_settings,
    plugged_in,
    rows,
    run,
    running_gateway,
    wait_until,
)

# --- the rule ----------------------------------------------------------------------------------


def test_within_the_guard_line_nothing_is_done():
    decision = guard_decision(300.0, import_limit_kw=400.0, export_limit_kw=100.0, charger_powers_kw={"a": 50.0})
    assert decision.direction is None and decision.caps_kw == {}


def test_import_over_the_line_cuts_the_largest_chargers_first():
    # limit 400, headroom 8: line 392; a reading of 430 is 38 kW beyond it, 30 over the limit
    decision = guard_decision(
        430.0, import_limit_kw=400.0, export_limit_kw=100.0, charger_powers_kw={"bus": 30.0, "van": 20.0, "car": 11.0, "v2g": -5.0}
    )
    assert decision.direction == "import"
    assert decision.over_line_kw == pytest.approx(38.0) and decision.over_limit_kw == pytest.approx(30.0)
    assert decision.caps_kw == {"bus": 0.0, "van": 12.0}  # 30 from the bus, the other 8 from the van


def test_export_over_the_line_makes_the_largest_dischargers_discharge_less():
    decision = guard_decision(
        -115.0, import_limit_kw=400.0, export_limit_kw=100.0, charger_powers_kw={"bus": -40.0, "van": -10.0, "car": 11.0}
    )
    assert decision.direction == "export"
    assert decision.over_line_kw == pytest.approx(115.0 - 100.0 + headroom_kw(100.0))
    assert decision.caps_kw == {"bus": pytest.approx(-23.0)}


# --- the guard in the running gateway -------------------------------------------------------------------


def _set_import_limit(engine, limit_kw: float) -> None:
    with session_scope(engine) as session:
        session.get(models.Site, SITE_ID).import_limit_kw = limit_kw


def _net_imports(engine) -> list[float]:
    return [s.net_import_kw for s in rows(engine, models.SiteSample, models.SiteSample.site_id == SITE_ID, order_by=models.SiteSample.time)]


@pytest.mark.timeout(90)
def test_the_guard_holds_the_import_limit_on_the_readings_and_records_the_excursion(engine):
    """Three buses charging at full power, an import limit 60 kW below what they draw with the building:
    the guard caps them, the site comes back under the limit, and the Grid page's row says what happened."""
    buses = ["CP-BUS-01", "CP-BUS-02", "CP-BUS-03"]
    settings = gateway_settings(str(engine.url), demo=True, meter_interval_s=0.2)

    async def scenario():
        async with running_gateway(engine, settings=settings) as gateway:
            sims = [await plugged_in(gateway, engine, cid) for cid in buses]
            await wait_until(lambda: all(s.power_kw > 0 for s in sims), what="buses charging")
            await wait_until(lambda: len(_net_imports(engine)) >= 3, what="site readings")
            drawn_kw = _net_imports(engine)[-1]
            _set_import_limit(engine, drawn_kw - 60.0)
            await wait_until(
                lambda: [c for cid in buses for c in commands(engine, cid) if c.action == "guard" and c.status == "Accepted"],
                what="a guard cap accepted",
            )
            marker = len(_net_imports(engine))
            await wait_until(lambda: len(_net_imports(engine)) >= marker + 5, what="readings after the cap")
            after = _net_imports(engine)[marker + 2:]
            for sim in sims:
                await sim.stop()
        return drawn_kw, after

    drawn_kw, after = run(scenario(), timeout_s=80)
    limit_kw = drawn_kw - 60.0
    assert max(after) <= limit_kw, f"readings above the {limit_kw:.1f} kW limit after the guard acted: {after}"
    with session_scope(engine) as session:
        [excursion] = session.exec(select(models.LimitExcursion)).all()
    assert excursion.direction == "import" and excursion.guard_commands >= 1
    assert excursion.limit_kw == pytest.approx(limit_kw)
    assert excursion.worst_kw_over_limit > 0 and excursion.readings_over_limit >= 1  # the readings before the cap


# --- break before make -----------------------------------------------------------------------------------


def _profile(charger_id: str, power_kw: float, transaction_id: str) -> dict:
    charger = next(c for c in DEMO.chargers if c.id == charger_id)
    return build_charging_profile(
        protocol=charger.protocol, periods=[(now() - timedelta(minutes=1), power_kw)], max_charge_kw=charger.max_charge_kw,
        max_discharge_kw=charger.max_discharge_kw, accepts_negative_limits=charger.accepts_negative_limits,
        transaction_id=transaction_id, end=now() + timedelta(hours=1),
    )  # fmt: skip


def _queue(engine, run_id, charger_id, power_kw, transaction_id) -> int:
    with session_scope(engine) as session:
        row = models.ChargingProfileCommand(
            charger_id=charger_id, action="set", payload=_profile(charger_id, power_kw, transaction_id),
            schedule=[[(now() - timedelta(minutes=1)).isoformat(), power_kw]], run_id=run_id,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.timeout(60)
def test_a_run_lowers_before_it_raises(engine):
    """Run 1 sets both buses to 50 kW; run 2 lowers BUS-01 to 10 kW and raises BUS-02 to 90 kW. The
    raise must leave the gateway only after the lowering was answered."""
    with session_scope(engine) as session:
        runs = [models.DispatchRun(site_id=SITE_ID, started_at=now(), horizon_start=now(), trigger="test") for _ in range(2)]
        session.add_all(runs)
        session.flush()
        first, second = (r.id for r in runs)

    async def scenario():
        async with running_gateway(engine) as gateway:
            lower, upper = [await plugged_in(gateway, engine, cid) for cid in ("CP-BUS-01", "CP-BUS-02")]
            ids = [_queue(engine, first, "CP-BUS-01", 50.0, lower.transaction_id), _queue(engine, first, "CP-BUS-02", 50.0, upper.transaction_id)]
            await wait_until(lambda: all(rows(engine, models.ChargingProfileCommand, models.ChargingProfileCommand.id == i)[0].status == "Accepted" for i in ids), what="run 1")
            # the raise is written first, so without the rule it would even go out first
            raise_id = _queue(engine, second, "CP-BUS-02", 90.0, upper.transaction_id)
            lower_id = _queue(engine, second, "CP-BUS-01", 10.0, lower.transaction_id)
            await wait_until(lambda: all(rows(engine, models.ChargingProfileCommand, models.ChargingProfileCommand.id == i)[0].status == "Accepted" for i in (raise_id, lower_id)), what="run 2")
            for sim in (lower, upper):
                await sim.stop()
        return raise_id, lower_id

    raise_id, lower_id = run(scenario())
    [raised] = rows(engine, models.ChargingProfileCommand, models.ChargingProfileCommand.id == raise_id)
    [lowered] = rows(engine, models.ChargingProfileCommand, models.ChargingProfileCommand.id == lower_id)
    assert raised.sent_at >= lowered.answered_at, (raised.sent_at, lowered.answered_at)
