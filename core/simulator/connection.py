"""The simulated charge point's link to the central system: connect, reconnect, send the queue in order.

`OcppConnection` is mixed into core.simulator.chargepoint.SimulatedChargePoint and works on its
state (charger, password, url, the queue, `ready`, the counters tests read). It connects with HTTP
Basic auth and reconnects with exponential back-off and jitter; it boots once per power-up; it sends
every queued transaction message in order, each until answered. With a journal (the soak
benchmark) it notes each acknowledged reading and each change of connection state (journal.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import random

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from core.simulator.clients import CLIENTS
from core.simulator.messages import QueuedMessage, boot_request, queued_request, status_request

log = logging.getLogger("core.simulator.chargepoint")  # one logger for the charge point, as before its split


class Offline(Exception):
    """The connection went away before an answer came."""


class OcppConnection:
    """The connection side of SimulatedChargePoint (a mixin: it has no state of its own)."""

    def _enqueue(self, item: QueuedMessage) -> None:
        item.offline = not self.ready.is_set()
        if item.offline and item.reading is not None:
            self.offline_readings += 1
        self._queue.append(item)
        self._queued.set()

    async def _connection_loop(self) -> None:
        delay_s = self.backoff_min_s
        subprotocol = f"ocpp{self.charger.protocol}"
        secret = base64.b64encode(f"{self.charger.id}:{self.password}".encode()).decode()
        while True:
            away_s = 0.0 if self.away_until is None else (self.away_until - self.clock.now()).total_seconds()
            if away_s > 0:  # cut off on purpose (drop_connection with away_s): stay out of contact
                await asyncio.sleep(self.clock.sleep_seconds(away_s))
            try:
                async with connect(
                    self.url,
                    subprotocols=[subprotocol],
                    additional_headers={"Authorization": f"Basic {secret}"},
                    ssl=self.ssl_context,
                    open_timeout=10,
                    close_timeout=2,
                ) as ws:
                    if ws.subprotocol != subprotocol:
                        raise InvalidHandshake(f"central system did not accept {subprotocol}")
                    self.refused_status = None
                    delay_s = self.backoff_min_s  # it connected: the next outage starts the back-off anew
                    await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                self.refused_status = exc.response.status_code
                log.warning("%s: refused by the central system (HTTP %s)", self.charger.id, self.refused_status)
            except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, Offline) as exc:
                log.info("%s: connection lost or failed (%s)", self.charger.id, exc)
            except OCPPError as exc:
                log.warning("%s: central system answered with an error (%s)", self.charger.id, exc)
            if self.offline_since is None:  # out of contact from now on (2.1 maxOfflineDuration counts from here)
                self.offline_since = self.clock.now()
                if self.journal is not None:
                    self.journal.connection(self.charger.id, self.offline_since, connected=False)
            self.ready.clear()
            self._ws, self._client = None, None
            # Exponential back-off with jitter, so a fleet does not reconnect in one burst.
            await asyncio.sleep(delay_s * random.uniform(0.8, 1.2))
            delay_s = min(self.backoff_max_s, delay_s * 2)

    async def _serve(self, ws: ClientConnection) -> None:
        client_class = CLIENTS[self.charger.protocol]
        client = client_class(self.charger.id, ws, sim=self, response_timeout=self.response_timeout_s)
        self._ws, self._client = ws, client
        self.connects += 1
        receiver = asyncio.create_task(client.start())
        try:
            while not self.booted:
                result = await self._call(boot_request(self._calls(), self.charger))
                if result.status == "Accepted":
                    self.booted = True
                    self.heartbeat_interval_s = float(result.interval or self.heartbeat_interval_s)
                else:  # Pending / Rejected: try again after the interval it gave
                    await asyncio.sleep(max(1.0, float(result.interval or 10)))
            await self._call(status_request(self._calls(), self.charger, self.clock.now(), plugged=self.plugged))
            self.offline_since = None
            self.ready.set()
            if self.journal is not None:
                self.journal.connection(self.charger.id, self.clock.now(), connected=True)
            await receiver  # until the connection closes
        finally:
            self.ready.clear()
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed, Exception):
                await receiver

    async def _call(self, request):
        """Send a request and return the answer; Offline when the connection drops meanwhile."""
        client, ws = self._client, self._ws
        if client is None or ws is None:
            raise Offline("not connected")
        sent = asyncio.get_running_loop().time()
        call = asyncio.ensure_future(client.call(request, suppress=False))
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            done, _ = await asyncio.wait({call, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if call not in done:
            call.cancel()
            raise Offline("connection closed before the answer")
        result = call.result()
        self.round_trips_s.append(asyncio.get_running_loop().time() - sent)
        return result

    async def _sender_loop(self) -> None:
        while True:
            await self.ready.wait()
            if not self._queue:
                self._queued.clear()
                await self._queued.wait()
                continue
            item = self._queue[0]
            try:
                result = await self._call(self._request(item))
            except (Offline, ConnectionClosed, TimeoutError) as exc:
                log.info("%s: %s not delivered (%s); will resend", self.charger.id, item.kind, exc)
                await asyncio.sleep(0.05)
                continue
            except OCPPError as exc:
                # The central system refused it: resending the same message cannot help.
                log.warning("%s: %s refused: %s", self.charger.id, item.kind, exc)
                result = None
            given = None
            if item.kind == "start" and self.charger.protocol == "1.6" and result is not None:
                given = self._tx16_ids[item.transaction_key] = int(result.transaction_id)
                if item.transaction_key == self.transaction_key:
                    self._decide(self.clock.now())  # a TxProfile may now apply
            if self.journal is not None and result is not None:
                self.journal.acknowledged(self.charger.id, item, at=self.clock.now(), transaction_id=given)
            self._queue.popleft()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval_s)
            client = self._client
            if self.ready.is_set() and client is not None:
                with contextlib.suppress(Offline, ConnectionClosed, TimeoutError, OCPPError):
                    await self._call(client._call.Heartbeat())

    def _calls(self):
        """The request classes of the connection's OCPP version."""
        return self._client._call

    def _request(self, item: QueuedMessage):
        return queued_request(
            self._calls(),
            item,
            charger=self.charger,
            vehicle=self.vehicle,
            plugged=self.plugged,
            tx16_ids=self._tx16_ids,
        )
