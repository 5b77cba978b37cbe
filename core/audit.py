"""The audit log: one way to write a row, link it to the dispatch run that applied it, list and export it.

Every operator change (controls, prices and events, users) writes its row through `write_audit`,
in the same transaction as the change, so a change and its audit row are stored together or not at all.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlmodel import Session, col, select

from core import models
from core.audit_text import audit_sentence, when
from core.clock import now
from core.rules.local_time import local_range, site_zone
from core.rules.spreadsheet import safe_cell

# Audit actions that change the plan; the next dispatch run is linked to them (link_pending_audits).
PLAN_ACTIONS = (
    "soc_floor.set",
    "fleet_soc_floor.set",
    "hard_soc_floor.set",
    "target.set",
    "departure_schedule.set",
    "departure_override.set",
    "departure_override.cancel",
    "v2g_window.add",
    "v2g_window.update",
    "v2g_window.delete",
    "v2g_off.set",
    "site_settings.set",
    "demand_response.set",
    "override.start",
    "override.cancel",
)

AUDIT_COLUMNS = ("time", "actor", "action", "target", "before", "after", "dispatch_run_id")


def write_audit(
    *, session: Session, actor: str, action: str, target: str, before: dict | None = None, after: dict | None = None
) -> models.AuditEvent:
    """Add one audit row to the caller's transaction and flush it (so it has its id)."""
    event = models.AuditEvent(
        time=now(), actor=actor, action=action, target=target, before=before or {}, after=after or {}
    )
    session.add(event)
    session.flush()
    return event


def link_pending_audits(*, session: Session, run_id: int) -> int:
    """Give the plan-changing audit rows written before dispatch run `run_id` started that run's id.

    core.planning calls this once the run is stored; returns how many rows it linked.
    """
    run = session.get(models.DispatchRun, run_id)
    if run is None:
        return 0
    rows = session.exec(
        select(models.AuditEvent)
        .where(col(models.AuditEvent.dispatch_run_id).is_(None))
        .where(col(models.AuditEvent.action).in_(PLAN_ACTIONS))
        .where(models.AuditEvent.time <= run.started_at)
    ).all()
    for row in rows:
        row.dispatch_run_id = run.id
    session.flush()
    return len(rows)


def plan_in_force(*, session: Session, event: models.AuditEvent) -> models.DispatchRun | None:
    """The first finished dispatch run that includes the change of audit row `event`, if any yet."""
    if event.dispatch_run_id is not None:
        run = session.get(models.DispatchRun, event.dispatch_run_id)
        if run is not None and run.finished_at is not None:
            return run
    return session.exec(
        select(models.DispatchRun)
        .where(models.DispatchRun.started_at >= event.time)
        .where(col(models.DispatchRun.finished_at).is_not(None))
        .order_by(models.DispatchRun.started_at)
        .limit(1)
    ).first()


def latest_audit(*, session: Session, action: str, target: str) -> models.AuditEvent | None:
    """The newest audit row of `action` on `target`."""
    return session.exec(
        select(models.AuditEvent)
        .where(models.AuditEvent.action == action)
        .where(models.AuditEvent.target == target)
        .order_by(col(models.AuditEvent.time).desc(), col(models.AuditEvent.id).desc())
        .limit(1)
    ).first()


def list_audit(
    *,
    session: Session,
    actor: str | None = None,
    action: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    timezone: str = "UTC",
    limit: int | None = 1000,
) -> list[dict]:
    """Audit rows, newest first, filtered by actor, action and local dates (inclusive), as plain dicts
    (time as local ISO text and as `when`, 24-hour on the site's clock; before/after as JSON text;
    `sentence`: the row told in words, core.audit_text)."""
    tz = site_zone(timezone)
    query = select(models.AuditEvent).order_by(col(models.AuditEvent.time).desc(), col(models.AuditEvent.id).desc())
    if actor:
        query = query.where(models.AuditEvent.actor == actor)
    if action:
        query = query.where(models.AuditEvent.action == action)
    if date_from:
        query = query.where(models.AuditEvent.time >= local_range(timezone, date_from, date_from)[0])
    if date_to:
        query = query.where(models.AuditEvent.time < local_range(timezone, date_to, date_to)[1])
    if limit:
        query = query.limit(limit)
    events = session.exec(query).all()
    names = target_names(session=session) if events else {}
    return [
        {
            "id": e.id,
            "time": e.time.astimezone(tz).isoformat(timespec="seconds"),
            "when": when(e.time, timezone),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "before": json.dumps(e.before, sort_keys=True),
            "after": json.dumps(e.after, sort_keys=True),
            "dispatch_run_id": e.dispatch_run_id,
            "sentence": audit_sentence(
                action=e.action,
                actor=e.actor,
                target=e.target,
                before=e.before,
                after=e.after,
                names=names,
                timezone=timezone,
            ),
        }
        for e in events
    ]


def target_names(*, session: Session) -> dict[str, str]:
    """Display names of what audit rows point at, keyed like their targets ("vehicle:BUS-01" -> "E-bus 1")."""
    names = {f"vehicle:{i}": n for i, n in session.exec(select(models.Vehicle.id, models.Vehicle.name)).all() if n}
    names.update({f"site:{i}": n for i, n in session.exec(select(models.Site.id, models.Site.name)).all() if n})
    return names


def audit_filter_options(*, session: Session) -> tuple[list[str], list[str]]:
    """The actors and the actions that occur in the audit log, sorted."""
    actors = session.exec(select(models.AuditEvent.actor).distinct().order_by(models.AuditEvent.actor)).all()
    actions = session.exec(select(models.AuditEvent.action).distinct().order_by(models.AuditEvent.action)).all()
    return list(actors), list(actions)


def audit_csv(rows: list[dict]) -> str:
    """Audit rows (from list_audit) as CSV text with a header; every text cell a spreadsheet would
    run as a formula gets a leading apostrophe (core.rules.spreadsheet)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell("" if row.get(key) is None else row[key]) for key in AUDIT_COLUMNS])
    return out.getvalue()
