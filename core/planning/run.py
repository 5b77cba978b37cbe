"""One live dispatch run, and the re-plan requests that ask for one.

A run holds no database lock while the LP solves: (1) it reads the state and builds the problem in a
session that writes nothing and is closed, (2) solves with no session open, (3) stores the run, its
setpoints, the outbox commands, the month-peak bookkeeping and the audit links in one short
transaction. So the gateway's telemetry writer never waits on the solver (SQLite has one writer).
"""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from core import dispatch, models, sites
from core.clock import now
from core.config import get_settings
from core.db import session_scope
from core.planning.problem import build_problem
from core.planning.state import discarded_session
from core.planning.store import store_run


def request_replan(*, site_id: str, engine: Engine | None = None) -> None:
    """Ask for a dispatch run as soon as the scheduler sees it (plug-in, plug-out, a setting), in a
    transaction of its own (core.sites.request_replan does it inside a caller's)."""
    with session_scope(engine) as session:
        sites.request_replan(session=session, site_id=site_id)


def replan_wanted(*, site_id: str, engine: Engine | None = None) -> bool:
    """True when a re-plan was requested after the last dispatch run started."""
    with session_scope(engine) as session:
        return sites.replan_wanted(session=session, site_id=site_id)


def run_dispatch(
    *, site_id: str, trigger: str = "schedule", engine: Engine | None = None, time_limit_s: float | None = None
) -> int | None:
    """Plan the site now, store the run and its setpoints, and queue the changed charging profiles.

    Returns the DispatchRun id (None when the site does not exist).
    """
    settings = get_settings()
    time_limit_s = settings.dispatch_time_limit_s if time_limit_s is None else time_limit_s
    started = now()
    with discarded_session(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None:
            return None
        problem = build_problem(session=session, site=site, at=started)

    wall = time.perf_counter()
    result = dispatch.plan(problem.scenario, time_limit_s=time_limit_s)
    solve_time_s = time.perf_counter() - wall

    with session_scope(engine) as session:
        site = session.get(models.Site, site_id)
        if site is None:
            return None  # deleted while the plan was solved
        return store_run(
            session=session,
            site=site,
            problem=problem,
            result=result,
            started=started,
            trigger=trigger,
            solve_time_s=solve_time_s,
        )
