"""What every operator setting is checked against: the error types, the field validators, look-ups
that report a missing site or vehicle as a field error, and the actor and role checks.

A setter collects every problem in a `FieldErrors` and raises them together (`raise_if_any`), so the
operator sees every invalid field at once and nothing is written while any is invalid.
"""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session, select

from core import models
from core.errors import FieldErrors, PermissionDenied, ValidationError  # noqa: F401  (re-exported)
from core.sites import NoSiteError, get_site
from core.users import ROLES_RANK

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_WEEKDAYS = re.compile(r"^[0-6]{1,7}$")


# --- field validators: the value, or None with a message in `errors` ----------------------------


def soc_fraction(errors: FieldErrors, name: str, value: Any, *, required: bool = True) -> float | None:
    """A SoC fraction 0-1, or None (with an error when required)."""
    if value is None or value == "":
        if required:
            errors.add(name, "required")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(name, "must be a number")
        return None
    if not 0.0 <= number <= 1.0 or number != number:
        errors.add(name, "must be between 0 and 100 %")
        return None
    return number


def positive_number(errors: FieldErrors, name: str, value: Any, *, allow_zero: bool = False) -> float | None:
    """A number more than 0 (or 0 and more with `allow_zero`)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors.add(name, "required" if value in (None, "") else "must be a number")
        return None
    if number != number or number < 0 or (number == 0 and not allow_zero):
        errors.add(name, "must be zero or more" if allow_zero else "must be more than 0")
        return None
    return number


def time_of_day(errors: FieldErrors, name: str, value: Any) -> str | None:
    """A local time of day as HH:MM (00:00-23:59)."""
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        errors.add(name, "a time of day as HH:MM (00:00-23:59)")
        return None
    return value.strip()


def weekday_digits(errors: FieldErrors, name: str, value: Any) -> str | None:
    """Weekdays as sorted digits, Monday = 0 ("01234"); a list of digits is accepted too."""
    if isinstance(value, list | tuple | set):
        value = "".join(str(v) for v in value)
    if not isinstance(value, str) or not _WEEKDAYS.match(value) or len(set(value)) != len(value):
        errors.add(name, "pick at least one weekday")
        return None
    return "".join(sorted(value))


# --- look-ups and who may change what ------------------------------------------------------------


def site_or_error(session: Session, site_id: str | None) -> models.Site:
    """The site `site_id` (the first site when None); ValidationError {"site": ...} when there is none."""
    try:
        return get_site(session=session, site_id=site_id)
    except NoSiteError:
        raise ValidationError({"site": "no site configured" if site_id is None else f"no site {site_id!r}"}) from None


def vehicle_or_error(
    session: Session, vehicle_id: str | None, errors: FieldErrors, name: str = "vehicle"
) -> models.Vehicle | None:
    """The vehicle, or None with a field error (unknown or missing id)."""
    vehicle = session.get(models.Vehicle, vehicle_id) if vehicle_id else None
    if vehicle is None:
        errors.add(name, f"no vehicle {vehicle_id!r}" if vehicle_id else "required")
    return vehicle


def require_actor(actor: str) -> None:
    """Every change names who makes it (it goes to the audit log)."""
    if not actor or not str(actor).strip():
        raise ValidationError({"actor": "who makes the change is required"})


def require_role(session: Session, actor: str, role: str) -> None:
    """The actor must be an account with at least `role` (used for admin-only settings)."""
    user = session.exec(select(models.User).where(models.User.username == actor)).first()
    if user is None or ROLES_RANK.get(user.role, -1) < ROLES_RANK[role]:
        raise PermissionDenied(f"{actor!r} is not allowed to do this: {role} only")
