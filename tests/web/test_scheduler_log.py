"""The dispatch job logs at INFO only when a run changes something (a charger gets a new profile, or
the plan falls back); a routine run that keeps every profile logs at DEBUG. Real planning on the demo
site."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from core import models, planning
from core.clock import now
from core.db import session_scope
from core.gateway.scheduler import DispatchScheduler, run_news

SITE = "depot-ams"


def plug_in(engine, vehicle: str, charger: str) -> None:
    with session_scope(engine) as s:
        plug = models.PlugSession(charger_id=charger, vehicle_id=vehicle, transaction_id="9901",
                                  started_at=now() - timedelta(hours=1))  # fmt: skip
        s.add(plug)
        s.flush()
        s.add(models.MeterSample(time=now(), charger_id=charger, session_id=plug.id, power_kw=0.0, soc=0.4))


def dispatch_records(caplog, scheduler) -> list[logging.LogRecord]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="core.gateway.scheduler"):
        asyncio.run(scheduler.dispatch_site(SITE, trigger="schedule"))
    return [r for r in caplog.records if r.getMessage().startswith("dispatch run")]


def test_dispatch_logs_at_info_only_when_a_profile_changes(demo_engine, clock, caplog):
    plug_in(demo_engine, "CAR-01", "CP-CAR-01")
    scheduler = DispatchScheduler(engine=demo_engine, planning=planning, dispatch_interval_s=60, enabled=False)
    [first] = dispatch_records(caplog, scheduler)
    assert first.levelno == logging.INFO and "new charging profile" in first.getMessage()
    [again] = dispatch_records(caplog, scheduler)  # nothing changed in between: the same profiles
    assert again.levelno == logging.DEBUG, again.getMessage()


def test_run_news_names_what_changed(demo_engine, clock):
    with session_scope(demo_engine) as s:
        quiet = models.DispatchRun(site_id=SITE, started_at=now(), finished_at=now(), status="optimal")
        fallback = models.DispatchRun(site_id=SITE, started_at=now(), finished_at=now(), status="fallback")
        s.add_all([quiet, fallback])
        s.flush()
        s.add(models.ChargingProfileCommand(charger_id="CP-CAR-01", run_id=fallback.id))
        ids = quiet.id, fallback.id
    assert run_news(demo_engine, ids[0]) == "" and run_news(demo_engine, None) == ""
    assert run_news(demo_engine, ids[1]) == ": 1 new charging profile(s), status fallback"
