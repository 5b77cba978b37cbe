"""The site's clock: times are stored in UTC and shown, entered and counted in the site's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def site_zone(name: str) -> ZoneInfo:
    """The time zone by its IANA name; ValueError with a plain message when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name like Europe/Amsterdam)") from None


def to_local(t: datetime, timezone: str) -> datetime:
    """`t` on the site's clock."""
    return t.astimezone(ZoneInfo(timezone))


def local_datetime(timezone: str, day: date, hhmm: str) -> datetime:
    """The UTC instant at which the site's clock shows `hhmm` on local `day`."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def next_local_time(after: datetime, hhmm: str, timezone: str) -> datetime:
    """The next instant after `after` at which the site's clock shows `hhmm` (in `after`'s zone)."""
    tz = ZoneInfo(timezone)
    local = after.astimezone(tz)
    hour, minute = (int(x) for x in hhmm.split(":"))
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate <= local:
        candidate = (local + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate.astimezone(after.tzinfo)


def local_range(timezone: str, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """The UTC instants of the start of local `date_from` and the end of local `date_to` (inclusive)."""
    tz = ZoneInfo(timezone)
    start = datetime.combine(date_from, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end
