"""Telemetry in: handlers queue events, one writer task stores them in batches off the event loop.

A message handler parses its payload, hands the event here and, for anything the charger must not
have to send again (transactions, meter readings), awaits `store`: the charger is answered only
after the batch holding its event is committed, so a crash of the gateway never loses what was
acknowledged (the charger resends what it did not get an answer for). Batching is by time: the
writer commits at most once per `flush_interval_s` (an event after a quiet spell is written at
once; under load, whatever arrived meanwhile, up to `max_batch`, goes in ONE transaction), in a
worker thread (`asyncio.to_thread`), so neither SQLite nor the ORM ever blocks the loop that
serves the sockets. Look-ups a batch needs are cached between batches (telemetry_cache.py), so a
steady fleet's batch runs no look-up query at all. If a batch fails, its
events are written again one by one, each in its own transaction; an event that fails alone is
dropped (logged), and its handler answers with a CallError so that the charger sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlmodel import select, update

from core import models
from core.db import session_scope
from core.gateway.events import (  # noqa: F401  (re-exported: the handlers' vocabulary)
    ChargerBooted,
    ChargerConnected,
    ChargerDisconnected,
    ChargerSeen,
    ChargingNeedsReported,
    Event,
    MeterReadings,
    StatusReported,
    TransactionAuthorized,
    TransactionEnded,
    TransactionStarted,
)
from core.gateway.telemetry_batch import Batch, BatchResult
from core.gateway.telemetry_cache import LookupCache

log = logging.getLogger(__name__)


class EventNotStored(RuntimeError):
    """The event could not be stored (it failed alone in its own transaction)."""


@dataclass
class WriterStats:
    """What the writer did since it started (the benchmark reads it)."""

    batches: int = 0
    events: int = 0
    rows_inserted: int = 0
    failed_batches: int = 0
    dropped_events: int = 0
    max_batch: int = 0
    lookup_queries: int = 0  # queries run to read what a batch needs (not its writes)


class TelemetryWriter:
    """The queue handlers put events on, and the task that stores them in batches."""

    def __init__(
        self,
        *,
        engine: Engine,
        request_replan: Callable[[str], None] | None = None,
        max_batch: int = 1000,
        flush_interval_s: float = 0.05,
    ):
        """`request_replan(site_id)` runs (in the writer's thread) after a plug-in or plug-out is stored.

        `flush_interval_s` is the shortest time between two commits: what a handler awaiting
        `store` may wait at most, beyond the write itself, for the batch its event joins."""
        self.engine = engine
        self.stats = WriterStats()
        self._request_replan = request_replan
        self._max_batch = max_batch
        self._flush_interval_s = flush_interval_s
        self._cache = LookupCache()
        self._queue: asyncio.Queue[tuple[Event, asyncio.Future | None]] = asyncio.Queue()
        self._pending_needs: dict[str, ChargingNeedsReported] = {}
        self._first_registers: dict[int, tuple[float | None, float | None]] = {}
        self._task: asyncio.Task | None = None

    def put(self, event: Event) -> None:
        """Queue an event that needs no acknowledgement (liveness, status); never blocks, no I/O."""
        self._queue.put_nowait((event, None))

    async def store(self, event: Event):
        """Queue an event and wait until the batch holding it is committed; returns what the
        event's handler answers with (an OCPP 1.6 transaction id), else None. Raises
        EventNotStored when it could not be stored."""
        done = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((event, done))
        return await done

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telemetry-writer")

    async def join(self) -> None:
        """Wait until every event queued so far is stored."""
        await self._queue.join()

    async def stop(self) -> None:
        """Store what is queued, then end the task."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_write = -self._flush_interval_s
        while True:
            batch = [await self._queue.get()]
            wait_s = last_write + self._flush_interval_s - loop.time()
            if wait_s > 0 and self._queue.qsize() < self._max_batch:
                await asyncio.sleep(wait_s)  # let the batch fill: one commit per interval at most
            last_write = loop.time()
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            outcomes: list = [EventNotStored("the gateway stopped before the event was stored")] * len(batch)
            try:
                # Shielded: a stop() during a write waits for the write, never half-cancels it.
                outcomes = await asyncio.shield(asyncio.to_thread(self._write, [event for event, _ in batch]))
            finally:
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done is not None and not done.done():
                        if isinstance(outcome, Exception):
                            done.set_exception(outcome)
                        else:
                            done.set_result(outcome)
                    self._queue.task_done()

    def _write(self, events: list[Event]) -> list:
        """Store a batch; per event, its answer value or an EventNotStored."""
        self.stats.batches += 1
        self.stats.events += len(events)
        self.stats.max_batch = max(self.stats.max_batch, len(events))
        try:
            result = self._apply_in_transaction(events)
            outcomes = list(result.values)
        except Exception:
            self.stats.failed_batches += 1
            log.exception("telemetry batch of %d events failed; storing them one by one", len(events))
            result, outcomes = BatchResult(), []
            for event in events:
                try:
                    alone = self._apply_in_transaction([event])
                    result.merge(alone)
                    outcomes.append(alone.values[0])
                except Exception as exc:
                    self.stats.dropped_events += 1
                    log.exception("dropped telemetry event %r", event)
                    outcomes.append(EventNotStored(f"{type(exc).__name__}: {exc}"))
        self.stats.rows_inserted += result.rows_inserted
        for site_id in sorted(result.replan_sites):
            if self._request_replan is None:
                continue
            try:
                self._request_replan(site_id)
            except Exception:
                log.exception("request_replan failed for site %s", site_id)
        return outcomes

    def _apply_in_transaction(self, events: list[Event]) -> BatchResult:
        batch = None
        try:
            with session_scope(self.engine) as session:
                batch = Batch(
                    session,
                    pending_needs=self._pending_needs,
                    first_registers=self._first_registers,
                    cache=self._cache,
                )
                result = batch.run(events)
        except Exception:
            self._cache.clear()  # its objects were in the rolled-back session
            raise
        finally:
            if batch is not None:
                self.stats.lookup_queries += batch.queries
        # Only what was committed is remembered (a rolled-back session id may be given out again).
        self._first_registers.update(result.first_registers)
        batch.remember()
        return result


# --- helpers the gateway uses at start ------------------------------------------------------------


def mark_all_disconnected(engine: Engine) -> None:
    """At gateway start nobody is connected yet, whatever a crashed run left in the table."""
    with session_scope(engine) as session:
        session.exec(update(models.Charger).values(connected=False))


def reserve_transaction_ids_below_stored(engine: Engine) -> None:
    """Make the database's 1.6 transaction-id counter lie above every numeric id already stored
    (sessions from before the counter existed), so that no id is ever given twice."""
    with session_scope(engine) as session:
        ids = session.exec(select(models.PlugSession.transaction_id)).all()
        highest_stored = max((int(t) for t in ids if t.isdigit()), default=0)
        counter = session.exec(select(func.max(models.Ocpp16TransactionId.id))).one() or 0
        if highest_stored <= counter:
            return
        session.add(
            models.Ocpp16TransactionId(id=highest_stored, charger_id="", start_key="(ids given before the counter)")
        )
        session.flush()
        if session.get_bind().dialect.name == "postgresql":  # an explicit id does not move a PostgreSQL sequence
            session.exec(text(
                "SELECT setval(pg_get_serial_sequence('ocpp16transactionid', 'id'), "
                "(SELECT max(id) FROM ocpp16transactionid))"
            ))  # fmt: skip
