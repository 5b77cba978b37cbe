"""What the plan would become after an operator's change, without keeping the change.

Both problems are built in one session: the current one, then the change is applied and flushed and
the problem rebuilt; the session is rolled back (the change, its audit row and its re-plan request
are gone and SQLite's write lock is released) before either plan is solved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import dispatch, models, sites
from core.clock import now
from core.planning.problem import Problem, build_problem
from core.planning.state import discarded_session


@dataclass
class PlanPreview:
    """One plan of the site: its cost over the horizon and what it does to the vehicles."""

    cost: float
    start: datetime
    step_minutes: int
    soc: dict[str, list[float]] = field(default_factory=dict)  # vehicle -> SoC at each boundary
    at_risk: list[str] = field(default_factory=list)  # vehicles that would miss their departure target
    targets: dict[str, float] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    status: str = "optimal"  # or "fallback"


@dataclass
class Preview:
    """The plan as it is and as it would be after a change."""

    current: PlanPreview
    proposed: PlanPreview

    @property
    def cost_delta(self) -> float:
        """What the change adds to the cost over the horizon (negative: it saves)."""
        return self.proposed.cost - self.current.cost

    @property
    def newly_at_risk(self) -> list[str]:
        """Vehicles the change would make miss their departure target."""
        return [v for v in self.proposed.at_risk if v not in self.current.at_risk]


def plan_summary(problem: Problem, *, time_limit_s: float) -> PlanPreview:
    """Plan the problem as live dispatch does (core.dispatch.plan) and keep what a preview shows."""
    result = dispatch.plan(problem.scenario, time_limit_s=time_limit_s)
    out = PlanPreview(
        cost=float(result.cost.total),
        start=problem.start,
        step_minutes=problem.scenario["step_minutes"],
        status=result.status,
    )
    for i, vehicle_id in enumerate(result.vehicle_ids):
        out.soc[vehicle_id] = [round(float(x), 4) if math.isfinite(x) else None for x in result.soc[i]]
    floors = {pv.vehicle_id: pv.soc_floor for pv in problem.vehicles}
    for v in problem.scenario["vehicles"]:
        out.targets[v["id"]] = min(1.0, v["soc_target"])
        # the operator's floor, not the plan's guard band above it (core.planning.margins)
        out.floors[v["id"]] = floors.get(v["id"], v.get("soc_floor", 0.0))
    out.at_risk = sorted({s.vehicle_id for s in result.shortfalls})
    return out


def preview_change(
    *,
    engine: Engine | None = None,
    apply: Callable[[Session], Any],
    site_id: str | None = None,
    at: datetime | None = None,
    time_limit_s: float = 5.0,
) -> Preview:
    """What the plan would become after `apply(session)` (a setter call), without keeping the change.

    A ValidationError from `apply` propagates, so the caller can show it before anything is planned
    or saved. Nothing is solved while the change is applied: the session is rolled back first.
    """
    at = at or now()
    with discarded_session(engine) as session:
        site = sites.get_site(session=session, site_id=site_id)
        current = build_problem(session=session, site=site, at=at)
        apply(session)
        session.flush()
        session.expire_all()
        site = session.get(models.Site, site.id)
        proposed = build_problem(session=session, site=site, at=at)
    return Preview(
        current=plan_summary(current, time_limit_s=time_limit_s),
        proposed=plan_summary(proposed, time_limit_s=time_limit_s),
    )
