"""Chargers: add, edit, retire, rotate the password, list (admins only, audited).

A charger is known by its OCPP identity and connects with HTTP Basic auth (security profile 1/2):
its password is stored hashed (core.security) and shown once, when it is set or rotated. Retiring a
charger keeps it for the history but clears its password, so it can no longer connect.
`python -m core.gateway add-charger` goes through `add_charger` / `edit_charger` too.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session, select

from core import models
from core.admin.common import apply_edit, audit, flag, number, require_admin
from core.charging_profiles import PROTOCOLS
from core.clock import now
from core.errors import FieldErrors, ValidationError
from core.security import hash_password
from core.sites import request_replan

MAX_IDENTITY_LENGTH = 48  # OCPP-J: a charging station identity is at most 48 characters
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 40  # OCPP 2.0.1 BasicAuthPassword / 1.6 AuthorizationKey as 40 hex digits
GENERATED_PASSWORD_BYTES = 18  # 24 URL-safe characters
CHARGER_FIELDS = ("site_id", "protocol", "max_charge_kw", "max_discharge_kw", "efficiency", "accepts_negative_limits")


def charger_dict(charger: models.Charger) -> dict:
    """The admin fields of a charger (never its password hash)."""
    return {
        "id": charger.id,
        **{k: getattr(charger, k) for k in CHARGER_FIELDS},
        "vendor": charger.vendor,
        "model": charger.model,
        "retired": charger.retired_at is not None,
    }


def _charger_id(errors: FieldErrors, value: Any) -> str | None:
    """An OCPP identity: 1-48 characters, no ':' (Basic auth), '/' (URL) or surrounding spaces."""
    text = "" if value is None else str(value)
    if not text or len(text) > MAX_IDENTITY_LENGTH or ":" in text or "/" in text or text.strip() != text or "%" in text:
        errors.add("id", f"1 to {MAX_IDENTITY_LENGTH} characters, no ':', '/', '%' or surrounding spaces")
        return None
    return text


def _password(errors: FieldErrors, value: Any) -> str | None:
    """The given password (checked), or a generated one when none is given."""
    if value in (None, ""):
        return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    if not isinstance(value, str) or not MIN_PASSWORD_LENGTH <= len(value) <= MAX_PASSWORD_LENGTH:
        errors.add("password", f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters (16 or more recommended)")
        return None
    return value


def _check(session: Session, errors: FieldErrors, fields: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "site_id" in fields:
        site_id = fields["site_id"]
        if not site_id or session.get(models.Site, site_id) is None:
            errors.add("site", f"no site {site_id!r}" if site_id else "required")
        else:
            values["site_id"] = site_id
    if "protocol" in fields:
        if fields["protocol"] not in PROTOCOLS:
            errors.add("protocol", f"one of {', '.join(PROTOCOLS)}, got {fields['protocol']!r}")
        else:
            values["protocol"] = fields["protocol"]
    if "max_charge_kw" in fields:
        kw = number(FieldErrors(), "max_charge_kw", fields["max_charge_kw"], positive=True)
        if kw is None:  # the gateway's add-charger has always said it this way
            errors.add("max_charge_kw", f"max charge power must be more than 0 kW, got {fields['max_charge_kw']!r}")
        values["max_charge_kw"] = kw
    if "max_discharge_kw" in fields:
        values["max_discharge_kw"] = number(errors, "max_discharge_kw", fields["max_discharge_kw"], low=0)
    if "efficiency" in fields:
        values["efficiency"] = number(errors, "efficiency", fields["efficiency"], high=1, positive=True)
    if "accepts_negative_limits" in fields:
        values["accepts_negative_limits"] = flag(errors, "accepts_negative_limits", fields["accepts_negative_limits"])
    for name in sorted(set(fields) - set(CHARGER_FIELDS)):
        errors.add(name, "not a charger field")
    return values


def add_charger(
    *,
    session: Session,
    actor: str,
    charger_id: str,
    protocol: str,
    max_charge_kw: Any,
    max_discharge_kw: Any = 0.0,
    site_id: str | None = None,
    efficiency: Any = 0.95,
    accepts_negative_limits: Any = False,
    password: str | None = None,
    vendor: str = "",
    model: str = "",
    audited: bool = True,
) -> tuple[models.Charger, str]:
    """Register a charger; returns it and its password (the given one, or generated: show it once).

    `site_id` may be left out when the database holds exactly one site. `accepts_negative_limits`:
    the discharge convention of a 1.6/2.0.1 charger that discharges on a negative limit.
    """
    require_admin(session, actor)
    errors = FieldErrors()
    new_id = _charger_id(errors, charger_id)
    if new_id and session.get(models.Charger, new_id) is not None:
        errors.add("id", f"charger {new_id!r} is already registered")
    if site_id is None:
        site_ids = session.exec(select(models.Site.id)).all()
        if len(site_ids) != 1:
            errors.add("site", f"the database holds {len(site_ids)} sites: say which ({', '.join(site_ids) or 'none'})")
            site_id = ""
        else:
            site_id = site_ids[0]
    fields = {
        "protocol": protocol,
        "max_charge_kw": max_charge_kw,
        "max_discharge_kw": max_discharge_kw,
        "efficiency": efficiency,
        "accepts_negative_limits": accepts_negative_limits,
    }
    values = _check(session, errors, {**fields, "site_id": site_id} if site_id != "" else fields)
    secret = _password(errors, password)
    errors.raise_if_any()
    charger = models.Charger(id=new_id, password_hash=hash_password(secret), vendor=vendor, model=model, **values)
    session.add(charger)
    session.flush()
    audit(
        session,
        actor=actor,
        action="charger.add",
        target=f"charger:{charger.id}",
        before={},
        after=charger_dict(charger),
        audited=audited,
    )
    return charger, secret


def _active(session: Session, charger_id: str) -> models.Charger:
    charger = session.get(models.Charger, charger_id) if charger_id else None
    if charger is None:
        raise ValidationError({"id": f"no charger {charger_id!r}"})
    if charger.retired_at is not None:
        raise ValidationError({"id": f"charger {charger_id!r} is retired"})
    return charger


def edit_charger(*, session: Session, actor: str, charger_id: str, **fields: Any) -> models.Charger:
    """Change some fields of a charger (those given); asks for a re-plan of its site."""
    require_admin(session, actor)
    charger = _active(session, charger_id)
    errors = FieldErrors()
    values = _check(session, errors, fields)
    if not fields:
        errors.add("fields", "nothing to change")
    errors.raise_if_any()
    apply_edit(
        session, actor=actor, row=charger, values=values, as_dict=charger_dict, action="charger.edit",
        target=f"charger:{charger.id}",
    )  # fmt: skip
    request_replan(session=session, site_id=charger.site_id)
    session.flush()
    return charger


def rotate_password(*, session: Session, actor: str, charger_id: str, password: str | None = None) -> str:
    """A new password for the charger (given, or generated); returns it, to be shown once.

    The old password stops working at once: the charger must be given the new one (OCPP 2.0.1
    SetVariables BasicAuthPassword / 1.6 ChangeConfiguration AuthorizationKey, or on site)."""
    require_admin(session, actor)
    charger = _active(session, charger_id)
    errors = FieldErrors()
    secret = _password(errors, password)
    errors.raise_if_any()
    charger.password_hash = hash_password(secret)
    audit(
        session,
        actor=actor,
        action="charger.password",
        target=f"charger:{charger.id}",
        before={},
        after={},
        audited=True,
    )
    return secret


def retire_charger(*, session: Session, actor: str, charger_id: str) -> models.Charger:
    """Retire a charger: kept for its history, it can no longer connect; vehicles at home there lose it."""
    require_admin(session, actor)
    charger = _active(session, charger_id)
    charger.retired_at = now()
    charger.password_hash = ""  # the gateway refuses a charger without a password
    homed = session.exec(select(models.Vehicle).where(models.Vehicle.home_charger_id == charger.id)).all()
    for vehicle in homed:
        vehicle.home_charger_id = None
    audit(
        session,
        actor=actor,
        action="charger.retire",
        target=f"charger:{charger.id}",
        before={"retired": False},
        after={"retired": True, "vehicles_unhomed": [v.id for v in homed]},
        audited=True,
    )
    request_replan(session=session, site_id=charger.site_id)
    session.flush()
    return charger


def list_chargers(*, session: Session, site_id: str | None = None, include_retired: bool = False) -> list[dict]:
    """The chargers (of one site, when given), with their connection state."""
    query = select(models.Charger).order_by(models.Charger.site_id, models.Charger.id)
    if site_id:
        query = query.where(models.Charger.site_id == site_id)
    if not include_retired:
        query = query.where(models.Charger.retired_at.is_(None))
    return [{**charger_dict(c), "connected": c.connected, "last_seen": c.last_seen} for c in session.exec(query).all()]
