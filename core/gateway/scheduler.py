"""The gateway's one scheduler (APScheduler 3, AsyncIOScheduler on the gateway's event loop).

Three jobs:
* "dispatch": every dispatch interval, `core.planning.run_dispatch(site_id=..., trigger="schedule")`
  for every site; the first run right at start-up.
* "replan-check": every ~2 s, `core.planning.replan_wanted(site_id=...)` for every site, and a
  dispatch run at once (trigger "replan") where it says yes (a plug-in, plug-out or operator change).
* "day-ahead": on start and each afternoon, `core.signals.refresh_all`: day-ahead prices for every
  site with a price feed (ENTSO-E), with retries; a failure is recorded and planning uses the tariff.

Planning is blocking work (database, LP solver), so it runs in a worker thread (`asyncio.to_thread`)
and the sockets keep being served; it holds no database lock while the LP solves, so the telemetry
writer goes on meanwhile. A lock per site keeps the two jobs from planning one site twice
at the same time. `core.planning` is imported when the scheduler is built: if it cannot be imported
the gateway runs without dispatch and says so in the log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlmodel import select

from core import models
from core.clock import get_clock
from core.config import get_settings
from core.db import session_scope

log = logging.getLogger(__name__)

DISPATCH_JOB_ID = "dispatch"
REPLAN_CHECK_JOB_ID = "replan-check"
REPLAN_CHECK_INTERVAL_S = 2.0
# Day-ahead prices (core.signals.day_ahead): on start, and after ENTSO-E publishes tomorrow's (about
# 12:45 CET; the later run catches a late publication). Wall-clock times, whatever the console's clock.
DAY_AHEAD_JOB_ID = "day-ahead"
DAY_AHEAD_HOURS = "13,16"
DAY_AHEAD_MINUTE = 15
DAY_AHEAD_TIMEZONE = "Europe/Amsterdam"
# A dispatch run that is this late (the loop was busy) still runs; a later one is skipped.
MISFIRE_GRACE_S = 30


def load_planning() -> ModuleType | None:
    """`core.planning`, or None (logged) when it cannot be imported."""
    try:
        from core import planning
    except ImportError as exc:
        log.error(
            "core.planning cannot be imported (%s): the gateway runs without dispatch and re-plan requests",
            exc,
        )
        return None
    return planning


class DispatchScheduler:
    """The scheduler with its two jobs; `enabled=False` leaves them out (tests of the gateway alone).

    `planning` is anything with `run_dispatch(*, site_id, trigger, engine)` and
    `replan_wanted(*, site_id, engine)` (core.planning, or a stand-in in tests).
    """

    def __init__(
        self,
        *,
        engine: Engine,
        planning: Any | None,
        dispatch_interval_s: float,
        enabled: bool = True,
        replan_check_interval_s: float = REPLAN_CHECK_INTERVAL_S,
    ):
        self.engine = engine
        self.planning = planning
        self.enabled = enabled and planning is not None
        # In real seconds: the interval on the console's clock, but not below the floor
        # (V2G_MIN_REAL_DISPATCH_INTERVAL_S; unless the interval itself is set below it, as tests do).
        floor_s = min(dispatch_interval_s, get_settings().min_real_dispatch_interval_s)
        self.dispatch_interval_s = max(floor_s, get_clock().sleep_seconds(dispatch_interval_s))
        self.replan_check_interval_s = replan_check_interval_s
        self.runs: list[tuple[str, str, int | None]] = []  # (site, trigger, run id), the latest few
        self._site_locks: dict[str, asyncio.Lock] = {}
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S},
        )
        self.scheduler.add_listener(
            self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )

    def start(self) -> None:
        if not self.enabled:
            log.info("dispatch is off: the scheduler runs no jobs")
            return
        self.scheduler.add_job(
            self.dispatch_all,
            "interval",
            seconds=self.dispatch_interval_s,
            id=DISPATCH_JOB_ID,
            name="dispatch every site",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
            next_run_time=datetime.now(UTC),  # plan at once on start-up
            kwargs={"trigger": "schedule"},
        )
        self.scheduler.add_job(
            self.replan_where_wanted,
            "interval",
            seconds=self.replan_check_interval_s,
            id=REPLAN_CHECK_JOB_ID,
            name="re-plan where requested",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_S,
        )
        self.scheduler.add_job(
            self.refresh_day_ahead,
            "cron",
            hour=DAY_AHEAD_HOURS,
            minute=DAY_AHEAD_MINUTE,
            timezone=DAY_AHEAD_TIMEZONE,
            id=DAY_AHEAD_JOB_ID,
            name="day-ahead prices",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            next_run_time=datetime.now(UTC),  # and once on start-up
        )
        self.scheduler.start()
        log.info(
            "dispatch every %.1f s, re-plan check every %.1f s",
            self.dispatch_interval_s,
            self.replan_check_interval_s,
        )

    def shutdown(self) -> None:
        if getattr(self, "day_ahead_stop", None) is not None:
            self.day_ahead_stop.set()  # a day-ahead fetch waiting to try again gives up at once
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def dispatch_all(self, *, trigger: str) -> None:
        """One dispatch run for every site."""
        for site_id in await asyncio.to_thread(site_ids, self.engine):
            await self.dispatch_site(site_id, trigger=trigger)

    async def replan_where_wanted(self) -> None:
        """A dispatch run for every site where a re-plan was requested since its last run."""
        for site_id in await asyncio.to_thread(site_ids, self.engine):
            lock = self._site_locks.setdefault(site_id, asyncio.Lock())
            if lock.locked():
                continue  # a run is going on; the request is seen again after it
            wanted = await asyncio.to_thread(self.planning.replan_wanted, site_id=site_id, engine=self.engine)
            if wanted:
                await self.dispatch_site(site_id, trigger="replan")

    async def dispatch_site(self, site_id: str, *, trigger: str) -> int | None:
        lock = self._site_locks.setdefault(site_id, asyncio.Lock())
        async with lock:
            run_id = await asyncio.to_thread(
                self.planning.run_dispatch, site_id=site_id, trigger=trigger, engine=self.engine
            )
        self.runs = [*self.runs[-99:], (site_id, trigger, run_id)]
        # INFO only when something changed (a charger got a new profile, or the plan is a fallback);
        # a routine run that keeps every profile is DEBUG, so the log stays readable.
        news = await asyncio.to_thread(run_news, self.engine, run_id)
        log.log(logging.INFO if news else logging.DEBUG, "dispatch run %s for %s (%s)%s", run_id, site_id, trigger, news)
        return run_id

    async def refresh_day_ahead(self) -> None:
        """Fetch day-ahead prices for every site with a price feed (blocking HTTP with back-off: a thread)."""
        from core.signals.day_ahead import refresh_all

        self.day_ahead_stop = getattr(self, "day_ahead_stop", None) or threading.Event()
        await asyncio.to_thread(refresh_all, engine=self.engine, stop=self.day_ahead_stop)

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("scheduled job %s failed", event.job_id, exc_info=event.exception)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("scheduled job %s missed its run at %s", event.job_id, event.scheduled_run_time)
        else:
            log.warning("scheduled job %s skipped: its previous run is still going", event.job_id)


def run_news(engine: Engine, run_id: int | None) -> str:
    """What dispatch run `run_id` changed, for the log ("": nothing; the profiles stay as they were)."""
    if run_id is None:
        return ""
    with session_scope(engine) as session:
        run = session.get(models.DispatchRun, run_id)
        sent = session.exec(
            select(models.ChargingProfileCommand.id).where(models.ChargingProfileCommand.run_id == run_id)
        ).all()
    parts = [f"{len(sent)} new charging profile(s)"] if sent else []
    if run is not None and run.status not in ("optimal", "running"):
        parts.append(f"status {run.status}")
    return f": {', '.join(parts)}" if parts else ""


def site_ids(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.exec(select(models.Site.id).order_by(models.Site.id)).all())
