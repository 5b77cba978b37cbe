"""The telemetry writer batches by time and caches its look-ups, and stays exact: every acknowledged
reading is one row, a resend is merged (never doubled), readings follow the session that is open
when they arrive (a new session replaces the cached one, an ended one clears it), and a steady
fleet's batch runs no look-up query.

The writer runs on its own over a real database file (the demo site); events are handed to it as
the handlers do (`store`, awaited: the acknowledgement).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core import models
from core.gateway.events import MeterReadings, TransactionEnded, TransactionStarted
from core.gateway.meter import Reading
from core.gateway.telemetry_writer import TelemetryWriter
from tests.conftest import T0
from tests.gateway.support import DEMO, rows, run

CHARGERS = ["CP-VAN-01", "CP-VAN-02", "CP-BUS-01"]


def _tag_of(charger_id: str) -> str:
    return next(v.id_tag for v in DEMO.vehicles if v.home_charger_id == charger_id)


def _samples(engine, charger_id: str) -> list[models.MeterSample]:
    return rows(
        engine, models.MeterSample, models.MeterSample.charger_id == charger_id, order_by=models.MeterSample.time
    )


def _session(engine, charger_id: str, transaction_id: str) -> models.PlugSession:
    (plug,) = rows(
        engine,
        models.PlugSession,
        models.PlugSession.charger_id == charger_id,
        models.PlugSession.transaction_id == transaction_id,
    )
    return plug


@pytest.mark.timeout(60)
def test_acknowledged_readings_are_rows_resends_merge_and_steady_batches_read_nothing(engine):
    """Tried: three chargers start a session each, then 20 rounds of readings sent at once (each
    round also resends the previous round's readings), every store awaited."""

    async def scenario():
        writer = TelemetryWriter(engine=engine, flush_interval_s=0.02)
        writer.start()
        try:
            await asyncio.gather(
                *(writer.store(TransactionStarted(c, f"TX-{c}", T0, id_tag=_tag_of(c))) for c in CHARGERS)
            )
            queries_by_round = []
            for k in range(1, 21):
                at, before = T0 + timedelta(seconds=10 * k), T0 + timedelta(seconds=10 * (k - 1))
                before_queries = writer.stats.lookup_queries
                await asyncio.gather(
                    *(
                        writer.store(MeterReadings(c, (Reading(time=at, soc=0.4 + k / 100, energy_import_kwh=10 + k),)))
                        for c in CHARGERS
                    )
                )
                queries_by_round.append(writer.stats.lookup_queries - before_queries)
                if k > 1:  # the resend of the round before: merged
                    await asyncio.gather(
                        *(writer.store(MeterReadings(c, (Reading(time=before, power_kw=7.0),))) for c in CHARGERS)
                    )
        finally:
            await writer.stop()
        return writer.stats, queries_by_round

    stats, queries_by_round = run(scenario())
    for charger_id in CHARGERS:
        samples = _samples(engine, charger_id)
        assert [s.time for s in samples] == [T0 + timedelta(seconds=10 * k) for k in range(1, 21)]
        assert all(s.soc is not None for s in samples)  # one row per instant: merged, not doubled
        assert [s.power_kw for s in samples[:-1]] == [7.0] * 19  # the resends filled their rows in
        plug = _session(engine, charger_id, f"TX-{charger_id}")
        assert {s.session_id for s in samples} == {plug.id}
        assert plug.energy_in_kwh == pytest.approx(19.0)  # register 11 -> 30
    assert stats.dropped_events == 0 and stats.failed_batches == 0
    # After the first rounds everything a new reading needs is cached: no look-up query at all.
    assert queries_by_round[-10:] == [0] * 10


@pytest.mark.timeout(60)
def test_a_new_session_replaces_the_cached_one_and_an_ended_one_clears_it(engine):
    """Tried: readings without a transaction id (1.6 MeterValues) while session A is open, then after
    B started on the same charger (A's stop was lost), then after B ended."""
    charger_id, tag = "CP-VAN-01", _tag_of("CP-VAN-01")

    def reading(seconds: int) -> MeterReadings:
        return MeterReadings(charger_id, (Reading(time=T0 + timedelta(seconds=seconds), soc=0.5),))

    async def scenario():
        writer = TelemetryWriter(engine=engine, flush_interval_s=0.02)
        writer.start()
        try:
            await writer.store(TransactionStarted(charger_id, "A", T0, id_tag=tag))
            await writer.store(reading(10))
            await writer.store(reading(20))  # the open session now comes from the cache
            await writer.store(TransactionStarted(charger_id, "B", T0 + timedelta(seconds=30), id_tag=tag))
            await writer.store(reading(40))
            await writer.store(TransactionEnded(charger_id, "B", T0 + timedelta(seconds=50)))
            await writer.store(reading(60))
        finally:
            await writer.stop()

    run(scenario())
    a, b = _session(engine, charger_id, "A"), _session(engine, charger_id, "B")
    assert a.ended_at == T0 + timedelta(seconds=30)  # ended by B's start
    assert b.ended_at == T0 + timedelta(seconds=50)
    by_time = {s.time: s.session_id for s in _samples(engine, charger_id)}
    assert by_time == {
        T0 + timedelta(seconds=10): a.id,
        T0 + timedelta(seconds=20): a.id,
        T0 + timedelta(seconds=40): b.id,
        T0 + timedelta(seconds=60): None,  # no session open any more
    }


@pytest.mark.timeout(60)
def test_batches_are_made_by_time(engine):
    """Tried: 300 readings stored at once with a 50 ms flush interval: they go in a handful of
    commits, not one per event, and every one is a row."""

    async def scenario():
        writer = TelemetryWriter(engine=engine, flush_interval_s=0.05)
        writer.start()
        try:
            await asyncio.gather(
                *(
                    writer.store(MeterReadings(CHARGERS[i % 3], (Reading(time=T0 + timedelta(seconds=i), soc=0.5),)))
                    for i in range(300)
                )
            )
        finally:
            await writer.stop()
        return writer.stats

    stats = run(scenario())
    assert stats.events == 300 and stats.batches <= 5
    assert sum(len(_samples(engine, c)) for c in CHARGERS) == 300
