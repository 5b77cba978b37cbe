"""What every admin service shares: who may make the change, the audit row, and the field checks
that are not already operator rules (those live in core.controls.validation and are called from there).

Admin changes are made by an admin account (the web pages pass the logged-in user) or by a system
actor, whose name starts with "system:" and so can never be a user name (core.users): the command
line (`system:cli:<login>`, it already holds the database) and the demo seed (`system:demo`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from core.audit import write_audit
from core.errors import FieldErrors
from core.users import SYSTEM_ACTOR_PREFIX, require_admin  # noqa: F401  (require_admin: the one admin check, re-exported)

DEMO_ACTOR = SYSTEM_ACTOR_PREFIX + "demo"
# Ids of sites, chargers and vehicles: what an OCPP identity or a URL segment may hold.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def audit(session: Session, *, actor: str, action: str, target: str, before: dict, after: dict, audited: bool) -> None:
    """The change's audit row, in the caller's transaction (the demo seed alone passes audited=False:
    it installs the demo fixture, which is no one's change, so a reset leaves only the operators' trail)."""
    if audited:
        write_audit(session=session, actor=actor, action=action, target=target, before=before, after=after)


def identifier(errors: FieldErrors, name: str, value: Any) -> str | None:
    """An id: 1-48 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    text = str(value).strip() if value is not None else ""
    if not text:
        errors.add(name, "required")
        return None
    if not _IDENTIFIER.match(text):
        errors.add(name, "1-48 letters, digits, '.', '_' or '-' (starting with a letter or digit)")
        return None
    return text


def text(errors: FieldErrors, name: str, value: Any, *, max_length: int = 100, required: bool = True) -> str | None:
    """A trimmed piece of text of at most `max_length` characters."""
    result = str(value).strip() if value is not None else ""
    if not result:
        if required:
            errors.add(name, "required")
        return None if required else ""
    if len(result) > max_length:
        errors.add(name, f"at most {max_length} characters")
        return None
    return result


def number(
    errors: FieldErrors,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    required: bool = True,
    positive: bool = False,
) -> float | None:
    """A finite number within [low, high] (more than 0 with `positive`); empty gives None (an error when required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(name, "required")
        return None
    if isinstance(value, bool):
        errors.add(name, "must be a number")
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        errors.add(name, f"must be a number, got {value!r}")
        return None
    if not math.isfinite(result):
        errors.add(name, "must be a finite number")
        return None
    if positive and result <= 0:
        errors.add(name, f"must be more than 0, got {result:g}")
        return None
    if low is not None and result < low:
        errors.add(
            name, f"must be zero or more, got {result:g}" if low == 0 else f"must be at least {low:g}, got {result:g}"
        )
        return None
    if high is not None and result > high:
        errors.add(name, f"must be at most {high:g}")
        return None
    return result


def flag(errors: FieldErrors, name: str, value: Any) -> bool | None:
    """A yes/no: a bool, or one of true/false, yes/no, 1/0 (as a CSV or a form gives it)."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if value is not None else ""
    if word in ("1", "true", "yes", "y", "on"):
        return True
    if word in ("0", "false", "no", "n", "off"):
        return False
    errors.add(name, f"yes or no, got {value!r}")
    return None


def timezone(errors: FieldErrors, name: str, value: Any) -> str | None:
    """An IANA time zone name (Europe/Berlin)."""
    zone = str(value).strip() if value is not None else ""
    if not zone:
        errors.add(name, "required")
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add(name, f"unknown time zone {zone!r} (an IANA name such as Europe/Berlin)")
        return None
    return zone


def currency(errors: FieldErrors, name: str, value: Any) -> str | None:
    """An ISO 4217 code: three capital letters (EUR)."""
    code = str(value).strip().upper() if value is not None else ""
    if not _CURRENCY.match(code):
        errors.add(name, f"a three-letter ISO 4217 code such as EUR, got {value!r}")
        return None
    return code


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that differ, for the audit row."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def apply_edit(
    session: Session, *, actor: str, row: Any, values: dict, as_dict: Callable[[Any], dict], action: str, target: str
) -> None:
    """Set checked `values` on `row` and audit only the fields that really changed (none: no row)."""
    before = as_dict(row)
    for key, value in values.items():
        setattr(row, key, value)
    old, new = changed(before, as_dict(row))
    if new:
        audit(session, actor=actor, action=action, target=target, before=old, after=new, audited=True)
