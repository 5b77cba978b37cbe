"""Which profile limit a charger is under at a given time, from the commands it accepted.

One home for "the profile in force" (the outbox orders its changes by it, the site meter estimates
the power between two readings with it): a guard or boost cap (GUARD_STACK_LEVEL) while it lasts,
else the last accepted dispatch profile; None after a default or clear (the safe default: full
charge) or when nothing was ever accepted.

The site meter needs it because a charger reads its power only every meter interval: a reading
taken before a period start (or before a new profile was accepted) no longer says what the charger
draws after it, and summing such readings over- or under-states the site by a whole profile step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from core import models
from core.charging_profiles import valid_to_of
from core.planning import schedule_power_at

CAP_ACTIONS = ("guard", "boost")
LIMIT_ACTIONS = ("set", "default", "clear", *CAP_ACTIONS)


def accepted_commands(
    session: Session, charger_ids: list[str], *, since: datetime
) -> dict[str, list[models.ChargingProfileCommand]]:
    """Charger id -> the profile commands it accepted that may still be in force after `since`
    (oldest first): everything answered after `since`, plus the last dispatch/default/clear before."""
    command = models.ChargingProfileCommand
    if not charger_ids:
        return {}
    rows = session.exec(
        select(command)
        .where(col(command.charger_id).in_(charger_ids))
        .where(command.status == "Accepted")
        .where(col(command.action).in_(LIMIT_ACTIONS))
        .where(col(command.answered_at) >= since)
        .order_by(col(command.id))
    ).all()
    # The last dispatch/default/clear each charger accepted before `since`: one query for all of them.
    last_before = (
        select(func.max(command.id))
        .where(col(command.charger_id).in_(charger_ids))
        .where(command.status == "Accepted")
        .where(col(command.action).in_(("set", "default", "clear")))
        .where(col(command.answered_at) < since)
        .group_by(command.charger_id)
    )
    out: dict[str, list[models.ChargingProfileCommand]] = {c: [] for c in charger_ids}
    for row in session.exec(select(command).where(col(command.id).in_(last_before))):
        out[row.charger_id].append(row)
    for row in rows:
        out[row.charger_id].append(row)
    return out


def limit_in_force_kw(commands: list[models.ChargingProfileCommand], at: datetime) -> float | None:
    """The power limit in force at `at` given a charger's accepted commands (oldest first). A cap sits
    above the dispatch profile (a higher stack level) until it ends, whatever dispatch sends meanwhile."""
    base: float | None = None
    cap: models.ChargingProfileCommand | None = None
    for c in commands:
        if c.answered_at is None or c.answered_at > at:
            break
        if c.action in CAP_ACTIONS:
            cap = c
        elif c.action == "set" and c.schedule:
            base = schedule_power_at(c.schedule, at)
        else:  # a default or a clear: the safe default
            base = None
    if cap is not None and at < (valid_to_of(cap.payload) or cap.answered_at + timedelta(days=1)):
        capped = schedule_power_at(cap.schedule, at)
        if capped is not None:
            return capped
    return base


def estimate_power_kw(reading_kw: float, *, limit_then_kw: float | None, limit_now_kw: float | None) -> float:
    """A charger's power now, from its last reading and the limits in force then and now.

    Stations switch at the period start, so a lower limit now means at most that limit; a higher one
    means the reading plus the rise (a vehicle that took less than its limit, a full battery, takes
    no more than that rise), never above the new limit. Unknown limits: the reading stands.
    """
    if limit_then_kw is None or limit_now_kw is None or abs(limit_now_kw - limit_then_kw) < 1e-6:
        return reading_kw
    if limit_now_kw < limit_then_kw:
        return min(reading_kw, limit_now_kw)
    return min(limit_now_kw, reading_kw + (limit_now_kw - limit_then_kw))
