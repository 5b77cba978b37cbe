"""Whether a site's meter is stale, as the planner and the pages see it (from the database alone).

A site with an enabled meter gets its site samples from it; when the newest sample is stale by
core.rules.staleness (over the slowest of its meters' intervals and the site sample interval), the
meter is stale, since that sample's time (or, with no sample at all, since the meter was configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import models
from core.rules.staleness import site_meter_is_stale


@dataclass(frozen=True)
class SiteMeterStatus:
    """`configured`: the site has an enabled meter; `stale`: its readings stopped; `since`: the time
    of the last good reading (or when the meter was configured, if it never gave one)."""

    configured: bool
    stale: bool = False
    since: datetime | None = None
    last_sample_at: datetime | None = None


NOT_CONFIGURED = SiteMeterStatus(configured=False)


def site_meter_status(*, session: Session, site_id: str, at: datetime, sample_interval_s: float) -> SiteMeterStatus:
    """The site meter's state at `at` (NOT_CONFIGURED for a site without an enabled meter)."""
    meters = session.exec(
        select(models.SiteMeter).where(models.SiteMeter.site_id == site_id).where(models.SiteMeter.enabled)
    ).all()
    if not meters:
        return NOT_CONFIGURED
    last = session.exec(
        select(models.SiteSample.time)
        .where(models.SiteSample.site_id == site_id)
        .order_by(col(models.SiteSample.time).desc())
        .limit(1)
    ).first()
    poll_s = max(m.poll_interval_s for m in meters)
    stale = site_meter_is_stale(last, at=at, poll_interval_s=poll_s, sample_interval_s=sample_interval_s)
    configured_at = min((m.created_at for m in meters if m.created_at is not None), default=None)
    if last is not None and configured_at is not None and last < configured_at:
        last = None  # samples from before the meter (the demo profile) are not its readings
        stale = True
    return SiteMeterStatus(configured=True, stale=stale, since=last or configured_at, last_sample_at=last)


def meter_rows(*, session: Session, site_id: str | None = None) -> list[dict]:
    """Every configured meter as the admin page lists it: its settings, its last reading and its state
    ("reading", "no reading yet", "failing: <why>" or "disabled")."""
    statement = select(models.SiteMeter).order_by(models.SiteMeter.name)
    if site_id is not None:
        statement = statement.where(models.SiteMeter.site_id == site_id)
    out = []
    for row in session.exec(statement).all():
        failing = row.last_error and (
            row.last_read_at is None or (row.last_error_at or row.last_read_at) >= row.last_read_at
        )
        if not row.enabled:
            state = "disabled"
        elif failing:
            state = f"failing: {row.last_error}"
        else:
            state = "reading" if row.last_read_at is not None else "no reading yet"
        out.append({
            **{k: getattr(row, k) for k in ("name", "site_id", "kind", "enabled", "host", "port", "unit_id", "sunspec",
                                           "registers", "topic", "paths", "charger_id", "poll_interval_s",
                                           "quantities", "net_import_sign", "last_read_at", "last_values")},
            "state": state,
        })  # fmt: skip
    return out
