"""Helpers for the gateway tests: a gateway on port 0 over a per-test SQLite file, simulated chargers,
and polling the database without blocking the event loop."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.config import DEMO_DIR, Settings
from core.db import session_scope
from core.demo import read_demo
from core.gateway.server import Gateway
from core.simulator.chargepoint import SimCharger, SimulatedChargePoint
from core.simulator.vehicle import SimVehicle

DEMO = read_demo(DEMO_DIR)
SITE_ID = DEMO.site["id"]
TIMEZONE = DEMO.site["timezone"]
METER_INTERVAL_S = 0.2
# One charger of each protocol: 1.6 one-way 11 kW, 2.0.1 20 kW bidirectional with negative limits,
# 2.1 100 kW bidirectional.
BY_PROTOCOL = {"1.6": "CP-CAR-01", "2.0.1": "CP-VAN-01", "2.1": "CP-BUS-01"}


class FakePlanning:
    """Stands in for core.planning: counts the calls, plans nothing."""

    def __init__(self, *, wanted: bool = False):
        self.wanted = wanted
        self.runs: list[tuple[str, str]] = []
        self.replan_requests: list[str] = []

    def run_dispatch(self, *, site_id: str, trigger: str, engine=None) -> int:
        self.runs.append((site_id, trigger))
        self.wanted = False
        return len(self.runs)

    def replan_wanted(self, *, site_id: str, engine=None) -> bool:
        return self.wanted

    def request_replan(self, *, site_id: str, engine=None) -> None:
        self.replan_requests.append(site_id)
        self.wanted = True


def run(coroutine, timeout_s: float = 40.0):
    """Run one test scenario on a fresh event loop, with a hard timeout."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout_s))


def gateway_settings(database_url: str, **overrides) -> Settings:
    values = dict(
        database_url=database_url,
        gateway_host="127.0.0.1",
        gateway_port=0,
        demo=False,
        demo_dir=DEMO_DIR,
        meter_interval_s=METER_INTERVAL_S,
        dispatch_interval_s=60.0,
    )
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_gateway(engine: Engine, *, planning: Any = None, dispatch: bool = False, **options):
    """A gateway on 127.0.0.1, any free port, over `engine`; stopped at the end."""
    settings = options.pop("settings", None) or gateway_settings(str(engine.url))
    gateway = Gateway(
        settings=settings,
        engine=engine,
        dispatch=dispatch,
        planning=planning,
        outbox_poll_interval_s=options.pop("outbox_poll_interval_s", 0.1),
        call_timeout_s=options.pop("call_timeout_s", 3.0),
        **options,
    )
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


def simulated(
    gateway_url: str, charger_id: str, *, presence: str = "manual", **options
) -> SimulatedChargePoint:
    """A simulated demo charger with its home vehicle, fast meter and quick reconnects."""
    charger = next(c for c in DEMO.chargers if c.id == charger_id)
    vehicle = next((v for v in DEMO.vehicles if v.home_charger_id == charger_id), None)
    return SimulatedChargePoint(
        charger=SimCharger.from_demo(charger),
        vehicle=None if vehicle is None else SimVehicle.from_demo(vehicle, TIMEZONE),
        url=f"{gateway_url}/{charger_id}",
        meter_interval_s=options.pop("meter_interval_s", METER_INTERVAL_S),
        presence=presence,
        backoff_min_s=options.pop("backoff_min_s", 0.1),
        backoff_max_s=options.pop("backoff_max_s", 0.5),
        response_timeout_s=options.pop("response_timeout_s", 3.0),
        **options,
    )


async def wait_until(check: Callable[[], Any], *, timeout_s: float = 10.0, what: str = "condition"):
    """Poll `check` (run in a thread: it may read the database) until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.05)


def rows(engine: Engine, model, *where, order_by=None) -> list:
    """All rows of `model` matching `where` (detached, safe to read after the session)."""
    with session_scope(engine) as session:
        statement = select(model).where(*where)
        if order_by is not None:
            statement = statement.order_by(order_by)
        return list(session.exec(statement).all())


def commands(engine: Engine, charger_id: str) -> list[models.ChargingProfileCommand]:
    return rows(
        engine,
        models.ChargingProfileCommand,
        models.ChargingProfileCommand.charger_id == charger_id,
        order_by=models.ChargingProfileCommand.id,
    )


def add_command(engine: Engine, charger_id: str, payload: dict, *, action: str = "set") -> int:
    """Write one pending command into the outbox, as core.planning does."""
    with session_scope(engine) as session:
        row = models.ChargingProfileCommand(charger_id=charger_id, action=action, payload=payload)
        session.add(row)
        session.flush()
        return row.id


def basic_auth(charger_id: str, password: str) -> dict:
    token = base64.b64encode(f"{charger_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def password_of(charger_id: str) -> str:
    return next(c.password for c in DEMO.chargers if c.id == charger_id)


async def plugged_in(gateway: Gateway, engine: Engine, charger_id: str, **options) -> SimulatedChargePoint:
    """A simulated charger, its vehicle plugged in, the transaction stored, the safe default answered."""
    sim = simulated(gateway.url, charger_id, presence="plugged", **options)
    await sim.start()
    await wait_until(lambda: sim.transaction_id, what="transaction id")
    await wait_until(
        lambda: rows(engine, models.PlugSession, models.PlugSession.transaction_id == sim.transaction_id),
        what="session stored",
    )
    await wait_until(
        lambda: [c for c in commands(engine, charger_id) if c.status != "pending"], what="default"
    )
    return sim
