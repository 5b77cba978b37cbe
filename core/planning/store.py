"""Storing a planned dispatch run: the run row with its inputs and result, its setpoints, one
charging-profile command in the outbox for each charger whose plan changed, the month-peak
bookkeeping and the links from the audit rows the run applies.

Everything here works inside the caller's transaction; core.planning.run_dispatch calls `store_run`
in one short transaction after the solve.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from core import models
from core.audit import link_pending_audits
from core.charging_profiles import RENEW_WHEN_LEFT_S, build_charging_profile, offline_fallback_s, valid_to_of
from core.clock import now
from core.config import get_settings
from core.dispatch import DispatchResult
from core.planning.forecast import record_month_peak
from core.planning.problem import Problem
from core.planning.schedules import compress, plan_changed
from core.rules.steps import HORIZON_STEPS, STEP, STEP_MINUTES

# Setpoints of runs older than this are deleted (the runs themselves are kept).
KEEP_SETPOINTS = timedelta(days=2)
# A command the charger did not take is sent again even when the plan did not change.
RESEND_STATUSES = ("Rejected", "CallError", "Timeout")


def inputs_summary(problem: Problem) -> dict:
    """What the run planned from, as stored on the run (the Dispatch page shows it)."""
    scenario = problem.scenario
    return {
        "vehicles": len(problem.vehicles),
        "assumed_price_steps": problem.assumed_price_steps,
        "forecast": problem.forecast_source,
        "grid_signals": len(scenario["grid_signals"]),
        "stale_soc": [pv.vehicle_id for pv in problem.vehicles if not pv.soc_known],
        "import_price": scenario["tariff"]["import_price"],
        "export_price": scenario["tariff"]["export_price"],
        "base_load_kw": scenario["site"]["base_load_kw"],
        "pv_kw": scenario["site"]["pv_kw"],
    }


def result_summary(problem: Problem, result: DispatchResult) -> dict:
    """What the plan does, as stored on the run."""
    return {
        "net_import_kw": [round(float(x), 3) for x in result.net_import_kw],
        "cost_parts": {
            "energy": result.cost.energy,
            "demand": result.cost.demand,
            "degradation": result.cost.degradation,
            "rewards": result.cost.rewards,
        },
        "peak_import_kw": float(result.peak_import_kw),
        "reasons": result.reasons,
        "shortfalls": [
            {"vehicle_id": s.vehicle_id, "shortfall_kwh": round(s.missing_kwh, 2), "cause": s.cause, "detail": s.detail}
            for s in result.shortfalls
        ],
        "departures": {pv.vehicle_id: pv.departure.isoformat() for pv in problem.vehicles},
        # the SoC each must leave with (the gateway's departure watch reads it)
        "targets": {v["id"]: v["soc_target"] for v in problem.scenario["vehicles"]},
    }


def write_setpoints(*, session: Session, run_id: int, problem: Problem, result: DispatchResult) -> None:
    """One setpoint per vehicle and step: the planned power and the SoC at the step's end."""
    powers_by_vehicle = result.power_by_vehicle()
    socs_by_vehicle = dict(zip(result.vehicle_ids, result.soc, strict=True))
    for pv in problem.vehicles:
        powers_kw = powers_by_vehicle[pv.vehicle_id]
        socs = socs_by_vehicle[pv.vehicle_id]
        session.add_all(
            models.Setpoint(
                run_id=run_id,
                vehicle_id=pv.vehicle_id,
                charger_id=pv.charger_id,
                step=k,
                start=problem.start + STEP * k,
                power_kw=float(powers_kw[k]),
                soc_end=None if math.isnan(socs[k + 1]) else float(socs[k + 1]),
            )
            for k in range(HORIZON_STEPS)
        )


def write_profile_commands(
    *, session: Session, problem: Problem, powers_kw: dict[str, list[float]], run_id: int
) -> int:
    """A pending "set" command in the outbox for each charger whose plan changed, or whose profile
    in force ends soon (a discharging profile lives only OFFLINE_FALLBACK_S unless renewed: safe when
    silent); how many were written."""
    issued_at = now()
    offline_validity_s = offline_fallback_s(get_settings().dispatch_interval_on_clock_s)
    written = 0
    for pv in problem.vehicles:
        charger = session.get(models.Charger, pv.charger_id)
        schedule = compress(problem.start, powers_kw[pv.vehicle_id])
        last = session.exec(
            select(models.ChargingProfileCommand)
            .where(models.ChargingProfileCommand.charger_id == charger.id)
            .where(models.ChargingProfileCommand.action == "set")
            .order_by(col(models.ChargingProfileCommand.id).desc())
            .limit(1)
        ).first()
        if (
            last
            and last.status not in RESEND_STATUSES
            and not plan_changed(last.schedule, schedule, problem.start)
            and not _renewal_due(last, issued_at)
        ):
            continue
        payload = build_charging_profile(
            protocol=charger.protocol,
            periods=[(datetime.fromisoformat(s), kw) for s, kw in schedule],
            max_charge_kw=charger.max_charge_kw,
            max_discharge_kw=charger.max_discharge_kw,
            accepts_negative_limits=charger.accepts_negative_limits,
            transaction_id=pv.transaction_id,
            issued_at=issued_at,
            offline_validity_s=offline_validity_s,
        )
        session.add(
            models.ChargingProfileCommand(
                charger_id=charger.id, action="set", payload=payload, schedule=schedule, run_id=run_id
            )
        )
        written += 1
    return written


def _renewal_due(last: models.ChargingProfileCommand, at: datetime) -> bool:
    """The last profile sent ends within RENEW_WHEN_LEFT_S (or has ended): send the plan again."""
    valid_to = valid_to_of(last.payload or {})
    return valid_to is not None and (valid_to - at).total_seconds() < RENEW_WHEN_LEFT_S


def store_run(
    *,
    session: Session,
    site: models.Site,
    problem: Problem,
    result: DispatchResult,
    started: datetime,
    trigger: str,
    solve_time_s: float,
) -> int:
    """Store a planned run and everything it leads to in the caller's transaction; returns the run id."""
    if problem.month_peak is not None:
        record_month_peak(site, problem.month_peak)
    run = models.DispatchRun(
        site_id=site.id,
        started_at=started,
        horizon_start=problem.start,
        trigger=trigger,
        solve_time_s=solve_time_s,
        status=result.status,
        objective=float(result.objective),
        message=result.status_reason,
        step_minutes=STEP_MINUTES,
        inputs_summary=inputs_summary(problem),
        result_summary=result_summary(problem, result),
    )
    session.add(run)
    session.flush()
    write_setpoints(session=session, run_id=run.id, problem=problem, result=result)
    commands = write_profile_commands(
        session=session, problem=problem, powers_kw=result.power_by_vehicle(), run_id=run.id
    )
    run.result_summary = {**run.result_summary, "profile_commands": commands}
    run.finished_at = now()
    link_pending_audits(session=session, run_id=run.id)
    old_runs = (
        select(models.DispatchRun.id)
        .where(models.DispatchRun.site_id == site.id)
        .where(models.DispatchRun.started_at < started - KEEP_SETPOINTS)
    )
    session.exec(delete(models.Setpoint).where(col(models.Setpoint.run_id).in_(old_runs)))
    return run.id
