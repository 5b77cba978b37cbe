"""Plug-ins the console could not put a vehicle to, and an admin saying which vehicle it is.

A plug-in whose id token (RFID tag or EVCCID) no vehicle holds, or that came with none, opens a
session without a vehicle (core.gateway's telemetry writer). `unknown_plugins` lists the open ones
("unknown vehicle at CP-03"); `assign_vehicle` links the session to the vehicle, records the token on
the vehicle so the next plug-in is recognised by itself, writes the audit row and asks for a re-plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from core import models
from core.admin.common import audit, require_admin
from core.admin.vehicles import _HEX, normalise_evcc_id
from core.errors import ValidationError
from core.sites import request_replan


@dataclass(frozen=True)
class UnknownPlugin:
    """An open session whose vehicle is not known."""

    session_id: int
    charger_id: str
    site_id: str
    id_tag: str  # "" when the plug-in came without any token
    started_at: datetime

    @property
    def label(self) -> str:
        token = f" (tag {self.id_tag})" if self.id_tag else " (no tag)"
        return f"unknown vehicle at {self.charger_id}{token}"


def unknown_plugins(*, session: Session, site_id: str | None = None) -> list[UnknownPlugin]:
    """The open sessions without a vehicle, oldest first (of one site, when given)."""
    query = (
        select(models.PlugSession, models.Charger.site_id)
        .join(models.Charger, models.Charger.id == models.PlugSession.charger_id)
        .where(col(models.PlugSession.ended_at).is_(None))
        .where(col(models.PlugSession.vehicle_id).is_(None))
        .order_by(models.PlugSession.started_at)
    )
    if site_id:
        query = query.where(models.Charger.site_id == site_id)
    return [
        UnknownPlugin(
            session_id=p.id, charger_id=p.charger_id, site_id=s, id_tag=p.id_tag or "", started_at=p.started_at
        )
        for p, s in session.exec(query).all()
    ]


def _plugged_elsewhere(session: Session, vehicle_id: str, session_id: int) -> str | None:
    other = session.exec(
        select(models.PlugSession.charger_id)
        .where(models.PlugSession.vehicle_id == vehicle_id)
        .where(col(models.PlugSession.ended_at).is_(None))
        .where(models.PlugSession.id != session_id)
    ).first()
    return other


def assign_vehicle(*, session: Session, actor: str, session_id: int, vehicle_id: str) -> models.PlugSession:
    """ "This is BUS-07": the open session `session_id` gets the vehicle, which keeps the session's token.

    A token that looks like a MAC is recorded as the vehicle's EVCCID, any other as its RFID id tag
    (replacing the one it had: the audit row keeps the old one)."""
    require_admin(session, actor)
    plug = session.get(models.PlugSession, session_id)
    if plug is None or plug.ended_at is not None:
        raise ValidationError({"session": "no open plug-in session with this id (the vehicle may have left)"})
    if plug.vehicle_id is not None:
        raise ValidationError({"session": f"the session is {plug.vehicle_id}'s already"})
    vehicle = session.get(models.Vehicle, vehicle_id) if vehicle_id else None
    charger = session.get(models.Charger, plug.charger_id)
    if vehicle is None or vehicle.retired_at is not None:
        raise ValidationError({"vehicle": f"no vehicle {vehicle_id!r}"})
    if vehicle.site_id != charger.site_id:
        raise ValidationError(
            {"vehicle": f"{vehicle.id} belongs to site {vehicle.site_id}, the charger to {charger.site_id}"}
        )
    elsewhere = _plugged_elsewhere(session, vehicle.id, plug.id)
    if elsewhere:
        raise ValidationError({"vehicle": f"{vehicle.id} is plugged in at {elsewhere} already"})
    before = {"id_tag": vehicle.id_tag, "evcc_id": vehicle.evcc_id}
    token = (plug.id_tag or "").strip()
    if token:
        evcc = normalise_evcc_id(token)
        column, value = ("evcc_id", evcc) if _HEX.match(evcc or "") else ("id_tag", token)
        holder = session.exec(select(models.Vehicle.id).where(getattr(models.Vehicle, column) == value)).first()
        if holder is not None and holder != vehicle.id:
            raise ValidationError({"vehicle": f"the token {token!r} is {holder}'s: no vehicle holds two"})
        setattr(vehicle, column, value)
    plug.vehicle_id = vehicle.id
    audit(
        session,
        actor=actor,
        action="vehicle.assign",
        target=f"vehicle:{vehicle.id}",
        before=before,
        after={"id_tag": vehicle.id_tag, "evcc_id": vehicle.evcc_id, "session": plug.id, "charger": plug.charger_id},
        audited=True,
    )
    request_replan(session=session, site_id=charger.site_id)
    session.flush()
    return plug
