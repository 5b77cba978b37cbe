"""Vehicles: add, edit, retire, list (admins only, audited).

A vehicle belongs to a site and is recognised at a plug-in by its RFID id tag, by its ISO 15118
EVCCID (the MAC it identifies itself with), or by neither: then an operator says which vehicle an
unknown plug-in is (core.admin.recognition). SoC figures are fractions 0-1 here (forms and the CSV
show %). Retiring keeps the vehicle for its history and frees its tags.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, or_, select

from core import models
from core.admin.common import apply_edit, audit, flag, identifier, number, require_admin, text
from core.clock import now
from core.controls.validation import soc_fraction, time_of_day
from core.errors import FieldErrors, ValidationError
from core.rules.taper import DEFAULT_TAPER_START_SOC
from core.sites import request_replan

KINDS = tuple(DEFAULT_TAPER_START_SOC)  # bus, van, car
MAX_ID_TAG_LENGTH = 36  # OCPP 2.0.1 IdToken (1.6 allows 20)
_ID_TAG = re.compile(r"^[\x21-\x7e]{1,36}$")  # printable ASCII, no spaces
_HEX = re.compile(r"^[0-9A-F]{12}([0-9A-F]{4})?$")  # a MAC (EUI-48) or EUI-64
# Fields of a vehicle an admin sets, in the order forms, the CSV and the command line use.
VEHICLE_FIELDS = (
    "site_id",
    "name",
    "kind",
    "battery_kwh",
    "max_charge_kw",
    "max_discharge_kw",
    "taper_start_soc",
    "soc_floor",
    "target_soc",
    "usual_arrival",
    "usual_departure",
    "v2g_allowed",
    "id_tag",
    "evcc_id",
    "home_charger_id",
)


def normalise_evcc_id(value: str | None) -> str | None:
    """An EVCCID as stored and matched: upper-case hex digits without separators (00:1a:2B.. -> 001A2B..)."""
    if value is None:
        return None
    return re.sub(r"[\s:.-]", "", str(value)).upper() or None


def recognition(vehicle: models.Vehicle) -> str:
    """How the vehicle is recognised at a plug-in: "RFID", "ISO 15118" or "operator"."""
    if vehicle.evcc_id:
        return "ISO 15118"
    return "RFID" if vehicle.id_tag else "operator"


def vehicle_dict(vehicle: models.Vehicle) -> dict:
    """The admin fields of a vehicle, with how it is recognised and whether it is retired."""
    return {
        "id": vehicle.id,
        **{k: getattr(vehicle, k) for k in VEHICLE_FIELDS},
        "recognition": recognition(vehicle),
        "retired": vehicle.retired_at is not None,
    }


def _tag_taken(session: Session, column, value: str, vehicle_id: str | None, pending: dict[str, str]) -> str | None:
    """The vehicle that already holds this tag (in the database or earlier in the same import)."""
    if value in pending and pending[value] != vehicle_id:
        return pending[value]
    holder = session.exec(select(models.Vehicle.id).where(column == value)).first()
    return holder if holder is not None and holder != vehicle_id else None


def check_vehicle_fields(
    session: Session,
    errors: FieldErrors,
    fields: dict[str, Any],
    *,
    vehicle: models.Vehicle | None = None,
    taken: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The valid values of the fields given, with errors named by field; `vehicle` when editing.

    `taken` holds tags claimed by earlier rows of an import (tag -> vehicle id), so two rows of one
    file cannot claim the same tag."""
    taken = {} if taken is None else taken
    own_id = vehicle.id if vehicle is not None else fields.get("id")
    v: dict[str, Any] = {}
    for name in sorted(set(fields) - set(VEHICLE_FIELDS) - {"id"}):
        errors.add(name, "not a vehicle field")
    if "site_id" in fields:
        if not fields["site_id"] or session.get(models.Site, fields["site_id"]) is None:
            errors.add("site", f"no site {fields['site_id']!r}" if fields["site_id"] else "required")
        else:
            v["site_id"] = fields["site_id"]
    if "name" in fields:
        v["name"] = text(errors, "name", fields["name"])
    if "kind" in fields:
        if fields["kind"] not in KINDS:
            errors.add("kind", f"one of {', '.join(KINDS)}, got {fields['kind']!r}")
        v["kind"] = fields["kind"]
    if "battery_kwh" in fields:
        v["battery_kwh"] = number(errors, "battery_kwh", fields["battery_kwh"], positive=True)
    if "max_charge_kw" in fields:
        v["max_charge_kw"] = number(errors, "max_charge_kw", fields["max_charge_kw"], positive=True)
    if "max_discharge_kw" in fields:
        v["max_discharge_kw"] = number(errors, "max_discharge_kw", fields["max_discharge_kw"], low=0)
    if "taper_start_soc" in fields:
        v["taper_start_soc"] = soc_fraction(errors, "taper_start_soc", fields["taper_start_soc"], required=False)
    if "soc_floor" in fields:
        v["soc_floor"] = soc_fraction(errors, "soc_floor", fields["soc_floor"], required=False)
    if "target_soc" in fields:
        v["target_soc"] = soc_fraction(errors, "target_soc", fields["target_soc"])
    for name in ("usual_arrival", "usual_departure"):
        if name in fields:
            v[name] = time_of_day(errors, name, fields[name])
    if "v2g_allowed" in fields:
        v["v2g_allowed"] = flag(errors, "v2g_allowed", fields["v2g_allowed"])
    if "id_tag" in fields:
        tag = str(fields["id_tag"]).strip() if fields["id_tag"] is not None else ""
        if tag and not _ID_TAG.match(tag):
            errors.add("id_tag", f"1-{MAX_ID_TAG_LENGTH} printable characters without spaces")
        elif tag and (holder := _tag_taken(session, models.Vehicle.id_tag, tag, own_id, taken)):
            errors.add("id_tag", f"{tag!r} is the tag of {holder} already")
        else:
            v["id_tag"] = tag or None
            if tag:
                taken[tag] = own_id
    if "evcc_id" in fields:
        evcc = normalise_evcc_id(fields["evcc_id"])
        if evcc and not _HEX.match(evcc):
            errors.add("evcc_id", "a MAC address: 12 hex digits (separators : or - allowed)")
        elif evcc and (holder := _tag_taken(session, models.Vehicle.evcc_id, evcc, own_id, taken)):
            errors.add("evcc_id", f"{evcc} is the EVCCID of {holder} already")
        else:
            v["evcc_id"] = evcc
            if evcc:
                taken[evcc] = own_id
    site_id = v.get("site_id") or (vehicle.site_id if vehicle is not None else None)
    if "home_charger_id" in fields and fields["home_charger_id"]:
        charger = session.get(models.Charger, fields["home_charger_id"])
        if charger is None or charger.retired_at is not None:
            errors.add("home_charger_id", f"no charger {fields['home_charger_id']!r}")
        elif site_id and charger.site_id != site_id:
            errors.add("home_charger_id", f"charger {charger.id} is at site {charger.site_id}, not {site_id}")
        else:
            v["home_charger_id"] = charger.id
    elif "home_charger_id" in fields:
        v["home_charger_id"] = None
    _check_floors(session, errors, v, vehicle, site_id)
    return v


def _check_floors(
    session: Session, errors: FieldErrors, v: dict, vehicle: models.Vehicle | None, site_id: str | None
) -> None:
    """Floor at or above the site's hard floor and at or below the target (the operator rules of core.controls)."""
    site = session.get(models.Site, site_id) if site_id else None
    if site is None or {"soc_floor", "target_soc"} & set(errors):
        return
    floor = v.get("soc_floor", vehicle.soc_floor if vehicle is not None else None)
    target = v.get("target_soc", vehicle.target_soc if vehicle is not None else None)
    if floor is not None and floor < site.hard_soc_floor:
        errors.add("soc_floor", f"must be at least the site's hard floor ({site.hard_soc_floor:.0%})")
    effective = site.default_soc_floor if floor is None else floor
    if target is not None and target < effective:
        errors.add("target_soc", f"must not be below the floor ({effective:.0%})")


def add_vehicle(
    *, session: Session, actor: str, vehicle_id: str, audited: bool = True, **fields: Any
) -> models.Vehicle:
    """A new vehicle: `fields` as in VEHICLE_FIELDS (site_id, name, battery_kwh, max_charge_kw are required)."""
    require_admin(session, actor)
    errors = FieldErrors()
    new_id = identifier(errors, "id", vehicle_id)
    if new_id and session.get(models.Vehicle, new_id) is not None:
        errors.add("id", f"a vehicle {new_id!r} exists already")
    for name in ("site_id", "name", "battery_kwh", "max_charge_kw"):
        fields.setdefault(name, None)
    values = check_vehicle_fields(session, errors, {"id": new_id, **fields})
    errors.raise_if_any()
    values = {k: val for k, val in values.items() if val is not None or k in ("soc_floor", "taper_start_soc")}
    vehicle = models.Vehicle(id=new_id, **values)
    session.add(vehicle)
    session.flush()
    audit(
        session,
        actor=actor,
        action="vehicle.add",
        target=f"vehicle:{vehicle.id}",
        before={},
        after=vehicle_dict(vehicle),
        audited=audited,
    )
    if audited:
        request_replan(session=session, site_id=vehicle.site_id)
    return vehicle


def _active(session: Session, vehicle_id: str) -> models.Vehicle:
    vehicle = session.get(models.Vehicle, vehicle_id) if vehicle_id else None
    if vehicle is None:
        raise ValidationError({"id": f"no vehicle {vehicle_id!r}"})
    if vehicle.retired_at is not None:
        raise ValidationError({"id": f"vehicle {vehicle_id!r} is retired"})
    return vehicle


def edit_vehicle(*, session: Session, actor: str, vehicle_id: str, **fields: Any) -> models.Vehicle:
    """Change some fields of a vehicle (those given); asks for a re-plan of its site."""
    require_admin(session, actor)
    vehicle = _active(session, vehicle_id)
    errors = FieldErrors()
    values = check_vehicle_fields(session, errors, fields, vehicle=vehicle)
    if not fields:
        errors.add("fields", "nothing to change")
    errors.raise_if_any()
    apply_edit(
        session, actor=actor, row=vehicle, values=values, as_dict=vehicle_dict, action="vehicle.edit",
        target=f"vehicle:{vehicle.id}",
    )  # fmt: skip
    request_replan(session=session, site_id=vehicle.site_id)
    session.flush()
    return vehicle


def retire_vehicle(*, session: Session, actor: str, vehicle_id: str) -> models.Vehicle:
    """Retire a vehicle: kept for its history; its tags are freed (the audit row keeps them)."""
    require_admin(session, actor)
    vehicle = _active(session, vehicle_id)
    before = {
        "retired": False,
        "id_tag": vehicle.id_tag,
        "evcc_id": vehicle.evcc_id,
        "home_charger_id": vehicle.home_charger_id,
    }
    vehicle.retired_at = now()
    vehicle.id_tag = vehicle.evcc_id = vehicle.home_charger_id = None
    audit(
        session,
        actor=actor,
        action="vehicle.retire",
        target=f"vehicle:{vehicle.id}",
        before=before,
        after={"retired": True},
        audited=True,
    )
    request_replan(session=session, site_id=vehicle.site_id)
    session.flush()
    return vehicle


def list_vehicles(*, session: Session, site_id: str | None = None, include_retired: bool = False) -> list[dict]:
    """The vehicles (of one site, when given)."""
    query = select(models.Vehicle).order_by(models.Vehicle.site_id, models.Vehicle.id)
    if site_id:
        query = query.where(models.Vehicle.site_id == site_id)
    if not include_retired:
        query = query.where(models.Vehicle.retired_at.is_(None))
    return [vehicle_dict(v) for v in session.exec(query).all()]


def vehicle_for_token(*, session: Session, token: str | None) -> str | None:
    """The active vehicle a plug-in's id token names: by RFID id tag, or by EVCCID (any separators)."""
    if not token:
        return None
    return session.exec(
        select(models.Vehicle.id)
        .where(models.Vehicle.retired_at.is_(None))
        .where(or_(models.Vehicle.id_tag == token, models.Vehicle.evcc_id == normalise_evcc_id(token)))
    ).first()
