"""The gateway: one asyncio process with the OCPP WebSocket server and the tasks around it.

    charger --ws--> handshake (auth: 401 or go on) --> handler class of its OCPP version
                    handlers --events--> TelemetryWriter --batches, worker thread--> database
    database <--poll-- Outbox --SetChargingProfile / ClearChargingProfile--> registry --> charger
    SiteMeter (every meter interval), DispatchScheduler (core.planning in worker threads)

`Gateway` is used by `python -m core.gateway` and, in-process on port 0, by the tests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from typing import Any

import ocpp.messages
from sqlalchemy.engine import Engine
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from core.clock import now
from core.config import Settings
from core.db import get_engine, init_db
from core.gateway.auth import ChargerAuth, server_tls_context
from core.gateway.charge_point import GatewayChargePoint, GatewayContext
from core.gateway.handlers_v2 import ChargePoint21, ChargePoint201
from core.gateway.handlers_v16 import ChargePoint16
from core.gateway.outbox import Outbox
from core.gateway.registry import Registry
from core.gateway.scheduler import DispatchScheduler, load_planning, site_ids
from core.gateway.sitemeter import SiteMeter
from core.gateway.stats import LatencyStats
from core.gateway.telemetry_writer import (
    ChargerConnected,
    ChargerDisconnected,
    TelemetryWriter,
    mark_all_disconnected,
    reserve_transaction_ids_below_stored,
)
from core.gateway.vehicle_watch import VehicleWatch
from core.meters.runner import MeterRunner

log = logging.getLogger(__name__)

# How long one step of a stop may take (closing connections, storing the queued telemetry, ...).
STOP_STEP_TIMEOUT_S = 5.0

HANDLER_CLASSES: dict[str, type[GatewayChargePoint]] = {
    "ocpp1.6": ChargePoint16,
    "ocpp2.0.1": ChargePoint201,
    "ocpp2.1": ChargePoint21,
}
SUBPROTOCOLS = ["ocpp2.1", "ocpp2.0.1", "ocpp1.6"]
# The largest frame a charger may send (websockets closes with 1009 beyond it). OCPP messages are
# a few kB; a 1.6 StopTransaction with its transaction data or a NotifyReport may reach tens of kB.
MAX_MESSAGE_BYTES = 256 * 1024
_AUTO: Any = object()

# Garbage collection for a long-lived server. CPython's automatic full (generation 2) collection
# runs whenever a quarter more objects survived into it, and walks every live object: with
# thousands of connections (each a few hundred tracked objects) that stopped the loop 120-200 ms
# every ~20 s, and every p99 stall was one. gc.freeze() at start-up alone did not help: the
# connections are made after start-up. So while the gateway runs: start-up objects are frozen (never
# walked again), young collections run as usual (they are short: only new objects), automatic full
# collections are off (threshold out of reach) and one full collection runs every
# FULL_COLLECTION_INTERVAL_S instead, reclaiming cyclic garbage (closed connections) at a stall
# rate that no longer reaches the p99. Measured with tests/benchmarks/bench_gateway_scale.py
# (V2G_GATEWAY_GC=default runs the interpreter's own settings for comparison).
GC_THRESHOLDS = (20_000, 20, 1_000_000_000)
FULL_COLLECTION_INTERVAL_S = 600.0


class Gateway:
    """The OCPP central system with its writer, outbox, site meter and scheduler.

    `port=0` picks a free port (see `.port`). `dispatch=False` runs no dispatch jobs; `planning`
    replaces core.planning (tests). `site_meter` (default: `settings.demo`) writes the site samples of
    the sites with a configured meter (core.meters, read by `self.meters`) and of the demo site.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        engine: Engine | None = None,
        host: str | None = None,
        port: int | None = None,
        dispatch: bool = True,
        planning: Any = _AUTO,
        site_meter: bool | None = None,
        outbox_poll_interval_s: float = 1.0,
        call_timeout_s: float = 10.0,
        heartbeat_interval_s: int = 300,
        ping_interval_s: float | None = 20.0,
        openadr_options: dict | None = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ):
        self.settings = settings
        # Extra openleadr client options (tests: no message signatures on loopback).
        self.openadr_options = openadr_options or {}
        self.ven = None
        self.engine = engine or get_engine(settings.database_url)
        self.host = settings.gateway_host if host is None else host
        self.requested_port = settings.gateway_port if port is None else port
        self.planning = load_planning() if planning is _AUTO else planning
        self.call_timeout_s = call_timeout_s
        self.ping_interval_s = ping_interval_s
        self.stats = LatencyStats()
        self.registry = Registry()
        self.auth = ChargerAuth(engine=self.engine, secret_key=settings.secret_key)
        self.writer = TelemetryWriter(engine=self.engine, request_replan=self._request_replan)
        self.outbox = Outbox(engine=self.engine, registry=self.registry, poll_interval_s=outbox_poll_interval_s)
        self.site_meter = (
            SiteMeter(engine=self.engine, settings=settings)
            if (settings.demo if site_meter is None else site_meter)
            else None
        )
        self.meters = None
        if self.site_meter is not None:
            self.site_meter.on_guard = self.outbox.wake
            self.meters = MeterRunner(engine=self.engine, sample_interval_s=settings.meter_interval_s)
            self.site_meter.meters = self.meters
        self.vehicle_watch = (
            VehicleWatch(engine=self.engine, settings=settings, on_boost=self.outbox.wake) if dispatch else None
        )
        self.scheduler = DispatchScheduler(
            engine=self.engine,
            planning=self.planning,
            dispatch_interval_s=settings.dispatch_interval_s,
            enabled=dispatch,
        )
        self.context = GatewayContext(
            writer=self.writer,
            stats=self.stats,
            heartbeat_interval_s=heartbeat_interval_s,
            on_first_message=self._on_first_message,
            main_meter=self.meters.feed_main_meter if self.meters is not None else None,
        )
        self.port: int | None = None
        self._server: Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self.tls = bool(settings.tls_cert_file and settings.tls_key_file)
        self.max_message_bytes = max_message_bytes
        self._gc_before: tuple[int, int, int] | None = None

    @property
    def url(self) -> str:
        """The base URL chargers connect to: append "/<charge point id>"."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{'wss' if self.tls else 'ws'}://{host}:{self.port}/ocpp"

    async def start(self) -> None:
        """Prepare the database, start the tasks, then accept chargers."""
        # Schema validation inline on the loop (a few ms of CPU per message) instead of a hop to the
        # default thread pool for each request and answer: the hops cost more than they save under
        # load, in thread wake-ups and GIL hand-overs (see bench_gateway.py). Process-wide setting.
        ocpp.messages.ASYNC_VALIDATION = False
        await asyncio.to_thread(init_db, self.engine)
        await asyncio.to_thread(mark_all_disconnected, self.engine)
        await asyncio.to_thread(reserve_transaction_ids_below_stored, self.engine)
        self.writer.start()
        self.outbox.start()
        if self.site_meter is not None:
            await self.meters.start()
            self.site_meter.start()
        if self.vehicle_watch is not None:
            self.vehicle_watch.start()
        self.scheduler.start()
        self._spawn(self.stats.watch_loop())
        await self._start_openadr()
        ssl_context = None
        if self.tls:
            ssl_context = server_tls_context(self.settings.tls_cert_file, self.settings.tls_key_file)
        self._server = await serve(
            self._handle_connection,
            self.host,
            self.requested_port,
            subprotocols=SUBPROTOCOLS,
            select_subprotocol=self.auth.select_subprotocol,
            process_request=self.auth.process_request,
            ssl=ssl_context,
            ping_interval=self.ping_interval_s,
            ping_timeout=self.ping_interval_s,
            max_size=self.max_message_bytes,
        )
        self._tune_gc()
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("OCPP central system listening on %s/<charge point id>", self.url)

    def _tune_gc(self) -> None:
        """See GC_THRESHOLDS: freeze what start-up made, full collections on a timer, not by count."""
        if os.environ.get("V2G_GATEWAY_GC", "tuned") == "default":
            return
        self._gc_before = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        self._spawn(self._full_collections())

    def _restore_gc(self) -> None:
        if self._gc_before is not None:
            gc.set_threshold(*self._gc_before)
            gc.unfreeze()
            self._gc_before = None

    async def _full_collections(self) -> None:
        while True:
            await asyncio.sleep(FULL_COLLECTION_INTERVAL_S)
            gc.collect()

    async def _start_openadr(self) -> None:
        """With a VTN configured, the site's OpenADR 2.0b VEN runs on this loop next to the OCPP server."""
        if not self.settings.openadr_vtn_url:
            return
        from core.gateway import openadr

        sites = await asyncio.to_thread(site_ids, self.engine)
        if not sites:
            log.warning("OpenADR: no site in the database, VEN not started")
            return
        self.ven = openadr.build_ven(
            vtn_url=self.settings.openadr_vtn_url, ven_name=self.settings.openadr_ven_name, site_id=sites[0],
            engine=self.engine, **self.openadr_options,
        )  # fmt: skip
        await self.ven.run()
        log.info("OpenADR VEN %r polling %s", self.settings.openadr_ven_name, self.settings.openadr_vtn_url)

    async def stop(self) -> None:
        """Stop accepting, close every connection, store what is queued, stop the tasks.

        Each step is bounded (STOP_STEP_TIMEOUT_S): a stop that waits forever on one stuck part keeps a
        supervisor from restarting the gateway; a step that runs out is logged and the stop goes on.
        """
        self.scheduler.shutdown()
        if self.ven is not None:
            await self._bounded("the OpenADR client", self.ven.stop())
            self.ven = None
        if self._server is not None:
            self._server.close()
            await self._bounded("closing the connections", self._server.wait_closed())
            self._server = None
        await self._bounded("the outbox", self.outbox.stop())
        if self.site_meter is not None:
            await self._bounded("the site meter", self.site_meter.stop())
            await self._bounded("the site meters' readers", self.meters.stop())
        if self.vehicle_watch is not None:
            await self._bounded("the vehicle watch", self.vehicle_watch.stop())
        for task in list(self._tasks):
            task.cancel()
        await self._bounded("the gateway's tasks", asyncio.gather(*self._tasks, return_exceptions=True))
        await self._bounded("storing the queued telemetry", self.writer.stop())
        self.auth.close()
        self._restore_gc()
        log.info("gateway stopped; handling times: %s", self.stats.summary()["all"])

    async def _bounded(self, what: str, step) -> None:
        try:
            await asyncio.wait_for(step, STOP_STEP_TIMEOUT_S)
        except TimeoutError:
            log.error("gateway stop: %s did not finish within %.0f s; going on", what, STOP_STEP_TIMEOUT_S)

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def _handle_connection(self, connection: ServerConnection) -> None:
        charger = self.auth.accepted.get(connection)
        if charger is None:  # process_request lets no one through without a charger; be safe anyway
            await connection.close(1008, "not authenticated")
            return
        if connection.subprotocol is None:
            log.warning("%s offered no ocpp%s subprotocol: closing", charger.id, charger.protocol)
            await connection.close(1002, f"{charger.id} is registered for {charger.subprotocol}")
            return
        charge_point = HANDLER_CLASSES[connection.subprotocol](
            charger.id, connection, context=self.context, call_timeout_s=self.call_timeout_s
        )
        previous = self.registry.add(charge_point)
        if previous is not None:
            log.info("%s connected again: closing its previous connection", charger.id)
            self._spawn(previous.close("replaced by a new connection"))
        self.writer.put(ChargerConnected(charger.id, now()))
        log.info("%s connected (%s, %d connected)", charger.id, connection.subprotocol, len(self.registry))
        try:
            await charge_point.start()
        except ConnectionClosed as exc:
            log.info("%s disconnected (%s)", charger.id, exc.rcvd.code if exc.rcvd else "no close frame")
        except Exception:
            log.exception("%s: connection handler failed", charger.id)
        finally:
            if self.registry.discard(charge_point):
                self.writer.put(ChargerDisconnected(charger.id, now()))

    def _on_first_message(self, charge_point: GatewayChargePoint) -> None:
        # Called from the receive path: only schedule the resync, never send from here.
        self._spawn(self.outbox.resync(charge_point.id))

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _request_replan(self, site_id: str) -> None:
        """(writer thread) A vehicle plugged in or out: ask the planner to re-plan the site now."""
        if self.planning is not None:
            self.planning.request_replan(site_id=site_id, engine=self.engine)
