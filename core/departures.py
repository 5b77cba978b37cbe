"""Departures: when a vehicle leaves and with what SoC, and how each vehicle did leave.

- In force: the operators' pending one-off departure (core.controls) first, then their weekly
  schedule, then the vehicle's usual departure, then what the vehicle reported on plug-in, else a
  stay of 24 hours; the target from the one-off, else the schedule, else the vehicle
  (`departure_in_force`; `departures_in_force` for a whole fleet in two queries). The live
  forecast (core.telemetry) and the outcomes read it here; it is the rule core.planning.state
  plans with, which is to call these rather than keep its own copy.
- Outcomes: `record_departure`, called by the gateway in the transaction that ends a plug-in
  session, stores one DepartureOutcome: met, or short by how many kWh and why (left early, not
  reachable in the time plugged in, the charger ignored its profile, the plan was short). "Met"
  is core.rules.departure_forecast's rule, the one the live forecast uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core import controls, models
from core.rules.departure_forecast import Battery, advance_soc, meets_target, short_kwh, tolerance_kwh
from core.rules.local_time import next_local_time, to_local
from core.rules.taper import taper_start_soc_of

# Without any departure known, a vehicle is planned to stay this long.
DEFAULT_STAY = timedelta(hours=24)
# A weekly schedule's next departure is looked for this many days ahead.
SCHEDULE_LOOKAHEAD_DAYS = 8
# A vehicle that leaves more than this before its planned departure "left early".
LEFT_EARLY_GRACE = timedelta(minutes=5)
# Profile answers after which the charger did not take its profile.
FAILED_PROFILE_STATUSES = ("Rejected", "CallError", "Timeout", "Offline")

InForce = tuple[datetime, str, float]  # departure, where it comes from, target SoC


# --- in force --------------------------------------------------------------------------------------


def next_scheduled_departure(at: datetime, schedule: models.DepartureSchedule, timezone: str) -> datetime | None:
    """The next departure of a weekly schedule after `at` (within the coming 8 days)."""
    candidate = next_local_time(at, schedule.departure_time, timezone)
    for _ in range(SCHEDULE_LOOKAHEAD_DAYS):
        if str(to_local(candidate, timezone).weekday()) in schedule.weekdays:
            return candidate
        candidate = next_local_time(candidate, schedule.departure_time, timezone)
    return None


def choose_departure(
    *,
    vehicle: models.Vehicle,
    one_off: models.DepartureOverride | None,
    schedule: models.DepartureSchedule | None,
    timezone: str,
    at: datetime,
) -> tuple[datetime | None, str, float]:
    """Of the operators' settings, the one in force at `at`: the pending one-off departure (the
    soonest) when it comes before the schedule's next departure, else the enabled schedule;
    (None, "", the vehicle's target) when neither applies."""
    recurring = next_scheduled_departure(at, schedule, timezone) if schedule else None
    if one_off is not None and (recurring is None or one_off.departs_at <= recurring):
        if one_off.target_soc is not None:
            target = one_off.target_soc
        else:
            target = schedule.target_soc if schedule else vehicle.target_soc
        return one_off.departs_at, "override", target
    if recurring is not None:
        return recurring, "schedule", schedule.target_soc
    return None, "", vehicle.target_soc


def _with_fallbacks(
    chosen: tuple[datetime | None, str, float], *, vehicle: models.Vehicle, timezone: str,
    plug: models.PlugSession, at: datetime,
) -> InForce:
    departure, source, target_soc = chosen
    if departure is not None:
        return departure, source, target_soc
    if vehicle.usual_departure:
        return next_local_time(at, vehicle.usual_departure, timezone), "usual", target_soc
    if plug.departure_at is not None:
        return plug.departure_at, "vehicle", target_soc
    return at + DEFAULT_STAY, "default", target_soc


def operator_departure(
    *, session: Session, vehicle: models.Vehicle, site: models.Site, at: datetime
) -> tuple[datetime | None, str, float]:
    """Departure and target the operators set (core.controls), as `choose_departure` picks them."""
    pending = controls.pending_departure_overrides(session=session, vehicle_id=vehicle.id, at=at)
    schedule = controls.departure_schedule(session=session, vehicle_id=vehicle.id, enabled_only=True)
    return choose_departure(
        vehicle=vehicle, one_off=pending[0] if pending else None, schedule=schedule, timezone=site.timezone, at=at
    )


def departure_in_force(
    *, session: Session, vehicle: models.Vehicle, site: models.Site, plug: models.PlugSession, at: datetime
) -> InForce:
    """When the vehicle leaves, where that comes from, and the SoC it must leave with.

    The operators' departure first, then the vehicle's usual time, then what the vehicle reported on
    plug-in, else a stay of 24 hours.
    """
    chosen = operator_departure(session=session, vehicle=vehicle, site=site, at=at)
    return _with_fallbacks(chosen, vehicle=vehicle, timezone=site.timezone, plug=plug, at=at)


def departures_in_force(
    *,
    session: Session,
    site: models.Site,
    plugged: Sequence[tuple[models.Vehicle, models.PlugSession]],
    at: datetime,
) -> dict[str, InForce]:
    """`departure_in_force` for every (vehicle, plug-in session) of the site at once, in two queries."""
    if not plugged:
        return {}
    of_site = models.Vehicle.site_id == site.id
    schedules = {
        s.vehicle_id: s
        for s in session.exec(
            select(models.DepartureSchedule)
            .join(models.Vehicle, models.Vehicle.id == models.DepartureSchedule.vehicle_id)
            .where(of_site)
            .where(models.DepartureSchedule.enabled)
        )
    }
    one_offs: dict[str, models.DepartureOverride] = {}
    # The same "pending" as core.controls.in_force.pending_departure_overrides, for many vehicles.
    for row in session.exec(
        select(models.DepartureOverride)
        .join(models.Vehicle, models.Vehicle.id == models.DepartureOverride.vehicle_id)
        .where(of_site)
        .where(col(models.DepartureOverride.cancelled_at).is_(None))
        .where(models.DepartureOverride.departs_at > at)
        .order_by(col(models.DepartureOverride.departs_at).desc())
    ):
        one_offs[row.vehicle_id] = row  # the soonest wins (read last)
    found = {}
    for vehicle, plug in plugged:
        chosen = choose_departure(
            vehicle=vehicle, one_off=one_offs.get(vehicle.id), schedule=schedules.get(vehicle.id),
            timezone=site.timezone, at=at,
        )
        found[vehicle.id] = _with_fallbacks(chosen, vehicle=vehicle, timezone=site.timezone, plug=plug, at=at)
    return found


# --- outcomes --------------------------------------------------------------------------------------


def record_departure(*, session: Session, plug: models.PlugSession) -> models.DepartureOutcome | None:
    """Store how the vehicle of this just-ended session left, in the caller's transaction (once per
    session: a stop sent again changes nothing). None when the vehicle is unknown.

    The target is the one in force when it plugged in (the operators' departure settings, else the
    vehicle's); the SoC at departure its last SoC of the stay. When short, why: it left early, the
    target was not reachable at full power in the time it was plugged in, the charger did not take
    or follow its profile, or else the plan was short.
    """
    if plug.vehicle_id is None or plug.ended_at is None or plug.id is None:
        return None
    outcome = models.DepartureOutcome
    existing = session.exec(select(outcome).where(outcome.session_id == plug.id)).first()
    if existing is not None:
        return existing
    vehicle = session.get(models.Vehicle, plug.vehicle_id)
    charger = session.get(models.Charger, plug.charger_id)
    if vehicle is None or charger is None:
        return None
    site = session.get(models.Site, vehicle.site_id)
    session.flush()  # the readings that came with the stop are the last of the stay
    planned, _source, target = departure_in_force(session=session, vehicle=vehicle, site=site, plug=plug, at=plug.started_at)
    first, last = _stay_socs(session, plug)
    soc = last[1] if last else None
    row = outcome(
        session_id=plug.id, vehicle_id=vehicle.id, charger_id=charger.id, departed_at=plug.ended_at,
        planned_departure_at=planned, target_soc=target, soc_at_departure=soc,
    )
    if soc is None:
        row.reason = "SoC at departure unknown"
    elif meets_target(soc, target, vehicle.battery_kwh):
        row.met, row.short_kwh = True, 0.0
    else:
        row.short_kwh = round(short_kwh(soc, target, vehicle.battery_kwh), 2)
        battery = Battery(
            vehicle.battery_kwh, min(charger.max_charge_kw, vehicle.max_charge_kw), charger.efficiency,
            taper_start_soc_of(vehicle),
        )
        row.reason = _why_short(session, plug=plug, site=site, planned=planned, target=target, first=first,
                                soc=soc, battery=battery, missing_kwh=row.short_kwh)
    session.add(row)
    return row


def _stay_socs(
    session: Session, plug: models.PlugSession
) -> tuple[tuple[datetime, float] | None, tuple[datetime, float] | None]:
    """The first and the last (time, SoC) the charger reported during the stay."""
    sample = models.MeterSample
    query = (
        select(sample.time, sample.soc)
        .where(sample.charger_id == plug.charger_id)
        .where(sample.time >= plug.started_at)
        .where(sample.time <= plug.ended_at)
        .where(col(sample.soc).is_not(None))
    )
    first = session.exec(query.order_by(col(sample.time)).limit(1)).first()
    last = session.exec(query.order_by(col(sample.time).desc()).limit(1)).first()
    return (tuple(first) if first else None), (tuple(last) if last else None)


def _why_short(
    session: Session, *, plug: models.PlugSession, site: models.Site, planned: datetime, target: float,
    first: tuple[datetime, float] | None, soc: float, battery: Battery, missing_kwh: float,
) -> str:
    left = plug.ended_at
    if left < planned - LEFT_EARLY_GRACE:
        return f"left early (planned {_local(planned, left, site.timezone)}, left {_local(left, planned, site.timezone)})"
    if first is not None:
        start, soc_start = first
        reachable = advance_soc(soc_start, start=start, end=left, schedule=[(start, battery.max_charge_kw)], battery=battery)
        if not meets_target(reachable, target, battery.battery_kwh):
            return "not reachable in the time plugged in"
    commands = session.exec(
        select(models.ChargingProfileCommand)
        .where(models.ChargingProfileCommand.charger_id == plug.charger_id)
        .where(models.ChargingProfileCommand.action == "set")
        .where(models.ChargingProfileCommand.created_at >= plug.started_at)
        .where(models.ChargingProfileCommand.created_at <= left)
        .order_by(col(models.ChargingProfileCommand.id))
    ).all()
    if commands and commands[-1].status in FAILED_PROFILE_STATUSES:
        return f"charger ignored its profile (last profile: {commands[-1].status})"
    if first is not None:
        told = profiles_followed(commands, start=first[0], end=left, default_kw=battery.max_charge_kw)
        expected = advance_soc(first[1], start=first[0], end=left, schedule=told, battery=battery)
        lost_kwh = (expected - soc) * battery.battery_kwh
        if lost_kwh > tolerance_kwh(battery.battery_kwh):
            if _guard_caps(session, plug=plug, left=left):
                return f"held back by the site-limit guard ({lost_kwh:.1f} kWh less than its plan gives)"
            return f"charger ignored its profile ({lost_kwh:.1f} kWh less than its profile gives)"
    return f"plan short by {missing_kwh:.1f} kWh"


def _guard_caps(session: Session, *, plug: models.PlugSession, left: datetime) -> int:
    """How many site-limit or floor caps (the gateway's guard) the charger took during the stay."""
    return len(session.exec(
        select(models.ChargingProfileCommand.id)
        .where(models.ChargingProfileCommand.charger_id == plug.charger_id)
        .where(models.ChargingProfileCommand.action == "guard")
        .where(models.ChargingProfileCommand.status == "Accepted")
        .where(models.ChargingProfileCommand.created_at >= plug.started_at)
        .where(models.ChargingProfileCommand.created_at <= left)
    ).all())


def profiles_followed(
    commands: Sequence[models.ChargingProfileCommand], *, start: datetime, end: datetime, default_kw: float
) -> list[tuple[datetime, float]]:
    """The schedule a charger was told to follow from `start` to `end`: the safe default (charge at
    `default_kw`) until it accepted a profile, then each accepted profile from its answer on."""
    periods = [(start, default_kw)]
    accepted = sorted((c for c in commands if c.status == "Accepted" and c.answered_at), key=lambda c: c.answered_at)
    for k, command in enumerate(accepted):
        since = max(command.answered_at, start)
        until = min(accepted[k + 1].answered_at, end) if k + 1 < len(accepted) else end
        if until <= since:
            continue
        entries = [(datetime.fromisoformat(s), float(kw)) for s, kw in command.schedule or []]
        current = [kw for s, kw in entries if s <= since]
        periods.append((since, current[-1] if current else default_kw))
        periods.extend((s, kw) for s, kw in entries if since < s < until)
    return periods


def _local(at: datetime, other: datetime, timezone: str) -> str:
    """`at` on the site's clock, HH:MM, with the weekday when `other` falls on another local day."""
    local, other_local = to_local(at, timezone), to_local(other, timezone)
    return local.strftime("%H:%M" if local.date() == other_local.date() else "%a %H:%M")

