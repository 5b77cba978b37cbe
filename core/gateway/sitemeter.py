"""The site meter: one SiteSample per site every meter interval.

EV power is the sum of each charger's power now: its latest reading, moved by any change of the
profile in force since (core.gateway.in_force: a station reads every meter interval but switches
at the period start); readings older than a few meter intervals count as nothing. Net import =
building load - PV + EV power.

The site-limit guard runs on every reading (core.rules.limit_guard): beyond the limit minus its
headroom, the largest contributors get a short cap at once (a charging profile above the dispatch
one, GUARD_STACK_LEVEL, for GUARD_HOLD), a re-plan is asked for, and the excursion is recorded
(models.LimitExcursion: readings, worst kW over the limit, seconds over it) for the Grid page.

Building load and PV: a site with a configured meter (core.meters) gets its samples from the
gateway's meter runner (`meters`): one sample per new reading, measured net import kept, what the
meter does not give derived (core.meters.derive), none while the meter is stale. Otherwise, in demo
mode, they come from the demo profile (data/demo/profile.csv) at the current time; without either
the gateway writes no site samples, rather than inventing a building load.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from core import models
from core.clock import get_clock, now
from core.config import Settings
from core.db import session_scope
from core.demo import DemoProfile, read_demo
from core.gateway.guard_profiles import queue_guard_profile
from core.gateway.in_force import accepted_commands, estimate_power_kw, limit_in_force_kw
from core.rules.limit_guard import guard_decision
from core.sites import request_replan

log = logging.getLogger(__name__)

# A charger reading older than this many meter intervals (at least MIN_FRESH) is not counted.
FRESH_INTERVALS = 3
MIN_FRESH = timedelta(seconds=30)


class SiteMeter:
    """The task that writes site samples."""

    def __init__(self, *, engine: Engine, settings: Settings):
        self.engine = engine
        self.interval_s = settings.meter_interval_s
        self._fresh = max(MIN_FRESH, timedelta(seconds=FRESH_INTERVALS * settings.meter_interval_s))
        self._demo_site_id: str | None = None
        self._demo_profile: DemoProfile | None = None
        if settings.demo:
            demo = read_demo(settings.demo_dir)
            self._demo_site_id, self._demo_profile = demo.site["id"], demo.profile
        self._task: asyncio.Task | None = None
        self.on_guard: Callable[[], None] | None = None  # set by the gateway: wake the outbox
        self.guard_commands_queued = 0  # by the last write_samples
        # How long a guard cap lasts: until the next dispatch run has planned for what was seen (a cap
        # that outlives it only takes energy the plan counts on).
        self._guard_hold = timedelta(seconds=max(120.0, 1.2 * settings.dispatch_interval_on_clock_s))
        self._guarded: dict[str, tuple[datetime, float]] = {}  # charger -> (when capped, cap kW)
        self._excursions: dict[str, int] = {}  # site -> open LimitExcursion id
        self.meters = None  # set by the gateway: its core.meters.runner.MeterRunner

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="site-meter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                if self._has_sites_to_meter():  # else not even a hop to a worker thread
                    await asyncio.to_thread(self.write_samples, now())
                if self.guard_commands_queued and self.on_guard is not None:
                    self.on_guard()
            except Exception:
                log.exception("site meter failed")
            # The interval is in the console's time: at demo speed 60 a 10 s interval is 1/6 s.
            await asyncio.sleep(get_clock().sleep_seconds(self.interval_s))

    def _has_sites_to_meter(self) -> bool:
        """Whether any site gets samples: the demo profile, or a configured meter (core.meters)."""
        return self._demo_profile is not None or (self.meters is not None and self.meters.configured(None))

    def building_and_pv_kw(self, site_id: str, at: datetime) -> tuple[float, float] | None:
        """(building load, PV) of a site at `at`; None when the site has no meter reading.

        This is where a real site's meter reader goes (Modbus, P1 port, a utility API, ...).
        """
        if self._demo_profile is not None and site_id == self._demo_site_id:
            building_kw, pv_kw, _, _ = self._demo_profile.at(at)
            return building_kw, pv_kw
        return None

    def write_samples(self, at: datetime) -> list[models.SiteSample]:
        """(worker thread) Write and return one sample for every site that has a meter reading."""
        written = []
        self.guard_commands_queued = 0
        if not self._has_sites_to_meter():
            return written  # nothing to read: no query every interval
        with session_scope(self.engine) as session:
            for site in session.exec(select(models.Site)).all():
                metered = self.meters is not None and self.meters.configured(site.id)
                building_and_pv = None if metered else self.building_and_pv_kw(site.id, at)
                if building_and_pv is None and not metered:
                    continue
                powers = estimated_charger_powers_kw(session, site_id=site.id, since=at - self._fresh, at=at)
                ev_kw = sum(powers.values())
                time, building_kw, pv_kw, net_kw = at, *(building_and_pv or (0.0, 0.0)), 0.0
                if metered:
                    reading = self.meters.site_flows(site.id, ev_kw=ev_kw, at=at)
                    if reading is None:
                        continue  # nothing new, or the meter is stale: no sample
                    time, flows = reading
                    building_kw, pv_kw, net_kw = flows.building_load_kw, flows.pv_kw, flows.net_import_kw
                else:
                    net_kw = building_kw - pv_kw + ev_kw
                sample = models.SiteSample(
                    site_id=site.id,
                    time=time,
                    building_load_kw=building_kw,
                    pv_kw=pv_kw,
                    ev_power_kw=round(ev_kw, 4),
                    ev_charge_kw=round(sum(p for p in powers.values() if p > 0), 4),
                    ev_discharge_kw=round(-sum(p for p in powers.values() if p < 0), 4),
                    net_import_kw=round(net_kw, 4),
                )
                session.add(sample)
                self.guard_commands_queued += self._guard(session, site, at, sample.net_import_kw, powers)
                written.append(sample)
        return written

    # -- the site-limit guard --

    def _guard(self, session, site: models.Site, at: datetime, net_import_kw: float, powers: dict[str, float]) -> int:
        """Check one reading; cap the largest contributors when it is beyond the guard line. Returns
        how many caps were queued."""
        decision = guard_decision(
            net_import_kw, import_limit_kw=site.import_limit_kw, export_limit_kw=site.export_limit_kw,
            charger_powers_kw=powers,
        )  # fmt: skip
        excursion = self._excursion(session, site, at, decision)
        if decision.direction is None:
            return 0
        queued = 0
        for charger_id, cap_kw in decision.caps_kw.items():
            previous = self._guarded.get(charger_id)
            if (
                previous
                and at - previous[0] < self._guard_hold / 2
                and _no_looser(previous[1], cap_kw, decision.direction)
            ):
                continue  # already capped as tightly; the charger may still be ramping down
            if self._queue_cap(session, charger_id, cap_kw, at):
                self._guarded[charger_id] = (at, cap_kw)
                queued += 1
        if queued:
            excursion.guard_commands += queued
            request_replan(session=session, site_id=site.id)
            log.warning(
                "site %s %s %.1f kW beyond the guard line (%.1f kW over the limit): %d charger(s) capped",
                site.id, decision.direction, decision.over_line_kw, decision.over_limit_kw, queued,
            )  # fmt: skip
        return queued

    def _excursion(self, session, site: models.Site, at: datetime, decision) -> models.LimitExcursion | None:
        """Open, extend or close the site's excursion beyond the guard line."""
        open_id = self._excursions.get(site.id)
        row = session.get(models.LimitExcursion, open_id) if open_id else None
        if decision.direction is None:
            if row is not None:
                row.ended_at = at
                del self._excursions[site.id]
            return None
        if row is None or row.direction != decision.direction:
            if row is not None:
                row.ended_at = at
            limit = site.import_limit_kw if decision.direction == "import" else site.export_limit_kw
            row = models.LimitExcursion(
                site_id=site.id, direction=decision.direction, limit_kw=limit, started_at=at,
                worst_kw_over_limit=decision.over_limit_kw,
            )  # fmt: skip
            session.add(row)
            session.flush()
            self._excursions[site.id] = row.id
        row.readings += 1
        row.worst_kw_over_limit = max(row.worst_kw_over_limit, decision.over_limit_kw)
        if decision.over_limit_kw > 0:
            row.readings_over_limit += 1
            row.seconds_over_limit += self.interval_s
        return row

    def _queue_cap(self, session, charger_id: str, cap_kw: float, at: datetime) -> bool:
        """A guard command in the outbox: the charger's power capped at `cap_kw` for GUARD_HOLD."""
        charger = session.get(models.Charger, charger_id)
        if charger is None or not charger.connected:
            return False
        plug = session.exec(
            select(models.PlugSession)
            .where(models.PlugSession.charger_id == charger_id)
            .where(col(models.PlugSession.ended_at).is_(None))
            .order_by(col(models.PlugSession.started_at).desc())
        ).first()
        queue_guard_profile(
            session=session, charger=charger, transaction_id=plug.transaction_id if plug else None,
            power_kw=cap_kw, at=at, until=at + self._guard_hold, action="guard",
        )  # fmt: skip
        return True


def _no_looser(previous_cap_kw: float, cap_kw: float, direction: str) -> bool:
    """Whether a new cap asks for no more than the previous one did (import: charge no less)."""
    return cap_kw >= previous_cap_kw if direction == "import" else cap_kw <= previous_cap_kw


def estimated_charger_powers_kw(session, *, site_id: str, since: datetime, at: datetime) -> dict[str, float]:
    """Charger id -> its power at `at`: its latest reading at or after `since`, moved by any change
    of the profile in force since that reading (core.gateway.in_force)."""
    readings = latest_charger_readings(session, site_id=site_id, since=since)
    if not readings:
        return {}
    oldest = min(t for t, _ in readings.values())
    commands = accepted_commands(session, list(readings), since=oldest)
    return {
        charger_id: estimate_power_kw(
            power_kw,
            limit_then_kw=limit_in_force_kw(commands[charger_id], read_at),
            limit_now_kw=limit_in_force_kw(commands[charger_id], at),
        )
        for charger_id, (read_at, power_kw) in readings.items()
    }


def latest_charger_readings(session, *, site_id: str, since: datetime) -> dict[str, tuple[datetime, float]]:
    """Charger id -> (time, power) of its latest power reading at or after `since`, for a site's chargers."""
    sample = models.MeterSample
    charger_ids = select(models.Charger.id).where(models.Charger.site_id == site_id)
    latest = (
        select(sample.charger_id, func.max(sample.time).label("time"))
        .where(col(sample.charger_id).in_(charger_ids))
        .where(sample.time >= since)
        .where(col(sample.power_kw).is_not(None))
        .group_by(sample.charger_id)
        .subquery()
    )
    rows = session.exec(
        select(sample.charger_id, sample.time, sample.power_kw).join(
            latest, and_(sample.charger_id == latest.c.charger_id, sample.time == latest.c.time)
        )
    ).all()
    return {charger_id: (time, power_kw) for charger_id, time, power_kw in rows}
