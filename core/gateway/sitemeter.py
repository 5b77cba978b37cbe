"""The site meter: one SiteSample per site every meter interval.

EV power is the sum of the latest power of each charger of the site (readings older than a few
meter intervals count as nothing); net import = building load - PV + EV power.

Building load and PV: in demo mode they come from the demo profile (data/demo/profile.csv) at the
current time. A real site would plug its meter reader in here (`building_and_pv_kw`); without one
the gateway writes no site samples, rather than inventing a building load.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from core import models
from core.clock import get_clock, now
from core.config import Settings
from core.db import session_scope
from core.demo import DemoProfile, read_demo

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
                await asyncio.to_thread(self.write_samples, now())
            except Exception:
                log.exception("site meter failed")
            # The interval is in the console's time: at demo speed 60 a 10 s interval is 1/6 s.
            await asyncio.sleep(get_clock().sleep_seconds(self.interval_s))

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
        with session_scope(self.engine) as session:
            for site in session.exec(select(models.Site)).all():
                building_and_pv = self.building_and_pv_kw(site.id, at)
                if building_and_pv is None:
                    continue
                building_kw, pv_kw = building_and_pv
                powers = latest_charger_powers_kw(session, site_id=site.id, since=at - self._fresh)
                ev_kw = sum(powers.values())
                sample = models.SiteSample(
                    site_id=site.id,
                    time=at,
                    building_load_kw=building_kw,
                    pv_kw=pv_kw,
                    ev_power_kw=round(ev_kw, 4),
                    ev_charge_kw=round(sum(p for p in powers.values() if p > 0), 4),
                    ev_discharge_kw=round(-sum(p for p in powers.values() if p < 0), 4),
                    net_import_kw=round(building_kw - pv_kw + ev_kw, 4),
                )
                session.add(sample)
                written.append(sample)
        return written


def latest_charger_powers_kw(session, *, site_id: str, since: datetime) -> dict[str, float]:
    """Charger id -> its latest power reading at or after `since`, for the chargers of a site."""
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
        select(sample.charger_id, sample.power_kw).join(
            latest, and_(sample.charger_id == latest.c.charger_id, sample.time == latest.c.time)
        )
    ).all()
    return {charger_id: power_kw for charger_id, power_kw in rows}
