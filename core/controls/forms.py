"""The settings page's forms as service calls: which setter a form calls with which of its values.

A form's values are what the browser sends: SoC in % (0-100), dates as YYYY-MM-DD, times as local
HH:MM, weekdays as a list of digits (Monday = "0"). `values["vehicle"]` None means the fleet default
on the floor form and "all vehicles" (site-wide) on the window form. The preview
(core.planning.preview_change) and the save run the same change (`form_change`), so what is
previewed is what is saved, by the same rules as the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import models
from core.clock import now
from core.controls.departures import set_departure_override, set_departure_schedule, vehicle_timezone
from core.controls.overrides import start_override
from core.controls.site_settings import set_site_settings
from core.controls.v2g import add_v2g_window, set_v2g_off
from core.controls.validation import FieldErrors, ValidationError, time_of_day
from core.controls.vehicles import set_soc_floor, set_target
from core.db import session_scope
from core.rules.local_time import local_datetime

FORMS = ("floor", "target", "departure", "oneoff", "window", "v2g_off", "site", "override")

# Service error keys that belong to another field of the form.
FIELD_ALIASES = {
    "oneoff": {"departs_at": "departs_time"},
    "override": {"until": "minutes"},
    "v2g_off": {"vehicle": "target", "charger": "target"},
}


def _fraction(value) -> float | None:
    """A % value as a fraction; what is not a number goes on as it is, for the setter to report."""
    if value in (None, ""):
        return None
    try:
        return float(value) / 100.0
    except (TypeError, ValueError):
        return value


def _parse_date(errors: dict, name: str, value) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        errors[name] = "a date (YYYY-MM-DD)"
        return None


def _days(value) -> str:
    return "".join(value or [])


def form_change(
    form: str, values: dict, *, actor: str, confirmed: bool = False
) -> Callable[[Session], models.AuditEvent]:
    """A function session -> AuditEvent that applies the form's values through the setters.

    Parse errors of the form itself (dates, minutes) are merged with the setter's errors, so every
    invalid field is reported at once and nothing is saved while any is invalid. `confirmed` answers
    the setters' confirmation questions (a site-wide window, V2G back on). ValueError for an unknown form.
    """
    errors: dict[str, str] = {}
    v = values

    if form == "floor":
        def call(s):
            return set_soc_floor(session=s, actor=actor, vehicle_id=v.get("vehicle"), floor=_fraction(v.get("floor")))
    elif form == "target":
        def call(s):
            return set_target(session=s, actor=actor, vehicle_id=v.get("vehicle"), target=_fraction(v.get("target")))
    elif form == "departure":
        def call(s):
            return set_departure_schedule(
                session=s, actor=actor, vehicle_id=v.get("vehicle"), weekdays=_days(v.get("weekdays")),
                departure_time=v.get("departure_time"), target=_fraction(v.get("target")),
            )
    elif form == "oneoff":
        day = _parse_date(errors, "departs_date", v.get("departs_date"))
        if not v.get("departs_date"):
            errors["departs_date"] = "required"

        def call(s):
            # date + time of day on the site's clock -> the UTC instant the setter takes
            timezone = vehicle_timezone(session=s, vehicle_id=v.get("vehicle") or "")
            departs_at = None
            if timezone is not None and day is not None and v.get("departs_time"):
                hhmm = time_of_day(FieldErrors(), "departs_time", v["departs_time"])  # the rule of every time field
                if hhmm is None:
                    errors["departs_time"] = "a time of day as HH:MM"
                else:
                    departs_at = local_datetime(timezone, day, hhmm)
            elif not v.get("departs_time"):
                errors["departs_time"] = "required"
            if departs_at is None and errors:
                raise ValidationError({})
            return set_departure_override(
                session=s, actor=actor, vehicle_id=v.get("vehicle"), departs_at=departs_at, target=_fraction(v.get("target"))
            )
    elif form == "window":
        date_from = _parse_date(errors, "date_from", v.get("date_from"))
        date_to = _parse_date(errors, "date_to", v.get("date_to"))

        def call(s):
            return add_v2g_window(
                session=s, actor=actor, vehicle_id=v.get("vehicle"), weekdays=_days(v.get("weekdays")),
                start_time=v.get("start_time"), end_time=v.get("end_time"), date_from=date_from, date_to=date_to,
                confirm_fleet_discharge=confirmed,
            )
    elif form == "v2g_off":
        kind, _, ident = str(v.get("target") or "").partition(":")

        def call(s):
            return set_v2g_off(
                session=s, actor=actor, off=v.get("off") != "on", confirm=confirmed,
                vehicle_id=ident if kind == "vehicle" else None, charger_id=ident if kind == "charger" else None,
            )
    elif form == "site":
        def call(s):
            return set_site_settings(
                session=s, actor=actor, import_limit_kw=v.get("import_limit_kw"), export_limit_kw=v.get("export_limit_kw"),
                degradation_cost_per_kwh=v.get("degradation_cost_per_kwh"), dispatch_interval_s=v.get("dispatch_interval_s"),
            )
    elif form == "override":
        minutes = v.get("minutes")
        if not isinstance(minutes, int | float) or minutes <= 0:
            errors["minutes"] = "a number of minutes, more than 0"

        def call(s):
            until = now() + timedelta(minutes=minutes) if "minutes" not in errors else None
            return start_override(session=s, actor=actor, vehicle_id=v.get("vehicle"), kind=v.get("kind"), until=until)
    else:
        raise ValueError(f"unknown settings form {form!r}")

    def apply(session: Session) -> models.AuditEvent:
        try:
            event = call(session)
        except ValidationError as exc:
            raise ValidationError({**exc.errors, **errors}) from None
        if errors:
            raise ValidationError(errors)
        return event

    return apply


def save_form(
    form: str, values: dict, *, actor: str, confirmed: bool = False, engine: Engine | None = None
) -> dict:
    """Apply the form in a transaction of its own; {"audit_id", "saved_at" (ISO)} of its audit row.

    ValidationError / PermissionDenied as the setter raises them, with nothing saved.
    """
    with session_scope(engine) as session:
        event = form_change(form, values, actor=actor, confirmed=confirmed)(session)
        return {"audit_id": event.id, "saved_at": event.time.isoformat()}


def field_errors(form: str, errors: dict[str, str], names: list[str]) -> dict[str, str]:
    """The errors by the form's field names: service keys mapped onto their field (FIELD_ALIASES),
    others shown on the first field with their key; the confirmation question is not a field error."""
    out: dict[str, str] = {}
    for key, message in errors.items():
        name = FIELD_ALIASES.get(form, {}).get(key, key)
        if name in names:
            out.setdefault(name, message)
        elif key != "confirm":
            out.setdefault(names[0], f"{key}: {message}")
    return out
