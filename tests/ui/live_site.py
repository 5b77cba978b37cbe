"""A live demo site for browser tests: the OCPP gateway (with the dispatch scheduler and the demo
site meter) and simulated chargers, on their own event loop in a background thread, writing to the
same database the app under test reads."""

from __future__ import annotations

import asyncio
import threading

from core import planning
from core.db import get_engine
from tests.gateway.support import gateway_settings, simulated


class LiveSite:
    """Start/stop the gateway and a few simulated, plugged-in chargers from synchronous test code."""

    def __init__(self, charger_ids: list[str], *, meter_interval_s: float = 0.5):
        self.charger_ids = charger_ids
        self.meter_interval_s = meter_interval_s
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.gateway = None
        self.sims = []
        self.port = 0

    def _run(self, coroutine, timeout_s: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def start_gateway(self) -> None:
        from core.gateway.server import Gateway

        engine = get_engine()
        settings = gateway_settings(str(engine.url), demo=True, gateway_port=self.port, meter_interval_s=self.meter_interval_s,
                                    dispatch_interval_s=5.0)

        async def start():
            gateway = Gateway(settings=settings, engine=engine, dispatch=True, planning=planning,
                              outbox_poll_interval_s=0.2, call_timeout_s=3.0)
            await gateway.start()
            return gateway

        self.gateway = self._run(start())
        self.port = self.gateway.port  # a restart comes back on the same port; chargers reconnect to it

    def stop_gateway(self) -> None:
        if self.gateway is not None:
            self._run(self.gateway.stop())
            self.gateway = None

    def plug_in_chargers(self) -> None:
        async def start():
            for charger_id in self.charger_ids:
                sim = simulated(self.gateway.url, charger_id, presence="plugged", meter_interval_s=self.meter_interval_s)
                await sim.start()
                self.sims.append(sim)

        self._run(start())

    def unplug(self, charger_id: str) -> None:
        """The vehicle at `charger_id` leaves: the simulator ends its transaction over OCPP."""
        sim = next(s for s in self.sims if s.charger.id == charger_id)

        async def unplug():
            sim.unplug()

        self._run(unplug())

    def close(self) -> None:
        async def stop():
            for sim in self.sims:
                await sim.stop()

        try:
            self._run(stop())
            self.stop_gateway()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
