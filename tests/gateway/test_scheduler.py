"""The gateway's scheduler: a dispatch job on an interval, an at-once re-plan on request, errors logged."""

from __future__ import annotations

import asyncio
import logging

import pytest

from core.gateway.scheduler import DISPATCH_JOB_ID, REPLAN_CHECK_JOB_ID, DispatchScheduler
from tests.gateway.support import SITE_ID, FakePlanning, run, running_gateway, simulated, wait_until


@pytest.mark.timeout(30)
def test_dispatch_runs_at_start_then_on_its_interval_and_replans_on_request(engine):
    planning = FakePlanning()

    async def scenario():
        scheduler = DispatchScheduler(
            engine=engine, planning=planning, dispatch_interval_s=0.5, replan_check_interval_s=0.1
        )
        scheduler.start()
        try:
            await wait_until(lambda: len(planning.runs) >= 3, what="three scheduled runs")
            planning.wanted = True  # what request_replan does
            await wait_until(lambda: (SITE_ID, "replan") in planning.runs, what="a re-plan", timeout_s=3)
            job = scheduler.scheduler.get_job(DISPATCH_JOB_ID)
            return job, scheduler.scheduler.get_job(REPLAN_CHECK_JOB_ID)
        finally:
            scheduler.shutdown()

    job, check = run(scenario())
    assert planning.runs[0] == (SITE_ID, "schedule")
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 30)
    assert job.trigger.interval.total_seconds() == 0.5
    assert check.trigger.interval.total_seconds() == 0.1
    assert not planning.wanted


@pytest.mark.timeout(30)
def test_a_failing_dispatch_is_logged_and_the_scheduler_goes_on(engine, caplog):
    class Broken(FakePlanning):
        def run_dispatch(self, **kwargs):
            super().run_dispatch(**kwargs)
            raise RuntimeError("solver exploded")

    planning = Broken()

    async def scenario():
        scheduler = DispatchScheduler(engine=engine, planning=planning, dispatch_interval_s=0.2)
        scheduler.start()
        try:
            await wait_until(lambda: len(planning.runs) >= 2, what="runs after a failure")
        finally:
            scheduler.shutdown()

    with caplog.at_level(logging.ERROR, logger="core.gateway.scheduler"):
        run(scenario())
    assert "scheduled job dispatch failed" in caplog.text and "solver exploded" in caplog.text


def test_without_planning_or_when_disabled_no_jobs_run(engine):
    async def scenario():
        for scheduler in (
            DispatchScheduler(engine=engine, planning=None, dispatch_interval_s=0.1),
            DispatchScheduler(engine=engine, planning=FakePlanning(), dispatch_interval_s=0.1, enabled=False),
        ):
            scheduler.start()
            await asyncio.sleep(0.3)
            assert scheduler.scheduler.get_jobs() == []
            scheduler.shutdown()

    run(scenario())


@pytest.mark.timeout(30)
def test_a_plug_in_makes_the_gateway_replan_at_once(engine):
    planning = FakePlanning()

    async def scenario():
        async with running_gateway(engine, planning=planning, dispatch=True) as gateway:
            await wait_until(lambda: planning.runs, what="the start-up run")
            sim = simulated(gateway.url, "CP-VAN-02")
            await sim.start()
            await sim.wait_ready()
            sim.plug_in()
            await wait_until(
                lambda: (SITE_ID, "replan") in planning.runs, what="re-plan after plug-in", timeout_s=5
            )
            await sim.stop()

    run(scenario())
    assert planning.replan_requests[0] == SITE_ID
    assert planning.runs[0] == (SITE_ID, "schedule")
