"""Configuring the site's meters: validate -> store -> audit (admins only). The command line
(`python -m core.admin meter ...`) and the Meters admin page both call these.

Bad input raises ValidationError naming each bad field (a register map's point as
`registers.net_import_kw`) and stores nothing. The gateway picks a change up within its meter
runner's reload interval.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlmodel import Session, select

from core import models
from core.audit import write_audit
from core.errors import FieldErrors, ValidationError
from core.meters.spec import (
    KINDS,
    NET_IMPORT,
    NET_IMPORT_SIGNS,
    OCPP_QUANTITIES,
    QUANTITIES,
    SUNSPEC_QUANTITIES,
    check_paths,
    check_registers,
    parse_json,
)
from core.users import require_admin

FIELDS = (
    "name", "site_id", "kind", "enabled", "host", "port", "unit_id", "sunspec", "registers", "topic", "paths",
    "charger_id", "poll_interval_s", "quantities", "net_import_sign",
)  # fmt: skip
DEFAULT_PORTS = {"modbus": 502, "mqtt": 1883}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_HOST = re.compile(r"^[A-Za-z0-9_.:-]{1,253}$")
MIN_POLL_S, MAX_POLL_S = 0.1, 3600.0


def meter_dict(row: models.SiteMeter) -> dict:
    """A meter's configuration as plain values (the audit row, the command line's list)."""
    return {name: getattr(row, name) for name in FIELDS}


def list_meters(*, session: Session, site_id: str | None = None) -> list[models.SiteMeter]:
    """The configured meters (of one site), by name."""
    statement = select(models.SiteMeter).order_by(models.SiteMeter.name)
    if site_id is not None:
        statement = statement.where(models.SiteMeter.site_id == site_id)
    return list(session.exec(statement).all())


def get_meter(*, session: Session, name: str) -> models.SiteMeter:
    """The meter called `name`; ValidationError on "name" when there is none."""
    row = session.exec(select(models.SiteMeter).where(models.SiteMeter.name == str(name).strip())).first()
    if row is None:
        raise ValidationError({"name": f"no meter called {name!r}"})
    return row


def add_meter(*, session: Session, actor: str, **fields: Any) -> models.SiteMeter:
    """A new meter (admins only). Fields as in FIELDS; `site_id` may be left out where there is one site."""
    require_admin(session, actor)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: "not a meter setting"})
    values = validate(session=session, values=fields, meter_id=None)
    row = models.SiteMeter(**values)
    session.add(row)
    session.flush()
    write_audit(session=session, actor=actor, action="site_meter.add", target=row.name, after=meter_dict(row))
    return row


def edit_meter(*, session: Session, actor: str, name: str, **changes: Any) -> models.SiteMeter:
    """Change some settings of meter `name` (admins only); the others stay as they are."""
    require_admin(session, actor)
    row = get_meter(session=session, name=name)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValidationError({unknown[0]: "not a meter setting"})
    before = meter_dict(row)
    merged = {**before, **changes}
    # Settings that follow from a changed one are reset unless given too: those of the kind left
    # behind; a map's quantities when the map changes; the map when SunSpec discovery is switched.
    follows = {"kind": ("registers", "paths", "quantities", "sunspec"), "sunspec": ("registers", "quantities"),
               "registers": ("quantities",), "paths": ("quantities",)}  # fmt: skip
    for key, dependents in follows.items():
        if key in changes and changes[key] != before[key]:
            for dependent in dependents:
                if dependent not in changes:
                    merged[dependent] = models.SiteMeter.model_fields[dependent].get_default(call_default_factory=True)
    values = validate(session=session, values=merged, meter_id=row.id)
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()
    write_audit(
        session=session, actor=actor, action="site_meter.edit", target=row.name, before=before, after=meter_dict(row)
    )
    return row


def remove_meter(*, session: Session, actor: str, name: str) -> None:
    """Remove meter `name` (admins only). Its site samples stay."""
    require_admin(session, actor)
    row = get_meter(session=session, name=name)
    before = meter_dict(row)
    session.delete(row)
    session.flush()
    write_audit(session=session, actor=actor, action="site_meter.remove", target=before["name"], before=before)


# --- validation ----------------------------------------------------------------------------------


def _whole(errors: FieldErrors, name: str, value: Any, low: int, high: int, default: int | None) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            errors.add(name, "required")
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(name, f"must be a whole number, got {value!r}")
        return None
    if isinstance(value, bool) or not number.is_integer() or not low <= number <= high:
        errors.add(name, f"must be a whole number {low}-{high}, got {value!r}")
        return None
    return int(number)


def _flag(errors: FieldErrors, name: str, value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    errors.add(name, f"yes or no, got {value!r}")
    return default


def _quantities(errors: FieldErrors, value: Any, allowed: tuple[str, ...], default: list[str]) -> list[str]:
    if value is None or value == "" or value == []:
        return list(default)
    items = [q.strip() for q in value.split(",")] if isinstance(value, str) else list(value)
    bad = [q for q in items if q not in allowed]
    if bad:
        errors.add("quantities", f"{bad[0]!r} is not one this meter can give: {', '.join(allowed)}")
        return []
    return list(dict.fromkeys(items))


def _site(errors: FieldErrors, session: Session, site_id: Any) -> str | None:
    if site_id is None or not str(site_id).strip():
        sites = session.exec(select(models.Site.id)).all()
        if len(sites) == 1:
            return sites[0]
        errors.add("site_id", "required (the database holds more than one site)" if sites else "no site yet")
        return None
    if session.get(models.Site, str(site_id).strip()) is None:
        errors.add("site_id", f"no site {site_id!r}")
        return None
    return str(site_id).strip()


def validate(*, session: Session, values: dict, meter_id: int | None) -> dict:
    """Every field of a meter checked and normalised; ValidationError naming each bad field."""
    errors = FieldErrors()
    out: dict[str, Any] = {}
    name = str(values.get("name") or "").strip()
    if not _NAME.match(name):
        errors.add("name", "1-48 letters, digits, '.', '_' or '-' (starting with a letter or digit)")
    else:
        other = session.exec(select(models.SiteMeter).where(models.SiteMeter.name == name)).first()
        if other is not None and other.id != meter_id:
            errors.add("name", f"a meter called {name!r} already exists")
    out["name"] = name
    out["site_id"] = _site(errors, session, values.get("site_id"))
    kind = str(values.get("kind") or "").strip()
    if kind not in KINDS:
        errors.add("kind", f"one of {', '.join(KINDS)}, got {kind!r}")
    out["kind"] = kind
    out["enabled"] = _flag(errors, "enabled", values.get("enabled"), True)
    poll = values.get("poll_interval_s")
    try:
        out["poll_interval_s"] = 5.0 if poll in (None, "") else float(poll)
        if (
            isinstance(poll, bool)
            or not math.isfinite(out["poll_interval_s"])
            or not MIN_POLL_S <= out["poll_interval_s"] <= MAX_POLL_S
        ):
            raise ValueError
    except (TypeError, ValueError):
        errors.add("poll_interval_s", f"seconds, {MIN_POLL_S:g}-{MAX_POLL_S:g}, got {poll!r}")
    sign = values.get("net_import_sign") or "import_positive"
    if sign not in NET_IMPORT_SIGNS:
        errors.add("net_import_sign", f"one of {', '.join(NET_IMPORT_SIGNS)}, got {sign!r}")
    out["net_import_sign"] = sign
    out.update(_by_kind(errors, session, kind, values, site_id=out["site_id"]))
    _no_quantity_twice(errors, session, out, meter_id)
    errors.raise_if_any()
    return out


def _by_kind(errors: FieldErrors, session: Session, kind: str, values: dict, *, site_id: str | None) -> dict:
    """The settings of the meter's kind; those of the other kinds are cleared."""
    out: dict[str, Any] = {"host": None, "port": None, "unit_id": 1, "sunspec": False, "registers": {},
                           "topic": None, "paths": {}, "charger_id": None, "quantities": []}  # fmt: skip
    if kind in ("modbus", "mqtt"):
        host = str(values.get("host") or "").strip()
        if not _HOST.match(host):
            errors.add("host", "required: a host name or IP address" if not host else f"not a host name: {host!r}")
        out["host"] = host
        out["port"] = _whole(errors, "port", values.get("port"), 1, 65535, DEFAULT_PORTS[kind])
    if kind == "modbus":
        out["unit_id"] = _whole(errors, "unit_id", values.get("unit_id"), 0, 255, 1)
        out["sunspec"] = _flag(errors, "sunspec", values.get("sunspec"), False)
        registers = parse_json(errors, "registers", values.get("registers"))
        if out["sunspec"]:
            if registers:
                errors.add("registers", "leave empty for a SunSpec meter (its registers are found by discovery)")
            out["quantities"] = _quantities(errors, values.get("quantities"), SUNSPEC_QUANTITIES, [NET_IMPORT])
        elif registers is not None:
            if not registers:
                errors.add("registers", "a register map is required for a meter that is not SunSpec (or use --sunspec)")
            else:
                out["registers"] = check_registers(errors, "registers", registers) or {}
                out["quantities"] = list(out["registers"])
    elif kind == "mqtt":
        topic = str(values.get("topic") or "").strip() or None
        out["topic"] = topic
        paths = parse_json(errors, "paths", values.get("paths"))
        if paths is not None:
            if not paths:
                errors.add("paths", "required: {quantity: JSON path or {topic, path, scale, sign}}")
            else:
                out["paths"] = check_paths(errors, "paths", paths, topic=topic) or {}
                out["quantities"] = list(out["paths"])
    elif kind == "ocpp":
        charger_id = str(values.get("charger_id") or "").strip()
        charger = session.get(models.Charger, charger_id) if charger_id else None
        if charger is None:
            errors.add(
                "charger_id",
                f"no charger {charger_id!r}" if charger_id else "required: the charger whose main meter it is",
            )
        elif site_id is not None and charger.site_id != site_id:
            errors.add("charger_id", f"charger {charger_id!r} is at site {charger.site_id!r}, not {site_id!r}")
        out["charger_id"] = charger_id or None
        out["quantities"] = _quantities(errors, values.get("quantities"), OCPP_QUANTITIES, [NET_IMPORT])
    if kind in KINDS and values.get("quantities") and kind != "ocpp" and not out["sunspec"]:
        given = _quantities(errors, values.get("quantities"), QUANTITIES, [])
        if given and set(given) != set(out["quantities"]):
            errors.add("quantities", f"the map gives {', '.join(out['quantities']) or 'nothing'}; leave quantities out")
    return out


def _no_quantity_twice(errors: FieldErrors, session: Session, out: dict, meter_id: int | None) -> None:
    """Two enabled meters of one site may not give the same quantity (which one would count?)."""
    if not out.get("enabled") or not out.get("site_id"):
        return
    for other in list_meters(session=session, site_id=out["site_id"]):
        if other.id == meter_id or not other.enabled:
            continue
        both = [q for q in out.get("quantities", []) if q in other.quantities]
        if both:
            errors.add("quantities", f"meter {other.name!r} already gives {both[0]} for site {out['site_id']!r}")
            return
