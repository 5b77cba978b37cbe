"""The admin pages' side of the admin services: each call in a transaction of its own, plain values
in and out (pages hold no sessions). The forms give SoC figures in %; they become fractions here."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import func, select

from core import models
from core.admin import chargers, people, recognition, sites, vehicle_csv, vehicles
from core.db import session_scope
from core.errors import FieldErrors, ValidationError

# The vehicle form's % fields -> the service's fractions.
VEHICLE_PERCENT_FIELDS = {
    "taper_start_pct": "taper_start_soc",
    "soc_floor_pct": "soc_floor",
    "target_soc_pct": "target_soc",
}


def _run(fn, engine: Engine | None, **kwargs):
    with session_scope(engine) as session:
        return fn(session=session, **kwargs)


def admin_view(*, engine: Engine | None = None) -> dict:
    """Everything the admin pages list: sites, chargers, vehicles, unknown plug-ins, accounts, wall tokens."""
    with session_scope(engine) as s:
        return {
            "sites": sites.list_sites(session=s),
            "chargers": chargers.list_chargers(session=s),
            "vehicles": vehicles.list_vehicles(session=s),
            "unknown": [{**vars(u), "label": u.label} for u in recognition.unknown_plugins(session=s)],
            "users": people.list_users(session=s),
            "wall_tokens": people.list_wall_tokens(session=s),
        }


def setup_steps(*, engine: Engine | None = None) -> list[dict]:
    """What a fresh install sets up first, in order, and whether it is done: site, chargers, vehicles, meter."""
    meter_table = getattr(models, "SiteMeter", None)  # the site meters' table (core.meters)
    with session_scope(engine) as s:

        def count(table) -> int:
            return s.exec(select(func.count()).select_from(table)).one() if table is not None else 0

        return [
            {"step": "Add a site", "short": "add a site", "href": "/admin/sites", "done": count(models.Site) > 0},
            {
                "step": "Register its chargers",
                "short": "chargers",
                "href": "/admin/chargers",
                "done": count(models.Charger) > 0,
            },
            {
                "step": "Add the vehicles",
                "short": "vehicles",
                "href": "/admin/vehicles",
                "done": count(models.Vehicle) > 0,
            },
            {
                "step": "Configure the site meter",
                "short": "meter",
                "href": "/admin/meters",
                "done": count(meter_table) > 0,
            },
        ]


def _present(values: dict) -> dict:
    """The form's fields that were filled in (an empty field of an edit leaves the value as it is)."""
    return {k: v for k, v in values.items() if v not in (None, "")}


def save_site(*, actor: str, values: dict, engine: Engine | None = None) -> str:
    """Add the site, or change it when its id exists; returns its id."""
    fields = _present(values)
    site_id = str(fields.pop("id", "") or "").strip()
    tariff = fields.pop("tariff", None)
    with session_scope(engine) as s:
        if site_id and s.get(models.Site, site_id) is not None:
            sites.edit_site(session=s, actor=actor, site_id=site_id, tariff=tariff, **fields)
        else:
            for name in ("name", "import_limit_kw", "export_limit_kw"):
                fields.setdefault(name, None)
            sites.add_site(session=s, actor=actor, site_id=site_id, tariff=tariff, **fields)
    return site_id


def add_charger(*, actor: str, values: dict, engine: Engine | None = None) -> str:
    """Register a charger; returns its password (to be shown once)."""
    fields = _present(values)
    charger_id = fields.pop("id", "")
    fields["accepts_negative_limits"] = bool(values.get("accepts_negative_limits"))
    _, password = _run(chargers.add_charger, engine, actor=actor, charger_id=charger_id, **fields)
    return password


def rotate_charger_password(*, actor: str, charger_id: str, engine: Engine | None = None) -> str:
    return _run(chargers.rotate_password, engine, actor=actor, charger_id=charger_id)


def retire_charger(*, actor: str, charger_id: str, engine: Engine | None = None) -> None:
    _run(chargers.retire_charger, engine, actor=actor, charger_id=charger_id)


def _vehicle_fields(values: dict) -> dict:
    errors = FieldErrors()
    fields = _present(values)
    for pct, fraction in VEHICLE_PERCENT_FIELDS.items():
        if pct in fields:
            raw = fields.pop(pct)
            try:
                fields[fraction] = float(raw) / 100
            except (TypeError, ValueError):
                errors.add(pct, f"must be a number, got {raw!r}")
    if "v2g_allowed" in values:
        fields["v2g_allowed"] = bool(values["v2g_allowed"])
    errors.raise_if_any()
    return fields


def add_vehicle(*, actor: str, values: dict, engine: Engine | None = None) -> str:
    fields = _vehicle_fields(values)
    vehicle_id = fields.pop("id", "")
    try:
        _run(vehicles.add_vehicle, engine, actor=actor, vehicle_id=vehicle_id, **fields)
    except ValidationError as exc:  # name the form's % fields as the form does
        back = {fraction: pct for pct, fraction in VEHICLE_PERCENT_FIELDS.items()}
        raise ValidationError({back.get(k, k): m for k, m in exc.errors.items()}) from None
    return vehicle_id


def retire_vehicle(*, actor: str, vehicle_id: str, engine: Engine | None = None) -> None:
    _run(vehicles.retire_vehicle, engine, actor=actor, vehicle_id=vehicle_id)


def import_vehicles(*, actor: str, site_id: str, text: str, engine: Engine | None = None) -> list[str]:
    return _run(vehicle_csv.import_vehicles, engine, actor=actor, site_id=site_id, text=text)


def assign_vehicle(*, actor: str, session_id: int, vehicle_id: str, engine: Engine | None = None) -> None:
    _run(recognition.assign_vehicle, engine, actor=actor, session_id=session_id, vehicle_id=vehicle_id)


def add_user(*, actor: str, username: str, password: str, role: str, engine: Engine | None = None) -> None:
    _run(people.add_user, engine, actor=actor, username=(username or "").strip(), password=password or "", role=role)


def set_role(*, actor: str, username: str, role: str, engine: Engine | None = None) -> None:
    _run(people.set_role, engine, actor=actor, username=username, role=role)


def reset_password(*, actor: str, username: str, password: str, engine: Engine | None = None) -> int:
    return _run(people.reset_password, engine, actor=actor, username=username, password=password or "")


def set_disabled(*, actor: str, username: str, disabled: bool, engine: Engine | None = None) -> None:
    _run(people.set_disabled, engine, actor=actor, username=username, disabled=disabled)


def change_own_password(*, username: str, old_password: str, new_password: str, engine: Engine | None = None) -> int:
    return _run(
        people.change_own_password,
        engine,
        username=username,
        old_password=old_password or "",
        new_password=new_password or "",
    )


def create_wall_token(*, actor: str, label: str, engine: Engine | None = None) -> tuple[int, str]:
    return _run(people.create_wall_token, engine, actor=actor, label=label or "")


def revoke_wall_token(*, actor: str, token_id: int, engine: Engine | None = None) -> None:
    _run(people.revoke_wall_token, engine, actor=actor, token_id=token_id)
