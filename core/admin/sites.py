"""Sites: add, edit and list them (admins only, audited).

A site is one grid connection: its id, name, time zone, location, import and export limits, PV
peak power, currency and, optionally, its time-of-use tariff (the JSON form of core.signals.tariffs).
Every field is checked before anything is written; nothing is saved when one is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select

from core import models
from core.admin.common import apply_edit, audit, currency, identifier, number, require_admin, text, timezone
from core.errors import FieldErrors, ValidationError
from core.signals.errors import SignalError
from core.signals.tariffs import parse_tariff, set_tariff
from core.sites import request_replan

# The fields an admin sets, in the order forms and the command line show them.
SITE_FIELDS = (
    "name",
    "timezone",
    "latitude",
    "longitude",
    "import_limit_kw",
    "export_limit_kw",
    "pv_peak_kwp",
    "currency",
)


def site_dict(site: models.Site) -> dict:
    """The admin fields of a site, as plain values."""
    return {"id": site.id, **{k: getattr(site, k) for k in SITE_FIELDS}}


def _check(errors: FieldErrors, fields: dict[str, Any]) -> dict[str, Any]:
    """The valid values of the site fields present in `fields` (errors collected for the rest)."""
    checks = {
        "name": lambda v: text(errors, "name", v),
        "timezone": lambda v: timezone(errors, "timezone", v),
        "latitude": lambda v: number(errors, "latitude", v, low=-90, high=90, required=False),
        "longitude": lambda v: number(errors, "longitude", v, low=-180, high=180, required=False),
        "import_limit_kw": lambda v: number(errors, "import_limit_kw", v, positive=True),
        "export_limit_kw": lambda v: number(errors, "export_limit_kw", v, low=0),
        "pv_peak_kwp": lambda v: number(errors, "pv_peak_kwp", v, low=0),
        "currency": lambda v: currency(errors, "currency", v),
    }
    unknown = sorted(set(fields) - set(checks))
    for name in unknown:
        errors.add(name, "not a site field")
    values = {name: checks[name](value) for name, value in fields.items() if name in checks}
    return values


def _check_location(errors: FieldErrors, latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None) and not {"latitude", "longitude"} & set(errors):
        errors.add("latitude" if latitude is None else "longitude", "give both latitude and longitude, or neither")


def _tariff(errors: FieldErrors, tariff: Any):
    """The tariff spec from its JSON text or dict, or None; errors under "tariff"."""
    if tariff in (None, ""):
        return None
    try:
        doc = json.loads(tariff) if isinstance(tariff, str) else tariff
        return parse_tariff(doc)
    except json.JSONDecodeError as exc:
        errors.add("tariff", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except SignalError as exc:
        errors.add("tariff", str(exc))
    return None


def add_site(
    *,
    session: Session,
    actor: str,
    site_id: str,
    name: str,
    import_limit_kw: Any,
    export_limit_kw: Any,
    timezone: str = "Europe/Amsterdam",
    latitude: Any = None,
    longitude: Any = None,
    pv_peak_kwp: Any = 0.0,
    currency: str = "EUR",
    tariff: Any = None,
    audited: bool = True,
    **extra: Any,
) -> models.Site:
    """A new site. `tariff`: its time-of-use tariff as JSON (optional). `extra`: other Site columns
    the demo file sets (floors, dispatch interval), taken as given."""
    require_admin(session, actor)
    errors = FieldErrors()
    new_id = identifier(errors, "id", site_id)
    if new_id and session.get(models.Site, new_id) is not None:
        errors.add("id", f"a site {new_id!r} exists already")
    values = _check(
        errors,
        {
            "name": name,
            "timezone": timezone,
            "latitude": latitude,
            "longitude": longitude,
            "import_limit_kw": import_limit_kw,
            "export_limit_kw": export_limit_kw,
            "pv_peak_kwp": pv_peak_kwp,
            "currency": currency,
        },
    )
    _check_location(errors, values.get("latitude"), values.get("longitude"))
    for key in extra:
        if key not in models.Site.model_fields or key in SITE_FIELDS or key == "id":
            errors.add(key, "not a site field")
    spec = _tariff(errors, tariff)
    errors.raise_if_any()
    site = models.Site(id=new_id, **values, **extra)
    session.add(site)
    session.flush()
    audit(
        session,
        actor=actor,
        action="site.add",
        target=f"site:{site.id}",
        before={},
        after=site_dict(site),
        audited=audited,
    )
    if spec is not None:
        set_tariff(session=session, site_id=site.id, spec=spec, actor=actor)
    return site


def edit_site(*, session: Session, actor: str, site_id: str, tariff: Any = None, **fields: Any) -> models.Site:
    """Change some fields of a site (only those given); asks for a re-plan (limits change the plan)."""
    require_admin(session, actor)
    site = session.get(models.Site, site_id) if site_id else None
    if site is None:
        raise ValidationError({"id": f"no site {site_id!r}"})
    errors = FieldErrors()
    values = _check(errors, fields)
    _check_location(errors, values.get("latitude", site.latitude), values.get("longitude", site.longitude))
    spec = _tariff(errors, tariff)
    if not values and spec is None:
        errors.add("fields", "nothing to change")
    errors.raise_if_any()
    apply_edit(
        session, actor=actor, row=site, values=values, as_dict=site_dict, action="site.edit", target=f"site:{site.id}"
    )
    if spec is not None:
        set_tariff(session=session, site_id=site.id, spec=spec, actor=actor)
    request_replan(session=session, site_id=site.id)
    session.flush()
    return site


def list_sites(*, session: Session) -> list[dict]:
    """Every site with its admin fields, the counts of its active chargers and vehicles, and its tariff's name."""
    out = []
    for site in session.exec(select(models.Site).order_by(models.Site.id)).all():
        chargers = session.exec(
            select(models.Charger.id)
            .where(models.Charger.site_id == site.id)
            .where(models.Charger.retired_at.is_(None))
        ).all()
        vehicles = session.exec(
            select(models.Vehicle.id)
            .where(models.Vehicle.site_id == site.id)
            .where(models.Vehicle.retired_at.is_(None))
        ).all()
        tariff = session.get(models.Tariff, site.id)
        out.append(
            {
                **site_dict(site),
                "chargers": len(chargers),
                "vehicles": len(vehicles),
                "tariff": tariff.name if tariff else "",
            }
        )
    return out
