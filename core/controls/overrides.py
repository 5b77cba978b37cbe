"""Operator overrides of the plan for one plugged-in vehicle: charge now, pause or discharge now,
until a time at most 48 h ahead. A new override replaces the vehicle's override in force."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from core import models
from core.clock import as_utc, now
from core.controls.changes import record_change
from core.controls.in_force import active_overrides, open_plug
from core.controls.validation import FieldErrors, require_actor, vehicle_or_error
from core.rules.discharge import discharge_blocked_reason

OVERRIDE_KINDS = ("charge_now", "pause", "discharge_now")
MAX_OVERRIDE = timedelta(hours=48)


def start_override(
    *, session: Session, actor: str, vehicle_id: str, kind: str, until: datetime | None
) -> models.AuditEvent:
    """charge_now / pause / discharge_now for a plugged-in vehicle until `until` (at most 48 h ahead).

    discharge_now only where the vehicle may discharge on its charger (core.rules.discharge: a
    bidirectional charger that can carry discharge, V2G on for the vehicle and the charger). A new
    override replaces the vehicle's override in force.
    """
    require_actor(actor)
    errors = FieldErrors()
    vehicle = vehicle_or_error(session, vehicle_id, errors)
    if kind not in OVERRIDE_KINDS:
        errors.add("kind", f"one of {', '.join(OVERRIDE_KINDS)}")
    at = now()
    if until is None:
        errors.add("until", "required")
    elif until.tzinfo is None:
        errors.add("until", "must carry a time zone")
    elif until <= at:
        errors.add("until", "must be in the future")
    elif until > at + MAX_OVERRIDE:
        errors.add("until", "at most 48 hours ahead")
    plug = open_plug(session=session, vehicle_id=vehicle.id) if vehicle else None
    charger = session.get(models.Charger, plug.charger_id) if plug else None
    if vehicle is not None and plug is None:
        errors.add("vehicle", "is not plugged in")
    elif vehicle is not None and kind == "discharge_now":
        reason = discharge_blocked_reason(vehicle, charger)
        if reason:
            errors.add("kind", f"cannot discharge: {reason}")
    errors.raise_if_any()
    replaced = active_overrides(session=session, at=at, vehicle_id=vehicle.id)
    before = {"kind": replaced[-1].kind, "until": replaced[-1].until.isoformat()} if replaced else {}
    for row in replaced:
        row.cancelled_at = at
    row = models.Override(
        site_id=vehicle.site_id, vehicle_id=vehicle.id, charger_id=charger.id, kind=kind, until=as_utc(until), created_by=actor
    )
    session.add(row)
    return record_change(
        session=session, actor=actor, action="override.start", target=f"vehicle:{vehicle.id}",
        before=before, after={"kind": kind, "until": as_utc(until).isoformat(), "charger": charger.id}, site_id=vehicle.site_id,
    )


def cancel_override(*, session: Session, actor: str, vehicle_id: str) -> models.AuditEvent:
    """End the vehicle's override in force."""
    require_actor(actor)
    errors = FieldErrors()
    vehicle = vehicle_or_error(session, vehicle_id, errors)
    rows = active_overrides(session=session, at=now(), vehicle_id=vehicle_id) if vehicle else []
    if vehicle is not None and not rows:
        errors.add("vehicle", "has no override in force")
    errors.raise_if_any()
    for row in rows:
        row.cancelled_at = now()
    return record_change(
        session=session, actor=actor, action="override.cancel", target=f"vehicle:{vehicle.id}",
        before={"kind": rows[-1].kind, "until": rows[-1].until.isoformat()}, after={}, site_id=vehicle.site_id,
    )
