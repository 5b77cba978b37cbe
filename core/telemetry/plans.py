"""The dispatch plan as the pages show it: the last finished run, its setpoints, the site's plan curve."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import String, cast
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import models
from core.db import session_scope
from core.rules.steps import STEP_MINUTES
from core.telemetry.cache import DatabaseCache
from core.telemetry.frames import rows_frame


@dataclass(frozen=True)
class PlanSummary:
    """A finished dispatch run: status, timings, and the per-vehicle reasons, shortfalls and departures."""

    run_id: int | None
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    solve_time_s: float | None
    objective: float | None
    message: str
    horizon_start: datetime | None
    step_minutes: int
    reasons: dict = field(default_factory=dict)
    shortfalls: list = field(default_factory=list)
    departures: dict = field(default_factory=dict)
    net_import_kw: list = field(default_factory=list)
    cost_parts: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)


def _no_plan() -> PlanSummary:
    return PlanSummary(None, None, None, "none", None, None, "no dispatch run yet", None, STEP_MINUTES)


def latest_plan_in(*, session: Session, site_id: str) -> PlanSummary:
    """`latest_plan` inside the caller's transaction."""
    run = session.exec(
        select(models.DispatchRun)
        .where(models.DispatchRun.site_id == site_id)
        .where(col(models.DispatchRun.finished_at).is_not(None))
        .order_by(col(models.DispatchRun.started_at).desc())
        .limit(1)
    ).first()
    if run is None:
        return _no_plan()
    result = run.result_summary or {}
    return PlanSummary(
        run_id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status=run.status,
        solve_time_s=run.solve_time_s,
        objective=run.objective,
        message=run.message,
        horizon_start=run.horizon_start,
        step_minutes=run.step_minutes,
        reasons=result.get("reasons", {}),
        shortfalls=result.get("shortfalls", []),
        departures=result.get("departures", {}),
        net_import_kw=result.get("net_import_kw", []),
        cost_parts=result.get("cost_parts", {}),
        inputs=run.inputs_summary or {},
    )


def latest_plan(site_id: str, *, engine: Engine | None = None) -> PlanSummary:
    """The last finished dispatch run of the site (an empty summary when none ran yet)."""
    with session_scope(engine) as session:
        return latest_plan_in(session=session, site_id=site_id)


SETPOINT_COLUMNS = ["start", "vehicle_id", "step", "power_kw", "soc_end"]

# A finished run's setpoints never change, so they are read once per process (and database).
_run_setpoints = DatabaseCache(maxsize=4)


def plan_frame(run_id: int, vehicle_id: str | None = None, *, engine: Engine | None = None) -> pd.DataFrame:
    """The setpoints of a dispatch run (DataFrame: start, vehicle_id, step, power_kw, soc_end)."""
    with session_scope(engine) as session:
        frame = _run_setpoints.get(session, (run_id,), lambda: _read_setpoints(session, run_id))
    if vehicle_id:
        frame = frame[frame["vehicle_id"] == vehicle_id]
    return frame.copy()  # never hand out the cached frame itself


def _read_setpoints(session: Session, run_id: int) -> pd.DataFrame:
    rows = session.exec(
        select(
            cast(models.Setpoint.start, String), models.Setpoint.vehicle_id, models.Setpoint.step,
            models.Setpoint.power_kw, models.Setpoint.soc_end,
        )
        .where(models.Setpoint.run_id == run_id)
        .order_by(models.Setpoint.vehicle_id, models.Setpoint.step)
    ).all()  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=SETPOINT_COLUMNS)
    return rows_frame(rows, SETPOINT_COLUMNS, time_column="start")


PLAN_SITE_COLUMNS = ["time", "net_import_kw", "ev_kw", "building_load_kw", "pv_kw"]


def plan_site_frame(plan: PlanSummary) -> pd.DataFrame:
    """The plan's next 24 h for the site chart (DataFrame: time, net_import_kw, ev_kw, building_load_kw, pv_kw)."""
    if plan.horizon_start is None or not plan.net_import_kw:
        return pd.DataFrame(columns=PLAN_SITE_COLUMNS)
    n = len(plan.net_import_kw)
    times = pd.date_range(plan.horizon_start, periods=n, freq=f"{plan.step_minutes}min")
    base = plan.inputs.get("base_load_kw") or [0.0] * n
    pv = plan.inputs.get("pv_kw") or [0.0] * n
    net = plan.net_import_kw
    return pd.DataFrame(
        {
            "time": times,
            "net_import_kw": net,
            "ev_kw": [net[k] - base[k] + pv[k] for k in range(n)],  # what is left once building and PV are counted
            "building_load_kw": base,
            "pv_kw": pv,
        }
    )


def clear_plan_cache() -> None:
    """Forget the cached setpoints (tests, benchmarks: a "new run" read from the database)."""
    _run_setpoints.cache_clear()
