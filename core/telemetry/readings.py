"""A live value with its age, and the latest-sample queries behind the live pages.

A value is stale past core.rules.staleness's threshold (STALE_METER_INTERVALS meter intervals):
the same threshold past which the planner treats a SoC as unknown, so a page never shows as fresh
a value the planner ignores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from core import models
from core.clock import now
from core.config import get_settings
from core.rules.staleness import is_stale


@dataclass(frozen=True)
class Reading:
    """A value with its time; `stale` when older than core.rules.staleness allows (or absent)."""

    value: float | None
    at: datetime | None
    stale: bool

    @property
    def age_s(self) -> float | None:
        """Seconds since the value was measured (None when there is no value)."""
        return None if self.at is None else (now() - self.at).total_seconds()


NO_READING = Reading(value=None, at=None, stale=True)


def reading(value: float | None, at: datetime | None) -> Reading:
    """`value` measured at `at`, marked stale by the shared rule (core.rules.staleness)."""
    return Reading(value=value, at=at, stale=is_stale(at, at=now(), meter_interval_s=get_settings().meter_interval_s))


# Most chargers report every few seconds: their latest sample lies in this window (one query).
RECENT = timedelta(minutes=10)


def latest_samples(*, session: Session, charger_ids: list[str]) -> dict[str, models.MeterSample]:
    """Each charger's latest meter sample, in one query over the last few minutes; a charger that
    has been quiet longer gets its own (indexed) look-up. Hundreds of chargers, one round trip."""
    if not charger_ids:
        return {}
    since = now() - RECENT
    latest = (
        select(models.MeterSample.charger_id, func.max(models.MeterSample.time).label("time"))
        .where(col(models.MeterSample.charger_id).in_(charger_ids))
        .where(models.MeterSample.time >= since)
        .group_by(models.MeterSample.charger_id)
        .subquery()
    )
    found = {
        s.charger_id: s
        for s in session.exec(
            select(models.MeterSample).join(
                latest,
                and_(models.MeterSample.charger_id == latest.c.charger_id, models.MeterSample.time == latest.c.time),
            )
        )
    }
    for charger_id in charger_ids:
        if charger_id not in found and (sample := latest_sample(session=session, charger_id=charger_id)) is not None:
            found[charger_id] = sample
    return found


def latest_sample(*, session: Session, charger_id: str) -> models.MeterSample | None:
    """The charger's newest meter sample, however old."""
    return session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == charger_id)
        .order_by(col(models.MeterSample.time).desc())
        .limit(1)
    ).first()


def latest_soc_sample(*, session: Session, charger_id: str, since: datetime) -> models.MeterSample | None:
    """The charger's newest sample that carries a SoC, from `since` on (the plug-in, as the planner reads it)."""
    return session.exec(
        select(models.MeterSample)
        .where(models.MeterSample.charger_id == charger_id)
        .where(models.MeterSample.time >= since)
        .where(col(models.MeterSample.soc).is_not(None))
        .order_by(col(models.MeterSample.time).desc())
        .limit(1)
    ).first()
