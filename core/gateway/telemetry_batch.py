"""Applying a batch of telemetry events to the database, set-based, inside one session.

Idempotent by design, because chargers resend after a reconnect (OCPP 1.6 §3.7, 2.0.1 E "offline"):
a meter reading is one row per (charger, time) and a resent one is merged into it; a transaction is
one PlugSession per (charger, transaction id), opened and closed at most once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy import insert
from sqlmodel import Session, col, select

from core import models
from core.admin.vehicles import vehicle_for_token
from core.departures import record_departure
from core.gateway.events import (
    ChargerBooted,
    ChargerConnected,
    ChargerDisconnected,
    ChargingNeedsReported,
    Event,
    MeterReadings,
    StatusReported,
    TransactionAuthorized,
    TransactionEnded,
    TransactionStarted,
)
from core.gateway.meter import Reading
from core.gateway.telemetry_cache import LookupCache

log = logging.getLogger(__name__)

# A NotifyEVChargingNeeds that arrives before its transaction (ISO 15118 may send it first) is
# kept this long for the transaction to start.
PENDING_NEEDS_TTL = timedelta(minutes=10)


@dataclass
class BatchResult:
    rows_inserted: int = 0
    replan_sites: set[str] = field(default_factory=set)
    # per event of the batch, in order: what its handler answers with (a 1.6 transaction id), else None
    values: list = field(default_factory=list)
    # session id -> (first import register, first export register) learnt in this batch
    first_registers: dict[int, tuple[float | None, float | None]] = field(default_factory=dict)

    def merge(self, other: BatchResult) -> None:
        self.rows_inserted += other.rows_inserted
        self.replan_sites |= other.replan_sites
        self.values += other.values
        self.first_registers.update(other.first_registers)


@dataclass
class _SessionTouch:
    """What one batch's readings say about a session: register peaks and SoC at its ends."""

    plug: models.PlugSession
    import_kwh: list[float] = field(default_factory=list)
    export_kwh: list[float] = field(default_factory=list)
    socs: list[tuple[datetime, float]] = field(default_factory=list)


class Batch:
    """Applies events in order inside one session.

    Set-based, because the writer must keep up with thousands of chargers: what the batch needs
    (chargers, sessions, readings already stored at the same instants) and the writer's
    LookupCache does not already hold is read up front in a few queries, the events are applied in
    memory in order, and the ORM flushes once at the end (and when a new session needs its id);
    new meter samples, most of a batch, go in one executemany beside the ORM.
    Session energy is updated incrementally from the registers' first value, which is remembered
    per session (a fact that never changes). `remember()` hands what it learnt to the cache; call
    it only after the batch committed.
    """

    def __init__(
        self,
        session: Session,
        *,
        pending_needs: dict[str, ChargingNeedsReported],
        first_registers: dict[int, tuple[float | None, float | None]],
        cache: LookupCache | None = None,
    ):
        self.session = session
        self._cache = cache if cache is not None else LookupCache()
        self.queries = 0  # look-up queries this batch ran (the tests and the benchmark read it)
        self.result = BatchResult()
        self._pending_needs = pending_needs
        self._first_registers = first_registers
        self._chargers: dict[str, models.Charger] = {}
        self._by_transaction: dict[tuple[str, str], models.PlugSession] = {}
        self._open: dict[str, models.PlugSession] = {}
        self._samples: dict[tuple[str, datetime], models.MeterSample | SimpleNamespace] = {}
        self._touched: dict[int, _SessionTouch] = {}
        self._charger_ids: set[str] = set()
        self._loaded_chargers: list[models.Charger] = []
        self._latest: dict[str, datetime | None] = {}
        self._new_samples: list[SimpleNamespace] = []  # rows to insert, in the batch's order

    def run(self, events: list[Event]) -> BatchResult:
        with self.session.no_autoflush:
            self._prefetch(events)
            for event in events:
                self.result.values.append(self.apply(event))
            self.session.flush()
            if self._new_samples:  # one executemany, not the unit of work's bookkeeping per row
                self.session.execute(insert(models.MeterSample), [vars(row) for row in self._new_samples])
            self._finish()
        return self.result

    def _prefetch(self, events: list[Event]) -> None:
        cache = self._cache
        charger_ids = self._charger_ids = {e.charger_id for e in events}
        for event in events:
            if isinstance(event, ChargerConnected):
                cache.forget_charger(event.charger_id)
        # Cached objects are attached first, so that the queries below find them in the identity map.
        missing_chargers, unknown_open = set(), set()
        for charger_id in charger_ids:
            charger = cache.charger(charger_id)
            if charger is None:
                missing_chargers.add(charger_id)
            else:
                self.session.add(charger)
                self._chargers[charger_id] = charger
            if charger_id not in cache.open_sessions:
                unknown_open.add(charger_id)
            elif (plug := cache.open_sessions[charger_id]) is not None:
                self.session.add(plug)
                self._open[charger_id] = plug
                self._by_transaction[(charger_id, plug.transaction_id)] = plug
        if missing_chargers:
            self.queries += 1
            for charger in self.session.exec(
                select(models.Charger).where(col(models.Charger.id).in_(missing_chargers))
            ):
                self._chargers[charger.id] = charger
                self._loaded_chargers.append(charger)
        named = {
            (e.charger_id, e.transaction_id)
            for e in events
            if getattr(e, "transaction_id", None) and (e.charger_id, e.transaction_id) not in self._by_transaction
        }
        if named:
            self.queries += 1
            for plug in self.session.exec(
                select(models.PlugSession)
                .where(col(models.PlugSession.charger_id).in_({c for c, _ in named}))
                .where(col(models.PlugSession.transaction_id).in_({t for _, t in named}))
            ):
                self._by_transaction[(plug.charger_id, plug.transaction_id)] = plug
        if unknown_open:
            self.queries += 1
            for plug in self.session.exec(
                select(models.PlugSession)
                .where(col(models.PlugSession.charger_id).in_(unknown_open))
                .where(col(models.PlugSession.ended_at).is_(None))
                .order_by(col(models.PlugSession.started_at))
            ):
                self._open[plug.charger_id] = plug  # the newest open one wins
                self._by_transaction[(plug.charger_id, plug.transaction_id)] = plug
        self._prefetch_samples(events)

    def _prefetch_samples(self, events: list[Event]) -> None:
        instants = {(e.charger_id, t) for e in events for t in _instants(e)}
        if instants:
            self.queries += self._cache.stored_samples(self.session, instants, self._samples, self._latest)

    def remember(self) -> None:
        """Hand what this batch knows to the writer's cache; only once it committed."""
        self._cache.learn(
            loaded_chargers=self._loaded_chargers,
            open_sessions={c: self._open.get(c) for c in self._charger_ids if c in self._chargers},
            latest_samples=self._latest,
            samples=self._samples.keys(),
        )

    def apply(self, event: Event):
        """Apply one event; returns what the charger is answered with (a 1.6 transaction id), else None."""
        charger = self._chargers.get(event.charger_id)
        if charger is None:
            log.warning("event for unregistered charger %s ignored: %r", event.charger_id, event)
            return None
        # Any event but a disconnect says the charger was alive at its time.
        alive_at = None if isinstance(event, ChargerDisconnected) else getattr(event, "at", None)
        if alive_at is not None and (charger.last_seen is None or alive_at > charger.last_seen):
            charger.last_seen = alive_at
        match event:
            case ChargerConnected():
                charger.connected = True
            case ChargerDisconnected():
                charger.connected = False
            case ChargerBooted():
                charger.vendor, charger.model = event.vendor, event.model
            case StatusReported():
                charger.status = event.status
            case MeterReadings():
                plug = self._session_for(charger, event.transaction_id, event.readings)
                self._store_readings(charger.id, event.readings, plug)
            case TransactionStarted():
                return self._start(charger, event)
            case TransactionEnded():
                self._end(charger, event)
            case TransactionAuthorized():
                self._authorized(charger, event)
            case ChargingNeedsReported():
                self._needs(charger, event)
        return None

    # -- sessions --

    def _session_for(
        self, charger: models.Charger, transaction_id: str | None, readings: tuple[Reading, ...]
    ) -> models.PlugSession | None:
        """The session readings belong to: the one named, else the charger's open session."""
        times = [r.time for r in readings]
        if transaction_id is not None:
            plug = self._by_transaction.get((charger.id, transaction_id))
            if plug is None and times:
                # A transaction the console never saw start (its start was lost, or the database
                # is newer than the transaction): open it at its first sign of life.
                plug = self._open_session(charger, transaction_id, at=min(times), id_tag="")
            return plug
        plug = self._open.get(charger.id)
        if plug is not None and times and min(times) < plug.started_at:
            return None  # readings from before the transaction began are the charger's, not the session's
        return plug

    def _open_session(
        self, charger: models.Charger, transaction_id: str, *, at: datetime, id_tag: str
    ) -> models.PlugSession:
        # A new transaction on a charger ends whatever session was still open there (its stop was lost).
        previous = self._open.get(charger.id)
        if previous is not None and previous.transaction_id != transaction_id:
            previous.ended_at = max(at, previous.started_at)
            self._touch(previous)
        plug = models.PlugSession(
            charger_id=charger.id,
            vehicle_id=self._vehicle_of(id_tag),
            transaction_id=transaction_id,
            id_tag=id_tag,
            started_at=at,
        )
        self.session.add(plug)
        self.session.flush()  # its id, for the readings that follow
        self._open[charger.id] = plug
        self._by_transaction[(charger.id, transaction_id)] = plug
        self.result.rows_inserted += 1
        self.result.replan_sites.add(charger.site_id)
        self._touch(plug)
        pending = self._pending_needs.pop(charger.id, None)
        if pending is not None and at - pending.at <= PENDING_NEEDS_TTL:
            _apply_needs(plug, pending)
        return plug

    def _vehicle_of(self, id_tag: str) -> str | None:
        if not id_tag:
            return None
        known, vehicle_id = self._cache.vehicle(id_tag)
        if not known:
            self.queries += 1
            # By RFID tag or ISO 15118 EVCCID, retired vehicles left out (core.admin.vehicles).
            vehicle_id = vehicle_for_token(session=self.session, token=id_tag)
            self._cache.remember_vehicle(id_tag, vehicle_id)
        return vehicle_id

    def _given_transaction_id(self, charger: models.Charger, start_key: str, at: datetime) -> str:
        """OCPP 1.6: the id the database gives this StartTransaction (the same one when it is sent again)."""
        row = self.session.exec(
            select(models.Ocpp16TransactionId)
            .where(models.Ocpp16TransactionId.charger_id == charger.id)
            .where(models.Ocpp16TransactionId.start_key == start_key)
        ).first()
        if row is None:
            row = models.Ocpp16TransactionId(charger_id=charger.id, start_key=start_key, given_at=at)
            self.session.add(row)
            self.session.flush()
        transaction_id = str(row.id)
        if (charger.id, transaction_id) not in self._by_transaction:
            plug = self.session.exec(
                select(models.PlugSession)
                .where(models.PlugSession.charger_id == charger.id)
                .where(models.PlugSession.transaction_id == transaction_id)
            ).first()
            if plug is not None:
                self._by_transaction[(charger.id, transaction_id)] = plug
        return transaction_id

    def _start(self, charger: models.Charger, event: TransactionStarted) -> str:
        transaction_id = event.transaction_id
        if transaction_id is None:
            transaction_id = self._given_transaction_id(charger, event.start_key, event.at)
        plug = self._by_transaction.get((charger.id, transaction_id))
        if plug is None:
            plug = self._open_session(charger, transaction_id, at=event.at, id_tag=event.id_tag)
        elif event.id_tag and not plug.id_tag:
            plug.id_tag = event.id_tag
            plug.vehicle_id = plug.vehicle_id or self._vehicle_of(event.id_tag)
        readings = list(event.readings)
        if event.meter_start_kwh is not None:
            readings.append(Reading(time=event.at, energy_import_kwh=event.meter_start_kwh))
        self._store_readings(charger.id, readings, plug)
        return transaction_id

    def _authorized(self, charger: models.Charger, event: TransactionAuthorized) -> None:
        plug = self._by_transaction.get((charger.id, event.transaction_id))
        if plug is None:
            plug = self._open_session(charger, event.transaction_id, at=event.at, id_tag=event.id_tag)
        if not plug.id_tag:
            plug.id_tag = event.id_tag
        if plug.vehicle_id is None:
            plug.vehicle_id = self._vehicle_of(event.id_tag)
            if plug.vehicle_id is not None:
                self.result.replan_sites.add(charger.site_id)

    def _end(self, charger: models.Charger, event: TransactionEnded) -> None:
        readings = list(event.readings)
        if event.meter_stop_kwh is not None:
            readings.append(Reading(time=event.at, energy_import_kwh=event.meter_stop_kwh))
        plug = self._by_transaction.get((charger.id, event.transaction_id))
        if plug is None:
            times = [r.time for r in readings] + [event.at]
            plug = self._open_session(charger, event.transaction_id, at=min(times), id_tag="")
        self._store_readings(charger.id, readings, plug)
        if plug.ended_at is None:
            plug.ended_at = max(event.at, plug.started_at)
            self.result.replan_sites.add(charger.site_id)
            self._touch(plug)
            record_departure(session=self.session, plug=plug)  # met or short, and why: in this transaction
            if self._open.get(charger.id) is plug:
                del self._open[charger.id]

    def _needs(self, charger: models.Charger, event: ChargingNeedsReported) -> None:
        plug = self._open.get(charger.id)
        if plug is None:
            self._pending_needs[charger.id] = event
            return
        _apply_needs(plug, event)
        self.result.replan_sites.add(charger.site_id)

    # -- meter samples --

    def _store_readings(self, charger_id: str, readings, plug: models.PlugSession | None) -> None:
        for reading in readings:
            row = self._samples.get((charger_id, reading.time))
            if row is None:
                row = SimpleNamespace(
                    time=reading.time,
                    charger_id=charger_id,
                    session_id=plug.id if plug else None,
                    power_kw=reading.power_kw,
                    soc=reading.soc,
                    energy_import_kwh=reading.energy_import_kwh,
                    energy_export_kwh=reading.energy_export_kwh,
                )
                self._new_samples.append(row)
                self._samples[(charger_id, reading.time)] = row
                self.result.rows_inserted += 1
            else:
                # A resent or second message for the same instant: fill in, never double.
                for name in ("power_kw", "soc", "energy_import_kwh", "energy_export_kwh"):
                    if getattr(row, name) is None and getattr(reading, name) is not None:
                        setattr(row, name, getattr(reading, name))
                if row.session_id is None and plug is not None:
                    row.session_id = plug.id
            if plug is not None:
                touch = self._touch(plug)
                if reading.energy_import_kwh is not None:
                    touch.import_kwh.append(reading.energy_import_kwh)
                if reading.energy_export_kwh is not None:
                    touch.export_kwh.append(reading.energy_export_kwh)
                if reading.soc is not None:
                    touch.socs.append((reading.time, reading.soc))

    def _touch(self, plug: models.PlugSession) -> _SessionTouch:
        if plug.id not in self._touched:
            self._touched[plug.id] = _SessionTouch(plug)
        return self._touched[plug.id]

    def _finish(self) -> None:
        """Energy from the registers' rise since the session's first reading; SoC at start and end."""
        for touch in self._touched.values():
            plug = touch.plug
            first_import, first_export = self._first_registers_of(plug, touch)
            if first_import is not None and touch.import_kwh:
                plug.energy_in_kwh = round(max(plug.energy_in_kwh, max(touch.import_kwh) - first_import), 6)
            if first_export is not None and touch.export_kwh:
                plug.energy_out_kwh = round(max(plug.energy_out_kwh, max(touch.export_kwh) - first_export), 6)
            if plug.soc_start is None and touch.socs:
                plug.soc_start = min(touch.socs)[1]
            if plug.ended_at is not None:
                plug.soc_end = max(touch.socs)[1] if touch.socs else self._last_soc(plug)

    def _first_registers_of(self, plug: models.PlugSession, touch: _SessionTouch) -> tuple[float | None, float | None]:
        known = self._first_registers.get(plug.id) or self.result.first_registers.get(plug.id)
        if known is None:
            # Once per session and gateway run: its earliest stored registers (the index on
            # charger + time finds them at once; registers only ever rise).
            known = tuple(
                self.session.exec(
                    select(column)
                    .where(models.MeterSample.charger_id == plug.charger_id)
                    .where(models.MeterSample.time >= plug.started_at)
                    .where(col(column).is_not(None))
                    .order_by(col(models.MeterSample.time))
                    .limit(1)
                ).first()
                for column in (models.MeterSample.energy_import_kwh, models.MeterSample.energy_export_kwh)
            )
        first_import, first_export = known
        # A reading older than any seen (sent late) can only lower them.
        if touch.import_kwh:
            first_import = min(touch.import_kwh) if first_import is None else min(first_import, *touch.import_kwh)
        if touch.export_kwh:
            first_export = min(touch.export_kwh) if first_export is None else min(first_export, *touch.export_kwh)
        self.result.first_registers[plug.id] = (first_import, first_export)
        return first_import, first_export

    def _last_soc(self, plug: models.PlugSession) -> float | None:
        sample = models.MeterSample
        return self.session.exec(
            select(sample.soc)
            .where(sample.charger_id == plug.charger_id)
            .where(sample.time >= plug.started_at)
            .where(sample.time <= plug.ended_at)
            .where(col(sample.soc).is_not(None))
            .order_by(col(sample.time).desc())
            .limit(1)
        ).first()


def _instants(event: Event) -> list[datetime]:
    """The (charger, time) instants an event may write a meter sample at."""
    times = [r.time for r in getattr(event, "readings", ())]
    if getattr(event, "meter_start_kwh", None) is not None or getattr(event, "meter_stop_kwh", None) is not None:
        times.append(event.at)
    return times


def _apply_needs(plug: models.PlugSession, event: ChargingNeedsReported) -> None:
    if event.departure_at is not None:
        plug.departure_at = event.departure_at
    if event.energy_request_kwh is not None:
        plug.energy_request_kwh = event.energy_request_kwh
    if event.needs:
        plug.ev_charging_needs = dict(event.needs)
