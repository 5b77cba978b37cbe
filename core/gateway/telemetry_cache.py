"""What the telemetry writer remembers between batches, so that a batch reads nothing it already knows.

A steady fleet sends meter readings for chargers and sessions the previous batch already loaded:
re-reading them (chargers, open sessions, samples at the same instants) cost four queries per
batch whatever its size. The cache keeps, from the last COMMITTED batch only:

* the chargers' rows (ORM objects, re-attached to the next batch's session: no query), re-read after
  CHARGER_TTL_S (an operator may move or retire a charger) and whenever the charger connects again;
* each charger's open session, or the fact that it has none (only the writer opens and ends
  sessions, so this is exact; a new session replaces it, an ended one clears it);
* each charger's latest meter sample time: a reading newer than it cannot be a resend, so only
  older readings are looked up;
* id tag -> vehicle, for VEHICLE_TTL_S (a vehicle may get a new tag).

Any failed batch clears it all (a rolled-back session leaves its objects expired). Used from the
writer's worker thread only, one batch at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, tuple_
from sqlmodel import Session, col, select

from core import models

CHARGER_TTL_S = 300.0
VEHICLE_TTL_S = 60.0


class LookupCache:
    """The writer's memory of chargers, open sessions, latest samples and vehicles (see module doc)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._chargers: dict[str, tuple[float, models.Charger]] = {}
        # charger id -> its open session, None when it has none; absent: not known
        self.open_sessions: dict[str, models.PlugSession | None] = {}
        # charger id -> its latest stored sample time, None when it has none; absent: not known
        self.latest_sample: dict[str, datetime | None] = {}
        self._vehicles: dict[str, tuple[float, str | None]] = {}

    def clear(self) -> None:
        self._chargers.clear()
        self.open_sessions.clear()
        self.latest_sample.clear()
        self._vehicles.clear()

    def forget_charger(self, charger_id: str) -> None:
        """Read the charger's row again in the next batch (it connected again: it may have moved)."""
        self._chargers.pop(charger_id, None)

    def charger(self, charger_id: str) -> models.Charger | None:
        """The remembered row when still fresh, else None."""
        entry = self._chargers.get(charger_id)
        if entry is None or self._clock() - entry[0] > CHARGER_TTL_S:
            return None
        return entry[1]

    def remember_charger(self, charger: models.Charger) -> None:
        """A row read from the database in a batch that then committed."""
        self._chargers[charger.id] = (self._clock(), charger)

    def vehicle(self, id_tag: str) -> tuple[bool, str | None]:
        """(known, vehicle id or None) for an id tag."""
        entry = self._vehicles.get(id_tag)
        if entry is None or self._clock() - entry[0] > VEHICLE_TTL_S:
            return False, None
        return True, entry[1]

    def remember_vehicle(self, id_tag: str, vehicle_id: str | None) -> None:
        self._vehicles[id_tag] = (self._clock(), vehicle_id)

    def stored_samples(
        self,
        session: Session,
        instants: set[tuple[str, datetime]],
        rows: dict[tuple[str, datetime], models.MeterSample],
        latest: dict[str, datetime | None],
    ) -> int:
        """Fill `rows` with the samples stored at `instants` (charger, time) and `latest` with the
        chargers' latest stored sample time; returns the number of queries run. Only instants not
        newer than the charger's latest sample can hold one (readings arrive in time order; a resend
        is older)."""
        queries = 0
        chargers = {c for c, _ in instants}
        latest.update({c: self.latest_sample[c] for c in chargers if c in self.latest_sample})
        unknown = chargers - latest.keys()
        sample = models.MeterSample
        if unknown:
            queries += 1
            latest.update(dict.fromkeys(unknown))
            latest.update(
                session.exec(
                    select(sample.charger_id, func.max(sample.time))
                    .where(col(sample.charger_id).in_(unknown))
                    .group_by(sample.charger_id)
                ).all()
            )
        maybe_stored = {(c, t) for c, t in instants if latest[c] is not None and t <= latest[c]}
        if maybe_stored:
            queries += 1
            for row in session.exec(select(sample).where(tuple_(sample.charger_id, sample.time).in_(maybe_stored))):
                rows[(row.charger_id, row.time)] = row
        return queries

    def learn(
        self,
        *,
        loaded_chargers: Iterable[models.Charger],
        open_sessions: dict[str, models.PlugSession | None],
        latest_samples: dict[str, datetime | None],
        samples: Iterable[tuple[str, datetime]],
    ) -> None:
        """What a committed batch read and wrote."""
        for charger in loaded_chargers:
            self.remember_charger(charger)
        self.open_sessions.update(open_sessions)
        self.latest_sample.update(latest_samples)
        for charger_id, at in samples:
            known = self.latest_sample.get(charger_id)
            if known is None or at > known:
                self.latest_sample[charger_id] = at
