"""The vehicle watch: what must not wait for the next plan, checked on every meter interval.

The planner re-plans every dispatch interval; between two plans the world moves on (a slow ramp, a
taper the vehicle did not announce, a reading that came late). So every meter interval the gateway
looks at each plugged-in vehicle:
- the departure watch: a vehicle due to leave within WATCH_WINDOW whose charger cannot bring it to
  its target by then at its present power gets its charger's full power (within the site's import
  headroom), once per stay;
- the floor watch: a vehicle that is discharging and has come within FLOOR_MARGIN_SOC of its floor
  stops discharging at once (a charge-only cap of 0 kW until the next plan has seen it).
Both act through a short profile above the dispatch one (GUARD_STACK_LEVEL); the site-limit guard
(core.gateway.sitemeter) still has the last word.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from core import models
from core.clock import get_clock, now
from core.config import Settings
from core.db import session_scope
from core.gateway.guard_profiles import queue_guard_profile
from core.planning.state import latest_soc
from core.rules.departure_forecast import Battery, advance_soc, meets_target, short_kwh
from core.rules.discharge import effective_soc_floor
from core.rules.limit_guard import headroom_kw
from core.rules.staleness import is_stale
from core.rules.taper import taper_start_soc_of

log = logging.getLogger(__name__)

WATCH_WINDOW = timedelta(minutes=45)
# A discharging vehicle this close to its floor (SoC fraction) stops discharging.
FLOOR_MARGIN_SOC = 0.005


def kwh_short_at_departure(
    *, soc: float, target_soc: float, battery_kwh: float, power_kw: float, max_charge_kw: float,
    efficiency: float, hours_left: float, taper_start_soc: float,
) -> float:
    """How far below its target a vehicle arrives at its departure if its charger keeps `power_kw`
    (the one forecast rule, core.rules.departure_forecast), in kWh; 0 within the rule's tolerance."""
    start = datetime(2000, 1, 1, tzinfo=UTC)
    battery = Battery(battery_kwh=battery_kwh, max_charge_kw=max_charge_kw, efficiency=efficiency, taper_start_soc=taper_start_soc)
    end_soc = advance_soc(soc, start=start, end=start + timedelta(hours=hours_left), schedule=[(start, power_kw)], battery=battery)
    return 0.0 if meets_target(end_soc, target_soc, battery_kwh) else short_kwh(end_soc, target_soc, battery_kwh)


class VehicleWatch:
    """The task that boosts vehicles that are behind near their departure."""

    def __init__(self, *, engine: Engine, settings: Settings, on_boost: Callable[[], None] | None = None):
        self.engine = engine
        self.interval_s = settings.meter_interval_s
        self.on_boost = on_boost
        self._boosted: set[int] = set()  # plug session ids boosted once already
        self._floor_held: dict[int, datetime] = {}  # plug session id -> when its discharge was stopped
        self._hold = timedelta(seconds=max(120.0, 1.2 * settings.dispatch_interval_on_clock_s))
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="departure-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                if await asyncio.to_thread(self.check, now()) and self.on_boost is not None:
                    self.on_boost()
            except Exception:
                log.exception("departure watch failed")
            await asyncio.sleep(get_clock().sleep_seconds(self.interval_s))

    def check(self, at: datetime) -> int:
        """(worker thread) Stop discharges at their floor, boost every vehicle that is behind near its
        departure; how many commands were queued."""
        boosted = 0
        with session_scope(self.engine) as session:
            for site in session.exec(select(models.Site)).all():
                boosted += self._hold_floors(session, site, at)
                run = session.exec(
                    select(models.DispatchRun)
                    .where(models.DispatchRun.site_id == site.id)
                    .where(col(models.DispatchRun.finished_at).is_not(None))
                    .order_by(col(models.DispatchRun.started_at).desc())
                    .limit(1)
                ).first()
                if run is None:
                    continue
                departures = (run.result_summary or {}).get("departures", {})
                targets = (run.result_summary or {}).get("targets", {})
                headroom = self._site_headroom_kw(session, site, at)
                for vehicle_id, departure_iso in departures.items():
                    departure = datetime.fromisoformat(departure_iso)
                    if not (at < departure <= at + WATCH_WINDOW) or vehicle_id not in targets:
                        continue
                    used = self._boost_if_behind(session, site, vehicle_id, targets[vehicle_id], departure, at, headroom)
                    if used is not None:
                        headroom -= used
                        boosted += 1
        return boosted

    def _hold_floors(self, session, site: models.Site, at: datetime) -> int:
        """Stop every discharge of the site that has come within FLOOR_MARGIN_SOC of its floor."""
        held = 0
        plugs = session.exec(
            select(models.PlugSession, models.Charger, models.Vehicle)
            .join(models.Charger, models.Charger.id == models.PlugSession.charger_id)
            .join(models.Vehicle, models.Vehicle.id == models.PlugSession.vehicle_id)
            .where(models.Charger.site_id == site.id)
            .where(col(models.PlugSession.ended_at).is_(None))
        ).all()
        for plug, charger, vehicle in plugs:
            since = self._floor_held.get(plug.id)
            if (since is not None and at - since < self._hold) or not charger.connected:
                continue
            soc, measured_at, power_kw = latest_soc(session=session, plug=plug)
            if soc is None or (power_kw or 0.0) >= 0 or is_stale(measured_at, at=at, meter_interval_s=self.interval_s):
                continue
            if soc > effective_soc_floor(vehicle, site) + FLOOR_MARGIN_SOC:
                continue
            queue_guard_profile(
                session=session, charger=charger, transaction_id=plug.transaction_id, power_kw=0.0,
                at=at, until=at + self._hold, action="guard",
            )  # fmt: skip
            self._floor_held[plug.id] = at
            log.warning("%s at %.1f %% is at its floor: %s stops discharging", vehicle.id, soc * 100, charger.id)
            held += 1
        return held

    def _site_headroom_kw(self, session, site: models.Site, at: datetime) -> float:
        """How much more the site may import now (from its latest reading; unlimited without one)."""
        sample = session.exec(
            select(models.SiteSample)
            .where(models.SiteSample.site_id == site.id)
            .order_by(col(models.SiteSample.time).desc())
            .limit(1)
        ).first()
        if sample is None or is_stale(sample.time, at=at, meter_interval_s=self.interval_s):
            return float("inf")
        return site.import_limit_kw - headroom_kw(site.import_limit_kw) - sample.net_import_kw

    def _boost_if_behind(self, session, site, vehicle_id, target_soc, departure, at, headroom) -> float | None:
        """Full power for a vehicle that will not make it; the extra kW used, or None when not boosted."""
        plug = session.exec(
            select(models.PlugSession)
            .where(models.PlugSession.vehicle_id == vehicle_id)
            .where(col(models.PlugSession.ended_at).is_(None))
        ).first()
        if plug is None or plug.id in self._boosted:
            return None
        charger, vehicle = session.get(models.Charger, plug.charger_id), session.get(models.Vehicle, vehicle_id)
        if charger is None or vehicle is None or not charger.connected:
            return None
        soc, measured_at, power_kw = latest_soc(session=session, plug=plug)
        if soc is None or is_stale(measured_at, at=at, meter_interval_s=self.interval_s):
            return None  # nothing known to act on; the planner treats it as at its floor
        hours_left = (departure - at).total_seconds() / 3600.0
        short = kwh_short_at_departure(
            soc=soc, target_soc=target_soc, battery_kwh=vehicle.battery_kwh, power_kw=power_kw or 0.0,
            max_charge_kw=min(charger.max_charge_kw, vehicle.max_charge_kw), efficiency=charger.efficiency, hours_left=hours_left, taper_start_soc=taper_start_soc_of(vehicle),
        )  # fmt: skip
        if short <= 0:
            return None
        full_kw = min(charger.max_charge_kw, vehicle.max_charge_kw)
        now_kw = max(power_kw or 0.0, 0.0)
        boost_kw = min(full_kw, now_kw + max(0.0, headroom))
        if boost_kw <= now_kw + 0.1:
            return None  # the site has no headroom: the guard would take it back at once
        queue_guard_profile(
            session=session, charger=charger, transaction_id=plug.transaction_id, power_kw=boost_kw,
            at=at, until=departure + timedelta(minutes=30), action="boost",
        )  # fmt: skip
        self._boosted.add(plug.id)
        log.warning(
            "%s is %.1f kWh behind with %.0f min to its departure: %s to %.1f kW",
            vehicle_id, short, hours_left * 60, charger.id, boost_kw,
        )  # fmt: skip
        return boost_kw - now_kw
