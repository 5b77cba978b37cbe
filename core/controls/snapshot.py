"""What the settings page reads: the current operator settings as plain data, and whether the plan
that includes a saved change is in force yet."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core import models
from core.audit import plan_in_force
from core.clock import now
from core.controls.departures import schedule_dict
from core.controls.in_force import active_overrides, open_plug
from core.controls.v2g import window_dict
from core.controls.validation import site_or_error
from core.db import session_scope
from core.rules.discharge import effective_soc_floor
from core.rules.local_time import to_local


def current_settings(*, session: Session, site_id: str | None = None) -> dict:
    """The current operator settings of the site (the first when None) as plain data."""
    site = site_or_error(session, site_id)
    vehicles = session.exec(select(models.Vehicle).where(models.Vehicle.site_id == site.id).order_by(models.Vehicle.id)).all()
    schedules = {r.vehicle_id: schedule_dict(r) for r in session.exec(select(models.DepartureSchedule)).all()}
    chargers = session.exec(select(models.Charger).where(models.Charger.site_id == site.id).order_by(models.Charger.id)).all()
    windows = session.exec(select(models.V2GWindow).where(models.V2GWindow.site_id == site.id).order_by(models.V2GWindow.id)).all()
    return {
        "site": {
            "id": site.id, "name": site.name, "timezone": site.timezone, "currency": site.currency,
            "default_soc_floor": site.default_soc_floor, "hard_soc_floor": site.hard_soc_floor,
            "import_limit_kw": site.import_limit_kw, "export_limit_kw": site.export_limit_kw,
            "degradation_cost_per_kwh": site.degradation_cost_per_kwh, "dispatch_interval_s": site.dispatch_interval_s,
        },
        "vehicles": [
            {
                "id": v.id, "name": v.name, "soc_floor": v.soc_floor, "effective_floor": effective_soc_floor(v, site),
                "target_soc": v.target_soc, "usual_departure": v.usual_departure, "v2g_allowed": v.v2g_allowed,
                "schedule": schedules.get(v.id), "plugged": open_plug(session=session, vehicle_id=v.id) is not None,
            }
            for v in vehicles
        ],
        "chargers": [{"id": c.id, "bidirectional": c.bidirectional, "v2g_off": bool(c.v2g_off)} for c in chargers],
        "windows": [window_dict(w) for w in windows],
        "overrides": [
            {"vehicle_id": o.vehicle_id, "kind": o.kind, "until": o.until.isoformat()}
            for o in active_overrides(session=session, at=now())
        ],
    }


def settings_snapshot(site_id: str | None = None, *, engine: Engine | None = None) -> dict:
    """`current_settings` in a transaction of its own, for the settings page and the command line."""
    with session_scope(engine) as session:
        return current_settings(session=session, site_id=site_id)


def plans_in_force(audit_ids: list[int | None], *, engine: Engine | None = None) -> list[dict | None]:
    """For each audit row id: the first finished dispatch run that includes its change, as
    {"id", "status", "finished_at" (on the site's clock)}; None where there is none yet (or no id)."""
    out: list[dict | None] = []
    with session_scope(engine) as session:
        site = session.exec(select(models.Site).order_by(models.Site.id)).first()
        timezone = site.timezone if site else "UTC"
        for audit_id in audit_ids:
            event = session.get(models.AuditEvent, audit_id) if audit_id is not None else None
            run = plan_in_force(session=session, event=event) if event is not None else None
            out.append(
                None if run is None
                else {"id": run.id, "status": run.status, "finished_at": to_local(run.finished_at, timezone)}
            )
    return out
