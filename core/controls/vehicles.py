"""SoC floors and targets: a vehicle's floor, the fleet default floor, the site's hard floor and a
vehicle's usual target SoC at departure.

The rules tie them together: hard floor <= every floor <= every target the floor applies to
(the vehicle's own target and its enabled schedule's). SoC values are fractions 0-1; messages speak %.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core import models
from core.controls.changes import record_change
from core.controls.in_force import departure_schedule
from core.controls.validation import (
    FieldErrors,
    require_actor,
    require_role,
    site_or_error,
    soc_fraction,
    vehicle_or_error,
)
from core.rules.discharge import effective_soc_floor


def vehicle_targets(session: Session, vehicle: models.Vehicle) -> list[float]:
    """Every target SoC the vehicle may be asked to reach: its own and its enabled schedule's."""
    targets = [vehicle.target_soc]
    schedule = departure_schedule(session=session, vehicle_id=vehicle.id)
    if schedule is not None and schedule.enabled:
        targets.append(schedule.target_soc)
    return targets


def check_target_above_floor(session: Session, errors: FieldErrors, vehicle: models.Vehicle, target: float) -> None:
    """A target below the vehicle's effective floor could never be met: report it on "target"."""
    floor = effective_soc_floor(vehicle, session.get(models.Site, vehicle.site_id))
    if target < floor:
        errors.add("target", f"must not be below the floor ({floor:.0%})")


def set_soc_floor(
    *, session: Session, actor: str, floor: float | None, vehicle_id: str | None = None, site_id: str | None = None
) -> models.AuditEvent:
    """A vehicle's SoC floor (None: inherit the fleet default), or the fleet default when `vehicle_id` is None.

    Rules: 0-100 %; at or above the hard floor; at or below the target of every vehicle it applies to.
    """
    require_actor(actor)
    errors = FieldErrors()
    if vehicle_id is None:
        site = site_or_error(session, site_id)
        value = soc_fraction(errors, "floor", floor)
        if value is not None and value < site.hard_soc_floor:
            errors.add("floor", f"must be at least the hard floor ({site.hard_soc_floor:.0%})")
        if value is not None and "floor" not in errors:
            inheriting = session.exec(
                select(models.Vehicle).where(models.Vehicle.site_id == site.id).where(col(models.Vehicle.soc_floor).is_(None))
            ).all()
            for v in inheriting:
                lowest = min(vehicle_targets(session, v))
                if value > lowest:
                    errors.add("floor", f"above the target of {v.name} ({lowest:.0%})")
                    break
        errors.raise_if_any()
        before = {"default_soc_floor": site.default_soc_floor}
        site.default_soc_floor = value
        return record_change(
            session=session, actor=actor, action="fleet_soc_floor.set", target=f"site:{site.id}",
            before=before, after={"default_soc_floor": value}, site_id=site.id,
        )

    vehicle = vehicle_or_error(session, vehicle_id, errors)
    value = soc_fraction(errors, "floor", floor, required=False)
    if vehicle is not None and value is not None:
        site = session.get(models.Site, vehicle.site_id)
        lowest = min(vehicle_targets(session, vehicle))
        if value < site.hard_soc_floor:
            errors.add("floor", f"must be at least the hard floor ({site.hard_soc_floor:.0%})")
        elif value > lowest:
            errors.add("floor", f"must not be above the target ({lowest:.0%})")
    errors.raise_if_any()
    before = {"soc_floor": vehicle.soc_floor}
    vehicle.soc_floor = value
    return record_change(
        session=session, actor=actor, action="soc_floor.set", target=f"vehicle:{vehicle.id}",
        before=before, after={"soc_floor": value}, site_id=vehicle.site_id,
    )


def set_hard_floor(*, session: Session, actor: str, hard_floor: float, site_id: str | None = None) -> models.AuditEvent:
    """The site's hard floor, below which no floor may be set (admins only).

    Rules: 0-100 %; at or below the fleet default and every vehicle's own floor and target.
    """
    require_actor(actor)
    site = site_or_error(session, site_id)
    require_role(session, actor, "admin")
    errors = FieldErrors()
    value = soc_fraction(errors, "hard_floor", hard_floor)
    if value is not None:
        if value > site.default_soc_floor:
            errors.add("hard_floor", f"must not be above the fleet default floor ({site.default_soc_floor:.0%})")
        for v in session.exec(select(models.Vehicle).where(models.Vehicle.site_id == site.id)).all():
            if v.soc_floor is not None and value > v.soc_floor:
                errors.add("hard_floor", f"above the floor of {v.name} ({v.soc_floor:.0%})")
            elif value > min(vehicle_targets(session, v)):
                errors.add("hard_floor", f"above the target of {v.name}")
    errors.raise_if_any()
    before = {"hard_soc_floor": site.hard_soc_floor}
    site.hard_soc_floor = value
    return record_change(
        session=session, actor=actor, action="hard_soc_floor.set", target=f"site:{site.id}",
        before=before, after={"hard_soc_floor": value}, site_id=site.id,
    )


def set_target(*, session: Session, actor: str, vehicle_id: str, target: float) -> models.AuditEvent:
    """A vehicle's usual target SoC at departure. Rules: 0-100 %, at or above its effective floor."""
    require_actor(actor)
    errors = FieldErrors()
    vehicle = vehicle_or_error(session, vehicle_id, errors)
    value = soc_fraction(errors, "target", target)
    if vehicle is not None and value is not None:
        check_target_above_floor(session, errors, vehicle, value)
    errors.raise_if_any()
    before = {"target_soc": vehicle.target_soc}
    vehicle.target_soc = value
    return record_change(
        session=session, actor=actor, action="target.set", target=f"vehicle:{vehicle.id}",
        before=before, after={"target_soc": value}, site_id=vehicle.site_id,
    )
