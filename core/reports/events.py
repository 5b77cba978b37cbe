"""The grid events, audit log and dispatch runs reports.

- Grid events: per event, committed and delivered energy, performance and reward, and each vehicle's
  discharged kWh and share of the reward (by its part of each interval's discharge; core.signals).
  For an import cap, delivered_kwh is the energy imported during the cap and performance the share
  of 15-minute intervals whose mean import stayed at or under it; it has no committed kWh.
- Audit log: every change in the range (cells a spreadsheet would run as a formula are neutralised
  in every report's CSV: `Report.to_csv`).
- Dispatch runs: every run of the planner in the range, its status, objective and solve time.
"""

from __future__ import annotations

import json

import pandas as pd
from sqlmodel import select

from core import models, signals
from core.reports.context import Context


def grid_events(ctx: Context) -> pd.DataFrame:
    """One row per import cap or export request overlapping the range, its ledger brought up to date."""
    c = ctx.cur
    rows = []
    for e in signals.event_summaries(session=ctx.session, site_id=ctx.site.id, start=ctx.start, end=ctx.end):
        rows.append(
            {
                "event_id": e.id,
                "kind": e.kind,
                "source": e.source,
                "start": ctx.iso(e.start),
                "end": ctx.iso(e.end),
                "committed_kw": round(e.committed_kw, 3),
                "committed_kwh": None if e.committed_kwh is None else round(e.committed_kwh, 3),
                "delivered_kwh": None if e.delivered_kwh is None else round(e.delivered_kwh, 3),
                "performance_pct": None if e.performance_pct is None else round(e.performance_pct, 1),
                f"reward_{c}_per_kwh": e.reward_per_kwh,
                f"reward_{c}": round(e.reward, 4),
                "vehicle_discharge_kwh": "; ".join(f"{k}={v:.3f}" for k, v in sorted(e.vehicle_discharge_kwh.items())),
                f"vehicle_reward_{c}": "; ".join(f"{k}={v:.4f}" for k, v in sorted(e.vehicle_reward.items())),
            }
        )
    columns = [
        "event_id", "kind", "source", "start", "end", "committed_kw", "committed_kwh", "delivered_kwh",
        "performance_pct", f"reward_{c}_per_kwh", f"reward_{c}", "vehicle_discharge_kwh", f"vehicle_reward_{c}",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def audit(ctx: Context) -> pd.DataFrame:
    """One row per audit event in the range, before and after as JSON."""
    events = ctx.session.exec(
        select(models.AuditEvent)
        .where(models.AuditEvent.time >= ctx.start)
        .where(models.AuditEvent.time < ctx.end)
        .order_by(models.AuditEvent.time, models.AuditEvent.id)
    ).all()
    rows = [
        {
            "time": ctx.iso(e.time),
            "actor": e.actor or "",
            "action": e.action,
            "target": e.target or "",
            "before": json.dumps(e.before, sort_keys=True),
            "after": json.dumps(e.after, sort_keys=True),
            "dispatch_run_id": e.dispatch_run_id,
        }
        for e in events
    ]
    return pd.DataFrame(rows, columns=["time", "actor", "action", "target", "before", "after", "dispatch_run_id"])


def dispatch_runs(ctx: Context) -> pd.DataFrame:
    """One row per dispatch run of the site started in the range."""
    c = ctx.cur
    runs = ctx.session.exec(
        select(models.DispatchRun)
        .where(models.DispatchRun.site_id == ctx.site.id)
        .where(models.DispatchRun.started_at >= ctx.start)
        .where(models.DispatchRun.started_at < ctx.end)
        .order_by(models.DispatchRun.started_at, models.DispatchRun.id)
    ).all()
    rows = [
        {
            "run_id": r.id,
            "started": ctx.iso(r.started_at),
            "finished": ctx.iso(r.finished_at),
            "status": r.status,
            f"objective_{c}": None if r.objective is None else round(r.objective, 4),
            "solve_time_s": None if r.solve_time_s is None else round(r.solve_time_s, 3),
            "trigger": r.trigger,
            "message": r.message,
        }
        for r in runs
    ]
    columns = ["run_id", "started", "finished", "status", f"objective_{c}", "solve_time_s", "trigger", "message"]
    return pd.DataFrame(rows, columns=columns)
